//! Single-precision GEMM on AVX2 + FMA (256-bit, BLIS-style blocking), for CPUs without AVX-512.
//!
//! [`sgemm`] computes `C (m×n, row-major) = [C +] A·B` for arbitrarily strided `A` and `B`, on
//! one thread (callers parallelize over rows). It returns `false` without doing anything if the
//! CPU lacks AVX2 or FMA.
//!
//! Design (simpler than the AVX-512 kernel, which picks an orientation and reads more operands
//! in place):
//! * Micro-kernel: an `R×16` tile of `C` (`R ≤ 6`) in `2R` ymm accumulators; each k step loads
//!   two 8-wide vectors of `B` and broadcasts `R` elements of `A` into `2R` FMAs (at most 15 of
//!   the 16 ymm registers). It is instantiated for every `R` in 1..=6 and the row panels are
//!   balanced (m = 32 → 6, 6, 5, 5, 5, 5), so row tails cost no wasted work.
//! * `A` is read in place when its rows are contiguous (`Op::N`: each k step broadcasts from `R`
//!   row pointers) or its columns are (`Op::T`: `R` consecutive floats per step, unless the
//!   step's stride piles them into a few L1 sets); otherwise it is packed into k-major panels.
//!   (Packing was a scalar scatter: a quarter of the FMA time of the Winograd products, whose
//!   `A` is a 64 × 32 matrix reused by many small calls.)
//! * `B` is read in place when its rows are contiguous (`Op::N`), unless its row stride aliases
//!   in L1 while many `A` panels reread it; otherwise it is packed into 16-wide k-major panels
//!   (contiguous columns by 8 × 8 register transposes). A last panel narrower than 16 columns is
//!   always packed, zero-padded: that tile is computed in full into a small scratch tile and
//!   only its valid part is added to or stored into `C`, so no masks are needed and nothing
//!   outside the matrices is read or written.
//! * Blocking: k in balanced blocks of ≤ 256 (a 16-wide `B` panel stays in L1), `A` in blocks of
//!   ≤ 120 rows (L2), `B` in blocks of ≤ 1024 columns. Loop order: `B` block, k block (pack
//!   `B`), `A` block (pack `A`), `B` panel, `A` panel.
//! * The k blocks depend only on `k`, and each `C` element sums its k block in order, so a
//!   row's result does not depend on how the rows are split between threads.
//! * Packing buffers are the thread-local buffer shared with the AVX-512 kernel, so
//!   steady-state calls do not allocate.

#[cfg(target_arch = "x86_64")]
pub use imp::sgemm;

/// Non-x86-64 targets: AVX2 is unavailable; always returns `false` so the caller falls back.
#[cfg(not(target_arch = "x86_64"))]
pub fn sgemm(_product: &super::common::Product, _c: &mut [f32]) -> bool {
    false
}

