//! Padding, and the output size and padding of a sliding window (convolution or pooling).

use serde::{Deserialize, Serialize};

/// Spatial padding, as Keras spells it, plus the course's explicit `p`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// No padding: output = floor((n − f)/s) + 1.
    #[default]
    Valid,
    /// TensorFlow's rule: output = ceil(n/s), zeros split with the odd pixel on the bottom/right.
    Same,
    /// `p` zeros on every side: output = floor((n + 2p − f)/s) + 1.
    Explicit(usize),
    /// Conv1D only (Keras): f − 1 zeros before the first step and none after, so an output
    /// never sees a later step; output = ceil(n/s).
    Causal,
}

impl Padding {
    pub fn keras_name(&self) -> String {
        match self {
            Padding::Valid => "valid".into(),
            Padding::Same => "same".into(),
            Padding::Explicit(p) => format!("{p}"),
            Padding::Causal => "causal".into(),
        }
    }
}

/// Where a window of size `f` and stride `s` lands on an axis of `n` pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    pub out: usize,
    /// Zeros (or, for max pooling, ignored cells) before the first pixel.
    pub pad_before: usize,
    pub pad_after: usize,
}

/// Output size and padding, or `None` when the window does not fit even once.
///
/// `f` is the window's span: for a dilated kernel, (k − 1)·d + 1.
///
/// `same` follows TensorFlow: out = ceil(n/s), total pad = max((out − 1)·s + f − n, 0), with the
/// odd pixel after (bottom/right).
pub fn axis(n: usize, f: usize, s: usize, padding: Padding) -> Option<Axis> {
    if n == 0 || f == 0 || s == 0 {
        return None;
    }
    match padding {
        Padding::Valid => (n >= f).then(|| Axis {
            out: (n - f) / s + 1,
            pad_before: 0,
            pad_after: 0,
        }),
        Padding::Same => {
            let out = n.div_ceil(s);
            let total = ((out - 1) * s).checked_add(f)?.saturating_sub(n);
            Some(Axis {
                out,
                pad_before: total / 2,
                pad_after: total - total / 2,
            })
        }
        Padding::Explicit(p) => {
            let padded = n.checked_add(p.checked_mul(2)?)?;
            (padded >= f).then(|| Axis {
                out: (padded - f) / s + 1,
                pad_before: p,
                pad_after: p,
            })
        }
        Padding::Causal => Some(Axis {
            out: (n - 1) / s + 1,
            pad_before: f - 1,
            pad_after: 0,
        }),
    }
}

/// The same window in two dimensions: (rows, columns).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    /// Column dilation: kernel column `j` reads input column `ox·sw + j·dw − pad` (Conv1D's
    /// `dilation_rate`; 1 for every 2-D layer).
    pub dw: usize,
    pub rows: Axis,
    pub cols: Axis,
}

impl Window {
    pub fn new(h: usize, w: usize, kernel: (usize, usize), strides: (usize, usize), padding: Padding) -> Option<Self> {
        Some(Window {
            kh: kernel.0,
            kw: kernel.1,
            sh: strides.0,
            sw: strides.1,
            dw: 1,
            rows: axis(h, kernel.0, strides.0, padding)?,
            cols: axis(w, kernel.1, strides.1, padding)?,
        })
    }

    /// A 1-D window over `steps` (one row): `kernel` taps `dilation` apart, `padding` applied
    /// to the steps only.
    pub fn line(steps: usize, kernel: usize, stride: usize, dilation: usize, padding: Padding) -> Option<Self> {
        let span = kernel.checked_sub(1)?.checked_mul(dilation)?.checked_add(1)?;
        let row = Axis {
            out: 1,
            pad_before: 0,
            pad_after: 0,
        };
        Some(Window {
            kh: 1,
            kw: kernel,
            sh: 1,
            sw: stride,
            dw: dilation.max(1),
            rows: row,
            cols: axis(steps, span, stride, padding)?,
        })
    }

    /// How many input columns one window covers: (kw − 1)·dw + 1.
    pub fn span_w(&self) -> usize {
        (self.kw - 1) * self.dw + 1
    }

