//! A batch of samples in NCHW `f32`, stored contiguously so kernels work on plain slices.

use super::shape::Shape;
use ndarray::{ArrayViewD, IxDyn};

/// A batch of `batch` samples, each of shape `shape`, row-major NCHW (or N×F for flat shapes).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tensor {
    batch: usize,
    shape: Shape,
    data: Vec<f32>,
}

impl Tensor {
    pub fn zeros(batch: usize, shape: Shape) -> Self {
        Tensor {
            batch,
            shape,
            data: vec![0.0; batch * shape.len()],
        }
    }

    /// Wraps `data`; returns `None` when its length is not `batch × shape.len()`.
    pub fn from_vec(batch: usize, shape: Shape, data: Vec<f32>) -> Option<Self> {
        (data.len() == batch * shape.len()).then_some(Tensor { batch, shape, data })
    }

    /// Re-shapes in place, reusing the allocation. Contents are unspecified afterwards:
    /// every kernel that writes into a resized tensor overwrites all of it.
    pub fn resize(&mut self, batch: usize, shape: Shape) {
        self.batch = batch;
        self.shape = shape;
        self.data.resize(batch * shape.len(), 0.0);
    }

    /// Makes `self` a copy of `other`, reusing the allocation.
    pub fn copy_from(&mut self, other: &Tensor) {
        self.batch = other.batch;
        self.shape = other.shape;
        self.data.clear();
        self.data.extend_from_slice(&other.data);
    }

    pub fn fill(&mut self, value: f32) {
        self.data.fill(value);
    }

    pub fn batch(&self) -> usize {
        self.batch
    }

    pub fn shape(&self) -> Shape {
        self.shape
    }

    /// Values per sample.
    pub fn sample_len(&self) -> usize {
        self.shape.len()
    }

    pub fn data(&self) -> &[f32] {
        &self.data
    }

    pub fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    pub fn sample(&self, n: usize) -> &[f32] {
        let len = self.shape.len();
        &self.data[n * len..(n + 1) * len]
    }

    pub fn sample_mut(&mut self, n: usize) -> &mut [f32] {
        let len = self.shape.len();
        &mut self.data[n * len..(n + 1) * len]
    }

    /// An `ndarray` view with NCHW (or N×F) axes, for viewers and tests.
    pub fn view(&self) -> ArrayViewD<'_, f32> {
        ArrayViewD::from_shape(IxDyn(&self.shape.nchw(self.batch)), &self.data)
            .expect("tensor length always matches its shape")
    }

    /// The first `n` samples as a new tensor.
    pub fn take_samples(&self, n: usize) -> Tensor {
        let n = n.min(self.batch);
        Tensor {
            batch: n,
            shape: self.shape,
            data: self.data[..n * self.shape.len()].to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_has_nchw_axes() {
        let t = Tensor::from_vec(2, Shape::image(2, 3, 1), (0..12).map(|v| v as f32).collect()).unwrap();
        let v = t.view();
        assert_eq!(v.shape(), &[2, 1, 2, 3]);
        assert_eq!(v[[1, 0, 1, 2]], 11.0);
        assert!(Tensor::from_vec(2, Shape::flat(3), vec![0.0; 5]).is_none());
    }
}
