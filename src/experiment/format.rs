//! The `.ron` experiment format: what data, what model, how to train, and (once trained) the
//! weights, the history and per-epoch filter snapshots. Versioned; missing optional fields take
//! their defaults so hand-written files stay short.

use super::codec::{self, CodecError};
use crate::cnn::{LayerSpec, LrSchedule, OptimizerKind, OptimizerState, Shape};
use crate::data::{Augmentation, Normalization, SignalSpec, SyntheticSpec, Vocabulary};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// The version this build writes and the newest it reads.
pub const FORMAT_VERSION: u32 = 1;

fn format_version() -> u32 {
    FORMAT_VERSION
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    #[serde(default = "format_version")]
    pub version: u32,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// Seeds the weights, the shuffling, dropout and augmentation.
    #[serde(default)]
    pub seed: u64,
    pub input: Input,
    pub dataset: DatasetSource,
    pub layers: Vec<LayerSpec>,
    #[serde(default)]
    pub training: Training,
    /// Start from another experiment's first layers (transfer learning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer: Option<Transfer>,
    /// The dataset's class names, recorded by training so predictions can be named offline.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub class_names: Vec<String>,
    /// A text dataset's vocabulary, recorded by training so predictions encode texts with the
    /// ids the model learned (whatever data a later run is given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vocabulary: Option<Vocabulary>,
    /// Trained weights, present once the experiment has been trained.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<Vec<WeightArray>>,
    /// One record per finished epoch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<EpochRecord>,
    /// The first Conv2D layer's kernels (else the first Conv1D's) after each epoch (bounded:
    /// see `MAX_SNAPSHOTS`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filter_snapshots: Vec<FilterSnapshot>,
    /// Where a stopped run left off, so it can resume exactly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resume: Option<ResumeState>,
}

impl Experiment {
    /// A new, untrained experiment: no notes, transfer, weights, history or resume state.
    pub fn new(
        name: &str,
        seed: u64,
        input: Input,
        dataset: DatasetSource,
        layers: Vec<LayerSpec>,
        training: Training,
    ) -> Self {
        Experiment {
            version: FORMAT_VERSION,
            name: name.into(),
            notes: String::new(),
            seed,
            input,
            dataset,
            layers,
            training,
            transfer: None,
            class_names: Vec::new(),
            vocabulary: None,
            weights: None,
            history: Vec::new(),
            filter_snapshots: Vec::new(),
            resume: None,
        }
    }
}

/// The input size: an image, Keras order (H, W, C), or a sequence (steps, channels). Files
/// write `(height: 28, width: 28, channels: 1)` or `(steps: 128, channels: 1)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "InputFields", into = "InputFields")]
pub struct Input {
    /// Image rows; 1 for a sequence.
    pub height: usize,
    /// Image columns, or a sequence's steps (a sequence is drawn as one row of steps).
    pub width: usize,
    pub channels: usize,
    /// The samples are sequences of `width` steps, not images.
    pub sequence: bool,
}

impl Input {
    pub const fn image(height: usize, width: usize, channels: usize) -> Self {
        Input {
            height,
            width,
            channels,
            sequence: false,
        }
    }

    pub const fn sequence(steps: usize, channels: usize) -> Self {
        Input {
            height: 1,
            width: steps,
            channels,
            sequence: true,
        }
    }

    /// The input as the engine sees it.
    pub fn shape(&self) -> Shape {
        if self.sequence {
            Shape::sequence(self.width, self.channels)
        } else {
            Shape::image(self.height, self.width, self.channels)
        }
    }

    /// The input that has `shape` (a flat shape counts as a 1×n image).
    pub fn of_shape(shape: Shape) -> Self {
        match shape {
            Shape::Image { c, h, w } => Input::image(h, w, c),
            Shape::Sequence { c, steps } => Input::sequence(steps, c),
            Shape::Flat { features } => Input::image(1, features, 1),
        }
    }
}

/// How [`Input`] is written: `height` and `width` for an image, `steps` for a sequence.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct InputFields {
    #[serde(default, skip_serializing_if = "Option::is_none", with = "plain_number")]
    height: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "plain_number")]
    width: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "plain_number")]
    steps: Option<usize>,
    channels: usize,
}

