//! The desktop app: a layer editor with live shape flow, background training with live plots,
//! open / save. `LabApp` owns the state; panels draw it and push `AppCommand`s, which are
//! applied once per frame after layout (`frame.rs` runs a frame, `command_handling.rs` applies
//! commands). What is saved between sessions is `AppState`; live handles (the trainer, dialogs,
//! the document) are rebuilt at start-up.

mod command_handling;
pub mod commands;
pub mod compare;
mod context;
mod dialog_style;
mod dialogs;
pub mod document;
mod editor;
pub mod file_dialog;
mod frame;
mod keys;
mod layer_cells;
mod layer_fields;
mod menu;
mod observer;
mod palette;
pub mod paths;
pub mod playground;
pub mod plots;
mod render_settings;
pub mod rooms;
mod screenshot;
pub mod status;
mod training_panel;
pub mod training_run;
mod undo;
mod view_request;

pub use crate::experiment::Edit;
pub use commands::AppCommand;
pub use commands::Pending;
pub use context::LabContext;
pub use document::Document;
pub use observer::{AfterFrame, FrameObserver, FrameTiming};
pub use training_run::{Curves, Phase, TrainingRun};
pub use view_request::{Panel, ViewRequest};

use crate::experiment::Experiment;
use crate::training::RunSummary;
use commands::CommandQueue;
use editor::EditorPanel;
use file_dialog::{DialogStyle, FileDialog};
use plots::PlotsPanel;
use rooms::Inspector;
use screenshot::ScreenshotPlan;
use serde::{Deserialize, Serialize};
use status::StatusBar;
use std::path::{Path, PathBuf};
use std::time::Duration;
use training_panel::TrainingPanel;

/// How long a frame may spend reading the trainer's events.
const EVENT_BUDGET: Duration = Duration::from_millis(6);
/// How often the window looks at an open file dialog (a run paces its own frames: `run.rs`).
const TRAINING_REPAINT: Duration = Duration::from_millis(50);
const MAX_RECENT: usize = 10;

/// What the app remembers between sessions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AppState {
    /// Reopened at start-up.
    pub last_file: Option<PathBuf>,
    pub recent: Vec<PathBuf>,
    pub dark_mode: bool,
    pub plots: PlotsPanel,
    /// The training panel on the right is hidden (more room for the inspection views).
    pub hide_training_panel: bool,
    /// System or in-window file dialogs (View ▸ File dialogs).
    pub file_dialogs: DialogStyle,
    /// Folders last chosen in a file dialog, newest first: the in-window dialog's "Places".
    pub recent_folders: Vec<PathBuf>,
}

/// How the app was started from the command line.
#[derive(Debug, Default)]
pub struct LaunchOptions {
    /// Open this experiment instead of the last one.
    pub file: Option<PathBuf>,
    /// Photograph the window to this PNG and exit.
    pub screenshot: Option<PathBuf>,
    /// With `screenshot`: train first, and take the picture after this many epochs.
    pub after_epochs: Option<usize>,
    /// Open this room (model, filters, feature maps, mistakes) or panel (close-up, playground,
    /// shift test, compare). With `screenshot`, the view also shows itself off: maximizes the
    /// filters, draws a digit, opens the most-confused cell, runs the shift test.
    pub view: Option<ViewRequest>,
    /// Other experiments to set beside the file: in Compare runs, and in the shift test with
    /// `--view shift-test`.
    pub compare: Vec<PathBuf>,
    /// Watches every frame (a measurement, e.g. `cnn-lab bench-ui`).
    pub observer: Option<Box<dyn FrameObserver>>,
}

impl LaunchOptions {
    /// Whether the app loads and saves this machine's state: not for an observer that says no.
    fn persist(&self) -> bool {
        self.observer.as_ref().is_none_or(|o| o.persist())
    }
}

