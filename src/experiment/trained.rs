//! What training adds to an experiment (weights, history, filter snapshots, resume state, class
//! names), and the rules a setup must meet before it can train. One owner for each: the app's
//! reset and undo, the worker's fresh start and the CLI all go through here.

use super::format::{DatasetSource, Experiment, FilterSnapshot, ResumeState, Training, WeightArray};
use super::values::{ValueError, check_experiment, check_training};
use crate::cnn::Shape;
use crate::data::{BUNDLED, bundled_sample_shape};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The heavy arrays training leaves in an experiment, split off so undo snapshots can share
/// them (they rarely change between edits, and they can be megabytes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainedArrays {
    pub weights: Option<Vec<WeightArray>>,
    pub resume: Option<ResumeState>,
    pub filter_snapshots: Vec<FilterSnapshot>,
}

impl Experiment {
    /// Forgets what training produced (weights, history, filter snapshots, resume state): the
    /// next run starts from the seed. Class names stay: they belong to the data.
    pub fn forget_training(&mut self) {
        self.weights = None;
        self.history.clear();
        self.filter_snapshots.clear();
        self.resume = None;
    }

    /// Takes what a finished run learned from `trained` (weights, history, filter snapshots,
    /// resume state, class names), keeping everything else as it is here.
    pub fn absorb_training(&mut self, trained: Experiment) {
        self.weights = trained.weights;
        self.history = trained.history;
        self.filter_snapshots = trained.filter_snapshots;
        self.resume = trained.resume;
        self.class_names = trained.class_names;
    }

    /// Moves the trained arrays out, leaving an experiment that is cheap to clone.
    pub fn take_trained_arrays(&mut self) -> TrainedArrays {
        TrainedArrays {
            weights: self.weights.take(),
            resume: self.resume.take(),
            filter_snapshots: std::mem::take(&mut self.filter_snapshots),
        }
    }

    /// Puts back what [`Experiment::take_trained_arrays`] took.
    pub fn put_trained_arrays(&mut self, arrays: TrainedArrays) {
        self.weights = arrays.weights;
        self.resume = arrays.resume;
        self.filter_snapshots = arrays.filter_snapshots;
    }

    /// The number of classes the model must end with, when known without reading the data
    /// (from the dataset, or the class names a past run recorded).
    pub fn classes(&self) -> Option<usize> {
        self.dataset
            .known_classes()
            .or_else(|| (!self.class_names.is_empty()).then_some(self.class_names.len()))
    }

    /// Whether the dataset can feed this model, before anything is loaded: a known bundled
    /// dataset of the input's size, synthetic shapes of 1 or 3 channels, an existing folder
    /// (relative paths start at `base_dir`).
    pub fn check_dataset(&self, base_dir: &Path) -> Result<(), SetupError> {
        let input = self.input;
        match &self.dataset {
            DatasetSource::Bundled(name) if !BUNDLED.contains(&name.as_str()) => {
                Err(SetupError::UnknownBundled { name: name.clone() })
            }
            DatasetSource::Bundled(name)
                if let Some(data) = bundled_sample_shape(name)
                    && data != input.shape() =>
            {
                Err(SetupError::InputMismatch {
                    name: name.clone(),
                    data,
                    input: input.shape(),
                })
            }
            DatasetSource::Synthetic(spec) if spec.channels != 1 && spec.channels != 3 => {
                Err(SetupError::SyntheticChannels)
            }
            DatasetSource::Path(path) if !Experiment::resolve(&data_file(path), base_dir).exists() => {
                Err(SetupError::MissingFolder(path.clone()))
            }
            _ => Ok(()),
        }
    }
}

/// The file or folder of a data path, without its `#options` (an unparsable option is left for
/// loading to report).
fn data_file(path: &Path) -> PathBuf {
    crate::data::split_options(path).map_or_else(|_| path.to_path_buf(), |(file, _)| file)
}

