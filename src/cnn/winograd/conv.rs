//! The batched Winograd correlation: filters to `U[36][out][in]` once per call, a chunk of
//! tiles to `V[36][in][T]`, 36 matrix products `M[ξ] = U[ξ]·V[ξ]`, and `M` back to the output.
//!
//! # Shapes
//! Per sample: x (CI, H, W) → y (CO, OH, OW), kernel 3×3, stride 1; output pixel (oy, ox) reads
//! input rows oy − pad_top ..= oy − pad_top + 2 (outside the image: zeros), likewise columns.
//! Tiles: TH = ⌈OH/4⌉ × TW = ⌈OW/4⌉ per sample, numbered row by row, samples one after another.

use super::transform::{IN, LANES, Lanes, OUT, TILE, filter_tile, input_tiles, output_tiles};
use crate::cnn::gemm::{Isa, Op, sgemm_with};
use crate::cnn::geometry::Window;

/// A stride-1 3×3 correlation of one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Input (channels, rows, columns).
    pub ci: usize,
    pub h: usize,
    pub w: usize,
    /// Output (channels, rows, columns).
    pub co: usize,
    pub oh: usize,
    pub ow: usize,
    /// Zero rows above and columns left of the input; negative cuts input rows or columns off.
    pub pad_top: isize,
    pub pad_left: isize,
}

impl Geometry {
    /// A Conv2D's forward pass: x (C, H, W) → y (F, OH, OW).
    pub fn forward(win: &Window, c: usize, h: usize, w: usize, f: usize) -> Self {
        Geometry {
            ci: c,
            h,
            w,
            co: f,
            oh: win.rows.out,
            ow: win.cols.out,
            pad_top: win.rows.pad_before as isize,
            pad_left: win.cols.pad_before as isize,
        }
    }

    /// A Conv2D's input gradient, the "full" correlation of dy (F, OH, OW) with the kernel
    /// rotated by 180° → dx (C, H, W): kh − 1 − pad_before zeros above and left.
    pub fn input_gradient(win: &Window, c: usize, h: usize, w: usize, f: usize) -> Self {
        Geometry {
            ci: f,
            h: win.rows.out,
            w: win.cols.out,
            co: c,
            oh: h,
            ow: w,
            pad_top: 2 - win.rows.pad_before as isize,
            pad_left: 2 - win.cols.pad_before as isize,
        }
    }

    fn tiles_w(&self) -> usize {
        self.ow.div_ceil(OUT)
    }

    /// Tiles per sample.
    pub fn tiles(&self) -> usize {
        self.oh.div_ceil(OUT) * self.tiles_w()
    }

    /// Tiles per chunk: `V` and `M` together take about [`CHUNK_BYTES`], in whole lane groups.
    fn chunk_tiles(&self) -> usize {
        let per_tile = TILE * (self.ci + self.co) * 4;
        (CHUNK_BYTES / per_tile.max(1)).div_ceil(LANES).max(1) * LANES
    }
}

/// Bytes of `V` and `M` per chunk of tiles: sized so both stay in a core's L2 cache.
const CHUNK_BYTES: usize = 1 << 20;

/// Per-task buffers, grown to the largest call and never shrunk, so steady-state calls do not
/// allocate.
#[derive(Default)]
pub struct Workspace {
    /// `V[36][in][T]`, the transformed input tiles of one chunk.
    v: Vec<f32>,
    /// `M[36][out][T]`, the products.
    m: Vec<f32>,
    /// One channel's input tiles, tile-major: `d[k][t]` is value `k` (row-major 6×6) of tile
    /// `t`, so [`LANES`] neighbouring tiles load as one vector, whatever sample they are in.
    d: Vec<f32>,
    /// One output channel's 4×4 tiles, tile-major like `d`, before they are written out.
    o: Vec<f32>,
    /// The padded rows of one input plane that a chunk's tiles read.
    row: Vec<f32>,
}

