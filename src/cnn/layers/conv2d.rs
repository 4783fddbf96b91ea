//! Conv2D: every filter spans all input channels; im2col turns the convolution into one matrix
//! product per sample, in the forward pass and in both gradients. Stride-1 3×3 layers compute
//! the forward pass and both gradients with Winograd F(4×4, 3×3) instead where it pays
//! (`crate::cnn::winograd`).
//!
//! # Shapes
//! x (N, C, H, W) → y (N, F, OH, OW); kernel (F, C, KH, KW); bias (F).
//! With K = C·KH·KW and P = OH·OW: cols (K, P) per sample, y_n = kernel (F, K) · cols (K, P).

use crate::cnn::aligned::AlignedVec;
use crate::cnn::activation::{self, Layout};
use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind};
use super::{Layer, Mode, Param, ParamKind, samples_per_task};
use crate::cnn::error::{ArchError, QuickFix};
use super::im2col::{col2im, im2col};
use crate::cnn::gemm::{Isa, Op, sgemm_with};
use crate::cnn::geometry::Window;
use crate::cnn::init;
use crate::cnn::numbers::group_digits;
use crate::cnn::shape::Shape;
use crate::cnn::activation::Activation;
use super::kind::{is_true, one_by_one, pair, with_activation, yes};
use crate::cnn::geometry::Padding;
use crate::cnn::init::Initializer;
use crate::cnn::tensor::Tensor;
use crate::cnn::simd;
use crate::cnn::direct;
use crate::cnn::conv_algo::ConvAlgo;
use crate::cnn::winograd::{self, Geometry, WeightWorkspace, Workspace};
use rand::rngs::StdRng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

mod forward;

/// `Conv2D(filters, kernel_size, strides=(1, 1), padding='valid', activation=None,
/// use_bias=True, kernel_initializer='glorot_uniform')`, as in Keras.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conv2D {
    pub filters: usize,
    /// (height, width)
    pub kernel_size: (usize, usize),
    #[serde(default = "one_by_one")]
    pub strides: (usize, usize),
    #[serde(default)]
    pub padding: Padding,
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

impl Conv2D {
    pub fn new(filters: usize, kernel: usize) -> Self {
        Conv2D {
            filters,
            kernel_size: (kernel, kernel),
            strides: (1, 1),
            padding: Padding::Valid,
            activation: Activation::Linear,
            use_bias: true,
            kernel_initializer: Initializer::GlorotUniform,
            trainable: true,
        }
    }
    pub fn same(mut self) -> Self {
        self.padding = Padding::Same;
        self
    }
    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }
    pub fn strides(mut self, s: usize) -> Self {
        self.strides = (s, s);
        self
    }
    pub fn relu(mut self) -> Self {
        self.activation = Activation::Relu;
        self
    }
}

impl LayerKind for Conv2D {
    fn describe(&self) -> String {
        format!(
            "Conv2D({}, {}×{}, strides {}, padding {}{})",
            self.filters,
            self.kernel_size.0,
            self.kernel_size.1,
            pair(self.strides),
            self.padding.keras_name(),
            with_activation(self.activation)
        )
    }

    fn family(&self) -> Family {
        Family::Convolution
    }

