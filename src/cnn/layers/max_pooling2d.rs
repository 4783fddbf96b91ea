//! MaxPooling2D: the largest value in each window; the gradient goes to the cell that won.
//!
//! # Shapes
//! x (N, C, H, W) → y (N, C, OH, OW); argmax (N, C, OH, OW) kept for the backward pass.

use super::pooling2d::{Pool2D, PoolGeom, PoolKind};
use super::{Layer, Mode, samples_per_task};
use crate::cnn::gemm::Isa;
use crate::cnn::simd;
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
    max_2x2_on(Isa::active(), x, c, h, w, y, arg);
}

simd::vectorized! {
    /// [`max_2x2`] on the given vector path, [`POOL_BLOCK`] outputs at a time as selects on
    /// fixed-size arrays, so the compiler vectorizes it whatever the row length (LeNet's rows
    /// are 13 and 5 outputs long: a plain loop over a row would run scalar).
    fn max_2x2_on(x: &[f32], c: usize, h: usize, w: usize, y: &mut [f32], arg: &mut [u32]) {
        // Always inlined: a closure called out of line is compiled without the copy's vector
        // instructions.
        blocks_2x2(x, Planes::packed(c, h, w), #[inline(always)] |o, top, bottom, first| {
            let lanes = top.len() / 2;
            let (y, arg) = (&mut y[o..o + lanes], &mut arg[o..o + lanes]);
            match (<&[f32; 2 * POOL_BLOCK]>::try_from(top), <&[f32; 2 * POOL_BLOCK]>::try_from(bottom)) {
                (Ok(top), Ok(bottom)) => {
                    let y = <&mut [f32; POOL_BLOCK]>::try_from(y).expect("a whole block");
                    let arg = <&mut [u32; POOL_BLOCK]>::try_from(arg).expect("a whole block");
                    max_2x2_cells(top, bottom, w as u32, first, y, arg);
                }
                _ => max_2x2_cells(top, bottom, w as u32, first, y, arg),
            }
        });
    }
}

simd::vectorized! {
    /// [`max_2x2_on`] without the winners' positions (inference, where nothing goes back
    /// through the pool): the same values, bit for bit, with a quarter of the work.
    pub(crate) fn max_2x2_values_on(x: &[f32], planes: Planes, y: &mut [f32]) {
        blocks_2x2(x, planes, #[inline(always)] |o, top, bottom, _| {
            let y = &mut y[o..o + top.len() / 2];
            match (<&[f32; 2 * POOL_BLOCK]>::try_from(top), <&[f32; 2 * POOL_BLOCK]>::try_from(bottom)) {
                (Ok(top), Ok(bottom)) => {
                    let y = <&mut [f32; POOL_BLOCK]>::try_from(y).expect("a whole block");
                    max_2x2_values_cells(top, bottom, y);
                }
                _ => max_2x2_values_cells(top, bottom, y),
            }
        });
    }
}

/// Where C planes of H rows of W values lie in a buffer: row `r` of plane `c` starts at
/// `c·plane + r·row`. Packed (`row` = W, `plane` = H·W) for a layer's output; wider where each
/// row or plane is followed by values that are not part of it (the direct convolution's wide
/// output, pooled in place).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Planes {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub row: usize,
    pub plane: usize,
}

impl Planes {
    pub(crate) fn packed(c: usize, h: usize, w: usize) -> Self {
        Planes { c, h, w, row: w, plane: h * w }
    }
}

/// The blocks of a 2×2 / stride-2 pool of one sample's planes: `block(o, top, bottom, first)`
/// for outputs `o..o + top.len() / 2`, whose windows are the pairs of `top` (an input row from
/// index `first`) and `bottom` (the row below). Blocks are [`POOL_BLOCK`] outputs long; one
/// may run past its row's end: its extra lanes read on past the row (into the next rows, or
/// what lies between them) and write the next row's outputs, which that row then overwrites
/// (rows go in order). Only the sample's last block stops at its edges.
#[inline(always)]
fn blocks_2x2(x: &[f32], p: Planes, mut block: impl FnMut(usize, &[f32], &[f32], u32)) {
    let (oh, ow) = (p.h / 2, p.w / 2);
    let total = p.c * oh * ow;
    for row in 0..p.c * oh {
        let (ci, oy) = (row / oh, row % oh);
        let r0 = ci * p.plane + 2 * oy * p.row;
        let mut ox = 0;
        while ox < ow {
            let o = row * ow + ox;
            let whole = o + POOL_BLOCK <= total && r0 + p.row + 2 * (ox + POOL_BLOCK) <= x.len();
            let lanes = if whole { POOL_BLOCK } else { ow - ox };
            let top = &x[r0 + 2 * ox..r0 + 2 * (ox + lanes)];
            let bottom = &x[r0 + p.row + 2 * ox..r0 + p.row + 2 * (ox + lanes)];
            block(o, top, bottom, (r0 + 2 * ox) as u32);
            ox += lanes;
        }
    }
}

