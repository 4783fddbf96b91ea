//! What every layer kind provides, implemented once in the kind's own file: its shape rule with
//! the course's parameter formula and student-readable errors, how it is built into a runtime
//! layer, how far each output unit sees into the input, and the fields the editor shows.
//!
//! `LayerSpec` (the serde enum the user writes, see `registry.rs`) delegates to this trait, so
//! shape inference, model building, receptive windows, the editor and the one-click fixes never
//! match on kinds.

use super::{Layer, LayerSpec};
use crate::cnn::activation::Activation;
use crate::cnn::error::{ArchError, QuickFix};
use crate::cnn::geometry::Padding;
use crate::cnn::geometry::Window;
use crate::cnn::shape::Shape;
use rand::rngs::StdRng;
use serde::de::{Deserialize, VariantAccess};
use serde::{Serialize, Serializer};

/// One layer kind's configuration: what the user writes, with Keras names and defaults.
pub trait LayerKind: Send + Sync {
    /// A one-line Keras-like description, e.g. `Conv2D(10, 5×5, strides 1, padding same, relu)`.
    fn describe(&self) -> String;

    /// Which family the kind belongs to (the editor colours rows by it).
    fn family(&self) -> Family;

    /// How an output unit depends on the input's positions (receptive fields and windows).
    fn footprint(&self) -> Footprint;

    /// The shape rule: output shape, parameters with the course formula, MACs and memory for
    /// `at.input`, or the error a student understands, with a fix.
    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError>;

    /// The runtime layer for `input`, which has passed [`LayerKind::infer`].
    fn build(&self, input: Shape, init: &mut Init<'_>) -> Option<Box<dyn Layer>>;

    /// The hyperparameters the editor lets the user change, in display order.
    fn fields(&mut self) -> Vec<Field<'_>>;

    /// The fused or standalone activation this layer ends with, if any.
    fn activation(&self) -> Option<Activation> {
        None
    }

    /// The activation fused into this layer, to change it (`None` for kinds without one, and
    /// for the standalone `Activation` layer, which *is* one).
    fn fused_activation_mut(&mut self) -> Option<&mut Activation> {
        None
    }

    /// Whether the layer has weights (kernels, biases, normalization parameters).
    fn has_weights(&self) -> bool {
        false
    }

    /// Whether training may change the weights (layers without weights are always trainable).
    fn trainable(&self) -> bool {
        true
    }

    fn set_trainable(&mut self, _trainable: bool) {}

    /// Checks one input sample's values before training or scoring, when this is the first
    /// layer (Embedding: every token id must be in its vocabulary); the message says which
    /// value is wrong and how to fix it.
    fn check_input(&self, _sample: &[f32]) -> Result<(), String> {
        Ok(())
    }

    /// Applies a one-click fix aimed at this layer; `false` if it does not apply to this kind.
    fn apply_fix(&mut self, _fix: &QuickFix) -> bool {
        false
    }

    /// Its `kernel` is a stack of 2-D filters (filters, channels, rows, columns) that the
    /// filter room can draw as images.
    fn has_image_filters(&self) -> bool {
        false
    }

    /// Its `kernel` is a stack of 1-D filters (filters, channels, steps) that the filter room
    /// draws as line plots over the steps.
    fn has_sequence_filters(&self) -> bool {
        false
    }

    /// At inference its output holds the same values as its input (Flatten, Dropout), so the
    /// viewers skip it.
    fn passes_values_through(&self) -> bool {
        false
    }

    /// The layer the editor's palette inserts, with Keras defaults where Keras has them.
    fn palette_default() -> Self
    where
        Self: Sized;

    /// How the kind appears in a `.ron` file: `Conv2D((filters: 8, …))` by default.
    fn write_variant<S: Serializer>(&self, serializer: S, index: u32, name: &'static str) -> Result<S::Ok, S::Error>
    where
        Self: Sized + Serialize,
    {
        serializer.serialize_newtype_variant("LayerSpec", index, name, self)
    }

    /// Reads what [`LayerKind::write_variant`] wrote.
    fn read_variant<'de, A: VariantAccess<'de>>(access: A) -> Result<Self, A::Error>
    where
        Self: Sized + Deserialize<'de>,
    {
        access.newtype_variant()
    }
}

/// Families of layers, so the stack reads at a glance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    Convolution,
    Pooling,
    Dense,
    Regularization,
    Normalization,
    Activation,
    Reshape,
}

/// How far into its input each output unit of a layer sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Footprint {
    /// Each output value depends on the input at the same position (activations, Dropout,
    /// BatchNormalization).
    Pointwise,
    /// A window slides over the image (convolution, pooling).
    Window {
        kernel: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    },
    /// Every output depends on the whole input (Flatten, Dense, global pooling).
    Whole,
}