    pub fn out_hw(&self) -> (usize, usize) {
        (self.rows.out, self.cols.out)
    }
}

/// One sample's stride-1 correlation, as the Winograd and direct algorithms compute it:
/// x (CI, H, W) → y (CO, OH, OW) over a KH × KW kernel whose columns are `dw` apart. Output
/// pixel (oy, ox) reads input row `oy + ky − pad_top` and column `ox + kx·dw − pad_left`
/// (outside the image: zeros; a negative padding cuts rows or columns off).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Correlation {
    pub ci: usize,
    pub h: usize,
    pub w: usize,
    pub co: usize,
    pub oh: usize,
    pub ow: usize,
    pub kh: usize,
    pub kw: usize,
    pub dw: usize,
    pub pad_top: isize,
    pub pad_left: isize,
}

impl Correlation {
    /// A convolution's forward pass over `win` (stride 1): x (C, H, W) → y (F, OH, OW).
    pub fn forward(win: &Window, c: usize, h: usize, w: usize, f: usize) -> Self {
        Correlation {
            ci: c,
            h,
            w,
            co: f,
            oh: win.rows.out,
            ow: win.cols.out,
            kh: win.kh,
            kw: win.kw,
            dw: win.dw,
            pad_top: win.rows.pad_before as isize,
            pad_left: win.cols.pad_before as isize,
        }
    }

    /// Its input gradient, the "full" correlation of dy (F, OH, OW) with the kernel rotated by
    /// 180° and its channels swapped → dx (C, H, W): the span less one less the forward
    /// padding above and left.
    pub fn input_gradient(win: &Window, c: usize, h: usize, w: usize, f: usize) -> Self {
        Correlation {
            ci: f,
            h: win.rows.out,
            w: win.cols.out,
            co: c,
            oh: h,
            ow: w,
            kh: win.kh,
            kw: win.kw,
            dw: win.dw,
            pad_top: win.kh as isize - 1 - win.rows.pad_before as isize,
            pad_left: win.span_w() as isize - 1 - win.cols.pad_before as isize,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn course_formula_floor_n_plus_2p_minus_f_over_s_plus_1() {
        // 32×32 input, 5×5 filter, stride 1, padding 2 → 32.
        assert_eq!(axis(32, 5, 1, Padding::Explicit(2)).unwrap().out, 32);
        // 6×6 input, 3×3 filter → 4×4.
        assert_eq!(axis(6, 3, 1, Padding::Valid).unwrap().out, 4);
        assert_eq!(axis(7, 3, 2, Padding::Valid).unwrap().out, 3);
        assert_eq!(axis(2, 3, 1, Padding::Valid), None);
    }

    #[test]
    fn same_padding_follows_tensorflow_on_even_inputs_with_stride_2() {
        // n = 8, f = 3, s = 2: out 4, total pad (4−1)·2 + 3 − 8 = 1 → 0 before, 1 after.
        assert_eq!(
            axis(8, 3, 2, Padding::Same),
            Some(Axis {
                out: 4,
                pad_before: 0,
                pad_after: 1
            })
        );
        // n = 7, f = 3, s = 2: out 4, total pad 2 → 1 and 1.
        assert_eq!(
            axis(7, 3, 2, Padding::Same),
            Some(Axis {
                out: 4,
                pad_before: 1,
                pad_after: 1
            })
        );
        // n = 8, f = 4, s = 1: total pad 3 → 1 before, 2 after.
        assert_eq!(
            axis(8, 4, 1, Padding::Same),
            Some(Axis {
                out: 8,
                pad_before: 1,
                pad_after: 2
            })
        );
        // Causal: f − 1 zeros before, none after, ceil(n/s) outputs.
        assert_eq!(
            axis(8, 5, 2, Padding::Causal),
            Some(Axis {
                out: 4,
                pad_before: 4,
                pad_after: 0
            })
        );
        // Stride larger than the kernel: no padding needed.
        assert_eq!(
            axis(8, 1, 2, Padding::Same),
            Some(Axis {
                out: 4,
                pad_before: 0,
                pad_after: 0
            })
        );
    }
}
