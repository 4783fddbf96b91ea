//! The `Inspector`: keeps the model the rooms look at (the lens) in step with the document and
//! the run, and shows the room chosen in the tabs.

use super::ROOMS;
use super::features::{FeaturesView, InputSource};
use super::filters::FiltersView;
use super::jobs::Job;
use super::lens::{Lens, Prepared, Weights, prepare};
use super::mistakes::MistakesView;
use super::room::{Navigate, Room, RoomContext};
use super::view::View;
use crate::app::document::Document;
use crate::app::training_run::TrainingRun;
use crate::data::Dataset;
use crate::experiment::Experiment;
use crate::training::Control;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// While a run trains and a room is open, ask the worker for its weights this often.
const LIVE_WEIGHTS_EVERY: Duration = Duration::from_millis(1500);

pub struct Inspector {
    pub view: View,
    lens: Option<Arc<Lens>>,
    dataset: Option<(String, Arc<Dataset>)>,
    /// Why there is nothing to show (invalid model, unreadable data).
    problem: Option<String>,
    /// The document revision the lens (or problem) reflects.
    built_from: Option<u64>,
    preparing: Option<(u64, Job<Prepared>)>,
    /// Live weights already taken from the run.
    live_seen: u64,
    live_asked: Option<Instant>,
    /// One per entry of [`ROOMS`] (`None` for the model editor).
    rooms: Vec<Option<Box<dyn Room>>>,
    /// Set by `--screenshot --view V`: do the view's showcase action once the model is ready.
    showcase: bool,
}

impl Default for Inspector {
    fn default() -> Self {
        Inspector {
            view: View::MODEL,
            lens: None,
            dataset: None,
            problem: None,
            built_from: None,
            preparing: None,
            live_seen: 0,
            live_asked: None,
            rooms: ROOMS.iter().map(|entry| entry.make.map(|make| make())).collect(),
            showcase: false,
        }
    }
}

impl Inspector {
    pub fn lens(&self) -> Option<&Arc<Lens>> {
        self.lens.as_ref()
    }

    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// With `--screenshot`: show off the view (maximize the filters, draw a digit, open the
    /// most-confused cell) as soon as it can.
    pub fn set_showcase(&mut self, on: bool) {
        self.showcase = on;
    }

    pub fn showcase(&self) -> bool {
        self.showcase
    }

    /// Whether anything is still being computed (screenshots wait for this).
    pub fn busy(&self) -> bool {
        let Some(room) = self.current() else {
            return false;
        };
        self.preparing.is_some() || self.lens.is_none() && self.problem.is_none() || room.busy(self.showcase)
    }

    /// Keeps the lens in step with the document and the run. Call once per frame, before drawing.
    pub fn update(&mut self, ctx: &egui::Context, doc: &Document, run: Option<&TrainingRun>) {
        if self.view.is_editor() {
            return;
        }
        if let Some((revision, job)) = &mut self.preparing
            && let Some(result) = job.poll()
        {
            self.built_from = Some(*revision);
            self.preparing = None;
            match result {
                Ok(prepared) => {
                    self.lens = Some(Arc::new(prepared.lens));
                    self.dataset = Some((prepared.dataset_key, prepared.dataset));
                    self.problem = None;
                    // Live weights of a run outrank the document's.
                    self.live_seen = 0;
                }
                Err(problem) => {
                    self.lens = None;
                    self.problem = Some(problem.to_string());
                }
            }
        }
        let revision = doc.revision();
        let queued = self.preparing.as_ref().map(|(r, _)| *r);
        if self.built_from != Some(revision) && queued != Some(revision) {
            if let Some(error) = &doc.analysis().error {
                self.preparing = None;
                self.built_from = Some(revision);
                self.lens = None;
                self.problem = Some(format!("The model is not valid yet: {error}. Fix it in the Model tab."));
            } else {
                let experiment = doc.experiment().clone();
                let base_dir = doc.base_dir();
                let cached = self.dataset.clone();
                let job = Job::spawn("preparing the model", 1, Some(ctx.clone()), move |_| {
                    prepare(experiment, base_dir, cached)
                });
                self.preparing = Some((revision, job));
            }
        }
        if let Some(run) = run {
            if let (Some(lens), Some((seen, progress, weights))) = (&self.lens, run.latest_weights())
                && seen > self.live_seen
                && weights.len() == lens.weights.len()
            {
                self.live_seen = seen;
                self.lens = Some(Arc::new(lens.with_weights(weights.clone(), Weights::Live(progress))));
            }
            let due = self.live_asked.is_none_or(|t| t.elapsed() >= LIVE_WEIGHTS_EVERY);
            if due && run.phase == crate::app::training_run::Phase::Running {
                run.send(Control::RequestWeights);
                self.live_asked = Some(Instant::now());
            }
            ctx.request_repaint_after(LIVE_WEIGHTS_EVERY);
        }
    }