simd::vectorized! {
    /// 1-D max pooling of 2 steps, stride 2, without padding, of one (C, W) sample (an odd last
    /// step is dropped): the larger of each pair (ties to the first) and its index.
    fn max_pair_on(x: &[f32], c: usize, w: usize, y: &mut [f32], arg: &mut [u32]) {
        let ow = w / 2;
        for ci in 0..c {
            let pairs = x[ci * w..ci * w + 2 * ow].chunks_exact(2);
            let outputs = y[ci * ow..(ci + 1) * ow].iter_mut().zip(&mut arg[ci * ow..(ci + 1) * ow]);
            for (k, ((y, arg), pair)) in outputs.zip(pairs).enumerate() {
                let second = pair[1] > pair[0];
                *y = if second { pair[1] } else { pair[0] };
                *arg = (ci * w + 2 * k) as u32 + u32::from(second);
            }
        }
    }
}

simd::vectorized! {
    /// [`max_pair_on`] without the winners' positions (inference): the same comparison, so
    /// bitwise the same values. Each of `planes` is one row.
    pub(crate) fn max_pair_values_on(x: &[f32], planes: Planes, y: &mut [f32]) {
        let ow = planes.w / 2;
        for ci in 0..planes.c {
            let pairs = x[ci * planes.plane..ci * planes.plane + 2 * ow].chunks_exact(2);
            for (y, pair) in y[ci * ow..(ci + 1) * ow].iter_mut().zip(pairs) {
                *y = if pair[1] > pair[0] { pair[1] } else { pair[0] };
            }
        }
    }
}

/// Outputs pooled together by [`max_2x2_on`].
const POOL_BLOCK: usize = 16;

/// `y[k]`, `arg[k]`: the largest of `top[2k]`, `top[2k + 1]`, `bottom[2k]`, `bottom[2k + 1]`
/// (ties to the first) and its index, counting `top[0]` as `first` and `bottom[0]` as
/// `first + w`. Written for slices and for fixed-size arrays alike.
#[inline(always)]
fn max_2x2_cells<T: AsRef<[f32]> + ?Sized, Y: AsMut<[f32]> + ?Sized, A: AsMut<[u32]> + ?Sized>(
    top: &T,
    bottom: &T,
    w: u32,
    first: u32,
    y: &mut Y,
    arg: &mut A,
) {
    let (top, bottom) = (top.as_ref(), bottom.as_ref());
    for (k, (y, arg)) in y.as_mut().iter_mut().zip(arg.as_mut().iter_mut()).enumerate() {
        let (i, j) = (2 * k, first + 2 * k as u32);
        let (mut best, mut at) = (top[i], j);
        for (v, at_v) in [(top[i + 1], j + 1), (bottom[i], j + w), (bottom[i + 1], j + w + 1)] {
            let wins = v > best;
            best = if wins { v } else { best };
            at = if wins { at_v } else { at };
        }
        *y = best;
        *arg = at;
    }
}