/// What a shape rule is given: where the layer stands and what it receives.
#[derive(Clone, Copy, Debug)]
pub struct Incoming {
    /// 0-based position in the layer list.
    pub index: usize,
    /// The Keras class name.
    pub kind: &'static str,
    /// One sample's shape as it arrives.
    pub input: Shape,
}

impl Incoming {
    /// An error about this layer: what is wrong, how to fix it, and a one-click fix if any.
    pub fn error(&self, problem: impl Into<String>, fix: impl Into<String>, quick_fix: Option<QuickFix>) -> ArchError {
        ArchError::Layer {
            index: self.index,
            kind: self.kind,
            problem: problem.into(),
            fix: fix.into(),
            quick_fixes: quick_fix.into_iter().collect(),
        }
    }

    /// The channel count of an image input, or the error for a global pooling (`what` it does
    /// to each feature map) that receives a sequence or a flat vector.
    pub fn feature_maps(&self, what: &str) -> Result<usize, ArchError> {
        match self.input {
            Shape::Image { c, .. } => Ok(c),
            Shape::Sequence { .. } => Err(self.wants_image()),
            flat => Err(self.error(
                format!("{} {what}, but its input is a flat vector of {}", self.kind, flat.len()),
                "remove it, or move it before Flatten",
                self.remove(),
            )),
        }
    }

    /// The channel count of a sequence input, or the error for a 1-D layer (`what` it does
    /// along the steps) that receives an image or a flat vector.
    pub fn sequence_channels(&self, what: &str) -> Result<usize, ArchError> {
        match self.input {
            Shape::Sequence { c, .. } => Ok(c),
            Shape::Image { .. } => Err(self.wants_sequence(what)),
            flat => Err(self.error(
                format!("{} {what}, but its input is a flat vector of {}", self.kind, flat.len()),
                "remove it, or move it before Flatten",
                self.remove(),
            )),
        }
    }

    /// The error for a 2-D layer fed a sequence: offer its 1-D twin.
    pub fn wants_image(&self) -> ArchError {
        let twin = self.twin("2D", "1D");
        let fix = match twin {
            Some(kind) => format!("use {kind}, which slides along the steps"),
            None => "use a 1-D layer here, or Flatten the sequence first".into(),
        };
        self.error(
            format!(
                "{} works on images (height × width × channels), but its input is the sequence {} (steps × channels)",
                self.kind,
                self.input.hwc()
            ),
            fix,
            twin.map(|kind| QuickFix::UseKind {
                index: self.index,
                kind,
            }),
        )
    }

    /// The error for a 1-D layer (`what` it does along the steps) fed an image: offer its 2-D
    /// twin.
    pub fn wants_sequence(&self, what: &str) -> ArchError {
        let twin = self.twin("1D", "2D");
        let fix = match twin {
            Some(kind) => format!(
                "use {kind} for images, or feed it a sequence (an image's rows can be read as steps only by reshaping the data)"
            ),
            None => "feed it a sequence (steps × channels)".into(),
        };
        self.error(
            format!(
                "{} {what}, so it needs a sequence (steps × channels), but its input is the image {}",
                self.kind,
                self.input.hwc()
            ),
            fix,
            twin.map(|kind| QuickFix::UseKind {
                index: self.index,
                kind,
            }),
        )
    }

