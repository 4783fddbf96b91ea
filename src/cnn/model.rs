//! A sequential model: layers built from validated specs, the activations and gradients they
//! exchange (allocated once per batch size), training steps, and gradients for inspection.

use super::activation::softmax_rows;
use super::error::{ArchError, WeightsError};
use super::layers::{Init, Layer, Mode, Param};
use super::loss::{LossStats, softmax_cross_entropy};
use super::optim::Optimizer;
use super::shape::Shape;
use super::spec::{Activation, LayerSpec};
use super::summary::{ModelSummary, infer};
use super::tensor::Tensor;
use rand::SeedableRng;
use rand::rngs::StdRng;

/// What the input gradient is taken of (for saliency maps and activation maximization).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Objective {
    /// The logit (pre-softmax score) of a class, summed over the batch.
    ClassScore(usize),
    /// The mean activation of one channel (feature map) of a layer's output, summed over the batch.
    ChannelMean { layer: usize, channel: usize },
}

/// Which pass of a layer a [`LayerObserver`] is handed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pass {
    Forward,
    Backward,
}

/// Runs each layer's pass on the model's behalf, so a profiler can time it (`perf::layers`)
/// without a second copy of the forward and backward loops.
pub trait LayerObserver {
    /// Runs `pass` of layer `index` by calling `run` exactly once.
    fn observe(&mut self, index: usize, pass: Pass, run: &mut dyn FnMut());
}

