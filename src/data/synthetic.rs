//! Synthetic "shapes" dataset: oriented lines, circles and squares, on which first-layer filters visibly become edge detectors.
//!
//! Classes differ only in the orientation and curvature of thin strokes, so
//! the cheapest features a CNN can learn are oriented edge/bar detectors:
//! exactly what the lab wants to show in its filter view. Position,
//! length, thickness, contrast, tint and noise are random so that a linear
//! model on raw pixels does poorly while a tiny CNN does very well.
//!
//! Every image is drawn from its own generator seeded by (seed, split,
//! index), so the bytes depend only on the spec, and asking for more images
//! keeps the first ones unchanged.

use serde::{Deserialize, Serialize};

use super::budget::check_dataset_size;
use super::dataset::{Dataset, SampleKind, Split};
use super::error::DataError;
use super::rng::DataRng;

pub const SHAPE_CLASSES: [&str; 6] = [
    "horizontal line",
    "vertical line",
    "diagonal /",
    "diagonal \\",
    "circle",
    "square",
];

/// What to generate. Stored in experiment files, hence serde with defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyntheticSpec {
    pub n_train: usize,
    pub n_test: usize,
    /// 1 (grayscale) or 3 (RGB: strokes and background get random tints).
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub seed: u64,
}

impl Default for SyntheticSpec {
    fn default() -> Self {
        SyntheticSpec {
            n_train: 6000,
            n_test: 1200,
            channels: 1,
            height: 28,
            width: 28,
            seed: 0,
        }
    }
}

/// Smallest and largest image side we draw: below 6 px the classes blur
/// together, above 512 px it is not a "small image" lab any more.
pub const MIN_SIDE: usize = 6;
pub const MAX_SIDE: usize = 512;
/// Most images one split may ask for: ten times MNIST's training set is already an hour of
/// drawing, and a count from a file is never trusted as an allocation size.
pub const MAX_IMAGES: usize = 1_000_000;

/// Geometry of one stroke figure, in pixel units (y grows downwards).
enum Figure {
    /// Segment from `(x0, y0)` to `(x1, y1)`.
    Line {
        x0: f32,
        y0: f32,
        x1: f32,
        y1: f32,
    },
    Circle {
        cx: f32,
        cy: f32,
        r: f32,
    },
    /// Square outline with half side `a`, rotated by `angle` radians.
    Square {
        cx: f32,
        cy: f32,
        a: f32,
        angle: f32,
    },
}