/// True if this CPU can run the AVX2 + FMA kernel.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::super::common::{Product, Strided, ensure_len, k_blocks, stride_spreads, with_pack_buf};
    use std::arch::x86_64::*;

    /// Rows of a micro tile.
    const MR: usize = 6;
    /// Columns of a micro tile (two ymm).
    const NR: usize = 16;
    /// Maximum depth of one k block.
    const KC_MAX: usize = 256;
    /// Maximum rows of one packed A block (a multiple of MR).
    const MC_MAX: usize = 120;
    /// Maximum columns of one packed B block (a multiple of NR).
    const NC_MAX: usize = 1024;

    /// `product` into `c` (row-major, row stride n). Returns false (doing nothing) if the CPU
    /// lacks AVX2 or FMA, so the caller can fall back.
    ///
    /// With `accumulate == false`, `c` is never read (it may hold NaN); with `k == 0` the
    /// result is `c = 0` (or `c` unchanged when accumulating). Only `c[..m*n]` is touched.
    ///
    /// # Panics
    /// If a slice is too short for the given shape and strides, or an index computation
    /// overflows `usize` (both are caller bugs).
    pub fn sgemm(product: &Product, c: &mut [f32]) -> bool {
        if !super::available() {
            return false;
        }
        if !product.check("avx2", c) {
            return true;
        }
        let Product {
            m,
            n,
            k,
            a,
            b,
            accumulate,
        } = *product;
        with_pack_buf(|buf| {
            let (_, kc_nom) = k_blocks(k, KC_MAX);
            let need = kc_nom * (MC_MAX + NC_MAX.min(n.next_multiple_of(NR))) + 16;
            ensure_len(buf, need, KC_MAX * (MC_MAX + NC_MAX) + 16);
            // SAFETY: AVX2 and FMA are available (checked above); `Product::check` validated
            // that `c` holds m·n values and that m, n, k ≥ 1; `buf` holds what `blocked`
            // packs into (resized above). Reads of `a` and `b` are bounds-checked.
            unsafe { blocked(m, n, k, a, b, c.as_mut_ptr(), accumulate, buf) };
        });
        true
    }

    /// The blocked loops over packed panels.
    ///
    /// # Safety
    /// AVX2 and FMA available; `c` valid
    /// for `m·n` reads and writes (row stride `n`); `buf` holds at least
    /// `kc·(MC_MAX + min(NC_MAX, round_up(n, NR)))` floats; `m, n, k ≥ 1`.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn blocked(
        m: usize,
        n: usize,
        k: usize,
        a: Strided,
        b: Strided,
        c: *mut f32,
        accumulate: bool,
        buf: &mut [f32],
    ) {
        let (_, kc_nom) = k_blocks(k, KC_MAX);
        let (abuf, bbuf) = buf.split_at_mut(kc_nom * MC_MAX);
        // Row-major B is read in place (only a last, narrower panel is packed), unless its row
        // stride piles a panel's lines into a few L1 sets while many A panels reread them.
        let b_direct = b.rows_contiguous() && (m < 8 * MR || stride_spreads(b.rs(), 16, 4));
        // A in place along its rows, or along its columns unless their stride piles the k
        // steps' lines into a few L1 sets.
        let a_direct = a.rows_contiguous() || (a.cols_contiguous() && stride_spreads(a.cs(), kc_nom, 8));
        let mut tile = [0f32; MR * NR];
        for jc in (0..n).step_by(NC_MAX) {
            let nc = NC_MAX.min(n - jc);
            let full = nc - nc % NR;
            let mut pc = 0;
            while pc < k {
                let kc = kc_nom.min(k - pc);
                // Later k blocks add to the partial sums of earlier ones.
                let acc = accumulate || pc > 0;
                if !b_direct {
                    pack_b(kc, nc, b.offset(pc, jc), bbuf);
                } else if full < nc {
                    pack_b(kc, nc - full, b.offset(pc, jc + full), bbuf);
                }
                for ic in (0..m).step_by(MC_MAX) {
                    let mc = MC_MAX.min(m - ic);
                    if !a_direct {
                        pack_a(mc, kc, a.offset(ic, pc), abuf);
                    }
                    for jr in (0..nc).step_by(NR) {
                        let nr = NR.min(nc - jr);
                        // This B panel: (pointer to step 0, column 0; row stride).
                        let (bp, b_rs) = if !b_direct {
                            (bbuf[jr * kc..(jr + NR) * kc].as_ptr(), NR)
                        } else if jr < full {
                            (b.ptr(pc, jc + jr), b.rs())
                        } else {
                            (bbuf[..kc * NR].as_ptr(), NR)
                        };
                        for (q, (ir, mr)) in row_panels(mc).enumerate() {
                            // This A panel: (pointer to row 0, step 0; step stride, row stride).
                            let (ap, a_ps, a_rs) = if a_direct {
                                (a.ptr(ic + ir, pc), a.cs(), a.rs())
                            } else {
                                (abuf[q * MR * kc..(q + 1) * MR * kc].as_ptr(), MR, 1)
                            };
                            // Row ic+ir, column jc+jr of C.
                            let at = (ic + ir) * n + jc + jr;
                            if nr == NR {
                                // SAFETY: the A panel (packed: kc·MR floats; in place: rows
                                // ic+ir..+mr ≤ m, steps pc..pc+kc ≤ k of A) is validated; the B panel has
                                // kc rows of 16 floats at stride b_rs (packed, or columns
                                // jc+jr..+16 ≤ n of rows pc..pc+kc ≤ k of B, validated by
                                // `Product::check`); the mr×16 tile at `at` (row stride n)
                                // lies inside C since ic+ir+mr ≤ m and jc+jr+16 ≤ n.
                                unsafe { kernel_rows(mr, kc, (ap, a_ps, a_rs), bp, b_rs, c.add(at), n, acc) };
                            } else {
                                // SAFETY: A and B panels as above; the kernel writes mr rows of
                                // the 6×16 scratch tile (row stride NR) and reads them only if
                                // `acc` (false here).
                                unsafe {
                                    kernel_rows(mr, kc, (ap, a_ps, a_rs), bp, b_rs, tile.as_mut_ptr(), NR, false)
                                };
                                for r in 0..mr {
                                    for (j, &t) in tile[r * NR..r * NR + nr].iter().enumerate() {
                                        // SAFETY: row ic+ir+r < m, column jc+jr+j < n of C.
                                        unsafe {
                                            let cp = c.add(at + r * n + j);
                                            *cp = if acc { *cp + t } else { t };
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                pc += kc;
            }
        }
    }

    /// Packs the `kc×nc` block of `b` into 16-wide panels, zero-padded to whole panels:
    /// panel q, row p, column j at `dst[q·kc·NR + p·NR + j]`. Contiguous runs of `b` (rows of
    /// `Op::N`, columns of `Op::T`) are read as slices.
    fn pack_b(kc: usize, nc: usize, b: Strided, dst: &mut [f32]) {
        for (q, panel) in dst[..nc.div_ceil(NR) * NR * kc].chunks_exact_mut(NR * kc).enumerate() {
            let j0 = q * NR;
            let w = NR.min(nc - j0);
            if w < NR {
                panel.fill(0.0);
            }
            if b.rows_contiguous() {
                for (p, row) in panel.chunks_exact_mut(NR).enumerate() {
                    row[..w].copy_from_slice(b.row_run(p, j0, w));
                }
            } else if b.cols_contiguous() {
                // SAFETY: `pack_b` is only called from `blocked`, which requires AVX2.
                unsafe { pack_b_columns(kc, j0, w, b, panel) };
            } else {
                for (p, row) in panel.chunks_exact_mut(NR).enumerate() {
                    for (j, d) in row[..w].iter_mut().enumerate() {
                        *d = b.get(p, j0 + j);
                    }
                }
            }
        }
    }

    /// Columns `j0..j0 + w` (`w ≤ 16`) of the `kc`-step block `b`, whose columns are
    /// contiguous, into one 16-wide panel (step p, column j at `panel[p·NR + j]`): 8 × 8 blocks
    /// transposed in registers (24 shuffles per 64 values instead of 64 scalar stores), the
    /// edges value by value.
    #[target_feature(enable = "avx2")]
    fn pack_b_columns(kc: usize, j0: usize, w: usize, b: Strided, panel: &mut [f32]) {
        let (kc8, w8) = (kc - kc % 8, w - w % 8);
        for jb in (0..w8).step_by(8) {
            let cols: [&[f32]; 8] = std::array::from_fn(|j| b.col_run(0, j0 + jb + j, kc));
            for pb in (0..kc8).step_by(8) {
                // SAFETY: each load reads 8 values of a column slice holding kc ≥ pb + 8.
                let r = cols.map(|col| unsafe { _mm256_loadu_ps(col[pb..pb + 8].as_ptr()) });
                for (q, v) in transpose8(r).into_iter().enumerate() {
                    let row = &mut panel[(pb + q) * NR + jb..][..8];
                    // SAFETY: `row` holds 8 floats.
                    unsafe { _mm256_storeu_ps(row.as_mut_ptr(), v) };
                }
            }
        }
        for j in 0..w {
            let col = b.col_run(0, j0 + j, kc);
            let first = if j < w8 { kc8 } else { 0 };
            for (p, &v) in col.iter().enumerate().skip(first) {
                panel[p * NR + j] = v;
            }
        }
    }

    /// The 8 × 8 transpose of eight registers: lane `j` of result `q` is lane `q` of `r[j]`.
    #[target_feature(enable = "avx2")]
    #[inline]
    fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
        let t = [
            _mm256_unpacklo_ps(r[0], r[1]),
            _mm256_unpackhi_ps(r[0], r[1]),
            _mm256_unpacklo_ps(r[2], r[3]),
            _mm256_unpackhi_ps(r[2], r[3]),
            _mm256_unpacklo_ps(r[4], r[5]),
            _mm256_unpackhi_ps(r[4], r[5]),
            _mm256_unpacklo_ps(r[6], r[7]),
            _mm256_unpackhi_ps(r[6], r[7]),
        ];
        let s = [
            _mm256_shuffle_ps::<0x44>(t[0], t[2]),
            _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
            _mm256_shuffle_ps::<0x44>(t[1], t[3]),
            _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
            _mm256_shuffle_ps::<0x44>(t[4], t[6]),
            _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
            _mm256_shuffle_ps::<0x44>(t[5], t[7]),
            _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
        ];
        [
            _mm256_permute2f128_ps::<0x20>(s[0], s[4]),
            _mm256_permute2f128_ps::<0x20>(s[1], s[5]),
            _mm256_permute2f128_ps::<0x20>(s[2], s[6]),
            _mm256_permute2f128_ps::<0x20>(s[3], s[7]),
            _mm256_permute2f128_ps::<0x31>(s[0], s[4]),
            _mm256_permute2f128_ps::<0x31>(s[1], s[5]),
            _mm256_permute2f128_ps::<0x31>(s[2], s[6]),
            _mm256_permute2f128_ps::<0x31>(s[3], s[7]),
        ]
    }

    /// The row panels of an `mc`-row block: (first row, rows), at most `MR` rows each and
    /// balanced (m = 32 → 6, 6, 5, 5, 5, 5), so no panel wastes most of its kernel's work.
    fn row_panels(mc: usize) -> impl Iterator<Item = (usize, usize)> {
        let np = mc.div_ceil(MR);
        let (base, extra) = (mc / np, mc % np);
        (0..np).map(move |q| (q * base + q.min(extra), base + usize::from(q < extra)))
    }

    /// Packs the `mc×kc` block of `a` into the panels of [`row_panels`], `MR` floats per step
    /// whatever the panel's height (the rows past it are never read): panel q, row r, step p at
    /// `dst[q·kc·MR + p·MR + r]`. Contiguous runs of `a` (rows of `Op::N`, columns of `Op::T`)
    /// are read as slices.
    fn pack_a(mc: usize, kc: usize, a: Strided, dst: &mut [f32]) {
        let panels = dst[..mc.div_ceil(MR) * MR * kc].chunks_exact_mut(MR * kc);
        for (panel, (i0, h)) in panels.zip(row_panels(mc)) {
            if a.rows_contiguous() {
                for r in 0..h {
                    let row = a.row_run(i0 + r, 0, kc);
                    for (d, &v) in panel[r..].iter_mut().step_by(MR).zip(row) {
                        *d = v;
                    }
                }
            } else if a.cols_contiguous() {
                for (p, col) in panel.chunks_exact_mut(MR).enumerate() {
                    col[..h].copy_from_slice(a.col_run(i0, p, h));
                }
            } else {
                for (p, col) in panel.chunks_exact_mut(MR).enumerate() {
                    for (r, d) in col[..h].iter_mut().enumerate() {
                        *d = a.get(i0 + r, p);
                    }
                }
            }
        }
    }

    /// Calls the micro-kernel instantiated for `mr` rows.
    ///
    /// # Safety
    /// See [`kernel`]; `1 ≤ mr ≤ MR`.
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel_rows(
        mr: usize,
        kc: usize,
        a: (*const f32, usize, usize),
        bp: *const f32,
        b_rs: usize,
        c: *mut f32,
        c_rs: usize,
        acc: bool,
    ) {
        let (ap, a_ps, a_rs) = a;
        // SAFETY: the caller upholds `kernel`'s contract for R = mr.
        unsafe {
            match mr {
                6 => kernel::<6>(kc, ap, a_ps, a_rs, bp, b_rs, c, c_rs, acc),
                5 => kernel::<5>(kc, ap, a_ps, a_rs, bp, b_rs, c, c_rs, acc),
                4 => kernel::<4>(kc, ap, a_ps, a_rs, bp, b_rs, c, c_rs, acc),
                3 => kernel::<3>(kc, ap, a_ps, a_rs, bp, b_rs, c, c_rs, acc),
                2 => kernel::<2>(kc, ap, a_ps, a_rs, bp, b_rs, c, c_rs, acc),
                1 => kernel::<1>(kc, ap, a_ps, a_rs, bp, b_rs, c, c_rs, acc),
                _ => unreachable!("bad micro tile height {mr}"),
            }
        }
    }

    /// Micro-kernel: `C[r][j] (+)= Σ_p ap[p·a_ps + r·a_rs] · bp[p·b_rs + j]` for an `R`×16 tile
    /// (a packed A panel has `a_ps = MR`, `a_rs = 1`).
    ///
    /// # Safety
    /// AVX2 and FMA available; `R ≤ MR`; `ap` valid for reads at `p·a_ps + r·a_rs` (`p < kc`,
    /// `r < R`), `bp` for reads at
    /// `p·b_rs + j` (`p < kc`, `j < 16`); `c` valid for reads and writes at `r·c_rs + j`
    /// (`r < R`, `j < 16`). `c` is read only when `acc` is true.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel<const R: usize>(
        kc: usize,
        ap: *const f32,
        a_ps: usize,
        a_rs: usize,
        bp: *const f32,
        b_rs: usize,
        c: *mut f32,
        c_rs: usize,
        acc: bool,
    ) {
        let mut ac = [[_mm256_setzero_ps(); 2]; R];
        for p in 0..kc {
            // SAFETY: step p < kc of both packed panels.
            let (b0, b1) = unsafe { (_mm256_loadu_ps(bp.add(p * b_rs)), _mm256_loadu_ps(bp.add(p * b_rs + 8))) };
            for (r, row) in ac.iter_mut().enumerate() {
                // SAFETY: row r < R, step p < kc of the A panel.
                let x = unsafe { _mm256_broadcast_ss(&*ap.add(p * a_ps + r * a_rs)) };
                row[0] = _mm256_fmadd_ps(x, b0, row[0]);
                row[1] = _mm256_fmadd_ps(x, b1, row[1]);
            }
        }
        for (r, row) in ac.iter().enumerate() {
            // SAFETY: row r < R, columns 0..16 of the C tile.
            unsafe {
                let cr = c.add(r * c_rs);
                let (mut v0, mut v1) = (row[0], row[1]);
                if acc {
                    v0 = _mm256_add_ps(v0, _mm256_loadu_ps(cr));
                    v1 = _mm256_add_ps(v1, _mm256_loadu_ps(cr.add(8)));
                }
                _mm256_storeu_ps(cr, v0);
                _mm256_storeu_ps(cr.add(8), v1);
            }
        }
    }
}
