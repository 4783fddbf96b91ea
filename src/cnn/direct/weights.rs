//! The kernel gradient by the direct method: `dK[f][c][ky][kx] = Σ_samples Σ_(oy, ox)
//! dy[f][oy][ox] · x_padded[c][oy + ky][ox + kx]`. The output gradient is laid out on wide rows
//! too (zeros in the `KW − 1` columns past `OW`), so over wide positions each tap again reads
//! one contiguous vector of the padded input. Register blocks of `NF` filters × `NK` taps hold
//! vector partial sums, kept in `sums` across a task's samples and summed across lanes once at
//! the end (in a fixed order: the result does not depend on the path's timing).

use super::{Geometry, MAX_STEP, Portable, Reg, pad};
use crate::cnn::aligned::AlignedVec;
use crate::cnn::gemm::Isa;

/// Filters and taps are rounded up to multiples of this (every path's `NF` and `NK` divide it).
const ROUND: usize = 4;

/// The most lanes of any path.
const MAX_LANES: usize = 16;

/// Per-task buffers of the kernel gradient, grown to the largest call and never shrunk.
#[derive(Default)]
pub struct WeightWorkspace {
    xp: AlignedVec,
    /// One sample's output gradient on wide rows, `F` rounded up to [`ROUND`] rows.
    dyw: AlignedVec,
    /// Each tap's offset in `xp`, rounded up to [`ROUND`] taps (the extra ones read offset 0
    /// into sums that are dropped).
    taps: Vec<usize>,
    /// Vector partial sums `[f][k][lane]`, [`MAX_LANES`] per filter and tap whatever the path
    /// (one with fewer lanes leaves the rest zero).
    sums: AlignedVec,
}

/// The kernel gradient (F, C, KH, KW) of the samples in `x` (each `CI·H·W`) and `dy` (each
/// `CO·OH·OW`, the gradient at the convolution's output) over the forward geometry `geo`,
/// overwriting `dkernel`. Runs on `isa`, on the calling thread.
pub fn kernel_gradient(isa: Isa, geo: &Geometry, x: &[f32], dy: &[f32], dkernel: &mut [f32], ws: &mut WeightWorkspace) {
    let (in_len, out_len) = (geo.ci * geo.h * geo.w, geo.co * geo.oh * geo.ow);
    let k = geo.kernel_taps();
    assert_eq!(dkernel.len(), geo.co * k, "kernel gradient size");
    let (hp, wp) = geo.padded();
    let (f4, k4) = (geo.co.next_multiple_of(ROUND), k.next_multiple_of(ROUND));
    geo.taps(&mut ws.taps);
    ws.taps.resize(k4, 0);
    ws.xp.resize(geo.ci * hp * wp + wp + MAX_STEP, 0.0);
    // Row length: the wide positions rounded up to whole vectors of any path.
    let ds = geo.wide().next_multiple_of(MAX_LANES);
    ws.dyw.clear();
    ws.dyw.resize(f4 * ds, 0.0);
    ws.sums.clear();
    ws.sums.resize(f4 * k4 * MAX_LANES, 0.0);
    assert!(ws.taps.iter().max().map_or(0, |&t| t) + ds <= ws.xp.len());
    for (x, dy) in x.chunks_exact(in_len).zip(dy.chunks_exact(out_len)) {
        pad(geo, x, &mut ws.xp);
        for (row, plane) in ws.dyw.chunks_exact_mut(ds).zip(dy.chunks_exact(geo.oh * geo.ow)) {
            for (wide, line) in row.chunks_exact_mut(wp).zip(plane.chunks_exact(geo.ow)) {
                wide[..geo.ow].copy_from_slice(line);
            }
        }
        let op = Sums {
            d: &ws.dyw,
            ds,
            xp: &ws.xp,
            taps: &ws.taps,
            sums: &mut ws.sums,
        };
        accumulate(isa, op);
    }
    // Lanes summed in order (a path with fewer lanes leaves the rest zero); the partial sums
    // of filters and taps past the real ones dropped.
    for (f, out) in dkernel.chunks_exact_mut(k).enumerate() {
        for (t, v) in out.iter_mut().enumerate() {
            let at = (f * k4 + t) * MAX_LANES;
            *v = ws.sums[at..at + MAX_LANES].iter().sum();
        }
    }
}

/// What the register blocks read and add to.
struct Sums<'a> {
    /// The wide output gradient, rows `ds` apart; the padded input and the taps' offsets.
    d: &'a [f32],
    ds: usize,
    xp: &'a [f32],
    taps: &'a [usize],
    sums: &'a mut [f32],
}

