//! The inspection rooms: filters (kernels, their history, what they look for), feature maps (a
//! dataset browser or a drawing canvas as input, every layer's maps, where the model looks), and
//! mistakes (confusion matrix and the images behind each cell).
//!
//! The views never compute on the UI thread beyond colouring small kernels: the model they look
//! at (`Lens`) is built by a background job from the document (or from the live weights of a
//! run), and feature maps, activation maximization and scoring run as jobs too (`jobs.rs`).

mod canvas;
pub mod colormap;
mod features;
mod filters;
pub mod jobs;
mod maps;
mod mistakes;

use crate::app::document::Document;
use crate::app::run::TrainingRun;
use crate::cnn::{LayerInfo, LayerSpec, Model, Shape, Tensor};
use crate::data::{Dataset, Normalization, Split};
use crate::experiment::{Experiment, load_dataset};
use crate::training::{Command, Progress};
use features::FeaturesView;
use filters::FiltersView;
use jobs::Job;
use mistakes::MistakesView;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

pub use features::InputSource;

/// While a run trains and a view is open, ask the worker for its weights this often.
const LIVE_WEIGHTS_EVERY: Duration = Duration::from_millis(1500);

/// The rooms of the app's central area.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum View {
    #[default]
    Model,
    Filters,
    FeatureMaps,
    Mistakes,
}

impl View {
    pub const ALL: [View; 4] = [View::Model, View::Filters, View::FeatureMaps, View::Mistakes];

    pub fn title(self) -> &'static str {
        match self {
            View::Model => "☰ Model",
            View::Filters => "🔍 Filters",
            View::FeatureMaps => "🗺 Feature maps",
            View::Mistakes => "❌ Mistakes",
        }
    }

    /// The name used on the command line (`--view filters`).
    pub fn parse(name: &str) -> Option<View> {
        match name.to_ascii_lowercase().replace(['-', '_', ' '], "").as_str() {
            "model" | "editor" => Some(View::Model),
            "filters" => Some(View::Filters),
            "featuremaps" | "features" | "maps" => Some(View::FeatureMaps),
            "mistakes" | "confusion" => Some(View::Mistakes),
            _ => None,
        }
    }
}

/// Where a lens's weights come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Weights {
    /// Drawn from the seed: nothing learned yet.
    Initial,
    /// Saved in the experiment, after this many epochs.
    Trained { epochs: usize },
    /// Sent by the running worker.
    Live(Progress),
}

/// One parameter array of the model, in `Model::params` order.
#[derive(Clone, Debug)]
pub struct ParamSlot {
    pub layer: usize,
    pub name: &'static str,
    pub dims: Vec<usize>,
}