    fn footprint(&self) -> Footprint {
        Footprint::Window {
            kernel: self.kernel_size,
            strides: self.strides,
            padding: self.padding,
        }
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        if at.input.is_sequence() {
            return Err(at.wants_image());
        }
        let Shape::Image { c, h, w } = at.input else {
            return Err(at.error(
                format!(
                    "Conv2D slides over an image, but its input is a flat vector of {}",
                    at.input.len()
                ),
                "move it before Flatten / Dense, or remove it",
                at.remove(),
            ));
        };
        if self.filters == 0 {
            return Err(at.error(
                "filters is 0, so the layer would output nothing",
                "use at least 1 filter (8, 16, 32 are common)",
                None,
            ));
        }
        let win = at.window("kernel_size", self.kernel_size, self.strides, self.padding, (h, w))?;
        let (oh, ow) = win.out_hw();
        let (kh, kw) = self.kernel_size;
        let filters = self.filters as u64;
        let fan_in = (kh as u64).saturating_mul(kw as u64).saturating_mul(c as u64);
        let weights = fan_in.saturating_mul(filters);
        let params = weights.saturating_add(if self.use_bias { filters } else { 0 });
        let params_formula = if self.use_bias {
            format!("({kh}·{kw}·{c} + 1)·{} = {}", self.filters, group_digits(params))
        } else {
            format!("{kh}·{kw}·{c}·{} = {}", self.filters, group_digits(params))
        };
        Ok(Inferred {
            weights: params,
            params_formula,
            macs: (oh as u64).saturating_mul(ow as u64).saturating_mul(weights),
            // im2col columns: one (K, P) buffer per thread, forward and backward.
            workspace_bytes: (oh as u64).saturating_mul(ow as u64).saturating_mul(fan_in).saturating_mul(4),
            ..Inferred::shape(Shape::image(oh, ow, self.filters))
        })
    }

    fn build(&self, input: Shape, init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        Conv2DLayer::new(self, input, init.rng).map(|l| Box::new(l) as Box<dyn Layer>)
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
            Field::Pair {
                name: "kernel",
                value: &mut self.kernel_size,
                max: 99,
            },
            Field::Pair {
                name: "strides",
                value: &mut self.strides,
                max: 16,
            },
            Field::Padding(&mut self.padding),
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
            QuickFix::FitWindow { size, .. } => {
                self.kernel_size = *size;
                true
            }
            _ => false,
        }
    }

    fn has_image_filters(&self) -> bool {
        true
    }

    fn palette_default() -> Self {
        Conv2D::new(16, 3).relu()
    }
}

/// The runtime convolution: Conv2D, and Conv1D as one row of `steps` (see `conv1d.rs`).
pub struct Conv2DLayer {
    /// "Conv2D" or "Conv1D".
    kind: &'static str,
    /// Conv1D: Winograd never applies.
    sequence: bool,
    c: usize,
    h: usize,
    w: usize,
    filters: usize,
    win: Window,
    /// (F, OH, OW) as an image, or (F, OW) as a sequence for Conv1D.
    output: Shape,
    act: Activation,
    use_bias: bool,
    trainable: bool,
    kernel: Param,
    bias: Param,
    /// The forward pass's buffers, one per task.
    tasks: Vec<forward::TaskWorkspace>,
    /// The kernel's Winograd transform for the forward pass, `U[36][out][in]`, and the kernel
    /// it was made from: kept while the kernel is unchanged (inference on one image at a time
    /// would otherwise spend most of its time transforming filters).
    wino_forward: Vec<f32>,
    wino_forward_of: Vec<f32>,
    /// The transform for the input gradient (the kernel changes every training step).
    wino_filters: Vec<f32>,
    /// Per-task scratch for the backward pass.
    scratch: Vec<Scratch>,
    /// The direct method's packed filters (forward pass, input gradient; packed per call, a
    /// few thousand values).
    direct_filters: Vec<f32>,
}

#[derive(Default)]
struct Scratch {
    cols: AlignedVec,
    dcols: AlignedVec,
    dkernel: Vec<f32>,
    dbias: Vec<f32>,
    wino: Workspace,
    /// Buffers of the Winograd kernel gradient.
    wino_weights: WeightWorkspace,
    direct: direct::Workspace,
    direct_weights: direct::WeightWorkspace,
}

