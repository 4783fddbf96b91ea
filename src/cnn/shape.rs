//! Per-sample tensor shapes: an image (C, H, W), a sequence (C, L) or a flat feature vector.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The shape of one sample as it flows between layers (the batch dimension is separate).
///
/// Storage is NCHW; the course writes shapes as H×W×C, which is what [`Shape::hwc`] prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Shape {
    /// A stack of `c` feature maps of `h` × `w` pixels.
    Image { c: usize, h: usize, w: usize },
    /// `c` channels over `steps` time steps (or tokens): what Conv1D reads and writes.
    /// Storage is NCL (channel by channel), the course writes `steps×c`.
    Sequence { c: usize, steps: usize },
    /// A flat vector, as produced by `Flatten`, `GlobalAveragePooling2D` or `Dense`.
    Flat { features: usize },
}

impl Default for Shape {
    fn default() -> Self {
        Shape::Flat { features: 0 }
    }
}

impl Shape {
    /// What a sample of this shape is called where speeds are reported: ("images", "img"), or
    /// ("sequences", "seq") for a sequence.
    pub fn sample_names(&self) -> (&'static str, &'static str) {
        match self {
            Shape::Sequence { .. } => ("sequences", "seq"),
            _ => ("images", "img"),
        }
    }

    pub const fn image(h: usize, w: usize, c: usize) -> Self {
        Shape::Image { c, h, w }
    }

    pub const fn sequence(steps: usize, c: usize) -> Self {
        Shape::Sequence { c, steps }
    }

    pub const fn flat(features: usize) -> Self {
        Shape::Flat { features }
    }

    /// Number of `f32` values in one sample.
    pub fn len(&self) -> usize {
        match *self {
            Shape::Image { c, h, w } => c.saturating_mul(h).saturating_mul(w),
            Shape::Sequence { c, steps } => c.saturating_mul(steps),
            Shape::Flat { features } => features,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of values, saturating instead of overflowing for absurd user-entered sizes.
    pub fn len_saturating(&self) -> u64 {
        match *self {
            Shape::Image { c, h, w } => (c as u64).saturating_mul(h as u64).saturating_mul(w as u64),
            Shape::Sequence { c, steps } => (c as u64).saturating_mul(steps as u64),
            Shape::Flat { features } => features as u64,
        }
    }

    /// Channels (feature maps) for images and sequences, features for flat vectors.
    pub fn channels(&self) -> usize {
        match *self {
            Shape::Image { c, .. } | Shape::Sequence { c, .. } => c,
            Shape::Flat { features } => features,
        }
    }

    /// (H, W) of an image; a sequence counts as one row of `steps` (so viewers draw it as a
    /// strip), a flat vector as 1×1.
    pub fn spatial(&self) -> (usize, usize) {
        match *self {
            Shape::Image { h, w, .. } => (h, w),
            Shape::Sequence { steps, .. } => (1, steps),
            Shape::Flat { .. } => (1, 1),
        }
    }

    pub fn is_image(&self) -> bool {
        matches!(self, Shape::Image { .. })
    }

    pub fn is_sequence(&self) -> bool {
        matches!(self, Shape::Sequence { .. })
    }

    /// The shape as the course writes it: `32×32×10` (H×W×C), `128×16` (steps×C) or `64`.
    pub fn hwc(&self) -> String {
        match *self {
            Shape::Image { c, h, w } => format!("{h}×{w}×{c}"),
            Shape::Sequence { c, steps } => format!("{steps}×{c}"),
            Shape::Flat { features } => format!("{features}"),
        }
    }

    /// Keras order, for machine-readable output: `[h, w, c]`, `[steps, c]` or `[features]`.
    pub fn keras_dims(&self) -> Vec<usize> {
        match *self {
            Shape::Image { c, h, w } => vec![h, w, c],
            Shape::Sequence { c, steps } => vec![steps, c],
            Shape::Flat { features } => vec![features],
        }
    }

    /// NCHW (NCL for sequences) dimensions of a batch of `batch` samples.
    pub fn nchw(&self, batch: usize) -> Vec<usize> {
        match *self {
            Shape::Image { c, h, w } => vec![batch, c, h, w],
            Shape::Sequence { c, steps } => vec![batch, c, steps],
            Shape::Flat { features } => vec![batch, features],
        }
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hwc())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_print_as_the_course_writes_them() {
        assert_eq!(Shape::image(32, 32, 10).hwc(), "32×32×10");
        assert_eq!(Shape::image(32, 32, 10).len(), 10240);
        assert_eq!(Shape::flat(64).to_string(), "64");
        assert_eq!(Shape::image(28, 14, 3).keras_dims(), vec![28, 14, 3]);
        assert_eq!(Shape::image(28, 14, 3).nchw(2), vec![2, 3, 28, 14]);
        assert_eq!(Shape::sequence(128, 16).hwc(), "128×16");
        assert_eq!(Shape::sequence(128, 16).len(), 2048);
        assert_eq!(Shape::sequence(128, 16).keras_dims(), vec![128, 16]);
        assert_eq!(Shape::sequence(128, 16).nchw(2), vec![2, 16, 128]);
    }
}
