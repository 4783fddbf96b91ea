//! The Winograd F(4×4, 3×3) kernel gradient of a stride-1 3×3 correlation: the forward pass
//! `Y = Aᵀ[(G g Gᵀ) ⊙ (Bᵀ d B)]A` transposed.
//!
//! # Math
//! Per output tile, `Σ dy ⊙ Y` is bilinear in the filter `g` and the input tile `d`, so the
//! gradient of one 4×4 tile's outputs with respect to the 3×3 filter is
//! `dW = Gᵀ [(A dy Aᵀ) ⊙ (Bᵀ d B)] G`: the input tiles transformed exactly as the forward pass
//! does (`V[36][C][T]`), the output-gradient tiles by `A · dy · Aᵀ` (4×4 → 6×6, zeros outside
//! the output; `D[36][F][T]`), 36 matrix products `M[ξ] (F × C) += D[ξ] (F × T) · V[ξ]ᵀ (T × C)`
//! summed over chunks of tiles and over samples, and once per call `dW = Gᵀ M G` (6×6 → 3×3).
//! The products' inner dimension is the tile count, long for any batch, which suits the gemm.

use super::conv::{Geometry, Workspace, plane_stride, transformed_inputs};
#[cfg(target_arch = "x86_64")]
use super::moves::QuadRow;
use super::transform::{IN, LANES, Lanes, OUT, TILE};
#[cfg(target_arch = "x86_64")]
use super::vector::{Avx2, Avx512};
use super::vector::{Vector, on_vector};
use crate::cnn::aligned::AlignedVec;
use crate::cnn::gemm::{Isa, Op, sgemm_with};
use crate::cnn::simd;

/// The value of `A dy Aᵀ` (row 1, column 1 of the 6×6 result) that is its 4×4 tile's sum.
const TILE_SUM: usize = IN + 1;

/// Per-task buffers of [`kernel_gradient`], grown to the largest call and never shrunk, so
/// steady-state calls do not allocate.
#[derive(Default)]
pub struct WeightWorkspace {
    /// The forward pass's input-transform buffers; `V[36][C][T]` of one chunk lives there.
    inputs: Workspace,
    /// `D[36][F][T]`, the transformed output-gradient tiles of one chunk.
    d: AlignedVec,
    /// `M[36][F][C]`, the products summed over every chunk.
    m: AlignedVec,
}

/// The kernel gradient `dkernel (F, C, 3, 3)` (overwritten, `F·C·9` values) of the forward
/// correlation `geo` (from [`Geometry::forward`]) over the samples in `x` (each `C·H·W`) with
/// output gradients `dy` (each `F·OH·OW`); and, unless `dbias` is empty, the bias gradient
/// (overwritten, `F` values: each channel's `dy` summed). Products run on `isa`, on the
/// calling thread.
///
/// The bias gradient comes from the transformed output gradients: value (1, 1) of
/// `A dy Aᵀ` is the sum of the tile's 16 values (row 1 of `A` is all ones), so summing that
/// row of `D` over the tiles sums `dy` without reading it again.
pub fn kernel_gradient(
    isa: Isa,
    geo: &Geometry,
    x: &[f32],
    dy: &[f32],
    dkernel: &mut [f32],
    dbias: &mut [f32],
    ws: &mut WeightWorkspace,
) {
    let (c, f) = (geo.ci, geo.co);
    assert!(
        dbias.is_empty() || dbias.len() == f,
        "a bias gradient per output channel"
    );
    dbias.fill(0.0);
    let samples = x.len().checked_div(c * geo.h * geo.w).unwrap_or(0);
    let total = samples * geo.tiles();
    let chunk = geo.chunk_tiles();
    ws.m.resize(TILE * f * c, 0.0);
    if total == 0 {
        ws.m.fill(0.0);
    }
    let mut g0 = 0;
    while g0 < total {
        let g1 = (g0 + chunk).min(total);
        let tc = g1 - g0;
        let (ds, vs) = (plane_stride(f * tc), plane_stride(c * tc));
        ws.d.resize(TILE * ds, 0.0);
        transform_grads_on(isa, geo, dy, g0, g1, &mut ws.d);
        if !dbias.is_empty() {
            let sums = &ws.d[TILE_SUM * ds..][..f * tc];
            for (db, row) in dbias.iter_mut().zip(sums.chunks_exact(tc)) {
                *db += simd::sum(row);
            }
        }
        let v = transformed_inputs(isa, geo, x, g0, g1, &mut ws.inputs);
        for xi in 0..TILE {
            sgemm_with(
                isa,
                f,
                c,
                tc,
                &ws.d[xi * ds..],
                Op::N,
                &v[xi * vs..],
                Op::T,
                &mut ws.m[xi * f * c..],
                g0 > 0,
                false,
            );
        }
        g0 = g1;
    }
    for fo in 0..f {
        for ch in 0..c {
            let m: [f32; TILE] = std::array::from_fn(|xi| ws.m[(xi * f + fo) * c + ch]);
            dkernel[(fo * c + ch) * 9..][..9].copy_from_slice(&kernel_tile(m));
        }
    }
}

