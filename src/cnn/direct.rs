//! Direct convolution for stride-1 layers with few channels (LeNet's, a first layer on RGB) and
//! for Conv1D (dilated too), where im2col's thin matrix products and Winograd's transforms cost
//! more than the multiplies.
//!
//! # The wide-row trick
//! Each sample's input is copied once into a zero-padded plane per channel, `HP = OH + KH − 1`
//! rows of `WP = OW + (KW − 1)·DW` columns (DW the column dilation). An output pixel (oy, ox)
//! then reads padded value `(oy + ky)·WP + ox + kx·DW` of each channel, which is *wide
//! position* `p = oy·WP + ox` plus the tap's offset `ky·WP + kx·DW`: along wide positions the
//! input is contiguous for every tap. So a block of [`Reg::LANES`] neighbouring wide positions
//! is one unaligned vector load per tap, whatever row it starts on. The `(KW − 1)·DW` positions
//! past each row's `OW` outputs are computed and dropped when the wide output is compacted into
//! the sample's output, or skipped by whatever reads the wide output in place ([`correlate_wide`]:
//! inference's fused pool).
//!
//! # The kernel
//! A register block of `NF` filters × `NP` vectors of positions (8 × 3 on AVX-512, 4 × 2 on
//! AVX2, within 32 and 16 registers; fewer filters and more positions for 1–4 output channels):
//! per tap `NP` loads, `NF` broadcasts of packed weights, `NF·NP` fused multiply-adds, then the
//! bias added to each sum as it is stored (`sum + bias`, as a separate pass would). Filters
//! are packed in blocks of [`BLOCK`] (zeros past the last), tap by tap. The input gradient is
//! the same correlation from the output gradient, padded by the span less one less the forward
//! padding, with the kernel rotated by 180° and its channels swapped ([`pack_input_gradient`]);
//! the kernel gradient is in `weights.rs`.

use crate::cnn::aligned::AlignedVec;
use crate::cnn::gemm::Isa;
use crate::cnn::geometry::Window;

mod weights;
pub use weights::{WeightWorkspace, kernel_gradient};

/// A stride-1 correlation of one sample; the direct method takes those whose padding is
/// not negative (where [`applies`]).
pub use crate::cnn::geometry::Correlation as Geometry;

impl Geometry {
    /// Padded rows and columns per channel.
    fn padded(&self) -> (usize, usize) {
        (self.oh + self.kh - 1, self.ow + (self.kw - 1) * self.dw)
    }

    /// Each tap's offset in the padded planes, channel by channel, row by row, into `taps`.
    fn taps(&self, taps: &mut Vec<usize>) {
        let (hp, wp) = self.padded();
        taps.clear();
        for c in 0..self.ci {
            for ky in 0..self.kh {
                taps.extend((0..self.kw).map(|kx| c * hp * wp + ky * wp + kx * self.dw));
            }
        }
    }

    /// Wide positions of one output channel.
    fn wide(&self) -> usize {
        self.oh * self.padded().1
    }

    /// Values of one filter: its taps.
    fn kernel_taps(&self) -> usize {
        self.ci * self.kh * self.kw
    }

    /// Floats of the packed filters: whole blocks of [`BLOCK`].
    fn packed_len(&self) -> usize {
        self.co.div_ceil(BLOCK) * self.kernel_taps() * BLOCK
    }

    /// Where the wide output of [`correlate_wide`] keeps row `oy` of output channel `f`:
    /// `f·plane + oy·row`, returned as `(row, plane)`. Its first `OW` values are the outputs.
    pub fn wide_strides(&self) -> (usize, usize) {
        (self.padded().1, self.wide() + MAX_STEP)
    }
}

/// Whether the direct method computes this window: stride 1 (dilated columns too), padding on
/// each side less than the kernel's span (so the input gradient is a correlation too).
pub fn applies(win: &Window) -> bool {
    let fits = |a: &crate::cnn::geometry::Axis, span: usize| a.pad_before < span && a.pad_after < span;
    (win.sh, win.sw) == (1, 1) && fits(&win.rows, win.kh) && fits(&win.cols, win.span_w())
}

/// Filters per packed block (the widest register block's).
const BLOCK: usize = 8;

