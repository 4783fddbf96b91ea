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

fn padding_1d() -> impl Strategy<Value = Padding> {
    prop_oneof![
        Just(Padding::Valid),
        Just(Padding::Same),
        Just(Padding::Causal),
        (0usize..3).prop_map(Padding::Explicit)
    ]
}

/// Layers for sequences: the 1-D kinds, the kinds sequences share with images, and a few 2-D
/// kinds that must be refused.
fn layer_1d(max: usize) -> impl Strategy<Value = LayerSpec> {
    use cnn_lab::cnn::spec::{
        AveragePooling1D, Conv1D, Embedding, GlobalAveragePooling1D, GlobalMaxPooling1D, MaxPooling1D,
    };
    prop_oneof![
        (
            0..max,
            0..max,
            0usize..4,
            0..max.min(1 << 20),
            padding_1d(),
            activation()
        )
            .prop_map(|(f, k, s, d, padding, activation)| {
                LayerSpec::Conv1D(Conv1D {
                    strides: s,
                    dilation_rate: d,
                    padding,
                    activation,
                    ..Conv1D::new(f, k)
                })
            }),
        (0usize..5, 0usize..4, padding_1d()).prop_map(|(p, s, padding)| {
            let pool = MaxPooling1D::new(p).padding(padding);
            LayerSpec::MaxPooling1D(if s > 0 { pool.strides(s) } else { pool })
        }),
        (1usize..4, padding_1d())
            .prop_map(|(p, padding)| LayerSpec::AveragePooling1D(AveragePooling1D::new(p).padding(padding))),
        Just(LayerSpec::GlobalAveragePooling1D(GlobalAveragePooling1D)),
        Just(LayerSpec::GlobalMaxPooling1D(GlobalMaxPooling1D)),
        (0..max, 0..max).prop_map(|(i, o)| LayerSpec::Embedding(Embedding::new(i, o))),
        Just(LayerSpec::Flatten(Flatten)),
        (0..max, activation()).prop_map(|(u, activation)| LayerSpec::Dense(Dense {
            activation,
            ..Dense::new(u)
        })),
        Just(LayerSpec::BatchNormalization(BatchNormalization::default())),
        (0.0f32..0.9).prop_map(|rate| LayerSpec::Dropout(Dropout::new(rate))),
        activation().prop_map(LayerSpec::Activation),
        Just(LayerSpec::Conv2D(Conv2D::new(2, 3))),
        Just(LayerSpec::GlobalAveragePooling2D(GlobalAveragePooling2D)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, max_global_rejects: 200_000, ..ProptestConfig::default() })]

    #[test]
    fn sequence_inference_never_panics_even_on_absurd_sizes(
        steps in 0usize..1_000_000, c in 0usize..5000,
        layers in proptest::collection::vec(layer_1d(1 << 40), 0..8),
        classes in proptest::option::of(1usize..20),
    ) {
        let analysis = analyze(Shape::sequence(steps, c), &layers, classes);
        if let Some(err) = analysis.error {
            prop_assert!(!err.to_string().is_empty());
        }
    }

    #[test]
    fn accepted_sequence_models_produce_the_predicted_shapes(
        steps in 1usize..20, c in 1usize..4,
        layers in proptest::collection::vec(layer_1d(6), 0..6),
        seed in 0u64..1000,
    ) {
        let input = Shape::sequence(steps, c);
        let analysis = analyze(input, &layers, None);
        prop_assume!(analysis.error.is_none());
        let mut model = Model::build(input, &layers, None, seed).unwrap();
        // Whole numbers, so an Embedding first reads them as token ids.
        let x = Tensor::from_vec(2, input, (0..2 * input.len()).map(|i| (i % 5) as f32).collect()).unwrap();
        model.forward(&x, Mode::Train);
        for (info, act) in analysis.summary.layers.iter().zip(&model.activations()[1..]) {
            prop_assert_eq!(info.output, act.shape());
            prop_assert_eq!(act.batch(), 2);
        }
    }
}
