//! Shape inference on sequences (issue 15): the course's arithmetic for Conv1D and the 1-D
//! poolings, receptive fields in steps, and the errors and one-click fixes of a layer fed the
//! wrong kind of input (a 2-D layer fed a sequence, a 1-D layer fed an image, Embedding not
//! first, Dense on a sequence).

use cnn_lab::cnn::spec::{
    AveragePooling1D, Conv1D, Conv2D, Dense, Embedding, Flatten, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalMaxPooling1D, MaxPooling1D, Pool2D,
};
use cnn_lab::cnn::{ArchError, LayerSpec, Padding, QuickFix, Shape, analyze, infer};
use cnn_lab::data::SyntheticSpec;
use cnn_lab::experiment::{DatasetSource, Edit, Experiment, Input, Training};

fn signal_model() -> Vec<LayerSpec> {
    vec![
        LayerSpec::Conv1D(Conv1D::new(16, 5).relu()),
        LayerSpec::MaxPooling1D(MaxPooling1D::new(2)),
        LayerSpec::Conv1D(Conv1D::new(32, 3).padding(Padding::Same).dilation(2).relu()),
        LayerSpec::GlobalAveragePooling1D(GlobalAveragePooling1D),
        LayerSpec::Dense(Dense::new(4)),
    ]
}

#[test]
fn a_signal_model_table_shapes_parameters_macs_and_receptive_fields_in_steps() {
    let s = infer(Shape::sequence(128, 1), &signal_model(), Some(4)).unwrap();
    let shapes: Vec<String> = s.layers.iter().map(|l| l.output.hwc()).collect();
    assert_eq!(shapes, ["124×16", "62×16", "62×32", "32", "4"]);
    let formulas: Vec<&str> = s.layers.iter().map(|l| l.params_formula.as_str()).collect();
    assert_eq!(
        formulas,
        [
            "(5·1 + 1)·16 = 96",
            "0",
            "(3·16 + 1)·32 = 1,568",
            "0",
            "(32 + 1)·4 = 132"
        ]
    );
    assert_eq!(s.total_params(), 96 + 1568 + 132);
    assert_eq!(s.layers[0].macs, 124 * 5 * 16);
    assert_eq!(s.layers[2].macs, 62 * 3 * 16 * 32);
    // In steps: 5; the pool adds 1 and doubles the jump; the dilated kernel spans 5 steps of
    // the pooled sequence, (5 − 1)·2 = 8 more input steps.
    let rf: Vec<usize> = s.layers[..3].iter().map(|l| l.receptive_field.1).collect();
    assert_eq!(rf, [5, 6, 14]);
    assert_eq!(s.layers[2].jump, (1, 2));
    assert!(s.layers.iter().all(|l| l.receptive_field.0 == 1));
}

#[test]
fn output_lengths_follow_keras_for_valid_same_and_causal() {
    let length = |conv: Conv1D, steps: usize| {
        infer(Shape::sequence(steps, 2), &[LayerSpec::Conv1D(conv)], None).map(|s| s.output())
    };
    assert_eq!(length(Conv1D::new(4, 3), 10), Ok(Shape::sequence(8, 4)));
    assert_eq!(length(Conv1D::new(4, 3).strides(2), 10), Ok(Shape::sequence(4, 4)));
    assert_eq!(
        length(Conv1D::new(4, 3).padding(Padding::Same).strides(2), 9),
        Ok(Shape::sequence(5, 4))
    );
    assert_eq!(
        length(Conv1D::new(4, 4).padding(Padding::Causal), 9),
        Ok(Shape::sequence(9, 4))
    );
    assert_eq!(length(Conv1D::new(4, 3).dilation(3), 10), Ok(Shape::sequence(4, 4)));
    let pooled = |layer: LayerSpec, steps: usize| infer(Shape::sequence(steps, 3), &[layer], None).map(|s| s.output());
    assert_eq!(
        pooled(LayerSpec::MaxPooling1D(MaxPooling1D::new(2)), 7),
        Ok(Shape::sequence(3, 3))
    );
    assert_eq!(
        pooled(
            LayerSpec::AveragePooling1D(AveragePooling1D::new(2).padding(Padding::Same)),
            7
        ),
        Ok(Shape::sequence(4, 3))
    );
    assert_eq!(
        pooled(LayerSpec::AveragePooling1D(AveragePooling1D::new(3).strides(1)), 7),
        Ok(Shape::sequence(5, 3))
    );
    assert_eq!(
        pooled(LayerSpec::GlobalMaxPooling1D(GlobalMaxPooling1D), 7),
        Ok(Shape::flat(3))
    );
    assert_eq!(pooled(LayerSpec::Flatten(Flatten), 7), Ok(Shape::flat(21)));
}