impl Figure {
    /// Distance from pixel centre `(px, py)` to the stroke's centre line.
    fn distance(&self, px: f32, py: f32) -> f32 {
        match *self {
            Figure::Line { x0, y0, x1, y1 } => {
                let (dx, dy) = (x1 - x0, y1 - y0);
                let t = (((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy)).clamp(0.0, 1.0);
                (px - x0 - t * dx).hypot(py - y0 - t * dy)
            }
            Figure::Circle { cx, cy, r } => ((px - cx).hypot(py - cy) - r).abs(),
            Figure::Square { cx, cy, a, angle } => {
                let (s, c) = angle.sin_cos();
                let (qx, qy) = (px - cx, py - cy);
                let (rx, ry) = (c * qx + s * qy, -s * qx + c * qy);
                // Outside the square the nearest point may be a corner.
                let (ox, oy) = ((rx.abs() - a).max(0.0), (ry.abs() - a).max(0.0));
                if ox > 0.0 || oy > 0.0 {
                    ox.hypot(oy)
                } else {
                    a - rx.abs().max(ry.abs())
                }
            }
        }
    }
}

/// Picks a random figure of `class` that fits inside `w x h` with `margin`.
fn random_figure(class: usize, w: f32, h: f32, margin: f32, rng: &mut DataRng) -> Figure {
    let s = w.min(h);
    match class {
        0..=3 => {
            // Base orientation in image coordinates (y down): "/" rises to
            // the right, so it runs from bottom-left to top-right.
            let base = [0.0f32, 90.0, -45.0, 45.0][class];
            let angle = (base + rng.range(-8.0, 8.0)).to_radians();
            let len = rng.range(0.45, 0.85) * s;
            let (hx, hy) = (0.5 * len * angle.cos().abs(), 0.5 * len * angle.sin().abs());
            let cx = rng.range(margin + hx, (w - margin - hx).max(margin + hx + 1e-3));
            let cy = rng.range(margin + hy, (h - margin - hy).max(margin + hy + 1e-3));
            let (dx, dy) = (0.5 * len * angle.cos(), 0.5 * len * angle.sin());
            Figure::Line {
                x0: cx - dx,
                y0: cy - dy,
                x1: cx + dx,
                y1: cy + dy,
            }
        }
        4 => {
            let r = rng.range(0.18, 0.36) * s;
            Figure::Circle {
                cx: rng.range(margin + r, (w - margin - r).max(margin + r + 1e-3)),
                cy: rng.range(margin + r, (h - margin - r).max(margin + r + 1e-3)),
                r,
            }
        }
        _ => {
            let a = rng.range(0.16, 0.30) * s;
            let angle = rng.range(-8.0f32, 8.0).to_radians();
            // A rotated square reaches out to a * (|cos| + |sin|).
            let reach = a * (angle.cos().abs() + angle.sin().abs());
            Figure::Square {
                cx: rng.range(margin + reach, (w - margin - reach).max(margin + reach + 1e-3)),
                cy: rng.range(margin + reach, (h - margin - reach).max(margin + reach + 1e-3)),
                a,
                angle,
            }
        }
    }
}

/// Draws one image of `class` as CHW bytes appended to `out`.
fn draw(class: usize, channels: usize, h: usize, w: usize, rng: &mut DataRng, out: &mut Vec<u8>) {
    let s = h.min(w) as f32;
    let thickness = rng.range(1.0, (s / 9.0).max(1.5));
    let figure = random_figure(class, w as f32, h as f32, thickness, rng);
    let background = rng.range(0.0, 60.0);
    let contrast = rng.range(100.0, 255.0 - background);
    let noise = rng.range(0.0, 14.0);
    // Per-channel tints (RGB only) so colour is a nuisance variable, not a cue.
    let tint: Vec<(f32, f32)> = (0..channels)
        .map(|_| {
            if channels == 1 {
                (0.0, 1.0)
            } else {
                (rng.range(-25.0, 25.0), rng.range(0.55, 1.0))
            }
        })
        .collect();
    let start = out.len();
    out.resize(start + channels * h * w, 0);
    let planes = &mut out[start..];
    for y in 0..h {
        for x in 0..w {
            let d = figure.distance(x as f32 + 0.5, y as f32 + 0.5);
            // Anti-aliased stroke: full inside, linear ramp over one pixel.
            let cover = (0.5 * thickness + 0.5 - d).clamp(0.0, 1.0);
            for (c, &(shift, gain)) in tint.iter().enumerate() {
                let v = background + shift + gain * contrast * cover + noise * rng.normal();
                planes[(c * h + y) * w + x] = v.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
}

fn generate(spec: &SyntheticSpec, stream: u64, n: usize) -> Split {
    let mut split = Split {
        pixels: Vec::with_capacity(n * spec.channels * spec.height * spec.width),
        labels: Vec::with_capacity(n),
        values: Vec::new(),
    };
    let split_seed = DataRng::derive(spec.seed, stream).next_u64();
    for i in 0..n {
        // Round-robin labels: balanced classes, and any prefix of the split
        // shows every class.
        let class = i % SHAPE_CLASSES.len();
        let mut rng = DataRng::derive(split_seed, i as u64);
        draw(
            class,
            spec.channels,
            spec.height,
            spec.width,
            &mut rng,
            &mut split.pixels,
        );
        split.labels.push(class as u32);
    }
    split
}

/// Generates the shapes dataset described by `spec`.
pub fn shapes(spec: SyntheticSpec) -> Result<Dataset, DataError> {
    if !matches!(spec.channels, 1 | 3) {
        return Err(DataError::InvalidRequest(format!(
            "synthetic shapes need 1 or 3 channels, not {}",
            spec.channels
        )));
    }
    for (what, side) in [("height", spec.height), ("width", spec.width)] {
        if !(MIN_SIDE..=MAX_SIDE).contains(&side) {
            return Err(DataError::InvalidRequest(format!(
                "synthetic shapes {what} must be between {MIN_SIDE} and {MAX_SIDE} pixels, not {side}"
            )));
        }
    }
    if spec.n_train == 0 {
        return Err(DataError::InvalidRequest(
            "synthetic shapes need at least one training image".into(),
        ));
    }
    for (field, value) in [("n_train", spec.n_train), ("n_test", spec.n_test)] {
        if value > MAX_IMAGES {
            return Err(DataError::SyntheticCount {
                what: "shapes",
                field,
                value,
                max: MAX_IMAGES,
            });
        }
    }
    check_dataset_size(
        (spec.n_train + spec.n_test) as u64,
        (spec.channels, spec.height, spec.width),
        "set the synthetic dataset's n_train and n_test, or its height and width, lower",
    )?;
    Ok(Dataset {
        name: "shapes".into(),
        class_names: SHAPE_CLASSES.iter().map(|s| s.to_string()).collect(),
        channels: spec.channels,
        height: spec.height,
        width: spec.width,
        kind: SampleKind::Image,
        train: generate(&spec, 0, spec.n_train),
        test: (spec.n_test > 0).then(|| generate(&spec, 1, spec.n_test)),
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> SyntheticSpec {
        SyntheticSpec {
            n_train: 60,
            n_test: 12,
            seed,
            ..SyntheticSpec::default()
        }
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let a = shapes(spec(5)).unwrap();
        let b = shapes(spec(5)).unwrap();
        assert_eq!(a, b);
        let c = shapes(spec(6)).unwrap();
        assert_ne!(a.train.pixels, c.train.pixels);
        assert_ne!(a.train.pixels[..784], a.test.as_ref().unwrap().pixels[..784]);
        // Prefix-stable: a bigger request keeps the first images.
        let big = shapes(SyntheticSpec {
            n_train: 120,
            ..spec(5)
        })
        .unwrap();
        assert_eq!(big.train.pixels[..a.train.pixels.len()], a.train.pixels[..]);
    }

    #[test]
    fn shapes_balanced_and_sized() {
        let rgb = shapes(SyntheticSpec {
            channels: 3,
            height: 16,
            width: 20,
            ..spec(1)
        })
        .unwrap();
        assert_eq!(rgb.shape(), (3, 16, 20));
        assert_eq!(rgb.train.pixels.len(), 60 * 3 * 16 * 20);
        assert_eq!(rgb.train.class_counts(6), vec![10; 6]);
        assert!(rgb.validate(std::path::Path::new("shapes")).is_ok());
        assert!(shapes(SyntheticSpec { channels: 2, ..spec(1) }).is_err());
        assert!(shapes(SyntheticSpec { height: 4, ..spec(1) }).is_err());
        assert!(shapes(SyntheticSpec { n_train: 0, ..spec(1) }).is_err());
        // Counts from a file are bounded before anything is allocated.
        for (n_train, n_test) in [(2305843009213693952, 10), (100_000_000_000, 10), (10, usize::MAX)] {
            let err = shapes(SyntheticSpec {
                n_train,
                n_test,
                ..spec(1)
            })
            .unwrap_err();
            let field = if n_test == 10 { "n_train" } else { "n_test" };
            assert!(
                matches!(err, DataError::SyntheticCount { field: f, .. } if f == field),
                "{err}"
            );
            assert!(err.to_string().contains("at most 1000000"), "{err}");
        }
        let big = shapes(SyntheticSpec {
            n_train: MAX_IMAGES,
            channels: 3,
            height: MAX_SIDE,
            width: MAX_SIDE,
            ..spec(1)
        })
        .unwrap_err();
        assert!(matches!(big, DataError::TooLarge { .. }), "{big}");
    }

    #[test]
    fn strokes_are_visible_and_oriented() {
        // A horizontal line has strong vertical gradients and weak
        // horizontal ones, a vertical line the reverse. Noise adds the same
        // (~12k) to both sums, hence a difference rather than a ratio.
        let ds = shapes(SyntheticSpec { n_train: 6, ..spec(3) }).unwrap();
        let img = |i: usize| ds.train.image(i);
        let grad = |im: &[u8], dx: usize, dy: usize| -> f32 {
            let mut g = 0.0;
            for y in 0..27 {
                for x in 0..27 {
                    let a = f32::from(im[y * 28 + x]);
                    let b = f32::from(im[(y + dy) * 28 + x + dx]);
                    g += (a - b).abs();
                }
            }
            g
        };
        let (h, v) = (img(0), img(1));
        assert!(grad(h, 0, 1) > grad(h, 1, 0) + 1500.0, "horizontal line");
        assert!(grad(v, 1, 0) > grad(v, 0, 1) + 1500.0, "vertical line");
        for i in 0..6 {
            let im = img(i);
            let max = *im.iter().max().unwrap_or(&0);
            let min = *im.iter().min().unwrap_or(&0);
            assert!(max - min > 80, "class {i} has too little contrast");
        }
    }
}
