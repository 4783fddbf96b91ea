//! Finite-difference gradient checks for every layer type, the loss and a whole model.
//!
//! Each check takes L = Σ y·r for a fixed random r, compares the analytic dL/dx and dL/dθ from
//! `backward` against central differences (L(v + ε) − L(v − ε)) / 2ε, computed by re-running a
//! freshly built, identically seeded layer so that dropout masks and BatchNormalization
//! statistics are recomputed exactly as the function being differentiated.

mod support;

use cnn_lab::cnn::layers::*;
use cnn_lab::cnn::spec::{self, AveragePooling2D, BatchNormalization, Conv2D, Dense, MaxPooling2D, Pool2D};
use cnn_lab::cnn::{Activation, LayerSpec, Model, Padding, Shape, Tensor, softmax_cross_entropy};
use rand::SeedableRng;
use rand::rngs::StdRng;
use support::tensors::*;

const EPS: f32 = 1e-2;

/// |analytic − numeric| must be within 2% of their size plus a small absolute floor that covers
/// f32 rounding in the differences.
fn close(analytic: f32, numeric: f64) -> bool {
    let (a, n) = (analytic as f64, numeric);
    (a - n).abs() <= 2e-2 * a.abs().max(n.abs()) + 2e-3
}

fn weighted_sum(y: &Tensor, r: &[f32]) -> f64 {
    y.data().iter().zip(r).map(|(a, b)| *a as f64 * *b as f64).sum()
}

