//! The app on sequence models, driven headless through egui_kittest: a Conv1D added from the
//! palette shows its shape and the course's parameter formula, a 1-D pool's strides are edited in
//! place, the padding and stride playground runs along steps (dilation, causal padding, the
//! engine's refusal), and the trained signals project shows one plot per filter in the filter
//! room and one row per filter in the feature maps.

mod support;

use cnn_lab::app::LabApp;
use cnn_lab::app::playground::Dims;
use cnn_lab::app::rooms::Weights;
use cnn_lab::cnn::Padding;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use std::time::Duration;
use support::app::{app_on, step_until};

const WAIT: Duration = Duration::from_secs(240);

#[test]
fn a_conv1d_added_from_the_palette_shows_its_shape_and_parameter_formula() {
    let mut harness = app_on("signals_conv1d.ron");
    harness.get_by_label("insert position").click();
    harness.run();
    harness.get_by_label("at the start (after the input)").click();
    harness.run();
    harness.get_by_label("add Conv1D").click();
    harness.run();
    assert_eq!(harness.state().experiment().layers[0].kind(), "Conv1D");
    // Ten filters of five steps over the one-channel 128-step signal, padding valid.
    harness.get_by_label("layer 1 filters").set_value_accesskit(10.0);
    harness.get_by_label("layer 1 kernel").set_value_accesskit(5.0);
    harness.run();
    harness.run();
    // n − k + 1 = 124 steps; (k·c_in + 1)·filters = (5·1 + 1)·10 = 60.
    harness.get_by_label("124×10");
    harness.get_by_label("(5·1 + 1)·10 = 60");
    let info = &harness.state().document().analysis().summary.layers[0];
    assert_eq!((info.output.hwc(), info.params()), ("124×10".to_string(), 60));
    harness.get_by_label("5 steps");
    // The next Conv1D now reads 10 channels: (9·10 + 1)·16.
    harness.get_by_label("(9·10 + 1)·16 = 1,456");
    assert!(harness.state().document().analysis().error.is_none());
    // Causal padding: (k − 1) zeros before the first step, so the length stays 128.
    harness.get_by_label("layer 1 padding").click();
    harness.run();
    harness.get_by_label("causal").click();
    harness.run();
    harness.run();
    let info = &harness.state().document().analysis().summary.layers[0];
    assert_eq!(info.output.hwc(), "128×10");
    assert!(
        harness.state().experiment().layers[0]
            .describe()
            .contains("padding causal")
    );
}

#[test]
fn a_1d_pools_strides_are_edited_in_place_and_default_to_its_pool_size() {
    let mut harness = app_on("signals_conv1d.ron");
    let pool = |h: &Harness<'_, LabApp>| h.state().experiment().layers[1].describe();
    // Keras: strides default to pool_size, so the 2-step pool halves 128 steps to 64.
    assert!(pool(&harness).contains("strides 2"), "{}", pool(&harness));
    assert_eq!(
        harness.state().document().analysis().summary.layers[1].output.hwc(),
        "64×16"
    );
    // Overlapping windows: strides 1 gives floor((128 − 2)/1) + 1 = 127 steps.
    harness.get_by_label("layer 2 strides").set_value_accesskit(1.0);
    harness.run();
    harness.run();
    assert!(pool(&harness).contains("strides 1"), "{}", pool(&harness));
    assert_eq!(
        harness.state().document().analysis().summary.layers[1].output.hwc(),
        "127×16"
    );
    harness.get_by_label("127×16");
    // Back to the pool size: unset again, so the file keeps Keras's default (no `strides:`).
    harness.get_by_label("layer 2 strides").set_value_accesskit(2.0);
    harness.run();
    harness.run();
    assert_eq!(
        harness.state().document().analysis().summary.layers[1].output.hwc(),
        "64×16"
    );
    let ron = cnn_lab::experiment::to_text(harness.state().experiment());
    let pool_text = ron
        .split("MaxPooling1D(")
        .nth(1)
        .and_then(|t| t.split(')').next())
        .expect("a pool");
    assert!(
        pool_text.contains("pool_size: 2") && !pool_text.contains("strides"),
        "{pool_text}"
    );
}

