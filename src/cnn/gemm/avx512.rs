//! Single-precision GEMM on AVX-512F (BLIS-style blocking), self-contained (std only).
//!
//! [`sgemm`] computes `C (m×n, row-major) = [C +] A·B` for arbitrarily strided
//! `A` and `B`. It is single-threaded; callers parallelize at a higher level.
//! It returns `false` without doing anything if the CPU lacks AVX-512F.
//!
//! Design:
//! * Everything is computed as `D = X·Y` in one of two orientations: either
//!   `X = A`, `Y = B`, `D = C`, or `X = Bᵀ`, `Y = Aᵀ`, `D = Cᵀ` (the tile is
//!   transposed in registers when stored). A small cost model picks the one
//!   that packs the least and wastes the fewest vector lanes; e.g. the
//!   weight-gradient layout (B given transposed, i.e. stored as `Bᵀ`, n×k
//!   row-major) is done as `Cᵀ = Bᵀ·Aᵀ`, which reads the stored `Bᵀ` in place.
//! * Micro-kernel: an `R×32` (two zmm per row) or `R×16` tile of `D` (`R ≤ 14`,
//!   so 28 accumulators + 2 operand registers) held in registers; each k step
//!   loads one 32-wide row of `Y` and broadcasts `R` elements of `X` into FMAs.
//!   It is instantiated for every `R` in 1..=14, so `m` remainders run exactly
//!   sized kernels (row panels are balanced: m = 32 → 11+11+10); `n`
//!   remainders use masked loads/stores. No zero-padding or edge scratch, and
//!   no reads or writes outside the matrices.
//! * `Y` with unit column stride (row-major B, or transposed A) is read in
//!   place (unless a 4 KiB-aliasing row stride meets a large m); otherwise it
//!   is packed into 32-wide panels (16×16 register transposes when its rows
//!   are strided and columns contiguous).
//! * `X` is read in place when its rows or its columns are contiguous (each
//!   k step broadcasts from `R` row pointers, or from `R` consecutive floats);
//!   it is packed (one `R×kc` panel at a time) only for general strides, or
//!   when a column-contiguous `X` has a k stride that would pile its lines
//!   into few L1 sets.
//! * Blocking: k in balanced blocks of ≤ 256, `Y` in blocks of ≤ 1024 columns;
//!   loops: X panel outer, Y panel inner, so the `R×kc` X panel stays in L1
//!   while the Y block streams from L1/L2. A packed X panel is packed right
//!   before its use.
//! * Packing buffers live in a thread-local `Vec` reused across calls (at most
//!   ~1 MiB per thread), so steady-state calls do not allocate.

#[cfg(target_arch = "x86_64")]
pub use imp::sgemm;

