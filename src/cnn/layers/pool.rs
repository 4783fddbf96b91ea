//! MaxPooling2D, AveragePooling2D and GlobalAveragePooling2D.
//!
//! # Shapes
//! x (N, C, H, W) → y (N, C, OH, OW); global pooling → y (N, C).
//! With `same` padding, windows are clipped to the image (TensorFlow): max pooling never picks a
//! padded cell and average pooling divides by the number of real cells.

use super::{Layer, Mode, samples_per_task};
use crate::cnn::geometry::Window;
use crate::cnn::shape::Shape;
use crate::cnn::spec::Pool2D;
use crate::cnn::tensor::Tensor;
use rayon::prelude::*;
use std::ops::Range;

/// The clipped input rows (or columns) seen by output position `o` along one axis.
fn span(o: usize, s: usize, k: usize, pad: usize, n: usize) -> Range<usize> {
    let start = (o * s) as isize - pad as isize;
    let lo = (start.max(0) as usize).min(n);
    let hi = ((start + k as isize).max(0) as usize).min(n);
    lo..hi.max(lo)
}

/// Geometry shared by both pooling kinds.
struct PoolGeom {
    c: usize,
    h: usize,
    w: usize,
    win: Window,
}

impl PoolGeom {
    fn new(spec: &Pool2D, input: Shape) -> Option<Self> {
        let Shape::Image { c, h, w } = input else {
            return None;
        };
        let win = Window::new(h, w, spec.pool_size, spec.effective_strides(), spec.padding)?;
        Some(PoolGeom { c, h, w, win })
    }

    fn output(&self) -> Shape {
        Shape::image(self.win.rows.out, self.win.cols.out, self.c)
    }

    fn rows(&self, oy: usize) -> Range<usize> {
        span(oy, self.win.sh, self.win.kh, self.win.rows.pad_before, self.h)
    }

    fn cols(&self, ox: usize) -> Range<usize> {
        span(ox, self.win.sw, self.win.kw, self.win.cols.pad_before, self.w)
    }

    /// The common 2×2, stride 2, unpadded window, which has a branch-light fast path.
    fn is_plain_2x2(&self) -> bool {
        let w = &self.win;
        (w.kh, w.kw, w.sh, w.sw) == (2, 2, 2, 2)
            && [w.rows.pad_before, w.rows.pad_after, w.cols.pad_before, w.cols.pad_after] == [0; 4]
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
    pub fn new(spec: &Pool2D, input: Shape) -> Option<Self> {
        Some(MaxPool {
            geom: PoolGeom::new(spec, input)?,
            argmax: Vec::new(),
        })
    }
}

impl Layer for MaxPool {
    fn kind(&self) -> &'static str {
        "MaxPooling2D"
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

pub struct AvgPool {
    geom: PoolGeom,
}

impl AvgPool {
    pub fn new(spec: &Pool2D, input: Shape) -> Option<Self> {
        Some(AvgPool {
            geom: PoolGeom::new(spec, input)?,
        })
    }
}

impl Layer for AvgPool {
    fn kind(&self) -> &'static str {
        "AveragePooling2D"
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        let g = &self.geom;
        let n = x.batch();
        let (oh, ow) = g.win.out_hw();
        let (in_len, out_len) = (g.c * g.h * g.w, g.c * oh * ow);
        y.resize(n, g.output());
        y.data_mut()
            .par_chunks_mut(out_len)
            .zip(x.data().par_chunks(in_len))
            .for_each(|(y, x)| {
                let mut o = 0;
                for ci in 0..g.c {
                    let plane = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
                    for oy in 0..oh {
                        let rows = g.rows(oy);
                        for ox in 0..ow {
                            let cols = g.cols(ox);
                            let count = (rows.len() * cols.len()).max(1) as f32;
                            let sum: f32 = rows
                                .clone()
                                .map(|iy| plane[iy * g.w + cols.start..iy * g.w + cols.end].iter().sum::<f32>())
                                .sum();
                            y[o] = sum / count;
                            o += 1;
                        }
                    }
                }
            });
    }

    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        let Some(dx) = dx else { return };
        let g = &self.geom;
        let n = x.batch();
        let (oh, ow) = g.win.out_hw();
        let (in_len, out_len) = (g.c * g.h * g.w, g.c * oh * ow);
        dx.resize(n, x.shape());
        dx.data_mut()
            .par_chunks_mut(in_len)
            .zip(dy.data().par_chunks(out_len))
            .for_each(|(dx, dy)| {
                dx.fill(0.0);
                let mut o = 0;
                for ci in 0..g.c {
                    let plane = &mut dx[ci * g.h * g.w..(ci + 1) * g.h * g.w];
                    for oy in 0..oh {
                        let rows = g.rows(oy);
                        for ox in 0..ow {
                            let cols = g.cols(ox);
                            let share = dy[o] / (rows.len() * cols.len()).max(1) as f32;
                            for iy in rows.clone() {
                                plane[iy * g.w + cols.start..iy * g.w + cols.end]
                                    .iter_mut()
                                    .for_each(|v| *v += share);
                            }
                            o += 1;
                        }
                    }
                }
            });
    }
}

/// The mean of each feature map: (N, C, H, W) → (N, C).
pub struct GlobalAvgPool {
    c: usize,
    hw: usize,
}

impl GlobalAvgPool {
    pub fn new(input: Shape) -> Option<Self> {
        let Shape::Image { c, h, w } = input else {
            return None;
        };
        Some(GlobalAvgPool { c, hw: h * w })
    }
}

impl Layer for GlobalAvgPool {
    fn kind(&self) -> &'static str {
        "GlobalAveragePooling2D"
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        y.resize(x.batch(), Shape::flat(self.c));
        let hw = self.hw;
        y.data_mut()
            .iter_mut()
            .zip(x.data().chunks_exact(hw))
            .for_each(|(y, plane)| *y = plane.iter().sum::<f32>() / hw as f32);
    }

    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        let Some(dx) = dx else { return };
        dx.resize(x.batch(), x.shape());
        let hw = self.hw;
        dx.data_mut()
            .chunks_exact_mut(hw)
            .zip(dy.data())
            .for_each(|(plane, g)| plane.fill(g / hw as f32));
    }
}
