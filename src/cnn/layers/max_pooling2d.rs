//! MaxPooling2D: the largest value in each window; the gradient goes to the cell that won.
//!
//! # Shapes
//! x (N, C, H, W) → y (N, C, OH, OW); argmax (N, C, OH, OW) kept for the backward pass.

use super::pooling2d::{Pool2D, PoolGeom, PoolKind};
use super::{Layer, Mode, samples_per_task};
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;
use rayon::prelude::*;

/// Marks a [`Pool2D`] as `MaxPooling2D`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Max;

pub type MaxPooling2D = Pool2D<Max>;

impl PoolKind for Max {
    const NAME: &'static str = "MaxPooling2D";
    const NAME_1D: &'static str = "MaxPooling1D";
    const DOES: &'static str = "keeps the largest value of each window";
    /// The argmax index of every output value.
    const CACHE_BYTES_PER_OUTPUT: u64 = 4;

    fn build(geom: PoolGeom) -> Box<dyn Layer> {
        Box::new(MaxPool::from_geom(geom))
    }
}

/// 2×2 / stride 2 max pooling of one (C, H, W) sample without padding (an odd last row or column
/// is dropped, as `valid` does). Ties go to the first cell in row-major order, like the general path.
fn max_2x2(x: &[f32], c: usize, h: usize, w: usize, y: &mut [f32], arg: &mut [u32]) {
    let (oh, ow) = (h / 2, w / 2);
    let mut o = 0;
    for ci in 0..c {
        let base = ci * h * w;
        for oy in 0..oh {
            let r0 = base + 2 * oy * w;
            let r1 = r0 + w;
            for ox in 0..ow {
                let i = 2 * ox;
                let mut best = x[r0 + i];
                let mut at = r0 + i;
                for j in [r0 + i + 1, r1 + i, r1 + i + 1] {
                    if x[j] > best {
                        best = x[j];
                        at = j;
                    }
                }
                y[o] = best;
                arg[o] = at as u32;
                o += 1;
            }
        }
    }
}

const NO_INPUT: usize = u32::MAX as usize;

pub struct MaxPool {
    geom: PoolGeom,
    /// For every output value, the index within its sample of the input that won.
    argmax: Vec<u32>,
}

impl MaxPool {
    pub fn new(spec: &MaxPooling2D, input: Shape) -> Option<Self> {
        PoolGeom::new(spec, input).map(MaxPool::from_geom)
    }

    fn from_geom(geom: PoolGeom) -> Self {
        MaxPool {
            geom,
            argmax: Vec::new(),
        }
    }
}

impl Layer for MaxPool {
    fn kind(&self) -> &'static str {
        self.geom.name(Max::NAME, Max::NAME_1D)
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        let g = &self.geom;
        let n = x.batch();
        let (oh, ow) = g.win.out_hw();
        let (in_len, out_len) = (g.c * g.h * g.w, g.c * oh * ow);
        y.resize(n, g.output());
        self.argmax.resize(n * out_len, 0);
        let per_task = samples_per_task(n);
        y.data_mut()
            .par_chunks_mut(per_task * out_len)
            .zip(self.argmax.par_chunks_mut(per_task * out_len))
            .zip(x.data().par_chunks(per_task * in_len))
            .for_each(|((ys, args), xs)| {
                for ((y, arg), x) in ys
                    .chunks_exact_mut(out_len)
                    .zip(args.chunks_exact_mut(out_len))
                    .zip(xs.chunks_exact(in_len))
                {
                    if g.is_plain_2x2() {
                        max_2x2(x, g.c, g.h, g.w, y, arg);
                        continue;
                    }
                    let mut o = 0;
                    for ci in 0..g.c {
                        let base = ci * g.h * g.w;
                        for oy in 0..oh {
                            let rows = g.rows(oy);
                            for ox in 0..ow {
                                // Shape inference keeps windows from lying wholly in padding;
                                // if one ever did, it outputs 0 and passes no gradient.
                                let mut best = f32::NEG_INFINITY;
                                let mut at = NO_INPUT;
                                for iy in rows.clone() {
                                    for ix in g.cols(ox) {
                                        let i = base + iy * g.w + ix;
                                        if x[i] > best {
                                            best = x[i];
                                            at = i;
                                        }
                                    }
                                }
                                y[o] = if at == NO_INPUT { 0.0 } else { best };
                                arg[o] = at as u32;
                                o += 1;
                            }
                        }
                    }
                }
            });
    }

    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        let Some(dx) = dx else { return };
        let n = x.batch();
        let in_len = x.sample_len();
        let out_len = dy.sample_len();
        dx.resize(n, x.shape());
        let per_task = samples_per_task(n);
        dx.data_mut()
            .par_chunks_mut(per_task * in_len)
            .zip(dy.data().par_chunks(per_task * out_len))
            .zip(self.argmax.par_chunks(per_task * out_len))
            .for_each(|((dxs, dys), args)| {
                dxs.fill(0.0);
                for ((dx, dy), arg) in dxs
                    .chunks_exact_mut(in_len)
                    .zip(dys.chunks_exact(out_len))
                    .zip(args.chunks_exact(out_len))
                {
                    for (&g, &a) in dy.iter().zip(arg) {
                        if let Some(d) = dx.get_mut(a as usize) {
                            *d += g;
                        }
                    }
                }
            });
    }
}
