use super::*;
use crate::cnn::infer;

#[test]
fn the_playground_agrees_with_shape_inference_for_every_size_up_to_64() {
    for n in 1..=64 {
        for f in 1..=9 {
            for s in 1..=4 {
                for padding in [
                    Padding::Valid,
                    Padding::Same,
                    Padding::Explicit(1),
                    Padding::Explicit(3),
                ] {
                    let a = axis(n, f, s, padding);
                    let layer = [LayerSpec::Conv2D(Conv2D {
                        kernel_size: (f, f),
                        strides: (s, s),
                        ..Conv2D::new(2, f).padding(padding)
                    })];
                    match infer(Shape::image(n, n, 1), &layer, None) {
                        Ok(summary) => {
                            assert_eq!(
                                summary.layers[0].output,
                                Shape::image(a.out, a.out, 2),
                                "n {n} f {f} s {s} {padding:?}"
                            )
                        }
                        Err(_) => assert_eq!(a.out, 0, "n {n} f {f} s {s} {padding:?}: inference refuses"),
                    }
                    // Every window lies inside the padded input.
                    for &start in &a.starts {
                        assert!(start + f <= n + a.pad_before + a.pad_after);
                    }
                }
            }
        }
    }
}

#[test]
fn the_sequence_playground_agrees_with_conv1d_shape_inference_and_causal_reads_only_the_past() {
    for n in 1..=40 {
        for f in 1..=5 {
            for s in 1..=3 {
                for d in 1..=3 {
                    for padding in [Padding::Valid, Padding::Same, Padding::Causal] {
                        let playground = Playground {
                            dims: Dims::Sequence,
                            n,
                            f,
                            s,
                            dilation: d,
                            padding,
                            channels: 2,
                            filters: 4,
                            ..Playground::default()
                        };
                        let a = playground.axis();
                        let layer = [LayerSpec::Conv1D(Conv1D {
                            strides: s,
                            dilation_rate: d,
                            padding,
                            ..Conv1D::new(4, f)
                        })];
                        let what = format!("n {n} f {f} s {s} d {d} {padding:?}");
                        match infer(Shape::Sequence { c: 2, steps: n }, &layer, None) {
                            Ok(summary) => {
                                assert_eq!(
                                    summary.layers[0].output,
                                    Shape::Sequence { c: 4, steps: a.out },
                                    "{what}"
                                );
                                assert_eq!(playground.refusal(), None, "{what}");
                            }
                            // Strides with dilation, or a window that does not fit.
                            Err(e) => {
                                assert!(s > 1 && d > 1 || a.out == 0, "{what}: {e}");
                                assert_eq!(playground.refusal(), Some(e.to_string()), "{what}");
                            }
                        }
                        for o in 0..a.out {
                            let taps = taps_of(n, f, d, &a, o);
                            assert_eq!(taps.len(), f);
                            // Taps d steps apart, each inside the input or a padding zero
                            // (a dilated window may read only zeros: 1 step, taps 0 and 2).
                            let steps: Vec<usize> = taps.iter().flatten().copied().collect();
                            assert!(steps.windows(2).all(|w| w[1] == w[0] + d), "{what}");
                            if padding == Padding::Causal {
                                // Output step o·s sees step o·s last: nothing from the future.
                                assert_eq!(taps.last().copied().flatten(), Some(o * s), "{what} output {o}");
                            }
                        }
                    }
                }
            }
        }
    }
}

#[test]
fn a_window_says_which_steps_and_zeros_it_reads() {
    let a = axis(8, 5, 1, Padding::Same);
    assert_eq!(
        reads_text(&taps_of(8, 5, 1, &a, 0)),
        "reads 2 padding zeros, then input steps 0, 1, 2"
    );
    assert_eq!(
        reads_text(&taps_of(8, 5, 1, &a, 7)),
        "reads input steps 5, 6, 7, then 2 padding zeros"
    );
    // Causal, 3 taps 2 apart: the span is 5, so 4 zeros before the first step.
    let a = axis(8, 5, 1, Padding::Causal);
    assert_eq!(
        reads_text(&taps_of(8, 3, 2, &a, 1)),
        "reads 2 padding zeros, then input step 1"
    );
    // One step, 2 taps 2 apart, same: the taps land on the zeros either side of it.
    let a = axis(1, 3, 1, Padding::Same);
    assert_eq!(reads_text(&taps_of(1, 2, 2, &a, 0)), "reads 2 padding zeros");
}

#[test]
fn applying_to_sequence_layers_writes_taps_dilation_and_keras_default_strides() {
    let playground = Playground {
        dims: Dims::Sequence,
        n: 128,
        f: 3,
        s: 1,
        dilation: 4,
        padding: Padding::Causal,
        channels: 1,
        filters: 8,
        ..Playground::default()
    };
    let Some(LayerSpec::Conv1D(c)) = playground.applied_to(&LayerSpec::Conv1D(Conv1D::new(8, 9))) else {
        panic!("a Conv1D");
    };
    assert_eq!(
        (c.kernel_size, c.strides, c.dilation_rate, c.padding),
        (3, 1, 4, Padding::Causal)
    );
    // A pool: strides equal to pool_size stay unset (Keras's default); no dilation.
    let pool = Playground {
        f: 2,
        s: 2,
        padding: Padding::Same,
        filters: 0,
        ..playground.clone()
    };
    let Some(LayerSpec::MaxPooling1D(p)) = pool.applied_to(&LayerSpec::MaxPooling1D(MaxPooling1D::new(3))) else {
        panic!("a MaxPooling1D");
    };
    assert_eq!((p.pool_size, p.strides, p.padding), (2, None, Padding::Same));
    assert_eq!(pool.span(), 2, "pools have no dilation");
    // A sequence playground does not write to an image layer.
    assert!(playground.applied_to(&LayerSpec::Conv2D(Conv2D::new(8, 3))).is_none());
}

#[test]
fn tensorflow_same_puts_the_odd_padding_pixel_after() {
    // n 5, f 4, s 1: total 3 → 1 before, 2 after.
    let a = axis(5, 4, 1, Padding::Same);
    assert_eq!((a.pad_before, a.pad_after, a.out), (1, 2, 5));
    // The course's quiz: 32, f 5, p 2 → 32.
    assert_eq!(axis(32, 5, 1, Padding::Explicit(2)).out, 32);
}
