//! MaxPooling1D: the largest value in each window of steps; the gradient goes to the step that
//! won. The runtime layer is MaxPooling2D's on one row (`max_pooling2d.rs`).
//!
//! # Shapes
//! x (N, C, L) → y (N, C, OL); argmax (N, C, OL) kept for the backward pass.

use super::max_pooling2d::Max;
use super::pooling1d::Pool1D;

/// `MaxPooling1D(pool_size=2, strides=None, padding='valid')`, as in Keras.
pub type MaxPooling1D = Pool1D<Max>;
