//! Synthetic "signals" dataset: six kinds of 1-D waveform (sine, square, sawtooth, triangle,
//! chirp, noise burst) on which a small Conv1D learns edge, slope and curvature detectors.
//!
//! Classes differ in the shape of one period (a square has jumps, a sawtooth one jump and a
//! ramp, a triangle two ramps, a sine curves), in how the frequency moves (a chirp speeds up)
//! or in where the energy is (a burst of noise in a quiet signal). Phase, amplitude, frequency
//! (within a band), time shift, offset and additive noise are random, so no single step or
//! amplitude gives the class away.
//!
//! As with the shapes, every sample comes from its own generator seeded by (seed, split,
//! index): the values depend only on the spec, and asking for more keeps the first ones.

use serde::{Deserialize, Serialize};
use std::f32::consts::TAU;

use super::budget::check_dataset_size;
use super::dataset::{Dataset, SampleKind, Split};
use super::error::DataError;
use super::rng::DataRng;
use super::synthetic::MAX_IMAGES;

pub const SIGNAL_CLASSES: [&str; 6] = ["sine", "square", "sawtooth", "triangle", "chirp", "noise burst"];

/// What to generate. Stored in experiment files (`dataset: Signals(steps: 128)`), hence serde
/// with defaults.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SignalSpec {
    pub n_train: usize,
    pub n_test: usize,
    /// Length of every signal, in steps.
    pub steps: usize,
    /// Standard deviation of the additive Gaussian noise is drawn up to this, in units of the
    /// signal's amplitude (0 = clean signals).
    pub noise: f32,
    pub seed: u64,
}

impl Default for SignalSpec {
    fn default() -> Self {
        SignalSpec {
            n_train: 3000,
            n_test: 600,
            steps: 128,
            noise: 0.2,
            seed: 0,
        }
    }
}

/// Shortest and longest signal: below 32 steps a period of the slowest wave does not fit, above
/// 8192 it is no longer a quick lab.
pub const MIN_STEPS: usize = 32;
pub const MAX_STEPS: usize = 8192;

/// Cycles per signal of the periodic classes: at least two periods in view, at most one every
/// eight steps at the shortest length (so a period is still drawn with a few samples).
const CYCLES: (f32, f32) = (2.0, 4.0);

/// Values of one signal of class `class`, `steps` long, appended to `out`.
fn draw(class: usize, steps: usize, noise: f32, rng: &mut DataRng, out: &mut Vec<f32>) {
    let amplitude = rng.range(0.5, 1.5);
    let offset = rng.range(-0.3, 0.3);
    let sigma = amplitude * noise * rng.unit();
    // Cycles scale with the length so a period always spans at least `steps / 8` steps.
    let scale = (steps as f32 / 64.0).max(1.0).sqrt();
    let cycles = rng.range(CYCLES.0, CYCLES.1) * scale;
    let phase = rng.unit();
    let n = steps as f32;
    // The burst: where the loud part starts and how long it is.
    let burst_len = (n * rng.range(0.2, 0.4)).round();
    let burst_start = (rng.unit() * (n - burst_len)).floor();
    // The chirp: it starts quiet at a random step, then sweeps from slow to fast.
    let chirp_start = (rng.unit() * 0.25 * n).floor();
    let (f0, f1) = (rng.range(0.5, 1.5), rng.range(6.0, 9.0) * scale);
    for t in 0..steps {
        let x = t as f32 / n;
        // Position within the period, 0..1.
        let p = (cycles * x + phase).fract();
        let clean = match class {
            0 => (TAU * p).sin(),
            1 => {
                if p < 0.5 {
                    1.0
                } else {
                    -1.0
                }
            }
            2 => 2.0 * p - 1.0,
            3 => 1.0 - 4.0 * (p - 0.5).abs(),
            4 => {
                let u = (t as f32 - chirp_start) / (n - chirp_start);
                if u < 0.0 {
                    0.0
                } else {
                    // Instantaneous frequency grows linearly from f0 to f1 cycles per window.
                    (TAU * (f0 * u + 0.5 * (f1 - f0) * u * u) * (n - chirp_start) / n).sin()
                }
            }
            _ => {
                let inside = (t as f32) >= burst_start && (t as f32) < burst_start + burst_len;
                if inside { 1.2 * rng.normal() } else { 0.0 }
            }
        };
        out.push(offset + amplitude * clean + sigma * rng.normal());
    }
}

fn generate(spec: &SignalSpec, stream: u64, n: usize) -> Split {
    let mut split = Split {
        values: Vec::with_capacity(n * spec.steps),
        labels: Vec::with_capacity(n),
        ..Split::default()
    };
    let split_seed = DataRng::derive(spec.seed, stream).next_u64();
    for i in 0..n {
        // Round-robin labels, as for the shapes: balanced, and every prefix shows every class.
        let class = i % SIGNAL_CLASSES.len();
        let mut rng = DataRng::derive(split_seed, i as u64);
        draw(class, spec.steps, spec.noise, &mut rng, &mut split.values);
        split.labels.push(class as u32);
    }
    split
}