/// `y[k]`: what [`max_2x2_cells`] makes it, without the position: the same comparisons in the
/// same order (a strict `>` keeps the first of equal values, signed zeros and NaNs included).
#[inline(always)]
fn max_2x2_values_cells<T: AsRef<[f32]> + ?Sized, Y: AsMut<[f32]> + ?Sized>(top: &T, bottom: &T, y: &mut Y) {
    let (top, bottom) = (top.as_ref(), bottom.as_ref());
    for (k, y) in y.as_mut().iter_mut().enumerate() {
        let i = 2 * k;
        let mut best = top[i];
        for v in [top[i + 1], bottom[i], bottom[i + 1]] {
            best = if v > best { v } else { best };
        }
        *y = best;
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

    fn is_plain_max_pool(&self) -> bool {
        self.geom.is_plain_2x2() || self.geom.is_plain_pair()
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
                    if g.is_plain_pair() {
                        max_pair_on(Isa::active(), x, g.c, g.w, y, arg);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_values_only_2x2_pool_gives_the_bits_of_the_full_one_on_every_vector_path() {
        // Ties between +0 and −0 and NaNs anywhere in a window: both keep the first of equal
        // values and skip what does not compare greater, so the bits must agree.
        let pick = [0.0, -0.0, f32::NAN, 1.5, -1.5, 1.5, -0.0, f32::NEG_INFINITY, 0.0, 2.0, -f32::NAN];
        for (c, h, w) in [(1, 2, 2), (3, 5, 7), (2, 8, 34), (4, 32, 32), (16, 11, 11), (5, 9, 9)] {
            let x: Vec<f32> = (0..c * h * w).map(|i| pick[(i * 7 + i / 5) % pick.len()]).collect();
            let len = c * (h / 2) * (w / 2);
            for isa in Isa::runnable("max pool values") {
                let (mut want, mut arg, mut got) = (vec![9.0; len], vec![0; len], vec![9.0; len]);
                max_2x2_on(isa, &x, c, h, w, &mut want, &mut arg);
                max_2x2_values_on(isa, &x, Planes::packed(c, h, w), &mut got);
                let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{c}×{h}×{w} on {isa}");
            }
        }
    }

    #[test]
    fn the_values_only_pair_pool_gives_the_bits_of_the_full_one_on_every_vector_path() {
        let pick = [0.0, -0.0, f32::NAN, 1.5, -1.5, 1.5, -0.0, f32::NEG_INFINITY, 0.0, 2.0];
        for (c, w) in [(1, 2), (3, 7), (2, 34), (16, 128), (5, 9)] {
            let x: Vec<f32> = (0..c * w).map(|i| pick[(i * 7 + i / 3) % pick.len()]).collect();
            let len = c * (w / 2);
            for isa in Isa::runnable("max pair values") {
                let (mut want, mut arg, mut got) = (vec![9.0; len], vec![0; len], vec![9.0; len]);
                max_pair_on(isa, &x, c, w, &mut want, &mut arg);
                max_pair_values_on(isa, &x, Planes::packed(c, 1, w), &mut got);
                let bits = |v: &[f32]| v.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&got), bits(&want), "{c}×{w} on {isa}");
            }
        }
    }

    #[test]
    fn the_2x2_fast_path_matches_a_naive_pool_on_every_vector_path() {
        // Odd sizes drop the last row or column; small integers make ties, which go to the
        // first cell in row-major order. Rows shorter and longer than a block of 16 outputs
        // (blocks run on into the next row), LeNet's 26×26 and 11×11, a sample's last block.
        for (c, h, w) in [(1, 2, 2), (3, 5, 7), (2, 8, 34), (4, 32, 32), (8, 26, 26), (16, 11, 11), (2, 3, 40), (5, 9, 9)] {
            let x: Vec<f32> = (0..c * h * w).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
            let (oh, ow) = (h / 2, w / 2);
            let mut want = (vec![0.0; c * oh * ow], vec![0u32; c * oh * ow]);
            for ci in 0..c {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let cells = [(0, 0), (0, 1), (1, 0), (1, 1)]
                            .map(|(dy, dx)| ci * h * w + (2 * oy + dy) * w + 2 * ox + dx);
                        let at = cells.into_iter().fold(cells[0], |a, b| if x[b] > x[a] { b } else { a });
                        let o = (ci * oh + oy) * ow + ox;
                        (want.0[o], want.1[o]) = (x[at], at as u32);
                    }
                }
            }
            for isa in Isa::runnable("max pool") {
                let mut got = (vec![9.0; want.0.len()], vec![9; want.1.len()]);
                max_2x2_on(isa, &x, c, h, w, &mut got.0, &mut got.1);
                assert_eq!(got, want, "{c}×{h}×{w} on {isa}");
            }
        }
    }

    #[test]
    fn the_1d_pair_fast_path_matches_a_naive_pool_on_every_vector_path() {
        // MaxPooling1D(2)'s pairs on sequences of even and odd length (the last step dropped),
        // ties to the first step, against a naive loop; the layer's own results are checked
        // against Keras in tests/reference_1d.rs.
        for (c, w) in [(1, 2), (3, 7), (16, 128), (32, 64), (5, 33)] {
            let x: Vec<f32> = (0..c * w).map(|i| ((i * 7) % 5) as f32 - 2.0).collect();
            let ow = w / 2;
            let mut want = (vec![0.0; c * ow], vec![0u32; c * ow]);
            for ci in 0..c {
                for k in 0..ow {
                    let (a, b) = (ci * w + 2 * k, ci * w + 2 * k + 1);
                    let at = if x[b] > x[a] { b } else { a };
                    (want.0[ci * ow + k], want.1[ci * ow + k]) = (x[at], at as u32);
                }
            }
            for isa in Isa::runnable("1-D max pool") {
                let mut got = (vec![9.0; want.0.len()], vec![9; want.1.len()]);
                max_pair_on(isa, &x, c, w, &mut got.0, &mut got.1);
                assert_eq!(got, want, "{c}×{w} on {isa}");
            }
        }
    }
}
