//! The batched Winograd correlation: filters to `U[36][out][in]` once per call, a chunk of
//! tiles to `V[36][in][T]`, 36 matrix products `M[ξ] = U[ξ]·V[ξ]`, and `M` back to the output.
//!
//! # Shapes
//! Per sample: x (CI, H, W) → y (CO, OH, OW), kernel 3×3, stride 1; output pixel (oy, ox) reads
//! input rows oy − pad_top ..= oy − pad_top + 2 (outside the image: zeros), likewise columns.
//! Tiles: TH = ⌈OH/4⌉ × TW = ⌈OW/4⌉ per sample, numbered row by row, samples one after another.

#[cfg(target_arch = "x86_64")]
use super::moves::{PixelRow, copy_short, deinterleave, prefetch, zero_short};
#[cfg(target_arch = "x86_64")]
use super::moves::{QuadRow, deinterleave_avx2, deinterleave_avx512};
use super::transform::{IN, LANES, OUT, TILE, filter_tiles, input_1d, input_columns, input_tiles, output_tiles};
#[cfg(target_arch = "x86_64")]
use super::vector::{Avx2, Avx512};
use super::vector::{Vector, on_vector};
use crate::cnn::aligned::AlignedVec;
use crate::cnn::gemm::{Isa, Op, sgemm_with};
use crate::cnn::simd;

/// A stride-1 3×3 correlation of one sample (`kh`, `kw` 3, `dw` 1).
pub use crate::cnn::geometry::Correlation as Geometry;

impl Geometry {
    fn tiles_w(&self) -> usize {
        self.ow.div_ceil(OUT)
    }

    /// Tiles per sample.
    pub fn tiles(&self) -> usize {
        self.oh.div_ceil(OUT) * self.tiles_w()
    }

    /// Tiles per chunk: `V` and `M` (or, for the kernel gradient, `D`) together take about
    /// [`CHUNK_BYTES`], in whole lane groups.
    pub(super) fn chunk_tiles(&self) -> usize {
        let per_tile = TILE * (self.ci + self.co) * 4;
        (CHUNK_BYTES / per_tile.max(1)).div_ceil(LANES).max(1) * LANES
    }
}

/// Bytes of `V` and `M` per chunk of tiles: half a 1 MiB L2 cache, leaving room for the rows
/// being read and written (cifar inference on an AMD EPYC Zen 5: about 5% faster than 1 MiB
/// or 256 KiB).
const CHUNK_BYTES: usize = 1 << 19;

/// Per-task buffers, grown to the largest call and never shrunk, so steady-state calls do not
/// allocate.
#[derive(Default)]
pub struct Workspace {
    /// `V[36][in][T]`, the transformed input tiles of one chunk.
    v: AlignedVec,
    /// `M[36][out][T]`, the products.
    m: AlignedVec,
    /// One channel's input tiles, tile-major: `d[k][t]` is value `k` (row-major 6×6) of tile
    /// `t`, so [`LANES`] neighbouring tiles load as one vector, whatever sample they are in.
    d: AlignedVec,
    /// The padded rows of one input plane that a chunk's tiles read.
    row: AlignedVec,
    /// Where the output transform writes each lane group's tile-row runs (see
    /// `transform_outputs`).
    segments: Vec<(usize, usize, usize, usize)>,
    groups: Vec<usize>,
    bands: Vec<(usize, usize)>,
    /// Where each lane group's four quads start in `row` (the quad gather's, see
    /// `transform_inputs_quads`).
    quads: Vec<usize>,
    /// Per sample of a chunk: its first padded row and where its rows start in `row` (the
    /// quad gather's padded rows).
    samples: Vec<(usize, usize)>,
}

/// `U[36][F][C]` of a kernel (F, C, 3, 3), for the forward correlation.
pub fn filters_forward(kernel: &[f32], f: usize, c: usize, u: &mut Vec<f32>) {
    u.resize(TILE * f * c, 0.0);
    filters_on(Isa::active(), kernel, f, c, false, u);
}

