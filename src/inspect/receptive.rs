//! The window of input pixels one feature-map pixel sees (input steps, for a sequence).

use crate::cnn::Shape;
use crate::cnn::geometry::axis;
use crate::cnn::spec::LayerSpec;
use crate::cnn::{Footprint, Incoming};

/// The inclusive rectangle of input pixels one unit sees, already clipped to the image.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InputRect {
    pub top: usize,
    pub left: usize,
    pub bottom: usize,
    pub right: usize,
}

/// The input window seen by pixel (`y`, `x`) of layer `layer`'s output, for a model with input
/// `input` and layers `specs` (valid ones: see `cnn::infer`). Layers after a Flatten, Dense or
/// global pooling see the whole image.
pub fn receptive_window(input: Shape, specs: &[LayerSpec], layer: usize, y: usize, x: usize) -> InputRect {
    let (h, w) = input.spatial();
    let whole = InputRect {
        top: 0,
        left: 0,
        bottom: h.saturating_sub(1),
        right: w.saturating_sub(1),
    };
    // Per axis: top-left of the first unit's window (may be negative: padding), window size, jump.
    let (mut start, mut size, mut jump) = ([0isize; 2], [1usize; 2], [1usize; 2]);
    let mut shape = input;
    for (index, spec) in specs.iter().enumerate().take(layer + 1) {
        match spec.config().footprint() {
            Footprint::Whole => return whole,
            Footprint::Pointwise => {}
            Footprint::Window {
                kernel,
                strides,
                padding,
            } => {
                // A sequence slides along one row: its steps are the columns.
                if !(shape.is_image() || shape.is_sequence()) {
                    return whole;
                }
                let (sh, sw) = shape.spatial();
                let k = [kernel.0, kernel.1];
                let s = [strides.0, strides.1];
                for (d, n) in [sh, sw].into_iter().enumerate() {
                    let Some(a) = axis(n, k[d], s[d], padding) else {
                        return whole;
                    };
                    start[d] -= (a.pad_before * jump[d]) as isize;
                    size[d] += (k[d] - 1) * jump[d];
                    jump[d] *= s[d];
                }
            }
        }
        let incoming = Incoming {
            index,
            kind: spec.kind(),
            input: shape,
        };
        match spec.config().infer(&incoming) {
            Ok(inferred) => shape = inferred.output,
            Err(_) => return whole,
        }
    }
    let span = |d: usize, i: usize, n: usize| {
        let lo = start[d] + (i * jump[d]) as isize;
        let hi = lo + size[d] as isize - 1;
        (
            lo.clamp(0, n as isize - 1) as usize,
            hi.clamp(0, n as isize - 1) as usize,
        )
    };
    let (top, bottom) = span(0, y, h);
    let (left, right) = span(1, x, w);
    InputRect {
        top,
        left,
        bottom,
        right,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cnn::spec::{Conv2D, Pool2D};

    #[test]
    fn on_a_sequence_windows_span_steps_causal_pads_the_past_and_dilation_widens_them() {
        use crate::cnn::spec::{Conv1D, MaxPooling1D, Padding};
        let input = Shape::sequence(16, 1);
        let specs = vec![
            LayerSpec::Conv1D(Conv1D::new(4, 3).padding(Padding::Causal)),
            LayerSpec::MaxPooling1D(MaxPooling1D::new(2)),
            LayerSpec::Conv1D(Conv1D::new(4, 3).dilation(2).padding(Padding::Same)),
        ];
        let steps = |layer, x| {
            let r = receptive_window(input, &specs, layer, 0, x);
            assert_eq!((r.top, r.bottom), (0, 0));
            (r.left, r.right)
        };
        // Causal: step 5 sees steps 3..=5, never a later one.
        assert_eq!(steps(0, 5), (3, 5));
        assert_eq!(steps(1, 2), (2, 5));
        // 3 taps 2 apart on the pooled steps: 5 pooled steps, 12 input steps.
        assert_eq!(steps(2, 5), (4, 15));
    }

    #[test]
    fn windows_grow_with_depth_and_follow_the_stride() {
        let input = Shape::image(28, 28, 1);
        let specs = vec![
            LayerSpec::Conv2D(Conv2D::new(8, 3)),
            LayerSpec::MaxPooling2D(Pool2D::new(2)),
            LayerSpec::Conv2D(Conv2D::new(16, 3).same()),
        ];
        // First conv, valid: pixel (0, 0) sees rows/cols 0..=2; pixel (5, 7) sees 5..=7, 7..=9.
        assert_eq!(
            receptive_window(input, &specs, 0, 0, 0),
            InputRect {
                top: 0,
                left: 0,
                bottom: 2,
                right: 2
            }
        );
        assert_eq!(
            receptive_window(input, &specs, 0, 5, 7),
            InputRect {
                top: 5,
                left: 7,
                bottom: 7,
                right: 9
            }
        );
        // After pooling: 4×4 windows two pixels apart.
        assert_eq!(
            receptive_window(input, &specs, 1, 3, 1),
            InputRect {
                top: 6,
                left: 2,
                bottom: 9,
                right: 5
            }
        );
        // Same-padded conv after the pool: 8×8, starting one pooled pixel (2 input px) earlier; clipped at 0.
        assert_eq!(
            receptive_window(input, &specs, 2, 0, 0),
            InputRect {
                top: 0,
                left: 0,
                bottom: 5,
                right: 5
            }
        );
        assert_eq!(
            receptive_window(input, &specs, 2, 4, 4),
            InputRect {
                top: 6,
                left: 6,
                bottom: 13,
                right: 13
            }
        );
    }
}
