//! Dense (fully connected): y = x · kernel + bias, Keras layout (kernel is (in, out)).
//!
//! # Shapes
//! x (N, IN) → y (N, OUT); kernel (IN, OUT); bias (OUT).

use super::activation::{self, Layout};
use super::{Layer, Mode, Param, ParamKind};
use crate::cnn::gemm::{Op, sgemm};
use crate::cnn::init;
use crate::cnn::shape::Shape;
use crate::cnn::spec::{self, Activation};
use crate::cnn::tensor::Tensor;
use rand::rngs::StdRng;

pub struct DenseLayer {
    n_in: usize,
    units: usize,
    act: Activation,
    trainable: bool,
    kernel: Param,
    bias: Param,
}

impl DenseLayer {
    pub fn new(spec: &spec::Dense, input: Shape, rng: &mut StdRng) -> Option<Self> {
        let Shape::Flat { features: n_in } = input else {
            return None;
        };
        let mut kernel = Param::new("kernel", vec![n_in, spec.units], ParamKind::Weight);
        init::fill(spec.kernel_initializer, &mut kernel.value, n_in, spec.units, rng);
        let bias_len = if spec.use_bias { spec.units } else { 0 };
        Some(DenseLayer {
            n_in,
            units: spec.units,
            act: spec.activation,
            trainable: spec.trainable,
            kernel,
            bias: Param::new("bias", vec![bias_len], ParamKind::Bias),
        })
    }

    /// The model computes its loss from logits: a softmax on the last Dense is applied by the
    /// model, not here, so this layer runs linear.
    pub fn drop_softmax(&mut self) {
        if self.act == Activation::Softmax {
            self.act = Activation::Linear;
        }
    }

    fn layout(&self) -> Layout {
        Layout {
            channels: self.units,
            inner: 1,
        }
    }
}

impl Layer for DenseLayer {
    fn kind(&self) -> &'static str {
        "Dense"
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        let n = x.batch();
        y.resize(n, Shape::flat(self.units));
        let accumulate = !self.bias.value.is_empty();
        if accumulate {
            for row in y.data_mut().chunks_exact_mut(self.units) {
                row.copy_from_slice(&self.bias.value);
            }
        }
        sgemm(
            n,
            self.units,
            self.n_in,
            x.data(),
            Op::N,
            &self.kernel.value,
            Op::N,
            y.data_mut(),
            accumulate,
            true,
        );
        activation::forward_inplace(self.act, y.data_mut(), self.layout());
    }

    fn backward(&mut self, x: &Tensor, y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        let n = x.batch();
        activation::backward_inplace(self.act, y.data(), dy.data_mut(), self.layout());
        if self.trainable {
            // dkernel (IN, OUT) = xᵀ (IN, N) · dy (N, OUT)
            sgemm(
                self.n_in,
                self.units,
                n,
                x.data(),
                Op::T,
                dy.data(),
                Op::N,
                &mut self.kernel.grad,
                false,
                true,
            );
            if !self.bias.grad.is_empty() {
                self.bias.grad.fill(0.0);
                for row in dy.data().chunks_exact(self.units) {
                    self.bias.grad.iter_mut().zip(row).for_each(|(g, d)| *g += d);
                }
            }
        }
        if let Some(dx) = dx {
            // dx (N, IN) = dy (N, OUT) · kernelᵀ (OUT, IN)
            dx.resize(n, x.shape());
            sgemm(
                n,
                self.n_in,
                self.units,
                dy.data(),
                Op::N,
                &self.kernel.value,
                Op::T,
                dx.data_mut(),
                false,
                true,
            );
        }
    }

    fn params(&self) -> Vec<&Param> {
        if self.bias.is_empty() {
            vec![&self.kernel]
        } else {
            vec![&self.kernel, &self.bias]
        }
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        if self.bias.is_empty() {
            vec![&mut self.kernel]
        } else {
            vec![&mut self.kernel, &mut self.bias]
        }
    }

    fn trainable(&self) -> bool {
        self.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }
}