fn layer_error(err: ArchError) -> (usize, String, Vec<QuickFix>) {
    let text = err.to_string();
    match err {
        ArchError::Layer { index, quick_fixes, .. } => (index, text, quick_fixes),
        other => panic!("expected a layer error, got {other:?}"),
    }
}

fn experiment(input: Input, layers: Vec<LayerSpec>) -> Experiment {
    Experiment::new(
        "sequence",
        1,
        input,
        DatasetSource::Synthetic(SyntheticSpec::default()),
        layers,
        Training::default(),
    )
}

/// Applies the first fix of the first error, as the editor's button does.
fn apply_first_fix(e: &mut Experiment) -> QuickFix {
    let err = analyze(e.input.shape(), &e.layers, None).error.expect("an error");
    let fix = err.quick_fix().expect("a fix").clone();
    Edit::ApplyFix(fix.clone()).apply(e).unwrap();
    fix
}

#[test]
fn conv2d_and_poolings_fed_a_sequence_offer_their_1d_twin_with_the_same_settings() {
    let mut e = experiment(
        Input::sequence(64, 3),
        vec![
            LayerSpec::Conv2D(Conv2D::new(8, 5).same().relu()),
            LayerSpec::MaxPooling2D(Pool2D::new(2)),
            LayerSpec::AveragePooling2D(Pool2D::new(3).strides(2)),
            LayerSpec::GlobalAveragePooling2D(GlobalAveragePooling2D),
            LayerSpec::Dense(Dense::new(4)),
        ],
    );
    let (index, text, fixes) = layer_error(infer(e.input.shape(), &e.layers, None).unwrap_err());
    assert_eq!(index, 0);
    assert!(
        text.contains("Conv2D works on images") && text.contains("sequence 64×3"),
        "{text}"
    );
    assert!(text.contains("use Conv1D"), "{text}");
    assert_eq!(
        fixes,
        [QuickFix::UseKind {
            index: 0,
            kind: "Conv1D"
        }]
    );
    assert_eq!(fixes[0].label(), "use Conv1D instead");
    for expected in ["Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalAveragePooling1D"] {
        let fix = apply_first_fix(&mut e);
        assert!(
            matches!(fix, QuickFix::UseKind { kind, .. } if kind == expected),
            "{fix:?}"
        );
    }
    assert_eq!(
        e.layers[0],
        LayerSpec::Conv1D(Conv1D::new(8, 5).padding(Padding::Same).relu())
    );
    assert_eq!(
        e.layers[2],
        LayerSpec::AveragePooling1D(AveragePooling1D::new(3).strides(2))
    );
    let s = infer(e.input.shape(), &e.layers, Some(4)).unwrap();
    assert_eq!(s.layers[0].params_formula, "(5·3 + 1)·8 = 128");
    assert_eq!(s.output(), Shape::flat(4));
}