/// `U[36][C][F]` for the input gradient: the kernel (F, C, 3, 3) rotated by 180°, with its
/// input and output channels swapped.
pub fn filters_input_gradient(kernel: &[f32], f: usize, c: usize, u: &mut Vec<f32>) {
    u.resize(TILE * f * c, 0.0);
    filters_on(Isa::active(), kernel, f, c, true, u);
}

simd::vectorized! {
    /// `u[ξ·F·C + q]` for every filter pair `q`, [`LANES`] pairs at a time: pair `q` is filter
    /// `q / C` on input channel `q % C` (forward), or, `rotated`, input channel `q / F` of
    /// filter `q % F` turned by 180° (input gradient). The same numbers on every path (f64
    /// arithmetic without fused operations).
    fn filters_on(kernel: &[f32], f: usize, c: usize, rotated: bool, u: &mut [f32]) {
        let n = f * c;
        // Rotated, pair q is input channel q / F of filter q % F: counted along, not divided
        // for every lane (two divisions per filter had been most of this function's time).
        let (mut ch, mut fo) = (0, 0);
        for q0 in (0..n).step_by(LANES) {
            let count = LANES.min(n - q0);
            let mut g = [[0.0; LANES]; 9];
            for l in 0..count {
                let taps = if rotated { &kernel[(fo * c + ch) * 9..][..9] } else { &kernel[(q0 + l) * 9..][..9] };
                for (k, g) in g.iter_mut().enumerate() {
                    g[l] = f64::from(taps[if rotated { 8 - k } else { k }]);
                }
                fo += 1;
                if fo == f {
                    (ch, fo) = (ch + 1, 0);
                }
            }
            for (xi, lanes) in filter_tiles(&g).iter().enumerate() {
                u[xi * n + q0..xi * n + q0 + count].copy_from_slice(&lanes[..count]);
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
        ws.v.resize(TILE * plane_stride(ci * tc), 0.0);
        // LANES of slack: the output transform reads whole lane groups.
        ws.m.resize(TILE * plane_stride(co * tc) + LANES, 0.0);
        transform_inputs_on(isa, geo, x, g0, g1, ws);
        for xi in 0..TILE {
            sgemm_with(
                isa,
                co,
                tc,
                ci,
                &u[xi * co * ci..],
                Op::N,
                &ws.v[xi * plane_stride(ci * tc)..],
                Op::N,
                &mut ws.m[xi * plane_stride(co * tc)..],
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

/// Floats from one of the 36 rows or planes of a tile buffer (`len` values each) to the next:
/// an odd number of whole cache lines. A tile's 36 values, one per plane, then fall in 36
/// different sets of the L1 cache; planes a multiple of 4 KiB apart (32 channels × 128 tiles)
/// put them all in one set, where they evict each other while the transforms read or write
/// them (cifar inference was 10% slower).
pub(super) fn plane_stride(len: usize) -> usize {
    (len.div_ceil(LANES) | 1) * LANES
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

/// [`transform_inputs`] compiled for `isa` (the gathers and transforms pick that path's vector
/// type; the surrounding loops are the same).
fn transform_inputs_on(isa: Isa, geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace) {
            transform_inputs(geo, x, g0, g1, ws, Isa::Avx512);
        }
        #[target_feature(enable = "avx2")]
        fn avx2(geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace) {
            transform_inputs(geo, x, g0, g1, ws, Isa::Avx2);
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
    transform_inputs(geo, x, g0, g1, ws, Isa::Portable);
}

/// `V[ξ][in][t]` of tiles `g0..g1`, one input channel at a time: its tiles gathered
/// tile-major into `d`, then transformed [`LANES`] at a time. `isa` is the path the caller
/// checked this CPU can run and compiled this copy for; the gather uses its shuffles.
#[inline(always)]
fn transform_inputs(geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace, isa: Isa) {
    #[cfg(target_arch = "x86_64")]
    if geo.tiles_w().is_multiple_of(4) {
        match isa {
            // SAFETY: `isa` is only a vector path on a CPU that has it.
            Isa::Avx512 => return unsafe { transform_inputs_quads::<Avx512>(geo, x, g0, g1, ws) },
            // SAFETY: as above.
            Isa::Avx2 => return unsafe { transform_inputs_quads::<Avx2>(geo, x, g0, g1, ws) },
            Isa::Portable => {}
        }
    }
    let (tc, ci) = (g1 - g0, geo.ci);
    let vs = plane_stride(ci * tc);
    // Whole blocks of LANES tiles (and the next tile's columns) can be read from any run.
    let pw = geo.tiles_w() * OUT + LANES * OUT + OUT;
    let plane = geo.h * geo.w;
    // Rows of `d` are at least LANES longer than the chunk, so whole blocks can be written
    // and read.
    let ds = plane_stride(tc + LANES);
    ws.d.resize(TILE * ds, 0.0);
    // Padded columns the tiles read; the rest of each band row is slack, read only by lanes
    // whose results are discarded.
    let used = geo.tiles_w() * OUT + 2;
    let (tps, tw) = (geo.tiles(), geo.tiles_w());
    // Lanes past the chunk's last tile hold stale values; they are computed, not stored.
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
                // The next channel's plane starts on another page, where the hardware
                // prefetcher does not follow: ask for it now.
                if ch + 1 < ci {
                    let next = &x[(run.s * ci + ch + 1) * plane..(run.s * ci + ch + 2) * plane];
                    let first = (row0 as isize - geo.pad_top).clamp(0, geo.h as isize) as usize;
                    let end = ((row0 + rows) as isize - geo.pad_top).clamp(0, geo.h as isize) as usize;
                    prefetch(&next[first * geo.w..end * geo.w]);
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
                    match isa {
                        // SAFETY: `isa` is only a vector path on a CPU that has it.
                        #[cfg(target_arch = "x86_64")]
                        Isa::Avx512 => unsafe { deinterleave_avx512(block, &mut cols) },
                        // SAFETY: as above.
                        #[cfg(target_arch = "x86_64")]
                        Isa::Avx2 => unsafe { deinterleave_avx2(block, &mut cols) },
                        _ => deinterleave(block, &mut cols),
                    }
                    for (j, col) in cols.iter().enumerate() {
                        let at = (i * IN + j) * ds + run.col + first;
                        ws.d[at..at + LANES].copy_from_slice(col);
                    }
                }
            }
        }
        let (d, v) = (&ws.d, &mut ws.v);
        for start in (0..tc).step_by(LANES) {
            let count = LANES.min(tc - start);
            let at = ch * tc + start;
            // SAFETY: `isa` is only a vector path on a CPU that has it.
            on_vector!(isa, V => unsafe { input_group::<V>(d, ds, start, v, vs, at, count) });
        }
    }
}

/// [`transform_inputs`] on AVX-512 or AVX2 where every tile row holds whole quads of four tiles
/// (`TW` a multiple of 4, so a quad never straddles a row or a sample, and chunks start on a
/// lane group): per channel, the padded rows of every sample in the chunk, then each group of
/// [`LANES`] tiles gathered from its four quads straight into registers (three permutes per
/// column on AVX-512), transformed and stored, with no staging buffer and no lanes gathered
/// twice.
///
/// # Safety
/// The CPU must have `V`'s instruction set.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn transform_inputs_quads<V: QuadRow>(geo: &Geometry, x: &[f32], g0: usize, g1: usize, ws: &mut Workspace) {
    let (tc, ci) = (g1 - g0, geo.ci);
    let vs = plane_stride(ci * tc);
    let (tps, tw) = (geo.tiles(), geo.tiles_w());
    // A quad's second load starts one tile on and reads 16 values: 4 beyond the last tile.
    let pw = tw * OUT + OUT;
    let used = tw * OUT + 2;
    let plane = geo.h * geo.w;
    // Each sample's first padded row in the chunk and where its rows start in `row`.
    let first = g0 / tps;
    ws.samples.clear();
    let mut len = 0;
    for s in first..=(g1 - 1) / tps {
        let ty0 = (g0.max(s * tps) - s * tps) / tw;
        let ty1 = (g1.min((s + 1) * tps) - s * tps - 1) / tw;
        ws.samples.push((ty0 * OUT, len));
        len += ((ty1 - ty0) * OUT + IN) * pw;
    }
    ws.row.resize(ws.row.len().max(len), 0.0);
    // The padding is the same zeros for every channel: written once here, and each channel
    // copies only its image values into the rows (`fill_row_inside`).
    ws.row[..len].fill(0.0);
    // Where each group's quads start in `row`, at row 0 of their tiles; a quad past the chunk
    // reads the group's first (its lanes are not stored).
    let quad_at = |g: usize| {
        let (s, t) = (g / tps, g % tps);
        let (row0, at) = ws.samples[s - first];
        at + (t / tw * OUT - row0) * pw + t % tw * OUT
    };
    ws.quads.clear();
    for start in (0..tc).step_by(LANES) {
        let g = g0 + start;
        for q in 0..4 {
            let quad = g + 4 * q;
            ws.quads.push(quad_at(if quad < g1 { quad } else { g }));
        }
    }
    for ch in 0..ci {
        for (k, &(row0, at)) in ws.samples.iter().enumerate() {
            let s = first + k;
            let src = &x[(s * ci + ch) * plane..][..plane];
            let rows = ws.samples.get(k + 1).map_or(len, |next| next.1) - at;
            for (r, line) in ws.row[at..at + rows].chunks_exact_mut(pw).enumerate() {
                fill_row_inside(geo, src, row0 + r, &mut line[..used]);
            }
            // The next channel's plane starts on another page, where the hardware prefetcher
            // does not follow: ask for it now.
            if ch + 1 < ci {
                let next = &x[(s * ci + ch + 1) * plane..][..plane];
                let top = (row0 as isize - geo.pad_top).clamp(0, geo.h as isize) as usize;
                let end = ((row0 + rows / pw) as isize - geo.pad_top).clamp(0, geo.h as isize) as usize;
                prefetch(&next[top * geo.w..end * geo.w]);
            }
        }
        let (row, v) = (&ws.row, &mut ws.v);
        for (group, start) in (0..tc).step_by(LANES).enumerate() {
            let count = LANES.min(tc - start);
            let quads: [usize; 4] = ws.quads[4 * group..4 * group + 4].try_into().expect("four quads");
            let at = |i: usize| quads.map(|q| q + i * pw);
            // SAFETY: the caller guarantees the instruction set.
            let t = unsafe {
                [
                    input_1d(V::quad_row(row, at(0))),
                    input_1d(V::quad_row(row, at(1))),
                    input_1d(V::quad_row(row, at(2))),
                    input_1d(V::quad_row(row, at(3))),
                    input_1d(V::quad_row(row, at(4))),
                    input_1d(V::quad_row(row, at(5))),
                ]
            };
            let out = planes_at(v, vs, ch * tc + start, count);
            // SAFETY: `input_columns` stores values ξ < 36 only.
            input_columns(t, |xi, lanes| {
                lanes.store(unsafe { out.get_unchecked_mut(xi * vs..xi * vs + count) })
            });
        }
    }
}

/// The transform of [`LANES`] tiles from column `start` of the tile-major `d` (rows `ds`
/// apart) into `v` at `at` of each of the 36 planes (`vs` apart), `count` lanes stored.
///
/// # Safety
/// The CPU must have `V`'s instruction set.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
unsafe fn input_group<V: Vector>(
    d: &[f32],
    ds: usize,
    start: usize,
    v: &mut [f32],
    vs: usize,
    at: usize,
    count: usize,
) {
    let out = planes_at(v, vs, at, count);
    input_tiles(
        // SAFETY: the caller guarantees the instruction set.
        |k| unsafe { V::load(&d[k * ds + start..]) },
        // SAFETY: `input_tiles` stores values ξ < 36 only.
        |xi, lanes: V| lanes.store(unsafe { out.get_unchecked_mut(xi * vs..xi * vs + count) }),
    );
}

/// `v` from `at` to the end of the `count` lanes at `at` of its last plane (36 planes `vs`
/// apart): bounds checked once, so the 36 stores of a lane group need not be (checked, they
/// were a third of the quad gather's instructions).
#[inline(always)]
fn planes_at(v: &mut [f32], vs: usize, at: usize, count: usize) -> &mut [f32] {
    &mut v[at..at + (TILE - 1) * vs + count]
}

/// Where padded row `r` of `pw` columns holds image values: `(lo, hi, from)`, padded columns
/// `lo..hi` hold the input plane's values from offset `from` on (row `r − pad_top`); `None`
/// for a row of zeros.
#[inline(always)]
fn image_span(geo: &Geometry, r: usize, pw: usize) -> Option<(usize, usize, usize)> {
    // Padded column `q` holds input column `q − pad_left`.
    let lo = geo.pad_left.clamp(0, pw as isize) as usize;
    let hi = (geo.w as isize + geo.pad_left).clamp(lo as isize, pw as isize) as usize;
    let iy = r as isize - geo.pad_top;
    if iy < 0 || iy >= geo.h as isize || hi == lo {
        return None;
    }
    Some((lo, hi, iy as usize * geo.w + (lo as isize - geo.pad_left) as usize))
}

/// Padded row `r` (row `r − pad_top` of the input plane `src`, zeros outside it) into `row`.
#[inline(always)]
fn fill_row(geo: &Geometry, src: &[f32], r: usize, row: &mut [f32]) {
    match image_span(geo, r, row.len()) {
        None => zero_short(row),
        Some((lo, hi, from)) => {
            zero_short(&mut row[..lo]);
            copy_short(&src[from..from + (hi - lo)], &mut row[lo..hi]);
            zero_short(&mut row[hi..]);
        }
    }
}

/// [`fill_row`] into a row whose padding is already zero: only the image's values are copied.
#[inline(always)]
fn fill_row_inside(geo: &Geometry, src: &[f32], r: usize, row: &mut [f32]) {
    if let Some((lo, hi, from)) = image_span(geo, r, row.len()) {
        copy_short(&src[from..from + (hi - lo)], &mut row[lo..hi]);
    }
}

/// [`transform_outputs`] compiled for `isa`, like [`transform_inputs_on`].
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
            transform_outputs(geo, g0, g1, bias, ws, y, Isa::Avx512);
        }
        #[target_feature(enable = "avx2")]
        fn avx2(geo: &Geometry, g0: usize, g1: usize, bias: &[f32], ws: &mut Workspace, y: &mut [f32]) {
            transform_outputs(geo, g0, g1, bias, ws, y, Isa::Avx2);
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
    transform_outputs(geo, g0, g1, bias, ws, y, Isa::Portable);
}

/// The outputs of tiles `g0..g1` from `M[ξ][out][t]`, plus the bias: one output channel at a
/// time, [`LANES`] tiles at a time, each transformed output row interleaved into pixel order
/// in registers and written straight into the output planes. `isa` is the path the caller
/// checked this CPU can run; on AVX-512 the interleave uses its two-register permutes.
#[inline(always)]
fn transform_outputs(geo: &Geometry, g0: usize, g1: usize, bias: &[f32], ws: &mut Workspace, y: &mut [f32], isa: Isa) {
    let (tc, co) = (g1 - g0, geo.co);
    let ms = plane_stride(co * tc);
    let (oh, ow) = (geo.oh, geo.ow);
    // Where each group's tile-row runs go: (plane offset of the run's first pixel in output
    // row 0 of its tiles, output row of that pixel, first lane, pixels per row); group `i`'s
    // runs are `segments[groups[i]..groups[i + 1]]`.
    ws.segments.clear();
    ws.groups.clear();
    for start in (0..tc).step_by(LANES) {
        ws.groups.push(ws.segments.len());
        for run in runs(geo, g0 + start, g0 + (start + LANES).min(tc)) {
            let (oy, ox) = (run.ty * OUT, run.tx0 * OUT);
            let pixels = ((run.tx1 - run.tx0) * OUT).min(ow - ox);
            ws.segments
                .push((run.s * co * oh * ow + oy * ow + ox, oy, run.col, pixels));
        }
    }
    ws.groups.push(ws.segments.len());
    // The output rows of channel 0 the chunk writes, per sample: (offset, length).
    ws.bands.clear();
    let tps = geo.tiles();
    for s in g0 / tps..=(g1 - 1) / tps {
        let first = (g0.max(s * tps) - s * tps) / geo.tiles_w() * OUT;
        let end = ((g1.min((s + 1) * tps) - s * tps - 1) / geo.tiles_w() * OUT + OUT).min(oh);
        ws.bands.push((s * co * oh * ow + first * ow, (end - first) * ow));
    }
    let (m, segments, groups, bands) = (&ws.m, &ws.segments, &ws.groups, &ws.bands);
    for o in 0..co {
        let b = bias.get(o).copied().unwrap_or(0.0);
        let plane = o * oh * ow;
        // The next channel's rows start on other pages, where the hardware prefetcher does
        // not follow: ask for them now.
        if o + 1 < co {
            for &(at, len) in bands {
                prefetch(&y[at + plane + oh * ow..][..len]);
            }
        }
        for (group, start) in (0..tc).step_by(LANES).enumerate() {
            // Lanes past the chunk's last tile hold stale values (the buffer has LANES of
            // slack); they are computed, not stored.
            // SAFETY: `isa` is only a vector path on a CPU that has it.
            let rows = unsafe { output_rows(isa, m, ms, o * tc + start, b) };
            for (r, cells) in rows.iter().enumerate() {
                for &(at, oy, lane, pixels) in &segments[groups[group]..groups[group + 1]] {
                    if oy + r < oh {
                        let at = at + plane + r * ow;
                        copy_short(&cells[lane * OUT..lane * OUT + pixels], &mut y[at..at + pixels]);
                    }
                }
            }
        }
    }
}

/// The four output rows of the [`LANES`] tiles at `at` of `M`'s planes (`ms` apart), each
/// in pixel order, plus `b`, computed on `isa`.
///
/// # Safety
/// The CPU must have `isa`.
#[inline(always)]
pub(super) unsafe fn output_rows(isa: Isa, m: &[f32], ms: usize, at: usize, b: f32) -> [[f32; LANES * OUT]; OUT] {
    #[inline(always)]
    unsafe fn rows_of<V: PixelRow>(m: &[f32], ms: usize, at: usize, b: f32) -> [[f32; LANES * OUT]; OUT] {
        // SAFETY: the caller guarantees the instruction set.
        let rows = output_tiles(|xi| unsafe { V::load(&m[xi * ms + at..]) });
        [
            V::pixel_row(rows[0], b),
            V::pixel_row(rows[1], b),
            V::pixel_row(rows[2], b),
            V::pixel_row(rows[3], b),
        ]
    }
    // SAFETY: the caller guarantees the instruction set of `isa`.
    on_vector!(isa, V => unsafe { rows_of::<V>(m, ms, at, b) })
}

/// `V[36][in][g1 − g0]` (planes [`plane_stride`] apart), the transformed input tiles `g0..g1` of the samples in `x`, exactly as
/// [`correlate`] computes them (for the kernel gradient in `weights.rs`).
pub(super) fn transformed_inputs<'a>(
    isa: Isa,
    geo: &Geometry,
    x: &[f32],
    g0: usize,
    g1: usize,
    ws: &'a mut Workspace,
) -> &'a [f32] {
    ws.v.resize(TILE * plane_stride(geo.ci * (g1 - g0)), 0.0);
    transform_inputs_on(isa, geo, x, g0, g1, ws);
    &ws.v
}