#[test]
fn the_playground_opened_on_a_conv1d_shows_its_steps_and_writes_a_dilation_back() {
    let mut harness = app_on("signals_conv1d.ron");
    let conv = |h: &Harness<'_, LabApp>| match &h.state().experiment().layers[0] {
        cnn_lab::cnn::LayerSpec::Conv1D(c) => c.clone(),
        other => panic!("{}", other.kind()),
    };
    harness
        .get_by_label("padding and stride playground for layer 1")
        .click();
    harness.run();
    harness.run();
    let playground = harness.state().playground().clone();
    assert!(playground.open);
    assert_eq!(
        (
            playground.dims,
            playground.n,
            playground.f,
            playground.padding,
            playground.channels
        ),
        (Dims::Sequence, 128, 9, Padding::Same, 1)
    );
    let shows = |h: &Harness<'_, LabApp>, text: &str| h.query_all_by_label_contains(text).next().is_some();
    assert!(shows(&harness, "⌈128/1⌉ = 128"));
    // The first output step's window: 4 zeros of `same` padding, then steps 0–4.
    assert!(shows(&harness, "reads 4 padding zeros, then input steps 0, 1, 2, 3, 4"));
    // Dilation 2: 9 taps span (9 − 1)·2 + 1 = 17 steps; `same` keeps 128 steps.
    harness.get_by_label("playground d").set_value_accesskit(2.0);
    harness.run();
    harness.run();
    assert!(shows(&harness, "(9 − 1)·2 + 1 = 17 steps"));
    assert!(shows(&harness, "= 16 zeros: 8 before, 8 after"));
    // Of the 8 zeros before, the taps (2 apart) land on 4.
    assert!(shows(&harness, "reads 4 padding zeros, then input steps 0, 2, 4, 6, 8"));
    harness.get_by_label("Apply to layer 1 (Conv1D)").click();
    harness.run();
    harness.run();
    assert_eq!(conv(&harness).dilation_rate, 2);
    // Strides with dilation: the engine's refusal in its own words, and nothing to apply.
    harness.get_by_label("playground s").set_value_accesskit(2.0);
    harness.run();
    harness.run();
    assert!(shows(
        &harness,
        "Keras refuses strides above 1 together with dilation above 1"
    ));
    assert!(
        harness
            .get_by_label("Apply to layer 1 (Conv1D)")
            .accesskit_node()
            .is_disabled()
    );
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run();
    assert_eq!(conv(&harness).dilation_rate, 1, "one undo step");
}

#[test]
fn the_playground_from_the_menu_switches_to_a_sequence_with_causal_padding() {
    let mut harness = app_on("mnist_lenet.ron");
    harness.get_by_label("View").click();
    harness.run();
    harness.get_by_label("Padding and stride playground").click();
    harness.run();
    assert_eq!(harness.state().playground().dims, Dims::Image);
    harness.get_by_label("sequence (1-D)").click();
    harness.run();
    harness.run();
    let shows = |h: &Harness<'_, LabApp>, text: &str| h.query_all_by_label_contains(text).next().is_some();
    // 16 steps, a 3-tap window, valid: ⌊(16 − 3)/1⌋ + 1 = 14.
    assert_eq!(harness.state().playground().n, 16);
    assert!(shows(&harness, "⌊(16 − 3)/1⌋ + 1 = 14"));
    harness.get_by_label("causal").click();
    harness.run();
    harness.run();
    // Causal: 2 zeros before, none after, 16 steps out; step 0 reads the zeros and itself.
    assert!(shows(&harness, "⌊(16 − 1)/1⌋ + 1 = 16"));
    assert!(shows(&harness, "reads 2 padding zeros, then input step 0"));
}

