//! Whole-engine behaviour: determinism, learning, frozen layers, input gradients.

mod support;

use cnn_lab::cnn::spec::{Conv2D, Dense, Flatten, Pool2D};
use cnn_lab::cnn::{LayerSpec, LrSchedule, Mode, Model, Objective, Optimizer, OptimizerKind, Shape, Tensor, zoo};
use support::tensors::*;

/// Images whose class is which half (left or right) of the image is bright.
fn halves(n: usize, seed: u64) -> (Tensor, Vec<u32>) {
    let mut x = random_tensor(&mut rng(seed), n, Shape::image(8, 8, 1));
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let label = (i % 2) as u32;
        for (p, v) in x.sample_mut(i).iter_mut().enumerate() {
            let right = p % 8 >= 4;
            *v = 0.3 * *v + if right == (label == 1) { 1.0 } else { 0.0 };
        }
        labels.push(label);
    }
    (x, labels)
}

fn small_cnn() -> Vec<LayerSpec> {
    vec![
        LayerSpec::Conv2D(Conv2D::new(4, 3).same().relu()),
        LayerSpec::MaxPooling2D(Pool2D::new(2)),
        LayerSpec::Flatten(Flatten),
        LayerSpec::Dense(Dense::new(2)),
    ]
}

#[test]
fn same_model_data_and_seed_give_bit_identical_weights() {
    let (input, specs) = zoo::lenet();
    let x = random_tensor(&mut rng(1), 64, input);
    let labels: Vec<u32> = (0..64).map(|i| (i * 7 % 10) as u32).collect();
    let run = |seed| {
        let mut model = Model::build(input, &specs, Some(10), seed).unwrap();
        let mut opt = Optimizer::new(OptimizerKind::adam(), 1e-4);
        for _ in 0..4 {
            model.train_step(&x, &labels, &mut opt, 1e-3);
        }
        model.weights()
    };
    let a = run(7);
    assert_eq!(a, run(7), "same seed");
    assert_ne!(a, run(8), "a different seed gives different initial weights");
}

#[test]
fn a_small_cnn_learns_which_half_is_bright() {
    let (x, labels) = halves(64, 2);
    let mut model = Model::build(Shape::image(8, 8, 1), &small_cnn(), Some(2), 3).unwrap();
    let before = model.evaluate(&x, &labels);
    let mut opt = Optimizer::new(
        OptimizerKind::SGD {
            momentum: 0.9,
            nesterov: true,
        },
        0.0,
    );
    let schedule = LrSchedule::Cosine { final_fraction: 0.1 };
    for step in 0..40 {
        model.train_step(&x, &labels, &mut opt, schedule.lr(0.05, step as f32 / 10.0, 4));
    }
    let (test_x, test_labels) = halves(64, 99);
    let after = model.evaluate(&test_x, &test_labels);
    assert!(after.loss < before.loss / 4.0, "loss {} → {}", before.loss, after.loss);
    assert!(after.accuracy() >= 0.95, "held-out accuracy {}", after.accuracy());
}

#[test]
fn frozen_layers_keep_their_weights_while_the_rest_trains() {
    let (x, labels) = halves(32, 4);
    let mut specs = small_cnn();
    specs[0].set_trainable(false);
    let mut model = Model::build(Shape::image(8, 8, 1), &specs, Some(2), 5).unwrap();
    let before = model.weights();
    let mut opt = Optimizer::new(OptimizerKind::adam(), 0.0);
    for _ in 0..5 {
        model.train_step(&x, &labels, &mut opt, 0.01);
    }
    let after = model.weights();
    assert_eq!(before[0], after[0], "frozen conv kernel");
    assert_eq!(before[1], after[1], "frozen conv bias");
    assert_ne!(before[2], after[2], "dense kernel trains");
    // Unfreezing lets the conv layer learn again.
    model.set_trainable(0, true);
    model.train_step(&x, &labels, &mut opt, 0.01);
    assert_ne!(after[0], model.weights()[0]);
}

#[test]
fn input_gradient_of_a_class_score_matches_finite_differences() {
    // Smooth activations and average pooling: a finite-difference step never crosses a kink.
    let input = Shape::image(8, 8, 1);
    let specs = vec![
        LayerSpec::Conv2D(Conv2D {
            activation: cnn_lab::cnn::Activation::Tanh,
            ..Conv2D::new(4, 3).same()
        }),
        LayerSpec::AveragePooling2D(Pool2D::new(2)),
        LayerSpec::Flatten(Flatten),
        LayerSpec::Dense(Dense::new(2)),
    ];
    let mut model = Model::build(input, &specs, Some(2), 6).unwrap();
    let x = random_tensor(&mut rng(7), 1, input);
    let grad = model.input_gradient(&x, Objective::ClassScore(1));
    let eps = 1e-2;
    for i in [0, 9, 27, 36, 63] {
        let mut score = |delta: f32| {
            let mut xp = x.clone();
            xp.data_mut()[i] += delta;
            model.logits(&xp, Mode::Infer).data()[1] as f64
        };
        let numeric = (score(eps) - score(-eps)) / (2.0 * eps as f64);
        let analytic = grad.data()[i] as f64;
        assert!(
            (numeric - analytic).abs() < 1e-2 * analytic.abs().max(1.0),
            "pixel {i}: {analytic} vs {numeric}"
        );
    }
    // The mean activation of one feature map, as activation maximization uses it.
    let grad = model.input_gradient(&x, Objective::ChannelMean { layer: 0, channel: 2 });
    assert!(grad.data().iter().any(|v| *v != 0.0));
    assert_eq!(grad.shape(), input);
}

