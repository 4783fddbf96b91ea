//! Experiments: the versioned `.ron` format, loading and atomic saving, and turning a spec into
//! a model (with saved weights or layers transferred from another experiment).

pub mod build;
pub mod codec;
pub mod edit;
pub mod error;
pub mod format;
pub mod io;
pub mod memory;
pub mod save;
mod splice;
pub mod trained;
pub mod values;

pub use build::{load_dataset, weights_of};
pub use codec::CodecError;
pub use edit::{Edit, EditError};
pub use error::{SavedWeightsError, TransferError};
pub use format::*;
pub use io::{ExperimentError, base_dir, load, parse, save, to_text};
pub use memory::{INFERENCE_BATCH, MemoryUse};
pub use save::{Destination, relocate};
pub use trained::{SetupError, TrainedArrays};
pub use values::{MAX_EPOCHS, ValueError};
