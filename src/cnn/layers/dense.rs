//! Dense (fully connected): y = x · kernel + bias, Keras layout (kernel is (in, out)). On a
//! sequence it applies to the last axis, as Keras does: the same kernel on every step's
//! channels.
//!
//! # Shapes
//! x (N, IN) → y (N, OUT); kernel (IN, OUT); bias (OUT).
//! On a sequence: x (N, IN, L) → y (N, OUT, L), y_n = kernelᵀ (OUT, IN) · x_n (IN, L).

use crate::cnn::activation::{self, Activation, Layout};
use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind, is_true, with_activation, yes};
use super::{Layer, Mode, Param, ParamKind};
use crate::cnn::error::{ArchError, QuickFix};
use crate::cnn::gemm::{Op, sgemm};
use crate::cnn::init::{self, Initializer};
use crate::cnn::numbers::group_digits;
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

/// `Dense(units, activation=None, use_bias=True, kernel_initializer='glorot_uniform')`, as in
/// Keras, on a flat vector or on each step of a sequence.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dense {
    pub units: usize,
    #[serde(default)]
    pub activation: Activation,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub use_bias: bool,
    #[serde(default)]
    pub kernel_initializer: Initializer,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub trainable: bool,
}

impl Dense {
    pub fn new(units: usize) -> Self {
        Dense {
            units,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            trainable: true,
        }
    }
    pub fn relu(mut self) -> Self {
        self.activation = Activation::Relu;
        self
    }
}

impl LayerKind for Dense {
    fn describe(&self) -> String {
        format!("Dense({}{})", self.units, with_activation(self.activation))
    }

    fn family(&self) -> Family {
        Family::Dense
    }

    fn footprint(&self) -> Footprint {
        Footprint::Whole
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        if let Shape::Image { .. } = at.input {
            return Err(at.error(
                format!(
                    "Dense needs a flat vector, but its input is the {} feature maps (Keras would apply it to each pixel)",
                    at.input.hwc()
                ),
                "insert Flatten (or GlobalAveragePooling2D) before it",
                Some(QuickFix::InsertFlatten { index: at.index }),
            ));
        }
        if self.units == 0 {
            return Err(at.error(
                "units is 0, so the layer would output nothing",
                "use at least 1 unit",
                None,
            ));
        }
        // On a sequence, the same weights serve every step.
        let (n_in, steps, output) = match at.input {
            Shape::Sequence { c, steps } => (c as u64, steps as u64, Shape::sequence(steps, self.units)),
            other => (other.len() as u64, 1, Shape::flat(self.units)),
        };
        let units = self.units as u64;
        let weights = n_in.saturating_mul(units);
        let params = weights.saturating_add(if self.use_bias { units } else { 0 });
        let params_formula = if self.use_bias {
            format!("({n_in} + 1)·{} = {}", self.units, group_digits(params))
        } else {
            format!("{n_in}·{} = {}", self.units, group_digits(params))
        };
        Ok(Inferred {
            weights: params,
            params_formula,
            macs: weights.saturating_mul(steps),
            ..Inferred::shape(output)
        })
    }

    fn build(&self, input: Shape, init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        DenseLayer::new(self, input, init.rng).map(|l| Box::new(l) as Box<dyn Layer>)
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::Count {
                name: "units",
                value: &mut self.units,
                max: 65536,
                speed: 0.5,
                hint: None,
            },
            Field::Activation(&mut self.activation),
            Field::Flag {
                label: "bias",
                value: &mut self.use_bias,
                hint: None,
            },
            Field::Trainable(&mut self.trainable),
        ]
    }

    fn activation(&self) -> Option<Activation> {
        Some(self.activation)
    }

    fn fused_activation_mut(&mut self) -> Option<&mut Activation> {
        Some(&mut self.activation)
    }

    fn has_weights(&self) -> bool {
        true
    }

    fn trainable(&self) -> bool {
        self.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }

    fn apply_fix(&mut self, fix: &QuickFix) -> bool {
        match fix {
            QuickFix::SetUnits { units, .. } => {
                self.units = *units;
                true
            }
            _ => false,
        }
    }

    fn palette_default() -> Self {
        Dense::new(64).relu()
    }
}