/// Checks dL/dx and dL/dθ of the layer `make()` builds, on input `x`, in `mode`.
fn check_layer(name: &str, make: &dyn Fn() -> Box<dyn Layer>, x: &Tensor, mode: Mode) {
    let mut layer = make();
    let mut y = Tensor::default();
    layer.forward(x, &mut y, mode);
    let mut r_rng = StdRng::seed_from_u64(99);
    let r = random_tensor(&mut r_rng, y.batch(), y.shape());
    let mut dy = r.clone();
    let mut dx = Tensor::default();
    layer.backward(x, &y, &mut dy, Some(&mut dx));
    assert_eq!(dx.shape(), x.shape(), "{name}: dx shape");
    let loss_at = |x: &Tensor, tweak: &dyn Fn(&mut dyn Layer)| {
        let mut l = make();
        tweak(l.as_mut());
        let mut y = Tensor::default();
        l.forward(x, &mut y, mode);
        weighted_sum(&y, r.data())
    };
    let mut failures = Vec::new();
    // Input gradient: every element (inputs are small).
    for i in 0..x.data().len() {
        let mut xp = x.clone();
        xp.data_mut()[i] += EPS;
        let mut xm = x.clone();
        xm.data_mut()[i] -= EPS;
        let numeric = (loss_at(&xp, &|_| {}) - loss_at(&xm, &|_| {})) / (2.0 * EPS as f64);
        if !close(dx.data()[i], numeric) {
            failures.push(format!("dx[{i}]: analytic {} numeric {numeric}", dx.data()[i]));
        }
    }
    // Parameter gradients (state such as moving statistics has none).
    let analytic: Vec<(usize, Vec<f32>)> = layer
        .params()
        .iter()
        .enumerate()
        .filter(|(_, p)| !p.grad.is_empty())
        .map(|(j, p)| (j, p.grad.clone()))
        .collect();
    for (j, grad) in &analytic {
        for (k, &g) in grad.iter().enumerate() {
            let shift = |delta: f32| move |l: &mut dyn Layer| l.params_mut()[*j].value[k] += delta;
            let numeric = (loss_at(x, &shift(EPS)) - loss_at(x, &shift(-EPS))) / (2.0 * EPS as f64);
            if !close(g, numeric) {
                failures.push(format!("param {j}[{k}]: analytic {g} numeric {numeric}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{name}: {} gradient mismatches, first: {:?}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
}

fn conv(spec: Conv2D, input: Shape) -> impl Fn() -> Box<dyn Layer> {
    move || {
        let mut rng = StdRng::seed_from_u64(1);
        let mut layer = Conv2DLayer::new(&spec, input, &mut rng).expect("valid conv");
        // Non-zero biases so the bias path is exercised.
        for (i, b) in layer
            .params_mut()
            .into_iter()
            .nth(1)
            .map(|p| p.value.iter_mut())
            .into_iter()
            .flatten()
            .enumerate()
        {
            *b = 0.1 * i as f32 - 0.2;
        }
        Box::new(layer)
    }
}

#[test]
fn conv2d_valid_stride_1_three_channels() {
    let input = Shape::image(6, 6, 3);
    let x = random_tensor(&mut rng(1), 2, input);
    check_layer("conv valid s1", &conv(Conv2D::new(4, 3), input), &x, Mode::Train);
}

#[test]
fn conv2d_same_stride_2_on_an_even_input() {
    // 8×8, 3×3, stride 2, same: TensorFlow pads 0 on top/left and 1 on bottom/right.
    let input = Shape::image(8, 8, 2);
    let x = random_tensor(&mut rng(2), 2, input);
    check_layer(
        "conv same s2 even",
        &conv(Conv2D::new(3, 3).same().strides(2), input),
        &x,
        Mode::Train,
    );
}

#[test]
fn conv2d_same_stride_1_odd_input_and_explicit_padding() {
    let input = Shape::image(7, 7, 2);
    let x = random_tensor(&mut rng(3), 2, input);
    check_layer(
        "conv same s1 odd",
        &conv(Conv2D::new(3, 3).same(), input),
        &x,
        Mode::Train,
    );
    let input = Shape::image(5, 5, 1);
    let x = random_tensor(&mut rng(4), 2, input);
    check_layer(
        "conv k5 pad 2",
        &conv(Conv2D::new(2, 5).padding(Padding::Explicit(2)), input),
        &x,
        Mode::Train,
    );
}

#[test]
fn conv2d_rectangular_kernel_stride_and_no_bias_with_fused_tanh() {
    let input = Shape::image(7, 9, 2);
    let x = random_tensor(&mut rng(5), 2, input);
    let spec = Conv2D {
        kernel_size: (3, 5),
        strides: (2, 1),
        padding: Padding::Same,
        use_bias: false,
        activation: Activation::Tanh,
        ..Conv2D::new(3, 3)
    };
    check_layer("conv 3x5 s(2,1) tanh", &conv(spec, input), &x, Mode::Train);
}

fn max_pool(spec: MaxPooling2D, input: Shape) -> impl Fn() -> Box<dyn Layer> {
    move || -> Box<dyn Layer> { Box::new(MaxPool::new(&spec, input).unwrap()) }
}

fn avg_pool(spec: AveragePooling2D, input: Shape) -> impl Fn() -> Box<dyn Layer> {
    move || -> Box<dyn Layer> { Box::new(AvgPool::new(&spec, input).unwrap()) }
}

/// Inputs on a coarse shuffled grid, so no two values in a window are within 2ε of each other
/// and a finite-difference step never changes which value is the maximum.
fn distinct_values(seed: u64, batch: usize, shape: Shape) -> Tensor {
    use rand::seq::SliceRandom;
    let n = batch * shape.len();
    let mut v: Vec<f32> = (0..n).map(|i| (i as f32 - n as f32 / 2.0) * 0.05).collect();
    v.shuffle(&mut rng(seed));
    Tensor::from_vec(batch, shape, v).unwrap()
}

#[test]
fn max_pooling_plain_overlapping_and_same() {
    let cases = [
        (Pool2D::new(2), Shape::image(6, 6, 2)),
        (Pool2D::new(3).strides(2), Shape::image(7, 7, 2)),
        (Pool2D::new(2).padding(Padding::Same), Shape::image(5, 5, 2)),
    ];
    for (i, (spec, input)) in cases.into_iter().enumerate() {
        let x = distinct_values(10 + i as u64, 2, input);
        check_layer(&format!("max pool case {i}"), &max_pool(spec, input), &x, Mode::Train);
    }
}

#[test]
fn average_pooling_plain_overlapping_and_same() {
    let cases = [
        (Pool2D::new(2), Shape::image(6, 6, 2)),
        (Pool2D::new(3).strides(2), Shape::image(7, 7, 2)),
        (Pool2D::new(3).strides(2).padding(Padding::Same), Shape::image(8, 8, 2)),
    ];
    for (i, (spec, input)) in cases.into_iter().enumerate() {
        let x = random_tensor(&mut rng(20 + i as u64), 2, input);
        check_layer(&format!("avg pool case {i}"), &avg_pool(spec, input), &x, Mode::Train);
    }
}

#[test]
fn global_average_pooling_and_flatten() {
    let input = Shape::image(3, 4, 2);
    let x = random_tensor(&mut rng(30), 2, input);
    check_layer(
        "gap",
        &move || Box::new(GlobalAvgPool::new(input).unwrap()),
        &x,
        Mode::Train,
    );
    check_layer("flatten", &|| Box::new(FlattenLayer), &x, Mode::Train);
}

#[test]
fn global_max_pooling() {
    use cnn_lab::cnn::layers::global_max_pooling2d::GlobalMaxPool;
    let input = Shape::image(3, 4, 2);
    // Distinct values, so a nudge of ε never changes which position wins.
    let x = distinct_values(32, 2, input);
    check_layer(
        "global max pool",
        &move || Box::new(GlobalMaxPool::new(input).unwrap()),
        &x,
        Mode::Train,
    );
}

#[test]
fn dense_with_and_without_activation() {
    let input = Shape::flat(6);
    let x = random_tensor(&mut rng(31), 3, input);
    for act in [Activation::Linear, Activation::Sigmoid] {
        let spec = Dense {
            activation: act,
            ..Dense::new(4)
        };
        let make = move || -> Box<dyn Layer> {
            Box::new(DenseLayer::new(&spec, input, &mut StdRng::seed_from_u64(2)).unwrap())
        };
        check_layer(&format!("dense {act:?}"), &make, &x, Mode::Train);
    }
}

#[test]
fn dropout_in_training_mode() {
    let input = Shape::image(4, 4, 2);
    let x = random_tensor(&mut rng(32), 2, input);
    check_layer("dropout", &|| Box::new(DropoutLayer::new(0.4, 7)), &x, Mode::Train);
}

#[test]
fn batch_normalization_training_and_inference_modes() {
    for (input, batch) in [(Shape::image(3, 3, 2), 3), (Shape::flat(5), 6)] {
        let x = random_tensor(&mut rng(33), batch, input);
        let make = move || -> Box<dyn Layer> {
            let mut bn = BatchNorm::new(&BatchNormalization::default(), input);
            // Non-trivial gamma, beta and moving statistics.
            for (j, p) in bn.params_mut().into_iter().enumerate() {
                for (k, v) in p.value.iter_mut().enumerate() {
                    *v = match j {
                        0 => 1.0 + 0.3 * k as f32,
                        1 => 0.2 - 0.1 * k as f32,
                        2 => 0.05 * k as f32,
                        _ => 0.5 + 0.25 * k as f32,
                    };
                }
            }
            Box::new(bn)
        };
        check_layer(&format!("batchnorm train {input}"), &make, &x, Mode::Train);
        check_layer(&format!("batchnorm infer {input}"), &make, &x, Mode::Infer);
    }
}

#[test]
fn every_activation() {
    let input = Shape::image(3, 3, 3);
    let x = random_away_from_zero(&mut rng(34), 2, input, 0.05);
    for act in Activation::ALL {
        check_layer(
            &format!("activation {act:?}"),
            &move || Box::new(ActivationLayer::new(act)),
            &x,
            Mode::Train,
        );
    }
    // Softmax on a flat vector (the usual output layer).
    let x = random_tensor(&mut rng(35), 3, Shape::flat(5));
    check_layer(
        "softmax flat",
        &|| Box::new(ActivationLayer::new(Activation::Softmax)),
        &x,
        Mode::Train,
    );
}

#[test]
fn softmax_cross_entropy_loss() {
    let logits = random_tensor(&mut rng(36), 4, Shape::flat(5))
        .data()
        .iter()
        .map(|v| v * 3.0)
        .collect::<Vec<_>>();
    let logits = Tensor::from_vec(4, Shape::flat(5), logits).unwrap();
    let labels = [0, 3, 4, 1];
    let mut grad = Tensor::default();
    softmax_cross_entropy(&logits, &labels, &mut grad);
    let mut scratch = Tensor::default();
    for i in 0..logits.data().len() {
        let mut p = logits.clone();
        p.data_mut()[i] += EPS;
        let mut m = logits.clone();
        m.data_mut()[i] -= EPS;
        let lp = softmax_cross_entropy(&p, &labels, &mut scratch).loss as f64;
        let lm = softmax_cross_entropy(&m, &labels, &mut scratch).loss as f64;
        let numeric = (lp - lm) / (2.0 * EPS as f64);
        assert!(
            close(grad.data()[i], numeric),
            "dlogits[{i}]: {} vs {numeric}",
            grad.data()[i]
        );
    }
}

#[test]
fn whole_model_gradients_match_finite_differences() {
    let specs = vec![
        LayerSpec::Conv2D(Conv2D {
            activation: Activation::Tanh,
            ..Conv2D::new(3, 3).same()
        }),
        LayerSpec::AveragePooling2D(Pool2D::new(2)),
        LayerSpec::BatchNormalization(spec::BatchNormalization::default()),
        LayerSpec::Conv2D(Conv2D::new(4, 3).strides(2)),
        LayerSpec::Flatten(spec::Flatten),
        LayerSpec::Dense(Dense {
            activation: Activation::Sigmoid,
            ..Dense::new(6)
        }),
        LayerSpec::Dense(Dense::new(3)),
        LayerSpec::Activation(Activation::Softmax),
    ];
    let input = Shape::image(8, 8, 2);
    let x = random_tensor(&mut rng(40), 4, input);
    let labels = [0, 2, 1, 2];
    let mut model = Model::build(input, &specs, Some(3), 5).unwrap();
    model.compute_gradients(&x, &labels);
    let analytic: Vec<Vec<f32>> = model.params().iter().map(|p| p.grad.clone()).collect();
    let mut checked = 0;
    for (j, grad) in analytic.iter().enumerate() {
        // A spread of entries of every parameter array.
        for k in (0..grad.len()).step_by((grad.len() / 7).max(1)) {
            let loss_with = |delta: f32| {
                let mut m = Model::build(input, &specs, Some(3), 5).unwrap();
                m.params_mut()[j].value[k] += delta;
                m.compute_gradients(&x, &labels).loss as f64
            };
            let numeric = (loss_with(EPS) - loss_with(-EPS)) / (2.0 * EPS as f64);
            assert!(
                close(grad[k], numeric),
                "param {j}[{k}]: analytic {} numeric {numeric}",
                grad[k]
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "checked {checked} entries");
}

// ---- Sequences (issue 15): the 1-D layers, and the 2-D ones that also take sequences. ----

/// The runtime layer of `spec` on `input`, as a model builds it, with non-zero biases.
fn built(spec: LayerSpec, input: Shape) -> impl Fn() -> Box<dyn Layer> {
    use cnn_lab::cnn::Init;
    move || {
        let mut rng = StdRng::seed_from_u64(3);
        let mut init = Init {
            rng: &mut rng,
            seed: 3,
            index: 0,
        };
        let mut layer = spec.config().build(input, &mut init).expect("valid layer");
        for p in layer.params_mut() {
            if p.name == "bias" {
                for (i, b) in p.value.iter_mut().enumerate() {
                    *b = 0.1 * i as f32 - 0.2;
                }
            }
        }
        layer
    }
}

#[test]
fn conv1d_strides_paddings_dilations_with_and_without_bias() {
    use cnn_lab::cnn::spec::Conv1D;
    let cases = [
        ("valid s1", Conv1D::new(3, 3), 9),
        ("valid s2", Conv1D::new(3, 3).strides(2), 9),
        ("same s1 even", Conv1D::new(3, 4).padding(Padding::Same), 8),
        ("same s2 even", Conv1D::new(3, 3).padding(Padding::Same).strides(2), 8),
        ("causal", Conv1D::new(2, 3).padding(Padding::Causal), 7),
        ("causal s2", Conv1D::new(2, 3).padding(Padding::Causal).strides(2), 8),
        ("valid d2", Conv1D::new(2, 3).dilation(2), 9),
        ("same d2", Conv1D::new(2, 3).dilation(2).padding(Padding::Same), 8),
        ("causal d2", Conv1D::new(2, 2).dilation(2).padding(Padding::Causal), 7),
        (
            "no bias tanh",
            Conv1D {
                use_bias: false,
                activation: Activation::Tanh,
                ..Conv1D::new(3, 3).padding(Padding::Same)
            },
            7,
        ),
    ];
    for (i, (name, spec, steps)) in cases.into_iter().enumerate() {
        let input = Shape::sequence(steps, 2);
        let x = random_tensor(&mut rng(60 + i as u64), 2, input);
        check_layer(
            &format!("conv1d {name}"),
            &built(LayerSpec::Conv1D(spec), input),
            &x,
            Mode::Train,
        );
    }
}

#[test]
fn pooling1d_valid_same_and_global() {
    use cnn_lab::cnn::spec::{AveragePooling1D, MaxPooling1D};
    let cases: [(Padding, usize, Option<usize>, usize); 4] = [
        (Padding::Valid, 2, None, 8),
        (Padding::Valid, 3, Some(2), 7),
        (Padding::Same, 2, None, 7),
        (Padding::Same, 3, Some(2), 8),
    ];
    for (i, (padding, pool, strides, steps)) in cases.into_iter().enumerate() {
        let input = Shape::sequence(steps, 2);
        let x = distinct_values(70 + i as u64, 2, input);
        let mut max = MaxPooling1D::new(pool).padding(padding);
        let mut avg = AveragePooling1D::new(pool).padding(padding);
        if let Some(s) = strides {
            max = max.strides(s);
            avg = avg.strides(s);
        }
        let name = format!("{pool} {strides:?} {padding:?} n{steps}");
        check_layer(
            &format!("max pool 1d {name}"),
            &built(LayerSpec::MaxPooling1D(max), input),
            &x,
            Mode::Train,
        );
        check_layer(
            &format!("avg pool 1d {name}"),
            &built(LayerSpec::AveragePooling1D(avg), input),
            &x,
            Mode::Train,
        );
    }
    let input = Shape::sequence(6, 3);
    let x = distinct_values(75, 2, input);
    for spec in [
        LayerSpec::GlobalAveragePooling1D(spec::GlobalAveragePooling1D),
        LayerSpec::GlobalMaxPooling1D(spec::GlobalMaxPooling1D),
        LayerSpec::Flatten(spec::Flatten),
    ] {
        check_layer(spec.kind(), &built(spec.clone(), input), &x, Mode::Train);
    }
}

#[test]
fn embedding_weight_gradient() {
    use cnn_lab::cnn::spec::Embedding;
    let input = Shape::sequence(6, 1);
    let ids = vec![0.0, 3.0, 3.0, 4.0, 1.0, 0.0, 2.0, 2.0, 4.0, 4.0, 4.0, 1.0];
    let x = Tensor::from_vec(2, input, ids).unwrap();
    let make = built(LayerSpec::Embedding(Embedding::new(5, 3)), input);
    // The input gradient is zero (ids are not differentiable), and so are the differences: a
    // nudge of ε never changes the token an id reads.
    check_layer("embedding", &make, &x, Mode::Train);
}

#[test]
fn batch_normalization_dropout_activation_and_dense_on_sequences() {
    let input = Shape::sequence(5, 3);
    let x = random_tensor(&mut rng(80), 3, input);
    for mode in [Mode::Train, Mode::Infer] {
        check_layer(
            &format!("batchnorm sequence {mode:?}"),
            &built(LayerSpec::BatchNormalization(BatchNormalization::default()), input),
            &x,
            mode,
        );
    }
    check_layer(
        "dropout sequence",
        &built(LayerSpec::Dropout(spec::Dropout::new(0.3)), input),
        &x,
        Mode::Train,
    );
    for act in [Activation::Linear, Activation::Softmax] {
        let dense = Dense {
            activation: act,
            ..Dense::new(4)
        };
        check_layer(
            &format!("dense per step {act:?}"),
            &built(LayerSpec::Dense(dense), input),
            &x,
            Mode::Train,
        );
    }
    check_layer(
        "softmax over channels per step",
        &built(LayerSpec::Activation(Activation::Softmax), input),
        &x,
        Mode::Train,
    );
}

#[test]
fn whole_sequence_model_gradients_match_finite_differences() {
    use cnn_lab::cnn::spec::{AveragePooling1D, Conv1D};
    // Smooth everywhere (tanh, average pooling), so ε-steps never cross a kink.
    let input = Shape::sequence(12, 2);
    let specs = vec![
        LayerSpec::Conv1D(Conv1D {
            activation: Activation::Tanh,
            ..Conv1D::new(4, 3).padding(Padding::Causal)
        }),
        LayerSpec::AveragePooling1D(AveragePooling1D::new(2)),
        LayerSpec::Conv1D(Conv1D::new(3, 2).dilation(2).padding(Padding::Same)),
        LayerSpec::BatchNormalization(BatchNormalization::default()),
        LayerSpec::GlobalAveragePooling1D(spec::GlobalAveragePooling1D),
        LayerSpec::Dense(Dense::new(3)),
    ];
    let x = random_tensor(&mut rng(81), 4, input);
    let labels = [0u32, 2, 1, 2];
    let mut model = Model::build(input, &specs, Some(3), 5).unwrap();
    model.compute_gradients(&x, &labels);
    let analytic: Vec<Vec<f32>> = model.params().iter().map(|p| p.grad.clone()).collect();
    let loss_with = |j: usize, k: usize, delta: f32| {
        let mut m = Model::build(input, &specs, Some(3), 5).unwrap();
        m.params_mut()[j].value[k] += delta;
        let mut g = Tensor::default();
        let logits = m.logits(&x, Mode::Train).clone();
        softmax_cross_entropy(&logits, &labels, &mut g).loss as f64
    };
    let mut failures = Vec::new();
    for (j, grad) in analytic.iter().enumerate() {
        for (k, &g) in grad.iter().enumerate() {
            let numeric = (loss_with(j, k, EPS) - loss_with(j, k, -EPS)) / (2.0 * EPS as f64);
            if !close(g, numeric) {
                failures.push(format!("param {j}[{k}]: analytic {g} numeric {numeric}"));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
}
