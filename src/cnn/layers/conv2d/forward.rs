//! The Conv2D forward pass: each task (one contiguous run of the batch per thread) computes its
//! samples by im2col, Winograd or the direct method, adding the bias and applying the
//! activation sample by sample while the output is in cache.
//!
//! In inference, a Conv2D followed by a 2×2 / stride-2 max pool (a Conv1D by a 2-step one) can
//! run as one pass
//! ([`Layer::forward_pooled`](super::super::Layer::forward_pooled)): a few samples at a time go
//! into a buffer that stays in cache and are pooled from there, so the full-size output is never
//! written to memory and read back (the pools had been a quarter of LeNet's inference). The
//! pool makes the pooling layer's values without the winners' positions (nothing goes back
//! through it), bitwise the unfused result. The direct method goes further: it pools each
//! sample straight from its wide output, which is never compacted.

use super::Conv2DLayer;
use crate::cnn::activation::{self, Activation, Layout};
use crate::cnn::aligned::AlignedVec;
use crate::cnn::conv_algo::ConvAlgo;
use crate::cnn::direct;
use crate::cnn::gemm::{Isa, Op, sgemm_with};
use crate::cnn::geometry::Window;
use crate::cnn::layers::im2col::im2col;
use crate::cnn::layers::max_pooling2d::{Planes, max_2x2_values_on, max_pair_values_on};
use crate::cnn::layers::samples_per_task;
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;
use crate::cnn::winograd::{self, Geometry, Workspace};
use rayon::prelude::*;

/// Bytes of the unpooled outputs a fused task computes before pooling them: a quarter of a
/// 1 MiB L2 cache, beside the Winograd or direct workspace.
const RUN_BYTES: usize = 1 << 18;

/// Per-task buffers of the forward pass, grown to the largest call and never shrunk.
#[derive(Default)]
pub(super) struct TaskWorkspace {
    /// im2col columns of one sample, (K, P).
    cols: AlignedVec,
    wino: Workspace,
    direct: direct::Workspace,
    /// A run of samples' outputs before the fused pool.
    unpooled: AlignedVec,
}

/// What every task reads: the algorithm, its prepared filters and the layer's sizes.
struct Pass<'a> {
    algo: ConvAlgo,
    isa: Isa,
    geo: Geometry,
    /// The Winograd-transformed filters, or the direct method's packed ones.
    prepared: &'a [f32],
    kernel: &'a [f32],
    bias: &'a [f32],
    act: Activation,
    win: &'a Window,
    /// Values per im2col column (C·KH·KW) and output positions.
    k: usize,
    p: usize,
    /// Fewer samples than threads (one image in a room): each product splits its rows instead.
    split: bool,
}

impl Pass<'_> {
    /// The outputs `ys` of the samples `xs`, bias added and activation applied.
    fn run(&self, xs: &[f32], ys: &mut [f32], ws: &mut TaskWorkspace) {
        let (c, h, w, f) = (self.geo.ci, self.geo.h, self.geo.w, self.geo.co);
        let (act, layout) = (self.act, Layout { channels: f, inner: self.p });
        let finish = |y: &mut [f32]| activation::forward_inplace(act, y, layout);
        match self.algo {
            ConvAlgo::Winograd => {
                winograd::correlate(self.isa, &self.geo, self.prepared, xs, ys, self.bias, &mut ws.wino, finish)
            }
            ConvAlgo::Direct => {
                direct::correlate(self.isa, &self.geo, self.prepared, xs, ys, self.bias, &mut ws.direct, finish)
            }
            ConvAlgo::Im2col => {
                // One column buffer per task, reused sample after sample: it stays in cache
                // between im2col and the product. (Keeping every sample's columns for the
                // backward pass would stream the whole batch's columns through memory twice;
                // recomputing them is cheaper.)
                ws.cols.resize(self.k * self.p, 0.0);
                for (y, x) in ys.chunks_exact_mut(f * self.p).zip(xs.chunks_exact(c * h * w)) {
                    im2col(x, c, h, w, self.win, &mut ws.cols);
                    sgemm_with(self.isa, f, self.p, self.k, self.kernel, Op::N, &ws.cols, Op::N, y, false, self.split);
                    // Bias and activation in one pass while the output is still in cache.
                    for (row, &b) in y.chunks_exact_mut(self.p).zip(self.bias) {
                        row.iter_mut().for_each(|v| *v += b);
                    }
                    finish(y);
                }
            }
        }
    }
}

impl Pass<'_> {
    /// Whether [`Self::run_pooled_wide`] computes this pass: the direct method, with an
    /// activation of each value on its own (softmax reads across channels).
    fn pools_wide(&self) -> bool {
        self.algo == ConvAlgo::Direct && self.act != Activation::Softmax
    }

    /// The plain max pools `ys` (`pooled` values each) of the samples `xs`' outputs by the
    /// direct method, each pooled from its wide output in place: activated plane by plane (the
    /// values between the rows too, which nothing reads), then pooled, bitwise
    /// [`Self::run`] followed by the pool.
    fn run_pooled_wide(&self, xs: &[f32], ys: &mut [f32], pooled: usize, sequence: bool, ws: &mut TaskWorkspace) {
        let g = &self.geo;
        let (row, plane) = g.wide_strides();
        let planes = Planes { c: g.co, h: g.oh, w: g.ow, row, plane };
        let (act, layout) = (self.act, Layout { channels: 1, inner: g.oh * row });
        let mut ys = ys.chunks_exact_mut(pooled);
        direct::correlate_wide(self.isa, g, self.prepared, xs, self.bias, &mut ws.direct, |wide| {
            for values in wide.chunks_mut(plane).take(g.co) {
                activation::forward_inplace(act, &mut values[..layout.inner], layout);
            }
            pool_values(sequence, wide, planes, ys.next().expect("one pooled output per sample"));
        });
    }
}