/// `U[36][F][C]` of a kernel (F, C, 3, 3), for the forward correlation.
pub fn filters_forward(kernel: &[f32], f: usize, c: usize, u: &mut Vec<f32>) {
    u.resize(TILE * f * c, 0.0);
    for fo in 0..f {
        for ch in 0..c {
            let g: [f32; 9] = std::array::from_fn(|k| kernel[(fo * c + ch) * 9 + k]);
            for (xi, v) in filter_tile(g).into_iter().enumerate() {
                u[(xi * f + fo) * c + ch] = v;
            }
        }
    }
}

/// `U[36][C][F]` for the input gradient: the kernel (F, C, 3, 3) rotated by 180°, with its
/// input and output channels swapped.
pub fn filters_input_gradient(kernel: &[f32], f: usize, c: usize, u: &mut Vec<f32>) {
    u.resize(TILE * f * c, 0.0);
    for fo in 0..f {
        for ch in 0..c {
            let g: [f32; 9] = std::array::from_fn(|k| kernel[(fo * c + ch) * 9 + 8 - k]);
            for (xi, v) in filter_tile(g).into_iter().enumerate() {
                u[(xi * c + ch) * f + fo] = v;
            }
        }
    }
}

/// The correlation of the samples in `x` (each `ci·h·w`) with filters `u` (from
/// [`filters_forward`] or [`filters_input_gradient`]) into `y` (each `co·oh·ow`), plus `bias`
/// per output channel if it is not empty. `finish` gets each sample's output once it is
/// complete (to apply the activation while it is still in cache). Products run on `isa`, on
/// the calling thread.
#[allow(clippy::too_many_arguments)]
pub fn correlate(
    isa: Isa,
    geo: &Geometry,
    u: &[f32],
    x: &[f32],
    y: &mut [f32],
    bias: &[f32],
    ws: &mut Workspace,
    mut finish: impl FnMut(&mut [f32]),
) {
    let (ci, co) = (geo.ci, geo.co);
    let (in_len, out_len) = (ci * geo.h * geo.w, co * geo.oh * geo.ow);
    let samples = x.len().checked_div(in_len).unwrap_or(0);
    let total = samples * geo.tiles();
    let chunk = geo.chunk_tiles();
    let mut g0 = 0;
    while g0 < total {
        let g1 = (g0 + chunk).min(total);
        let tc = g1 - g0;
        ws.v.resize(TILE * ci * tc, 0.0);
        ws.m.resize(TILE * co * tc, 0.0);
        transform_inputs_on(isa, geo, x, g0, g1, ws);
        for xi in 0..TILE {
            sgemm_with(
                isa,
                co,
                tc,
                ci,
                &u[xi * co * ci..],
                Op::N,
                &ws.v[xi * ci * tc..],
                Op::N,
                &mut ws.m[xi * co * tc..],
                false,
                false,
            );
        }
        transform_outputs_on(isa, geo, g0, g1, bias, ws, y);
        // Samples whose last tile is in this chunk are complete.
        let tps = geo.tiles();
        for s in g0 / tps..g1 / tps {
            finish(&mut y[s * out_len..(s + 1) * out_len]);
        }
        g0 = g1;
    }
}

/// A run of tiles `g0..g1` within one tile row: sample `s`, tile row `ty`, tile columns
/// `tx0..tx1`; its first tile is column `col` of the chunk's tile-major buffers.
struct Run {
    s: usize,
    ty: usize,
    tx0: usize,
    tx1: usize,
    col: usize,
}

/// The tile-row runs of tiles `g0..g1`, in order.
fn runs(geo: &Geometry, g0: usize, g1: usize) -> impl Iterator<Item = Run> {
    let (tps, tw) = (geo.tiles(), geo.tiles_w());
    let mut g = g0;
    std::iter::from_fn(move || {
        if g >= g1 {
            return None;
        }
        let (s, t) = (g / tps, g % tps);
        let (ty, tx0) = (t / tw, t % tw);
        let tx1 = tw.min(tx0 + (g1 - g));
        let run = Run {
            s,
            ty,
            tx0,
            tx1,
            col: g - g0,
        };
        g += tx1 - tx0;
        Some(run)
    })
}

