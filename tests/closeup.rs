//! The convolution close-up (the arithmetic behind one feature-map value) against the engine:
//! for random layers of every stride, padding, channel count and bias setting, every output
//! cell's products and sums give the engine's own value.

use cnn_lab::cnn::spec::{Conv2D, Dense, Flatten, Pool2D};
use cnn_lab::cnn::{Activation, LayerSpec, Model, Padding, Shape, Tensor};
use cnn_lab::inspect::{CloseUp, Target, close_up};
use rand::{RngExt, SeedableRng, rngs::StdRng};

fn close(a: f32, b: f32) -> bool {
    (a - b).abs() <= 1e-5 * (1.0 + a.abs().max(b.abs()))
}

fn random_input(shape: Shape, rng: &mut StdRng) -> Tensor {
    let values: Vec<f32> = (0..shape.len()).map(|_| rng.random_range(-1.0f32..1.0)).collect();
    Tensor::from_vec(1, shape, values).unwrap()
}

#[test]
fn every_conv_value_is_its_products_sums_bias_and_activation() {
    let mut rng = StdRng::seed_from_u64(7);
    for channels in [1, 3] {
        for stride in [1, 2] {
            for padding in [Padding::Valid, Padding::Same, Padding::Explicit(1)] {
                for use_bias in [true, false] {
                    let conv = Conv2D {
                        strides: (stride, stride),
                        use_bias,
                        activation: Activation::Relu,
                        ..Conv2D::new(4, 3).padding(padding)
                    };
                    let specs = vec![
                        LayerSpec::Conv2D(conv),
                        LayerSpec::MaxPooling2D(Pool2D::new(2).padding(Padding::Same)),
                        LayerSpec::AveragePooling2D(Pool2D::new(2).padding(Padding::Same)),
                        LayerSpec::Flatten(Flatten),
                        LayerSpec::Dense(Dense::new(5)),
                    ];
                    let input = Shape::image(7, 7, channels);
                    let mut model = Model::build(input, &specs, Some(5), rng.random()).unwrap();
                    let x = random_input(input, &mut rng);
                    model.forward(&x, cnn_lab::cnn::Mode::Infer);
                    let outputs: Vec<Tensor> = model.activations().to_vec();
                    let what = format!("c {channels}, stride {stride}, {padding:?}, bias {use_bias}");
                    // Conv2D: every cell of every filter.
                    let Shape::Image { c, h, w } = outputs[1].shape() else {
                        panic!()
                    };
                    for f in 0..c {
                        for row in 0..h {
                            for col in 0..w {
                                let target = Target {
                                    layer: 0,
                                    channel: f,
                                    row,
                                    col,
                                };
                                let Some(CloseUp::Conv(up)) = close_up(&mut model, &x, target) else {
                                    panic!("{what}: no close-up for {target:?}");
                                };
                                let engine = outputs[1].data()[(f * h + row) * w + col];
                                assert!(
                                    close(up.value, engine),
                                    "{what} {target:?}: {} vs engine {engine}",
                                    up.value
                                );
                                let sums: f32 = up.channels.iter().map(|p| p.sum).sum();
                                assert!(close(sums + up.bias, up.pre_activation));
                                assert_eq!(up.value, up.pre_activation.max(0.0), "relu");
                                assert_eq!(up.channels.len(), channels);
                                for part in &up.channels {
                                    let products: f32 = part.products.iter().sum();
                                    assert_eq!(products, part.sum);
                                    for ((v, k), p) in part.inputs.iter().zip(&part.kernel).zip(&part.products) {
                                        assert_eq!(v.unwrap_or(0.0) * k, *p, "padding cells count as zeros");
                                    }
                                }
                                if !use_bias {
                                    assert_eq!(up.bias, 0.0);
                                }
                            }
                        }
                    }
                    // Pooling: the chosen cell is the engine's maximum; the average divides by
                    // the real cells.
                    for (layer, average) in [(1usize, false), (2, true)] {
                        let Shape::Image { c, h, w } = outputs[layer + 1].shape() else {
                            panic!()
                        };
                        for ch in 0..c {
                            for row in 0..h {
                                for col in 0..w {
                                    let target = Target {
                                        layer,
                                        channel: ch,
                                        row,
                                        col,
                                    };
                                    let Some(CloseUp::Pool(up)) = close_up(&mut model, &x, target) else {
                                        panic!("{what}: no pooling close-up for {target:?}");
                                    };
                                    let engine = outputs[layer + 1].data()[(ch * h + row) * w + col];
                                    assert!(
                                        close(up.value, engine),
                                        "{what} pool {target:?}: {} vs {engine}",
                                        up.value
                                    );
                                    assert_eq!(up.average, average);
                                    if !average {
                                        let chosen = up.chosen.expect("a maximum");
                                        assert_eq!(up.inputs[chosen], Some(engine), "the engine's argmax");
                                    }
                                }
                            }
                        }
                    }
                    // Dense: the dot product and bias give the unit's value.
                    for unit in 0..5 {
                        let target = Target {
                            layer: 4,
                            channel: unit,
                            row: 0,
                            col: 0,
                        };
                        let Some(CloseUp::Dense(up)) = close_up(&mut model, &x, target) else {
                            panic!()
                        };
                        let engine = outputs[5].data()[unit];
                        assert!(close(up.value, engine), "{what} dense {unit}: {} vs {engine}", up.value);
                        assert!(close(up.dot + up.bias, up.pre_activation));
                        assert!(up.top.windows(2).all(|p| p[0].product.abs() >= p[1].product.abs()));
                    }
                    // No close-up for a layer without arithmetic of its own, or out of range.
                    assert!(
                        close_up(
                            &mut model,
                            &x,
                            Target {
                                layer: 3,
                                channel: 0,
                                row: 0,
                                col: 0
                            }
                        )
                        .is_none()
                    );
                    assert!(
                        close_up(
                            &mut model,
                            &x,
                            Target {
                                layer: 0,
                                channel: 99,
                                row: 0,
                                col: 0
                            }
                        )
                        .is_none()
                    );
                }
            }
        }
    }
}

