//! Helpers shared by the integration tests: seeded random tensors and tolerant comparisons.
#![allow(dead_code)]

use cnn_lab::cnn::{Shape, Tensor};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A tensor of uniform values in [-1, 1).
pub fn random_tensor(rng: &mut StdRng, batch: usize, shape: Shape) -> Tensor {
    let data = (0..batch * shape.len())
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect();
    Tensor::from_vec(batch, shape, data).unwrap()
}

/// Uniform values whose magnitude is at least `gap`, so kinks (relu at 0) are out of reach of a
/// finite-difference step smaller than `gap`.
pub fn random_away_from_zero(rng: &mut StdRng, batch: usize, shape: Shape, gap: f32) -> Tensor {
    let data = (0..batch * shape.len())
        .map(|_| {
            let v: f32 = rng.random_range(gap..1.0);
            if rng.random::<bool>() { v } else { -v }
        })
        .collect();
    Tensor::from_vec(batch, shape, data).unwrap()
}

/// max |a − b| / max |b|: the relative error of a whole tensor against a reference.
pub fn rel_error(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len(), "length mismatch");
    if got.iter().any(|v| !v.is_finite()) {
        return f64::INFINITY;
    }
    let scale = want.iter().map(|v| v.abs() as f64).fold(0.0, f64::max).max(1e-12);
    let diff = got
        .iter()
        .zip(want)
        .map(|(a, b)| (*a as f64 - *b as f64).abs())
        .fold(0.0, f64::max);
    diff / scale
}