/// [`transform_inputs`] compiled for `isa`'s vector width (the code is the same; the compiler
/// vectorizes its lane loops for the widest registers the path allows).
fn transform_inputs_on(isa: Isa, geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace) {
            transform_inputs(geo, x, g0, g1, ws, true);
        }
        #[target_feature(enable = "avx2")]
        fn avx2(geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace) {
            transform_inputs(geo, x, g0, g1, ws, false);
        }
        if isa == Isa::Avx512 && isa.is_available() {
            // SAFETY: this CPU has AVX-512F (checked on the line above).
            return unsafe { avx512(geo, x, g0, g1, ws) };
        }
        if isa == Isa::Avx2 && isa.is_available() {
            // SAFETY: this CPU has AVX2 (checked on the line above).
            return unsafe { avx2(geo, x, g0, g1, ws) };
        }
    }
    let _ = isa;
    transform_inputs(geo, x, g0, g1, ws, false);
}

/// `V[ξ][in][t]` of tiles `g0..g1`, one input channel at a time: its tiles gathered
/// tile-major into `d`, then transformed [`LANES`] at a time. `avx512`: this CPU has AVX-512F
/// (the caller checked), so the gather uses its two-register permutes.
#[inline(always)]
fn transform_inputs(geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace, avx512: bool) {
    let (tc, ci) = (g1 - g0, geo.ci);
    // Whole blocks of LANES tiles (and the next tile's columns) can be read from any run.
    let pw = geo.tiles_w() * OUT + LANES * OUT + OUT;
    let plane = geo.h * geo.w;
    // Rows of `d` are LANES longer than the chunk, so whole blocks can be written and read.
    let ds = tc + LANES;
    ws.d.resize(TILE * ds, 0.0);
    // Padded columns the tiles read; the rest of each band row is slack, read only by lanes
    // whose results are discarded.
    let used = geo.tiles_w() * OUT + 2;
    let (tps, tw) = (geo.tiles(), geo.tiles_w());
    // Lanes past the chunk's last tile hold stale values; they are computed, not stored.
    let (mut d, mut t, mut v) = ([[0.0; LANES]; TILE], [[0.0; LANES]; TILE], [[0.0; LANES]; TILE]);
    for ch in 0..ci {
        // The padded rows of the current sample's tiles in this chunk, from padded row `row0`.
        let (mut sample, mut row0) = (usize::MAX, 0);
        for run in runs(geo, g0, g1) {
            if run.s != sample {
                sample = run.s;
                let src = &x[(run.s * ci + ch) * plane..(run.s * ci + ch + 1) * plane];
                let last = (g1.min((run.s + 1) * tps) - run.s * tps - 1) / tw;
                row0 = run.ty * OUT;
                let rows = (last - run.ty) * OUT + IN;
                ws.row.resize(ws.row.len().max(rows * pw), 0.0);
                for (r, line) in ws.row[..rows * pw].chunks_exact_mut(pw).enumerate() {
                    fill_row(geo, src, row0 + r, &mut line[..used]);
                }
            }
            let n = run.tx1 - run.tx0;
            for i in 0..IN {
                let line = &ws.row[(run.ty * OUT + i - row0) * pw..][..pw];
                // Tile k reads padded columns 4k..4k+6: a stride-4 deinterleave, done on fixed
                // blocks of LANES tiles so it compiles to shuffles rather than gathers. Lanes
                // past the run are overwritten by the next run or land in the row's slack.
                for first in (0..n).step_by(LANES) {
                    let block: &[f32; LANES * OUT + OUT] = line[(run.tx0 + first) * OUT..][..LANES * OUT + OUT]
                        .try_into()
                        .expect("a block of LANES tiles");
                    let mut cols = [[0.0; LANES]; IN];
                    if avx512 {
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: `avx512` is only set on a CPU with AVX-512F.
                        unsafe {
                            deinterleave_avx512(block, &mut cols)
                        };
                    } else {
                        deinterleave(block, &mut cols);
                    }
                    for (j, col) in cols.iter().enumerate() {
                        let at = (i * IN + j) * ds + run.col + first;
                        ws.d[at..at + LANES].copy_from_slice(col);
                    }
                }
            }
        }
        let mut start = 0;
        while start < tc {
            let count = LANES.min(tc - start);
            for (k, lanes) in d.iter_mut().enumerate() {
                load_lanes(&ws.d[k * ds + start..k * ds + start + LANES], lanes);
            }
            input_tiles(&d, &mut t, &mut v);
            for (xi, lanes) in v.iter().enumerate() {
                let at = (xi * ci + ch) * tc + start;
                copy_lanes(lanes, &mut ws.v[at..at + count]);
            }
            start += count;
        }
    }
}

