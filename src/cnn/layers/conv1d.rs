//! Conv1D: every filter spans all input channels and slides along the steps only, the "1-D"
//! of the course's closing remark. It runs on Conv2D's im2col + GEMM path (`conv2d.rs`) with
//! the sequence seen as one row of `steps`, which also carries the dilation and the causal
//! padding.
//!
//! # Shapes
//! x (N, C, L) → y (N, F, OL); kernel (F, C, K); bias (F).
//! With span = (K − 1)·dilation + 1: valid OL = floor((L − span)/s) + 1, same and causal
//! OL = ceil(L/s) (same splits the padding with the odd step on the right, causal puts all
//! span − 1 zeros on the left).

use super::conv2d::{Conv2DLayer, ConvSetup};
use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind, is_true, with_activation, yes};
use super::Layer;
use crate::cnn::activation::Activation;
use crate::cnn::error::{ArchError, QuickFix};
use crate::cnn::geometry::{Padding, Window};
use crate::cnn::init::Initializer;
use crate::cnn::numbers::group_digits;
use crate::cnn::shape::Shape;
use serde::{Deserialize, Serialize};

fn one() -> usize {
    1
}

fn is_one(v: &usize) -> bool {
    *v == 1
}

/// `Conv1D(filters, kernel_size, strides=1, padding='valid', dilation_rate=1, activation=None,
/// use_bias=True, kernel_initializer='glorot_uniform')`, as in Keras (biases start at zero,
/// Keras's `bias_initializer='zeros'`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv1D {
    pub filters: usize,
    /// Taps of one filter, along the steps.
    pub kernel_size: usize,
    #[serde(default = "one")]
    pub strides: usize,
    /// `valid`, `same` (TensorFlow's rule) or `causal`.
    #[serde(default)]
    pub padding: Padding,
    /// Steps between two taps; Keras refuses it above 1 together with strides above 1.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub dilation_rate: usize,
    #[serde(default)]
    pub activation: Activation,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub use_bias: bool,
    #[serde(default)]
    pub kernel_initializer: Initializer,
    /// `false` freezes the layer: it still runs, but its weights never change.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub trainable: bool,
}

impl Conv1D {
    pub fn new(filters: usize, kernel: usize) -> Self {
        Conv1D {
            filters,
            kernel_size: kernel,
            strides: 1,
            padding: Padding::Valid,
            dilation_rate: 1,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            trainable: true,
        }
    }
    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }
    pub fn strides(mut self, s: usize) -> Self {
        self.strides = s;
        self
    }
    pub fn dilation(mut self, d: usize) -> Self {
        self.dilation_rate = d;
        self
    }
    pub fn relu(mut self) -> Self {
        self.activation = Activation::Relu;
        self
    }

    /// The runtime layer's setup on `input`, or `None` where it does not fit (not a sequence,
    /// no window).
    pub(crate) fn setup(&self, input: Shape) -> Option<ConvSetup> {
        let Shape::Sequence { c, steps } = input else {
            return None;
        };
        Some(ConvSetup {
            kind: "Conv1D",
            sequence: true,
            input: (c, 1, steps),
            win: Window::line(steps, self.kernel_size, self.strides, self.dilation_rate, self.padding)?,
            filters: self.filters,
            kernel_dims: vec![self.filters, c, self.kernel_size],
            activation: self.activation,
            use_bias: self.use_bias,
            trainable: self.trainable,
            initializer: self.kernel_initializer,
        })
    }

    /// Steps one filter covers: (kernel_size − 1)·dilation_rate + 1.
    pub fn span(&self) -> usize {
        self.kernel_size
            .saturating_sub(1)
            .saturating_mul(self.dilation_rate)
            .saturating_add(1)
    }
}

impl LayerKind for Conv1D {
    fn describe(&self) -> String {
        let dilation = if self.dilation_rate == 1 {
            String::new()
        } else {
            format!(", dilation {}", self.dilation_rate)
        };
        format!(
            "Conv1D({}, {}, strides {}, padding {}{dilation}{})",
            self.filters,
            self.kernel_size,
            self.strides,
            self.padding.keras_name(),
            with_activation(self.activation)
        )
    }

    fn family(&self) -> Family {
        Family::Convolution
    }