#[test]
fn conv1d_and_1d_poolings_fed_an_image_offer_their_2d_twin() {
    let mut e = experiment(
        Input::image(28, 28, 1),
        vec![
            LayerSpec::Conv1D(Conv1D::new(8, 3).padding(Padding::Causal)),
            LayerSpec::MaxPooling1D(MaxPooling1D::new(2)),
            LayerSpec::GlobalMaxPooling1D(GlobalMaxPooling1D),
            LayerSpec::Dense(Dense::new(10)),
        ],
    );
    let (index, text, fixes) = layer_error(infer(e.input.shape(), &e.layers, None).unwrap_err());
    assert_eq!(index, 0);
    assert!(
        text.contains("Conv1D slides its filters along the steps") && text.contains("image 28×28×1"),
        "{text}"
    );
    assert_eq!(
        fixes,
        [QuickFix::UseKind {
            index: 0,
            kind: "Conv2D"
        }]
    );
    for _ in 0..3 {
        apply_first_fix(&mut e);
    }
    // Images have no past: causal becomes same.
    assert_eq!(e.layers[0], LayerSpec::Conv2D(Conv2D::new(8, 3).same()));
    assert_eq!(e.layers[1], LayerSpec::MaxPooling2D(Pool2D::new(2)));
    assert!(infer(e.input.shape(), &e.layers, Some(10)).is_ok());
}

#[test]
fn causal_padding_is_for_conv1d_only() {
    let layers = [LayerSpec::Conv2D(Conv2D::new(4, 3).padding(Padding::Causal))];
    let (_, text, fixes) = layer_error(infer(Shape::image(8, 8, 1), &layers, None).unwrap_err());
    assert!(text.contains("'causal'") && text.contains("Conv1D"), "{text}");
    assert_eq!(fixes, [QuickFix::UsePaddingSame { index: 0 }]);
    let layers = [LayerSpec::MaxPooling1D(MaxPooling1D::new(2).padding(Padding::Causal))];
    let (_, text, _) = layer_error(infer(Shape::sequence(8, 1), &layers, None).unwrap_err());
    assert!(text.contains("'causal' exists only for Conv1D"), "{text}");
}

#[test]
fn conv1d_refuses_what_keras_refuses_and_says_why() {
    let at = |conv: Conv1D, steps: usize| {
        layer_error(infer(Shape::sequence(steps, 2), &[LayerSpec::Conv1D(conv)], None).unwrap_err())
    };
    let (_, text, fixes) = at(Conv1D::new(4, 3).strides(2).dilation(2), 16);
    assert!(text.contains("strides 2 with dilation_rate 2"), "{text}");
    assert!(fixes.is_empty());
    let (_, text, fixes) = at(Conv1D::new(4, 3).dilation(3), 6);
    assert!(
        text.contains("6 steps") && text.contains("spans 7 (3 taps 3 steps apart)"),
        "{text}"
    );
    assert_eq!(fixes, [QuickFix::UsePaddingSame { index: 0 }]);
    let (_, text, _) = at(Conv1D::new(0, 3), 6);
    assert!(text.contains("filters is 0"), "{text}");
    let (_, text, _) = at(Conv1D::new(4, 0), 6);
    assert!(text.contains("kernel_size 0"), "{text}");
    let (_, text, fixes) = layer_error(
        infer(
            Shape::sequence(5, 2),
            &[LayerSpec::MaxPooling1D(MaxPooling1D::new(8))],
            None,
        )
        .unwrap_err(),
    );
    assert!(text.contains("5 steps but pool_size is 8"), "{text}");
    assert_eq!(fixes, [QuickFix::UsePaddingSame { index: 0 }]);
}