/// Column `j` of [`LANES`] tiles from one padded row: `cols[j][k] = block[4k + j]`.
#[inline(always)]
fn deinterleave(block: &[f32; LANES * OUT + OUT], cols: &mut [Lanes; IN]) {
    for k in 0..LANES {
        for (j, col) in cols.iter_mut().enumerate() {
            col[k] = block[k * OUT + j];
        }
    }
}

/// [`deinterleave`] with AVX-512's two-register permutes: columns 0–3 from the block's 64
/// values, columns 4 and 5 as columns 0 and 1 of the block moved on by one tile.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn deinterleave_avx512(block: &[f32; LANES * OUT + OUT], cols: &mut [Lanes; IN]) {
    use std::arch::x86_64::*;
    const _: () = assert!(LANES == 16 && OUT == 4 && IN == 6);
    let p = block.as_ptr();
    // SAFETY: `block` holds 68 values: loads at 0..64 and 4..68 stay inside it; each column
    // is one 16-float store into a 16-float array.
    unsafe {
        let load = |at: usize| [0, 16, 32, 48].map(|o| _mm512_loadu_ps(p.add(at + o)));
        for (shift, js) in [(0, 0..4), (OUT, 4..6)] {
            let [r0, r1, r2, r3] = load(shift);
            for j in js {
                // Lane k takes value 4·(k mod 8) + (j − shift) of r0|r1 (k < 8) or r2|r3.
                let idx = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
                let idx = _mm512_add_epi32(idx, _mm512_set1_epi32((j - shift) as i32));
                let lo = _mm512_permutex2var_ps(r0, idx, r1);
                let hi = _mm512_permutex2var_ps(r2, idx, r3);
                _mm512_storeu_ps(cols[j].as_mut_ptr(), _mm512_mask_blend_ps(0xFF00, lo, hi));
            }
        }
    }
}

/// Padded row `r` (row `r − pad_top` of the input plane `src`, zeros outside it) into `row`.
#[inline(always)]
fn fill_row(geo: &Geometry, src: &[f32], r: usize, row: &mut [f32]) {
    let pw = row.len();
    // Padded column `q` holds input column `q − pad_left`.
    let lo = geo.pad_left.clamp(0, pw as isize) as usize;
    let hi = (geo.w as isize + geo.pad_left).clamp(lo as isize, pw as isize) as usize;
    let iy = r as isize - geo.pad_top;
    if iy < 0 || iy >= geo.h as isize || hi == lo {
        row.fill(0.0);
        return;
    }
    let from = (lo as isize - geo.pad_left) as usize;
    let line = &src[iy as usize * geo.w..(iy as usize + 1) * geo.w];
    row[..lo].fill(0.0);
    row[lo..hi].copy_from_slice(&line[from..from + (hi - lo)]);
    row[hi..].fill(0.0);
}

/// [`transform_outputs`] compiled for `isa`'s vector width, like [`transform_inputs_on`].
fn transform_outputs_on(
    isa: Isa,
    geo: &Geometry,
    g0: usize,
    g1: usize,
    bias: &[f32],
    ws: &mut Workspace,
    y: &mut [f32],
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(geo: &Geometry, g0: usize, g1: usize, bias: &[f32], ws: &mut Workspace, y: &mut [f32]) {
            transform_outputs(geo, g0, g1, bias, ws, y);
        }
        #[target_feature(enable = "avx2")]
        fn avx2(geo: &Geometry, g0: usize, g1: usize, bias: &[f32], ws: &mut Workspace, y: &mut [f32]) {
            transform_outputs(geo, g0, g1, bias, ws, y);
        }
        if isa == Isa::Avx512 && isa.is_available() {
            // SAFETY: this CPU has AVX-512F (checked on the line above).
            return unsafe { avx512(geo, g0, g1, bias, ws, y) };
        }
        if isa == Isa::Avx2 && isa.is_available() {
            // SAFETY: this CPU has AVX2 (checked on the line above).
            return unsafe { avx2(geo, g0, g1, bias, ws, y) };
        }
    }
    let _ = isa;
    transform_outputs(geo, g0, g1, bias, ws, y);
}

