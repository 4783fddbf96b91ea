//! Flatten: (N, C, H, W) → (N, C·H·W) in NCHW order. The data is already laid out that way,
//! so both passes are copies.

use super::{Layer, Mode};
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;

pub struct FlattenLayer;

impl Layer for FlattenLayer {
    fn kind(&self) -> &'static str {
        "Flatten"
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        y.copy_from(x);
        y.resize(x.batch(), Shape::flat(x.sample_len()));
    }

    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        if let Some(dx) = dx {
            dx.copy_from(dy);
            dx.resize(x.batch(), x.shape());
        }
    }
}
