//! Property tests: shape inference never panics on any layer list, and whenever it accepts one,
//! the built model's forward pass produces exactly the shapes it predicted.

use cnn_lab::cnn::spec::{BatchNormalization, Conv2D, Dense, Dropout, Flatten, GlobalAveragePooling2D, Pool2D};
use cnn_lab::cnn::{Activation, LayerSpec, Mode, Model, Padding, Shape, Tensor, analyze};
use proptest::prelude::*;

fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![
        Just(Padding::Valid),
        Just(Padding::Same),
        (0usize..3).prop_map(Padding::Explicit)
    ]
}

fn activation() -> impl Strategy<Value = Activation> {
    prop_oneof![
        Just(Activation::Linear),
        Just(Activation::Relu),
        Just(Activation::Tanh),
        Just(Activation::Softmax)
    ]
}

fn layer(max: usize) -> impl Strategy<Value = LayerSpec> {
    prop_oneof![
        (0..max, 0..max, 0..max, 0usize..4, padding(), activation()).prop_map(|(f, kh, kw, s, padding, activation)| {
            LayerSpec::Conv2D(Conv2D {
                kernel_size: (kh, kw),
                strides: (s, s),
                padding,
                activation,
                ..Conv2D::new(f, 1)
            })
        }),
        (0usize..4, 0usize..4, padding()).prop_map(|(p, s, padding)| LayerSpec::MaxPooling2D(Pool2D::with(
            (p, p),
            (s > 0).then_some((s, s)),
            padding
        ))),
        (1usize..4, padding()).prop_map(|(p, padding)| LayerSpec::AveragePooling2D(Pool2D::new(p).padding(padding))),
        Just(LayerSpec::GlobalAveragePooling2D(GlobalAveragePooling2D)),
        Just(LayerSpec::Flatten(Flatten)),
        (0..max, activation()).prop_map(|(u, activation)| LayerSpec::Dense(Dense {
            activation,
            ..Dense::new(u)
        })),
        (-0.5f32..1.5).prop_map(|rate| LayerSpec::Dropout(Dropout::new(rate))),
        Just(LayerSpec::BatchNormalization(BatchNormalization::default())),
        activation().prop_map(LayerSpec::Activation),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, max_global_rejects: 200_000, ..ProptestConfig::default() })]

    #[test]
    fn inference_never_panics_even_on_absurd_sizes(
        h in 0usize..100_000, w in 0usize..100_000, c in 0usize..5000,
        layers in proptest::collection::vec(layer(1 << 40), 0..8),
        classes in proptest::option::of(1usize..20),
    ) {
        let analysis = analyze(Shape::image(h, w, c), &layers, classes);
        if let Some(err) = analysis.error {
            prop_assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn accepted_models_produce_the_predicted_shapes(
        h in 1usize..12, w in 1usize..12, c in 1usize..4,
        layers in proptest::collection::vec(layer(6), 0..6),
        seed in 0u64..1000,
    ) {
        let input = Shape::image(h, w, c);
        let analysis = analyze(input, &layers, None);
        prop_assume!(analysis.error.is_none());
        let mut model = Model::build(input, &layers, None, seed).unwrap();
        let x = Tensor::from_vec(2, input, (0..2 * input.len()).map(|i| (i % 7) as f32 - 3.0).collect()).unwrap();
        model.forward(&x, Mode::Train);
        for (info, act) in analysis.summary.layers.iter().zip(&model.activations()[1..]) {
            prop_assert_eq!(info.output, act.shape());
            prop_assert_eq!(act.batch(), 2);
        }
    }
}
