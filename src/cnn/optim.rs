//! Optimizers (SGD with momentum / Nesterov, Adam) with decoupled weight decay, and
//! learning-rate schedules. Keras names and defaults.

use super::gemm::Isa;
use super::layers::{Param, ParamKind};
use super::simd;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum OptimizerKind {
    /// Keras: v ← momentum·v − lr·g; w ← w + v (Nesterov: w ← w + momentum·v − lr·g).
    SGD {
        #[serde(default)]
        momentum: f32,
        #[serde(default)]
        nesterov: bool,
    },
    /// Keras form: w ← w − lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m/(√v + ε).
    Adam {
        #[serde(default = "beta_1")]
        beta_1: f32,
        #[serde(default = "beta_2")]
        beta_2: f32,
        #[serde(default = "adam_epsilon")]
        epsilon: f32,
    },
}

fn beta_1() -> f32 {
    0.9
}
fn beta_2() -> f32 {
    0.999
}
fn adam_epsilon() -> f32 {
    1e-7
}

impl OptimizerKind {
    pub fn sgd(momentum: f32) -> Self {
        OptimizerKind::SGD {
            momentum,
            nesterov: false,
        }
    }
    pub fn adam() -> Self {
        OptimizerKind::Adam {
            beta_1: beta_1(),
            beta_2: beta_2(),
            epsilon: adam_epsilon(),
        }
    }
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerKind::SGD { .. } => "SGD",
            OptimizerKind::Adam { .. } => "Adam",
        }
    }
}

/// Everything an optimizer accumulates: saved with a stopped run so it resumes exactly.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OptimizerState {
    pub iterations: u64,
    /// SGD velocity or Adam first moment, one vector per parameter (empty until first used).
    pub m: Vec<Vec<f32>>,
    /// Adam second moment.
    pub v: Vec<Vec<f32>>,
}

#[derive(Clone, Debug)]
pub struct Optimizer {
    pub kind: OptimizerKind,
    /// Decoupled (AdamW-style, as in Keras 3): w ← w − lr·wd·w before the update, kernels only.
    pub weight_decay: f32,
    pub state: OptimizerState,
}

impl Optimizer {
    pub fn new(kind: OptimizerKind, weight_decay: f32) -> Self {
        Optimizer {
            kind,
            weight_decay,
            state: OptimizerState::default(),
        }
    }

    /// Starts a step; [`Optimizer::update`] then updates each parameter in turn, numbered in
    /// the same order at every step (the state is matched by position).
    pub fn begin_step(&mut self) {
        self.state.iterations += 1;
    }

    /// Updates parameter number `index` of the step begun by [`Optimizer::begin_step`], on the
    /// active vector path; a frozen one (`trainable` false) keeps its slot but is not touched.
    pub fn update(&mut self, index: usize, p: &mut Param, trainable: bool, lr: f32) {
        self.update_on(Isa::active(), index, p, trainable, lr);
    }

    /// [`Optimizer::update`] with its loops compiled for `isa` (every path updates bit for bit
    /// the same).
    fn update_on(&mut self, isa: Isa, index: usize, p: &mut Param, trainable: bool, lr: f32) {
        let (kind, weight_decay, st) = (&self.kind, self.weight_decay, &mut self.state);
        if st.m.len() <= index {
            st.m.resize(index + 1, Vec::new());
            st.v.resize(index + 1, Vec::new());
        }
        if !trainable || p.kind == ParamKind::State {
            return;
        }
        let t = st.iterations.max(1) as i32;
        let (m, v) = (&mut st.m[index], &mut st.v[index]);
        if m.len() != p.value.len() {
            *m = vec![0.0; p.value.len()];
        }
        if matches!(kind, OptimizerKind::Adam { .. }) && v.len() != p.value.len() {
            *v = vec![0.0; p.value.len()];
        }
        update_param_on(isa, kind, weight_decay, t, p, m, v, lr);
    }
}

simd::vectorized! {
    /// One parameter's update on the given vector path: decoupled weight decay, then SGD (with
    /// momentum `m`) or Adam (moments `m`, `v`) at step `t`.
    #[allow(clippy::too_many_arguments)]
    fn update_param_on(kind: &OptimizerKind, weight_decay: f32, t: i32, p: &mut Param, m: &mut [f32], v: &mut [f32], lr: f32) {
        if p.kind == ParamKind::Weight && weight_decay > 0.0 {
            let decay = 1.0 - lr * weight_decay;
            p.value.iter_mut().for_each(|w| *w *= decay);
        }
        match *kind {
            OptimizerKind::SGD { momentum, nesterov } => {
                if momentum == 0.0 {
                    p.value.iter_mut().zip(&p.grad).for_each(|(w, g)| *w -= lr * g);
                    return;
                }
                for ((w, g), v) in p.value.iter_mut().zip(&p.grad).zip(m.iter_mut()) {
                    *v = momentum * *v - lr * g;
                    *w += if nesterov { momentum * *v - lr * g } else { *v };
                }
            }
            OptimizerKind::Adam {
                beta_1,
                beta_2,
                epsilon,
            } => {
                // Keras folds the bias corrections into the step size, so ε is added to √v
                // rather than to √v̂ as in PyTorch.
                let alpha = lr * (1.0 - beta_2.powi(t)).sqrt() / (1.0 - beta_1.powi(t));
                for (((w, g), m), v) in p.value.iter_mut().zip(&p.grad).zip(m.iter_mut()).zip(v.iter_mut()) {
                    *m = beta_1 * *m + (1.0 - beta_1) * g;
                    *v = beta_2 * *v + (1.0 - beta_2) * g * g;
                    *w -= alpha * *m / (v.sqrt() + epsilon);
                }
            }
        }
    }
}

