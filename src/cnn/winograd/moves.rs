//! The data movement of the tile transforms: padded rows into tile columns (a stride-4
//! deinterleave), transformed output rows back into pixel order, short copies without `memcpy`
//! calls, and prefetches. The AVX-512 and AVX2 versions move values between registers with
//! their permutes and shuffles; each has a plain version that any CPU runs.

use super::transform::{IN, OUT};
#[cfg(target_arch = "x86_64")]
use super::vector::{Avx2, Avx512};
use super::vector::{LANES, Lanes, Vector, copy_lanes, lanes_at};

/// Column `j` of [`LANES`] tiles from one padded row: `cols[j][k] = block[4k + j]`.
#[inline(always)]
pub(super) fn deinterleave(block: &[f32; LANES * OUT + OUT], cols: &mut [Lanes; IN]) {
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
pub(super) unsafe fn deinterleave_avx512(block: &[f32; LANES * OUT + OUT], cols: &mut [Lanes; IN]) {
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

/// Asks the CPU to bring `data` into cache (a hint; does nothing off x86-64).
#[inline(always)]
pub(super) fn prefetch(data: &[f32]) {
    #[cfg(target_arch = "x86_64")]
    for line in data.chunks(16) {
        // SAFETY: a prefetch never faults, and the pointer is inside `data`.
        unsafe {
            std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(line.as_ptr().cast());
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = data;
}

/// [`deinterleave`] with AVX2's in-lane shuffles, eight tiles at a time ([`columns_avx2`]);
/// columns 4 and 5 as columns 0 and 1 of the block moved on by one tile.
///
/// # Safety
/// The CPU must have AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(super) unsafe fn deinterleave_avx2(block: &[f32; LANES * OUT + OUT], cols: &mut [Lanes; IN]) {
    use std::arch::x86_64::*;
    const _: () = assert!(LANES == 16 && OUT == 4 && IN == 6);
    let p = block.as_ptr();
    // SAFETY: `block` holds 68 values: the loads at 0..64 and 4..68 stay inside it; each
    // store writes 8 of a column's 16 floats.
    unsafe {
        for half in 0..2 {
            for (shift, js) in [(0, 0..4), (OUT, 4..6)] {
                let at = half * 8 * OUT + shift;
                let c = columns_avx2([0, 8, 16, 24].map(|o| _mm256_loadu_ps(p.add(at + o))));
                for j in js {
                    _mm256_storeu_ps(cols[j].as_mut_ptr().add(8 * half), c[j - shift]);
                }
            }
        }
    }
}

/// Columns 0–3 of eight 4-wide tiles held two per register (`r[g]`: tiles `2g` and `2g + 1`):
/// column `j` is value `j` of each tile, in tile order. A 4×4 transpose within each 128-bit
/// half (tiles 0, 2, 4, 6 in the low halves, 1, 3, 5, 7 in the high), then one cross-lane
/// permute back into tile order.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn columns_avx2(r: [std::arch::x86_64::__m256; 4]) -> [std::arch::x86_64::__m256; 4] {
    use std::arch::x86_64::*;
    let [r0, r1, r2, r3] = r;
    let (u0, u1) = (_mm256_unpacklo_ps(r0, r1), _mm256_unpackhi_ps(r0, r1));
    let (u2, u3) = (_mm256_unpacklo_ps(r2, r3), _mm256_unpackhi_ps(r2, r3));
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    [
        _mm256_permutevar8x32_ps(_mm256_shuffle_ps::<0x44>(u0, u2), order),
        _mm256_permutevar8x32_ps(_mm256_shuffle_ps::<0xEE>(u0, u2), order),
        _mm256_permutevar8x32_ps(_mm256_shuffle_ps::<0x44>(u1, u3), order),
        _mm256_permutevar8x32_ps(_mm256_shuffle_ps::<0xEE>(u1, u3), order),
    ]
}

/// One output row of [`LANES`] tiles in pixel order: `cells[4k + q] = row[q][k]`.
#[inline(always)]
fn interleave(row: &[Lanes; OUT]) -> [f32; LANES * OUT] {
    let mut cells = [0.0; LANES * OUT];
    for k in 0..LANES {
        for q in 0..OUT {
            cells[k * OUT + q] = row[q][k];
        }
    }
    cells
}

/// A vector type's way of putting one transformed output row of [`LANES`] tiles into pixel
/// order, plus `b`: `cells[4k + q] = row[q][k] + b` ([`interleave`], or AVX-512's permutes).
pub(super) trait PixelRow: Vector {
    #[inline(always)]
    fn pixel_row(row: [Self; OUT], b: f32) -> [f32; LANES * OUT] {
        interleave(&[
            row[0].lanes_plus(b),
            row[1].lanes_plus(b),
            row[2].lanes_plus(b),
            row[3].lanes_plus(b),
        ])
    }
}

impl PixelRow for Lanes {}

#[cfg(target_arch = "x86_64")]
impl PixelRow for Avx2 {}

#[cfg(target_arch = "x86_64")]
impl PixelRow for Avx512 {
    #[inline(always)]
    fn pixel_row(row: [Self; OUT], b: f32) -> [f32; LANES * OUT] {
        // SAFETY: an `Avx512` value exists only where the CPU has AVX-512F (vector.rs).
        unsafe { interleave_avx512([row[0].0, row[1].0, row[2].0, row[3].0], b) }
    }
}

/// [`interleave`] with AVX-512's two-register permutes: columns 0|1 and 2|3 into pairs, then
/// the pairs into pixel order.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn interleave_avx512(row: [std::arch::x86_64::__m512; OUT], b: f32) -> [f32; LANES * OUT] {
    use std::arch::x86_64::*;
    const _: () = assert!(LANES == 16 && OUT == 4);
    let mut cells = [0.0; LANES * OUT];
    // SAFETY: each store writes 16 of the 64 cells.
    unsafe {
        let bias = _mm512_set1_ps(b);
        let [q0, q1, q2, q3] = [0, 1, 2, 3].map(|q| _mm512_add_ps(row[q], bias));
        // Lanes 0–7 (lo) or 8–15 (hi) of two columns, alternating: a0 b0 a1 b1 …
        let lo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
        let hi = _mm512_add_epi32(lo, _mm512_set1_epi32(8));
        // Pairs 0–3 (first) or 4–7 (second) of two pair vectors, alternating.
        let first = _mm512_setr_epi32(0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23);
        let second = _mm512_add_epi32(first, _mm512_set1_epi32(8));
        let out = cells.as_mut_ptr();
        for (half, idx) in [lo, hi].into_iter().enumerate() {
            let ab = _mm512_permutex2var_ps(q0, idx, q1);
            let cd = _mm512_permutex2var_ps(q2, idx, q3);
            _mm512_storeu_ps(out.add(32 * half), _mm512_permutex2var_ps(ab, first, cd));
            _mm512_storeu_ps(out.add(32 * half + 16), _mm512_permutex2var_ps(ab, second, cd));
        }
    }
    cells
}

/// `src` into `dst` (equal lengths, a few dozen values at most) in fixed-size pieces, so no
/// `memcpy` call is paid per short row.
#[inline(always)]
pub(super) fn copy_short(src: &[f32], dst: &mut [f32]) {
    let (mut s, mut d) = (src.chunks_exact(LANES), dst.chunks_exact_mut(LANES));
    for (d, s) in (&mut d).zip(&mut s) {
        copy_lanes(&lanes_at(s, 0), d);
    }
    let (mut s4, mut d4) = (s.remainder().chunks_exact(4), d.into_remainder().chunks_exact_mut(4));
    for (d, s) in (&mut d4).zip(&mut s4) {
        if let (Ok(d), Ok(s)) = (<&mut [f32; 4]>::try_from(d), <&[f32; 4]>::try_from(s)) {
            *d = *s;
        }
    }
    for (d, s) in d4.into_remainder().iter_mut().zip(s4.remainder()) {
        *d = std::hint::black_box(*s);
    }
}

/// `dst` (a few values at most) set to zero without a `memset` call.
#[inline(always)]
pub(super) fn zero_short(dst: &mut [f32]) {
    let mut pieces = dst.chunks_exact_mut(LANES);
    for piece in &mut pieces {
        copy_lanes(&[0.0; LANES], piece);
    }
    for v in pieces.into_remainder() {
        *v = std::hint::black_box(0.0);
    }
}

/// Values `j`, `j + 4`, `j + 8`, `j + 12` of each of the four registers `l`, side by side:
/// lane `4g + k` is `l[g][4k + j]` (column `j` of four quads of four tiles, whose rows are 16
/// consecutive values). Three permutes.
///
/// # Safety
/// The CPU must have AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn quad_column(l: &[std::arch::x86_64::__m512; 4], j: usize) -> std::arch::x86_64::__m512 {
    use std::arch::x86_64::*;
    // Lanes 0–3 from the first register of a pair, 4–7 from the second; then lanes 0–7 of
    // both pairs side by side.
    let idx = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 0, 4, 8, 12, 16, 20, 24, 28);
    let idx = _mm512_add_epi32(idx, _mm512_set1_epi32(j as i32));
    let p01 = _mm512_permutex2var_ps(l[0], idx, l[1]);
    let p23 = _mm512_permutex2var_ps(l[2], idx, l[3]);
    _mm512_shuffle_f32x4::<0x44>(p01, p23)
}

