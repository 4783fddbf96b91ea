//! A growable buffer of floats that starts on a 64-byte cache line.
//!
//! A `Vec<f32>` is only 4-byte aligned, and the large ones the allocator maps from the system
//! start 16 bytes into a page, so every 64-byte vector load or store of a lane group straddles
//! two cache lines. The scratch buffers that the hot loops stream whole lane groups through
//! (the Winograd tiles and products) use this type instead.

use std::ops::{Deref, DerefMut};

/// Floats per cache line.
const LINE: usize = 16;

/// One cache line of floats, aligned as one.
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Line([f32; LINE]);

/// A `Vec<f32>`-like buffer whose first element is 64-byte aligned. It derefs to exactly
/// `len` floats; growing keeps the contents, like [`Vec::resize`].
#[derive(Clone, Default)]
pub struct AlignedVec {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedVec {
    /// `len` floats: the first `min(len, old len)` kept, any new ones set to `value`.
    pub fn resize(&mut self, len: usize, value: f32) {
        let old = self.len;
        self.lines.resize(len.div_ceil(LINE), Line::default());
        self.len = len;
        if len > old {
            self[old..].fill(value);
        }
    }

    /// No floats (the allocation is kept, as [`Vec::clear`]).
    pub fn clear(&mut self) {
        self.len = 0;
    }
}

impl Deref for AlignedVec {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        // SAFETY: `Line` is `repr(C)` around `[f32; LINE]`, so `lines` is `LINE · lines.len()`
        // initialized floats in a row, and `len ≤ LINE · lines.len()` (`resize` keeps it so).
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr().cast::<f32>(), self.len) }
    }
}

impl DerefMut for AlignedVec {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as in `deref`, through the unique borrow of `lines`.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr().cast::<f32>(), self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_on_a_cache_line_and_resizes_like_a_vec() {
        let mut a = AlignedVec::default();
        let mut v: Vec<f32> = Vec::new();
        assert!(a.is_empty());
        for (len, value) in [
            (5, 1.0),
            (40, 2.0),
            (3, 3.0),
            (1000, 4.0),
            (17, 5.0),
            (0, 6.0),
            (33, 7.0),
            (20, 8.0),
        ] {
            if value == 8.0 {
                a.clear();
                v.clear();
            }
            a.resize(len, value);
            v.resize(len, value);
            assert_eq!(a.len(), len);
            assert_eq!(&a[..], &v[..], "after resize to {len}");
            assert_eq!(a.as_ptr() as usize % 64, 0, "aligned after resize to {len}");
            // Writes land where a Vec's would.
            for (i, x) in a.iter_mut().enumerate() {
                *x += i as f32;
            }
            for (i, x) in v.iter_mut().enumerate() {
                *x += i as f32;
            }
        }
        assert_eq!(&a[..], &v[..]);
    }
}
