//! One value of each of [`LANES`] tiles as the vector each path computes with: a `Lanes`
//! array (portable), one 512-bit register (AVX-512) or two 256-bit ones (AVX2). The tile
//! transforms are written once over [`Vector`], so every path runs the same operations in the
//! same order (multiplies and adds, never fused) and gives bitwise the same numbers.
//!
//! Written with intrinsics rather than left to the compiler's vectorizer: inside the large
//! gather-and-transform loops, LLVM vectorized the 16-lane arithmetic of the plain arrays into
//! a mix of 128-, 256- and 512-bit pieces through the stack, and a 512-bit load of values just
//! written by narrower stores cannot be forwarded (on an Intel Xeon, one such store-to-load
//! stall took 12% of the input transform).

/// Tiles transformed side by side.
pub const LANES: usize = 16;

/// One value of each of [`LANES`] tiles.
pub type Lanes = [f32; LANES];

/// [`LANES`] floats on one path.
pub(super) trait Vector: Copy {
    /// The first [`LANES`] values of `src`.
    ///
    /// # Safety
    /// The CPU must have this type's instruction set.
    unsafe fn load(src: &[f32]) -> Self;
    fn add(self, other: Self) -> Self;
    fn sub(self, other: Self) -> Self;
    /// Every lane times `k`.
    fn scale(self, k: f32) -> Self;
    /// The first `dst.len()` (at most [`LANES`]) lanes into `dst`.
    fn store(self, dst: &mut [f32]);
    /// Every lane plus `b`, as an array.
    fn lanes_plus(self, b: f32) -> Lanes;
}

impl Vector for Lanes {
    #[inline(always)]
    unsafe fn load(src: &[f32]) -> Self {
        lanes_at(src, 0)
    }

    #[inline(always)]
    fn add(self, other: Self) -> Self {
        let mut v = self;
        v.iter_mut().zip(other).for_each(|(v, o)| *v += o);
        v
    }

    #[inline(always)]
    fn sub(self, other: Self) -> Self {
        let mut v = self;
        v.iter_mut().zip(other).for_each(|(v, o)| *v -= o);
        v
    }

    #[inline(always)]
    fn scale(self, k: f32) -> Self {
        let mut v = self;
        v.iter_mut().for_each(|v| *v *= k);
        v
    }

    #[inline(always)]
    fn store(self, dst: &mut [f32]) {
        copy_lanes(&self, dst);
    }

    #[inline(always)]
    fn lanes_plus(self, b: f32) -> Lanes {
        let mut v = self;
        v.iter_mut().for_each(|v| *v += b);
        v
    }
}

