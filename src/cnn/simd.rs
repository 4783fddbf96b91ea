//! The engine's element-wise hot loops (im2col and col2im, pooling, activations, optimizer
//! updates) compiled for the vector width of the path [`Isa::active`](crate::cnn::gemm::Isa::active) picks.
//!
//! The binary is built for baseline x86-64 (SSE2, 4 floats), so it runs on any such CPU. A loop
//! written with [`vectorized!`] is compiled three times: plainly, and inlined into a function
//! built with AVX2 + FMA and one built with AVX-512 enabled, where the compiler vectorizes it 8
//! or 16 floats wide. The copies give bit-identical results (Rust never reorders or contracts
//! float operations), which the tests check path by path, and `CNN_LAB_ISA` forces one, as it
//! does for the matrix multiply.
//!
//! (The `multiversion` crate does the same with its own CPU detection; ours follows
//! [`Isa::active`](crate::cnn::gemm::Isa::active), so one variable forces the matrix multiply and these loops together.)

/// `vectorized! { fn name(a: A, b: B) { body } }` defines `fn name(isa: Isa, a: A, b: B)`,
/// which runs `body` compiled for `isa` (see the module). It panics if this CPU cannot run
/// `isa` ([`Isa::active`](crate::cnn::gemm::Isa::active) only picks paths it has).
macro_rules! vectorized {
    ($(#[$meta:meta])* $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        $vis fn $name(isa: $crate::cnn::gemm::Isa, $($arg: $ty),*) {
            // Inlined into each copy below, so each is compiled for its own features.
            #[inline(always)]
            fn plain($($arg: $ty),*) $body

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx512f")]
            fn avx512($($arg: $ty),*) {
                plain($($arg),*)
            }

            #[cfg(target_arch = "x86_64")]
            #[target_feature(enable = "avx2,fma")]
            fn avx2($($arg: $ty),*) {
                plain($($arg),*)
            }

            match isa {
                #[cfg(target_arch = "x86_64")]
                $crate::cnn::gemm::Isa::Avx512 => {
                    assert!(isa.is_available(), "this CPU cannot run the {isa} path");
                    // SAFETY: the CPU has AVX-512F (checked above), which implies AVX2 and FMA.
                    unsafe { avx512($($arg),*) }
                }
                #[cfg(target_arch = "x86_64")]
                $crate::cnn::gemm::Isa::Avx2 => {
                    assert!(isa.is_available(), "this CPU cannot run the {isa} path");
                    // SAFETY: the CPU has AVX2 and FMA (checked above).
                    unsafe { avx2($($arg),*) }
                }
                _ => plain($($arg),*),
            }
        }
    };
}

pub(crate) use vectorized;

/// The sum of `values` in 16 running partial sums, added together at the end: a plain
/// `iter().sum()` is one chain of dependent adds that the compiler may not reorder, about 16×
/// slower on long rows (the bias gradient sums every output row of a batch).
pub fn sum(values: &[f32]) -> f32 {
    const PARTS: usize = 16;
    let mut parts = [0.0f32; PARTS];
    let mut chunks = values.chunks_exact(PARTS);
    for chunk in &mut chunks {
        for (part, v) in parts.iter_mut().zip(chunk) {
            *part += v;
        }
    }
    parts.iter().sum::<f32>() + chunks.remainder().iter().sum::<f32>()
}
