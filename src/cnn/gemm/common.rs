//! What the AVX-512 and AVX2 kernels share: operand validation, k blocking, a strided view and
//! the thread-local packing buffer.

use std::cell::RefCell;

/// Number of elements a `rows×cols` strided view needs (`rows, cols ≥ 1`).
pub fn required_len(rows: usize, cols: usize, rs: usize, cs: usize) -> Option<usize> {
    (rows - 1)
        .checked_mul(rs)?
        .checked_add((cols - 1).checked_mul(cs)?)?
        .checked_add(1)
}

/// `c (m×n, row-major) = [c +] a (m×k) · b (k×n)`, `a` and `b` on any strides: the one
/// description of a product that every path (AVX-512, AVX2, portable) is given.
#[derive(Clone, Copy)]
pub struct Product<'a> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: Strided<'a>,
    pub b: Strided<'a>,
    /// Add to `c` instead of overwriting it.
    pub accumulate: bool,
}

impl<'a> Product<'a> {
    /// The product of `a` (m×k) and `b` (k×n), each a slice with its (row, column) strides.
    pub fn new(
        (m, n, k): (usize, usize, usize),
        (a, a_rs, a_cs): (&'a [f32], usize, usize),
        (b, b_rs, b_cs): (&'a [f32], usize, usize),
        accumulate: bool,
    ) -> Self {
        Product {
            m,
            n,
            k,
            a: Strided::new(a, a_rs, a_cs),
            b: Strided::new(b, b_rs, b_cs),
            accumulate,
        }
    }

    /// Validates the operands against `c` and handles the empty cases: returns `false` when
    /// nothing is left to do (`m`, `n` or `k` is 0; with `k == 0` `c` has been zeroed unless
    /// accumulating), `true` when all of `m, n, k ≥ 1` and a kernel may rely on every index of
    /// the three views being in bounds.
    ///
    /// # Panics
    /// If a slice is too short for its shape and strides, or an index overflows `usize`; the
    /// message names the kernel (`name`) and the operand (caller bugs).
    pub fn check(&self, name: &str, c: &mut [f32]) -> bool {
        let Product {
            m,
            n,
            k,
            a,
            b,
            accumulate,
        } = *self;
        let c_len = m
            .checked_mul(n)
            .unwrap_or_else(|| panic!("{name}::sgemm: m*n overflows usize"));
        assert!(
            c.len() >= c_len,
            "{name}::sgemm: c has {} elements, need m*n = {m}*{n} = {c_len}",
            c.len(),
        );
        for (operand, view, rows, cols) in [("a", a, m, k), ("b", b, k, n)] {
            if rows > 0 && cols > 0 {
                let need = required_len(rows, cols, view.rs, view.cs)
                    .unwrap_or_else(|| panic!("{name}::sgemm: {operand} index overflows usize"));
                assert!(
                    view.s.len() >= need,
                    "{name}::sgemm: {operand} has {} elements, need {need} for m={m} n={n} k={k} \
                     strides ({}, {})",
                    view.s.len(),
                    view.rs,
                    view.cs,
                );
            }
        }
        if m == 0 || n == 0 {
            return false;
        }
        if k == 0 {
            if !accumulate {
                c[..c_len].fill(0.0);
            }
            return false;
        }
        true
    }
}

/// Number of k blocks of at most `kc_max` and their nominal (balanced) depth.
pub fn k_blocks(k: usize, kc_max: usize) -> (usize, usize) {
    let nkb = k.div_ceil(kc_max);
    (nkb, k.div_ceil(nkb))
}

/// True if `count` lines at a stride of `stride` floats spread over the L1 sets well enough
/// (at most `max_per_set` per set of a 64-set, 64-byte-line cache), i.e. reading them in place
/// does not cause many conflict misses.
///
/// Remembers its last few answers per thread: the planner asks on every product, and the
/// Winograd correlation runs thousands of equal small products per pass (the 64-step count
/// below was about 2% of a Conv2D 32→64 training step).
pub fn stride_spreads(stride: usize, count: usize, max_per_set: u8) -> bool {
    type Answer = Option<((usize, usize, u8), bool)>;
    thread_local! {
        static RECENT: std::cell::Cell<[Answer; 4]> = const { std::cell::Cell::new([None; 4]) };
    }
    // The sets depend on the stride modulo 64 sets × 16 floats only.
    let key = (stride % 1024, count.min(64), max_per_set);
    let recent = RECENT.get();
    if let Some((_, spreads)) = recent.iter().flatten().find(|(k, _)| *k == key) {
        return *spreads;
    }
    let spreads = count_spreads(key.0, key.1, max_per_set);
    RECENT.set([Some((key, spreads)), recent[0], recent[1], recent[2]]);
    spreads
}

/// [`stride_spreads`] counted line by line.
pub(super) fn count_spreads(stride: usize, count: usize, max_per_set: u8) -> bool {
    let mut hist = [0u8; 64];
    for r in 0..count.min(64) {
        let set = (r.wrapping_mul(stride).wrapping_mul(4) / 64) % 64;
        hist[set] += 1;
        if hist[set] > max_per_set {
            return false;
        }
    }
    true
}

/// A strided read-only matrix view over a slice: element (i, j) at `s[i*rs + j*cs]`
/// (bounds-checked).
#[derive(Clone, Copy)]
pub struct Strided<'a> {
    s: &'a [f32],
    rs: usize,
    cs: usize,
}

impl<'a> Strided<'a> {
    /// The view of `s` with row stride `rs` and column stride `cs`.
    pub fn new(s: &'a [f32], rs: usize, cs: usize) -> Self {
        Self { s, rs, cs }
    }