#[test]
fn dense_applies_to_every_step_and_a_sequence_output_offers_a_classifier() {
    // Keras applies Dense to the last axis: the same (6 + 1)·3 weights on each of 18 steps.
    let mut e = experiment(
        Input::sequence(20, 4),
        vec![LayerSpec::Conv1D(Conv1D::new(6, 3)), LayerSpec::Dense(Dense::new(3))],
    );
    let s = infer(e.input.shape(), &e.layers, None).unwrap();
    assert_eq!(s.layers[1].output, Shape::sequence(18, 3));
    assert_eq!(s.layers[1].params_formula, "(6 + 1)·3 = 21");
    assert_eq!(s.layers[1].macs, 18 * 6 * 3);
    let err = analyze(e.input.shape(), &e.layers, Some(3)).error.unwrap();
    assert!(err.to_string().contains("18×3 feature maps"), "{err}");
    assert_eq!(err.quick_fix(), Some(&QuickFix::AppendClassifier { units: 3 }));
    Edit::ApplyFix(err.quick_fix().unwrap().clone()).apply(&mut e).unwrap();
    assert_eq!(
        e.layers[2..],
        [LayerSpec::Flatten(Flatten), LayerSpec::Dense(Dense::new(3))]
    );
    let s = infer(e.input.shape(), &e.layers, Some(3)).unwrap();
    assert_eq!(s.layers[3].params_formula, "(54 + 1)·3 = 165");
}

#[test]
fn embedding_reads_token_ids_and_must_come_first() {
    let text_model = vec![
        LayerSpec::Embedding(Embedding::new(100, 8)),
        LayerSpec::Conv1D(Conv1D::new(16, 3).relu()),
        LayerSpec::GlobalMaxPooling1D(GlobalMaxPooling1D),
        LayerSpec::Dense(Dense::new(2)),
    ];
    let s = infer(Shape::sequence(50, 1), &text_model, Some(2)).unwrap();
    assert_eq!(s.layers[0].output.hwc(), "50×8");
    assert_eq!(s.layers[0].params_formula, "100·8 = 800");
    assert_eq!(s.layers[0].receptive_field, (1, 1));
    assert_eq!(s.layers[1].params_formula, "(3·8 + 1)·16 = 400");

    let (_, text, _) = layer_error(infer(Shape::sequence(50, 2), &text_model, None).unwrap_err());
    assert!(
        text.contains("one token id per step") && text.contains("50×2"),
        "{text}"
    );
    let (_, text, _) = layer_error(infer(Shape::image(8, 8, 1), &text_model, None).unwrap_err());
    assert!(text.contains("one token id per step"), "{text}");

    let mut late = text_model.clone();
    late.swap(0, 1);
    let (index, text, _) = layer_error(infer(Shape::sequence(50, 1), &late, None).unwrap_err());
    assert_eq!(index, 1);
    assert!(
        text.contains("must be the first layer") && text.contains("layer 1"),
        "{text}"
    );
}

#[test]
fn every_new_kind_is_in_the_palette_with_defaults_valid_on_a_sequence() {
    for kind in [
        "Conv1D",
        "MaxPooling1D",
        "AveragePooling1D",
        "GlobalAveragePooling1D",
        "GlobalMaxPooling1D",
        "Embedding",
    ] {
        let layer = LayerSpec::palette().into_iter().find(|l| l.kind() == kind).unwrap();
        let input = if kind == "Embedding" {
            Shape::sequence(32, 1)
        } else {
            Shape::sequence(32, 4)
        };
        assert!(infer(input, std::slice::from_ref(&layer), None).is_ok(), "{kind}");
        assert!(!layer.describe().is_empty());
    }
}

#[test]
fn an_empty_or_huge_sequence_input_is_refused_in_steps() {
    let err = infer(Shape::sequence(0, 1), &signal_model(), None)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("input shape 0×1") && err.contains("128×1 (steps × channels)"),
        "{err}"
    );
    let err = infer(Shape::sequence(1 << 28, 2), &signal_model(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("one sequence would take more than 1 GiB"), "{err}");
    let err = infer(Shape::sequence(1 << 25, 1), &signal_model(), None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("layer 1 Conv1D outputs 33554428×16 per sequence"), "{err}");
}
