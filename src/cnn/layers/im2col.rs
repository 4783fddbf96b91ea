//! im2col and its adjoint col2im: a convolution's input unfolded into one column per output
//! pixel, so the convolution becomes a matrix product (`conv2d.rs`).

use crate::cnn::gemm::Isa;
use crate::cnn::geometry::Window;
use crate::cnn::simd;

/// For output column `ox` and a kernel column at offset `kj` (its index times the dilation), the
/// image column is `ox·s + kj − pad`; returns the range of `ox` for which it lies inside `0..w`.
fn valid_range(out: usize, w: usize, s: usize, kj: usize, pad: usize) -> (usize, usize) {
    // ox·s + kj ≥ pad  ⇔ ox ≥ ceil((pad − kj)/s)
    let lo = if pad > kj { (pad - kj).div_ceil(s) } else { 0 };
    // ox·s + kj − pad ≤ w − 1 ⇔ ox ≤ (w − 1 + pad − kj)/s
    let hi = if w + pad > kj {
        ((w - 1 + pad - kj) / s + 1).min(out)
    } else {
        0
    };
    (lo.min(hi), hi)
}

/// Unfolds one (C, H, W) image into (K, P) columns, zeros where the window hangs over the edge,
/// on the active vector path.
pub(super) fn im2col(x: &[f32], c: usize, h: usize, w: usize, win: &Window, cols: &mut [f32]) {
    im2col_on(Isa::active(), x, c, h, w, win, cols);
}

