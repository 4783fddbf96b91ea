//! Reference values from PyTorch: every layer's output and gradients, the loss, and a small
//! model after three optimizer steps, compared with relative error ≤ 1e-4 (max |a − b| / max |b|
//! per tensor).
//!
//! The fixtures in `tests/fixtures/` are written by `scripts/make_fixtures.py` (PyTorch, float64,
//! TensorFlow's `same` padding rule); regenerate with `python3 scripts/make_fixtures.py`.

mod support;

use cnn_lab::cnn::layers::*;
use cnn_lab::cnn::spec::{BatchNormalization, Conv2D, Dense, Flatten, Pool2D};
use cnn_lab::cnn::{Activation, LayerSpec, Model, Optimizer, OptimizerKind, Shape, Tensor, softmax_cross_entropy};
use rand::SeedableRng;
use rand::rngs::StdRng;
use support::fixture::{Fixture, fixtures_of};

/// Forward, then backward with the fixture's `dy`; checks y and dx, returns the layer.
fn run_layer(fx: &Fixture, layer: &mut dyn Layer, mode: Mode) {
    let x = fx.tensor("x");
    let mut y = Tensor::default();
    layer.forward(&x, &mut y, mode);
    fx.assert_close("output", y.data(), "y");
    let mut dy = fx.tensor("dy");
    let mut dx = Tensor::default();
    layer.backward(&x, &y, &mut dy, Some(&mut dx));
    fx.assert_close("input gradient", dx.data(), "dx");
}

#[test]
fn conv2d_matches_pytorch_for_every_padding_stride_size_and_channel_count() {
    let names = fixtures_of("conv2d_");
    assert_eq!(names.len(), 18, "16 combinations plus two special cases: {names:?}");
    for name in names {
        let fx = Fixture::load(&name);
        let x = fx.tensor("x");
        let spec = Conv2D {
            kernel_size: fx.pair("kernel_size"),
            strides: fx.pair("strides"),
            padding: fx.padding(),
            ..Conv2D::new(fx.config["filters"].as_u64().unwrap() as usize, 1)
        };
        let mut layer = Conv2DLayer::new(&spec, x.shape(), &mut StdRng::seed_from_u64(0)).unwrap();
        {
            let mut params = layer.params_mut();
            params[0].value.copy_from_slice(fx.data("w"));
            params[1].value.copy_from_slice(fx.data("b"));
        }
        run_layer(&fx, &mut layer, Mode::Train);
        let params = layer.params();
        fx.assert_close("kernel gradient", &params[0].grad, "dw");
        fx.assert_close("bias gradient", &params[1].grad, "db");
    }
}

#[test]
fn max_and_average_pooling_match_pytorch_with_tensorflow_padding() {
    let names: Vec<String> = fixtures_of("max_pooling2d_")
        .into_iter()
        .chain(fixtures_of("average_pooling2d_"))
        .collect();
    assert_eq!(names.len(), 8);
    for name in names {
        let fx = Fixture::load(&name);
        let (pool_size, strides, padding) = (fx.pair("pool_size"), Some(fx.pair("strides")), fx.padding());
        let shape = fx.tensor("x").shape();
        let mut layer: Box<dyn Layer> = if name.starts_with("max") {
            Box::new(MaxPool::new(&Pool2D::with(pool_size, strides, padding), shape).unwrap())
        } else {
            Box::new(AvgPool::new(&Pool2D::with(pool_size, strides, padding), shape).unwrap())
        };
        run_layer(&fx, layer.as_mut(), Mode::Train);
    }
}

#[test]
fn dense_matches_pytorch() {
    let fx = Fixture::load("dense");
    let x = fx.tensor("x");
    let mut layer = DenseLayer::new(&Dense::new(5), x.shape(), &mut StdRng::seed_from_u64(0)).unwrap();
    {
        let mut params = layer.params_mut();
        params[0].value.copy_from_slice(fx.data("w"));
        params[1].value.copy_from_slice(fx.data("b"));
    }
    run_layer(&fx, &mut layer, Mode::Train);
    fx.assert_close("kernel gradient", &layer.params()[0].grad, "dw");
    fx.assert_close("bias gradient", &layer.params()[1].grad, "db");
}

