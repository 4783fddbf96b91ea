//! BatchNormalization (Keras semantics): per-channel batch statistics in training, moving
//! averages at inference; a frozen layer always runs in inference mode, as in Keras.
//!
//! # Shapes
//! x (N, C, H, W) or (N, C) → y of the same shape; gamma, beta, moving_mean, moving_variance (C).

use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind, is_true, yes};
use super::{Layer, Mode, Param, ParamKind};
use crate::cnn::error::ArchError;
use crate::cnn::numbers::group_digits;
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;
use serde::{Deserialize, Serialize};

fn bn_momentum() -> f32 {
    0.99
}

fn bn_epsilon() -> f32 {
    1e-3
}

/// `BatchNormalization(momentum=0.99, epsilon=0.001)`, as in Keras, over the channel axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BatchNormalization {
    #[serde(default = "bn_momentum")]
    pub momentum: f32,
    #[serde(default = "bn_epsilon")]
    pub epsilon: f32,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub trainable: bool,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        BatchNormalization {
            momentum: bn_momentum(),
            epsilon: bn_epsilon(),
            trainable: true,
        }
    }
}

impl LayerKind for BatchNormalization {
    fn describe(&self) -> String {
        "BatchNormalization".into()
    }

    fn family(&self) -> Family {
        Family::Normalization
    }

    fn footprint(&self) -> Footprint {
        Footprint::Pointwise
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        if self.epsilon.is_nan() || self.epsilon <= 0.0 || !(0.0..1.0).contains(&self.momentum) {
            return Err(at.error(
                format!("momentum {} and epsilon {} are out of range", self.momentum, self.epsilon),
                "use momentum 0.99 and epsilon 0.001 (Keras defaults)",
                None,
            ));
        }
        let c = at.input.channels() as u64;
        let trainable = if self.trainable { 2 * c } else { 0 };
        Ok(Inferred {
            // gamma and beta learn; the moving mean and variance are state.
            weights: 2 * c,
            state: 2 * c,
            params_formula: format!("4·{c} = {} ({} trainable)", group_digits(4 * c), group_digits(trainable)),
            cache_bytes: at.input.len_saturating().saturating_mul(4),
            ..Inferred::shape(at.input)
        })
    }

    fn build(&self, input: Shape, _init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        Some(Box::new(BatchNorm::new(self, input)))
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::Number {
                name: "momentum",
                value: &mut self.momentum,
                range: 0.0..=0.999,
                speed: 0.001,
                decimals: 3,
                hint: Some("How slowly the moving mean and variance follow the batch statistics"),
            },
            Field::Trainable(&mut self.trainable),
        ]
    }

    fn has_weights(&self) -> bool {
        true
    }

    fn trainable(&self) -> bool {
        self.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }

    fn palette_default() -> Self {
        BatchNormalization::default()
    }
}

pub struct BatchNorm {
    channels: usize,
    inner: usize,
    momentum: f32,
    epsilon: f32,
    trainable: bool,
    gamma: Param,
    beta: Param,
    moving_mean: Param,
    moving_variance: Param,
    /// Cached by a training-mode forward pass for the backward pass.
    x_hat: Vec<f32>,
    /// The statistics the last forward pass normalized with, per channel.
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    /// Scratch: a training pass's batch means and variances (f64).
    sums: Vec<f64>,
    /// Scratch: the backward pass's dγ and dβ.
    grads: Vec<f32>,
    last_mode: Mode,
}

impl BatchNorm {
    pub fn new(spec: &BatchNormalization, input: Shape) -> Self {
        let channels = input.channels();
        let (h, w) = input.spatial();
        let mut gamma = Param::new("gamma", vec![channels], ParamKind::Bias);
        gamma.value.fill(1.0);
        let mut moving_variance = Param::new("moving_variance", vec![channels], ParamKind::State);
        moving_variance.value.fill(1.0);
        BatchNorm {
            channels,
            inner: h * w,
            momentum: spec.momentum,
            epsilon: spec.epsilon,
            trainable: spec.trainable,
            gamma,
            beta: Param::new("beta", vec![channels], ParamKind::Bias),
            moving_mean: Param::new("moving_mean", vec![channels], ParamKind::State),
            moving_variance,
            x_hat: Vec::new(),
            mean: Vec::new(),
            inv_std: Vec::new(),
            sums: Vec::new(),
            grads: Vec::new(),
            last_mode: Mode::Infer,
        }
    }

    /// Runs `f(sample, channel_slice)` over every (sample, channel) plane.
    fn planes(data: &[f32], channels: usize, inner: usize) -> impl Iterator<Item = (usize, &[f32])> {
        data.chunks_exact(inner)
            .enumerate()
            .map(move |(i, plane)| (i % channels, plane))
    }
}

