//! Every kernel path this CPU can run, against the naive product; paths it cannot run are
//! reported as skipped.

use super::*;

/// Deterministic values in [-1, 1).
fn values(len: usize, seed: f32) -> Vec<f32> {
    (0..len).map(|v| ((v as f32 + seed) * 0.737).sin()).collect()
}

/// `a·b` in f64, with the sum of absolute terms for a tolerance.
fn naive(m: usize, n: usize, k: usize, a: &[f32], a_op: Op, b: &[f32], b_op: Op) -> Vec<(f64, f64)> {
    let mut c = vec![(0.0, 0.0); m * n];
    for i in 0..m {
        for j in 0..n {
            for p in 0..k {
                let av = if a_op == Op::T { a[p * m + i] } else { a[i * k + p] };
                let bv = if b_op == Op::T { b[j * k + p] } else { b[p * n + j] };
                let t = av as f64 * bv as f64;
                c[i * n + j].0 += t;
                c[i * n + j].1 += t.abs();
            }
        }
    }
    c
}

const OPS: [(Op, Op); 4] = [(Op::N, Op::N), (Op::T, Op::N), (Op::N, Op::T), (Op::T, Op::T)];

fn check(isa: Isa, m: usize, n: usize, k: usize, parallel: bool) {
    let a = values(m * k, 1.0);
    let b = values(k * n, 2.0);
    let c0 = values(m * n, 3.0);
    for (a_op, b_op) in OPS {
        let want = naive(m, n, k, &a, a_op, &b, b_op);
        for accumulate in [false, true] {
            // Without accumulation `c` must not be read: NaN would leak into the result.
            let mut c = if accumulate { c0.clone() } else { vec![f32::NAN; m * n] };
            sgemm_with(isa, m, n, k, &a, a_op, &b, b_op, &mut c, accumulate, parallel);
            for (idx, (&got, &(sum, abs))) in c.iter().zip(&want).enumerate() {
                let (want, abs) = if accumulate {
                    (sum + c0[idx] as f64, abs + (c0[idx] as f64).abs())
                } else {
                    (sum, abs)
                };
                let tol = 1e-6 * (k as f64 + 1.0) * abs.max(1e-3);
                assert!(
                    (got as f64 - want).abs() <= tol,
                    "{isa} m={m} n={n} k={k} {a_op:?}{b_op:?} acc={accumulate}: c[{}][{}] = {got}, want {want}",
                    idx / n,
                    idx % n
                );
            }
        }
    }
}

#[test]
fn every_path_matches_the_naive_product_on_tail_shapes() {
    for isa in Isa::runnable("tail shapes") {
        for &(m, n, k) in &[
            (1, 1, 1),
            (5, 7, 3),
            (6, 16, 1),
            (7, 17, 5),
            (14, 32, 9),
            (15, 33, 17),
            (2, 3, 700),
            (13, 45, 300),
            (121, 19, 37),
            (3, 1100, 2),
            // Row stride 4 KiB with many A panels: the AVX2 kernel packs row-major B.
            (50, 1024, 20),
            // A transposed has a step stride of m: at 4 KiB the AVX2 kernel packs A, which it
            // reads in place otherwise.
            (1024, 20, 9),
            (29, 47, 520),
        ] {
            check(isa, m, n, k, false);
        }
    }
}

#[test]
fn every_path_matches_the_naive_product_on_large_parallel_shapes() {
    for isa in Isa::runnable("large shapes") {
        // Past every block size (k > 256, m > 120, n > 1024) with odd tails, split over threads.
        check(isa, 131, 1031, 263, true);
    }
}

#[test]
fn every_path_handles_empty_and_zero_depth() {
    for isa in Isa::runnable("empty shapes") {
        let mut c = vec![f32::NAN; 7];
        sgemm_with(isa, 2, 3, 0, &[], Op::N, &[], Op::N, &mut c, false, false);
        assert!(c[..6].iter().all(|&v| v == 0.0), "{isa}");
        assert!(c[6].is_nan(), "{isa}: wrote past m*n");
        let mut c = vec![5.0; 6];
        sgemm_with(isa, 2, 3, 0, &[], Op::N, &[], Op::N, &mut c, true, false);
        assert!(c.iter().all(|&v| v == 5.0), "{isa}");
        sgemm_with(isa, 0, 3, 4, &[], Op::N, &[0.0; 12], Op::N, &mut [], false, false);
    }
}

