//! Applying `AppCommand`s: edits (through the document, so they can be undone), files,
//! dialogs, and the training run's controls.

use super::commands::AppCommand;
use super::file_dialog::{DialogRequest, DialogStyle, FileDialog, Pick, Place, Purpose};
use super::training_run::{Curves, TrainingRun};
use super::{Document, LabApp, MAX_RECENT, Pending, plots};
use crate::experiment::Edit;
use crate::training::{Control, RunOptions};
use std::path::{Path, PathBuf};

impl LabApp {
    pub(super) fn apply(&mut self, ctx: &egui::Context, command: AppCommand) {
        match command {
            AppCommand::Edit(edit) => self.apply_edit(edit),
            AppCommand::Undo | AppCommand::Redo if self.run.is_some() => {
                self.status.warn("Stop training before undoing or redoing changes")
            }
            AppCommand::Undo => {
                let before = self.doc.experiment().history.clone();
                if self.doc.undo() {
                    self.after_history_step(&before, "Undid");
                } else {
                    self.status.info("Nothing to undo");
                }
            }
            AppCommand::Redo => {
                let before = self.doc.experiment().history.clone();
                if self.doc.redo() {
                    self.after_history_step(&before, "Redid");
                } else {
                    self.status.info("Nothing to redo");
                }
            }
            AppCommand::New => self.guard(Pending::New),
            AppCommand::OpenDialog => self.guard(Pending::OpenDialog),
            AppCommand::Open(path) => self.guard(Pending::Open(path)),
            AppCommand::Quit => self.guard(Pending::Quit),
            AppCommand::Save => match self.save_target() {
                Some(path) => {
                    self.save_to(&path);
                }
                None => self.spawn_dialog(Purpose::SAVE_AS, None),
            },
            AppCommand::SaveAsDialog => self.spawn_dialog(Purpose::SAVE_AS, None),
            AppCommand::SaveAs(path) => {
                self.save_to(&path);
            }
            AppCommand::OpenNow(path) => self.open_now(&path),
            AppCommand::ContinueAfterSave(then) => {
                // Only if the save worked: otherwise the changes are still unsaved.
                if !self.doc.is_dirty() {
                    self.proceed(then);
                }
            }
            AppCommand::ExportCsvDialog => self.spawn_dialog(Purpose::EXPORT_CSV, None),
            AppCommand::ExportCsv(path) => self.export_csv(&path),
            AppCommand::ExportPlotDialog => self.spawn_dialog(Purpose::EXPORT_PLOT, None),
            AppCommand::ExportPlot(path) => self.export_region(ctx, self.state.plots.area, "the plots", path),
            AppCommand::ChooseDataDialog => self.spawn_dialog(Purpose::DATA_FOLDER, None),
            AppCommand::ConfirmSave => {
                if let Some(pending) = self.pending.take() {
                    match self.save_target() {
                        Some(path) => {
                            if self.save_to(&path) {
                                self.proceed(pending);
                            }
                        }
                        None => self.spawn_dialog(Purpose::SAVE_AS, Some(pending)),
                    }
                }
            }
            AppCommand::ConfirmDiscard => {
                if let Some(pending) = self.pending.take() {
                    self.proceed(pending);
                }
            }
            AppCommand::ConfirmCancel => self.pending = None,
            AppCommand::DismissError => self.error = None,
            AppCommand::StartTraining => self.start_training(false),
            AppCommand::ShowShortcuts => self.show_shortcuts = true,
            AppCommand::OpenCompare => {
                if self.compare.runs().is_empty() {
                    self.compare.add(self.doc.experiment().clone(), self.doc.path());
                }
                self.compare.open = true;
            }
            AppCommand::CompareAddDialog => self.spawn_dialog(Purpose::COMPARE_ADD, None),
            AppCommand::CompareAdd(path) => match crate::experiment::load(&path) {
                Ok(experiment) => self.compare.add(experiment, Some(&path)),
                Err(error) => self.status.error(format!("Cannot compare {}: {error}", path.display())),
            },
            AppCommand::ShiftAddDialog => self.spawn_dialog(Purpose::SHIFT_ADD, None),
            AppCommand::ShiftAdd(path) => self.inspector.add_shift_file(path),
            AppCommand::CompareCsvDialog => self.spawn_dialog(Purpose::COMPARE_CSV, None),
            AppCommand::ComparePngDialog => self.spawn_dialog(Purpose::COMPARE_PNG, None),
            AppCommand::ComparePng(path) => self.export_region(ctx, self.compare.figure_area(), "the comparison", path),
            AppCommand::CompareCsv(path) => {
                match crate::experiment::io::write_atomic(&path, self.compare.table_csv().as_bytes()) {
                    Ok(()) => self
                        .status
                        .info(format!("Exported the comparison to {}", path.display())),
                    Err(error) => self.status.error(format!("Cannot write {}: {error}", path.display())),
                }
            }
            AppCommand::ExportOnnxDialog => self.spawn_dialog(Purpose::EXPORT_ONNX, None),
            AppCommand::ExportKerasDialog => self.spawn_dialog(Purpose::EXPORT_KERAS, None),
            AppCommand::ImportOnnxDialog => self.guard(Pending::ImportOnnxDialog),
            AppCommand::ImportWeightsDialog => self.spawn_dialog(Purpose::IMPORT_WEIGHTS, None),
            AppCommand::ExportOnnx(path) => {
                let options = crate::interop::OnnxOptions::default();
                match crate::interop::export_onnx(self.doc.experiment(), &self.doc.base_dir(), &path, &options) {
                    Ok(()) => self
                        .status
                        .info(format!("Exported the model as ONNX to {}", path.display())),
                    Err(error) => self.status.error(format!("ONNX export failed: {error}")),
                }
            }
            AppCommand::ExportKeras(dir) => {
                match crate::interop::export_keras(self.doc.experiment(), &self.doc.base_dir(), &dir) {
                    Ok(files) => self.status.info(format!(
                        "Wrote {} files to {}: run `python train.py` there to train with Keras",
                        files.len(),
                        dir.display()
                    )),
                    Err(error) => self.status.error(format!("Keras export failed: {error}")),
                }
            }
            AppCommand::ImportOnnxNow(path) => {
                match crate::interop::import_onnx(&path, &crate::interop::ImportOptions::default()) {
                    Ok(experiment) => {
                        self.replace_document(Document::imported(experiment));
                        self.status.info(format!(
                            "Imported {}: save it as an experiment (Ctrl+S) to keep it",
                            path.display()
                        ));
                    }
                    Err(error) => {
                        let name = path
                            .file_name()
                            .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                        self.status.error(format!("Could not import {name}: {error}"));
                        self.error = Some((format!("Could not import {name}"), error.to_string()));
                    }
                }
            }
            AppCommand::ImportWeights(path) => {
                match crate::interop::import_weights(self.doc.experiment(), &self.doc.base_dir(), &path) {
                    Ok(trained) => {
                        self.doc.absorb_run(trained);
                        self.curves = Curves::from_history(&self.doc.experiment().history);
                        self.last_summary = None;
                        self.status
                            .info(format!("Imported the weights of {} (Ctrl+Z undoes it)", path.display()));
                    }
                    Err(error) => self.status.error(format!("Could not import the weights: {error}")),
                }
            }
            AppCommand::OpenPlayground(layer) => self.playground.open_on(self.doc.experiment(), layer),
            AppCommand::CancelScoring => {
                if self.scoring.take().is_some() {
                    self.status
                        .info("Scoring of the test split cancelled; the trained weights are kept");
                }
            }
            AppCommand::Pause => self.send_to_run(Control::Pause),
            AppCommand::Resume => self.send_to_run(Control::Resume),
            AppCommand::Stop => {
                if self.run.is_some() {
                    self.status.info("Stopping after the current batch…");
                }
                self.send_to_run(Control::Stop);
            }
            AppCommand::Step => match &self.run {
                Some(run) => run.send(Control::Step),
                None => self.start_training(true),
            },
            AppCommand::ShowView(view) => self.inspector.view = view,
            AppCommand::ShowTrainingPanel(shown) => self.state.hide_training_panel = !shown,
            AppCommand::SetFileDialogs(style) => {
                self.state.file_dialogs = style;
                self.status.info(format!("File dialogs: {}", style.label()));
            }
            AppCommand::SetDarkMode(dark) => {
                self.state.dark_mode = dark;
                self.apply_theme(ctx);
            }
        }
    }