pub struct LabApp {
    state: AppState,
    doc: Document,
    run: Option<TrainingRun>,
    /// A stopped run still scoring the test split (dropping it cancels the scoring).
    scoring: Option<TrainingRun>,
    last_summary: Option<RunSummary>,
    curves: Curves,
    commands: CommandQueue,
    status: StatusBar,
    editor: EditorPanel,
    training: TrainingPanel,
    inspector: Inspector,
    pending: Option<Pending>,
    error: Option<(String, String)>,
    file_dialog: Option<FileDialog>,
    /// The system's file dialog could not be shown this session: `Automatic` uses the in-window one.
    system_dialog_failed: bool,
    /// Help ▸ Keyboard shortcuts is open.
    show_shortcuts: bool,
    playground: playground::Playground,
    compare: compare::Compare,
    /// The window was checked against the screen it opened on (a size saved on a larger
    /// screen, or at another scale, is brought back inside it).
    window_fitted: bool,
    allow_close: bool,
    /// Set by "quit" once confirmed; the close is sent at the end of the frame.
    close_now: bool,
    screenshot: Option<ScreenshotPlan>,
    observer: Option<Box<dyn FrameObserver>>,
    examples: Vec<PathBuf>,
    applied_theme: Option<bool>,
    title: String,
    /// The result of the last "Export PNG" of the plots, when it arrives from the renderer.
    plot_export: std::sync::Arc<std::sync::Mutex<Option<Result<String, String>>>>,
}

impl LabApp {
    /// The app on `launch.file`, else the last file, else the first-run example.
    pub fn new(state: AppState, launch: &LaunchOptions) -> Self {
        let mut status = StatusBar::default();
        let first_run = paths::projects_dir().join(paths::FIRST_RUN_EXAMPLE);
        let candidates = [
            launch.file.clone(),
            state.last_file.clone().filter(|p| p.is_file()),
            Some(first_run),
        ];
        let mut doc = None;
        // The file asked for on the command line: if it fails, the app opens the next candidate
        // but says so in a window, after (not under) the "Opened" of the fallback.
        let mut launch_failure = None;
        for path in candidates.into_iter().flatten() {
            match Document::open(&path) {
                Ok(opened) => {
                    status.info(format!("Opened {}", path.display()));
                    doc = Some(opened);
                    break;
                }
                Err(error) if launch.file.as_ref() == Some(&path) && launch_failure.is_none() => {
                    launch_failure = Some((path, error.to_string()));
                }
                Err(error) => status.error(error.to_string()),
            }
        }
        let doc = doc.unwrap_or_else(Document::untitled);
        let curves = Curves::from_history(&doc.experiment().history);
        let mut app = LabApp {
            state,
            doc,
            run: None,
            scoring: None,
            last_summary: None,
            curves,
            commands: CommandQueue::default(),
            status,
            editor: EditorPanel::default(),
            training: TrainingPanel,
            inspector: Inspector::default(),
            pending: None,
            error: None,
            file_dialog: None,
            system_dialog_failed: false,
            show_shortcuts: false,
            playground: playground::Playground::default(),
            compare: compare::Compare::default(),
            window_fitted: false,
            allow_close: false,
            close_now: false,
            screenshot: None,
            observer: None,
            examples: paths::experiments_in(&paths::projects_dir()),
            applied_theme: None,
            title: String::new(),
            plot_export: Default::default(),
        };
        if let Some(path) = app.doc.path().map(Path::to_path_buf) {
            app.remember(&path);
        }
        if let Some(view) = launch.view {
            app.inspector.view = view.room;
        }
        app.open_panel(launch.view.and_then(|v| v.panel), &launch.compare);
        if let Some((path, error)) = launch_failure {
            app.report_open_failure(&path, &error);
        }
        app
    }

    fn from_creation_context(
        cc: &eframe::CreationContext<'_>,
        mut launch: LaunchOptions,
        plan: Option<ScreenshotPlan>,
    ) -> Self {
        // A screenshot shows the app as a first-time user sees it, whatever this machine saved.
        let state = match (&plan, cc.storage) {
            (None, Some(storage)) if launch.persist() => {
                eframe::get_value(storage, eframe::APP_KEY).unwrap_or_default()
            }
            _ => AppState::default(),
        };
        render_settings::unfill_panels(&cc.egui_ctx);
        let mut app = LabApp::new(state, &launch);
        if let Some(plan) = plan {
            if plan.after_epochs.is_some() {
                app.commands.send(AppCommand::StartTraining);
            }
            app.screenshot = Some(plan);
        }
        if let Some(mut observer) = launch.observer.take() {
            observer.started(&app);
            app.observer = Some(observer);
        }
        app
    }

    // ---- read access, for tests and tools ----

    pub fn document(&self) -> &Document {
        &self.doc
    }