#[cfg(target_arch = "x86_64")]
pub(super) use x86::{Avx2, Avx512};

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{LANES, Lanes, Vector};
    use std::arch::x86_64::*;

    /// One AVX-512 register. Values exist only where the caller checked the CPU has
    /// AVX-512F (the only constructor is the unsafe [`Vector::load`]).
    #[derive(Clone, Copy)]
    pub struct Avx512(pub __m512);

    /// Two AVX2 registers, lanes 0–7 and 8–15; made only where the CPU has AVX2.
    #[derive(Clone, Copy)]
    pub struct Avx2(pub [__m256; 2]);

    // SAFETY (every block below): a value of these types exists only after the unsafe `load`,
    // whose caller guarantees the CPU has the instruction set; slices are bounds-checked
    // before each raw access.
    impl Vector for Avx512 {
        #[inline(always)]
        unsafe fn load(src: &[f32]) -> Self {
            let src = &src[..LANES];
            unsafe { Avx512(_mm512_loadu_ps(src.as_ptr())) }
        }

        #[inline(always)]
        fn add(self, other: Self) -> Self {
            unsafe { Avx512(_mm512_add_ps(self.0, other.0)) }
        }

        #[inline(always)]
        fn sub(self, other: Self) -> Self {
            unsafe { Avx512(_mm512_sub_ps(self.0, other.0)) }
        }

        #[inline(always)]
        fn scale(self, k: f32) -> Self {
            unsafe { Avx512(_mm512_mul_ps(_mm512_set1_ps(k), self.0)) }
        }

        #[inline(always)]
        fn store(self, dst: &mut [f32]) {
            let n = dst.len().min(LANES);
            unsafe {
                if n == LANES {
                    _mm512_storeu_ps(dst.as_mut_ptr(), self.0);
                } else {
                    _mm512_mask_storeu_ps(dst.as_mut_ptr(), ((1u32 << n) - 1) as u16, self.0);
                }
            }
        }

        #[inline(always)]
        fn lanes_plus(self, b: f32) -> Lanes {
            let mut out = [0.0; LANES];
            unsafe { _mm512_storeu_ps(out.as_mut_ptr(), _mm512_add_ps(self.0, _mm512_set1_ps(b))) };
            out
        }
    }

    impl Vector for Avx2 {
        #[inline(always)]
        unsafe fn load(src: &[f32]) -> Self {
            let src = &src[..LANES];
            unsafe { Avx2([_mm256_loadu_ps(src.as_ptr()), _mm256_loadu_ps(src.as_ptr().add(8))]) }
        }

        #[inline(always)]
        fn add(self, other: Self) -> Self {
            let ([a0, a1], [b0, b1]) = (self.0, other.0);
            unsafe { Avx2([_mm256_add_ps(a0, b0), _mm256_add_ps(a1, b1)]) }
        }

        #[inline(always)]
        fn sub(self, other: Self) -> Self {
            let ([a0, a1], [b0, b1]) = (self.0, other.0);
            unsafe { Avx2([_mm256_sub_ps(a0, b0), _mm256_sub_ps(a1, b1)]) }
        }

        #[inline(always)]
        fn scale(self, k: f32) -> Self {
            let [a0, a1] = self.0;
            unsafe {
                let k = _mm256_set1_ps(k);
                Avx2([_mm256_mul_ps(k, a0), _mm256_mul_ps(k, a1)])
            }
        }

        #[inline(always)]
        fn store(self, dst: &mut [f32]) {
            if dst.len() >= LANES {
                let dst = &mut dst[..LANES];
                unsafe {
                    _mm256_storeu_ps(dst.as_mut_ptr(), self.0[0]);
                    _mm256_storeu_ps(dst.as_mut_ptr().add(8), self.0[1]);
                }
            } else {
                let mut lanes = [0.0; LANES];
                unsafe {
                    _mm256_storeu_ps(lanes.as_mut_ptr(), self.0[0]);
                    _mm256_storeu_ps(lanes.as_mut_ptr().add(8), self.0[1]);
                }
                lanes.store(dst);
            }
        }

        #[inline(always)]
        fn lanes_plus(self, b: f32) -> Lanes {
            let mut out = [0.0; LANES];
            unsafe {
                let b = _mm256_set1_ps(b);
                _mm256_storeu_ps(out.as_mut_ptr(), _mm256_add_ps(self.0[0], b));
                _mm256_storeu_ps(out.as_mut_ptr().add(8), _mm256_add_ps(self.0[1], b));
            }
            out
        }
    }
}

/// The [`LANES`] values of `src` from `at`.
#[inline(always)]
pub fn lanes_at(src: &[f32], at: usize) -> Lanes {
    match <&Lanes>::try_from(&src[at..at + LANES]) {
        Ok(lanes) => *lanes,
        Err(_) => unreachable!("a range of LANES values"),
    }
}

/// `on_vector!(isa, V => body)` runs `body` with `V` the vector type of `isa`'s path
/// ([`Avx512`], [`Avx2`], else [`Lanes`]): one copy of the code per path, for the transforms'
/// callers, which are themselves compiled once per path.
macro_rules! on_vector {
    ($isa:expr, $V:ident => $body:expr) => {
        match $isa {
            #[cfg(target_arch = "x86_64")]
            $crate::cnn::gemm::Isa::Avx512 => {
                type $V = $crate::cnn::winograd::vector::Avx512;
                $body
            }
            #[cfg(target_arch = "x86_64")]
            $crate::cnn::gemm::Isa::Avx2 => {
                type $V = $crate::cnn::winograd::vector::Avx2;
                $body
            }
            _ => {
                type $V = $crate::cnn::winograd::vector::Lanes;
                $body
            }
        }
    };
}

pub(super) use on_vector;

/// `dst.len()` lanes of `src` into `dst`; a whole group as one fixed-size copy (a call to
/// `memcpy` per short copy would cost more than the transform). The rare partial group goes
/// value by value through `black_box`, which keeps the compiler from folding both cases into
/// one `memcpy` call.
#[inline(always)]
pub fn copy_lanes(src: &Lanes, dst: &mut [f32]) {
    match <&mut Lanes>::try_from(&mut *dst) {
        Ok(whole) => *whole = *src,
        Err(_) => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = std::hint::black_box(*s);
            }
        }
    }
}