#[test]
fn batch_normalization_matches_keras_rules_in_training_and_inference() {
    for name in ["batch_normalization_4d", "batch_normalization_2d"] {
        let fx = Fixture::load(name);
        let spec = BatchNormalization {
            momentum: fx.config["momentum"].as_f64().unwrap() as f32,
            epsilon: fx.config["epsilon"].as_f64().unwrap() as f32,
            trainable: true,
        };
        let make = || {
            let mut bn = BatchNorm::new(&spec, fx.tensor("x").shape());
            for (p, key) in bn
                .params_mut()
                .into_iter()
                .zip(["gamma", "beta", "moving_mean", "moving_variance"])
            {
                p.value.copy_from_slice(fx.data(key));
            }
            bn
        };
        let mut bn = make();
        run_layer(&fx, &mut bn, Mode::Train);
        let params = bn.params();
        fx.assert_close("gamma gradient", &params[0].grad, "dgamma");
        fx.assert_close("beta gradient", &params[1].grad, "dbeta");
        fx.assert_close("moving mean", &params[2].value, "moving_mean_after");
        fx.assert_close("moving variance", &params[3].value, "moving_variance_after");
        let mut y = Tensor::default();
        make().forward(&fx.tensor("x"), &mut y, Mode::Infer);
        fx.assert_close("inference output", y.data(), "y_inference");
    }
}

#[test]
fn activations_and_global_average_pooling_match_pytorch() {
    for name in fixtures_of("activation_") {
        let fx = Fixture::load(&name);
        let act = match fx.config["activation"].as_str().unwrap() {
            "relu" => Activation::Relu,
            "leaky_relu" => Activation::LeakyRelu(fx.config["negative_slope"].as_f64().unwrap() as f32),
            "sigmoid" => Activation::Sigmoid,
            "tanh" => Activation::Tanh,
            "softmax" => Activation::Softmax,
            other => panic!("unknown activation {other}"),
        };
        run_layer(&fx, &mut ActivationLayer::new(act), Mode::Train);
    }
    let fx = Fixture::load("global_average_pooling2d");
    run_layer(
        &fx,
        &mut GlobalAvgPool::new(fx.tensor("x").shape()).unwrap(),
        Mode::Train,
    );
}

#[test]
fn global_max_pooling_matches_pytorch() {
    use cnn_lab::cnn::layers::global_max_pooling2d::GlobalMaxPool;
    let fx = Fixture::load("global_max_pooling2d");
    run_layer(
        &fx,
        &mut GlobalMaxPool::new(fx.tensor("x").shape()).unwrap(),
        Mode::Train,
    );
}

#[test]
fn softmax_cross_entropy_matches_pytorch_including_huge_logits() {
    let fx = Fixture::load("softmax_cross_entropy");
    let logits = fx.tensor("logits");
    let labels: Vec<u32> = fx.data("labels").iter().map(|&v| v as u32).collect();
    let mut grad = Tensor::default();
    let stats = softmax_cross_entropy(&logits, &labels, &mut grad);
    fx.assert_close("loss", &[stats.loss], "loss");
    fx.assert_close("accuracy", &[stats.accuracy()], "accuracy");
    fx.assert_close("logit gradient", grad.data(), "dlogits");
}

fn fixture_model(fx: &Fixture) -> Model {
    let arch = fx.config["architecture"].as_array().unwrap();
    let kinds: Vec<&str> = arch.iter().map(|l| l["layer"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["input", "conv2d", "max_pooling2d", "conv2d", "flatten", "dense"],
        "architecture changed"
    );
    let specs = vec![
        LayerSpec::Conv2D(Conv2D::new(4, 3).same().relu()),
        LayerSpec::MaxPooling2D(Pool2D::new(2)),
        LayerSpec::Conv2D(Conv2D::new(6, 3).relu()),
        LayerSpec::Flatten(Flatten),
        LayerSpec::Dense(Dense::new(5)),
    ];
    let mut model = Model::build(Shape::image(8, 8, 3), &specs, Some(5), 0).unwrap();
    let keys = ["conv1_w", "conv1_b", "conv2_w", "conv2_b", "dense_w", "dense_b"];
    model.set_weights(&keys.map(|k| fx.data(k).to_vec())).unwrap();
    model
}

#[test]
fn a_small_model_matches_pytorch_after_three_sgd_nesterov_and_adam_steps() {
    for name in ["model_sgd_momentum", "model_sgd_nesterov", "model_adam"] {
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
        for (g, key) in grads
            .iter()
            .zip(["conv1_w", "conv1_b", "conv2_w", "conv2_b", "dense_w", "dense_b"])
        {
            fx.assert_close("initial gradient", g, &format!("{key}_grad"));
        }
        let mut optimizer = Optimizer::new(kind, 0.0);
        let mut losses: Vec<f32> = (0..3)
            .map(|_| model.train_step(&x, &labels, &mut optimizer, lr).loss)
            .collect();
        losses.push(model.evaluate(&x, &labels).loss);
        fx.assert_close("losses", &losses, "losses");
        let weights = model.weights();
        for (w, key) in weights
            .iter()
            .zip(["conv1_w", "conv1_b", "conv2_w", "conv2_b", "dense_w", "dense_b"])
        {
            fx.assert_close("weights after 3 steps", w, &format!("{key}_final"));
        }
    }
}