    /// Element (i, j).
    #[inline(always)]
    pub fn get(&self, i: usize, j: usize) -> f32 {
        self.s[i * self.rs + j * self.cs]
    }

    /// The row stride in elements.
    pub fn rs(&self) -> usize {
        self.rs
    }

    /// The column stride in elements.
    pub fn cs(&self) -> usize {
        self.cs
    }

    /// A pointer to element (0, 0), for kernels that index the view themselves (after
    /// [`Product::check`]).
    pub fn as_ptr(&self) -> *const f32 {
        self.s.as_ptr()
    }

    /// A pointer to element (i, j) (bounds-checked), for reading in place.
    pub fn ptr(&self, i: usize, j: usize) -> *const f32 {
        self.s[i * self.rs + j * self.cs..].as_ptr()
    }

    /// Whether each row's elements are contiguous (column stride 1), as in `Op::N`.
    pub fn rows_contiguous(&self) -> bool {
        self.cs == 1
    }

    /// Whether each column's elements are contiguous (row stride 1), as in `Op::T`.
    pub fn cols_contiguous(&self) -> bool {
        self.rs == 1
    }

    /// Elements (i, j..j+len) as a slice; the rows must be contiguous.
    #[inline]
    pub fn row_run(&self, i: usize, j: usize, len: usize) -> &'a [f32] {
        debug_assert!(self.rows_contiguous());
        &self.s[i * self.rs + j..][..len]
    }

    /// Elements (i..i+len, j) as a slice; the columns must be contiguous.
    #[inline]
    pub fn col_run(&self, i: usize, j: usize, len: usize) -> &'a [f32] {
        debug_assert!(self.cols_contiguous());
        &self.s[i + j * self.cs..][..len]
    }

    /// The view whose (0, 0) is this view's (i, j).
    pub fn offset(&self, i: usize, j: usize) -> Self {
        Self {
            s: &self.s[i * self.rs + j * self.cs..],
            ..*self
        }
    }
}

thread_local! {
    /// Reusable packing buffer (avoids allocation and page faults per call).
    static PACK_BUF: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Makes a packing buffer hold at least `need` values. It grows once, straight to `most` (the
/// most any product of the kernel needs), so later products on this thread never allocate (a
/// training step allocates nothing: `tests/allocations.rs`).
pub fn ensure_len(buf: &mut Vec<f32>, need: usize, most: usize) {
    if buf.len() < need {
        buf.resize(need.max(most), 0.0);
    }
}

/// Runs `f` with this thread's packing buffer (grown by `f` with [`ensure_len`], kept for the
/// next call).
pub fn with_pack_buf<R>(f: impl FnOnce(&mut Vec<f32>) -> R) -> R {
    PACK_BUF.with(|cell| {
        // Take the buffer out so that it is exclusively owned during the call.
        let mut buf = cell.take();
        let r = f(&mut buf);
        cell.replace(buf);
        r
    })
}