impl Layer for BatchNorm {
    fn kind(&self) -> &'static str {
        "BatchNormalization"
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, mode: Mode) {
        let (c, inner) = (self.channels, self.inner);
        let mode = if self.trainable { mode } else { Mode::Infer };
        self.last_mode = mode;
        y.resize(x.batch(), x.shape());
        // Per-channel statistics in buffers kept between steps: a step allocates nothing.
        self.mean.resize(c, 0.0);
        self.inv_std.resize(c, 0.0);
        match mode {
            Mode::Infer => {
                self.mean.copy_from_slice(&self.moving_mean.value);
                for (s, v) in self.inv_std.iter_mut().zip(&self.moving_variance.value) {
                    *s = 1.0 / (v + self.epsilon).sqrt();
                }
            }
            Mode::Train => {
                let count = (x.batch() * inner) as f64;
                self.sums.clear();
                self.sums.resize(2 * c, 0.0);
                let (mean, var) = self.sums.split_at_mut(c);
                for (ch, plane) in Self::planes(x.data(), c, inner) {
                    mean[ch] += plane.iter().map(|&v| v as f64).sum::<f64>();
                }
                mean.iter_mut().for_each(|s| *s /= count);
                for (ch, plane) in Self::planes(x.data(), c, inner) {
                    var[ch] += plane.iter().map(|&v| (v as f64 - mean[ch]).powi(2)).sum::<f64>();
                }
                // Keras normalizes with, and tracks, the biased batch variance.
                var.iter_mut().for_each(|s| *s /= count);
                let m = self.momentum;
                for ch in 0..c {
                    let mm = &mut self.moving_mean.value[ch];
                    *mm = *mm * m + mean[ch] as f32 * (1.0 - m);
                    let mv = &mut self.moving_variance.value[ch];
                    *mv = *mv * m + var[ch] as f32 * (1.0 - m);
                    self.mean[ch] = mean[ch] as f32;
                    self.inv_std[ch] = (1.0 / (var[ch] + self.epsilon as f64).sqrt()) as f32;
                }
            }
        }
        self.x_hat.resize(x.data().len(), 0.0);
        for (i, ((xp, yp), hp)) in x
            .data()
            .chunks_exact(inner)
            .zip(y.data_mut().chunks_exact_mut(inner))
            .zip(self.x_hat.chunks_exact_mut(inner))
            .enumerate()
        {
            let ch = i % c;
            let (g, b) = (self.gamma.value[ch], self.beta.value[ch]);
            for ((&xv, yv), hv) in xp.iter().zip(yp).zip(hp) {
                *hv = (xv - self.mean[ch]) * self.inv_std[ch];
                *yv = g * *hv + b;
            }
        }
    }

    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        let (c, inner) = (self.channels, self.inner);
        let count = (x.batch() * inner) as f32;
        self.grads.clear();
        self.grads.resize(2 * c, 0.0);
        let (dgamma, dbeta) = self.grads.split_at_mut(c);
        for (i, (gp, hp)) in dy
            .data()
            .chunks_exact(inner)
            .zip(self.x_hat.chunks_exact(inner))
            .enumerate()
        {
            let ch = i % c;
            dbeta[ch] += gp.iter().sum::<f32>();
            dgamma[ch] += gp.iter().zip(hp).map(|(g, h)| g * h).sum::<f32>();
        }
        if self.trainable {
            self.gamma.grad.copy_from_slice(dgamma);
            self.beta.grad.copy_from_slice(dbeta);
        }
        let Some(dx) = dx else { return };
        dx.resize(x.batch(), x.shape());
        let train = self.last_mode == Mode::Train;
        for (i, ((dxp, gp), hp)) in dx
            .data_mut()
            .chunks_exact_mut(inner)
            .zip(dy.data().chunks_exact(inner))
            .zip(self.x_hat.chunks_exact(inner))
            .enumerate()
        {
            let ch = i % c;
            let scale = self.gamma.value[ch] * self.inv_std[ch];
            if train {
                // dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy · x̂))
                let (mb, mg) = (dbeta[ch] / count, dgamma[ch] / count);
                for ((d, &g), &h) in dxp.iter_mut().zip(gp).zip(hp) {
                    *d = scale * (g - mb - h * mg);
                }
            } else {
                for (d, &g) in dxp.iter_mut().zip(gp) {
                    *d = scale * g;
                }
            }
        }
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.gamma, &self.beta, &self.moving_mean, &self.moving_variance]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![
            &mut self.gamma,
            &mut self.beta,
            &mut self.moving_mean,
            &mut self.moving_variance,
        ]
    }

    fn for_each_param(&self, f: &mut dyn FnMut(&Param)) {
        [&self.gamma, &self.beta, &self.moving_mean, &self.moving_variance].into_iter().for_each(f);
    }

    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&mut Param)) {
        [&mut self.gamma, &mut self.beta, &mut self.moving_mean, &mut self.moving_variance].into_iter().for_each(f);
    }

    fn trainable(&self) -> bool {
        self.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }
}