/// An optional number written as the number itself, whatever ron's extensions (without
/// `implicit_some` it would otherwise want `Some(150)`).
mod plain_number {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(value: &Option<usize>, s: S) -> Result<S::Ok, S::Error> {
        value.unwrap_or_default().serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<usize>, D::Error> {
        usize::deserialize(d).map(Some)
    }
}

impl TryFrom<InputFields> for Input {
    type Error = String;

    fn try_from(f: InputFields) -> Result<Self, String> {
        match (f.height, f.width, f.steps) {
            (Some(h), Some(w), None) => Ok(Input::image(h, w, f.channels)),
            (None, None, Some(steps)) => Ok(Input::sequence(steps, f.channels)),
            _ => Err(
                "the input is either an image, (height: 28, width: 28, channels: 1), or a sequence, (steps: 128, channels: 1)"
                    .into(),
            ),
        }
    }
}

impl From<Input> for InputFields {
    fn from(input: Input) -> Self {
        if input.sequence {
            InputFields {
                height: None,
                width: None,
                steps: Some(input.width),
                channels: input.channels,
            }
        } else {
            InputFields {
                height: Some(input.height),
                width: Some(input.width),
                steps: None,
                channels: input.channels,
            }
        }
    }
}

/// Where the images (or sequences) come from.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum DatasetSource {
    /// A dataset shipped with the app (`data::BUNDLED`): "mnist", "fashion-mnist", "shapes",
    /// "gunpoint", "signals" or "languages".
    Bundled(String),
    /// Generated shapes and edges, any size.
    Synthetic(SyntheticSpec),
    /// Generated 1-D signals (sine, square, …), any length.
    Signals(SignalSpec),
    /// The user's own data: IDX files, CIFAR-10 batches, an image folder, a CSV file of
    /// sequences (`data.csv`, `data.csv#label_column`) or a folder of text files
    /// (`reviews`, `reviews#tokens=words,vocabulary=5000`); see `data::load_path`.
    Path(PathBuf),
}

impl DatasetSource {
    /// The number of classes, when it is known without reading any files.
    pub fn known_classes(&self) -> Option<usize> {
        match self {
            DatasetSource::Bundled(name) => crate::data::bundled_classes(name),
            DatasetSource::Synthetic(_) => Some(crate::data::SHAPE_CLASSES.len()),
            DatasetSource::Signals(_) => Some(crate::data::SIGNAL_CLASSES.len()),
            DatasetSource::Path(_) => None,
        }
    }

    pub fn label(&self) -> String {
        match self {
            DatasetSource::Bundled(name) => name.clone(),
            DatasetSource::Synthetic(s) => format!("synthetic shapes {}×{}×{}", s.height, s.width, s.channels),
            DatasetSource::Signals(s) => format!("synthetic signals of {} steps", s.steps),
            DatasetSource::Path(p) => p.display().to_string(),
        }
    }
}

fn default_lr() -> f32 {
    0.01
}
fn default_batch() -> usize {
    64
}
fn default_epochs() -> usize {
    5
}
fn default_validation() -> f32 {
    0.1
}
fn default_optimizer() -> OptimizerKind {
    OptimizerKind::SGD {
        momentum: 0.9,
        nesterov: false,
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    #[serde(default = "default_optimizer")]
    pub optimizer: OptimizerKind,
    #[serde(default = "default_lr")]
    pub learning_rate: f32,
    #[serde(default)]
    pub schedule: LrSchedule,
    /// Decoupled weight decay on kernels (0 = off).
    #[serde(default)]
    pub weight_decay: f32,
    #[serde(default = "default_batch")]
    pub batch_size: usize,
    #[serde(default = "default_epochs")]
    pub epochs: usize,
    /// Fraction of the training split held out for validation (never trained on).
    #[serde(default = "default_validation")]
    pub validation_split: f32,
    #[serde(default)]
    pub normalization: Normalization,
    #[serde(default)]
    pub augmentation: Augmentation,
    /// Train on at most this many images (for quick demos); `None` = all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_train_samples: Option<usize>,
}

impl Default for Training {
    fn default() -> Self {
        Training {
            optimizer: default_optimizer(),
            learning_rate: default_lr(),
            schedule: LrSchedule::Constant,
            weight_decay: 0.0,
            batch_size: default_batch(),
            epochs: default_epochs(),
            validation_split: default_validation(),
            normalization: Normalization::default(),
            augmentation: Augmentation::default(),
            max_train_samples: None,
        }
    }
}

/// Copy the first `layers` layers' weights from another experiment file, optionally frozen.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Relative paths are resolved from the experiment file's folder.
    pub from: PathBuf,
    pub layers: usize,
    #[serde(default = "yes")]
    pub freeze: bool,
}