/// The most positions a register block spans (`NP · LANES`).
const MAX_STEP: usize = 128;

/// Per-task buffers, grown to the largest call and never shrunk.
#[derive(Default)]
pub struct Workspace {
    /// The padded input planes of one sample, plus slack for the last block's loads.
    xp: AlignedVec,
    /// The wide output of one sample, `CO` rounded up to [`BLOCK`] rows.
    yw: AlignedVec,
    /// The bias of each output channel, zeros to whole blocks of [`BLOCK`] (and where there is
    /// none).
    bias: Vec<f32>,
    /// Each tap's offset in `xp`, channel by channel, row by row.
    taps: Vec<usize>,
}

/// The kernel (F, C, KH, KW) packed for the forward correlation: blocks of [`BLOCK`] filters,
/// tap by tap (`w[b][k][f]`), zeros past the last filter.
pub fn pack_forward(kernel: &[f32], geo: &Geometry, w: &mut Vec<f32>) {
    let taps = geo.kernel_taps();
    pack(geo, w, |f, k| kernel[f * taps + k]);
}

/// The kernel (F, C, KH, KW) packed for the input gradient's correlation (`geo` from
/// [`Geometry::input_gradient`]): filter `c` reads channel `f` at tap (ky, kx) through
/// `kernel[f][c][KH − 1 − ky][KW − 1 − kx]`.
pub fn pack_input_gradient(kernel: &[f32], geo: &Geometry, w: &mut Vec<f32>) {
    let (kh, kw, c) = (geo.kh, geo.kw, geo.co);
    pack(geo, w, |out, k| {
        let (f, tap) = (k / (kh * kw), k % (kh * kw));
        let (ky, kx) = (tap / kw, tap % kw);
        kernel[((f * c + out) * kh + kh - 1 - ky) * kw + kw - 1 - kx]
    });
}

fn pack(geo: &Geometry, w: &mut Vec<f32>, weight: impl Fn(usize, usize) -> f32) {
    w.clear();
    w.resize(geo.packed_len(), 0.0);
    for (b, block) in w.chunks_exact_mut(geo.kernel_taps() * BLOCK).enumerate() {
        for (k, lanes) in block.chunks_exact_mut(BLOCK).enumerate() {
            for (i, v) in lanes.iter_mut().enumerate() {
                let f = b * BLOCK + i;
                if f < geo.co {
                    *v = weight(f, k);
                }
            }
        }
    }
}

/// The correlation of the samples in `x` (each `CI·H·W`) with the packed filters `w` into `y`
/// (each `CO·OH·OW`), plus `bias` per output channel if it is not empty; `finish` gets each
/// sample's output once it is complete. Runs on `isa`, on the calling thread.
#[allow(clippy::too_many_arguments)]
pub fn correlate(
    isa: Isa,
    geo: &Geometry,
    w: &[f32],
    x: &[f32],
    y: &mut [f32],
    bias: &[f32],
    ws: &mut Workspace,
    mut finish: impl FnMut(&mut [f32]),
) {
    let out_len = geo.co * geo.oh * geo.ow;
    let mut ys = y.chunks_exact_mut(out_len);
    correlate_wide(isa, geo, w, x, bias, ws, |wide| {
        let y = ys.next().expect("one output per sample");
        compact(geo, wide, y);
        finish(y);
    });
}

/// [`correlate`] without the compaction: `each` gets every sample's wide output in turn (laid
/// out as [`Geometry::wide_strides`] says, bias added), to read in place. Values past each
/// row's `OW` are scratch, which `each` may overwrite too.
pub fn correlate_wide(
    isa: Isa,
    geo: &Geometry,
    w: &[f32],
    x: &[f32],
    bias: &[f32],
    ws: &mut Workspace,
    mut each: impl FnMut(&mut [f32]),
) {
    let in_len = geo.ci * geo.h * geo.w;
    assert_eq!(w.len(), geo.packed_len(), "packed filters");
    assert!(bias.is_empty() || bias.len() == geo.co, "one bias per output channel");
    let (hp, wp) = geo.padded();
    geo.taps(&mut ws.taps);
    // The last register block reads up to MAX_STEP positions past the last wide position,
    // which is the span less one before the end of the last plane (the largest tap offset
    // reaches it).
    ws.xp.resize(geo.ci * hp * wp + wp + MAX_STEP, 0.0);
    let rows = geo.wide_strides().1;
    let filters = geo.co.next_multiple_of(BLOCK);
    ws.yw.resize(filters * rows, 0.0);
    ws.bias.clear();
    ws.bias.extend_from_slice(bias);
    ws.bias.resize(filters, 0.0);
    for x in x.chunks_exact(in_len) {
        pad(geo, x, &mut ws.xp);
        let op = Wide {
            w,
            bias: &ws.bias,
            xp: &ws.xp,
            taps: &ws.taps,
            positions: geo.wide(),
            co: geo.co,
            yw: &mut ws.yw,
            rows,
        };
        wide_correlation(isa, op);
        each(&mut ws.yw);
    }
}