    pub(super) fn apply_edit(&mut self, edit: Edit) {
        if let Some(run) = &self.run {
            if edit.changes_architecture() {
                self.status
                    .warn("Training is running: stop it before changing the layers, input or dataset");
                return;
            }
            if let Edit::SetTraining(training) = &edit
                && training.learning_rate != self.doc.experiment().training.learning_rate
            {
                run.send(Control::SetLearningRate(training.learning_rate));
            }
        }
        let resets = matches!(edit, Edit::ResetWeights);
        match self.doc.edit(&edit) {
            Ok(()) => {
                if resets {
                    self.curves = Curves::default();
                    self.last_summary = None;
                    self.status
                        .info("Weights and history reset: the next run starts from the seed");
                }
            }
            Err(problem) => self.status.warn(problem.to_string()),
        }
    }

    /// Runs `action` now, or first asks about unsaved changes / an active run.
    fn guard(&mut self, action: Pending) {
        if self.doc.is_dirty() || self.run.is_some() {
            self.pending = Some(action);
        } else {
            self.proceed(action);
        }
    }

    pub(super) fn proceed(&mut self, action: Pending) {
        // Dropping the trainer stops it after its current batch.
        if self.run.take().is_some() {
            self.status.info("Training stopped");
        }
        match action {
            Pending::New => {
                self.replace_document(Document::untitled());
                self.state.last_file = None;
                self.status.info("New experiment");
            }
            Pending::Open(path) => self.open_now(&path),
            Pending::OpenDialog => self.spawn_dialog(Purpose::OPEN, None),
            Pending::ImportOnnxDialog => self.spawn_dialog(Purpose::IMPORT_ONNX, None),
            Pending::Quit => {
                self.allow_close = true;
                self.close_now = true;
            }
        }
    }

