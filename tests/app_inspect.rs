//! The inspection views, driven headless through egui_kittest: the filter tiles of a model the
//! app has just trained, a stroke drawn with the (simulated) mouse changing the prediction, and a
//! confusion-matrix cell opening its gallery.

mod support;

use cnn_lab::app::rooms::{InputSource, View, Weights};
use egui_kittest::kittest::Queryable;
use std::time::Duration;
use support::app::{app_on, step_until};

const WAIT: Duration = Duration::from_secs(240);

#[test]
fn the_filter_view_of_a_trained_shapes_model_shows_one_tile_per_filter() {
    let mut harness = app_on("shapes_edges.ron");
    harness.get_by_label("Train").click();
    harness.run_steps(2);
    step_until(&mut harness, WAIT, "training to finish", |app| {
        app.run().is_none() && app.last_summary().is_some()
    });
    assert!(harness.state().experiment().weights.is_some());

    harness.get_by_label("🔍 Filters").click();
    step_until(&mut harness, WAIT, "the trained model", |app| {
        app.inspector()
            .lens()
            .is_some_and(|l| matches!(l.source, Weights::Trained { epochs: 3 }))
    });
    harness.run_steps(2);
    // shapes_edges.ron's first layer: Conv2D with 8 filters.
    for i in 1..=8 {
        harness.get_by_label(&format!("filter {i}"));
    }
    assert!(harness.query_by_label("filter 9").is_none());
    // The timeline over the per-epoch snapshots is there (before training + 3 epochs).
    assert_eq!(harness.state().experiment().filter_snapshots.len(), 4);
    harness.get_by_label_contains("now");

    harness.get_by_label("What does each filter look for?").click();
    step_until(&mut harness, WAIT, "activation maximization", |app| {
        app.inspector().maximized() == Some((8, 8)) && !app.inspector().busy()
    });
    harness.run_steps(2);
    harness.get_by_label("Recompute");

    // A tile opens its close-up with the numbers.
    harness.get_by_label("filter 3").click();
    harness.run_steps(2);
    harness.get_by_label("Filter 3");
    harness.get_by_label("Looks for");
}

#[test]
fn a_stroke_drawn_on_the_canvas_changes_the_prediction() {
    let mut harness = app_on("pretrained/mnist_lenet.ron");
    harness.get_by_label("🗺 Feature maps").click();
    step_until(&mut harness, WAIT, "the model", |app| app.inspector().lens().is_some());
    harness.run_steps(2);
    harness.get_by_label("✏ Draw").click();
    harness.run_steps(2);
    assert_eq!(harness.state().inspector().input_source(), InputSource::Canvas);
    step_until(&mut harness, WAIT, "the blank canvas's prediction", |app| {
        app.inspector().prediction().is_some() && !app.inspector().busy()
    });
    let blank = harness.state().inspector().prediction().unwrap();

    // A vertical stroke down the middle, dragged with the mouse: a "1".
    let rect = harness.get_by_label("drawing canvas").rect();
    let at = |y: f32| rect.min + egui::vec2(0.5 * rect.width(), y * rect.height());
    harness.hover_at(at(0.15));
    harness.drag_at(at(0.15));
    harness.step();
    for k in 1..=14 {
        harness.hover_at(at(0.15 + 0.05 * k as f32));
        harness.step();
    }
    harness.drop_at(at(0.85));
    harness.step();
    step_until(&mut harness, WAIT, "the new prediction", |app| {
        app.inspector().prediction().is_some_and(|p| p != blank) && !app.inspector().busy()
    });
    let (class, probability) = harness.state().inspector().prediction().unwrap();
    assert_eq!(class, 1, "a vertical stroke reads as a 1 (p = {probability})");
    assert!(probability > 0.5, "p = {probability}");
    harness.run_steps(2);
    harness.get_by_label_contains("Prediction: 1");

    harness.get_by_label("🗑 Clear").click();
    step_until(&mut harness, WAIT, "the cleared canvas", |app| {
        app.inspector().prediction() == Some(blank) && !app.inspector().busy()
    });
}

#[test]
fn clicking_a_confusion_cell_opens_its_gallery() {
    let mut harness = app_on("pretrained/mnist_lenet.ron");
    harness.get_by_label("❌ Mistakes").click();
    step_until(&mut harness, WAIT, "the scoring", |app| {
        app.inspector().confusion().is_some()
    });
    harness.run_steps(2);
    let confusion = harness.state().inspector().confusion().unwrap().to_vec();
    // The bundled MNIST test split has 2,000 images; every one lands in one cell.
    assert_eq!(confusion.iter().flatten().sum::<usize>(), 2000);
    let (t, p, n) = confusion
        .iter()
        .enumerate()
        .flat_map(|(t, row)| row.iter().enumerate().map(move |(p, &n)| (t, p, n)))
        .filter(|&(t, p, n)| t != p && n > 0)
        .max_by_key(|&(_, _, n)| n)
        .expect("a trained model still makes some mistakes");

    harness.get_by_label(&format!("cell {t} → {p}")).click();
    harness.run_steps(2);
    harness.get_by_label(&format!("{t} taken for {p}: {n} images"));
    let gallery = harness.query_all_by_label_contains("gallery image").count();
    assert_eq!(gallery, n);

    // An image of the gallery opens in the feature-map view.
    harness
        .query_all_by_label_contains("gallery image")
        .next()
        .unwrap()
        .click();
    harness.run_steps(2);
    assert_eq!(harness.state().inspector().view, View::parse("feature-maps").unwrap());
}