pub struct DenseLayer {
    n_in: usize,
    units: usize,
    /// Steps of a sequence input (each gets the same weights); 0 for a flat input.
    steps: usize,
    act: Activation,
    trainable: bool,
    kernel: Param,
    bias: Param,
}

impl DenseLayer {
    pub fn new(spec: &Dense, input: Shape, rng: &mut StdRng) -> Option<Self> {
        let (n_in, steps) = match input {
            Shape::Flat { features } => (features, 0),
            Shape::Sequence { c, steps } => (c, steps),
            Shape::Image { .. } => return None,
        };
        let mut kernel = Param::new("kernel", vec![n_in, spec.units], ParamKind::Weight);
        init::fill(spec.kernel_initializer, &mut kernel.value, n_in, spec.units, rng);
        let bias_len = if spec.use_bias { spec.units } else { 0 };
        Some(DenseLayer {
            n_in,
            units: spec.units,
            steps,
            act: spec.activation,
            trainable: spec.trainable,
            kernel,
            bias: Param::new("bias", vec![bias_len], ParamKind::Bias),
        })
    }

    fn layout(&self) -> Layout {
        Layout {
            channels: self.units,
            inner: self.steps.max(1),
        }
    }

    /// y_n (OUT, L) = kernelᵀ (OUT, IN) · x_n (IN, L) + bias, sample by sample.
    fn forward_steps(&self, x: &Tensor, y: &mut Tensor) {
        let (l, c, u) = (self.steps, self.n_in, self.units);
        y.resize(x.batch(), Shape::sequence(l, u));
        for (yn, xn) in y.data_mut().chunks_exact_mut(u * l).zip(x.data().chunks_exact(c * l)) {
            sgemm(u, l, c, &self.kernel.value, Op::T, xn, Op::N, yn, false, true);
            for (row, &b) in yn.chunks_exact_mut(l).zip(&self.bias.value) {
                row.iter_mut().for_each(|v| *v += b);
            }
        }
    }

    /// The gradients of [`DenseLayer::forward_steps`], `dy` already through the activation.
    fn backward_steps(&mut self, x: &Tensor, dy: &Tensor, dx: Option<&mut Tensor>) {
        let (l, c, u) = (self.steps, self.n_in, self.units);
        if self.trainable {
            // dkernel (IN, OUT) = Σ_n x_n (IN, L) · dy_nᵀ (L, OUT); dbias = Σ_n Σ_t dy_n.
            self.bias.grad.fill(0.0);
            for (i, (xn, dy_n)) in x.data().chunks_exact(c * l).zip(dy.data().chunks_exact(u * l)).enumerate() {
                sgemm(c, u, l, xn, Op::N, dy_n, Op::T, &mut self.kernel.grad, i > 0, true);
                for (g, row) in self.bias.grad.iter_mut().zip(dy_n.chunks_exact(l)) {
                    *g += row.iter().sum::<f32>();
                }
            }
        }
        if let Some(dx) = dx {
            // dx_n (IN, L) = kernel (IN, OUT) · dy_n (OUT, L)
            dx.resize(x.batch(), x.shape());
            for (dxn, dy_n) in dx.data_mut().chunks_exact_mut(c * l).zip(dy.data().chunks_exact(u * l)) {
                sgemm(c, l, u, &self.kernel.value, Op::N, dy_n, Op::N, dxn, false, true);
            }
        }
    }
}

impl Layer for DenseLayer {
    fn kind(&self) -> &'static str {
        "Dense"
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        if self.steps > 0 {
            self.forward_steps(x, y);
            activation::forward_inplace(self.act, y.data_mut(), self.layout());
            return;
        }
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
        if self.steps > 0 {
            self.backward_steps(x, dy, dx);
            return;
        }
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

    fn for_each_param(&self, f: &mut dyn FnMut(&Param)) {
        f(&self.kernel);
        if !self.bias.is_empty() {
            f(&self.bias);
        }
    }

    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&mut Param)) {
        f(&mut self.kernel);
        if !self.bias.is_empty() {
            f(&mut self.bias);
        }
    }

    fn trainable(&self) -> bool {
        self.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }
}
