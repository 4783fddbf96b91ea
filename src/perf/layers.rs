//! Where a training step's time goes: each layer's forward and backward pass timed through the
//! engine's own loops (`cnn::LayerObserver`), for `examples/profile_step.rs`.

use crate::cnn::{LayerObserver, Model, Pass, Tensor};
use std::time::Instant;

/// Mean time one training step spends in one layer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerTime {
    /// The layer's kind, as in the summary ("Conv2D", "Dense", …).
    pub kind: &'static str,
    pub forward_secs: f64,
    pub backward_secs: f64,
}

/// Adds up the seconds each layer's passes take: (forward, backward) per layer index.
#[derive(Clone, Debug, Default)]
struct LayerTimer {
    secs: Vec<(f64, f64)>,
}

impl LayerObserver for LayerTimer {
    fn observe(&mut self, index: usize, pass: Pass, run: &mut dyn FnMut()) {
        let start = Instant::now();
        run();
        let secs = start.elapsed().as_secs_f64();
        if self.secs.len() <= index {
            self.secs.resize(index + 1, (0.0, 0.0));
        }
        match pass {
            Pass::Forward => self.secs[index].0 += secs,
            Pass::Backward => self.secs[index].1 += secs,
        }
    }
}

/// Mean seconds per training step spent in each layer's forward and backward pass, over `reps`
/// steps on `x` (no weight update): where a step's time goes.
pub fn layer_times(model: &mut Model, x: &Tensor, labels: &[u32], reps: usize) -> Vec<LayerTime> {
    let mut timer = LayerTimer::default();
    for _ in 0..reps.max(1) {
        model.observed_gradients(x, labels, &mut timer);
    }
    timer.means(model, reps)
}

/// Mean seconds per inference pass on `x` spent in each layer (backward times are zero).
pub fn inference_layer_times(model: &mut Model, x: &Tensor, reps: usize) -> Vec<LayerTime> {
    let mut timer = LayerTimer::default();
    for _ in 0..reps.max(1) {
        model.observed_logits(x, &mut timer);
    }
    timer.means(model, reps)
}

impl LayerTimer {
    /// Each layer's mean seconds per pass over `reps` passes.
    fn means(&self, model: &Model, reps: usize) -> Vec<LayerTime> {
        let reps = reps.max(1) as f64;
        model
            .logits_layers()
            .iter()
            .enumerate()
            .map(|(i, layer)| {
                let (forward, backward) = self.secs.get(i).copied().unwrap_or_default();
                LayerTime {
                    kind: layer.kind(),
                    forward_secs: forward / reps,
                    backward_secs: backward / reps,
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cnn::zoo;

    /// Records the order in which the model hands its layers over.
    #[derive(Default)]
    struct Order(Vec<(usize, Pass)>);

    impl LayerObserver for Order {
        fn observe(&mut self, index: usize, pass: Pass, run: &mut dyn FnMut()) {
            self.0.push((index, pass));
            run();
        }
    }

    fn lenet_batch() -> (Model, Tensor, Vec<u32>) {
        let (input, specs) = zoo::lenet();
        let model = Model::build(input, &specs, Some(10), 1).expect("valid");
        let x =
            Tensor::from_vec(4, input, (0..4 * input.len()).map(|i| (i % 7) as f32 / 7.0).collect()).expect("sizes");
        (model, x, vec![0, 3, 5, 9])
    }

    #[test]
    fn every_layer_runs_forward_in_order_then_backward_in_reverse() {
        let (mut model, x, labels) = lenet_batch();
        let n = model.logits_layers().len();
        let mut order = Order::default();
        model.observed_gradients(&x, &labels, &mut order);
        let expected: Vec<_> = (0..n)
            .map(|i| (i, Pass::Forward))
            .chain((0..n).rev().map(|i| (i, Pass::Backward)))
            .collect();
        assert_eq!(order.0, expected);
    }

    #[test]
    fn observed_gradients_match_the_unobserved_ones() {
        let (mut model, x, labels) = lenet_batch();
        let plain = model.compute_gradients(&x, &labels);
        let grads: Vec<Vec<f32>> = model.params().iter().map(|p| p.grad.clone()).collect();
        let observed = model.observed_gradients(&x, &labels, &mut Order::default());
        assert!((plain.loss - observed.loss).abs() <= 1e-6 * plain.loss.abs());
        for (p, g) in model.params().iter().zip(&grads) {
            assert_eq!(p.grad.len(), g.len(), "{}", p.name);
            for (a, b) in p.grad.iter().zip(g) {
                assert!((a - b).abs() <= 1e-5 * (1.0 + b.abs()), "{}: {a} vs {b}", p.name);
            }
        }
    }

    #[test]
    fn layer_times_names_every_logits_layer() {
        let (mut model, x, labels) = lenet_batch();
        let times = layer_times(&mut model, &x, &labels, 2);
        let kinds: Vec<_> = model.logits_layers().iter().map(|l| l.kind()).collect();
        assert_eq!(times.iter().map(|t| t.kind).collect::<Vec<_>>(), kinds);
        assert!(times.iter().all(|t| t.forward_secs >= 0.0 && t.backward_secs >= 0.0));
    }
}