/// The 16 values at `at[g]` of `src` for each quad `g`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn quad_loads(src: &[f32], at: [usize; 4]) -> [std::arch::x86_64::__m512; 4] {
    use std::arch::x86_64::*;
    let mut l = [_mm512_setzero_ps(); 4];
    for (l, &at) in l.iter_mut().zip(&at) {
        let line = &src[at..][..LANES];
        // SAFETY: `line` holds 16 floats.
        *l = unsafe { _mm512_loadu_ps(line.as_ptr()) };
    }
    l
}

/// Four whole quads of 4×4 tiles (four neighbouring tiles of one tile row, starting at
/// `starts[g]` of `src`, rows `stride` apart) as [`LANES`] lanes `4g + k`, transposed in
/// registers: `y[r·4 + q]` lane `4g + k` is `src[starts[g] + r·stride + 4k + q]`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(super) fn quads_avx512(src: &[f32], starts: [usize; 4], stride: usize) -> [Avx512; OUT * OUT] {
    use std::arch::x86_64::*;
    let mut y = [Avx512(_mm512_setzero_ps()); OUT * OUT];
    for r in 0..OUT {
        let l = quad_loads(src, starts.map(|s| s + r * stride));
        for q in 0..OUT {
            y[r * OUT + q] = Avx512(quad_column(&l, q));
        }
    }
    y
}