/// Generates the signals dataset described by `spec`: one channel of `steps` values per sample.
pub fn signals(spec: SignalSpec) -> Result<Dataset, DataError> {
    if !(MIN_STEPS..=MAX_STEPS).contains(&spec.steps) {
        return Err(DataError::InvalidRequest(format!(
            "synthetic signals need between {MIN_STEPS} and {MAX_STEPS} steps, not {}; set `steps` in that range",
            spec.steps
        )));
    }
    if !(spec.noise.is_finite() && (0.0..=2.0).contains(&spec.noise)) {
        return Err(DataError::InvalidRequest(format!(
            "synthetic signals' noise is {}; set it between 0 (clean) and 2 (noise as loud as the signal twice over)",
            spec.noise
        )));
    }
    if spec.n_train == 0 {
        return Err(DataError::InvalidRequest(
            "synthetic signals need at least one training sample; set n_train to 1 or more".into(),
        ));
    }
    for (field, value) in [("n_train", spec.n_train), ("n_test", spec.n_test)] {
        if value > MAX_IMAGES {
            return Err(DataError::SyntheticCount {
                what: "signals",
                field,
                value,
                max: MAX_IMAGES,
            });
        }
    }
    check_dataset_size(
        (spec.n_train + spec.n_test) as u64,
        (1, 1, spec.steps),
        "set the synthetic signals' n_train and n_test, or steps, lower",
    )?;
    Ok(Dataset {
        name: "signals".into(),
        class_names: SIGNAL_CLASSES.iter().map(|s| s.to_string()).collect(),
        channels: 1,
        height: 1,
        width: spec.steps,
        kind: SampleKind::Signal,
        train: generate(&spec, 0, spec.n_train),
        test: (spec.n_test > 0).then(|| generate(&spec, 1, spec.n_test)),
        warnings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cnn::Shape;

    fn spec(seed: u64) -> SignalSpec {
        SignalSpec {
            n_train: 60,
            n_test: 12,
            seed,
            ..SignalSpec::default()
        }
    }

    #[test]
    fn deterministic_prefix_stable_and_shaped() {
        let a = signals(spec(5)).unwrap();
        assert_eq!(a, signals(spec(5)).unwrap());
        assert_ne!(a.train.values, signals(spec(6)).unwrap().train.values);
        let big = signals(SignalSpec {
            n_train: 120,
            ..spec(5)
        })
        .unwrap();
        assert_eq!(big.train.values[..a.train.values.len()], a.train.values[..]);
        assert_eq!(a.sample_shape(), Shape::sequence(128, 1));
        assert_eq!(a.train.values.len(), 60 * 128);
        assert!(a.train.pixels.is_empty());
        assert_eq!(a.train.class_counts(6), vec![10; 6]);
        assert!(a.validate(std::path::Path::new("signals")).is_ok());
        assert!(a.train.values.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn classes_have_their_shape() {
        let ds = signals(SignalSpec { noise: 0.0, ..spec(2) }).unwrap();
        let s = |i: usize| ds.train.sequence(i);
        let jumps = |v: &[f32]| {
            let span = v.iter().fold(f32::MIN, |m, &x| m.max(x)) - v.iter().fold(f32::MAX, |m, &x| m.min(x));
            v.windows(2).filter(|w| (w[1] - w[0]).abs() > 0.6 * span).count()
        };
        // A square jumps twice a period, a sawtooth once, a sine and a triangle never.
        assert!(jumps(s(1)) >= 4, "square");
        assert!((2..=5).contains(&jumps(s(2))), "sawtooth");
        assert_eq!(jumps(s(0)) + jumps(s(3)), 0, "sine and triangle are smooth");
        // A noise burst is quiet outside the burst.
        let burst = s(5);
        let quiet = burst.windows(2).filter(|w| (w[1] - w[0]).abs() < 1e-6).count();
        assert!(quiet > 60, "noise burst is flat outside the burst: {quiet}");
    }

    #[test]
    fn bad_specs_are_refused_before_allocating() {
        assert!(signals(SignalSpec { steps: 8, ..spec(1) }).is_err());
        assert!(
            signals(SignalSpec {
                noise: f32::NAN,
                ..spec(1)
            })
            .is_err()
        );
        assert!(signals(SignalSpec { n_train: 0, ..spec(1) }).is_err());
        let err = signals(SignalSpec {
            n_train: usize::MAX,
            ..spec(1)
        })
        .unwrap_err();
        assert!(matches!(err, DataError::SyntheticCount { .. }), "{err}");
        let err = signals(SignalSpec {
            n_train: MAX_IMAGES,
            n_test: MAX_IMAGES,
            steps: MAX_STEPS,
            ..spec(1)
        });
        // 2M × 8192 × 4 bytes = 64 GiB: above any test machine's limit.
        assert!(matches!(err, Err(DataError::TooLarge { .. })), "{err:?}");
    }
}
