//! "What does this filter look for": activation maximization. Gradient ascent on the input, from
//! seeded noise, on the mean activation of one feature map, with the regularizers that make the
//! result readable on small models: random jitter, L2 decay, and a light blur every few steps.

use crate::cnn::{Model, Objective, Shape, Tensor};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

#[derive(Clone, Debug, PartialEq)]
pub struct MaximizeSettings {
    pub steps: usize,
    /// Step size relative to the gradient's largest magnitude.
    pub step_size: f32,
    /// Pixels the image is shifted by at random before each step (then shifted back).
    pub jitter: usize,
    /// Fraction of the image removed each step (pulls unused pixels to the mean).
    pub l2_decay: f32,
    /// Blur every this many steps (0 = never).
    pub blur_every: usize,
    pub seed: u64,
}

impl Default for MaximizeSettings {
    fn default() -> Self {
        MaximizeSettings {
            steps: 80,
            step_size: 0.08,
            jitter: 1,
            l2_decay: 0.002,
            blur_every: 10,
            seed: 0,
        }
    }
}

/// The image found and how strongly the filter responds to it.
#[derive(Clone, Debug)]
pub struct Maximized {
    /// (C, H, W) input values.
    pub image: Vec<f32>,
    /// Mean activation of the feature map on the starting noise and on the result.
    pub start_activation: f32,
    pub final_activation: f32,
}

/// Maximizes the mean of feature map `channel` of layer `layer`'s output. `on_step(done, total)`
/// is called after every step (for progress bars); returning `false` from it cancels.
pub fn maximize_channel(
    model: &mut Model,
    layer: usize,
    channel: usize,
    settings: &MaximizeSettings,
    mut on_step: impl FnMut(usize, usize) -> bool,
) -> Maximized {
    let input = model.input_shape();
    let mut rng = StdRng::seed_from_u64(settings.seed);
    let objective = Objective::ChannelMean { layer, channel };
    let measure = |model: &mut Model, image: &[f32]| {
        let x = Tensor::from_vec(1, input, image.to_vec()).expect("image has the input's size");
        mean_of_channel(model, &x, layer, channel)
    };
    // Seeded noise on the 0..1 scale the bundled normalization uses. A relu unit that is silent
    // on the start has no gradient to climb, so several starts (grey, dark, strong noise, sparse)
    // are tried and the one the filter answers most is kept: with zero padding, faint noise
    // leaves every unit silent but those at the border.
    let starts: [(f32, f32); 4] = [(0.5, 0.1), (0.2, 0.2), (0.5, 0.5), (0.1, 0.1)];
    let mut image = Vec::new();
    let mut start_activation = f32::NEG_INFINITY;
    for (mean, spread) in starts {
        let candidate: Vec<f32> = (0..input.len())
            .map(|_| mean + rng.random_range(-spread..spread))
            .collect();
        let activation = measure(model, &candidate);
        if activation > start_activation {
            (image, start_activation) = (candidate, activation);
        }
    }
    for step in 0..settings.steps {
        let (dy, dx) = if settings.jitter > 0 {
            let j = settings.jitter as i64;
            (rng.random_range(-j..=j) as isize, rng.random_range(-j..=j) as isize)
        } else {
            (0, 0)
        };
        let shifted = roll(&image, input, dy, dx);
        let x = Tensor::from_vec(1, input, shifted).expect("image has the input's size");
        let grad = model.input_gradient(&x, objective);
        let grad = roll(grad.data(), input, -dy, -dx);
        let scale = grad.iter().fold(0.0f32, |m, g| m.max(g.abs())).max(1e-12);
        for (v, g) in image.iter_mut().zip(&grad) {
            *v = (*v + settings.step_size * g / scale) * (1.0 - settings.l2_decay);
        }
        if settings.blur_every > 0 && (step + 1) % settings.blur_every == 0 {
            blur(&mut image, input);
        }
        if !on_step(step + 1, settings.steps) {
            break;
        }
    }
    let final_activation = measure(model, &image);
    Maximized {
        image,
        start_activation,
        final_activation,
    }
}

/// Mean of one feature map of layer `layer`'s output for the first sample of `x`.
pub fn mean_of_channel(model: &mut Model, x: &Tensor, layer: usize, channel: usize) -> f32 {
    model.forward(x, crate::cnn::Mode::Infer);
    let out = &model.activations()[layer + 1];
    let (h, w) = out.shape().spatial();
    let plane = h * w;
    out.sample(0)
        .get(channel * plane..(channel + 1) * plane)
        .map_or(0.0, |p| p.iter().sum::<f32>() / plane as f32)
}

/// Circular shift of every channel by (dy, dx).
fn roll(image: &[f32], shape: Shape, dy: isize, dx: isize) -> Vec<f32> {
    let (h, w) = shape.spatial();
    let mut out = vec![0.0; image.len()];
    for (src, dst) in image.chunks_exact(h * w).zip(out.chunks_exact_mut(h * w)) {
        for y in 0..h {
            let ty = (y as isize + dy).rem_euclid(h as isize) as usize;
            for x in 0..w {
                let tx = (x as isize + dx).rem_euclid(w as isize) as usize;
                dst[ty * w + tx] = src[y * w + x];
            }
        }
    }
    out
}

/// 3×3 box-weighted blur (1-2-1), edges clamped.
fn blur(image: &mut [f32], shape: Shape) {
    let (h, w) = shape.spatial();
    for plane in image.chunks_exact_mut(h * w) {
        let src = plane.to_vec();
        for y in 0..h {
            for x in 0..w {
                let mut sum = 0.0;
                let mut weight = 0.0;
                for (dy, wy) in [(-1isize, 1.0f32), (0, 2.0), (1, 1.0)] {
                    for (dx, wx) in [(-1isize, 1.0f32), (0, 2.0), (1, 1.0)] {
                        let yy = (y as isize + dy).clamp(0, h as isize - 1) as usize;
                        let xx = (x as isize + dx).clamp(0, w as isize - 1) as usize;
                        sum += src[yy * w + xx] * wy * wx;
                        weight += wy * wx;
                    }
                }
                plane[y * w + x] = sum / weight;
            }
        }
    }
}