    /// This kind's name with `from` replaced by `to` (`Conv2D` → `Conv1D`), if such a kind exists.
    fn twin(&self, from: &str, to: &str) -> Option<&'static str> {
        let name = self.kind.strip_suffix(from).map(|stem| format!("{stem}{to}"))?;
        LayerSpec::KINDS.iter().find(|k| **k == name).copied()
    }

    /// One-click fix: remove this layer.
    pub fn remove(&self) -> Option<QuickFix> {
        Some(QuickFix::RemoveLayer { index: self.index })
    }

    /// Checks that a window (`name` = "kernel_size" or "pool_size") of `kernel` with `strides`
    /// and `padding` fits an `h`×`w` input at least once, and returns where it lands.
    pub fn window(
        &self,
        name: &str,
        (kh, kw): (usize, usize),
        (sh, sw): (usize, usize),
        padding: Padding,
        (h, w): (usize, usize),
    ) -> Result<Window, ArchError> {
        if kh == 0 || kw == 0 {
            return Err(self.error(
                format!("{name} is {kh}×{kw}; it must be at least 1×1"),
                "use 3×3, the most common size",
                None,
            ));
        }
        if sh == 0 || sw == 0 {
            return Err(self.error(
                format!("strides are {sh}×{sw}; they must be at least 1"),
                "use strides 1 (or 2 to halve the size)",
                None,
            ));
        }
        if padding == Padding::Causal {
            return Err(self.error(
                "padding 'causal' pads only the past of a sequence, so it exists for Conv1D, not for images",
                "use padding 'same' or 'valid'",
                Some(QuickFix::UsePaddingSame { index: self.index }),
            ));
        }
        Window::new(h, w, (kh, kw), (sh, sw), padding).ok_or_else(|| {
            let p = match padding {
                Padding::Explicit(p) => p,
                _ => 0,
            };
            let out = |n: usize, k: usize, s: usize| (n as i128 + 2 * p as i128 - k as i128).div_euclid(s as i128) + 1;
            let (oh, ow) = (out(h, kh, sh).max(0), out(w, kw, sw).max(0));
            let mut error = self.error(
                format!("input is {h}×{w} but {name} is {kh}×{kw}, so the output would be {oh}×{ow}"),
                format!("use padding 'same', a {name} that fits, or remove a pooling layer before it"),
                Some(QuickFix::UsePaddingSame { index: self.index }),
            );
            // The largest window that fits once with this padding.
            let padded = |n: usize| n.saturating_add(p.saturating_mul(2));
            let fit = (kh.min(padded(h)), kw.min(padded(w)));
            if let ArchError::Layer { quick_fixes, .. } = &mut error
                && fit.0 >= 1
                && fit.1 >= 1
                && fit != (kh, kw)
            {
                quick_fixes.push(QuickFix::FitWindow {
                    index: self.index,
                    name: if name == "pool_size" {
                        "pool_size"
                    } else {
                        "kernel_size"
                    },
                    size: fit,
                });
            }
            error
        })
    }
}

/// What a shape rule reports for one sample.
#[derive(Clone, Debug, PartialEq)]
pub struct Inferred {
    pub output: Shape,
    /// Parameters training updates (when the layer is trainable).
    pub weights: u64,
    /// Parameters training never updates (BatchNormalization's moving statistics).
    pub state: u64,
    /// The parameter count as the course writes it, e.g. `(5·5·3 + 1)·10 = 760`.
    pub params_formula: String,
    /// Multiply-accumulates per sample.
    pub macs: u64,
    /// Bytes kept per sample for the backward pass (argmax indices, masks).
    pub cache_bytes: u64,
    /// Scratch bytes per worker thread, whatever the batch size (im2col columns).
    pub workspace_bytes: u64,
}

impl Inferred {
    /// A layer without parameters that outputs `output`.
    pub fn shape(output: Shape) -> Self {
        Inferred {
            output,
            weights: 0,
            state: 0,
            params_formula: "0".into(),
            macs: 0,
            cache_bytes: 0,
            workspace_bytes: 0,
        }
    }
}