    fn footprint(&self) -> Footprint {
        Footprint::Window {
            kernel: (1, self.span()),
            strides: (1, self.strides),
            padding: self.padding,
        }
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        let c = at.sequence_channels("slides its filters along the steps")?;
        let steps = at.input.spatial().1;
        let (k, s, d) = (self.kernel_size, self.strides, self.dilation_rate);
        if self.filters == 0 {
            return Err(at.error(
                "filters is 0, so the layer would output nothing",
                "use at least 1 filter (16, 32, 64 are common)",
                None,
            ));
        }
        if k == 0 || s == 0 || d == 0 {
            return Err(at.error(
                format!("kernel_size {k}, strides {s} and dilation_rate {d} must all be at least 1"),
                "use kernel_size 3, strides 1 and dilation_rate 1",
                None,
            ));
        }
        if s > 1 && d > 1 {
            // Keras: "strides > 1 not supported in conjunction with dilation_rate > 1".
            return Err(at.error(
                format!("strides {s} with dilation_rate {d}: Keras refuses strides above 1 together with dilation above 1"),
                "use strides 1 with the dilation (and pool afterwards), or dilation_rate 1",
                None,
            ));
        }
        let Some(win) = Window::line(steps, k, s, d, self.padding) else {
            let span = self.span();
            let dilated = if d > 1 {
                format!(" ({k} taps {d} steps apart)")
            } else {
                String::new()
            };
            return Err(at.error(
                format!("the input has {steps} steps but one filter spans {span}{dilated}, so the output would have none"),
                "use padding 'same' or 'causal', a smaller kernel_size, or remove a pooling layer before it",
                Some(QuickFix::UsePaddingSame { index: at.index }),
            ));
        };
        let out = win.cols.out;
        let filters = self.filters as u64;
        let fan_in = (k as u64).saturating_mul(c as u64);
        let weights = fan_in.saturating_mul(filters);
        let params = weights.saturating_add(if self.use_bias { filters } else { 0 });
        let params_formula = if self.use_bias {
            format!("({k}·{c} + 1)·{} = {}", self.filters, group_digits(params))
        } else {
            format!("{k}·{c}·{} = {}", self.filters, group_digits(params))
        };
        Ok(Inferred {
            weights: params,
            params_formula,
            macs: (out as u64).saturating_mul(weights),
            // im2col columns: one (K·C, OL) buffer per thread, forward and backward.
            workspace_bytes: (out as u64).saturating_mul(fan_in).saturating_mul(4),
            ..Inferred::shape(Shape::sequence(out, self.filters))
        })
    }

    fn build(&self, input: Shape, init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        Some(Box::new(Conv2DLayer::from_setup(self.setup(input)?, init.rng)))
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::Count {
                name: "filters",
                value: &mut self.filters,
                max: 4096,
                speed: 0.2,
                hint: Some("Number of filters = output channels"),
            },
            Field::Count {
                name: "kernel",
                value: &mut self.kernel_size,
                max: 99,
                speed: 0.1,
                hint: Some("Steps one filter reads (kernel_size)"),
            },
            Field::Count {
                name: "strides",
                value: &mut self.strides,
                max: 16,
                speed: 0.05,
                hint: None,
            },
            Field::Count {
                name: "dilation",
                value: &mut self.dilation_rate,
                max: 64,
                speed: 0.05,
                hint: Some("Steps between two taps (dilation_rate); needs strides 1"),
            },
            Field::CausalPadding(&mut self.padding),
            Field::Activation(&mut self.activation),
            Field::Flag {
                label: "bias",
                value: &mut self.use_bias,
                hint: Some("One bias per filter: the + 1 in the parameter formula"),
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
            QuickFix::UsePaddingSame { .. } => {
                self.padding = Padding::Same;
                true
            }
            _ => false,
        }
    }

    fn has_sequence_filters(&self) -> bool {
        true
    }

    fn palette_default() -> Self {
        Conv1D::new(16, 3).relu()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(input: Shape) -> Incoming {
        Incoming {
            index: 0,
            kind: "Conv1D",
            input,
        }
    }

    #[test]
    fn shape_rule_follows_keras_for_every_padding() {
        let x = Shape::sequence(10, 4);
        let out = |conv: Conv1D| conv.infer(&at(x)).map(|i| i.output.spatial().1);
        assert_eq!(out(Conv1D::new(8, 3)), Ok(8));
        assert_eq!(out(Conv1D::new(8, 3).strides(2)), Ok(4));
        assert_eq!(out(Conv1D::new(8, 3).padding(Padding::Same).strides(2)), Ok(5));
        assert_eq!(out(Conv1D::new(8, 3).padding(Padding::Causal)), Ok(10));
        assert_eq!(out(Conv1D::new(8, 3).dilation(2)), Ok(6));
        assert_eq!(out(Conv1D::new(8, 3).dilation(2).padding(Padding::Causal)), Ok(10));
        let inferred = Conv1D::new(8, 3).infer(&at(x)).unwrap();
        assert_eq!(inferred.params_formula, "(3·4 + 1)·8 = 104");
        assert_eq!(inferred.macs, 8 * 3 * 4 * 8);
    }
}