#[test]
fn the_trained_signals_project_shows_one_plot_per_filter_and_one_map_row_per_filter() {
    let mut harness = app_on("signals_conv1d.ron");
    harness.get_by_label("Train").click();
    harness.run_steps(2);
    step_until(&mut harness, WAIT, "training to finish", |app| {
        app.run().is_none() && app.last_summary().is_some()
    });
    let epochs = harness.state().experiment().history.len();
    assert_eq!(epochs, 12);

    harness.get_by_label("🔍 Filters").click();
    step_until(&mut harness, WAIT, "the trained model", |app| {
        app.inspector()
            .lens()
            .is_some_and(|l| matches!(l.source, Weights::Trained { epochs: 12 }))
    });
    harness.run_steps(2);
    // The first Conv1D: 16 filters of 9 steps.
    for i in 1..=16 {
        harness.get_by_label(&format!("filter {i}"));
    }
    assert!(harness.query_by_label("filter 17").is_none());
    harness.get_by_label_contains("(9·1 + 1)·16 = 160 parameters");
    // The timeline over the per-epoch snapshots (before training + 12 epochs).
    assert_eq!(harness.state().experiment().filter_snapshots.len(), 13);
    harness.get_by_label_contains("now");
    // What each filter responds to: an input sequence per filter.
    harness.get_by_label("What does each filter respond to?").click();
    step_until(&mut harness, WAIT, "activation maximization", |app| {
        app.inspector().maximized() == Some((16, 16)) && !app.inspector().busy()
    });

    harness.get_by_label("🗺 Feature maps").click();
    step_until(&mut harness, WAIT, "the feature maps", |app| {
        app.inspector().prediction().is_some() && !app.inspector().busy()
    });
    harness.run_steps(2);
    harness.get_by_label("input signal");
    for i in 1..=16 {
        harness.get_by_label(&format!("map {i} of layer 1"));
    }
    assert!(harness.query_by_label("map 17 of layer 1").is_none());
    // The third layer, a Conv1D of 32 filters, has 32 rows; the classifier, units.
    harness.get_by_label("map 32 of layer 3");
    harness.get_by_label("units of layer 7");
    let (class, p) = harness.state().inspector().prediction().unwrap();
    assert!(class < 6 && p > 0.0 && p <= 1.0);

    // Clicking a value of the first Conv1D's first map opens its arithmetic: 9 steps × 1 channel.
    let row = harness.get_by_label("map 1 of layer 1").rect();
    let at = row.left_center() + egui::vec2(row.width() * 0.5, 0.0);
    harness.hover_at(at);
    harness.drag_at(at);
    harness.drop_at(at);
    harness.run_steps(2);
    step_until(&mut harness, WAIT, "the close-up", |app| {
        app.inspector().closeup().is_some_and(|(_, up)| up.is_some())
    });
    let (target, up) = harness.state().inspector().closeup().unwrap();
    assert_eq!((target.layer, target.channel, target.row), (0, 0, 0));
    assert!(
        (60..=68).contains(&target.col),
        "the middle of 128 steps: {}",
        target.col
    );
    let Some(cnn_lab::inspect::CloseUp::Conv(up)) = up else {
        panic!("a Conv1D close-up")
    };
    assert_eq!((up.kernel, up.channels.len(), up.dilation), ((1, 9), 1, 1));
    // padding same, stride 1: the window is centred on the step (4 before, 4 after).
    assert_eq!(up.origin, (0, target.col as i64 - 4));
    let sum: f32 = up.channels[0].products.iter().sum();
    assert!((sum + up.bias - up.pre_activation).abs() < 1e-5);
    assert_eq!(up.value, up.pre_activation.max(0.0));
    harness.run_steps(2);
    harness.get_by_label_contains(&format!("map 1 at step {}", target.col + 1));
    harness.get_by_label_contains("the value in the map");
}