/// One sample's input into zero-padded planes (`HP × WP` each).
fn pad(geo: &Geometry, x: &[f32], xp: &mut [f32]) {
    let (hp, wp) = geo.padded();
    let plane = geo.h * geo.w;
    // Padded column q holds input column q − pad_left.
    let left = usize::try_from(geo.pad_left).expect("the direct method pads, never cuts");
    if (geo.pad_top, left, hp, wp) == (0, 0, geo.h, geo.w) {
        // No padding (a `valid` layer): the planes are the input's, copied in one piece.
        xp[..x.len()].copy_from_slice(x);
        return;
    }
    let n = geo.w.min(wp - left);
    for (c, planes) in xp.chunks_exact_mut(hp * wp).take(geo.ci).enumerate() {
        let src = &x[c * plane..(c + 1) * plane];
        for (r, row) in planes.chunks_exact_mut(wp).enumerate() {
            let iy = r as isize - geo.pad_top;
            if iy < 0 || iy >= geo.h as isize {
                row.fill(0.0);
                continue;
            }
            let line = &src[iy as usize * geo.w..][..geo.w];
            row[..left].fill(0.0);
            row[left..left + n].copy_from_slice(&line[..n]);
            row[left + n..].fill(0.0);
        }
    }
}

/// What every register block of one sample's correlation reads, and where it writes.
struct Wide<'a> {
    /// The packed filters, and the bias of each (zeros to whole blocks).
    w: &'a [f32],
    bias: &'a [f32],
    /// The padded input planes and each tap's offset in them.
    xp: &'a [f32],
    taps: &'a [usize],
    /// Wide positions per output channel, output channels.
    positions: usize,
    co: usize,
    /// The wide output: `co` rounded up to [`BLOCK`] rows of `rows` values.
    yw: &'a mut [f32],
    rows: usize,
}