/// Every block's partial sums, one sample.
fn accumulate(isa: Isa, op: Sums) {
    let (f4, k4) = (op.d.len() / op.ds, op.taps.len());
    assert!(op.sums.len() >= f4 * k4 * MAX_LANES && f4.is_multiple_of(ROUND) && k4.is_multiple_of(ROUND));
    #[cfg(target_arch = "x86_64")]
    {
        use super::x86::{Avx2, Avx512};
        #[target_feature(enable = "avx512f")]
        fn on_avx512(op: Sums) {
            // SAFETY: AVX-512F is enabled here; the bounds were asserted by the caller.
            unsafe { blocks_of::<Avx512, 4, 4>(op) }
        }
        #[target_feature(enable = "avx2,fma")]
        fn on_avx2(op: Sums) {
            // SAFETY: AVX2 and FMA are enabled here; the bounds were asserted by the caller.
            unsafe { blocks_of::<Avx2, 2, 4>(op) }
        }
        if isa == Isa::Avx512 && isa.is_available() {
            // SAFETY: this CPU has AVX-512F (checked on the line above).
            return unsafe { on_avx512(op) };
        }
        if isa == Isa::Avx2 && isa.is_available() {
            // SAFETY: this CPU has AVX2 and FMA (checked on the line above).
            return unsafe { on_avx2(op) };
        }
    }
    // SAFETY: plain arrays; the bounds were asserted above.
    unsafe { blocks_of::<Portable, 2, 4>(op) }
}

/// Every `NF × NK` block over all positions of one sample.
///
/// # Safety
/// The CPU must have `R`'s instruction set; `xp` must hold every tap offset plus `ds`, `d` whole
/// rows of `ds` (a multiple of the lanes), `sums` [`MAX_LANES`] per filter row and tap.
#[inline(always)]
unsafe fn blocks_of<R: Reg, const NF: usize, const NK: usize>(op: Sums) {
    const { assert!(ROUND.is_multiple_of(NF) && ROUND.is_multiple_of(NK) && R::LANES <= MAX_LANES) };
    let (f4, k4) = (op.d.len() / op.ds, op.taps.len());
    let vectors = op.ds / R::LANES;
    for fb in (0..f4).step_by(NF) {
        for kb in (0..k4).step_by(NK) {
            let taps: &[usize; NK] = op.taps[kb..kb + NK].try_into().expect("NK taps");
            // SAFETY: forwarded from the caller: filters fb.., taps kb.. of `sums`.
            unsafe {
                tap_block::<R, NF, NK>(
                    op.d.as_ptr().add(fb * op.ds),
                    op.ds,
                    op.xp.as_ptr(),
                    taps,
                    vectors,
                    op.sums.as_mut_ptr().add((fb * k4 + kb) * MAX_LANES),
                    k4 * MAX_LANES,
                )
            };
        }
    }
}

/// `sums[f][k] += Σ_i d[f][i] · x[taps[k] + i]` over `vectors` vectors of positions; filter
/// `f`'s sums start `f·ss` into `sums`, tap `k`'s [`MAX_LANES`] after tap `k − 1`'s.
///
/// # Safety
/// The CPU must have `R`'s instruction set; `d` readable for `NF` rows `ds` apart of `vectors`
/// vectors, `x` at every `taps[k]` for as many, `sums` readable and writable for `NF` rows of
/// `NK` vectors.
#[inline(always)]
unsafe fn tap_block<R: Reg, const NF: usize, const NK: usize>(
    d: *const f32,
    ds: usize,
    x: *const f32,
    taps: &[usize; NK],
    vectors: usize,
    sums: *mut f32,
    ss: usize,
) {
    // SAFETY (the whole body): the caller's contract.
    unsafe {
        let mut acc = [[R::zero(); NK]; NF];
        for (f, row) in acc.iter_mut().enumerate() {
            for (k, a) in row.iter_mut().enumerate() {
                *a = R::load(sums.add(f * ss + k * MAX_LANES));
            }
        }
        for i in 0..vectors {
            let p = i * R::LANES;
            let mut dv = [R::zero(); NF];
            for (f, v) in dv.iter_mut().enumerate() {
                *v = R::load(d.add(f * ds + p));
            }
            for (k, &t) in taps.iter().enumerate() {
                let xv = R::load(x.add(t + p));
                for (row, &dv) in acc.iter_mut().zip(&dv) {
                    row[k] = R::mul_add(dv, xv, row[k]);
                }
            }
        }
        for (f, row) in acc.iter().enumerate() {
            for (k, a) in row.iter().enumerate() {
                a.store(sums.add(f * ss + k * MAX_LANES));
            }
        }
    }
}
