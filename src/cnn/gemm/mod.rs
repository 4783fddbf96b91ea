//! Safe single-precision matrix multiply on row-major slices: our AVX-512 kernel where the CPU
//! has it, else our AVX2 + FMA kernel, else `matrixmultiply` ([`Isa`] says which, and
//! `CNN_LAB_ISA` can force one).

mod avx2;
mod avx512;
// Operand checks for every path; the rest is used by the kernels, which exist only on x86-64.
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
mod common;
mod isa;

pub use isa::{ISA_ENV, Isa};

use common::Product;

/// How a matrix operand is stored: as written (row-major) or transposed (its transpose is row-major).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// An (rows × cols) operand stored row-major.
    N,
    /// An (rows × cols) operand whose storage is the row-major (cols × rows) transpose.
    T,
}

/// Below this many multiply-adds a product runs on the calling thread.
const PARALLEL_MIN_MACS: usize = 1 << 20;

/// `c (m×n) = [c +] a (m×k) · b (k×n)`; `accumulate` adds to `c` instead of overwriting it.
/// Runs on the [`Isa::active`] path.
///
/// `parallel` lets large products split their rows over the rayon pool; callers that already
/// run one product per thread pass `false`. Each output row is computed by one thread with the
/// same kernel either way, so the result does not depend on `parallel`.
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
    sgemm_with(Isa::active(), m, n, k, a, a_op, b, b_op, c, accumulate, parallel);
}

/// [`sgemm`] on the given path, so tests and benchmarks can run each path the CPU has.
///
/// # Panics
/// If this CPU cannot run `isa` ([`Isa::is_available`]), or a slice is shorter than its
/// dimensions require.
#[allow(clippy::too_many_arguments)]
pub fn sgemm_with(
    isa: Isa,
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
    assert!(isa.is_available(), "sgemm_with: this CPU cannot run the {isa} kernel");
    assert!(
        a.len() >= m * k && b.len() >= k * n && c.len() >= m * n,
        "sgemm operand too short"
    );
    if m == 0 || n == 0 {
        return;
    }
    // (row stride, column stride) of each operand in elements.
    let (a_rs, a_cs) = match a_op {
        Op::N => (k, 1),
        Op::T => (1, m),
    };
    let (b_rs, b_cs) = match b_op {
        Op::N => (n, 1),
        Op::T => (1, k),
    };
    let c = &mut c[..m * n];
    // Rows `first..first + rows` of the product.
    let rows_of = |first: usize, rows: usize| {
        Product::new(
            (rows, n, k),
            (&a[first * a_rs..], a_rs, a_cs),
            (b, b_rs, b_cs),
            accumulate,
        )
    };
    let threads = rayon::current_num_threads();
    if parallel && threads > 1 && m * n * k >= PARALLEL_MIN_MACS && m >= 2 * threads {
        use rayon::prelude::*;
        let rows = m.div_ceil(threads);
        c.par_chunks_mut(rows * n).enumerate().for_each(|(i, c)| {
            strided(isa, &rows_of(i * rows, c.len() / n), c);
        });
    } else {
        strided(isa, &rows_of(0, m), c);
    }
}

/// `product` into `c` on the path `isa`.
fn strided(isa: Isa, product: &Product, c: &mut [f32]) {
    // The empty cases, and every index each operand's strides can reach checked in bounds
    // (the kernels and the unsafe call below rely on it).
    if !product.check("sgemm", c) {
        return;
    }
    let done = match isa {
        Isa::Avx512 => avx512::sgemm(product, c),
        Isa::Avx2 => avx2::sgemm(product, c),
        Isa::Portable => false,
    };
    if done {
        return;
    }
    let Product {
        m,
        n,
        k,
        a,
        b,
        accumulate,
    } = *product;
    let beta = if accumulate { 1.0 } else { 0.0 };
    // SAFETY: `Product::check` showed the largest index each operand's strides can reach is in
    // bounds, and that `c` holds m×n values with strides (n, 1). With beta = 0, matrixmultiply never
    // reads `c`, so stale values (even NaN) cannot leak into the result.
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            a.rs() as isize,
            a.cs() as isize,
            b.as_ptr(),
            b.rs() as isize,
            b.cs() as isize,
            beta,
            c.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests;