/// What building a runtime layer may draw on.
pub struct Init<'a> {
    /// Draws initial weights; layers take from it in order, so the seed fixes every weight.
    pub rng: &'a mut StdRng,
    /// The model's seed, for layers with a random stream of their own (Dropout).
    pub seed: u64,
    /// 0-based position in the layer list.
    pub index: usize,
}

/// One hyperparameter as the editor shows it. Names are the Keras argument names the user
/// reads in the course; widgets are named "layer N <name>" for screen readers and tests.
pub enum Field<'a> {
    /// A whole number from 1 to `max` (filters, units).
    Count {
        name: &'static str,
        value: &'a mut usize,
        max: usize,
        /// Change per pixel dragged.
        speed: f64,
        hint: Option<&'static str>,
    },
    /// Rows × columns (kernel, strides, pool).
    Pair {
        name: &'static str,
        value: &'a mut (usize, usize),
        max: usize,
    },
    /// Rows × columns that default to `default` when unset (pooling strides = pool_size).
    DefaultedPair {
        name: &'static str,
        value: &'a mut Option<(usize, usize)>,
        default: (usize, usize),
        max: usize,
    },
    /// A whole number that defaults to `default` when unset (1-D pooling strides = pool_size).
    DefaultedCount {
        name: &'static str,
        value: &'a mut Option<usize>,
        default: usize,
        max: usize,
        speed: f64,
        hint: Option<&'static str>,
    },
    /// A real number in a range (Dropout's rate, BatchNormalization's momentum).
    Number {
        name: &'static str,
        value: &'a mut f32,
        range: std::ops::RangeInclusive<f32>,
        speed: f64,
        decimals: usize,
        hint: Option<&'static str>,
    },
    Padding(&'a mut Padding),
    /// Conv1D's padding, as Keras offers it: valid, same or causal (only the past is read).
    CausalPadding(&'a mut Padding),
    Activation(&'a mut Activation),
    /// A switch, e.g. `use_bias` shown as "bias".
    Flag {
        label: &'static str,
        value: &'a mut bool,
        hint: Option<&'static str>,
    },
    /// `trainable`, shown inverted as "frozen".
    Trainable(&'a mut bool),
    /// A kind without settings says what it does instead.
    Note(&'static str),
}

/// The receptive field (rows, columns) and jump after a layer with `footprint`, given those
/// before it; `image_hw` is the model's input size.
pub fn receptive_field(
    footprint: Footprint,
    rf: (usize, usize),
    jump: (usize, usize),
    image_hw: (usize, usize),
) -> ((usize, usize), (usize, usize)) {
    match footprint {
        Footprint::Pointwise => (rf, jump),
        Footprint::Window { kernel, strides, .. } => (
            (rf.0 + (kernel.0 - 1) * jump.0, rf.1 + (kernel.1 - 1) * jump.1),
            (jump.0 * strides.0, jump.1 * strides.1),
        ),
        Footprint::Whole => (image_hw, jump),
    }
}

// Serde defaults and description pieces the kinds share.

pub(crate) fn yes() -> bool {
    true
}

pub(crate) fn is_true(v: &bool) -> bool {
    *v
}

pub(crate) fn one_by_one() -> (usize, usize) {
    (1, 1)
}

/// `(2, 2)` → `2`, `(3, 5)` → `3×5`.
pub(crate) fn pair((a, b): (usize, usize)) -> String {
    if a == b { format!("{a}") } else { format!("{a}×{b}") }
}

/// `, relu` after a description, nothing for linear.
pub(crate) fn with_activation(activation: Activation) -> String {
    match activation {
        Activation::Linear => String::new(),
        other => format!(", {}", other.keras_name()),
    }
}

/// Reads a bare variant name (`Flatten`) as the kind's only value.
pub(crate) fn unit_variant<'de, A: VariantAccess<'de>, T>(access: A, value: T) -> Result<T, A::Error> {
    access.unit_variant().map(|()| value)
}