/// `Gᵀ m` along one axis (6 → 3), in f64: the transpose of the forward filter transform `G g`.
fn kernel_1d(m: [f64; IN]) -> [f64; 3] {
    // Multiplications by the reciprocals: divisions had been most of this step's time.
    const SIXTH: f64 = 1.0 / 6.0;
    const TWELFTH: f64 = 1.0 / 12.0;
    const TWENTY_FOURTH: f64 = 1.0 / 24.0;
    let [m0, m1, m2, m3, m4, m5] = m;
    [
        (m0 * 6.0 - (m1 + m2) * 4.0 + (m3 + m4)) * TWENTY_FOURTH,
        ((m2 - m1) * 2.0 + (m3 - m4)) * TWELFTH,
        (m3 + m4 - m1 - m2) * SIXTH + m5,
    ]
}

/// `Gᵀ m G` of one 6×6 tile `m` (row-major) → the 3×3 kernel gradient (row-major), rounded once
/// to f32.
fn kernel_tile(m: [f32; TILE]) -> [f32; 9] {
    let m = m.map(f64::from);
    let mut t = [[0.0; IN]; 3];
    for j in 0..IN {
        let col = std::array::from_fn(|i| m[i * IN + j]);
        for (a, v) in kernel_1d(col).into_iter().enumerate() {
            t[a][j] = v;
        }
    }
    let mut g = [0.0; 9];
    for (a, row) in t.iter().enumerate() {
        for (b, v) in kernel_1d(*row).into_iter().enumerate() {
            g[a * 3 + b] = v as f32;
        }
    }
    g
}

/// `A y` along one axis of [`LANES`] tiles (4 → 6, `A` the transpose of the output transform
/// `Aᵀ`). Plain multiplies and adds, never fused, so every path gives the same bits.
#[inline(always)]
fn grad_1d<V: Vector>(y: [V; OUT]) -> [V; IN] {
    let [y0, y1, y2, y3] = y;
    let a = y0.add(y2);
    let b = y1.add(y3);
    let c = y0.add(y2.scale(4.0));
    let e = y1.add(y3.scale(4.0)).scale(2.0);
    [y0, a.add(b), a.sub(b), c.add(e), c.sub(e), y3]
}

/// The 16 values of [`LANES`] gathered tiles as vectors.
///
/// # Safety
/// The CPU must have `V`'s instruction set.
#[inline(always)]
unsafe fn loaded<V: Vector>(src: &[Lanes; OUT * OUT]) -> [V; OUT * OUT] {
    let mut y = [unsafe { V::load(&src[0]) }; OUT * OUT];
    for (y, src) in y.iter_mut().zip(src).skip(1) {
        // SAFETY: the caller guarantees the instruction set.
        *y = unsafe { V::load(src) };
    }
    y
}

