//! Keras weight initializers (Glorot, He), driven by a seeded generator.

use serde::{Deserialize, Serialize};

/// Weight initializers (biases always start at zero, as in Keras).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Initializer {
    #[default]
    GlorotUniform,
    GlorotNormal,
    HeUniform,
    HeNormal,
}
use rand::RngExt;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Normal};

/// Fills `weights` for a layer with the given fans (for a conv: kh·kw·c_in and kh·kw·filters).
pub fn fill(init: Initializer, weights: &mut [f32], fan_in: usize, fan_out: usize, rng: &mut StdRng) {
    let (fan_in, fan_out) = (fan_in.max(1) as f32, fan_out.max(1) as f32);
    match init {
        Initializer::GlorotUniform => uniform(weights, (6.0 / (fan_in + fan_out)).sqrt(), rng),
        Initializer::HeUniform => uniform(weights, (6.0 / fan_in).sqrt(), rng),
        Initializer::GlorotNormal => truncated_normal(weights, (2.0 / (fan_in + fan_out)).sqrt(), rng),
        Initializer::HeNormal => truncated_normal(weights, (2.0 / fan_in).sqrt(), rng),
    }
}

fn uniform(weights: &mut [f32], limit: f32, rng: &mut StdRng) {
    for w in weights {
        *w = rng.random_range(-limit..limit);
    }
}

/// Keras's variance scaling draws from a normal truncated at two standard deviations, widened so
/// the truncated distribution keeps the requested standard deviation.
fn truncated_normal(weights: &mut [f32], std: f32, rng: &mut StdRng) {
    const TRUNCATION_STD_CORRECTION: f32 = 0.879_625_7;
    let sigma = std / TRUNCATION_STD_CORRECTION;
    let normal = Normal::new(0.0f32, sigma).expect("sigma is finite and positive");
    for w in weights {
        *w = loop {
            let v = normal.sample(rng);
            if v.abs() <= 2.0 * sigma {
                break v;
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn glorot_uniform_stays_within_its_limit_and_he_normal_has_the_right_spread() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut w = vec![0.0; 10_000];
        fill(Initializer::GlorotUniform, &mut w, 75, 250, &mut rng);
        let limit = (6.0f32 / 325.0).sqrt();
        assert!(w.iter().all(|v| v.abs() <= limit));
        assert!(w.iter().any(|v| v.abs() > 0.9 * limit));
        fill(Initializer::HeNormal, &mut w, 50, 50, &mut rng);
        let var = w.iter().map(|v| v * v).sum::<f32>() / w.len() as f32;
        assert!((var - 2.0 / 50.0).abs() < 0.004, "variance {var}");
    }
}
