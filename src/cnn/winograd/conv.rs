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
    /// The rows of one input plane a chunk's tiles read, with the padding written out.
    band: Vec<f32>,
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
    let samples = if in_len == 0 { 0 } else { x.len() / in_len };
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
        transform_outputs_on(isa, geo, &ws.m, g0, g1, bias, y);
        // Samples whose last tile is in this chunk are complete.
        let tps = geo.tiles();
        for s in g0 / tps..g1 / tps {
            finish(&mut y[s * out_len..(s + 1) * out_len]);
        }
        g0 = g1;
    }
}

/// The tiles `g0..g1` that belong to sample `s`, as tile numbers within the sample.
fn sample_tiles(tps: usize, s: usize, g0: usize, g1: usize) -> (usize, usize) {
    (g0.max(s * tps) - s * tps, g1.min((s + 1) * tps) - s * tps)
}

/// [`transform_inputs`] compiled for `isa`'s vector width (the code is the same; the compiler
/// vectorizes its lane loops for the widest registers the path allows).
fn transform_inputs_on(isa: Isa, geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace) {
            transform_inputs(geo, x, g0, g1, ws);
        }
        #[target_feature(enable = "avx2")]
        fn avx2(geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace) {
            transform_inputs(geo, x, g0, g1, ws);
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
    transform_inputs(geo, x, g0, g1, ws);
}

/// `V[ξ][in][t]` of tiles `g0..g1`.
#[inline(always)]
fn transform_inputs(geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace) {
    let (tps, tw, tc) = (geo.tiles(), geo.tiles_w(), g1 - g0);
    let pw = tw * OUT + 2;
    let plane = geo.h * geo.w;
    for s in g0 / tps..g1.div_ceil(tps) {
        let (a, b) = sample_tiles(tps, s, g0, g1);
        let (ty0, ty1) = (a / tw, (b - 1) / tw);
        // Padded rows 4·ty0 .. 4·ty1 + 6 of each plane.
        let row0 = ty0 * OUT;
        let rows = (ty1 - ty0) * OUT + IN;
        ws.band.resize(rows * pw, 0.0);
        // Lanes past a sample's last tile repeat its last tile; they are computed, not stored.
        let (mut d, mut t, mut v) = ([[0.0; LANES]; TILE], [[0.0; LANES]; TILE], [[0.0; LANES]; TILE]);
        for ch in 0..geo.ci {
            let src = &x[(s * geo.ci + ch) * plane..(s * geo.ci + ch + 1) * plane];
            fill_band(geo, src, row0, rows, pw, &mut ws.band);
            let mut start = a;
            while start < b {
                let count = LANES.min(b - start);
                let bases: [usize; LANES] = std::array::from_fn(|l| {
                    let t = start + l.min(count - 1);
                    (t / tw * OUT - row0) * pw + t % tw * OUT
                });
                for (l, base) in bases.into_iter().enumerate() {
                    for i in 0..IN {
                        let row = &ws.band[base + i * pw..base + i * pw + IN];
                        for (j, &v) in row.iter().enumerate() {
                            d[i * IN + j][l] = v;
                        }
                    }
                }
                input_tiles(&d, &mut t, &mut v);
                let col = s * tps + start - g0;
                for (xi, lanes) in v.iter().enumerate() {
                    let at = (xi * geo.ci + ch) * tc + col;
                    copy_lanes(lanes, &mut ws.v[at..at + count]);
                }
                start += count;
            }
        }
    }
}

/// Writes padded rows `row0 .. row0 + rows` (width `pw`) of one input plane into `band`.
fn fill_band(geo: &Geometry, src: &[f32], row0: usize, rows: usize, pw: usize, band: &mut [f32]) {
    // Padded column `q` holds input column `q − pad_left`.
    let lo = geo.pad_left.clamp(0, pw as isize) as usize;
    let hi = (geo.w as isize + geo.pad_left).clamp(lo as isize, pw as isize) as usize;
    for (r, dst) in band[..rows * pw].chunks_exact_mut(pw).enumerate() {
        let iy = (row0 + r) as isize - geo.pad_top;
        if iy < 0 || iy >= geo.h as isize || hi == lo {
            dst.fill(0.0);
            continue;
        }
        let from = (lo as isize - geo.pad_left) as usize;
        let row = &src[iy as usize * geo.w..(iy as usize + 1) * geo.w];
        dst[..lo].fill(0.0);
        dst[lo..hi].copy_from_slice(&row[from..from + (hi - lo)]);
        dst[hi..].fill(0.0);
    }
}

/// [`transform_outputs`] compiled for `isa`'s vector width, like [`transform_inputs_on`].
fn transform_outputs_on(isa: Isa, geo: &Geometry, m: &[f32], g0: usize, g1: usize, bias: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(geo: &Geometry, m: &[f32], g0: usize, g1: usize, bias: &[f32], y: &mut [f32]) {
            transform_outputs(geo, m, g0, g1, bias, y);
        }
        #[target_feature(enable = "avx2")]
        fn avx2(geo: &Geometry, m: &[f32], g0: usize, g1: usize, bias: &[f32], y: &mut [f32]) {
            transform_outputs(geo, m, g0, g1, bias, y);
        }
        if isa == Isa::Avx512 && isa.is_available() {
            // SAFETY: this CPU has AVX-512F (checked on the line above).
            return unsafe { avx512(geo, m, g0, g1, bias, y) };
        }
        if isa == Isa::Avx2 && isa.is_available() {
            // SAFETY: this CPU has AVX2 (checked on the line above).
            return unsafe { avx2(geo, m, g0, g1, bias, y) };
        }
    }
    let _ = isa;
    transform_outputs(geo, m, g0, g1, bias, y);
}

/// The outputs of tiles `g0..g1` from `M[ξ][out][t]`, plus the bias.
#[inline(always)]
fn transform_outputs(geo: &Geometry, m: &[f32], g0: usize, g1: usize, bias: &[f32], y: &mut [f32]) {
    let (tps, tw, tc, co) = (geo.tiles(), geo.tiles_w(), g1 - g0, geo.co);
    let (oh, ow) = (geo.oh, geo.ow);
    for s in g0 / tps..g1.div_ceil(tps) {
        let (a, b) = sample_tiles(tps, s, g0, g1);
        // Lanes past a sample's last tile hold stale values; they are computed, not stored.
        let (mut mm, mut t) = ([[0.0; LANES]; TILE], [[0.0; LANES]; TILE]);
        let mut out = [[0.0; LANES]; OUT * OUT];
        let mut start = a;
        while start < b {
            let count = LANES.min(b - start);
            let col = s * tps + start - g0;
            for o in 0..co {
                for (xi, lanes) in mm.iter_mut().enumerate() {
                    let at = (xi * co + o) * tc + col;
                    load_lanes(&m[at..at + count], lanes);
                }
                output_tiles(&mm, &mut t, &mut out);
                let b0 = bias.get(o).copied().unwrap_or(0.0);
                let plane = &mut y[(s * co + o) * oh * ow..(s * co + o + 1) * oh * ow];
                for l in 0..count {
                    let t = start + l;
                    let (oy, ox) = (t / tw * OUT, t % tw * OUT);
                    let (nr, nq) = (OUT.min(oh - oy), OUT.min(ow - ox));
                    for r in 0..nr {
                        let row = &mut plane[(oy + r) * ow + ox..(oy + r) * ow + ox + nq];
                        for (q, v) in row.iter_mut().enumerate() {
                            *v = out[r * OUT + q][l] + b0;
                        }
                    }
                }
            }
            start += count;
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