/// The Conv1D and 1-D pooling close-ups: every output step of every filter, for strides 1 and 2,
/// every padding (causal too), dilation 1 and 2, 1 and 3 channels, with and without bias.
#[test]
fn every_conv1d_value_is_its_products_sums_bias_and_activation() {
    use cnn_lab::cnn::spec::{Conv1D, GlobalAveragePooling1D, Pool1D};
    let mut rng = StdRng::seed_from_u64(11);
    let mut checked = 0;
    for channels in [1, 3] {
        for (stride, dilation) in [(1, 1), (2, 1), (1, 2)] {
            for padding in [Padding::Valid, Padding::Same, Padding::Causal] {
                for use_bias in [true, false] {
                    let conv = Conv1D {
                        use_bias,
                        ..Conv1D::new(4, 3)
                            .padding(padding)
                            .strides(stride)
                            .dilation(dilation)
                            .relu()
                    };
                    let specs = vec![
                        LayerSpec::Conv1D(conv),
                        LayerSpec::MaxPooling1D(Pool1D::new(2).padding(Padding::Same)),
                        LayerSpec::AveragePooling1D(Pool1D::new(2).padding(Padding::Same)),
                        LayerSpec::GlobalAveragePooling1D(GlobalAveragePooling1D),
                        LayerSpec::Dense(Dense::new(3)),
                    ];
                    let input = Shape::sequence(11, channels);
                    let mut model = Model::build(input, &specs, Some(3), rng.random()).unwrap();
                    let x = random_input(input, &mut rng);
                    model.forward(&x, cnn_lab::cnn::Mode::Infer);
                    let outputs: Vec<Tensor> = model.activations().to_vec();
                    let what =
                        format!("c {channels}, stride {stride}, dilation {dilation}, {padding:?}, bias {use_bias}");
                    let Shape::Sequence { c, steps } = outputs[1].shape() else {
                        panic!("{what}: a sequence out")
                    };
                    for f in 0..c {
                        for col in 0..steps {
                            let target = Target {
                                layer: 0,
                                channel: f,
                                row: 0,
                                col,
                            };
                            let Some(CloseUp::Conv(up)) = close_up(&mut model, &x, target) else {
                                panic!("{what}: no close-up for {target:?}");
                            };
                            let engine = outputs[1].data()[f * steps + col];
                            assert!(
                                close(up.value, engine),
                                "{what} {target:?}: {} vs engine {engine}",
                                up.value
                            );
                            assert_eq!(
                                (up.kernel, up.dilation, up.channels.len()),
                                ((1, 3), dilation, channels)
                            );
                            let sums: f32 = up.channels.iter().map(|p| p.sum).sum();
                            assert!(close(sums + up.bias, up.pre_activation));
                            assert_eq!(up.value, up.pre_activation.max(0.0), "relu");
                            for part in &up.channels {
                                for ((v, k), p) in part.inputs.iter().zip(&part.kernel).zip(&part.products) {
                                    assert_eq!(v.unwrap_or(0.0) * k, *p, "padding cells count as zeros");
                                }
                            }
                            // Causal padding reads only the past: the window ends at this step.
                            if padding == Padding::Causal {
                                assert_eq!(up.origin.1 + 2 * dilation as i64, (col * stride) as i64);
                            }
                            checked += 1;
                        }
                    }
                    for (layer, average) in [(1usize, false), (2, true)] {
                        let Shape::Sequence { c, steps } = outputs[layer + 1].shape() else {
                            panic!()
                        };
                        for ch in 0..c {
                            for col in 0..steps {
                                let target = Target {
                                    layer,
                                    channel: ch,
                                    row: 0,
                                    col,
                                };
                                let Some(CloseUp::Pool(up)) = close_up(&mut model, &x, target) else {
                                    panic!("{what}: no pooling close-up for {target:?}");
                                };
                                let engine = outputs[layer + 1].data()[ch * steps + col];
                                assert!(
                                    close(up.value, engine),
                                    "{what} pool {target:?}: {} vs {engine}",
                                    up.value
                                );
                                assert_eq!(up.average, average);
                                if !average {
                                    let chosen = up.chosen.expect("a maximum");
                                    assert_eq!(up.inputs[chosen], Some(engine), "the engine's argmax");
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(checked > 500, "{checked} Conv1D values checked");
}