/// How the learning rate changes over a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub enum LrSchedule {
    #[default]
    Constant,
    /// Multiply by `factor` every `every_epochs` epochs.
    StepDecay { every_epochs: usize, factor: f32 },
    /// Half a cosine from the base rate down to `base · final_fraction` at the last epoch.
    Cosine {
        #[serde(default)]
        final_fraction: f32,
    },
}

impl LrSchedule {
    /// The rate at `epoch` (fractional: 2.5 is halfway through the third epoch) of `epochs`.
    pub fn lr(&self, base: f32, epoch: f32, epochs: usize) -> f32 {
        match *self {
            LrSchedule::Constant => base,
            LrSchedule::StepDecay { every_epochs, factor } => {
                let drops = (epoch.max(0.0) as usize) / every_epochs.max(1);
                base * factor.powi(drops as i32)
            }
            LrSchedule::Cosine { final_fraction } => {
                let t = (epoch / epochs.max(1) as f32).clamp(0.0, 1.0);
                let low = base * final_fraction;
                low + (base - low) * 0.5 * (1.0 + (std::f32::consts::PI * t).cos())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_follow_their_definitions() {
        assert_eq!(LrSchedule::Constant.lr(0.1, 7.0, 10), 0.1);
        let step = LrSchedule::StepDecay {
            every_epochs: 2,
            factor: 0.5,
        };
        assert_eq!(step.lr(0.1, 1.9, 10), 0.1);
        assert_eq!(step.lr(0.1, 2.0, 10), 0.05);
        assert!((step.lr(0.1, 5.5, 10) - 0.025).abs() < 1e-7);
        let cos = LrSchedule::Cosine { final_fraction: 0.0 };
        assert_eq!(cos.lr(0.1, 0.0, 10), 0.1);
        assert!((cos.lr(0.1, 5.0, 10) - 0.05).abs() < 1e-6);
        assert!(cos.lr(0.1, 10.0, 10).abs() < 1e-7);
    }

    #[test]
    fn sgd_momentum_accumulates_velocity_and_frozen_params_stay_put() {
        let mut p = Param::new("kernel", vec![1], ParamKind::Weight);
        let mut frozen = Param::new("kernel", vec![1], ParamKind::Weight);
        let mut opt = Optimizer::new(OptimizerKind::sgd(0.9), 0.0);
        for _ in 0..2 {
            p.grad[0] = 1.0;
            frozen.grad[0] = 1.0;
            opt.begin_step();
            opt.update(0, &mut p, true, 0.1);
            opt.update(1, &mut frozen, false, 0.1);
        }
        // v1 = −0.1, w1 = −0.1; v2 = −0.19, w2 = −0.29.
        assert!((p.value[0] + 0.29).abs() < 1e-6, "{}", p.value[0]);
        assert_eq!(frozen.value[0], 0.0);
    }

    #[test]
    fn every_vector_path_updates_bit_for_bit_the_same() {
        let kinds = [
            OptimizerKind::sgd(0.0),
            OptimizerKind::sgd(0.9),
            OptimizerKind::SGD {
                momentum: 0.9,
                nesterov: true,
            },
            OptimizerKind::adam(),
        ];
        for kind in kinds {
            let run = |isa: Isa| {
                // 37 values: whole vectors of 16 and 8 and a tail.
                let mut p = Param::new("kernel", vec![37], ParamKind::Weight);
                let mut opt = Optimizer::new(kind.clone(), 1e-4);
                for step in 0..3 {
                    for (i, (w, g)) in p.value.iter_mut().zip(p.grad.iter_mut()).enumerate() {
                        *g = ((i * 37 + step * 11) % 23) as f32 / 7.0 - 1.5;
                        *w += 1e-3 * i as f32;
                    }
                    opt.begin_step();
                    opt.update_on(isa, 0, &mut p, true, 0.05);
                }
                p.value
            };
            let portable = run(Isa::Portable);
            assert!(portable.iter().all(|w| w.is_finite() && *w != 0.0));
            for isa in Isa::runnable("optimizer") {
                assert_eq!(run(isa), portable, "{kind:?} on {isa}");
            }
        }
    }
}