#[test]
fn the_shift_test_scores_the_moved_digits_and_shows_the_model_in_its_legend() {
    let mut harness = app_on("pretrained/mnist_lenet.ron");
    harness.get_by_label("❌ Mistakes").click();
    step_until(&mut harness, WAIT, "the scoring", |app| {
        app.inspector().confusion().is_some()
    });
    harness.get_by_label("Shift test: why convolution").click();
    harness.run();
    harness.get_by_label("▶ Run the shift test (0–4 pixels)").click();
    step_until(&mut harness, WAIT, "the shift test", |app| {
        app.inspector().shift_curves().is_some_and(|c| !c.is_empty())
    });
    harness.run_steps(2);
    let curve = harness.state().inspector().shift_curves().unwrap()[0].clone();
    assert_eq!(curve.name, harness.state().experiment().name);
    assert_eq!(curve.accuracy.len(), 5);
    // Shift 0 is the confusion matrix's own accuracy.
    let confusion = harness.state().inspector().confusion().unwrap();
    let total: usize = confusion.iter().flatten().sum();
    let right: usize = (0..confusion.len()).map(|c| confusion[c][c]).sum();
    assert!((curve.accuracy[0] - right as f32 / total as f32).abs() < 1e-6);
    assert!(curve.accuracy[4] < curve.accuracy[0], "{:?}", curve.accuracy);
    assert!(
        harness
            .query_all_by_label_contains(&format!("{} (", curve.name))
            .next()
            .is_some(),
        "the model's name in the legend or table"
    );
}

#[test]
fn clicking_a_map_value_of_trained_shapes_shows_the_arithmetic_that_made_it_and_the_window_steps() {
    use cnn_lab::inspect::CloseUp;
    let mut harness = app_on("shapes_edges.ron");
    harness.get_by_label("Train").click();
    harness.run_steps(2);
    step_until(&mut harness, WAIT, "training to finish", |app| {
        app.run().is_none() && app.last_summary().is_some()
    });
    harness.get_by_label("🗺 Feature maps").click();
    step_until(&mut harness, WAIT, "the maps of the trained model", |app| {
        app.inspector()
            .lens()
            .is_some_and(|l| matches!(l.source, Weights::Trained { epochs: 3 }))
            && !app.inspector().busy()
    });
    harness.run_steps(2);
    // Click the first map of the first Conv2D, at its first pixel.
    let rect = harness.get_by_label("feature maps of layer 1").rect();
    let at = rect.min + egui::vec2(1.0, 1.0);
    harness.hover_at(at);
    harness.drag_at(at);
    harness.drop_at(at);
    harness.run_steps(2);
    let (target, _) = harness.state().inspector().closeup().expect("a close-up opened");
    assert_eq!((target.layer, target.channel, target.row, target.col), (0, 0, 0, 0));
    step_until(&mut harness, WAIT, "the close-up", |app| {
        app.inspector().closeup().is_some_and(|(_, up)| up.is_some())
    });
    harness.run_steps(2);
    let check = |harness: &egui_kittest::Harness<'_, cnn_lab::app::LabApp>| {
        let (target, up) = harness.state().inspector().closeup().unwrap();
        let Some(CloseUp::Conv(up)) = up else {
            panic!("a Conv2D close-up")
        };
        // shapes_edges.ron's first layer: 8 filters of 5×5 over one channel, padding same.
        assert_eq!((up.kernel, up.channels.len()), ((5, 5), 1));
        let part = &up.channels[0];
        assert_eq!(part.products.len(), 25);
        // The products are the window times the kernel (padding counts as 0), their sum the
        // channel's sum, + bias the pre-activation, relu of it the value in the map.
        for ((input, k), p) in part.inputs.iter().zip(&part.kernel).zip(&part.products) {
            assert_eq!(*p, input.unwrap_or(0.0) * k);
        }
        let sum: f32 = part.products.iter().sum();
        assert!((sum - part.sum).abs() <= 1e-5, "{sum} vs {}", part.sum);
        assert!((part.sum + up.bias - up.pre_activation).abs() <= 1e-5);
        let map = harness.state().inspector().map_value(target).expect("the map's value");
        assert!(
            (up.value - map).abs() <= 1e-5 * (1.0 + map.abs()),
            "{} vs the map's {map}",
            up.value
        );
        assert_eq!(up.value, up.pre_activation.max(0.0));
        (target, up.clone())
    };
    let (first, up) = check(&harness);
    // At row 0, column 0 with padding same, two rows and two columns of the window are padding.
    assert_eq!(up.origin, (-2, -2));
    assert_eq!(up.channels[0].inputs.iter().filter(|i| i.is_none()).count(), 25 - 9);
    // The panel shows the window, the kernel, the products, the sums and the value, in numbers.
    for text in [
        "channel 1 input".to_string(),
        "kernel".to_string(),
        "products".to_string(),
        "Σ channels".to_string(),
        format!("= {:.4} (pre-activation)", up.pre_activation),
        format!("relu({:.4}) = {:.4}", up.pre_activation, up.value),
        "the value in the map".to_string(),
    ] {
        assert!(harness.query_all_by_label_contains(&text).next().is_some(), "{text}");
    }
    harness.get_by_label("close-up next").click();
    harness.run_steps(2);
    step_until(&mut harness, WAIT, "the next position", |app| {
        app.inspector()
            .closeup()
            .is_some_and(|(t, up)| t.col == first.col + 1 && up.is_some())
    });
    let (next, up) = check(&harness);
    assert_eq!(
        (next.row, next.col),
        (0, 1),
        "moved by the stride (1) across the output"
    );
    assert_eq!(up.origin, (-2, -1), "the window moved one input column");
}