/// A vector type whose path can gather a row of four whole quads of input tiles straight into
/// registers ([`quad_row_avx512`], [`quad_row_avx2`]).
#[cfg(target_arch = "x86_64")]
pub(super) trait QuadRow: Vector {
    /// One padded row of four quads: see [`quad_row_avx512`].
    ///
    /// # Safety
    /// The CPU must have this type's instruction set.
    unsafe fn quad_row(row: &[f32], at: [usize; 4]) -> [Self; IN];

    /// Four whole quads of 4×4 tiles: see [`quads_avx512`].
    ///
    /// # Safety
    /// The CPU must have this type's instruction set.
    unsafe fn quads(src: &[f32], starts: [usize; 4], stride: usize) -> [Self; OUT * OUT];
}

#[cfg(target_arch = "x86_64")]
impl QuadRow for Avx512 {
    #[inline(always)]
    unsafe fn quad_row(row: &[f32], at: [usize; 4]) -> [Self; IN] {
        // SAFETY: the caller guarantees AVX-512F.
        unsafe { quad_row_avx512(row, at) }
    }

    #[inline(always)]
    unsafe fn quads(src: &[f32], starts: [usize; 4], stride: usize) -> [Self; OUT * OUT] {
        // SAFETY: the caller guarantees AVX-512F.
        unsafe { quads_avx512(src, starts, stride) }
    }
}

#[cfg(target_arch = "x86_64")]
impl QuadRow for Avx2 {
    #[inline(always)]
    unsafe fn quad_row(row: &[f32], at: [usize; 4]) -> [Self; IN] {
        // SAFETY: the caller guarantees AVX2.
        unsafe { quad_row_avx2(row, at) }
    }

    #[inline(always)]
    unsafe fn quads(src: &[f32], starts: [usize; 4], stride: usize) -> [Self; OUT * OUT] {
        // SAFETY: the caller guarantees AVX2.
        unsafe { quads_avx2(src, starts, stride) }
    }
}

