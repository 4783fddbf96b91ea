//! Why saved weights or transferred layers cannot be used: the causes that
//! `ExperimentError` (`io.rs`) carries, worded for the person who has to fix the file.

use super::codec::CodecError;
use thiserror::Error;

/// Why saved weight arrays cannot be loaded into a model. Layer numbers count from 1.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum SavedWeightsError {
    #[error("the model has {model} weight arrays, the file {file}")]
    Count { model: usize, file: usize },
    #[error(
        "layer {} {name} {dims:?} does not match the saved layer {} {saved_name} {saved_dims:?}",
        layer + 1,
        saved_layer + 1
    )]
    Mismatch {
        /// 0-based, like `saved_layer`.
        layer: usize,
        name: &'static str,
        dims: Vec<usize>,
        saved_layer: usize,
        saved_name: String,
        saved_dims: Vec<usize>,
    },
    #[error(transparent)]
    Decode(#[from] CodecError),
    #[error(
        "layer {} ({kind}) {name} holds {count} NaN or infinite value(s) out of {total}",
        layer + 1
    )]
    NonFinite {
        /// 0-based.
        layer: usize,
        kind: &'static str,
        name: &'static str,
        count: usize,
        total: usize,
    },
    #[error("layer {} {name} holds {got} values, expected {expected}", layer + 1)]
    Size {
        layer: usize,
        name: &'static str,
        got: usize,
        expected: usize,
    },
}

/// Why the first layers of another experiment cannot be taken over. Layer numbers count from 1.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum TransferError {
    #[error("that experiment has not been trained yet: train it first")]
    Untrained,
    #[error("cannot take {wanted} layers from a model of {available}")]
    TooManyLayers { wanted: usize, available: usize },
    #[error("layer {} is {there} there but {here} here; the transferred layers must be the same", layer + 1)]
    KindMismatch {
        /// 0-based.
        layer: usize,
        there: &'static str,
        here: &'static str,
    },
    #[error(transparent)]
    Weights(#[from] SavedWeightsError),
}