/// Non-x86-64 targets: AVX-512 is unavailable; always returns `false` so the caller falls back.
#[cfg(not(target_arch = "x86_64"))]
pub fn sgemm(_product: &super::common::Product, _c: &mut [f32]) -> bool {
    false
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::super::common::{Product, ensure_len, k_blocks, stride_spreads, with_pack_buf};
    use std::arch::x86_64::*;

    /// Maximum rows of a micro tile (2·MR accumulators + 2 Y vectors ≤ 32 zmm).
    const MR: usize = 14;
    /// Columns of a micro tile (two zmm).
    const NR: usize = 32;
    /// Maximum depth of one k block.
    const KC_MAX: usize = 256;
    /// Maximum columns of one Y block.
    const NC_MAX: usize = 1024;

    /// `product` into `c` (row-major, row stride n). Returns false (doing nothing) if the CPU
    /// lacks AVX-512F, so the caller can fall back.
    ///
    /// With `accumulate == false`, `c` is never read (it may hold NaN); with `k == 0`
    /// the result is `c = 0` (or `c` unchanged when accumulating). Only `c[..m*n]`
    /// is touched; `c` may be longer.
    ///
    /// # Panics
    /// If a slice is too short for the given shape and strides, or an index
    /// computation overflows `usize` (both are caller bugs).
    pub fn sgemm(product: &Product, c: &mut [f32]) -> bool {
        sgemm_impl(product, c, Orient::Auto)
    }

    /// Which orientation to compute in (`Auto` except in tests).
    #[derive(Clone, Copy, PartialEq, Eq, Debug)]
    #[cfg_attr(not(test), allow(dead_code))]
    enum Orient {
        Auto,
        /// `C = A·B`.
        Normal,
        /// `Cᵀ = Bᵀ·Aᵀ`.
        Transposed,
    }

    fn sgemm_impl(product: &Product, c: &mut [f32], orient: Orient) -> bool {
        if !is_x86_feature_detected!("avx512f") {
            return false;
        }
        // Validate everything up front; the unsafe code below relies on it.
        if !product.check("avx512", c) {
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
            // SAFETY: AVX-512F is available (checked above). Every element index
            // formed by `driver` lies in the index ranges validated above (A:
            // `i*a_rs + p*a_cs` for i < m, p < k; B likewise; C: < m*n), and all
            // offset arithmetic stays below those validated lengths, so it cannot
            // overflow. `buf` is resized by `gemm_oriented` before use.
            unsafe {
                driver(
                    m,
                    n,
                    k,
                    View {
                        p: a.as_ptr(),
                        rs: a.rs(),
                        cs: a.cs(),
                    },
                    View {
                        p: b.as_ptr(),
                        rs: b.rs(),
                        cs: b.cs(),
                    },
                    c.as_mut_ptr(),
                    accumulate,
                    orient,
                    buf,
                );
            }
        });
        true
    }

    /// Mask with the low `r` bits set (`r` in 0..=16).
    #[inline(always)]
    fn low_mask(r: usize) -> __mmask16 {
        ((1u32 << r) - 1) as __mmask16
    }

    /// A strided read-only matrix view: element (i, j) at `p + i*rs + j*cs`.
    #[derive(Clone, Copy)]
    struct View {
        p: *const f32,
        rs: usize,
        cs: usize,
    }

    /// Picks the orientation and runs the blocked loops.
    ///
    /// # Safety
    /// AVX-512F must be available; `a`, `b`, `c` must be valid for all indices
    /// of the described `m×k`, `k×n`, `m×n` (row stride `n`) matrices; `m, n, k ≥ 1`.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn driver(
        m: usize,
        n: usize,
        k: usize,
        a: View,
        b: View,
        c: *mut f32,
        accumulate: bool,
        orient: Orient,
        buf: &mut Vec<f32>,
    ) {
        let bt = View {
            p: b.p,
            rs: b.cs,
            cs: b.rs,
        };
        let at = View {
            p: a.p,
            rs: a.cs,
            cs: a.rs,
        };
        let normal = match orient {
            Orient::Normal => true,
            Orient::Transposed => false,
            Orient::Auto => plan_cost(m, n, k, a, b, false) <= plan_cost(n, m, k, bt, at, true),
        };
        // SAFETY: forwarded from the caller's contract; the transposed views
        // address exactly the same elements, and D = Cᵀ stored transposed with
        // ldc = n addresses exactly C.
        unsafe {
            if normal {
                gemm_oriented(m, n, k, a, b, c, n, false, accumulate, buf);
            } else {
                gemm_oriented(n, m, k, bt, at, c, n, true, accumulate, buf);
            }
        }
    }

    /// Whether `X` is read in place, and if so whether along strided rows (`xr`).
    /// Rows-contiguous X is always read in place (measured: faster than packing,
    /// even at a 4 KiB row stride); columns-contiguous X (each k step one short
    /// run) is read in place unless its k stride piles the panel's lines into a
    /// few L1 sets (e.g. A transposed with m = 4096).
    fn x_access(x: View, kc: usize) -> (bool, bool) {
        if x.rs == 1 {
            (stride_spreads(x.cs, kc, 8), false)
        } else if x.cs == 1 {
            (true, true)
        } else {
            (false, false)
        }
    }

    /// Whether `Y` (`k×nn`, used by `mm` rows of X) is read in place. It must
    /// have contiguous rows; it is still packed when its row stride is a
    /// multiple of ~4 KiB (consecutive rows then share an L1 set and defeat the
    /// prefetchers) and the many X panels amortize the copy (measured:
    /// m = 288, n = 1024 from 0.95-1.0× to ~1.06× matrixmultiply; m = 32 loses).
    fn y_in_place(y: View, mm: usize) -> bool {
        y.cs == 1 && (mm < 8 * MR || stride_spreads(y.rs, 16, 4))
    }

    /// Rough cost (cycles) of computing `D (mm×nn) = X·Y` in one orientation:
    /// FMAs (the vector dimension padded to 16 lanes), packing, transposed stores.
    fn plan_cost(mm: usize, nn: usize, k: usize, x: View, y: View, trans_c: bool) -> f64 {
        let (nkb, kc) = k_blocks(k, KC_MAX);
        // In f64: products of arbitrary dimensions must not overflow.
        let (mf, nf, kf) = (mm as f64, nn as f64, k as f64);
        let fma = mf * (nn.div_ceil(16) as f64) * kf / 2.0;
        let pack_y = if y_in_place(y, mm) { 0.0 } else { kf * nf * 0.5 };
        let pack_x = if x_access(x, kc).0 { 0.0 } else { mf * kf * 0.5 };
        let store = if trans_c { mf * nf * nkb as f64 * 0.25 } else { 0.0 };
        fma + pack_x + pack_y + store
    }

    /// Aligned scratch tile for transposed stores.
    #[repr(C, align(64))]
    struct Tile([f32; MR * NR]);

    /// The blocked loops: `D (mm×nn) = [D +] X (mm×k) · Y (k×nn)`, where
    /// `D[i][j]` lives at `c[i*ldc + j]`, or at `c[j*ldc + i]` if `trans_c`.
    ///
    /// # Safety
    /// AVX-512F available; `x`, `y` valid for their `mm×k`, `k×nn` index ranges;
    /// `c` valid for the `D` index range; `mm, nn, k ≥ 1`.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn gemm_oriented(
        mm: usize,
        nn: usize,
        k: usize,
        x: View,
        y: View,
        c: *mut f32,
        ldc: usize,
        trans_c: bool,
        accumulate: bool,
        buf: &mut Vec<f32>,
    ) {
        let (_, kc_nom) = k_blocks(k, KC_MAX);
        let nc_nom = nn.min(NC_MAX);
        let y_direct = y_in_place(y, mm);
        let (x_direct, xr) = x_access(x, kc_nom);

        let y_len = if y_direct {
            0
        } else {
            kc_nom * nc_nom.next_multiple_of(NR)
        };
        let x_len = if x_direct { 0 } else { kc_nom * MR };
        // + 16: slack for 64-byte alignment.
        let need = y_len + x_len + 16;
        ensure_len(buf, need, KC_MAX * NC_MAX.next_multiple_of(NR) + KC_MAX * MR + 16);
        let base = buf.as_mut_ptr();
        let align = base.align_offset(64).min(16);
        // SAFETY: align ≤ 16 and align + y_len + x_len ≤ buf.len().
        let ybuf = unsafe { base.add(align) };
        // SAFETY: as above.
        let xbuf = unsafe { ybuf.add(y_len) };
        let mut tile = Tile([0.0; MR * NR]);

        let mut jc = 0;
        while jc < nn {
            let nc = nc_nom.min(nn - jc);
            let njr = nc.div_ceil(NR);
            let mut pc = 0;
            while pc < k {
                let kc = kc_nom.min(k - pc);
                // Later k blocks add to the partial sums of earlier ones.
                let acc = accumulate || pc > 0;
                // This Y block: (pointer to Y[pc][jc], row stride, panel stride).
                let (yb, y_rs, y_ps) = if y_direct {
                    // SAFETY: pc < k, jc < nn: an element of Y.
                    (unsafe { y.p.add(pc * y.rs + jc) }, y.rs, NR)
                } else {
                    // SAFETY: the source block lies inside Y; ybuf holds
                    // kc * round_up(nc, NR) ≤ y_len floats.
                    unsafe { pack_y(kc, nc, y.p.add(pc * y.rs + jc * y.cs), y.rs, y.cs, ybuf) };
                    (ybuf as *const f32, NR, kc * NR)
                };
                // Balanced row panels of X (and D): the first `pextra` have pbase + 1 rows.
                let np = mm.div_ceil(MR);
                let (pbase, pextra) = (mm / np, mm % np);
                for pi in 0..np {
                    let mr = pbase + usize::from(pi < pextra);
                    let i = pi * pbase + pi.min(pextra);
                    let (xp, x_rs, x_cs, xr) = if x_direct {
                        // SAFETY: row i < mm, column pc < k: an element of X.
                        (unsafe { x.p.add(i * x.rs + pc * x.cs) }, x.rs, x.cs, xr)
                    } else {
                        // Pack just this panel, right before its use by all Y panels
                        // (so the copy overlaps with computation and stays in L1).
                        // SAFETY: the mr×kc source panel lies inside X; xbuf holds
                        // MR*kc_nom ≥ mr*kc floats.
                        unsafe { pack_x(mr, kc, x.p.add(i * x.rs + pc * x.cs), x.rs, x.cs, xbuf) };
                        (xbuf as *const f32, 1, mr, false)
                    };
                    for jq in 0..njr {
                        let jr = jq * NR;
                        let nr = NR.min(nc - jr);
                        let nv = if nr > 16 { 2 } else { 1 };
                        let mask = low_mask(nr - (nv - 1) * 16);
                        // SAFETY: column jc+jr < nn of Y, or panel jq of ybuf.
                        let yp = unsafe { yb.add(jq * y_ps) };
                        if trans_c {
                            // SAFETY: the kernel reads X rows i.. (mr of them) and Y
                            // columns jc+jr.. (nr, masked) for kc k steps, and writes the
                            // mr×nr tile (row stride NR ≥ nr) into `tile`; store_t writes
                            // D rows i..+mr ≤ mm, columns jc+jr..+nr ≤ nn, i.e. C
                            // elements (jc+jr+j)*ldc + i+r.
                            unsafe {
                                kernel_dispatch(
                                    mr,
                                    nv,
                                    xr,
                                    kc,
                                    xp,
                                    x_rs,
                                    x_cs,
                                    yp,
                                    y_rs,
                                    tile.0.as_mut_ptr(),
                                    NR,
                                    mask,
                                    false,
                                );
                                store_t(&tile, mr, nr, c.add((jc + jr) * ldc + i), ldc, acc);
                            }
                        } else {
                            // SAFETY: rows i..+mr ≤ mm, columns jc+jr..+nr ≤ nn of D = C.
                            let cp = unsafe { c.add(i * ldc + jc + jr) };
                            // SAFETY: X/Y reads as above; cp valid for the mr×nr tile
                            // with row stride ldc.
                            unsafe { kernel_dispatch(mr, nv, xr, kc, xp, x_rs, x_cs, yp, y_rs, cp, ldc, mask, acc) };
                        }
                    }
                }
                pc += kc;
            }
            jc += nc;
        }
    }

    /// Writes the transpose of the `mr×nr` tile (row stride NR) to `c`:
    /// `c[j*ldc + r] (+)= tile[r][j]`.
    ///
    /// # Safety
    /// AVX-512F available; `c` valid for reads/writes at `j*ldc + r` (`j < nr`, `r < mr`).
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn store_t(tile: &Tile, mr: usize, nr: usize, c: *mut f32, ldc: usize, acc: bool) {
        let rm = low_mask(mr);
        for h in 0..nr.div_ceil(16) {
            let mut rows = [_mm512_setzero_ps(); 16];
            for (r, row) in rows.iter_mut().enumerate().take(mr) {
                // SAFETY: r < MR and 16h + 16 ≤ NR: in bounds of the 64-byte aligned tile.
                *row = unsafe { _mm512_load_ps(tile.0.as_ptr().add(r * NR + 16 * h)) };
            }
            let t = transpose16(rows);
            for (j, v) in t.iter().enumerate().take(nr - 16 * h) {
                // SAFETY: D column 16h+j < nr, rows r < mr (masked).
                unsafe {
                    let cp = c.add((16 * h + j) * ldc);
                    let mut v = *v;
                    if acc {
                        v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(rm, cp));
                    }
                    _mm512_mask_storeu_ps(cp, rm, v);
                }
            }
        }
    }

    /// Calls the micro-kernel instantiated for `mr` rows, `nv` vectors and X access mode `xr`.
    ///
    /// # Safety
    /// See [`kernel`]; `1 ≤ mr ≤ MR`, `nv ∈ {1, 2}`.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel_dispatch(
        mr: usize,
        nv: usize,
        xr: bool,
        kc: usize,
        x: *const f32,
        x_rs: usize,
        x_cs: usize,
        y: *const f32,
        y_rs: usize,
        c: *mut f32,
        c_rs: usize,
        mask: __mmask16,
        acc: bool,
    ) {
        macro_rules! dispatch {
            ($($r:literal)*) => {
                // SAFETY: the caller upholds `kernel`'s contract for R = mr, V = nv, XR = xr.
                unsafe {
                    match (mr, nv, xr) {
                        $(
                            ($r, 2, false) => kernel::<$r, 2, false>(kc, x, x_rs, x_cs, y, y_rs, c, c_rs, mask, acc),
                            ($r, 2, true) => kernel::<$r, 2, true>(kc, x, x_rs, x_cs, y, y_rs, c, c_rs, mask, acc),
                            ($r, _, false) => kernel::<$r, 1, false>(kc, x, x_rs, x_cs, y, y_rs, c, c_rs, mask, acc),
                            ($r, _, true) => kernel::<$r, 1, true>(kc, x, x_rs, x_cs, y, y_rs, c, c_rs, mask, acc),
                        )*
                        _ => unreachable!("bad micro tile height {mr}"),
                    }
                }
            };
        }
        dispatch!(1 2 3 4 5 6 7 8 9 10 11 12 13 14);
    }

    /// Micro-kernel: `C[r][j] (+)= Σ_p X[r][p] · y[p*y_rs + j]` for `r < R`,
    /// `j < w = 16*(V-1) + popcount(mask)` (the last of the `V` column vectors is
    /// masked). `X[r][p]` is at `x[r + p*x_cs]` if `!XR`, else at `x[r*x_rs + p*x_cs]`.
    ///
    /// # Safety
    /// AVX-512F available; `x` valid for reads of `X[r][p]` (`p < kc`, `r < R`);
    /// `y` valid at `p*y_rs + j` (`j < w`); `c` valid for reads/writes at `r*c_rs + j`.
    /// `c` is read only when `acc` is true.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    #[inline]
    unsafe fn kernel<const R: usize, const V: usize, const XR: bool>(
        kc: usize,
        x: *const f32,
        x_rs: usize,
        x_cs: usize,
        y: *const f32,
        y_rs: usize,
        c: *mut f32,
        c_rs: usize,
        mask: __mmask16,
        acc: bool,
    ) {
        let mut ac = [[_mm512_setzero_ps(); V]; R];
        let mut yp = y;
        // Row pointers of X for the strided-rows case: kept loop-invariant (the
        // k step is an index), so row addresses do not form a serial add chain.
        let rows: [*const f32; R] = std::array::from_fn(|r| x.wrapping_add(if XR { r * x_rs } else { r }));
        let mut xo = 0usize;
        for _ in 0..kc {
            // SAFETY: per the contract, the full first vector is in bounds when
            // V == 2, and the masked vector only touches the first w columns.
            let (y0, y1) = unsafe {
                if V == 2 {
                    (_mm512_loadu_ps(yp), _mm512_maskz_loadu_ps(mask, yp.add(16)))
                } else {
                    let v = _mm512_maskz_loadu_ps(mask, yp);
                    (v, v)
                }
            };
            for (r, row) in ac.iter_mut().enumerate() {
                // SAFETY: X[r][p] for r < R at the current k step p (offset xo = p*x_cs).
                let xb = _mm512_set1_ps(unsafe { *rows[r].add(xo) });
                row[0] = _mm512_fmadd_ps(xb, y0, row[0]);
                if V == 2 {
                    row[V - 1] = _mm512_fmadd_ps(xb, y1, row[V - 1]);
                }
            }
            // Wrapping: the offset/pointer past the last step is never dereferenced.
            xo = xo.wrapping_add(x_cs);
            yp = yp.wrapping_add(y_rs);
        }
        for (r, row) in ac.iter().enumerate() {
            // SAFETY: row r < R of the C tile; the last vector is masked to w columns.
            unsafe {
                let cr = c.add(r * c_rs);
                if V == 2 {
                    let mut v0 = row[0];
                    let mut v1 = row[1];
                    if acc {
                        v0 = _mm512_add_ps(v0, _mm512_loadu_ps(cr));
                        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(mask, cr.add(16)));
                    }
                    _mm512_storeu_ps(cr, v0);
                    _mm512_mask_storeu_ps(cr.add(16), mask, v1);
                } else {
                    let mut v0 = row[0];
                    if acc {
                        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(mask, cr));
                    }
                    _mm512_mask_storeu_ps(cr, mask, v0);
                }
            }
        }
    }

    /// In-register transpose of a 16×16 block: `out[j]` lane `i` = `r[i]` lane `j`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
        // Stage 1: interleave 32-bit elements of row pairs.
        let mut t = [_mm512_setzero_ps(); 16];
        for i in 0..8 {
            t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
            t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
        }
        // Stage 2: interleave 64-bit pairs; u[4g+q] then holds, in 128-bit lane l,
        // column 4l+q of rows 4g..4g+4.
        let mut u = [_mm512_setzero_ps(); 16];
        for i in 0..4 {
            let (a0, a1, a2, a3) = (t[4 * i], t[4 * i + 1], t[4 * i + 2], t[4 * i + 3]);
            u[4 * i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a0), _mm512_castps_pd(a2)));
            u[4 * i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a0), _mm512_castps_pd(a2)));
            u[4 * i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(a1), _mm512_castps_pd(a3)));
            u[4 * i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(a1), _mm512_castps_pd(a3)));
        }
        // Stage 3: gather 128-bit lanes (0,2 | 1,3) of row groups g, g+1.
        let mut v = [_mm512_setzero_ps(); 16];
        for h in 0..2 {
            for q in 0..4 {
                let lo = u[8 * h + q];
                let hi = u[8 * h + 4 + q];
                v[8 * h + q] = _mm512_shuffle_f32x4::<0x88>(lo, hi);
                v[8 * h + 4 + q] = _mm512_shuffle_f32x4::<0xdd>(lo, hi);
            }
        }
        // Stage 4: combine the halves; o[j] is column j.
        let mut o = [_mm512_setzero_ps(); 16];
        for q in 0..8 {
            o[q] = _mm512_shuffle_f32x4::<0x88>(v[q], v[8 + q]);
            o[8 + q] = _mm512_shuffle_f32x4::<0xdd>(v[q], v[8 + q]);
        }
        o
    }

    /// Packs the `kc×nc` block of Y at `y` (strides `y_rs`, `y_cs`) into 32-wide
    /// panels: panel q, row p, column j at `dst[q*kc*NR + p*NR + j]`. Columns of
    /// the last panel beyond `nc` may be left unwritten (they are masked off).
    ///
    /// # Safety
    /// AVX-512F available; `y` valid for the block; `dst` valid for
    /// `kc * round_up(nc, NR)` writes.
    #[target_feature(enable = "avx512f")]
    unsafe fn pack_y(kc: usize, nc: usize, y: *const f32, y_rs: usize, y_cs: usize, dst: *mut f32) {
        for q in 0..nc.div_ceil(NR) {
            let j0 = q * NR;
            let w = NR.min(nc - j0);
            // SAFETY: panel q occupies kc*NR floats of dst.
            let pd = unsafe { dst.add(q * kc * NR) };
            if y_cs == 1 {
                // Rows contiguous: masked vector copies.
                let m0 = low_mask(w.min(16));
                let m1 = low_mask(w.saturating_sub(16));
                for p in 0..kc {
                    // SAFETY: row p, columns j0..j0+w of the block (masked lanes are
                    // not accessed); 32 floats of row p of the panel.
                    unsafe {
                        let s = y.add(p * y_rs + j0);
                        let d = pd.add(p * NR);
                        _mm512_storeu_ps(d, _mm512_maskz_loadu_ps(m0, s));
                        if w > 16 {
                            _mm512_storeu_ps(d.add(16), _mm512_maskz_loadu_ps(m1, s.add(16)));
                        }
                    }
                }
            } else if y_rs == 1 {
                // Columns contiguous: 16(k)×16(columns) register transposes.
                for h in 0..w.div_ceil(16) {
                    let jh = j0 + 16 * h;
                    let wh = 16.min(nc - jh);
                    let mut p0 = 0;
                    while p0 < kc {
                        let pl = 16.min(kc - p0);
                        let pm = low_mask(pl);
                        let mut rows = [_mm512_setzero_ps(); 16];
                        for (jj, row) in rows.iter_mut().enumerate().take(wh) {
                            // SAFETY: column jh+jj < nc, k steps p0..p0+pl ≤ kc (masked).
                            *row = unsafe { _mm512_maskz_loadu_ps(pm, y.add((jh + jj) * y_cs + p0)) };
                        }
                        let t = transpose16(rows);
                        for (pp, v) in t.iter().enumerate().take(pl) {
                            // SAFETY: row p0+pp < kc, columns 16h..16h+16 ≤ NR of the panel.
                            unsafe { _mm512_storeu_ps(pd.add((p0 + pp) * NR + 16 * h), *v) };
                        }
                        p0 += 16;
                    }
                }
            } else {
                // General strides: scalar.
                for p in 0..kc {
                    for j in 0..w {
                        // SAFETY: element (p, j0+j) of the block; dst within the panel.
                        unsafe { *pd.add(p * NR + j) = *y.add(p * y_rs + (j0 + j) * y_cs) };
                    }
                }
            }
        }
    }

    /// Packs the `mr×kc` panel of X at `x` k-major: element (r, p) at `dst[p*mr + r]`.
    ///
    /// # Safety
    /// AVX-512F available; `1 ≤ mr ≤ 16`; `x` valid for the panel; `dst` valid for `mr*kc` writes.
    #[target_feature(enable = "avx512f")]
    unsafe fn pack_x(mr: usize, kc: usize, x: *const f32, x_rs: usize, x_cs: usize, dst: *mut f32) {
        if x_rs == 1 {
            // Columns contiguous: each k step is mr consecutive floats.
            let rm = low_mask(mr);
            for p in 0..kc {
                // SAFETY: elements (0..mr, p) of the panel (masked); mr floats of dst.
                unsafe {
                    let v = _mm512_maskz_loadu_ps(rm, x.add(p * x_cs));
                    _mm512_mask_storeu_ps(dst.add(p * mr), rm, v);
                }
            }
        } else {
            for p in 0..kc {
                for r in 0..mr {
                    // SAFETY: element (r, p) of the panel; dst within mr*kc.
                    unsafe { *dst.add(p * mr + r) = *x.add(r * x_rs + p * x_cs) };
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// Small deterministic PRNG (xorshift64*).
        struct Rng(u64);
        impl Rng {
            fn next_u64(&mut self) -> u64 {
                self.0 ^= self.0 >> 12;
                self.0 ^= self.0 << 25;
                self.0 ^= self.0 >> 27;
                self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
            }
            fn below(&mut self, n: usize) -> usize {
                (self.next_u64() % n as u64) as usize
            }
            fn f32(&mut self) -> f32 {
                (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
            }
        }

        fn have_avx512() -> bool {
            is_x86_feature_detected!("avx512f")
        }

        const ORIENTS: [Orient; 3] = [Orient::Auto, Orient::Normal, Orient::Transposed];

        /// Runs one case in every orientation; `ta`/`tb` select transposed storage of A/B.
        fn check(rng: &mut Rng, m: usize, n: usize, k: usize, ta: bool, tb: bool, accumulate: bool) {
            let a: Vec<f32> = (0..m * k).map(|_| rng.f32()).collect();
            let b: Vec<f32> = (0..k * n).map(|_| rng.f32()).collect();
            let (a_rs, a_cs) = if ta { (1, m) } else { (k, 1) };
            let (b_rs, b_cs) = if tb { (1, k) } else { (n, 1) };
            check_strided(
                rng,
                &Product::new((m, n, k), (&a, a_rs, a_cs), (&b, b_rs, b_cs), accumulate),
            );
        }

        /// Checks all orientations against a naive f64 triple loop.
        fn check_strided(rng: &mut Rng, product: &Product) {
            let (m, n, accumulate) = (product.m, product.n, product.accumulate);
            let c0: Vec<f32> = (0..m * n).map(|_| rng.f32()).collect();
            for orient in ORIENTS {
                let mut c = if accumulate { c0.clone() } else { vec![f32::NAN; m * n] };
                assert!(sgemm_impl(product, &mut c, orient));
                compare(product, &c0, &c, orient);
            }
        }

        fn compare(product: &Product, c0: &[f32], c: &[f32], orient: Orient) {
            let Product {
                m,
                n,
                k,
                a,
                b,
                accumulate,
            } = *product;
            let (a_rs, a_cs, b_rs, b_cs) = (a.rs(), a.cs(), b.rs(), b.cs());
            for i in 0..m {
                for j in 0..n {
                    let mut s = 0f64;
                    let mut sa = 0f64;
                    for p in 0..k {
                        let t = a.get(i, p) as f64 * b.get(p, j) as f64;
                        s += t;
                        sa += t.abs();
                    }
                    if accumulate {
                        s += c0[i * n + j] as f64;
                        sa += (c0[i * n + j] as f64).abs();
                    }
                    let got = c[i * n + j] as f64;
                    let tol = 1e-5 * (k as f64 + 1.0) * sa.max(1e-3);
                    assert!(
                        (got - s).abs() <= tol,
                        "m={m} n={n} k={k} a_rs={a_rs} a_cs={a_cs} b_rs={b_rs} b_cs={b_cs} acc={accumulate} {orient:?}: c[{i}][{j}] = {got}, want {s} (tol {tol})"
                    );
                }
            }
        }

        #[test]
        fn transpose16_is_transpose() {
            if !have_avx512() {
                return;
            }
            let src: Vec<f32> = (0..256).map(|v| v as f32).collect();
            // SAFETY: AVX-512F checked; loads/stores within the 256-element buffers.
            let out = unsafe {
                let mut rows = [_mm512_setzero_ps(); 16];
                for (i, r) in rows.iter_mut().enumerate() {
                    *r = _mm512_loadu_ps(src.as_ptr().add(16 * i));
                }
                let t = transpose16(rows);
                let mut out = vec![0f32; 256];
                for (i, r) in t.iter().enumerate() {
                    _mm512_storeu_ps(out.as_mut_ptr().add(16 * i), *r);
                }
                out
            };
            for i in 0..16 {
                for j in 0..16 {
                    assert_eq!(out[j * 16 + i], src[i * 16 + j], "({i},{j})");
                }
            }
        }

        #[test]
        fn random_small_shapes() {
            if !have_avx512() {
                return;
            }
            let mut rng = Rng(0x1234_5678_9abc_def1);
            for _ in 0..1500 {
                let m = rng.below(41);
                let n = rng.below(41);
                let k = rng.below(41);
                let ta = rng.below(2) == 1;
                let tb = rng.below(2) == 1;
                let acc = rng.below(2) == 1;
                check(&mut rng, m, n, k, ta, tb, acc);
            }
        }

        #[test]
        fn all_layouts_edges() {
            if !have_avx512() {
                return;
            }
            let mut rng = Rng(42);
            for &(m, n, k) in &[
                (0, 5, 3),
                (5, 0, 3),
                (5, 3, 0),
                (1, 1, 1),
                (14, 32, 1),
                (15, 33, 17),
                (29, 47, 300),
                (337, 70, 5),
                (3, 2100, 2),
                (20, 17, 520),
            ] {
                for ta in [false, true] {
                    for tb in [false, true] {
                        for acc in [false, true] {
                            check(&mut rng, m, n, k, ta, tb, acc);
                        }
                    }
                }
            }
        }

        #[test]
        fn listed_shapes() {
            if !have_avx512() {
                return;
            }
            let mut rng = Rng(7);
            // (m, n, k, A transposed, B transposed)
            let shapes: &[(usize, usize, usize, bool, bool)] = &[
                (32, 1024, 27, false, false),
                (32, 1024, 288, false, false),
                (64, 256, 288, false, false),
                (64, 256, 576, false, false),
                (8, 676, 9, false, false),
                (16, 121, 72, false, false),
                (32, 288, 1024, false, true),
                (64, 576, 256, false, true),
                (64, 288, 256, false, true),
                (16, 72, 121, false, true),
                (288, 1024, 32, true, false),
                (576, 256, 64, true, false),
                (288, 256, 64, true, false),
                (72, 121, 16, true, false),
                (64, 128, 4096, false, false),
                (4096, 128, 64, true, false),
                (64, 4096, 128, false, true),
                (64, 10, 128, false, false),
            ];
            for &(m, n, k, ta, tb) in shapes {
                check(&mut rng, m, n, k, ta, tb, false);
                check(&mut rng, m, n, k, ta, tb, true);
            }
        }

        #[test]
        fn k_zero_and_empty() {
            if !have_avx512() {
                return;
            }
            let mut c = vec![f32::NAN; 6];
            assert!(sgemm(&Product::new((2, 3, 0), (&[], 0, 1), (&[], 3, 1), false), &mut c));
            assert!(c.iter().all(|&v| v == 0.0));
            // c may be longer than m*n; the tail is untouched.
            let mut c = vec![f32::NAN; 7];
            assert!(sgemm(&Product::new((2, 3, 0), (&[], 0, 1), (&[], 3, 1), false), &mut c));
            assert!(c[7 - 1].is_nan());
            c.truncate(6);
            assert!(c.iter().all(|&v| v == 0.0));
            let mut c = vec![5.0; 6];
            assert!(sgemm(&Product::new((2, 3, 0), (&[], 0, 1), (&[], 3, 1), true), &mut c));
            assert!(c.iter().all(|&v| v == 5.0));
            let mut c: Vec<f32> = vec![];
            assert!(sgemm(
                &Product::new((0, 3, 4), (&[], 4, 1), (&[0.0; 12], 3, 1), false),
                &mut c
            ));
        }

        #[test]
        fn general_strides() {
            if !have_avx512() {
                return;
            }
            // A and B embedded in larger buffers with padding strides, plus
            // zero (broadcast) strides.
            let mut rng = Rng(99);
            for &(m, n, k) in &[(19, 37, 23), (3, 70, 300), (40, 5, 17)] {
                for &((a_rs, a_cs), (b_rs, b_cs)) in &[
                    ((2, 2 * m + 1), (3, 3 * k + 2)),
                    ((k + 3, 1), (1, k + 5)),
                    ((1, m + 7), (n + 2, 1)),
                    ((0, 1), (n, 0)),
                ] {
                    let a: Vec<f32> = (0..(m - 1) * a_rs + (k - 1) * a_cs + 1).map(|_| rng.f32()).collect();
                    let b: Vec<f32> = (0..(k - 1) * b_rs + (n - 1) * b_cs + 1).map(|_| rng.f32()).collect();
                    for acc in [false, true] {
                        check_strided(
                            &mut rng,
                            &Product::new((m, n, k), (&a, a_rs, a_cs), (&b, b_rs, b_cs), acc),
                        );
                    }
                }
            }
        }

        #[test]
        fn large_blocks() {
            if !have_avx512() {
                return;
            }
            // Exceeds KC_MAX and NC_MAX at once; a 4096-float k stride for
            // transposed A exercises X packing.
            let mut rng = Rng(5);
            check(&mut rng, 340, 1030, 260, false, false, true);
            check(&mut rng, 341, 1030, 270, true, true, false);
            check(&mut rng, 4096, 20, 9, true, false, false);
            check(&mut rng, 17, 4096, 9, false, true, true);
            // 4 KiB-aliasing row strides of B with large m: B gets packed.
            check(&mut rng, 130, 1536, 20, true, false, false);
            check(&mut rng, 113, 512, 300, false, false, true);
        }

        #[test]
        #[should_panic(expected = "a has")]
        fn short_a_panics() {
            if !have_avx512() {
                panic!("a has (skipped: no AVX-512)");
            }
            let mut c = vec![0.0; 4];
            sgemm(
                &Product::new((2, 2, 2), (&[0.0; 3], 2, 1), (&[0.0; 4], 2, 1), false),
                &mut c,
            );
        }

        #[test]
        #[should_panic(expected = "b has")]
        fn short_b_panics() {
            if !have_avx512() {
                panic!("b has (skipped: no AVX-512)");
            }
            let mut c = vec![0.0; 4];
            sgemm(
                &Product::new((2, 2, 2), (&[0.0; 4], 1, 2), (&[0.0; 3], 1, 2), false),
                &mut c,
            );
        }

        #[test]
        #[should_panic(expected = "c has")]
        fn short_c_panics() {
            if !have_avx512() {
                panic!("c has (skipped: no AVX-512)");
            }
            let mut c = vec![0.0; 3];
            sgemm(
                &Product::new((2, 2, 2), (&[0.0; 4], 2, 1), (&[0.0; 4], 2, 1), false),
                &mut c,
            );
        }
    }
}
