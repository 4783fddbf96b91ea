//! The machine's FMA peak: a short register-only multiply-add loop on every rayon thread, at the
//! vector width of a kernel path, so a GFLOP/s figure can be read as a share of what the CPU
//! can do.

use crate::cnn::gemm::Isa;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Independent accumulators: enough to cover the FMA latency on two pipes (4 cycles × 2 on
/// current x86 cores), few enough to stay in registers on AVX2 (16 ymm).
const CHAINS: usize = 12;
/// Loop iterations between clock reads.
const CHUNK: usize = 1 << 16;

/// GFLOP/s (one FMA = 2 FLOPs) of a register-only FMA loop on all rayon threads at once, at the
/// vector width `isa` computes with: 16 lanes for AVX-512, 8 for AVX2. The portable path
/// (`matrixmultiply`) picks its own kernel at run time, the widest the CPU has (AVX-512F, else
/// AVX2 + FMA), so it is measured at that width, or with a 4-lane multiply-then-add loop on
/// CPUs with neither.
/// Best of three runs of `run_secs` each.
pub fn fma_peak_gflops(isa: Isa, run_secs: f64) -> f64 {
    let kernel = Kernel::for_isa(isa);
    let budget = Duration::from_secs_f64(run_secs.max(0.01));
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let flops: f64 = rayon::broadcast(|_| {
                let mut iters = 0usize;
                let mut sink = 0.0;
                while start.elapsed() < budget {
                    sink += kernel.run(CHUNK);
                    iters += CHUNK;
                }
                black_box(sink);
                (iters * CHAINS * kernel.lanes() * 2) as f64
            })
            .into_iter()
            .sum();
            flops / start.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

/// The loop a path is measured with.
#[derive(Clone, Copy)]
enum Kernel {
    #[cfg(target_arch = "x86_64")]
    Avx512,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    Scalar4,
}

impl Kernel {
    fn for_isa(isa: Isa) -> Kernel {
        match isa {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 | Isa::Portable if Isa::Avx512.is_available() => Kernel::Avx512,
            #[cfg(target_arch = "x86_64")]
            _ if Isa::Avx2.is_available() => Kernel::Avx2,
            _ => Kernel::Scalar4,
        }
    }

    /// f32 lanes per multiply-add.
    fn lanes(self) -> usize {
        match self {
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => 16,
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => 8,
            Kernel::Scalar4 => 4,
        }
    }

    /// `iters` steps of `CHAINS` vector multiply-adds; returns a value that depends on all.
    fn run(self, iters: usize) -> f32 {
        match self {
            // SAFETY: `for_isa` picks this loop only when the CPU has AVX-512F.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx512 => unsafe { x86::fma_avx512(iters) },
            // SAFETY: `for_isa` picks this loop only when the CPU has AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2 => unsafe { x86::fma_avx2(iters) },
            Kernel::Scalar4 => scalar4(iters),
        }
    }
}

/// Multiply, then add, on 4-lane arrays the compiler keeps in SSE registers (no FMA assumed).
fn scalar4(iters: usize) -> f32 {
    let (x, y) = (black_box(0.999_999f32), black_box(1e-7f32));
    let mut acc = [[1.0f32; 4]; CHAINS];
    for _ in 0..iters {
        for chain in acc.iter_mut() {
            for v in chain.iter_mut() {
                *v = *v * x + y;
            }
        }
    }
    acc.iter().flatten().sum()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::CHAINS;
    use std::arch::x86_64::*;
    use std::hint::black_box;

    /// `iters` × `CHAINS` 512-bit FMAs.
    #[target_feature(enable = "avx512f")]
    pub fn fma_avx512(iters: usize) -> f32 {
        let x = _mm512_set1_ps(black_box(0.999_999));
        let y = _mm512_set1_ps(black_box(1e-7));
        let mut acc = [_mm512_set1_ps(1.0); CHAINS];
        for _ in 0..iters {
            for a in acc.iter_mut() {
                *a = _mm512_fmadd_ps(*a, x, y);
            }
        }
        let sum = acc.iter().fold(_mm512_setzero_ps(), |s, &a| _mm512_add_ps(s, a));
        _mm512_reduce_add_ps(sum)
    }

    /// `iters` × `CHAINS` 256-bit FMAs.
    #[target_feature(enable = "avx2,fma")]
    pub fn fma_avx2(iters: usize) -> f32 {
        let x = _mm256_set1_ps(black_box(0.999_999));
        let y = _mm256_set1_ps(black_box(1e-7));
        let mut acc = [_mm256_set1_ps(1.0); CHAINS];
        for _ in 0..iters {
            for a in acc.iter_mut() {
                *a = _mm256_fmadd_ps(*a, x, y);
            }
        }
        let sum = acc.iter().fold(_mm256_setzero_ps(), |s, &a| _mm256_add_ps(s, a));
        let mut lanes = [0f32; 8];
        // SAFETY: `lanes` holds 8 floats.
        unsafe { _mm256_storeu_ps(lanes.as_mut_ptr(), sum) };
        lanes.iter().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_runnable_path_has_a_positive_peak() {
        for isa in Isa::ALL {
            if !isa.is_available() {
                println!("skipped the {isa} peak (this CPU cannot run it)");
                continue;
            }
            let peak = fma_peak_gflops(isa, 0.05);
            println!(
                "{isa} FMA peak on {} threads: {peak:.1} GFLOP/s",
                rayon::current_num_threads()
            );
            assert!(peak.is_finite() && peak > 0.0, "{isa}: {peak}");
        }
    }
}