/// What a convolution is built from, whichever kind's config it comes from.
pub(crate) struct ConvSetup {
    pub kind: &'static str,
    /// Conv1D: the input and output are sequences (one row of steps), not images.
    pub sequence: bool,
    /// Input (C, H, W); a sequence is one row: (C, 1, steps).
    pub input: (usize, usize, usize),
    pub win: Window,
    pub filters: usize,
    /// The kernel's dimensions as saved: (F, C, KH, KW), or (F, C, K) for Conv1D.
    pub kernel_dims: Vec<usize>,
    pub activation: Activation,
    pub use_bias: bool,
    pub trainable: bool,
    pub initializer: Initializer,
}

impl Conv2DLayer {
    /// Builds the layer for an (H, W, C) input; the spec must already have passed shape inference.
    pub fn new(spec: &Conv2D, input: Shape, rng: &mut StdRng) -> Option<Self> {
        let Shape::Image { c, h, w } = input else {
            return None;
        };
        let (kh, kw) = spec.kernel_size;
        let setup = ConvSetup {
            kind: "Conv2D",
            sequence: false,
            input: (c, h, w),
            win: Window::new(h, w, spec.kernel_size, spec.strides, spec.padding)?,
            filters: spec.filters,
            kernel_dims: vec![spec.filters, c, kh, kw],
            activation: spec.activation,
            use_bias: spec.use_bias,
            trainable: spec.trainable,
            initializer: spec.kernel_initializer,
        };
        Some(Self::from_setup(setup, rng))
    }

    /// Draws the kernel (Glorot/He fans k·c_in and k·filters, k the taps of one filter) and
    /// zero biases.
    pub(crate) fn from_setup(setup: ConvSetup, rng: &mut StdRng) -> Self {
        let (c, h, w) = setup.input;
        let win = setup.win;
        let taps = win.kh * win.kw;
        let mut kernel = Param::new("kernel", setup.kernel_dims, ParamKind::Weight);
        init::fill(setup.initializer, &mut kernel.value, taps * c, taps * setup.filters, rng);
        let bias_len = if setup.use_bias { setup.filters } else { 0 };
        let output = if setup.sequence {
            Shape::sequence(win.cols.out, setup.filters)
        } else {
            Shape::image(win.rows.out, win.cols.out, setup.filters)
        };
        Conv2DLayer {
            kind: setup.kind,
            sequence: setup.sequence,
            c,
            h,
            w,
            filters: setup.filters,
            win,
            output,
            act: setup.activation,
            use_bias: setup.use_bias,
            trainable: setup.trainable,
            kernel,
            bias: Param::new("bias", vec![bias_len], ParamKind::Bias),
            tasks: Vec::new(),
            wino_forward: Vec::new(),
            wino_forward_of: Vec::new(),
            wino_filters: Vec::new(),
            scratch: Vec::new(),
            direct_filters: Vec::new(),
        }
    }

    fn k(&self) -> usize {
        self.c * self.win.kh * self.win.kw
    }

    fn p(&self) -> usize {
        self.win.rows.out * self.win.cols.out
    }

    pub fn output_shape(&self) -> Shape {
        self.output
    }

    pub fn kernel(&self) -> &Param {
        &self.kernel
    }

    /// The algorithm of a correlation from `c_in` to `c_out` channels over this layer's window
    /// (the forward pass: C → F; the input gradient: F → C).
    fn algo(&self, c_in: usize, c_out: usize) -> ConvAlgo {
        if self.sequence {
            ConvAlgo::choose_sequence(&self.win)
        } else {
            ConvAlgo::choose(&self.win, c_in, c_out)
        }
    }

    /// The algorithm of the kernel gradient (a correlation of the input with the output
    /// gradient, whose cost grows with the input channels).
    fn kernel_algo(&self) -> ConvAlgo {
        ConvAlgo::choose_kernel_gradient(&self.win, self.c, self.filters)
    }

    /// `algo`, or im2col where it does not apply.
    fn feasible(&self, algo: ConvAlgo) -> ConvAlgo {
        if algo.applies(&self.win) { algo } else { ConvAlgo::Im2col }
    }
}

