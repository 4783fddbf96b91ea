//! Reference values from PyTorch for the 1-D layers of issue 15: Conv1D for every Keras padding
//! (valid, same, causal) × strides 1/2 × dilation 1/2 (strides 2 with dilation 2 is refused by
//! Keras, so it has no case), both 1-D poolings, Embedding, Dense applied at every step, and a
//! small sequence model after three optimizer steps, all within 1e-4 (max |a − b| / max |b| per
//! tensor).
//!
//! The fixtures are written by `scripts/make_fixtures_1d.py`; regenerate with
//! `python3 scripts/make_fixtures_1d.py` (it needs PyTorch).

mod support;

use cnn_lab::cnn::layers::*;
use cnn_lab::cnn::spec::{AveragePooling1D, Conv1D, Dense, Embedding, GlobalAveragePooling1D, MaxPooling1D, Pool1D};
use cnn_lab::cnn::{Activation, LayerSpec, Model, Optimizer, OptimizerKind, Padding, Shape, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use support::fixture::{Fixture, fixtures_of};

/// The runtime layer of `spec` on `input`, as a model builds it.
fn build(spec: &LayerSpec, input: Shape) -> Box<dyn Layer> {
    let mut rng = StdRng::seed_from_u64(0);
    let mut init = Init {
        rng: &mut rng,
        seed: 0,
        index: 0,
    };
    spec.config().build(input, &mut init).expect("valid layer")
}

fn count(fx: &Fixture, key: &str) -> usize {
    fx.config[key].as_u64().unwrap() as usize
}

/// Forward, then backward with the fixture's `dy`; checks y and dx.
fn run_layer(fx: &Fixture, layer: &mut dyn Layer) {
    let x = fx.tensor("x");
    let mut y = Tensor::default();
    layer.forward(&x, &mut y, Mode::Train);
    assert_eq!(y.shape(), fx.tensor("y").shape(), "{}: output shape", fx.name);
    fx.assert_close("output", y.data(), "y");
    let mut dy = fx.tensor("dy");
    let mut dx = Tensor::default();
    layer.backward(&x, &y, &mut dy, Some(&mut dx));
    fx.assert_close("input gradient", dx.data(), "dx");
}

#[test]
fn conv1d_matches_pytorch_for_every_padding_stride_and_dilation_keras_allows() {
    let names = fixtures_of("conv1d_");
    // 3 paddings × (s1 d1, s1 d2, s2 d1), plus an odd length and an even kernel.
    assert_eq!(names.len(), 11, "{names:?}");
    for name in names {
        let fx = Fixture::load(&name);
        let x = fx.tensor("x");
        let spec = Conv1D {
            strides: count(&fx, "strides"),
            dilation_rate: count(&fx, "dilation_rate"),
            padding: fx.padding(),
            ..Conv1D::new(count(&fx, "filters"), count(&fx, "kernel_size"))
        };
        let mut layer = build(&LayerSpec::Conv1D(spec), x.shape());
        {
            let mut params = layer.params_mut();
            assert_eq!(
                params[0].dims,
                fx.dims("w"),
                "{name}: kernel is (filters, channels, kernel_size)"
            );
            params[0].value.copy_from_slice(fx.data("w"));
            params[1].value.copy_from_slice(fx.data("b"));
        }
        run_layer(&fx, layer.as_mut());
        let params = layer.params();
        fx.assert_close("kernel gradient", &params[0].grad, "dw");
        fx.assert_close("bias gradient", &params[1].grad, "db");
    }
}

#[test]
fn pooling1d_matches_pytorch_with_tensorflow_padding() {
    let names: Vec<String> = fixtures_of("max_pooling1d_")
        .into_iter()
        .chain(fixtures_of("average_pooling1d_"))
        .collect();
    assert_eq!(names.len(), 10, "{names:?}");
    for name in names {
        let fx = Fixture::load(&name);
        let (pool, strides, padding) = (count(&fx, "pool_size"), count(&fx, "strides"), fx.padding());
        let spec = if name.starts_with("max") {
            LayerSpec::MaxPooling1D(MaxPooling1D::new(pool).strides(strides).padding(padding))
        } else {
            LayerSpec::AveragePooling1D(AveragePooling1D::new(pool).strides(strides).padding(padding))
        };
        let mut layer = build(&spec, fx.tensor("x").shape());
        run_layer(&fx, layer.as_mut());
    }
}

#[test]
fn embedding_matches_pytorch() {
    let fx = Fixture::load("embedding_1d");
    let ids = fx.tensor("ids");
    let spec = Embedding::new(count(&fx, "input_dim"), count(&fx, "output_dim"));
    let mut layer = build(&LayerSpec::Embedding(spec), ids.shape());
    layer.params_mut()[0].value.copy_from_slice(fx.data("w"));
    let mut y = Tensor::default();
    layer.forward(&ids, &mut y, Mode::Train);
    assert_eq!(
        y.shape(),
        Shape::sequence(ids.shape().spatial().1, count(&fx, "output_dim"))
    );
    fx.assert_close("output", y.data(), "y");
    let mut dy = fx.tensor("dy");
    let mut dx = Tensor::default();
    layer.backward(&ids, &y, &mut dy, Some(&mut dx));
    fx.assert_close("embeddings gradient", &layer.params()[0].grad, "dw");
    assert!(dx.data().iter().all(|&v| v == 0.0), "token ids get no gradient");
}

#[test]
fn dense_on_a_sequence_matches_pytorch_applied_at_every_step() {
    let fx = Fixture::load("dense_1d");
    let x = fx.tensor("x");
    let mut layer = build(&LayerSpec::Dense(Dense::new(count(&fx, "units"))), x.shape());
    {
        let mut params = layer.params_mut();
        params[0].value.copy_from_slice(fx.data("w"));
        params[1].value.copy_from_slice(fx.data("b"));
    }
    run_layer(&fx, layer.as_mut());
    let params = layer.params();
    fx.assert_close("kernel gradient", &params[0].grad, "dw");
    fx.assert_close("bias gradient", &params[1].grad, "db");
}

const KEYS: [&str; 6] = ["conv1_w", "conv1_b", "conv2_w", "conv2_b", "dense_w", "dense_b"];

fn fixture_model(fx: &Fixture) -> Model {
    let arch = fx.config["architecture"].as_array().unwrap();
    let kinds: Vec<&str> = arch.iter().map(|l| l["layer"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "input",
            "conv1d",
            "max_pooling1d",
            "conv1d",
            "global_average_pooling1d",
            "dense"
        ],
        "architecture changed"
    );
    let specs = vec![
        LayerSpec::Conv1D(Conv1D::new(4, 3).padding(Padding::Same).relu()),
        LayerSpec::MaxPooling1D(Pool1D::new(2)),
        LayerSpec::Conv1D(Conv1D::new(6, 3).padding(Padding::Causal).dilation(2).relu()),
        LayerSpec::GlobalAveragePooling1D(GlobalAveragePooling1D),
        LayerSpec::Dense(Dense {
            activation: Activation::Softmax,
            ..Dense::new(5)
        }),
    ];
    let mut model = Model::build(Shape::sequence(16, 3), &specs, Some(5), 0).unwrap();
    model.set_weights(&KEYS.map(|k| fx.data(k).to_vec())).unwrap();
    model
}

#[test]
fn a_small_sequence_model_matches_pytorch_after_three_sgd_and_adam_steps() {
    for name in ["model_1d_sgd_momentum", "model_1d_adam"] {
        let fx = Fixture::load(name);
        let mut model = fixture_model(&fx);
        let x = fx.tensor("x");
        let labels: Vec<u32> = fx.data("labels").iter().map(|&v| v as u32).collect();
        let opt = &fx.config["optimizer"];
        let lr = opt["learning_rate"].as_f64().unwrap() as f32;
        let kind = match opt["name"].as_str().unwrap() {
            "sgd" => OptimizerKind::SGD {
                momentum: opt["momentum"].as_f64().unwrap() as f32,
                nesterov: opt["nesterov"].as_bool().unwrap(),
            },
            "adam" => OptimizerKind::Adam {
                beta_1: opt["beta_1"].as_f64().unwrap() as f32,
                beta_2: opt["beta_2"].as_f64().unwrap() as f32,
                epsilon: opt["epsilon"].as_f64().unwrap() as f32,
            },
            other => panic!("unknown optimizer {other}"),
        };
        fx.assert_close("initial logits", model.logits(&x, Mode::Train).data(), "logits");
        model.compute_gradients(&x, &labels);
        let grads: Vec<Vec<f32>> = model.params().iter().map(|p| p.grad.clone()).collect();
        for (g, key) in grads.iter().zip(KEYS) {
            fx.assert_close("initial gradient", g, &format!("{key}_grad"));
        }
        let mut optimizer = Optimizer::new(kind, 0.0);
        let mut losses: Vec<f32> = (0..3)
            .map(|_| model.train_step(&x, &labels, &mut optimizer, lr).loss)
            .collect();
        losses.push(model.evaluate(&x, &labels).loss);
        fx.assert_close("losses", &losses, "losses");
        for (w, key) in model.weights().iter().zip(KEYS) {
            fx.assert_close("weights after 3 steps", w, &format!("{key}_final"));
        }
    }
}
