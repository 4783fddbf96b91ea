//! What goes into the training worker (`Control`s) and what comes out (`Event`s).

use super::error::TrainingError;
use crate::experiment::{EpochRecord, Experiment};

/// Sent to the worker; obeyed between batches.
#[derive(Clone, Debug, PartialEq)]
pub enum Control {
    Pause,
    Resume,
    /// Finish after the current batch; the result keeps everything learned so far.
    Stop,
    /// While paused: run exactly one batch, then pause again.
    Step,
    /// Change the base learning rate from the next batch on (the schedule still applies).
    SetLearningRate(f32),
    /// Ask for a `Weights` event after the current batch.
    RequestWeights,
    /// Test hook: makes the worker panic, to prove a crash becomes an error event.
    #[doc(hidden)]
    InjectPanic,
}

/// Where the run is within an epoch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Progress {
    /// 1-based epoch, counted over the experiment's whole history.
    pub epoch: usize,
    pub last_epoch: usize,
    /// 1-based batch within the epoch.
    pub batch: usize,
    pub batches: usize,
}

impl Progress {
    /// Fraction of the run (this invocation) completed, 0..=1.
    pub fn fraction(&self, first_epoch: usize) -> f32 {
        let epochs = (self.last_epoch + 1).saturating_sub(first_epoch).max(1);
        let done_epochs = self.epoch.saturating_sub(first_epoch);
        ((done_epochs as f32 + self.batch as f32 / self.batches.max(1) as f32) / epochs as f32).clamp(0.0, 1.0)
    }
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq)]
pub struct RunSummary {
    pub epochs_run: usize,
    pub train_loss: f32,
    pub train_accuracy: f32,
    pub val_accuracy: Option<f32>,
    /// `None` when the data has no test split.
    pub test_accuracy: Option<f32>,
    pub wall_secs: f64,
    /// Training images per second over the run (evaluation excluded).
    pub images_per_sec: f64,
    /// Stopped by a `Stop` command before the last epoch.
    pub stopped: bool,
    /// The divergence message, if the loss stopped being finite.
    pub diverged: Option<String>,
}

#[derive(Clone, Debug)]
pub enum Event {
    /// Data is being loaded / the model built.
    Preparing(String),
    Started {
        first_epoch: usize,
        last_epoch: usize,
        batches_per_epoch: usize,
        train_samples: usize,
        val_samples: usize,
        test_samples: usize,
        class_names: Vec<String>,
    },
    Batch {
        progress: Progress,
        loss: f32,
        accuracy: f32,
        images_per_sec: f32,
        learning_rate: f32,
    },
    Epoch(EpochRecord),
    /// The model's parameter values (in `Model::params` order), after an epoch or on request.
    Weights {
        progress: Progress,
        values: Vec<Vec<f32>>,
    },
    Paused(Progress),
    Resumed,
    /// Something the user should know that does not stop the run (a file of the dataset that
    /// was skipped, say).
    Warning(String),
    /// The loss became NaN or infinite; the run stops with the last good weights.
    Diverged(String),
    /// A run stopped by `Stop` with `RunOptions::score_after_stop`: its result at once, before
    /// the test split is scored (`Scoring` events, then `Finished` with the test accuracy, or
    /// without it if a second `Stop` cancels the scoring).
    Stopped(Box<(Experiment, RunSummary)>),
    /// Scoring the test split: `done` of `total` samples.
    Scoring {
        done: usize,
        total: usize,
    },
    /// The last event of every run: the updated experiment (weights, history, resume state)
    /// and a summary, or an error that names the problem.
    Finished(Result<Box<(Experiment, RunSummary)>, TrainingError>),
}

/// Called by the worker after every epoch but the last with the experiment as it stands
/// (weights, history, resume state), so a killed run loses at most an epoch: `train` saves it.
/// An error comes back as an `Event::Warning` and the run goes on.
#[derive(Clone)]
pub struct Checkpoint(pub std::sync::Arc<SaveFn>);

/// Saves an experiment, or says why it could not.
pub type SaveFn = dyn Fn(&Experiment) -> Result<(), String> + Send + Sync;

impl std::fmt::Debug for Checkpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Checkpoint(..)")
    }
}