impl Conv2DLayer {
    /// The backward pass with both gradients by `algo` (im2col where Winograd does not apply),
    /// products on `isa`.
    pub(crate) fn backward_with(
        &mut self,
        algo: ConvAlgo,
        isa: Isa,
        x: &Tensor,
        y: &Tensor,
        dy: &mut Tensor,
        dx: Option<&mut Tensor>,
    ) {
        self.backward_by((algo, algo), isa, x, y, dy, dx);
    }

    /// The backward pass: the input gradient by `algos.0`, the kernel gradient by `algos.1`
    /// (im2col where Winograd does not apply), products on `isa`.
    fn backward_by(
        &mut self,
        (input_algo, kernel_algo): (ConvAlgo, ConvAlgo),
        isa: Isa,
        x: &Tensor,
        y: &Tensor,
        dy: &mut Tensor,
        dx: Option<&mut Tensor>,
    ) {
        let n = x.batch();
        let (k, p, f) = (self.k(), self.p(), self.filters);
        let (c, h, w) = (self.c, self.h, self.w);
        let chw = c * h * w;
        let per_task = samples_per_task(n);
        let tasks = n.div_ceil(per_task);
        let want_params = self.trainable;
        if self.scratch.len() < tasks {
            self.scratch.resize_with(tasks, Scratch::default);
        }
        let (input_algo, kernel_algo) = (self.feasible(input_algo), self.feasible(kernel_algo));
        // The correlations Winograd and the direct method compute: the kernel gradient reads
        // the forward one's input; the input gradient is the "full" correlation of dy.
        let forward = Geometry::forward(&self.win, c, h, w, f);
        let backward = Geometry::input_gradient(&self.win, c, h, w, f);
        match input_algo {
            _ if dx.is_none() => {}
            ConvAlgo::Winograd => winograd::filters_input_gradient(&self.kernel.value, f, c, &mut self.wino_filters),
            ConvAlgo::Direct => direct::pack_input_gradient(&self.kernel.value, &backward, &mut self.direct_filters),
            ConvAlgo::Im2col => {}
        }
        let (u, direct_filters) = (&self.wino_filters, &self.direct_filters);
        let (kernel, win, act, use_bias) = (&self.kernel.value, &self.win, self.act, self.use_bias);
        let layout = Layout { channels: f, inner: p };
        // One task's samples: dy, y, x, dx (when wanted) and its scratch.
        let task = |dys: &mut [f32], ys: &[f32], xs: &[f32], dxs: Option<&mut [f32]>, scratch: &mut Scratch| {
            activation::backward_inplace(act, ys, dys, layout);
            if want_params {
                // dkernel (F, K) = Σ_n dy_n (F, P) · cols_nᵀ (P, K); dbias = Σ_n Σ_p dy_n.
                scratch.dkernel.resize(f * k, 0.0);
                scratch.dbias.clear();
                scratch.dbias.resize(f, 0.0);
                let dkernel = &mut scratch.dkernel;
                match kernel_algo {
                    // Winograd: the forward correlation's tiles, transposed; the bias gradient
                    // comes with it, from the transformed output gradients.
                    ConvAlgo::Winograd => {
                        let dbias = if use_bias { &mut scratch.dbias[..] } else { &mut [] };
                        winograd::kernel_gradient(isa, &forward, xs, dys, dkernel, dbias, &mut scratch.wino_weights)
                    }
                    ConvAlgo::Direct => direct::kernel_gradient(isa, &forward, xs, dys, dkernel, &mut scratch.direct_weights),
                    ConvAlgo::Im2col => scratch.cols.resize(k * p, 0.0),
                }
                for (i, (dy, x)) in dys.chunks_exact(f * p).zip(xs.chunks_exact(chw)).enumerate() {
                    if kernel_algo == ConvAlgo::Im2col {
                        im2col(x, c, h, w, win, &mut scratch.cols);
                        let dkernel = &mut scratch.dkernel;
                        sgemm_with(isa, f, k, p, dy, Op::N, &scratch.cols, Op::T, dkernel, i > 0, false);
                    }
                    if use_bias && kernel_algo != ConvAlgo::Winograd {
                        for (db, row) in scratch.dbias.iter_mut().zip(dy.chunks_exact(p)) {
                            *db += simd::sum(row);
                        }
                    }
                }
            }
            match (dxs, input_algo) {
                (Some(dxs), ConvAlgo::Winograd) => {
                    // dx = dy ⋆ (kernel rotated by 180°, channels swapped), "full" padding.
                    winograd::correlate(isa, &backward, u, dys, dxs, &[], &mut scratch.wino, |_| {});
                }
                (Some(dxs), ConvAlgo::Direct) => {
                    direct::correlate(isa, &backward, direct_filters, dys, dxs, &[], &mut scratch.direct, |_| {});
                }
                (Some(dxs), ConvAlgo::Im2col) => {
                    // dcols (K, P) = kernelᵀ (K, F) · dy_n (F, P), then scattered back onto the image.
                    scratch.dcols.resize(k * p, 0.0);
                    for (dy, dx) in dys.chunks_exact(f * p).zip(dxs.chunks_exact_mut(chw)) {
                        sgemm_with(isa, k, p, f, kernel, Op::T, dy, Op::N, &mut scratch.dcols, false, false);
                        col2im(&scratch.dcols, c, h, w, win, dx);
                    }
                }
                (None, ..) => {}
            }
        };
        let inputs = dy
            .data_mut()
            .par_chunks_mut(per_task * f * p)
            .zip(y.data().par_chunks(per_task * f * p))
            .zip(x.data().par_chunks(per_task * chw));
        let scratch = self.scratch[..tasks].par_iter_mut();
        match dx {
            Some(dx) => {
                dx.resize(n, x.shape());
                inputs
                    .zip(dx.data_mut().par_chunks_mut(per_task * chw))
                    .zip(scratch)
                    .for_each(|((((dys, ys), xs), dxs), s)| task(dys, ys, xs, Some(dxs), s));
            }
            None => inputs
                .zip(scratch)
                .for_each(|(((dys, ys), xs), s)| task(dys, ys, xs, None, s)),
        }
        if want_params {
            // Partial sums are added in task order, so the result is the same on every run.
            self.kernel.grad.fill(0.0);
            self.bias.grad.fill(0.0);
            for s in &self.scratch[..tasks] {
                self.kernel.grad.iter_mut().zip(&s.dkernel).for_each(|(g, d)| *g += d);
                if use_bias {
                    self.bias.grad.iter_mut().zip(&s.dbias).for_each(|(g, d)| *g += d);
                }
            }
        }
    }
}

impl Layer for Conv2DLayer {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        let algo = self.algo(self.c, self.filters);
        self.forward_with(algo, Isa::active(), x, y);
    }

    fn forward_pooled(&mut self, x: &Tensor, y: &mut Tensor) -> bool {
        let algo = self.algo(self.c, self.filters);
        self.forward_pooled_with(algo, Isa::active(), x, y)
    }

    fn backward(&mut self, x: &Tensor, y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        let algos = (self.algo(self.filters, self.c), self.kernel_algo());
        self.backward_by(algos, Isa::active(), x, y, dy, dx);
    }

    fn params(&self) -> Vec<&Param> {
        if self.use_bias {
            vec![&self.kernel, &self.bias]
        } else {
            vec![&self.kernel]
        }
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        if self.use_bias {
            vec![&mut self.kernel, &mut self.bias]
        } else {
            vec![&mut self.kernel]
        }
    }

    fn for_each_param(&self, f: &mut dyn FnMut(&Param)) {
        f(&self.kernel);
        if self.use_bias {
            f(&self.bias);
        }
    }

    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&mut Param)) {
        f(&mut self.kernel);
        if self.use_bias {
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
