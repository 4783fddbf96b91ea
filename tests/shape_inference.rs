//! Shape inference: the course's arithmetic, receptive fields, and errors a student understands.

use cnn_lab::cnn::spec::{Conv2D, Dense, Dropout, Flatten, Pool2D};
use cnn_lab::cnn::{Activation, ArchError, LayerSpec, Padding, QuickFix, Shape, analyze, infer};

fn lenet() -> Vec<LayerSpec> {
    cnn_lab::cnn::zoo::lenet().1
}

#[test]
fn seed_quiz_ten_5x5_filters_with_padding_2_give_32x32x10_and_760_parameters() {
    for padding in [Padding::Explicit(2), Padding::Same] {
        let layers = [LayerSpec::Conv2D(Conv2D::new(10, 5).padding(padding))];
        let s = infer(Shape::image(32, 32, 3), &layers, None).unwrap();
        let row = &s.layers[0];
        assert_eq!(row.output.hwc(), "32×32×10");
        assert_eq!(row.params(), 760);
        assert_eq!(row.params_formula, "(5·5·3 + 1)·10 = 760");
        assert_eq!(row.macs, 32 * 32 * 10 * 75);
        assert_eq!(row.receptive_field, (5, 5));
    }
}

#[test]
fn a_filter_spans_all_input_channels() {
    // 6×6×3 input, 3×3×3 filter → 4×4; `filters` of them stack into 4×4×filters.
    let s = infer(Shape::image(6, 6, 3), &[LayerSpec::Conv2D(Conv2D::new(2, 3))], None).unwrap();
    assert_eq!(s.layers[0].output, Shape::image(4, 4, 2));
    assert_eq!(s.layers[0].params(), (3 * 3 * 3 + 1) * 2);
}

#[test]
fn lenet_table_totals_receptive_fields_and_memory() {
    let s = infer(Shape::image(28, 28, 1), &lenet(), Some(10)).unwrap();
    let shapes: Vec<String> = s.layers.iter().map(|l| l.output.hwc()).collect();
    assert_eq!(shapes, ["26×26×8", "13×13×8", "11×11×16", "5×5×16", "400", "64", "10"]);
    let params: Vec<u64> = s.layers.iter().map(|l| l.params()).collect();
    assert_eq!(params, [80, 0, 1168, 0, 0, 25_664, 650]);
    assert_eq!(s.total_params(), 27_562);
    assert_eq!(s.layers[5].params_formula, "(400 + 1)·64 = 25,664");
    // Receptive field r ← r + (k − 1)·j, jump j ← j·s.
    let rf: Vec<(usize, usize)> = s.layers[..4].iter().map(|l| l.receptive_field).collect();
    assert_eq!(rf, [(3, 3), (4, 4), (8, 8), (10, 10)]);
    assert_eq!(s.layers[3].jump, (4, 4));
    assert_eq!(
        s.macs_per_sample(),
        26 * 26 * 8 * 9 + 11 * 11 * 16 * 72 + 400 * 64 + 640
    );
    assert_eq!(
        s.activation_bytes_per_sample(),
        4 * (784 + 5408 + 1352 + 1936 + 400 + 400 + 64 + 10)
    );
    assert!(s.training_memory_bytes(64) > 64 * 2 * s.activation_bytes_per_sample());
}

#[test]
fn frozen_layers_count_as_non_trainable_and_batchnorm_keeps_two_states_per_channel() {
    let mut layers = lenet();
    layers[0].set_trainable(false);
    layers.insert(1, LayerSpec::BatchNormalization(Default::default()));
    let s = infer(Shape::image(28, 28, 1), &layers, Some(10)).unwrap();
    assert_eq!(s.layers[0].trainable_params, 0);
    assert_eq!(s.layers[0].non_trainable_params, 80);
    assert_eq!(
        (s.layers[1].trainable_params, s.layers[1].non_trainable_params),
        (16, 16)
    );
}

fn layer_error(err: ArchError) -> (usize, String, Option<QuickFix>) {
    let text = err.to_string();
    match err {
        ArchError::Layer { index, quick_fixes, .. } => (index, text, quick_fixes.first().cloned()),
        other => panic!("expected a layer error, got {other:?}"),
    }
}