/// The app as `cnn-lab FILE --view NAME [--compare OTHER…]` opens it.
fn app_with_view(name: &str, view: &str, compare: &[&str]) -> egui_kittest::Harness<'static, cnn_lab::app::LabApp> {
    use cnn_lab::app::{AppState, LabApp, LaunchOptions, ViewRequest};
    let launch = LaunchOptions {
        file: Some(support::app::project(name)),
        view: Some(ViewRequest::parse(view).expect("a --view name")),
        compare: compare.iter().map(|c| support::app::project(c)).collect(),
        ..LaunchOptions::default()
    };
    let app = LabApp::new(AppState::default(), &launch);
    let mut harness = egui_kittest::Harness::builder()
        .with_size(egui::vec2(1440.0, 900.0))
        .build_ui_state(|ui, app: &mut LabApp| app.show(ui), app);
    harness.run_steps(2);
    harness
}

#[test]
fn view_names_open_the_close_up_the_playground_the_shift_test_and_the_comparison() {
    // --view closeup: the first convolution's middle value, with its arithmetic.
    let mut harness = app_with_view("volume_conv.ron", "closeup", &[]);
    step_until(&mut harness, WAIT, "the close-up", |app| {
        app.inspector().closeup().is_some_and(|(_, up)| up.is_some())
    });
    let (target, _) = harness.state().inspector().closeup().unwrap();
    // volume_conv.ron: 6×6×3 → Conv2D 3×3 valid → 4×4; the middle is row 1, column 1.
    assert_eq!((target.layer, target.channel, target.row, target.col), (0, 0, 1, 1));
    harness.run_steps(2);
    harness.get_by_label_contains("the value in the map");

    // --view playground: on the first layer with a window, set to its values.
    let mut harness = app_with_view("seed_quiz.ron", "playground", &[]);
    harness.run_steps(2);
    harness.get_by_label("Padding and stride playground");
    assert!(
        harness
            .query_all_by_label_contains("parameters = (f·f·c + 1)·filters = (5·5·3 + 1)·10 = 760")
            .next()
            .is_some()
    );

    // --view shift-test --compare mnist_dense.ron: both models' curves.
    let mut harness = app_with_view("pretrained/mnist_lenet.ron", "shift-test", &["mnist_dense.ron"]);
    step_until(&mut harness, WAIT, "both shift curves", |app| {
        app.inspector().shift_curves().is_some_and(|c| c.len() == 2) && !app.inspector().busy()
    });
    let names: Vec<String> = harness
        .state()
        .inspector()
        .shift_curves()
        .unwrap()
        .iter()
        .map(|c| c.name.clone())
        .collect();
    assert_eq!(names, ["MNIST LeNet", "MNIST dense (no convolution)"]);
    harness.run_steps(2);
    harness.get_by_label_contains("MNIST dense (no convolution) (101,770 parameters)");

    // --view compare --compare mnist_dense.ron: both runs in one figure.
    let mut harness = app_with_view("pretrained/mnist_lenet.ron", "compare", &["mnist_dense.ron"]);
    harness.run_steps(2);
    let runs: Vec<String> = harness
        .state()
        .compare()
        .runs()
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(runs, ["MNIST LeNet", "MNIST dense (no convolution)"]);
}
