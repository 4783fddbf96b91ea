//! The engine's element-wise hot loops (im2col and col2im, pooling, activations, optimizer
//! updates) compiled for the vector width of the path [`Isa::active`] picks.
//!
//! The binary is built for baseline x86-64 (SSE2, 4 floats), so it runs on any such CPU. A loop
//! passed to [`run`] is inlined into a function compiled with AVX-512 or AVX2 + FMA enabled, so
//! the compiler vectorizes it 16 or 8 floats wide where the CPU has them. The paths give
//! bit-identical results (Rust never reorders or contracts float operations), which the tests
//! check path by path, and `CNN_LAB_ISA` forces one as it does for the matrix multiply.
//!
//! (The `multiversion` crate does the same with its own CPU detection; ours follows
//! [`Isa::active`], so one variable forces the matrix multiply and these loops together.)

use super::gemm::Isa;

/// Runs `f` compiled for `isa`: AVX-512 and AVX2 + FMA run it inside a function built with those
/// features; [`Isa::Portable`] runs it as the binary was built.
///
/// # Panics
/// If this CPU cannot run `isa` (a bug in the caller: [`Isa::active`] only picks paths it has).
#[inline(always)]
pub fn run<R>(isa: Isa, f: impl FnOnce() -> R) -> R {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => {
            assert!(isa.is_available(), "simd::run: this CPU cannot run the {isa} path");
            // SAFETY: the CPU has AVX-512F (checked above), and `with_avx512` enables no more.
            unsafe { with_avx512(f) }
        }
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => {
            assert!(isa.is_available(), "simd::run: this CPU cannot run the {isa} path");
            // SAFETY: the CPU has AVX2 and FMA (checked above), and `with_avx2` enables no more.
            unsafe { with_avx2(f) }
        }
        _ => f(),
    }
}

/// Runs `f` on the active path (see [`run`]).
#[inline(always)]
pub fn run_active<R>(f: impl FnOnce() -> R) -> R {
    run(Isa::active(), f)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2,fma")]
fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn with_avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// Every path this CPU can run, fastest first (for tests that compare them).
pub fn available_paths() -> Vec<Isa> {
    Isa::ALL.into_iter().filter(|isa| isa.is_available()).collect()
}