#[test]
fn parallel_rows_give_the_same_product() {
    let (m, n, k) = (64, 300, 128);
    let a = values(m * k, 0.5);
    let b = values(k * n, 0.25);
    for isa in Isa::runnable("parallel rows") {
        for (a_op, b_op) in OPS {
            let mut serial = vec![0.0; m * n];
            let mut parallel = vec![0.0; m * n];
            sgemm_with(isa, m, n, k, &a, a_op, &b, b_op, &mut serial, false, false);
            sgemm_with(isa, m, n, k, &a, a_op, &b, b_op, &mut parallel, false, true);
            assert_eq!(serial, parallel, "{isa} {a_op:?}{b_op:?}");
        }
    }
}

#[test]
fn the_active_path_runs_here() {
    assert!(Isa::active().is_available());
    println!("active sgemm path: {}", Isa::active());
}

/// Single-thread GFLOP/s of each path on the cifar model's convolution shapes:
/// `cargo test --release --lib gemm::tests::throughput -- --ignored --nocapture`.
#[test]
#[ignore = "a measurement, not a check"]
fn throughput() {
    // (m, n, k, a_op, b_op): forward (W·col), weight gradient (dY·colᵀ), input gradient (Wᵀ·dY).
    let shapes = [
        (64, 1024, 288, Op::N, Op::N),
        (64, 288, 1024, Op::N, Op::T),
        (288, 1024, 64, Op::T, Op::N),
        (128, 256, 576, Op::N, Op::N),
    ];
    for isa in Isa::runnable("throughput") {
        for &(m, n, k, a_op, b_op) in &shapes {
            let (a, b) = (values(m * k, 1.0), values(k * n, 2.0));
            let mut c = vec![0.0; m * n];
            let mut run = || sgemm_with(isa, m, n, k, &a, a_op, &b, b_op, &mut c, false, false);
            run();
            let start = std::time::Instant::now();
            let mut calls = 0;
            while start.elapsed().as_secs_f64() < 0.3 {
                run();
                calls += 1;
            }
            let gflops = 2.0 * (m * n * k * calls) as f64 / start.elapsed().as_secs_f64() / 1e9;
            println!("{isa:>8} m={m:<4} n={n:<5} k={k:<5} {a_op:?}{b_op:?}: {gflops:6.1} GFLOP/s");
        }
    }
}

#[test]
fn stride_spreads_remembers_only_right_answers() {
    use super::common::{count_spreads, stride_spreads};
    // Lines 4 KiB apart all fall in one L1 set; one line apart, in 64 different sets; 2 KiB
    // apart, in two sets.
    assert!(!stride_spreads(1024, 64, 8));
    assert!(!stride_spreads(3 * 1024, 9, 8));
    assert!(stride_spreads(3 * 1024, 8, 8));
    assert!(stride_spreads(16, 64, 1));
    assert!(!stride_spreads(512, 64, 8));
    assert!(stride_spreads(512, 8, 4));
    // Asked again and again, in an order that makes the remembered answers change places and
    // fall out, every answer is the one counted afresh (for strides past 1024 floats too).
    let cases: Vec<(usize, usize, u8)> = (0..200)
        .map(|i| {
            (
                [1, 16, 48, 512, 1000, 1024, 1040, 2048, 4096 + 16, 65536][i % 10],
                [1, 8, 16, 64, 256][i % 5],
                [1, 4, 8][i % 3],
            )
        })
        .collect();
    for round in 0..3 {
        for &(stride, count, max) in cases.iter().skip(round) {
            assert_eq!(
                stride_spreads(stride, count, max),
                count_spreads(stride, count, max),
                "stride {stride}, {count} lines, at most {max} per set"
            );
        }
    }
}