simd::vectorized! {
    /// [`im2col`] on the given vector path.
    fn im2col_on(x: &[f32], c: usize, h: usize, w: usize, win: &Window, cols: &mut [f32]) {
        let (oh, ow) = win.out_hw();
        let p = oh * ow;
        let (pt, pl) = (win.rows.pad_before, win.cols.pad_before);
        let mut row = 0;
        for ci in 0..c {
            let plane = &x[ci * h * w..(ci + 1) * h * w];
            for ki in 0..win.kh {
                for kj in 0..win.kw {
                    let dst = &mut cols[row * p..(row + 1) * p];
                    row += 1;
                    // Where kernel column `kj` lands, `dw` columns apart when dilated.
                    let off = kj * win.dw;
                    let (lo, hi) = valid_range(ow, w, win.sw, off, pl);
                    for oy in 0..oh {
                        let d = &mut dst[oy * ow..(oy + 1) * ow];
                        let iy = (oy * win.sh + ki) as isize - pt as isize;
                        if iy < 0 || iy >= h as isize {
                            d.fill(0.0);
                            continue;
                        }
                        let src = &plane[iy as usize * w..(iy as usize + 1) * w];
                        d[..lo].fill(0.0);
                        d[hi..].fill(0.0);
                        if hi == lo {
                            // The window column lies wholly in the padding for every output.
                        } else if win.sw == 1 {
                            let start = lo + off - pl;
                            d[lo..hi].copy_from_slice(&src[start..start + (hi - lo)]);
                        } else {
                            for (ox, v) in d[lo..hi].iter_mut().enumerate() {
                                *v = src[(lo + ox) * win.sw + off - pl];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds every column entry back onto the pixel it came from, on the
/// active vector path.
pub(super) fn col2im(cols: &[f32], c: usize, h: usize, w: usize, win: &Window, x: &mut [f32]) {
    col2im_on(Isa::active(), cols, c, h, w, win, x);
}

simd::vectorized! {
    /// [`col2im`] on the given vector path.
    fn col2im_on(cols: &[f32], c: usize, h: usize, w: usize, win: &Window, x: &mut [f32]) {
        let (oh, ow) = win.out_hw();
        let p = oh * ow;
        let (pt, pl) = (win.rows.pad_before, win.cols.pad_before);
        x.fill(0.0);
        let mut row = 0;
        for ci in 0..c {
            let plane = &mut x[ci * h * w..(ci + 1) * h * w];
            for ki in 0..win.kh {
                for kj in 0..win.kw {
                    let src = &cols[row * p..(row + 1) * p];
                    row += 1;
                    // Where kernel column `kj` lands, `dw` columns apart when dilated.
                    let off = kj * win.dw;
                    let (lo, hi) = valid_range(ow, w, win.sw, off, pl);
                    for oy in 0..oh {
                        let iy = (oy * win.sh + ki) as isize - pt as isize;
                        if iy < 0 || iy >= h as isize {
                            continue;
                        }
                        let d = &mut plane[iy as usize * w..(iy as usize + 1) * w];
                        let s = &src[oy * ow..(oy + 1) * ow];
                        if hi == lo {
                            // Nothing of this kernel column lands inside the image.
                        } else if win.sw == 1 {
                            let start = lo + off - pl;
                            d[start..start + (hi - lo)]
                                .iter_mut()
                                .zip(&s[lo..hi])
                                .for_each(|(d, s)| *d += s);
                        } else {
                            for ox in lo..hi {
                                d[ox * win.sw + off - pl] += s[ox];
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cnn::geometry::Padding;

    #[test]
    fn valid_range_clips_columns_to_the_image() {
        // w = 8, kernel 3, stride 2, same: out 4, pad before 0.
        assert_eq!(valid_range(4, 8, 2, 0, 0), (0, 4));
        assert_eq!(valid_range(4, 8, 2, 2, 0), (0, 3)); // ox = 3 → column 8 is padding
        // w = 5, explicit pad 2, kernel 5, stride 1: out 5.
        assert_eq!(valid_range(5, 5, 1, 0, 2), (2, 5));
        assert_eq!(valid_range(5, 5, 1, 4, 2), (0, 3));
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), c> = <x, col2im(c)> for random x, c.
        let square = |h, w, k, s, pad| (h, w, Window::new(h, w, (k, k), (s, s), pad).unwrap());
        // Conv1D's windows: one row of steps, dilated or causal.
        let line = |w, k, s, d, pad| (1, w, Window::line(w, k, s, d, pad).unwrap());
        for (h, w, win) in [
            square(7, 8, 3, 2, Padding::Same),
            square(5, 5, 3, 1, Padding::Explicit(1)),
            square(6, 7, 2, 3, Padding::Valid),
            line(9, 3, 1, 2, Padding::Same),
            line(9, 3, 1, 3, Padding::Causal),
            line(10, 2, 2, 1, Padding::Causal),
        ] {
            let c = 2;
            let kk = c * win.kh * win.kw;
            let p = win.rows.out * win.cols.out;
            let x: Vec<f32> = (0..c * h * w).map(|i| ((i * 7919) % 101) as f32 / 50.0 - 1.0).collect();
            let cvec: Vec<f32> = (0..kk * p).map(|i| ((i * 104729) % 97) as f32 / 48.0 - 1.0).collect();
            let mut cols = vec![0.0; kk * p];
            im2col(&x, c, h, w, &win, &mut cols);
            let mut back = vec![0.0; c * h * w];
            col2im(&cvec, c, h, w, &win, &mut back);
            // Every vector path the CPU has unfolds and folds bit for bit the same.
            for isa in Isa::runnable("im2col") {
                let (mut cols_on, mut back_on) = (vec![1.0; kk * p], vec![1.0; c * h * w]);
                im2col_on(isa, &x, c, h, w, &win, &mut cols_on);
                col2im_on(isa, &cvec, c, h, w, &win, &mut back_on);
                assert!(cols_on == cols && back_on == back, "{isa} path differs");
            }
            let lhs: f64 = cols.iter().zip(&cvec).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
            let rhs: f64 = x.iter().zip(&back).map(|(a, b)| (*a as f64) * (*b as f64)).sum();
            assert!((lhs - rhs).abs() < 1e-3, "{lhs} vs {rhs}");
        }
    }
}
