//! The direct correlation against naive f64 loops on odd and tail shapes, kernel sizes and
//! paddings, on every path this CPU can run: the forward pass (with a bias), the input
//! gradient (the adjoint of the forward pass, computed from its definition) and the kernel
//! gradient. Error measure:
//! max |direct − reference| / max |reference|, at most 1e-5.

use super::*;
use crate::cnn::geometry::Padding;
use crate::cnn::winograd::tests::{relative_error, values};

const MAX_RELATIVE_ERROR: f64 = 1e-5;

/// One convolution: (N, C, H, W) in, F filters of KH × KW, `win`'s padding.
struct Case {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    f: usize,
    win: Window,
}

impl Case {
    /// Calls `tap(output index, input index, kernel index)` for every multiply whose input
    /// pixel lies inside the image.
    fn for_each_tap(&self, mut tap: impl FnMut(usize, usize, usize)) {
        let Case { n, c, h, w, f, ref win } = *self;
        let (oh, ow) = win.out_hw();
        let (pt, pl) = (win.rows.pad_before as isize, win.cols.pad_before as isize);
        let (kh, kw) = (win.kh, win.kw);
        for s in 0..n {
            for o in 0..f {
                for oy in 0..oh {
                    for ox in 0..ow {
                        for ch in 0..c {
                            for ky in 0..kh {
                                for kx in 0..kw {
                                    let iy = (oy + ky) as isize - pt;
                                    let ix = (ox + kx * win.dw) as isize - pl;
                                    if (0..h as isize).contains(&iy) && (0..w as isize).contains(&ix) {
                                        let x_at = ((s * c + ch) * h + iy as usize) * w + ix as usize;
                                        let k_at = ((o * c + ch) * kh + ky) * kw + kx;
                                        tap(((s * f + o) * oh + oy) * ow + ox, x_at, k_at);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn cases() -> Vec<Case> {
    let mut out = Vec::new();
    let shapes = [(1, 1), (2, 5), (3, 3), (5, 4), (7, 9), (13, 13), (11, 26), (28, 28)];
    let channels = [(1, 8), (3, 5), (8, 16), (2, 17), (16, 8), (5, 1), (4, 3), (2, 2)];
    let kernels = [(3, 3), (1, 1), (5, 5), (3, 5), (2, 2)];
    let mut i = 0;
    for (h, w) in shapes {
        for padding in [Padding::Valid, Padding::Same, Padding::Explicit(1)] {
            for _ in 0..2 {
                i += 1;
                let (c, f) = channels[i % channels.len()];
                let kernel = kernels[(i / 2) % kernels.len()];
                let Some(win) = Window::new(h, w, kernel, (1, 1), padding) else {
                    continue;
                };
                if !applies(&win) {
                    // Explicit(1) on a 1×1 kernel.
                    continue;
                }
                out.push(Case {
                    n: 1 + i % 3,
                    c,
                    h,
                    w,
                    f,
                    win,
                });
            }
        }
    }
    // Sequences (one row), dilated kernels among them, causal padding.
    for steps in [4, 9, 33, 128] {
        for (kernel, dilation) in [(3, 1), (3, 2), (5, 3), (2, 2), (7, 1)] {
            for padding in [Padding::Valid, Padding::Same, Padding::Causal] {
                i += 1;
                let (c, f) = channels[i % channels.len()];
                let Some(win) = Window::line(steps, kernel, 1, dilation, padding) else {
                    continue;
                };
                assert!(applies(&win), "{steps} steps, {kernel} dilated {dilation}, {padding:?}");
                let (n, h, w) = (1 + i % 2, 1, steps);
                out.push(Case { n, c, h, w, f, win });
            }
        }
    }
    out
}

#[test]
fn forward_matches_the_naive_correlation_on_every_path() {
    let mut count = 0;
    for isa in Isa::runnable("direct forward") {
        for (i, case) in cases().iter().enumerate() {
            let Case { n, c, h, w, f, ref win } = *case;
            let (oh, ow) = win.out_hw();
            let x = values(n * c * h * w, i as f32);
            let kernel = values(f * c * win.kh * win.kw, 0.5 + i as f32);
            let bias = values(f, 3.0);
            let mut want: Vec<f64> = (0..n * f * oh * ow).map(|o| bias[(o / (oh * ow)) % f] as f64).collect();
            case.for_each_tap(|o, xi, ki| want[o] += x[xi] as f64 * kernel[ki] as f64);
            let geo = Geometry::forward(win, c, h, w, f);
            let mut packed = Vec::new();
            pack_forward(&kernel, &geo, &mut packed);
            // Stale values in the output and a reused workspace must not leak in.
            let mut y = vec![f32::NAN; want.len()];
            let mut ws = Workspace::default();
            let mut finished = 0;
            correlate(isa, &geo, &packed, &x, &mut y, &bias, &mut ws, |_| finished += 1);
            correlate(isa, &geo, &packed, &x, &mut y, &bias, &mut ws, |_| {});
            assert_eq!(finished, n);
            let err = relative_error(&y, &want);
            assert!(
                err <= MAX_RELATIVE_ERROR,
                "{isa} n={n} c={c} {h}×{w} f={f} {win:?}: {err:e}"
            );
            count += 1;
        }
    }
    assert!(count >= 60, "only {count} cases ran");
}

#[test]
fn input_gradient_matches_the_adjoint_of_the_forward_pass_on_every_path() {
    for isa in Isa::runnable("direct input gradient") {
        for (i, case) in cases().iter().enumerate() {
            let Case { n, c, h, w, f, ref win } = *case;
            let (oh, ow) = win.out_hw();
            let dy = values(n * f * oh * ow, 7.0 + i as f32);
            let kernel = values(f * c * win.kh * win.kw, 0.25 + i as f32);
            // dx[x] = Σ over the taps that read x of dy[o] · kernel[k].
            let mut want = vec![0.0f64; n * c * h * w];
            case.for_each_tap(|o, xi, ki| want[xi] += dy[o] as f64 * kernel[ki] as f64);
            let geo = Geometry::input_gradient(win, c, h, w, f);
            let mut packed = Vec::new();
            pack_input_gradient(&kernel, &geo, &mut packed);
            let mut dx = vec![f32::NAN; want.len()];
            correlate(isa, &geo, &packed, &dy, &mut dx, &[], &mut Workspace::default(), |_| {});
            let err = relative_error(&dx, &want);
            assert!(
                err <= MAX_RELATIVE_ERROR,
                "{isa} n={n} c={c} {h}×{w} f={f} {win:?}: {err:e}"
            );
        }
    }
}

#[test]
fn kernel_gradient_matches_the_naive_sums_on_every_path() {
    for isa in Isa::runnable("direct kernel gradient") {
        let mut ws = WeightWorkspace::default();
        for (i, case) in cases().iter().enumerate() {
            let Case { n, c, h, w, f, ref win } = *case;
            let (oh, ow) = win.out_hw();
            let x = values(n * c * h * w, 2.0 + i as f32);
            let dy = values(n * f * oh * ow, 5.0 + i as f32);
            // dK[k] = Σ over the multiplies by kernel value k of dy[o] · x[i].
            let mut want = vec![0.0f64; f * c * win.kh * win.kw];
            case.for_each_tap(|o, xi, ki| want[ki] += dy[o] as f64 * x[xi] as f64);
            let geo = Geometry::forward(win, c, h, w, f);
            let mut dk = vec![f32::NAN; want.len()];
            // A workspace reused across shapes must not carry sums over.
            kernel_gradient(isa, &geo, &x, &dy, &mut dk, &mut ws);
            let err = relative_error(&dk, &want);
            assert!(
                err <= MAX_RELATIVE_ERROR,
                "{isa} n={n} c={c} {h}×{w} f={f} {win:?}: {err:e}"
            );
        }
    }
}

#[test]
fn applies_to_stride_1_windows_only() {
    let win = |k, s, p| Window::new(9, 9, k, s, p).unwrap();
    assert!(applies(&win((3, 3), (1, 1), Padding::Same)));
    assert!(applies(&win((5, 1), (1, 1), Padding::Valid)));
    assert!(!applies(&win((3, 3), (2, 2), Padding::Same)));
    assert!(!applies(&win((3, 3), (1, 2), Padding::Valid)));
    // More padding than the kernel's span less one: the input gradient would cut, not pad.
    assert!(!applies(&win((3, 3), (1, 1), Padding::Explicit(3))));
    assert!(applies(&win((3, 3), (1, 1), Padding::Explicit(2))));
    assert!(applies(&Window::line(9, 3, 1, 1, Padding::Causal).unwrap()));
    assert!(applies(&Window::line(9, 3, 1, 2, Padding::Same).unwrap()));
    assert!(!applies(&Window::line(9, 3, 2, 2, Padding::Same).unwrap()));
}