/// `D = A dy Aᵀ` of [`LANES`] tiles (`y[r·4 + q]`: output row `r`, column `q` of every tile),
/// value `i·6 + j` (row `i`, column `j` of the 6×6 result) stored into
/// `d[(i·6 + j)·ds + at..]`, `count` lanes.
#[inline(always)]
fn grad_tiles<V: Vector>(y: [V; OUT * OUT], d: &mut [f32], ds: usize, at: usize, count: usize) {
    // Down each column first (t[q][i]: row i of column q's transform), then along each row.
    let t = [
        grad_1d([y[0], y[4], y[8], y[12]]),
        grad_1d([y[1], y[5], y[9], y[13]]),
        grad_1d([y[2], y[6], y[10], y[14]]),
        grad_1d([y[3], y[7], y[11], y[15]]),
    ];
    for i in 0..IN {
        let row = grad_1d([t[0][i], t[1][i], t[2][i], t[3][i]]);
        for (j, v) in row.into_iter().enumerate() {
            v.store(&mut d[(i * IN + j) * ds + at..][..count]);
        }
    }
}

/// [`transform_grads`] compiled for `isa` (the transposes and transforms pick that path's
/// vector type; the surrounding loops are the same).
fn transform_grads_on(isa: Isa, geo: &Geometry, dy: &[f32], g0: usize, g1: usize, d: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx512f")]
        fn avx512(geo: &Geometry, dy: &[f32], g0: usize, g1: usize, d: &mut [f32]) {
            transform_grads(geo, dy, g0, g1, d, Isa::Avx512);
        }
        #[target_feature(enable = "avx2")]
        fn avx2(geo: &Geometry, dy: &[f32], g0: usize, g1: usize, d: &mut [f32]) {
            transform_grads(geo, dy, g0, g1, d, Isa::Avx2);
        }
        if isa == Isa::Avx512 && isa.is_available() {
            // SAFETY: this CPU has AVX-512F (checked on the line above).
            return unsafe { avx512(geo, dy, g0, g1, d) };
        }
        if isa == Isa::Avx2 && isa.is_available() {
            // SAFETY: this CPU has AVX2 (checked on the line above).
            return unsafe { avx2(geo, dy, g0, g1, d) };
        }
    }
    transform_grads(geo, dy, g0, g1, d, Isa::Portable);
}

/// Where one tile's 4×4 output-gradient values are: the index of its top-left value in its
/// sample's first channel, and how many of its rows and columns lie inside the output.
#[derive(Clone, Copy, Default)]
struct TileAt {
    start: usize,
    rows: usize,
    cols: usize,
}