/// The model as the views see it: architecture plus one set of weights, shared with jobs.
#[derive(Clone)]
pub struct Lens {
    /// Unique per lens: results computed on a lens remember it, to know when they are stale.
    pub id: u64,
    pub input: Shape,
    pub specs: Vec<LayerSpec>,
    pub infos: Vec<LayerInfo>,
    pub classes: usize,
    pub class_names: Vec<String>,
    pub seed: u64,
    pub weights: Arc<Vec<Vec<f32>>>,
    pub params: Vec<ParamSlot>,
    pub normalization: Normalization,
    pub source: Weights,
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Lens {
    fn from_model(experiment: &Experiment, model: &Model, class_names: Vec<String>) -> Lens {
        let params = model
            .layers()
            .iter()
            .enumerate()
            .flat_map(|(layer, l)| {
                l.params().into_iter().map(move |p| ParamSlot {
                    layer,
                    name: p.name,
                    dims: p.dims.clone(),
                })
            })
            .collect();
        let source = if experiment.weights.is_some() {
            Weights::Trained {
                epochs: experiment.history.len(),
            }
        } else {
            Weights::Initial
        };
        Lens {
            id: next_id(),
            input: model.input_shape(),
            specs: model.specs().to_vec(),
            infos: model.summary().layers.clone(),
            classes: model.num_classes(),
            class_names,
            seed: experiment.seed,
            weights: Arc::new(model.weights()),
            params,
            normalization: experiment.training.normalization.clone(),
            source,
        }
    }

    /// The same model with other weights (from a running worker).
    fn with_weights(&self, weights: Arc<Vec<Vec<f32>>>, source: Weights) -> Lens {
        Lens {
            id: next_id(),
            weights,
            source,
            ..self.clone()
        }
    }

    /// A model with this lens's weights, for one job.
    pub fn model(&self) -> anyhow::Result<Model> {
        let mut model = Model::build(self.input, &self.specs, Some(self.classes), self.seed)?;
        model.set_weights(&self.weights)?;
        Ok(model)
    }

    /// A parameter of `layer` (e.g. its "kernel"): values and dims.
    pub fn param(&self, layer: usize, name: &str) -> Option<(&[f32], &[usize])> {
        self.params
            .iter()
            .zip(self.weights.iter())
            .find(|(slot, _)| slot.layer == layer && slot.name == name)
            .map(|(slot, values)| (values.as_slice(), slot.dims.as_slice()))
    }

    pub fn conv_layers(&self) -> Vec<usize> {
        (0..self.specs.len())
            .filter(|&i| self.specs[i].config().has_image_filters())
            .collect()
    }

    /// "layer 3 · MaxPooling2D → 14×14×8"
    pub fn layer_label(&self, layer: usize) -> String {
        let kind = self.specs.get(layer).map_or("?", LayerSpec::kind);
        let shape = self
            .infos
            .get(layer)
            .map_or_else(String::new, |i| format!(" → {}", i.output.hwc()));
        format!("layer {} · {kind}{shape}", layer + 1)
    }

    pub fn class_name(&self, class: usize) -> String {
        self.class_names
            .get(class)
            .cloned()
            .unwrap_or_else(|| format!("class {class}"))
    }

    /// What weights the views show, in words.
    pub fn describe(&self) -> String {
        match &self.source {
            Weights::Initial => {
                "untrained: the initial weights drawn from the seed; train to see what it learns".into()
            }
            Weights::Trained { epochs } => format!("trained weights ({epochs} epochs)"),
            Weights::Live(p) => format!("live weights: epoch {}, batch {}/{}", p.epoch, p.batch, p.batches),
        }
    }

    /// One image of a split (u8, CHW) as the network's input.
    pub fn input_from_pixels(&self, pixels: &[u8]) -> Tensor {
        let mut values = vec![0.0f32; self.input.len()];
        if pixels.len() == values.len() {
            self.normalization.apply(pixels, self.input.channels(), &mut values);
        }
        Tensor::from_vec(1, self.input, values).unwrap_or_else(|| Tensor::zeros(1, self.input))
    }
}

/// What the background preparation delivers.
struct Prepared {
    lens: Lens,
    dataset_key: String,
    dataset: Arc<Dataset>,
}

/// The data's identity: a new key means it must be loaded again.
fn dataset_key(e: &Experiment) -> String {
    format!(
        "{:?}|{:?}|{}|{}",
        e.dataset,
        e.input,
        e.weights.is_some(),
        e.class_names.join(",")
    )
}

fn prepare(
    experiment: Experiment,
    base_dir: PathBuf,
    cached: Option<(String, Arc<Dataset>)>,
) -> anyhow::Result<Prepared> {
    let key = dataset_key(&experiment);
    let dataset = match cached {
        Some((k, d)) if k == key => d,
        _ => Arc::new(load_dataset(&experiment, &base_dir, None)?),
    };
    let classes = experiment.classes().unwrap_or_else(|| dataset.num_classes());
    let model = experiment.build_model(classes, &base_dir)?;
    let names = if experiment.class_names.len() == classes {
        experiment.class_names.clone()
    } else {
        dataset.class_names.clone()
    };
    Ok(Prepared {
        lens: Lens::from_model(&experiment, &model, names),
        dataset_key: key,
        dataset,
    })
}

/// The split the views browse and score: the test split, else the training split.
pub fn browse_split(dataset: &Dataset) -> (&'static str, &Split) {
    match &dataset.test {
        Some(test) if !test.is_empty() => ("test", test),
        _ => ("training", &dataset.train),
    }
}

/// A request from one view to another (a gallery image opened in the feature-map view).
pub enum Navigate {
    FeatureMapsOf { index: usize },
}

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
    filters: FiltersView,
    features: FeaturesView,
    mistakes: MistakesView,
    /// Set by `--screenshot --view V`: do the view's showcase action once the model is ready.
    showcase: bool,
}

impl Default for Inspector {
    fn default() -> Self {
        Inspector {
            view: View::Model,
            lens: None,
            dataset: None,
            problem: None,
            built_from: None,
            preparing: None,
            live_seen: 0,
            live_asked: None,
            filters: FiltersView::default(),
            features: FeaturesView::default(),
            mistakes: MistakesView::default(),
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
        if self.view == View::Model {
            return false;
        }
        self.preparing.is_some()
            || self.lens.is_none() && self.problem.is_none()
            || match self.view {
                View::Model => false,
                View::Filters => self.filters.busy(self.showcase),
                View::FeatureMaps => self.features.busy(),
                View::Mistakes => self.mistakes.busy(self.showcase),
            }
    }

    /// Keeps the lens in step with the document and the run. Call once per frame, before drawing.
    pub fn update(&mut self, ctx: &egui::Context, doc: &Document, run: Option<&TrainingRun>) {
        if self.view == View::Model {
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
            if due && run.phase == crate::app::run::Phase::Running {
                run.send(Command::RequestWeights);
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
        let navigate = match self.view {
            View::Model => None,
            View::Filters => {
                self.filters.ui(ui, &lens, experiment, showcase);
                None
            }
            View::FeatureMaps => {
                self.features.ui(ui, &lens, dataset.as_ref(), showcase);
                None
            }
            View::Mistakes => self.mistakes.ui(ui, &lens, dataset.as_ref(), showcase),
        };
        match navigate {
            Some(Navigate::FeatureMapsOf { index }) => {
                self.features.show_sample(index);
                self.view = View::FeatureMaps;
            }
            None => {}
        }
    }

    /// The tab bar above the central area.
    pub fn tabs_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            for view in View::ALL {
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

    // ---- for tests and tools ----

    /// Ink the canvas along `points` (canvas coordinates 0..=1) and switch to drawing input.
    pub fn draw_on_canvas(&mut self, points: &[[f32; 2]]) {
        self.features.draw_stroke(points);
    }

    /// Where the feature view's input comes from.
    pub fn input_source(&self) -> InputSource {
        self.features.source()
    }

    /// The feature view's current prediction: (class, probability).
    pub fn prediction(&self) -> Option<(usize, f32)> {
        self.features.prediction()
    }

    /// The confusion matrix of the last scoring, `[true][predicted]`.
    pub fn confusion(&self) -> Option<&[Vec<usize>]> {
        self.mistakes.confusion()
    }

    /// Filters whose activation-maximization image is ready, and how many there are.
    pub fn maximized(&self) -> Option<(usize, usize)> {
        self.filters.maximized()
    }
}