    /// Draws the current view (not the model editor, which the app draws itself).
    pub fn ui(&mut self, ui: &mut egui::Ui, experiment: &Experiment) {
        let lens = self.lens.clone();
        let dataset = self.dataset.as_ref().map(|(_, d)| d.clone());
        ui.horizontal(|ui| {
            match &lens {
                Some(lens) => {
                    let color = match lens.source {
                        Weights::Initial => ui.visuals().warn_fg_color,
                        _ => ui.visuals().weak_text_color(),
                    };
                    ui.label(egui::RichText::new(format!("Showing {}", lens.describe())).color(color));
                }
                None if self.problem.is_none() => {
                    ui.spinner();
                    ui.label("Preparing the model and its data…");
                }
                None => {}
            }
            if self.preparing.is_some() && lens.is_some() {
                ui.spinner();
            }
        });
        if let Some(problem) = &self.problem {
            ui.add_space(8.0);
            ui.colored_label(ui.visuals().error_fg_color, problem);
            return;
        }
        let Some(lens) = lens else {
            return;
        };
        ui.separator();
        // Show off only on an up-to-date lens (a finished run's weights are still being read).
        let showcase = self.showcase && self.preparing.is_none();
        let Some(room) = self.rooms.get_mut(self.view.index()).and_then(Option::as_mut) else {
            return;
        };
        let at = RoomContext {
            lens: &lens,
            dataset: dataset.as_ref(),
            experiment,
            showcase,
        };
        match room.ui(ui, at) {
            Some(Navigate::Sample { room, index }) => {
                if let Some(view) = View::parse(room)
                    && let Some(target) = self.rooms.get_mut(view.index()).and_then(Option::as_mut)
                    && target.open_sample(index)
                {
                    self.view = view;
                }
            }
            None => {}
        }
    }

    /// The tab bar above the central area.
    pub fn tabs_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            for view in View::all() {
                let selected = self.view == view;
                let tab = ui.add(egui::Button::selectable(
                    selected,
                    egui::RichText::new(view.title()).size(15.0),
                ));
                if tab.clicked() {
                    self.view = view;
                }
            }
        });
    }

    /// The room on show, unless it is the model editor.
    fn current(&self) -> Option<&dyn Room> {
        self.rooms.get(self.view.index())?.as_deref()
    }

    /// The room of type `R`.
    fn room<R: Room>(&self) -> Option<&R> {
        self.rooms.iter().flatten().find_map(|r| r.as_any().downcast_ref())
    }

    fn room_mut<R: Room>(&mut self) -> Option<&mut R> {
        self.rooms
            .iter_mut()
            .flatten()
            .find_map(|r| r.as_any_mut().downcast_mut())
    }

    /// Opens the close-up on the first convolution, once the model is ready.
    pub fn request_closeup(&mut self) {
        if let Some(features) = self.room_mut::<FeaturesView>() {
            features.request_closeup();
        }
    }

    /// Runs the shift test on the model on show, then on each of `files`.
    pub fn request_shift(&mut self, files: &[std::path::PathBuf]) {
        if let Some(mistakes) = self.room_mut::<MistakesView>() {
            mistakes.request_shift(files);
        }
    }

    /// Adds an experiment file's curve to the shift test.
    pub fn add_shift_file(&mut self, path: std::path::PathBuf) {
        if let Some(mistakes) = self.room_mut::<MistakesView>() {
            mistakes.add_shift_file(path);
        }
    }

    /// Whether the shift test asked for a file to add (once per click).
    pub fn take_shift_file_request(&mut self) -> bool {
        self.room_mut::<MistakesView>()
            .is_some_and(MistakesView::take_shift_file_request)
    }

    // ---- for tests and tools ----

    /// Ink the canvas along `points` (canvas coordinates 0..=1) and switch to drawing input.
    pub fn draw_on_canvas(&mut self, points: &[[f32; 2]]) {
        if let Some(features) = self.room_mut::<FeaturesView>() {
            features.draw_stroke(points);
        }
    }

    /// Where the feature view's input comes from.
    pub fn input_source(&self) -> InputSource {
        self.room::<FeaturesView>()
            .map(FeaturesView::source)
            .unwrap_or_default()
    }

    /// The feature view's current prediction: (class, probability).
    pub fn prediction(&self) -> Option<(usize, f32)> {
        self.room::<FeaturesView>()?.prediction()
    }

    /// The confusion matrix of the last scoring, `[true][predicted]`.
    pub fn confusion(&self) -> Option<&[Vec<usize>]> {
        self.room::<MistakesView>()?.confusion()
    }

    /// The shift test's curves (one per model looked at), once scored.
    pub fn shift_curves(&self) -> Option<&[super::shift_panel::ShiftCurve]> {
        self.room::<MistakesView>().map(|m| m.shift_curves())
    }

    /// The close-up's target and the arithmetic on show for it.
    pub fn closeup(&self) -> Option<(crate::inspect::Target, Option<&crate::inspect::CloseUp>)> {
        let features = self.room::<FeaturesView>()?;
        let panel = features.closeup();
        Some((panel.target()?, panel.shown()))
    }

    /// The feature-map value at `t`, as the Feature maps room shows it.
    pub fn map_value(&self, t: crate::inspect::Target) -> Option<f32> {
        self.room::<FeaturesView>()?.map_value(t)
    }

    /// Filters whose activation-maximization image is ready, and how many there are.
    pub fn maximized(&self) -> Option<(usize, usize)> {
        self.room::<FiltersView>()?.maximized()
    }
}