    /// Opens `path`; on failure shows why and leaves the current experiment as it was.
    pub(super) fn open_now(&mut self, path: &Path) {
        match Document::open(path) {
            Ok(doc) => {
                self.replace_document(doc);
                self.remember(path);
                self.status.info(format!("Opened {}", path.display()));
            }
            Err(error) => self.report_open_failure(path, &error.to_string()),
        }
    }

    /// A file that failed to open: said in the status bar and in a window to read, while the
    /// experiment on screen stays.
    pub(super) fn report_open_failure(&mut self, path: &Path, error: &str) {
        let name = path
            .file_name()
            .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned());
        self.status.error(format!("Could not open {name}: {error}"));
        self.error = Some((format!("Could not open {name}"), error.to_string()));
    }

    fn replace_document(&mut self, doc: Document) {
        self.curves = Curves::from_history(&doc.experiment().history);
        self.last_summary = None;
        self.doc = doc;
    }

    /// Saves to `path`; `false` (with the reason in the status bar) if that failed.
    pub(super) fn save_to(&mut self, path: &Path) -> bool {
        match self.doc.save_as(path) {
            Ok(notes) => {
                self.remember(path);
                self.status.info(format!("Saved {}", path.display()));
                for note in notes {
                    self.status.warn(note);
                }
                true
            }
            Err(error) => {
                self.status.error(error.to_string());
                false
            }
        }
    }

    pub(super) fn export_csv(&mut self, path: &Path) {
        let history = if self.run.is_some() {
            &self.curves.epochs
        } else {
            &self.doc.experiment().history
        };
        let csv = plots::history_csv(history);
        match crate::experiment::io::write_atomic(path, csv.as_bytes()) {
            Ok(()) => self
                .status
                .info(format!("Exported {} epochs to {}", history.len(), path.display())),
            Err(error) => self.status.error(format!("Cannot write {}: {error}", path.display())),
        }
    }

    /// Photographs the window and keeps `area`, where `what` (the plots, the comparison) was
    /// last drawn (`screenshot::save_region`); the result is reported in the status bar when
    /// it arrives.
    pub(super) fn export_region(
        &mut self,
        ctx: &egui::Context,
        area: Option<egui::Rect>,
        what: &'static str,
        path: std::path::PathBuf,
    ) {
        let Some(area) = area else {
            self.status
                .warn(format!("{what} are not on screen: open them first, then export"));
            return;
        };
        let outcome = self.plot_export.clone();
        let pixels_per_point = ctx.pixels_per_point();
        let repaint = ctx.clone();
        self.status.info(format!("Exporting {what} to {}…", path.display()));
        ctx.request_screenshot(move |image| {
            let result = super::screenshot::save_region(&image, area, pixels_per_point, &path)
                .map(|()| format!("Exported {what} to {}", path.display()));
            if let Ok(mut slot) = outcome.lock() {
                *slot = Some(result);
            }
            repaint.request_repaint();
        });
    }

    /// Opens the panel `--view` named; `others` (`--compare`) join the comparison, or the shift
    /// test with `--view shift-test`.
    pub(super) fn open_panel(&mut self, panel: Option<super::Panel>, others: &[std::path::PathBuf]) {
        use super::Panel;
        match panel {
            Some(Panel::CloseUp) => self.inspector.request_closeup(),
            Some(Panel::ShiftTest) => self.inspector.request_shift(others),
            Some(Panel::Playground) => {
                let layer = self
                    .doc
                    .experiment()
                    .layers
                    .iter()
                    .position(|l| matches!(l.config().footprint(), crate::cnn::layers::Footprint::Window { .. }));
                self.commands.send(AppCommand::OpenPlayground(layer));
            }
            Some(Panel::Compare) | None => {}
        }
        if panel == Some(Panel::Compare) || panel != Some(Panel::ShiftTest) && !others.is_empty() {
            self.commands.send(AppCommand::OpenCompare);
            for path in others {
                self.commands.send(AppCommand::CompareAdd(path.clone()));
            }
        }
    }

    pub(super) fn remember(&mut self, path: &Path) {
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        self.state.recent.retain(|p| *p != path);
        self.state.recent.insert(0, path.clone());
        self.state.recent.truncate(MAX_RECENT);
        self.state.last_file = Some(path);
    }

    /// After an undo or redo that stepped over a training run, everything that described that
    /// run (curves, test accuracy, status) follows the experiment it brought back.
    fn after_history_step(&mut self, before: &[crate::experiment::EpochRecord], verb: &str) {
        let history = &self.doc.experiment().history;
        if history.as_slice() == before {
            return;
        }
        self.curves = Curves::from_history(history);
        self.last_summary = None;
        let epochs = history.len();
        self.status.info(if epochs == 0 {
            format!("{verb} a training run: back to untrained weights")
        } else {
            format!(
                "{verb} a training run: back to the model after {epochs} epoch{}",
                if epochs == 1 { "" } else { "s" }
            )
        });
    }

    /// Where Save writes: the experiment's file, unless it has none or is a bundled example
    /// (those stay as shipped: Save asks for a new place, like Save As).
    fn save_target(&mut self) -> Option<PathBuf> {
        let path = self.doc.path()?.to_path_buf();
        if super::paths::is_bundled_example(&path) {
            self.status
                .info("The bundled examples stay as shipped: choose where to save your copy");
            return None;
        }
        Some(path)
    }

    /// Remembers the folder of a path chosen in a file dialog (the folder itself, for a folder).
    pub(super) fn remember_folder(&mut self, path: &Path, pick: Pick) {
        let folder = match pick {
            Pick::Folder => Some(path),
            Pick::ExistingFile | Pick::NewFile => path.parent(),
        };
        let Some(folder) = folder.filter(|f| !f.as_os_str().is_empty()) else {
            return;
        };
        let folder = std::path::absolute(folder).unwrap_or_else(|_| folder.to_path_buf());
        self.state.recent_folders.retain(|f| *f != folder);
        self.state.recent_folders.insert(0, folder);
        self.state.recent_folders.truncate(MAX_RECENT);
    }

    /// The in-window dialog's "Places": this experiment's folder, the examples, home, then
    /// the folders used lately; each once, only those that exist.
    pub(super) fn places(&self) -> Vec<Place> {
        let mut places: Vec<Place> = Vec::new();
        let mut add = |label: String, path: PathBuf| {
            if path.is_dir() && !places.iter().any(|p| p.path == path) {
                places.push(Place { label, path });
            }
        };
        if let Some(folder) = self.doc.path().and_then(Path::parent) {
            add("This experiment's folder".into(), folder.to_path_buf());
        }
        add("Examples".into(), super::paths::projects_dir());
        if let Some(home) = super::paths::home_dir() {
            add("Home".into(), home);
        }
        for folder in &self.state.recent_folders {
            let name = folder
                .file_name()
                .map_or_else(|| folder.display().to_string(), |n| n.to_string_lossy().into_owned());
            add(format!("🕘 {name}"), folder.clone());
        }
        places
    }

    fn spawn_dialog(&mut self, purpose: Purpose, then: Option<Pending>) {
        if self.file_dialog.is_some() {
            self.status.info("A file dialog is already open");
            return;
        }
        let example = self.doc.path().is_some_and(super::paths::is_bundled_example);
        let from_doc = if purpose.from_base_dir {
            Some(self.doc.base_dir())
        } else if example && purpose.pick == Pick::NewFile {
            // A copy of an example goes where the user works, not among the examples.
            None
        } else {
            self.doc.path().and_then(Path::parent).map(Path::to_path_buf)
        };
        let home = super::paths::home_dir();
        let dir = from_doc
            .or_else(|| self.state.recent_folders.first().cloned())
            .filter(|dir| dir.is_dir())
            .or(if example { home } else { None })
            .unwrap_or_else(|| self.doc.base_dir());
        let stem = self.doc.path().and_then(Path::file_stem).map_or_else(
            || slug(&self.doc.experiment().name),
            |s| s.to_string_lossy().into_owned(),
        );
        let request = DialogRequest {
            purpose,
            then,
            dir,
            file_name: purpose.suggested_suffix.map(|suffix| format!("{stem}{suffix}")),
        };
        let in_window = match self.state.file_dialogs {
            DialogStyle::Automatic => self.system_dialog_failed,
            DialogStyle::System => false,
            DialogStyle::InWindow => true,
        };
        if in_window {
            self.file_dialog = Some(FileDialog::in_window(request));
            return;
        }
        match FileDialog::system(request.clone()) {
            Ok(dialog) => self.file_dialog = Some(dialog),
            Err(error) => {
                self.status
                    .warn(format!("The system file dialog failed ({error}); using CNN Lab's own"));
                self.file_dialog = Some(FileDialog::in_window(request));
            }
        }
    }

    fn start_training(&mut self, paused: bool) {
        if self.run.is_some() {
            return;
        }
        if let Some(reason) = self.doc.training_blocker() {
            self.status.error(format!("Cannot train: {reason}"));
            return;
        }
        // A new run makes the last one's test score moot.
        self.scoring = None;
        let fresh = !self.doc.weights_fit();
        let options = RunOptions {
            base_dir: self.doc.base_dir(),
            fresh,
            score_after_stop: true,
            ..RunOptions::default()
        };
        match TrainingRun::start(self.doc.experiment().clone(), options) {
            Ok(run) => {
                if paused {
                    run.send(Control::Pause);
                    run.send(Control::Step);
                }
                if fresh {
                    self.curves = Curves::default();
                } else {
                    self.curves.epochs = self.doc.experiment().history.clone();
                }
                self.doc.break_undo_group();
                self.run = Some(run);
                self.status.info(if fresh {
                    "Training from fresh weights (the saved ones do not fit the edited layers)"
                } else {
                    "Training started"
                });
            }
            Err(error) => self.status.error(format!("Cannot start the training thread: {error}")),
        }
    }

    fn send_to_run(&mut self, command: Control) {
        match &self.run {
            Some(run) => run.send(command),
            None => self.status.info("No training run is active"),
        }
    }
}

/// "MNIST LeNet" → "mnist_lenet", for suggested file names.
fn slug(name: &str) -> String {
    let slug: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    let slug = slug.trim_matches('_').to_string();
    if slug.is_empty() { "experiment".into() } else { slug }
}