#[test]
fn pooling_a_1x1_map_names_the_layer_the_sizes_and_the_fix() {
    let layers = vec![
        LayerSpec::Conv2D(Conv2D::new(8, 3)),
        LayerSpec::MaxPooling2D(Pool2D::new(2)),
        LayerSpec::MaxPooling2D(Pool2D::new(2)),
        LayerSpec::MaxPooling2D(Pool2D::new(2)),
        LayerSpec::Flatten(Flatten),
        LayerSpec::Dense(Dense::new(10)),
    ];
    // 4×4 → conv 2×2 → pool 1×1 → pool: 1×1 input with a 2×2 window.
    let analysis = analyze(Shape::image(4, 4, 1), &layers, Some(10));
    assert_eq!(analysis.summary.layers.len(), 2, "rows before the error are kept");
    let (index, text, fix) = layer_error(analysis.error.unwrap());
    assert_eq!(index, 2);
    assert_eq!(
        text,
        "layer 3 MaxPooling2D: input is 1×1 but pool_size is 2×2, so the output would be 0×0; \
         use padding 'same', a pool_size that fits, or remove a pooling layer before it"
    );
    assert_eq!(fix, Some(QuickFix::UsePaddingSame { index: 2 }));
}

#[test]
fn kernel_larger_than_input_and_zero_sizes() {
    let (i, text, _) =
        layer_error(infer(Shape::image(3, 3, 1), &[LayerSpec::Conv2D(Conv2D::new(4, 5))], None).unwrap_err());
    assert_eq!(i, 0);
    assert!(
        text.contains("input is 3×3 but kernel_size is 5×5, so the output would be 0×0"),
        "{text}"
    );
    let (_, text, _) =
        layer_error(infer(Shape::image(8, 8, 1), &[LayerSpec::Conv2D(Conv2D::new(0, 3))], None).unwrap_err());
    assert!(text.contains("filters is 0"), "{text}");
    let (_, text, _) = layer_error(
        infer(
            Shape::image(8, 8, 1),
            &[LayerSpec::Conv2D(Conv2D::new(4, 3).strides(0))],
            None,
        )
        .unwrap_err(),
    );
    assert!(text.contains("strides are 0×0"), "{text}");
    let (_, text, _) = layer_error(infer(Shape::flat(4), &[LayerSpec::Dropout(Dropout::new(1.5))], None).unwrap_err());
    assert!(text.contains("must be in [0, 1)"), "{text}");
    let err = infer(Shape::image(0, 8, 1), &[], None).unwrap_err();
    assert!(matches!(err, ArchError::Input { .. }), "{err}");
}

#[test]
fn dense_on_feature_maps_offers_flatten() {
    let layers = [LayerSpec::Conv2D(Conv2D::new(4, 3)), LayerSpec::Dense(Dense::new(10))];
    let (index, text, fix) = layer_error(infer(Shape::image(8, 8, 1), &layers, Some(10)).unwrap_err());
    assert_eq!(index, 1);
    assert!(
        text.contains("Dense needs a flat vector, but its input is the 6×6×4 feature maps"),
        "{text}"
    );
    assert!(text.contains("insert Flatten"), "{text}");
    assert_eq!(fix, Some(QuickFix::InsertFlatten { index: 1 }));
}

#[test]
fn softmax_must_be_last_and_the_output_must_match_the_classes() {
    let layers = [
        LayerSpec::Flatten(Flatten),
        LayerSpec::Activation(Activation::Softmax),
        LayerSpec::Dense(Dense::new(10)),
    ];
    let (index, text, _) = layer_error(infer(Shape::image(4, 4, 1), &layers, Some(10)).unwrap_err());
    assert_eq!(index, 1);
    assert!(text.contains("only belongs on the last layer"), "{text}");

    let layers = [
        LayerSpec::Flatten(Flatten),
        LayerSpec::Dense(Dense::new(5)),
        LayerSpec::Activation(Activation::Softmax),
    ];
    match infer(Shape::image(4, 4, 1), &layers, Some(10)).unwrap_err() {
        ArchError::Output { quick_fix, .. } => assert_eq!(quick_fix, Some(QuickFix::SetUnits { index: 1, units: 10 })),
        other => panic!("{other:?}"),
    }
    let layers = [LayerSpec::Conv2D(Conv2D::new(4, 3))];
    let err = infer(Shape::image(8, 8, 1), &layers, Some(10)).unwrap_err();
    assert!(err.to_string().contains("ends with 6×6×4 feature maps"), "{err}");
    assert_eq!(err.quick_fix(), Some(&QuickFix::AppendClassifier { units: 10 }));
}