/// Runs `run` directly, or through `observer` when there is one.
fn run_layer(observer: Option<&mut (dyn LayerObserver + '_)>, index: usize, pass: Pass, mut run: impl FnMut()) {
    match observer {
        Some(observer) => observer.observe(index, pass, &mut run),
        None => run(),
    }
}

pub struct Model {
    input: Shape,
    specs: Vec<LayerSpec>,
    summary: ModelSummary,
    layers: Vec<Box<dyn Layer>>,
    /// acts[0] is the input, acts[i + 1] the output of layer i.
    acts: Vec<Tensor>,
    /// grads[i] is dL/dacts[i].
    grads: Vec<Tensor>,
    /// Layers that produce the logits: a trailing softmax is left to the loss / `predict_proba`.
    logits_layers: usize,
}

impl Model {
    /// Validates `specs` on `input` (and, with `classes`, the output size) and builds the layers
    /// with weights drawn from `seed`.
    pub fn build(input: Shape, specs: &[LayerSpec], classes: Option<usize>, seed: u64) -> Result<Model, ArchError> {
        let summary = infer(input, specs, classes)?;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut layers: Vec<Box<dyn Layer>> = Vec::with_capacity(specs.len());
        let mut logits_layers = specs.len();
        for (i, (spec, info)) in specs.iter().zip(&summary.layers).enumerate() {
            let x = info.input;
            let mut spec = spec.clone();
            // The loss works on logits: a final softmax is left to the loss and `predict_proba`,
            // dropped from a layer it is fused into, or skipped as a standalone last layer.
            if i + 1 == specs.len() && spec.activation() == Some(Activation::Softmax) {
                match spec.config_mut().fused_activation_mut() {
                    Some(activation) => *activation = Activation::Linear,
                    None => logits_layers = i,
                }
            }
            let mut init = Init {
                rng: &mut rng,
                seed,
                index: i,
            };
            // Shape inference accepted the layer, so construction cannot fail; if it ever did,
            // report it as the layer's error rather than panic.
            let layer = spec.config().build(x, &mut init).ok_or_else(|| ArchError::Layer {
                index: i,
                kind: spec.kind(),
                problem: format!("cannot be built on input {}", x.hwc()),
                fix: "check its sizes".into(),
                quick_fixes: Vec::new(),
            })?;
            layers.push(layer);
        }
        let n = layers.len();
        Ok(Model {
            input,
            specs: specs.to_vec(),
            summary,
            layers,
            acts: vec![Tensor::default(); n + 1],
            grads: vec![Tensor::default(); n + 1],
            logits_layers,
        })
    }

    pub fn input_shape(&self) -> Shape {
        self.input
    }

    pub fn specs(&self) -> &[LayerSpec] {
        &self.specs
    }

    pub fn summary(&self) -> &ModelSummary {
        &self.summary
    }

    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.layers
    }

    pub fn num_classes(&self) -> usize {
        self.summary.output().len()
    }

    /// Checks one input sample's values against the first layer (Embedding's token ids), as
    /// data checks do before training or scoring; the message names the bad value.
    pub fn check_sample(&self, sample: &[f32]) -> Result<(), String> {
        self.specs
            .first()
            .map_or(Ok(()), |spec| spec.config().check_input(sample))
    }

    /// Runs every layer; afterwards [`Model::activations`] holds each layer's output.
    pub fn forward(&mut self, x: &Tensor, mode: Mode) -> &Tensor {
        self.forward_to(x, self.layers.len(), mode, false, None)
    }

    /// Runs the first `count` layers (each through `observer`, if any) and returns the last output.
    /// With `fuse` (honoured in inference without an observer), a layer followed by a plain max
    /// pool computes both as one pass ([`Layer::forward_pooled`]), a Flatten takes its input's
    /// storage ([`Layer::forward_taking`]) and the first layer reads `x` in place: the same
    /// output, but [`Self::activations`] then holds stale values for the input and those layers.
    fn forward_to(
        &mut self,
        x: &Tensor,
        count: usize,
        mode: Mode,
        fuse: bool,
        mut observer: Option<&mut dyn LayerObserver>,
    ) -> &Tensor {
        let fuse = fuse && mode == Mode::Infer && observer.is_none();
        if count == 0 || !fuse {
            self.acts[0].copy_from(x);
        }
        let mut i = 0;
        while i < count {
            let (before, after) = self.acts.split_at_mut(i + 1);
            if fuse && i > 0 && self.layers[i].forward_taking(&mut before[i], &mut after[0]) {
                i += 1;
                continue;
            }
            // A fused pass reads the input where it is (nothing goes back to it).
            let input = if i == 0 && fuse { x } else { &before[i] };
            if fuse
                && i + 1 < count
                && self.layers[i + 1].is_plain_max_pool()
                && self.layers[i].forward_pooled(input, &mut after[1])
            {
                i += 2;
                continue;
            }
            let layer = &mut self.layers[i];
            run_layer(observer.as_deref_mut(), i, Pass::Forward, || {
                layer.forward(input, &mut after[0], mode)
            });
            i += 1;
        }
        &self.acts[count]
    }

    /// The input (index 0) and every layer's output of the last forward pass.
    pub fn activations(&self) -> &[Tensor] {
        &self.acts
    }

    /// Class scores before softmax. In inference mode a layer followed by a plain max pool may
    /// compute both in one pass, so [`Self::activations`] is only complete after
    /// [`Self::forward`].
    pub fn logits(&mut self, x: &Tensor, mode: Mode) -> &Tensor {
        self.forward_to(x, self.logits_layers, mode, true, None)
    }

    /// [`Model::logits`] in inference mode with each layer's pass run through `observer`
    /// (for profilers: `perf::layers`).
    pub fn observed_logits(&mut self, x: &Tensor, observer: &mut dyn LayerObserver) -> &Tensor {
        self.forward_to(x, self.logits_layers, Mode::Infer, false, Some(observer))
    }

    /// Class probabilities (N × classes), inference mode.
    pub fn predict_proba(&mut self, x: &Tensor) -> Tensor {
        let mut out = self.logits(x, Mode::Infer).clone();
        let k = out.sample_len();
        softmax_rows(out.data_mut(), k);
        out
    }

    /// Loss and accuracy without changing anything (inference mode).
    pub fn evaluate(&mut self, x: &Tensor, labels: &[u32]) -> LossStats {
        let n = self.logits_layers;
        self.forward_to(x, n, Mode::Infer, true, None);
        softmax_cross_entropy(&self.acts[n], labels, &mut self.grads[n])
    }

    /// Forward and backward in training mode: leaves dL/dθ in every trainable parameter.
    pub fn compute_gradients(&mut self, x: &Tensor, labels: &[u32]) -> LossStats {
        let n = self.logits_layers;
        self.forward_to(x, n, Mode::Train, false, None);
        let stats = softmax_cross_entropy(&self.acts[n], labels, &mut self.grads[n]);
        let first = self.first_trainable().unwrap_or(n);
        self.backward(first, n, false, None);
        stats
    }

    /// One optimizer step on one batch.
    pub fn train_step(&mut self, x: &Tensor, labels: &[u32], optimizer: &mut Optimizer, lr: f32) -> LossStats {
        let stats = self.compute_gradients(x, labels);
        if stats.loss.is_finite() {
            // Visited layer by layer, not collected: a training step allocates nothing.
            optimizer.begin_step();
            let mut index = 0;
            for layer in &mut self.layers {
                let trainable = layer.trainable();
                layer.for_each_param_mut(&mut |p| {
                    optimizer.update(index, p, trainable, lr);
                    index += 1;
                });
            }
        }
        stats
    }

    /// Forward and backward in training mode through every layer, none skipped (unlike
    /// [`Model::compute_gradients`], which stops below the first trainable layer), each layer's
    /// pass run through `observer`; no weight update. For profilers: `perf::layers`.
    pub fn observed_gradients(&mut self, x: &Tensor, labels: &[u32], observer: &mut dyn LayerObserver) -> LossStats {
        let n = self.logits_layers;
        self.forward_to(x, n, Mode::Train, false, Some(&mut *observer));
        let stats = softmax_cross_entropy(&self.acts[n], labels, &mut self.grads[n]);
        self.backward(0, n, false, Some(observer));
        stats
    }

    /// The layers that produce the logits (a trailing softmax is left to the loss), in order.
    pub fn logits_layers(&self) -> &[Box<dyn Layer>] {
        &self.layers[..self.logits_layers]
    }

    /// d(objective)/d(input), in inference mode (as the viewers need it).
    pub fn input_gradient(&mut self, x: &Tensor, objective: Objective) -> Tensor {
        self.gradient_at(x, objective, 0)
    }

    /// d(objective)/d(activations()[index]) in inference mode: index 0 is the input, index
    /// i + 1 the output of layer i (after its activation), as Grad-CAM needs it. Afterwards
    /// [`Model::activations`] holds the forward pass.
    pub fn gradient_at(&mut self, x: &Tensor, objective: Objective, index: usize) -> Tensor {
        let end = match objective {
            Objective::ClassScore(_) => self.logits_layers,
            Objective::ChannelMean { layer, .. } => (layer + 1).min(self.layers.len()),
        };
        self.forward_to(x, end, Mode::Infer, false, None);
        let out = &self.acts[end];
        let g = &mut self.grads[end];
        g.resize(out.batch(), out.shape());
        g.fill(0.0);
        let k = out.sample_len();
        match objective {
            Objective::ClassScore(class) => {
                for row in g.data_mut().chunks_exact_mut(k) {
                    if let Some(v) = row.get_mut(class) {
                        *v = 1.0;
                    }
                }
            }
            Objective::ChannelMean { channel, .. } => {
                let (h, w) = out.shape().spatial();
                let plane = h * w;
                for sample in g.data_mut().chunks_exact_mut(k) {
                    if let Some(p) = sample.get_mut(channel * plane..(channel + 1) * plane) {
                        p.fill(1.0 / plane as f32);
                    }
                }
            }
        }
        let index = index.min(end);
        // Layer `index` writes grads[index] last, so it is d/d(acts[index]) itself (layers apply
        // their activation's derivative to their own dy in place).
        self.backward(index, end, true, None);
        self.grads[index].clone()
    }

    /// Backpropagates grads[end] down to layer `first` (each layer through `observer`, if any);
    /// with `to_input`, also into grads[0].
    fn backward(&mut self, first: usize, end: usize, to_input: bool, mut observer: Option<&mut dyn LayerObserver>) {
        for i in (first..end).rev() {
            let (g_lo, g_hi) = self.grads.split_at_mut(i + 1);
            let mut dx = (i > first || to_input).then_some(&mut g_lo[i]);
            let (layer, acts) = (&mut self.layers[i], &self.acts);
            run_layer(observer.as_deref_mut(), i, Pass::Backward, || {
                layer.backward(&acts[i], &acts[i + 1], &mut g_hi[0], dx.as_deref_mut())
            });
        }
    }

    fn first_trainable(&self) -> Option<usize> {
        self.layers.iter().position(|l| {
            let mut has_grads = false;
            l.for_each_param(&mut |p| has_grads |= !p.grad.is_empty());
            l.trainable() && has_grads
        })
    }

    /// Every parameter (state included) in a fixed order: layer by layer, as `Layer::params`.
    pub fn params(&self) -> Vec<&Param> {
        self.layers.iter().flat_map(|l| l.params()).collect()
    }

    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layers.iter_mut().flat_map(|l| l.params_mut()).collect()
    }

    /// Freezes (or unfreezes) layer `index`; layers without weights ignore it.
    pub fn set_trainable(&mut self, index: usize, trainable: bool) {
        if let Some(layer) = self.layers.get_mut(index) {
            layer.set_trainable(trainable);
        }
        if let Some(spec) = self.specs.get_mut(index) {
            spec.set_trainable(trainable);
        }
    }

    /// Copies of every parameter's values, in [`Model::params`] order.
    pub fn weights(&self) -> Vec<Vec<f32>> {
        self.params().iter().map(|p| p.value.clone()).collect()
    }

    /// Copies every parameter's values into `out`, reusing its allocations.
    pub fn weights_into(&self, out: &mut Vec<Vec<f32>>) {
        let params = self.params();
        out.resize_with(params.len(), Vec::new);
        for (dst, p) in out.iter_mut().zip(params) {
            dst.clear();
            dst.extend_from_slice(&p.value);
        }
    }

    /// Loads values saved by [`Model::weights`]; fails without changing anything if the
    /// number or sizes of the arrays do not match this model.
    pub fn set_weights(&mut self, weights: &[Vec<f32>]) -> Result<(), WeightsError> {
        let mut params = self.params_mut();
        if params.len() != weights.len() {
            return Err(WeightsError::Count {
                expected: params.len(),
                got: weights.len(),
            });
        }
        for (index, (p, w)) in params.iter().zip(weights).enumerate() {
            if p.value.len() != w.len() {
                return Err(WeightsError::Size {
                    index,
                    name: p.name,
                    got: w.len(),
                    expected: p.value.len(),
                });
            }
        }
        for (p, w) in params.iter_mut().zip(weights) {
            p.value.copy_from_slice(w);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cnn::spec::Dense;

    #[test]
    fn set_weights_names_the_array_that_does_not_fit_and_changes_nothing() {
        let mut model = Model::build(Shape::flat(4), &[LayerSpec::Dense(Dense::new(3))], Some(3), 1).unwrap();
        let before = model.weights();
        assert_eq!(
            model.set_weights(&before[..1]).unwrap_err().to_string(),
            "the model has 2 weight arrays but 1 were given"
        );
        let mut wrong = before.clone();
        wrong[1].push(0.0);
        assert_eq!(
            model.set_weights(&wrong),
            Err(WeightsError::Size {
                index: 1,
                name: "bias",
                got: 4,
                expected: 3
            })
        );
        assert_eq!(
            model.set_weights(&wrong).unwrap_err().to_string(),
            "weight array 2 (bias) has 4 values, expected 3"
        );
        assert_eq!(model.weights(), before);
    }
}
