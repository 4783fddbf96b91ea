use cnn_lab::cnn::gemm::{Op, sgemm};
use std::time::Instant;
fn main() {
    for &(m, n, k, a_op, b_op, label) in &[
        (32usize, 1024usize, 288usize, Op::N, Op::N, "fwd conv2"),
        (32, 288, 1024, Op::N, Op::T, "dW conv2"),
        (288, 1024, 32, Op::T, Op::N, "dcols conv2"),
        (64, 256, 576, Op::N, Op::N, "fwd conv4"),
        (64, 576, 256, Op::N, Op::T, "dW conv4"),
        (576, 256, 64, Op::T, Op::N, "dcols conv4"),
        (32, 32768, 288, Op::N, Op::N, "fwd conv2 batched 32"),
    ] {
        let a = vec![0.5f32; m * k];
        let b = vec![0.25f32; k * n];
        let mut c = vec![0.0f32; m * n];
        let iters = (2e9 / (2.0 * (m * n * k) as f64)).max(3.0) as usize;
        let t = Instant::now();
        for _ in 0..iters {
            sgemm(m, n, k, &a, a_op, &b, b_op, &mut c, true, false);
        }
        let s = t.elapsed().as_secs_f64();
        let g1 = 2.0 * (m * n * k * iters) as f64 / s / 1e9;
        let (ars, acs) = if a_op == Op::N {
            (k as isize, 1)
        } else {
            (1, m as isize)
        };
        let (brs, bcs) = if b_op == Op::N {
            (n as isize, 1)
        } else {
            (1, k as isize)
        };
        let t = Instant::now();
        for _ in 0..iters {
            unsafe {
                matrixmultiply::sgemm(
                    m,
                    k,
                    n,
                    1.0,
                    a.as_ptr(),
                    ars,
                    acs,
                    b.as_ptr(),
                    brs,
                    bcs,
                    1.0,
                    c.as_mut_ptr(),
                    n as isize,
                    1,
                )
            };
        }
        let s = t.elapsed().as_secs_f64();
        println!(
            "{label:22} {m}x{n}x{k}: gemm {g1:.1}  matrixmultiply {:.1} GFLOP/s",
            2.0 * (m * n * k * iters) as f64 / s / 1e9
        );
    }
}
#[allow(dead_code)]
fn unused() {}