    pub fn experiment(&self) -> &Experiment {
        self.doc.experiment()
    }

    pub fn run(&self) -> Option<&TrainingRun> {
        self.run.as_ref()
    }

    /// File ▸ Compare runs.
    pub fn compare(&self) -> &compare::Compare {
        &self.compare
    }

    /// The padding and stride playground.
    pub fn playground(&self) -> &playground::Playground {
        &self.playground
    }

    /// A stopped run scoring the test split in the background.
    pub fn scoring(&self) -> Option<&TrainingRun> {
        self.scoring.as_ref()
    }

    pub fn last_summary(&self) -> Option<&RunSummary> {
        self.last_summary.as_ref()
    }

    pub fn curves(&self) -> &Curves {
        &self.curves
    }

    pub fn status(&self) -> &StatusBar {
        &self.status
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The open file dialog, if any.
    pub fn file_dialog(&self) -> Option<&FileDialog> {
        self.file_dialog.as_ref()
    }

    pub fn pending(&self) -> Option<&Pending> {
        self.pending.as_ref()
    }

    /// The error window's title and text, if it is open.
    pub fn error_window(&self) -> Option<(&str, &str)> {
        self.error.as_ref().map(|(t, m)| (t.as_str(), m.as_str()))
    }

    /// Where the palette inserts (0-based), `None` = at the end.
    pub fn insert_position(&self) -> Option<usize> {
        self.editor.insert_at()
    }

    pub fn inspector(&self) -> &Inspector {
        &self.inspector
    }

    pub fn inspector_mut(&mut self) -> &mut Inspector {
        &mut self.inspector
    }

    /// Whether this run saves the user's state: not for a screenshot, nor for an observer that
    /// says no.
    fn persist(&self) -> bool {
        self.screenshot.is_none() && self.observer.as_ref().is_none_or(|o| o.persist())
    }

    /// Queues a command; it is applied at the end of the next frame, like a click.
    pub fn send(&self, command: AppCommand) {
        self.commands.send(command);
    }
}

impl eframe::App for LabApp {
    fn ui(&mut self, ui: &mut egui::Ui, frame: &mut eframe::Frame) {
        let start = std::time::Instant::now();
        self.show(ui);
        self.observe_frame(ui.ctx(), start, frame.info().cpu_usage);
    }

    fn save(&mut self, storage: &mut dyn eframe::Storage) {
        if self.persist() {
            eframe::set_value(storage, eframe::APP_KEY, &self.state);
        }
    }

    fn clear_color(&self, visuals: &egui::Visuals) -> [f32; 4] {
        render_settings::clear_color(visuals)
    }

    /// A screenshot run leaves the user's saved state alone.
    fn persist_egui_memory(&self) -> bool {
        self.persist()
    }
}

/// Opens the window and runs the app until it is closed. The error is the whole sentence to
/// show (`Display` of the outermost error).
pub fn run_native(launch: LaunchOptions) -> anyhow::Result<()> {
    let plan = launch
        .screenshot
        .clone()
        .map(|out| ScreenshotPlan::new(out, launch.after_epochs));
    let outcome = plan.as_ref().map(ScreenshotPlan::outcome);
    let viewport = egui::ViewportBuilder::default()
        .with_title("CNN Lab")
        .with_app_id("cnn-lab")
        .with_inner_size([1440.0, 900.0])
        // Small enough for 1280×720 at 150% (853×480 points): the layout holds down to it.
        .with_min_inner_size([800.0, 460.0])
        .with_drag_and_drop(true);
    let options = eframe::NativeOptions {
        viewport,
        renderer: eframe::Renderer::Glow,
        persist_window: plan.is_none() && launch.persist(),
        dithering: render_settings::DITHERING,
        ..eframe::NativeOptions::default()
    };
    eframe::run_native(
        "CNN Lab",
        options,
        Box::new(move |cc| Ok(Box::new(LabApp::from_creation_context(cc, launch, plan)))),
    )
    .map_err(|e| anyhow::anyhow!("cannot open the window: {e}"))?;
    match outcome.map(|o| o.lock().map(|slot| slot.clone()).unwrap_or(None)) {
        None => Ok(()),
        Some(Some(result)) => result.map_err(anyhow::Error::msg),
        Some(None) => anyhow::bail!("the window closed before the screenshot was taken"),
    }
}