/// The wide output (`CO` rows of `rows` positions, valid up to `OH·WP`) in bias-free form. The
/// register block has fewer filters and more positions when there are few filters (an input
/// gradient to 1–4 channels), so no lanes are spent on the zeros past the last one.
fn wide_correlation(isa: Isa, op: Wide) {
    // Every load stays inside `xp` and every store inside `yw`: the largest tap offset plus a
    // whole register block's positions; `co` rounded up to whole blocks of filters.
    // (The packed filters' length was checked by `correlate`.)
    assert!(op.taps.last().map_or(0, |&t| t) + op.positions + MAX_STEP <= op.xp.len());
    assert!(op.yw.len() >= op.co.next_multiple_of(BLOCK) * op.rows && op.rows >= op.positions + MAX_STEP);
    assert_eq!(
        op.bias.len(),
        op.co.next_multiple_of(BLOCK),
        "a bias for every packed filter"
    );
    #[cfg(target_arch = "x86_64")]
    {
        use x86::{Avx2, Avx512};
        #[target_feature(enable = "avx512f")]
        fn on_avx512(op: Wide) {
            // SAFETY: AVX-512F is enabled here; the bounds were asserted by the caller.
            unsafe {
                match op.co {
                    1 => blocks_of::<Avx512, 1, 8>(op),
                    2 => blocks_of::<Avx512, 2, 8>(op),
                    3 | 4 => blocks_of::<Avx512, 4, 6>(op),
                    _ => blocks_of::<Avx512, 8, 3>(op),
                }
            }
        }
        #[target_feature(enable = "avx2,fma")]
        fn on_avx2(op: Wide) {
            // SAFETY: AVX2 and FMA are enabled here; the bounds were asserted by the caller.
            // Accumulators, position vectors and the two broadcasts the compiler keeps in
            // flight stay within 16 registers: 4 × 3 and 2 × 5 spilled one accumulator to the
            // stack, a store and a reload on every tap (LeNet's inference was 20% slower).
            unsafe {
                match op.co {
                    1 => blocks_of::<Avx2, 1, 8>(op),
                    2 => blocks_of::<Avx2, 2, 4>(op),
                    _ => blocks_of::<Avx2, 4, 2>(op),
                }
            }
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
    unsafe { blocks_of::<Portable, 4, 3>(op) }
}

/// Every register block: filter blocks of [`BLOCK`] in `NF`-filter parts (those past filter
/// `co` skipped), positions in blocks of `NP` vectors.
///
/// # Safety
/// The CPU must have `R`'s instruction set; `xp` must hold every tap offset plus the positions
/// plus [`MAX_STEP`], `yw` `co` rounded up to [`BLOCK`] rows of `rows` ≥ the positions plus
/// [`MAX_STEP`], `bias` as many values as `yw` rows, and `w` `co.div_ceil(BLOCK)` blocks of all
/// taps.
#[inline(always)]
unsafe fn blocks_of<R: Reg, const NF: usize, const NP: usize>(op: Wide) {
    const { assert!(NF <= BLOCK && BLOCK.is_multiple_of(NF)) };
    let (k, step) = (op.taps.len(), NP * R::LANES);
    debug_assert!(step <= MAX_STEP);
    for b in 0..op.co.div_ceil(BLOCK) {
        for part in (0..BLOCK).step_by(NF).take_while(|part| b * BLOCK + part < op.co) {
            let wb = &op.w[b * k * BLOCK..(b + 1) * k * BLOCK];
            let out = b * BLOCK + part;
            for p in (0..op.positions).step_by(step) {
                // SAFETY: forwarded from the caller.
                unsafe {
                    register_block::<R, NF, NP>(
                        wb.as_ptr().add(part),
                        op.bias.as_ptr().add(out),
                        op.xp.as_ptr().add(p),
                        op.taps,
                        op.yw.as_mut_ptr().add(out * op.rows + p),
                        op.rows,
                    )
                };
            }
        }
    }
}

/// `NF` filters × `NP·LANES` positions: `y[f][j] = Σ_taps w[tap][f] · x[tap + j] + bias[f]`.
///
/// # Safety
/// The CPU must have `R`'s instruction set; `w` must be readable at `t·BLOCK + f` for every tap
/// `t` and `f < NF`, `bias` at `f < NF`, `x` at `taps[t] + j` for `j < NP·LANES`, and `y`
/// writable at `f·stride + j`.
#[inline(always)]
unsafe fn register_block<R: Reg, const NF: usize, const NP: usize>(
    w: *const f32,
    bias: *const f32,
    x: *const f32,
    taps: &[usize],
    y: *mut f32,
    stride: usize,
) {
    // SAFETY (the whole body): the caller's contract.
    unsafe {
        let mut acc = [[R::zero(); NP]; NF];
        for (t, &off) in taps.iter().enumerate() {
            let mut xv = [R::zero(); NP];
            for (j, v) in xv.iter_mut().enumerate() {
                *v = R::load(x.add(off + j * R::LANES));
            }
            for (f, row) in acc.iter_mut().enumerate() {
                let wf = R::splat(w.add(t * BLOCK + f));
                for (a, v) in row.iter_mut().zip(&xv) {
                    *a = R::mul_add(wf, *v, *a);
                }
            }
        }
        for (f, row) in acc.iter().enumerate() {
            let b = R::splat(bias.add(f));
            for (j, a) in row.iter().enumerate() {
                R::add(*a, b).store(y.add(f * stride + j * R::LANES));
            }
        }
    }
}

/// The wide output's valid positions (columns `< OW` of each row) into `y`.
fn compact(geo: &Geometry, yw: &[f32], y: &mut [f32]) {
    let (wp, rows) = geo.wide_strides();
    for (out, wide) in y
        .chunks_exact_mut(geo.ow)
        .zip(yw.chunks(rows).flat_map(|p| p.chunks(wp).take(geo.oh)))
    {
        out.copy_from_slice(&wide[..geo.ow]);
    }
}

/// One vector register of floats, as the kernel uses it. Implementations are always inlined
/// into their path's `#[target_feature]` function.
trait Reg: Copy {
    const LANES: usize;
    /// # Safety
    /// The CPU must have this type's instruction set (as for every method).
    unsafe fn zero() -> Self;
    /// # Safety
    /// `p` readable for [`Reg::LANES`] floats.
    unsafe fn load(p: *const f32) -> Self;
    /// # Safety
    /// `p` readable.
    unsafe fn splat(p: *const f32) -> Self;
    /// `a·b + c`.
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self;
    /// `a + b`.
    unsafe fn add(a: Self, b: Self) -> Self;
    /// # Safety
    /// `p` writable for [`Reg::LANES`] floats.
    unsafe fn store(self, p: *mut f32);
}

/// Eight floats in an array, for CPUs without AVX2 (a multiply and an add: no FMA assumed).
#[derive(Clone, Copy)]
struct Portable([f32; 8]);

impl Reg for Portable {
    const LANES: usize = 8;
    #[inline(always)]
    unsafe fn zero() -> Self {
        Portable([0.0; 8])
    }
    #[inline(always)]
    unsafe fn load(p: *const f32) -> Self {
        // SAFETY: the caller's contract.
        Portable(unsafe { p.cast::<[f32; 8]>().read_unaligned() })
    }
    #[inline(always)]
    unsafe fn splat(p: *const f32) -> Self {
        // SAFETY: the caller's contract.
        Portable([unsafe { p.read() }; 8])
    }
    #[inline(always)]
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
        let mut r = c.0;
        for ((r, a), b) in r.iter_mut().zip(a.0).zip(b.0) {
            *r += a * b;
        }
        Portable(r)
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        let mut r = a.0;
        for (r, b) in r.iter_mut().zip(b.0) {
            *r += b;
        }
        Portable(r)
    }
    #[inline(always)]
    unsafe fn store(self, p: *mut f32) {
        // SAFETY: the caller's contract.
        unsafe { p.cast::<[f32; 8]>().write_unaligned(self.0) }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::Reg;
    use std::arch::x86_64::*;

    #[derive(Clone, Copy)]
    pub(super) struct Avx512(__m512);

    #[derive(Clone, Copy)]
    pub(super) struct Avx2(__m256);

    // SAFETY (every method): the caller guarantees the instruction set and the pointers.
    impl Reg for Avx512 {
        const LANES: usize = 16;
        #[inline(always)]
        unsafe fn zero() -> Self {
            unsafe { Avx512(_mm512_setzero_ps()) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            unsafe { Avx512(_mm512_loadu_ps(p)) }
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> Self {
            unsafe { Avx512(_mm512_set1_ps(p.read())) }
        }
        #[inline(always)]
        unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
            unsafe { Avx512(_mm512_fmadd_ps(a.0, b.0, c.0)) }
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            unsafe { Avx512(_mm512_add_ps(a.0, b.0)) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            unsafe { _mm512_storeu_ps(p, self.0) }
        }
    }

    impl Reg for Avx2 {
        const LANES: usize = 8;
        #[inline(always)]
        unsafe fn zero() -> Self {
            unsafe { Avx2(_mm256_setzero_ps()) }
        }
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            unsafe { Avx2(_mm256_loadu_ps(p)) }
        }
        #[inline(always)]
        unsafe fn splat(p: *const f32) -> Self {
            unsafe { Avx2(_mm256_set1_ps(p.read())) }
        }
        #[inline(always)]
        unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
            unsafe { Avx2(_mm256_fmadd_ps(a.0, b.0, c.0)) }
        }
        #[inline(always)]
        unsafe fn add(a: Self, b: Self) -> Self {
            unsafe { Avx2(_mm256_add_ps(a.0, b.0)) }
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            unsafe { _mm256_storeu_ps(p, self.0) }
        }
    }
}

#[cfg(test)]
mod tests;