#[test]
fn predictions_are_probabilities_and_a_trailing_softmax_does_not_change_them() {
    let input = Shape::image(8, 8, 1);
    let mut with_softmax = small_cnn();
    with_softmax.push(LayerSpec::Activation(cnn_lab::cnn::Activation::Softmax));
    let mut a = Model::build(input, &small_cnn(), Some(2), 9).unwrap();
    let mut b = Model::build(input, &with_softmax, Some(2), 9).unwrap();
    let x = random_tensor(&mut rng(10), 5, input);
    let pa = a.predict_proba(&x);
    let pb = b.predict_proba(&x);
    assert_eq!(pa, pb);
    for row in pa.data().chunks(2) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6 && row.iter().all(|p| *p >= 0.0));
    }
    // The viewer sees the softmax layer's own output among the activations.
    b.forward(&x, Mode::Infer);
    assert_eq!(b.activations().last().unwrap().data(), pb.data());
}

/// Sine, square and sawtooth waves of random frequency, phase, amplitude and noise: (N, 1, 64).
fn waves(n: usize, seed: u64) -> (Tensor, Vec<u32>) {
    use rand::RngExt;
    let mut r = rng(seed);
    let steps = 64;
    let mut data = Vec::with_capacity(n * steps);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let class = (i % 3) as u32;
        let (freq, phase, amp) = (
            r.random_range(2.0f32..5.0),
            r.random_range(0.0f32..1.0),
            r.random_range(0.5f32..1.5),
        );
        for t in 0..steps {
            let u = (t as f32 / steps as f32 * freq + phase).fract();
            let v = match class {
                0 => (u * std::f32::consts::TAU).sin(),
                1 => {
                    if u < 0.5 {
                        1.0
                    } else {
                        -1.0
                    }
                }
                _ => 2.0 * u - 1.0,
            };
            data.push(amp * v + r.random_range(-0.2f32..0.2));
        }
        labels.push(class);
    }
    (Tensor::from_vec(n, Shape::sequence(steps, 1), data).unwrap(), labels)
}

#[test]
fn a_small_conv1d_model_learns_to_tell_waveforms_apart() {
    use cnn_lab::cnn::Padding;
    use cnn_lab::cnn::spec::{Conv1D, GlobalAveragePooling1D, MaxPooling1D};
    let specs = vec![
        LayerSpec::Conv1D(Conv1D::new(8, 5).padding(Padding::Same).relu()),
        LayerSpec::MaxPooling1D(MaxPooling1D::new(2)),
        LayerSpec::Conv1D(Conv1D::new(16, 3).padding(Padding::Causal).dilation(2).relu()),
        LayerSpec::GlobalAveragePooling1D(GlobalAveragePooling1D),
        LayerSpec::Dense(Dense::new(3)),
    ];
    let (x, y) = waves(240, 1);
    let (xt, yt) = waves(90, 2);
    let mut model = Model::build(x.shape(), &specs, Some(3), 7).unwrap();
    let mut opt = Optimizer::new(OptimizerKind::adam(), 0.0);
    let batch = 30;
    for _ in 0..25 {
        for start in (0..240).step_by(batch) {
            let xb = Tensor::from_vec(batch, x.shape(), x.data()[start * 64..(start + batch) * 64].to_vec()).unwrap();
            model.train_step(&xb, &y[start..start + batch], &mut opt, 0.01);
        }
    }
    let accuracy = model.evaluate(&xt, &yt).accuracy();
    assert!(accuracy >= 0.95, "held-out accuracy {accuracy}");
}

#[test]
fn inference_with_fused_conv_and_pool_gives_the_bits_of_the_layer_by_layer_pass() {
    // `logits` in inference computes each Conv2D followed by a 2×2 max pool (each Conv1D
    // followed by a 2-step one) as one pass, reads the input in place and lets Flatten take
    // its input's storage; `forward` runs every layer and keeps every output. All three models
    // have such pairs; LeNet and the cifar model a Flatten. Batches change and fused passes
    // follow each other (Flatten's buffers have changed places).
    for (name, (input, specs)) in [
        ("lenet", zoo::lenet()),
        ("cifar", zoo::cifar()),
        ("signals", zoo::signals()),
    ] {
        let mut model = Model::build(input, &specs, Some(10), 3).unwrap();
        let bits = |t: &Tensor| t.data().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        for n in [1, 37, 5] {
            let x = random_tensor(&mut rng(n as u64), n, input);
            let k = model.logits_layers().len();
            model.forward(&x, Mode::Infer);
            let want = model.activations()[k].clone();
            let got = model.logits(&x, Mode::Infer).clone();
            assert_eq!(got.data().len(), n * 10);
            assert!(bits(&got) == bits(&want), "{name}, batch {n}: fused logits differ");
            let other = random_tensor(&mut rng(100 + n as u64), n, input);
            let fused = model.logits(&other, Mode::Infer).clone();
            model.forward(&other, Mode::Infer);
            assert!(
                bits(&fused) == bits(&model.activations()[k]),
                "{name}, batch {n}: a second fused pass differs"
            );
            assert!(bits(&fused) != bits(&got));
        }
    }
}