/// The plain max pool's values of one sample's `planes` in `x` into `y`: pairs of steps on a
/// sequence, 2×2 windows on an image.
fn pool_values(sequence: bool, x: &[f32], planes: Planes, y: &mut [f32]) {
    match sequence {
        true => max_pair_values_on(Isa::active(), x, planes, y),
        false => max_2x2_values_on(Isa::active(), x, planes, y),
    }
}

impl Conv2DLayer {
    /// The forward pass by `algo` (im2col where it does not apply), products on `isa`.
    pub(crate) fn forward_with(&mut self, algo: ConvAlgo, isa: Isa, x: &Tensor, y: &mut Tensor) {
        y.resize(x.batch(), self.output_shape());
        self.forward_tasks(algo, isa, x, y.data_mut(), None);
    }

    /// The output shape of this layer followed by a plain max pool (2×2, stride 2 on images;
    /// 2 steps, stride 2 on sequences; no padding), or `None` for an output smaller than one
    /// window.
    pub(super) fn pooled_shape(&self) -> Option<Shape> {
        let (oh, ow, f) = (self.win.rows.out, self.win.cols.out, self.filters);
        match self.sequence {
            true => (ow >= 2).then(|| Shape::sequence(ow / 2, f)),
            false => (oh >= 2 && ow >= 2).then(|| Shape::image(oh / 2, ow / 2, f)),
        }
    }

    /// [`Self::forward_with`] followed by a plain max pool, into `y` (the layer's own output is
    /// not kept). `false` (nothing done) where [`Self::pooled_shape`] has none.
    pub(crate) fn forward_pooled_with(&mut self, algo: ConvAlgo, isa: Isa, x: &Tensor, y: &mut Tensor) -> bool {
        let Some(shape) = self.pooled_shape() else {
            return false;
        };
        y.resize(x.batch(), shape);
        self.forward_tasks(algo, isa, x, y.data_mut(), Some(shape.len()));
        true
    }

    /// The forward pass of every task into `y`: the layer's outputs, or, given the pooled
    /// length of a sample, their plain max pools.
    fn forward_tasks(&mut self, algo: ConvAlgo, isa: Isa, x: &Tensor, y: &mut [f32], pooled: Option<usize>) {
        let algo = self.feasible(algo);
        let (c, h, w, f) = (self.c, self.h, self.w, self.filters);
        let geo = Geometry::forward(&self.win, c, h, w, f);
        match algo {
            // The transform is kept while the kernel is unchanged (inference on one image at a
            // time would otherwise spend most of its time transforming filters).
            ConvAlgo::Winograd if self.wino_forward_of != self.kernel.value => {
                winograd::filters_forward(&self.kernel.value, f, c, &mut self.wino_forward);
                self.wino_forward_of.clear();
                self.wino_forward_of.extend_from_slice(&self.kernel.value);
            }
            // Packed per call: a few thousand values.
            ConvAlgo::Direct => direct::pack_forward(&self.kernel.value, &geo, &mut self.direct_filters),
            _ => {}
        }
        let n = x.batch();
        let per_task = samples_per_task(n);
        let tasks = n.div_ceil(per_task);
        if self.tasks.len() < tasks {
            self.tasks.resize_with(tasks, TaskWorkspace::default);
        }
        let (k, p) = (self.k(), self.p());
        let pass = Pass {
            algo,
            isa,
            geo,
            prepared: if algo == ConvAlgo::Winograd { &self.wino_forward } else { &self.direct_filters },
            kernel: &self.kernel.value,
            bias: &self.bias.value,
            act: self.act,
            win: &self.win,
            k,
            p,
            split: n < rayon::current_num_threads(),
        };
        let (oh, ow, sequence) = (self.win.rows.out, self.win.cols.out, self.sequence);
        let (chw, out_len) = (c * h * w, f * p);
        let y_len = pooled.unwrap_or(out_len);
        let run = (RUN_BYTES / (4 * out_len).max(1)).max(1);
        y.par_chunks_mut(per_task * y_len)
            .zip(x.data().par_chunks(per_task * chw))
            .zip(self.tasks[..tasks].par_iter_mut())
            .for_each(|((ys, xs), ws)| {
                let Some(pooled_len) = pooled else {
                    return pass.run(xs, ys, ws);
                };
                if pass.pools_wide() {
                    return pass.run_pooled_wide(xs, ys, pooled_len, sequence, ws);
                }
                let mut unpooled = std::mem::take(&mut ws.unpooled);
                for (xs, ys) in xs.chunks(run * chw).zip(ys.chunks_mut(run * pooled_len)) {
                    unpooled.resize(xs.len() / chw * out_len, 0.0);
                    pass.run(xs, &mut unpooled, ws);
                    for (u, y) in unpooled.chunks_exact(out_len).zip(ys.chunks_exact_mut(pooled_len)) {
                        // A sequence's output is one row (OH = 1).
                        pool_values(sequence, u, Planes::packed(f, oh, ow), y);
                    }
                }
                ws.unpooled = unpooled;
            });
    }
}
