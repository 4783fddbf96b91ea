//! `TrainingError`: why a run could not start or did not finish, worded for the person who has
//! to fix it (the CLI prints it after `error:`, the app after "Training failed:").

use crate::cnn::{ArchError, WeightsError};
use crate::data::DataError;
use crate::experiment::{CodecError, ExperimentError, SetupError};
use std::sync::Arc;
use thiserror::Error;

/// Why a training run could not start or did not finish. A loss that stops being finite is not
/// one of these: the run ends normally, keeps the last good weights and reports the divergence
/// in its summary.
///
/// `Clone`, because it travels in [`Event::Finished`](super::Event::Finished) and listeners
/// keep copies of events; the causes that cannot be cloned are shared.
#[derive(Clone, Debug, Error)]
pub enum TrainingError {
    /// The model cannot be built from its layers.
    #[error(transparent)]
    Architecture(#[from] ArchError),
    /// A training setting or the dataset choice breaks a rule.
    #[error(transparent)]
    Setup(#[from] SetupError),
    /// The data could not be loaded or batched.
    #[error(transparent)]
    Data(Arc<DataError>),
    /// The experiment's saved or transferred weights could not be used.
    #[error(transparent)]
    Experiment(Arc<ExperimentError>),
    /// The optimizer state saved by a stopped run does not decode.
    #[error(
        "the saved resume state cannot be read: {0}; remove the `resume` section from the file to continue with a fresh optimizer state"
    )]
    Resume(#[source] CodecError),
    #[error("the {dataset} data has no training images left after the validation split")]
    NoTrainingImages { dataset: String },
    /// Restoring the last good weights after a diverging batch failed (a bug).
    #[error(transparent)]
    Weights(#[from] WeightsError),
    /// A batch of images did not fit the input shape (a bug).
    #[error("a batch does not match the input shape")]
    BatchShape,
    #[error("nobody is listening to the trainer")]
    NobodyListening,
    /// The worker panicked; the message is the panic's.
    #[error(
        "the training worker crashed ({0}); the experiment in the editor is unchanged: save it, and please report this"
    )]
    Panicked(String),
    /// The worker's thread ended without sending `Finished`.
    #[error("the training worker ended without a result")]
    NoResult,
}

impl From<DataError> for TrainingError {
    fn from(error: DataError) -> Self {
        TrainingError::Data(Arc::new(error))
    }
}

/// An experiment error that is really about the architecture or the data is filed as such, so
/// callers see one variant per cause.
impl From<ExperimentError> for TrainingError {
    fn from(error: ExperimentError) -> Self {
        match error {
            ExperimentError::Model(arch) => TrainingError::Architecture(arch),
            ExperimentError::Data(data) => data.into(),
            other => TrainingError::Experiment(Arc::new(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn messages_stay_the_ones_users_know() {
        assert_eq!(
            TrainingError::Panicked("injected by a test".into()).to_string(),
            "the training worker crashed (injected by a test); the experiment in the editor is unchanged: save it, and please report this"
        );
        assert_eq!(
            TrainingError::from(SetupError::BatchSize).to_string(),
            "batch_size is 0; use 32 or 64"
        );
        let data = DataError::InvalidRequest("batch size must be at least 1".into());
        let wrapped = TrainingError::from(ExperimentError::Data(data));
        assert!(matches!(wrapped, TrainingError::Data(_)));
        assert_eq!(
            wrapped.to_string(),
            "invalid dataset request: batch size must be at least 1"
        );
    }

    #[test]
    fn a_damaged_resume_state_reads_as_one_sentence_with_its_cause_kept() {
        let cause = crate::experiment::codec::decode_f32("AAAA").unwrap_err();
        let err = TrainingError::Resume(cause.clone());
        assert_eq!(
            err.to_string(),
            "the saved resume state cannot be read: weights hold 3 bytes, not a whole number of 4-byte floats; \
             remove the `resume` section from the file to continue with a fresh optimizer state"
        );
        let source = err.source().expect("the codec error is the source");
        assert_eq!(source.downcast_ref::<CodecError>(), Some(&cause));
    }

    #[test]
    fn shared_causes_survive_cloning() {
        let err = TrainingError::from(ExperimentError::Read {
            path: "lenet.ron".into(),
            source: std::io::Error::other("permission denied"),
        });
        let copy = err.clone();
        assert_eq!(copy.to_string(), "cannot read lenet.ron: permission denied");
        assert_eq!(copy.source().map(|s| s.to_string()), Some("permission denied".into()));
    }
}