/// `D[ξ][out][t]` of tiles `g0..g1` (numbered like the forward pass's), [`LANES`] tiles at a
/// time: each output channel's 4×4 tiles gathered (zeros outside the output), then transformed.
/// `isa` is the path the caller checked this CPU can run and compiled this copy for.
#[inline(always)]
fn transform_grads(geo: &Geometry, dy: &[f32], g0: usize, g1: usize, d: &mut [f32], isa: Isa) {
    let (tc, co, oh, ow) = (g1 - g0, geo.co, geo.oh, geo.ow);
    let (plane, ds) = (oh * ow, plane_stride(co * tc));
    let (tps, tw) = (geo.tiles(), ow.div_ceil(OUT));
    // Lanes past the chunk's last tile hold stale values; they are computed, not stored.
    let mut src = [[0.0; LANES]; OUT * OUT];
    let mut start = 0;
    while start < tc {
        let count = LANES.min(tc - start);
        let mut at = [TileAt::default(); LANES];
        for (l, tile) in at[..count].iter_mut().enumerate() {
            let g = g0 + start + l;
            let (s, k) = (g / tps, g % tps);
            let (oy, ox) = (k / tw * OUT, k % tw * OUT);
            *tile = TileAt {
                start: s * co * plane + oy * ow + ox,
                rows: OUT.min(oh - oy),
                cols: OUT.min(ow - ox),
            };
        }
        // Groups of 4 lanes holding 4 whole neighbouring tiles of one tile row: each of their
        // rows is 16 consecutive values, gathered as one 4×4 transpose.
        let quad: [bool; LANES / 4] = std::array::from_fn(|g| {
            let lanes = &at[4 * g..4 * g + 4];
            4 * g + 4 <= count
                && lanes
                    .iter()
                    .enumerate()
                    .all(|(j, a)| (a.rows, a.cols) == (OUT, OUT) && a.start == lanes[0].start + j * OUT)
        });
        let all_quads = count == LANES && quad.iter().all(|&whole| whole);
        for o in 0..co {
            #[cfg(target_arch = "x86_64")]
            if all_quads && isa != Isa::Portable {
                // Four whole quads: each 4×4 transpose done in registers (a stack copy written
                // in 4-float pieces and read back 16 at a time cannot be forwarded).
                let starts = [at[0].start, at[4].start, at[8].start, at[12].start];
                let (dy, at) = (&dy[o * plane..], o * tc + start);
                match isa {
                    // SAFETY: `isa` is only a vector path on a CPU that has it.
                    Isa::Avx512 => unsafe { grad_quads::<Avx512>(dy, starts, ow, d, ds, at) },
                    // SAFETY: as above.
                    _ => unsafe { grad_quads::<Avx2>(dy, starts, ow, d, ds, at) },
                }
                continue;
            }
            for (g, &whole) in quad.iter().enumerate() {
                let lanes = 4 * g..(4 * g + 4).min(count);
                if whole {
                    let base = at[4 * g].start + o * plane;
                    for r in 0..OUT {
                        let line: &[f32; 4 * OUT] = dy[base + r * ow..][..4 * OUT].try_into().expect("a quad row");
                        for q in 0..OUT {
                            for j in 0..4 {
                                src[r * OUT + q][4 * g + j] = line[j * OUT + q];
                            }
                        }
                    }
                    continue;
                }
                for l in lanes {
                    gather_tile(&at[l], &dy[o * plane..], ow, &mut src, l);
                }
            }
            let at = o * tc + start;
            // SAFETY: `isa` is only a vector path on a CPU that has it.
            on_vector!(isa, V => unsafe { grad_tiles(loaded::<V>(&src), d, ds, at, count) });
        }
        start += count;
    }
}

/// [`grad_tiles`] of four whole quads of output-gradient tiles (`starts`, rows `ow` apart in
/// `dy`), gathered in registers, into `d` at `at` of each plane.
///
/// # Safety
/// The CPU must have `V`'s instruction set.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn grad_quads<V: QuadRow>(dy: &[f32], starts: [usize; 4], ow: usize, d: &mut [f32], ds: usize, at: usize) {
    // SAFETY: the caller guarantees the instruction set.
    grad_tiles(unsafe { V::quads(dy, starts, ow) }, d, ds, at, LANES);
}

/// Lane `l` of `src` from the tile at `tile` (its start counted from `dy`'s beginning), zeros
/// outside the output.
#[inline(always)]
fn gather_tile(tile: &TileAt, dy: &[f32], ow: usize, src: &mut [Lanes; OUT * OUT], l: usize) {
    if (tile.rows, tile.cols) == (OUT, OUT) {
        for r in 0..OUT {
            let line: &[f32; OUT] = dy[tile.start + r * ow..][..OUT].try_into().expect("a tile row");
            for (q, v) in line.iter().enumerate() {
                src[r * OUT + q][l] = *v;
            }
        }
    } else {
        for r in 0..OUT {
            for q in 0..OUT {
                let inside = r < tile.rows && q < tile.cols;
                src[r * OUT + q][l] = if inside { dy[tile.start + r * ow + q] } else { 0.0 };
            }
        }
    }
}
