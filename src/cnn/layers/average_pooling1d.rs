//! AveragePooling1D: the mean of each window of steps; with `same` padding, of its real steps
//! only (TensorFlow). The runtime layer is AveragePooling2D's on one row
//! (`average_pooling2d.rs`).
//!
//! # Shapes
//! x (N, C, L) → y (N, C, OL).

use super::average_pooling2d::Average;
use super::pooling1d::Pool1D;

/// `AveragePooling1D(pool_size=2, strides=None, padding='valid')`, as in Keras.
pub type AveragePooling1D = Pool1D<Average>;