impl Training {
    /// The training settings' rules, with Keras names: a batch, at least one epoch, a positive
    /// learning rate, a validation fraction below 1.
    pub fn check(&self) -> Result<(), SetupError> {
        if self.batch_size == 0 {
            return Err(SetupError::BatchSize);
        }
        if self.epochs == 0 {
            return Err(SetupError::Epochs);
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(SetupError::LearningRate(self.learning_rate));
        }
        if !(0.0..1.0).contains(&self.validation_split) {
            return Err(SetupError::ValidationSplit(self.validation_split));
        }
        check_training(self)?;
        Ok(())
    }
}

impl Experiment {
    /// Every value a run depends on: the training settings, the shift against the input, and
    /// the saved position of a stopped run.
    pub fn check_values(&self) -> Result<(), SetupError> {
        self.training.check()?;
        check_experiment(self)?;
        Ok(())
    }
}

/// Why a setup cannot train, and what to do about it.
#[derive(Clone, Debug, Error, PartialEq)]
pub enum SetupError {
    #[error("there is no bundled dataset \"{name}\"; choose one of {}", BUNDLED.join(", "))]
    UnknownBundled { name: String },
    #[error(
        "the {name} {} are {data} but the input is {input}; set the input to {}",
        if .data.is_sequence() { "sequences" } else { "images" },
        match .data {
            Shape::Sequence { c, steps } => format!("(steps: {steps}, channels: {c})"),
            other => other.hwc(),
        }
    )]
    InputMismatch {
        name: String,
        /// One sample of the data, and the model's input.
        data: Shape,
        input: Shape,
    },
    #[error("synthetic shapes have 1 or 3 channels; set the input channels to 1 or 3")]
    SyntheticChannels,
    #[error("the data folder {} does not exist; choose another dataset", .0.display())]
    MissingFolder(PathBuf),
    #[error("batch_size is 0; use 32 or 64")]
    BatchSize,
    #[error("epochs is 0; train for at least 1 epoch")]
    Epochs,
    #[error("learning_rate is {0}; use a small positive value such as 0.001")]
    LearningRate(f32),
    #[error("validation_split is {0}; use a fraction in [0, 1) such as 0.1")]
    ValidationSplit(f32),
    #[error(transparent)]
    Value(#[from] ValueError),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::Input;

    fn experiment() -> Experiment {
        let text = include_str!("../../projects/mnist_lenet.ron");
        crate::experiment::parse(text, Path::new("mnist_lenet.ron")).unwrap()
    }

    #[test]
    fn the_rules_name_the_setting_and_the_fix() {
        let e = experiment();
        assert_eq!(e.training.check(), Ok(()));
        let mut t = e.training.clone();
        t.learning_rate = -1.0;
        assert_eq!(
            t.check().unwrap_err().to_string(),
            "learning_rate is -1; use a small positive value such as 0.001"
        );
        t.learning_rate = 0.01;
        t.validation_split = 1.0;
        assert!(t.check().unwrap_err().to_string().starts_with("validation_split is 1;"));
        let mut e = experiment();
        e.input = Input::image(32, 32, 3);
        assert_eq!(
            e.check_dataset(Path::new(".")).unwrap_err().to_string(),
            "the mnist images are 28×28×1 but the input is 32×32×3; set the input to 28×28×1"
        );
    }

    #[test]
    fn forgetting_and_absorbing_move_every_trained_part() {
        let mut trained = experiment();
        trained.class_names = vec!["zero".into(), "one".into()];
        trained.weights = Some(Vec::new());
        trained.history = vec![crate::experiment::EpochRecord {
            epoch: 1,
            train_loss: 0.5,
            train_accuracy: 0.8,
            val_loss: None,
            val_accuracy: None,
            learning_rate: 0.01,
            seconds: 1.0,
        }];
        let mut e = experiment();
        e.forget_training();
        e.absorb_training(trained.clone());
        assert_eq!(e, trained);
        let arrays = e.take_trained_arrays();
        assert!(e.weights.is_none() && arrays.weights.is_some());
        e.put_trained_arrays(arrays);
        assert_eq!(e, trained);
        e.forget_training();
        assert!(e.history.is_empty() && e.weights.is_none() && e.resume.is_none());
        assert_eq!(e.class_names, trained.class_names);
    }
}
