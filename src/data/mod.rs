//! Data: loading datasets (bundled, IDX, CIFAR-10, image folders, CSV sequences, text folders,
//! synthetic shapes and signals), splitting, batching, normalization, augmentation.
//!
//! Everything here is independent of the network engine (it borrows only `cnn::Shape` to say
//! what a sample is): images are kept as `u8` CHW bytes in a [`Dataset`] and only become `f32`
//! NCHW when a [`Batcher`] fills a batch buffer; sequences (signals, CSV rows, token ids) are
//! `f32` CL values from the start and become NCL batches. All randomness goes through the seeded
//! [`DataRng`], so a saved experiment reproduces its data exactly.
//!
//! Loading never panics on bad input: every problem is a [`DataError`]
//! whose message names the file and the fix, or, for problems that need not
//! stop the load (an unreadable photo), a line in [`Dataset::warnings`].

pub mod augment;
pub mod batch;
pub mod budget;
pub mod bundled;
pub mod cifar;
pub mod csv;
pub mod dataset;
pub mod error;
pub mod files;
pub mod folder;
pub mod idx;
pub mod idx_dir;
pub mod load;
pub mod normalize;
pub mod options;
pub mod resample;
pub mod rng;
pub mod sample;
pub mod signals;
pub mod synthetic;
pub mod text;
pub mod vocab;

#[cfg(test)]
mod testutil;

pub use augment::Augmentation;
pub use batch::{BatchIter, Batcher};
pub use bundled::{
    BUNDLED, assets_dir, bundled_classes, bundled_sample_shape, bundled_shape, bundled_title, describe_bundled,
    load_bundled,
};
pub use dataset::{Dataset, SampleKind, Split, split_validation};
pub use error::{DataError, ImageFileError};
pub use load::{Format, detect_format, load_path, load_path_with};
pub use normalize::{Normalization, channel_stats};
pub use options::{DataOptions, split_options};
pub use rng::DataRng;
pub use signals::{SIGNAL_CLASSES, SignalSpec, signals};
pub use synthetic::{SHAPE_CLASSES, SyntheticSpec, shapes};
pub use vocab::{TokenLevel, Vocabulary};
