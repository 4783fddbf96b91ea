//! Experiments: the versioned `.ron` format, loading and atomic saving, and turning a spec into
//! a model (with saved weights or layers transferred from another experiment).

pub mod build;
pub mod codec;
pub mod edit;
pub mod format;
pub mod io;
pub mod trained;

pub use build::{SavedWeightsError, TransferError, load_dataset, weights_of};
pub use codec::CodecError;
pub use edit::{Edit, EditError};
pub use format::*;
pub use io::{ExperimentError, load, parse, save, to_text};
pub use trained::{SetupError, TrainedArrays};