/// [`quads_avx512`] with AVX2's in-lane shuffles ([`columns_avx2`]): each row of quads 0 and 1
/// gives lanes 0–7, of quads 2 and 3 lanes 8–15.
///
/// # Safety
/// The CPU must have AVX2. Always inlined, like [`quad_row_avx2`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn quads_avx2(src: &[f32], starts: [usize; 4], stride: usize) -> [Avx2; OUT * OUT] {
    use std::arch::x86_64::*;
    // SAFETY (every block below): the caller guarantees AVX2; each load reads 8 floats of a
    // piece checked to hold 16.
    let mut y = [Avx2([unsafe { _mm256_setzero_ps() }; 2]); OUT * OUT];
    for r in 0..OUT {
        for half in 0..2 {
            let (a, b) = (starts[2 * half] + r * stride, starts[2 * half + 1] + r * stride);
            let (a, b) = (&src[a..][..16], &src[b..][..16]);
            let c = unsafe {
                columns_avx2([
                    _mm256_loadu_ps(a.as_ptr()),
                    _mm256_loadu_ps(a[8..].as_ptr()),
                    _mm256_loadu_ps(b.as_ptr()),
                    _mm256_loadu_ps(b[8..].as_ptr()),
                ])
            };
            for q in 0..OUT {
                y[r * OUT + q].0[half] = c[q];
            }
        }
    }
    y
}

/// [`quad_row_avx512`] with AVX2's in-lane shuffles, as [`deinterleave_avx2`] does for eight
/// consecutive tiles: lanes 0–7 from quads 0 and 1, lanes 8–15 from quads 2 and 3.
///
/// # Safety
/// The CPU must have AVX2. Always inlined (a plain `unsafe fn`, so it may be), into the
/// caller's AVX2 code: called out of line, its six results went through the stack.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn quad_row_avx2(row: &[f32], at: [usize; 4]) -> [Avx2; IN] {
    use std::arch::x86_64::*;
    // SAFETY (every block below): the caller guarantees AVX2; each load reads 8 floats of a
    // piece checked to hold them.
    let mut cols = [[unsafe { _mm256_setzero_ps() }; 2]; IN];
    for half in 0..2 {
        for (shift, js) in [(0, 0..4), (OUT, 4..6)] {
            let (a, b) = (at[2 * half] + shift, at[2 * half + 1] + shift);
            let (a, b) = (&row[a..][..16], &row[b..][..16]);
            let r = unsafe {
                [
                    _mm256_loadu_ps(a.as_ptr()),
                    _mm256_loadu_ps(a[8..].as_ptr()),
                    _mm256_loadu_ps(b.as_ptr()),
                    _mm256_loadu_ps(b[8..].as_ptr()),
                ]
            };
            let c = unsafe { columns_avx2(r) };
            for j in js {
                cols[j][half] = c[j - shift];
            }
        }
    }
    [
        Avx2(cols[0]),
        Avx2(cols[1]),
        Avx2(cols[2]),
        Avx2(cols[3]),
        Avx2(cols[4]),
        Avx2(cols[5]),
    ]
}

/// Row `i` of four whole quads of 6×6 input tiles: quad `g`'s tiles start at padded column
/// `at[g]` of one padded row (tile `k` of the quad reads columns `4k..4k + 6` from there), and
/// column `j` of the result holds lane `4g + k` = that row's value `at[g] + 4k + j`. Columns 4
/// and 5 are columns 0 and 1 of the quads moved on by one tile. `row` must hold 20 values from
/// each `at[g]`.
///
/// # Safety
/// The CPU must have AVX-512F. Always inlined, like [`quad_row_avx2`].
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) unsafe fn quad_row_avx512(row: &[f32], at: [usize; 4]) -> [Avx512; IN] {
    // SAFETY: the caller guarantees AVX-512F.
    unsafe {
        let a = quad_loads(row, at);
        let b = quad_loads(row, at.map(|at| at + OUT));
        [
            Avx512(quad_column(&a, 0)),
            Avx512(quad_column(&a, 1)),
            Avx512(quad_column(&a, 2)),
            Avx512(quad_column(&a, 3)),
            Avx512(quad_column(&b, 0)),
            Avx512(quad_column(&b, 1)),
        ]
    }
}