fn yes() -> bool {
    true
}

/// One parameter array: which layer, which parameter, its dimensions, and its values as
/// base64 of little-endian f32 (`data`: exact, and a third of the size of decimal text), or,
/// in a hand-written file such as a lesson, as plain numbers (`values`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WeightArray {
    pub layer: usize,
    pub name: String,
    pub dims: Vec<usize>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub data: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<f32>,
}

impl WeightArray {
    pub fn encode(layer: usize, name: &str, dims: &[usize], values: &[f32]) -> Self {
        WeightArray {
            layer,
            name: name.into(),
            dims: dims.to_vec(),
            data: codec::encode_f32(values),
            values: Vec::new(),
        }
    }

    /// Plain `values` become the base64 `data` the app writes.
    pub fn canonicalize(&mut self) {
        if self.data.is_empty() && !self.values.is_empty() {
            self.data = codec::encode_f32(&std::mem::take(&mut self.values));
        }
    }

    pub fn decode(&self) -> Result<Vec<f32>, CodecError> {
        if self.data.is_empty() && !self.values.is_empty() {
            return Ok(self.values.clone());
        }
        codec::decode_f32(&self.data)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochRecord {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: f32,
    pub train_accuracy: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_loss: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub val_accuracy: Option<f32>,
    pub learning_rate: f32,
    pub seconds: f32,
}

/// The kernels of one Conv2D layer after an epoch, for the filter timeline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FilterSnapshot {
    /// 0 = the initial weights, before training.
    pub epoch: usize,
    pub layer: usize,
    pub weights: WeightArray,
}

/// Keep at most this many filter snapshots; older ones are thinned out evenly.
pub const MAX_SNAPSHOTS: usize = 50;

/// Optimizer moments and progress of a stopped run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResumeState {
    pub epochs_done: usize,
    /// The epoch the stopped run was heading for.
    pub last_epoch: usize,
    pub iterations: u64,
    pub m: Vec<String>,
    pub v: Vec<String>,
    /// Where in its epoch a run stopped mid-epoch (the batches of that epoch are replayed up to
    /// here, so the resumed run matches an uninterrupted one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<EpochPosition>,
}

/// Progress within the epoch a run stopped in.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EpochPosition {
    /// 1-based epoch.
    pub epoch: usize,
    pub batches_done: usize,
    /// Running sums for the epoch's mean training loss and accuracy.
    pub loss_sum: f64,
    pub correct: usize,
    pub seen: usize,
}

impl ResumeState {
    pub fn encode(epochs_done: usize, last_epoch: usize, state: &OptimizerState) -> Self {
        ResumeState {
            epochs_done,
            last_epoch,
            iterations: state.iterations,
            m: state.m.iter().map(|v| codec::encode_f32(v)).collect(),
            v: state.v.iter().map(|v| codec::encode_f32(v)).collect(),
            position: None,
        }
    }

    pub fn decode(&self) -> Result<OptimizerState, CodecError> {
        Ok(OptimizerState {
            iterations: self.iterations,
            m: self.m.iter().map(|s| codec::decode_f32(s)).collect::<Result<_, _>>()?,
            v: self.v.iter().map(|s| codec::decode_f32(s)).collect::<Result<_, _>>()?,
        })
    }
}