#[test]
fn absurd_sizes_are_refused_with_an_estimate_before_allocating() {
    let layers = [LayerSpec::Conv2D(Conv2D::new(1_000_000, 3).same())];
    let err = infer(Shape::image(512, 512, 3), &layers, None).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ArchError::TooLarge { .. }), "{text}");
    assert!(text.contains("GiB") && text.contains("layer 1 Conv2D"), "{text}");
    let layers = [
        LayerSpec::Flatten(Flatten),
        LayerSpec::Dense(Dense::new(usize::MAX / 2)),
    ];
    assert!(matches!(
        infer(Shape::image(64, 64, 3), &layers, None),
        Err(ArchError::TooLarge { .. })
    ));
}

#[test]
fn same_padding_with_stride_2_on_even_and_odd_inputs() {
    for (n, want) in [(8, 4), (7, 4), (32, 16), (1, 1)] {
        let s = infer(
            Shape::image(n, n, 1),
            &[LayerSpec::Conv2D(Conv2D::new(1, 3).same().strides(2))],
            None,
        )
        .unwrap();
        assert_eq!(s.layers[0].output.spatial(), (want, want), "n = {n}");
    }
}

#[test]
fn a_kernel_larger_than_its_input_offers_padding_same_and_the_largest_kernel_that_fits() {
    let layers = [LayerSpec::Conv2D(Conv2D::new(4, 40))];
    let err = infer(Shape::image(16, 16, 3), &layers, None).unwrap_err();
    let fixes = err.quick_fixes(&layers);
    assert_eq!(fixes[0], QuickFix::UsePaddingSame { index: 0 });
    assert_eq!(
        fixes[1],
        QuickFix::FitWindow {
            index: 0,
            name: "kernel_size",
            size: (16, 16)
        }
    );
    assert_eq!(fixes[1].label(), "use kernel_size 16×16");
    // With explicit padding 2 the window may be 4 larger than the input.
    let padded = [LayerSpec::Conv2D(Conv2D::new(4, 40).padding(Padding::Explicit(2)))];
    let err = infer(Shape::image(16, 16, 3), &padded, None).unwrap_err();
    assert!(err.quick_fixes(&padded).contains(&QuickFix::FitWindow {
        index: 0,
        name: "kernel_size",
        size: (20, 20)
    }));
    // Every fix offered makes the layer valid.
    for fix in fixes {
        let mut fixed = layers.to_vec();
        assert!(fixed[0].config_mut().apply_fix(&fix), "{fix:?}");
        assert!(infer(Shape::image(16, 16, 3), &fixed, None).is_ok(), "{fix:?}");
    }
}

#[test]
fn a_conv2d_after_flatten_is_offered_a_move_before_the_flatten_first_and_removal_second() {
    let layers = vec![
        LayerSpec::Conv2D(Conv2D::new(4, 3)),
        LayerSpec::Flatten(Flatten),
        LayerSpec::Conv2D(Conv2D::new(4, 3)),
        LayerSpec::Dense(Dense::new(10)),
    ];
    let err = infer(Shape::image(16, 16, 1), &layers, None).unwrap_err();
    let fixes = err.quick_fixes(&layers);
    assert_eq!(
        fixes,
        vec![
            QuickFix::MoveBefore { from: 2, to: 1 },
            QuickFix::RemoveLayer { index: 2 }
        ]
    );
    assert_eq!(fixes[0].label(), "move it before Flatten (layer 2)");
}