/// The outputs of tiles `g0..g1` from `M[ξ][out][t]`, plus the bias: one output channel at a
/// time, transformed [`LANES`] tiles at a time into `o`, then written out row by row.
#[inline(always)]
fn transform_outputs(geo: &Geometry, g0: usize, g1: usize, bias: &[f32], ws: &mut Workspace, y: &mut [f32]) {
    let (tc, co) = (g1 - g0, geo.co);
    let (oh, ow) = (geo.oh, geo.ow);
    ws.o.resize(OUT * OUT * tc, 0.0);
    // Lanes past the chunk's last tile hold stale values; they are computed, not stored.
    let (mut mm, mut t) = ([[0.0; LANES]; TILE], [[0.0; LANES]; TILE]);
    let mut out = [[0.0; LANES]; OUT * OUT];
    for o in 0..co {
        let mut start = 0;
        while start < tc {
            let count = LANES.min(tc - start);
            for (xi, lanes) in mm.iter_mut().enumerate() {
                let at = (xi * co + o) * tc + start;
                load_lanes(&ws.m[at..at + count], lanes);
            }
            output_tiles(&mm, &mut t, &mut out);
            for (k, lanes) in out.iter().enumerate() {
                copy_lanes(lanes, &mut ws.o[k * tc + start..k * tc + start + count]);
            }
            start += count;
        }
        let b = bias.get(o).copied().unwrap_or(0.0);
        for run in runs(geo, g0, g1) {
            let plane = &mut y[(run.s * co + o) * oh * ow..(run.s * co + o + 1) * oh * ow];
            let n = run.tx1 - run.tx0;
            let (oy, ox) = (run.ty * OUT, run.tx0 * OUT);
            for r in 0..OUT.min(oh - oy) {
                let line = &mut plane[(oy + r) * ow + ox..(oy + r + 1) * ow];
                let line = &mut line[..(n * OUT).min(ow - ox)];
                let vals: [&[f32]; OUT] = std::array::from_fn(|q| &ws.o[(r * OUT + q) * tc + run.col..][..n]);
                let mut cells = line.chunks_exact_mut(OUT);
                for (k, cell) in cells.by_ref().enumerate() {
                    for (dst, v) in cell.iter_mut().zip(&vals) {
                        *dst = v[k] + b;
                    }
                }
                // A tile hanging over the right edge: its columns inside the output.
                let k = n - 1;
                for (q, dst) in cells.into_remainder().iter_mut().enumerate() {
                    *dst = vals[q][k] + b;
                }
            }
        }
    }
}

/// `dst.len()` lanes of `src` into `dst`; a whole group as one fixed-size copy (a call to
/// `memcpy` per short copy would cost more than the transform).
#[inline(always)]
fn copy_lanes(src: &Lanes, dst: &mut [f32]) {
    match <&mut Lanes>::try_from(&mut *dst) {
        Ok(whole) => *whole = *src,
        Err(_) => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
    }
}

/// `src` into the first `src.len()` lanes of `dst`, like [`copy_lanes`].
#[inline(always)]
fn load_lanes(src: &[f32], dst: &mut Lanes) {
    match <&Lanes>::try_from(src) {
        Ok(whole) => *dst = *whole,
        Err(_) => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
    }
}

/// `V[36][in][g1 − g0]`, the transformed input tiles `g0..g1` of the samples in `x`, exactly as
/// [`correlate`] computes them (for the kernel gradient in `weights.rs`).
pub(super) fn transformed_inputs<'a>(
    isa: Isa,
    geo: &Geometry,
    x: &[f32],
    g0: usize,
    g1: usize,
    ws: &'a mut Workspace,
) -> &'a [f32] {
    ws.v.resize(TILE * geo.ci * (g1 - g0), 0.0);
    transform_inputs_on(isa, geo, x, g0, g1, ws);
    &ws.v
}
