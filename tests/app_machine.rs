//! The app on ordinary machines (issue "The app on a real user's machine"): file dialogs where
//! the system has none, small and HiDPI screens, and states that tell the truth. Driven
//! headless through egui_kittest like `app_ui.rs`.

mod support;

use cnn_lab::app::file_dialog::DialogStyle;
use cnn_lab::app::{AppCommand, AppState, LabApp, LaunchOptions};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use std::path::PathBuf;
use std::time::Duration;
use support::app::{project, step_until, temp_dir};

/// The app on the experiment file `path` in a window of `pixels` physical pixels at `scale`
/// (pixels per point). `accessible`: kittest checks every widget has a name (off only for the
/// file dialog tests: egui_file's path and name fields carry none).
fn harness(
    state: AppState,
    path: PathBuf,
    pixels: egui::Vec2,
    scale: f32,
    accessible: bool,
) -> Harness<'static, LabApp> {
    let launch = LaunchOptions {
        file: Some(path),
        ..LaunchOptions::default()
    };
    let app = LabApp::new(state, &launch);
    let mut harness = Harness::builder()
        .with_size(pixels / scale)
        .with_pixels_per_point(scale)
        .with_accessibility_check(accessible)
        .build_ui_state(|ui, app: &mut LabApp| app.show(ui), app);
    harness.run();
    harness
}

/// A bundled project at `pixels` and `scale`.
fn harness_at(state: AppState, file: &str, pixels: egui::Vec2, scale: f32) -> Harness<'static, LabApp> {
    harness(state, project(file), pixels, scale, true)
}

/// A bundled project at 1280×720, for the file dialog tests (no accessibility check).
fn harness_with(state: AppState, file: &str) -> Harness<'static, LabApp> {
    harness(state, project(file), egui::vec2(1280.0, 720.0), 1.0, false)
}

/// The same with in-window file dialogs that remember `folder` as the one used last.
fn harness_in_window(folder: &std::path::Path, file: &str) -> Harness<'static, LabApp> {
    let state = AppState {
        file_dialogs: DialogStyle::InWindow,
        recent_folders: vec![folder.to_path_buf()],
        ..AppState::default()
    };
    harness_with(state, file)
}

/// The kinds of the experiment's layers, in order.
fn kinds(h: &Harness<'_, LabApp>) -> Vec<String> {
    h.state()
        .experiment()
        .layers
        .iter()
        .map(|l| l.kind().to_string())
        .collect()
}

#[test]
fn an_untitled_experiment_is_saved_through_the_in_window_dialog_and_reopened() {
    let dir = temp_dir("in-window-dialog");
    let mut harness = harness_in_window(&dir, "seed_quiz.ron");
    harness.state().send(AppCommand::New);
    harness.run();
    assert!(harness.state().document().path().is_none());
    let untitled = harness.state().experiment().clone();

    // Ctrl+S on a file that has no place yet asks for one, inside the window.
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    harness.run();
    let dialog = harness.state().file_dialog().expect("a file dialog");
    assert!(dialog.is_in_window());
    assert_eq!(dialog.request.dir, dir, "starts in the folder used last");
    harness.get_by_label("Save").click();
    harness.run();
    harness.run();
    let saved = dir.join("untitled.ron");
    assert!(saved.is_file(), "saved to {}", saved.display());
    assert_eq!(harness.state().document().path(), Some(saved.as_path()));
    assert!(!harness.state().document().is_dirty());

    // Start anew, then open it again through the dialog: Places ▸ the folder, the file, Open.
    harness.state().send(AppCommand::New);
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    harness.run();
    assert!(harness.state().file_dialog().is_some_and(|d| d.is_in_window()));
    let folder_name = dir.file_name().unwrap().to_string_lossy().into_owned();
    harness.get_by_label(&format!("🕘 {folder_name}")).click();
    harness.run();
    harness.get_by_label("🗋 untitled.ron").click();
    harness.run();
    harness.get_by_label("Open").click();
    harness.run();
    harness.run();
    assert!(harness.state().file_dialog().is_none());
    assert_eq!(harness.state().document().path(), Some(saved.as_path()));
    assert_eq!(harness.state().experiment().layers, untitled.layers);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn saving_over_an_existing_file_in_the_in_window_dialog_asks_first() {
    let dir = temp_dir("in-window-replace");
    let existing = dir.join("untitled.ron");
    std::fs::write(&existing, "keep me").unwrap();
    let mut harness = harness_in_window(&dir, "seed_quiz.ron");
    harness.state().send(AppCommand::New);
    harness.run();
    harness.state().send(AppCommand::SaveAsDialog);
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
    harness.get_by_label("Choose another name").click();
    harness.run();
    assert_eq!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    assert!(harness.state().file_dialog().is_some(), "back in the dialog");
    harness.get_by_label("Save").click();
    harness.run();
    harness.get_by_label("Replace").click();
    harness.run();
    harness.run();
    assert_ne!(std::fs::read_to_string(&existing).unwrap(), "keep me");
    assert_eq!(harness.state().document().path(), Some(existing.as_path()));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_file_dialog_style_is_chosen_in_the_view_menu_and_remembered() {
    let mut harness = harness_with(AppState::default(), "seed_quiz.ron");
    assert_eq!(harness.state().state().file_dialogs, DialogStyle::Automatic);
    harness.get_by_label("View").click();
    harness.run();
    harness.get_by_label("File dialogs").click();
    harness.run();
    harness.get_by_label("In-window dialog").click();
    harness.run();
    assert_eq!(harness.state().state().file_dialogs, DialogStyle::InWindow);
    harness.state().send(AppCommand::ExportCsvDialog);
    harness.run();
    assert!(harness.state().file_dialog().is_some_and(|d| d.is_in_window()));
}

/// Scrolls the widget named `name` into view and returns where it is.
fn rect_of(harness: &mut Harness<'_, LabApp>, name: &str) -> egui::Rect {
    harness.get_by_label(name).scroll_to_me();
    harness.run();
    harness.get_by_label(name).rect()
}

/// The screens of the layout's range, as (physical pixels, scale): 1280×720 at 100% and 150%,
/// the smallest (1024×640 at 100%) and the largest (1920×1080 at 200%), and a 1280×720-point
/// window at 200%. (1280×720 pixels at 200% is 640×360 points, below the window's minimum.)
const SCREENS: [([f32; 2], f32); 5] = [
    ([1280.0, 720.0], 1.0),
    ([1280.0, 720.0], 1.5),
    ([1024.0, 640.0], 1.0),
    ([1920.0, 1080.0], 2.0),
    ([2560.0, 1440.0], 2.0),
];

#[test]
fn every_row_button_and_value_is_inside_the_window_at_1280x720_and_at_scale_1_5_and_2() {
    for (pixels, scale) in SCREENS {
        for file in ["seed_quiz.ron", "mnist_lenet.ron"] {
            let pixels = egui::Vec2::from(pixels);
            let mut harness = harness_at(AppState::default(), file, pixels, scale);
            let window = egui::Rect::from_min_size(egui::Pos2::ZERO, pixels / scale);
            let rows: Vec<(String, String, String)> = {
                let app = harness.state();
                let summary = &app.document().analysis().summary;
                assert_eq!(summary.layers.len(), app.experiment().layers.len(), "{file} is valid");
                summary
                    .layers
                    .iter()
                    .map(|l| (l.output.hwc(), l.params_formula.clone(), l.params().to_string()))
                    .collect()
            };
            for (index, (shape, formula, total)) in rows.iter().enumerate() {
                let n = index + 1;
                let remove = rect_of(&mut harness, &format!("remove layer {n}"));
                for name in [
                    format!("remove layer {n}"),
                    format!("duplicate layer {n}"),
                    format!("move layer {n} down"),
                    format!("move layer {n} up"),
                    format!("insert a layer after layer {n}"),
                ] {
                    let rect = rect_of(&mut harness, &name);
                    assert!(
                        window.contains_rect(rect),
                        "{file} at {pixels:?} px, scale {scale}: \"{name}\" at {rect:?} is outside the window {window:?}"
                    );
                }
                // The row's values: its output shape and its parameters, on screen near its buttons.
                let near =
                    |rect: egui::Rect| window.contains_rect(rect) && (rect.center().y - remove.center().y).abs() < 60.0;
                let shape_shown = harness.query_all_by_label_contains(shape).any(|node| near(node.rect()));
                assert!(
                    shape_shown,
                    "{file} at {pixels:?} px, scale {scale}: layer {n}'s output {shape} is not in view"
                );
                let params_shown = harness
                    .query_all_by_label_contains(formula)
                    .any(|node| near(node.rect()))
                    || harness.query_all_by_label(total).any(|node| near(node.rect()));
                assert!(
                    params_shown,
                    "{file} at {pixels:?} px, scale {scale}: layer {n}'s parameters {formula} are not in view"
                );
            }
            // And the buttons answer clicks there: move layer 1 down, then undo.
            let before: Vec<&str> = harness.state().experiment().layers.iter().map(|l| l.kind()).collect();
            let before: Vec<String> = before.into_iter().map(String::from).collect();
            rect_of(&mut harness, "move layer 1 down");
            harness.get_by_label("move layer 1 down").click();
            harness.run();
            let after: Vec<String> = harness
                .state()
                .experiment()
                .layers
                .iter()
                .map(|l| l.kind().to_string())
                .collect();
            assert_eq!(
                after[0], before[1],
                "{file} at {pixels:?} px, scale {scale}: the click moved layer 1"
            );
        }
    }
}

#[test]
fn the_training_panel_hides_to_a_strip_that_still_trains_and_shows_it_again() {
    let mut harness = harness_at(AppState::default(), "seed_quiz.ron", egui::vec2(1280.0, 720.0), 1.0);
    harness.get_by_label("hide the training panel").click();
    harness.run();
    harness.run();
    assert!(harness.state().state().hide_training_panel);
    assert!(harness.query_by_label("show the training panel").is_some());
    harness.get_by_label("show the training panel").click();
    harness.run();
    harness.run();
    assert!(!harness.state().state().hide_training_panel);
    assert!(harness.query_by_label("hide the training panel").is_some());
}

/// No label on screen and no status message says NaN.
fn assert_no_nan(harness: &Harness<'_, LabApp>, when: &str) {
    assert!(
        harness.query_all_by_label_contains("NaN").next().is_none(),
        "{when}: a label shows NaN"
    );
    for message in harness.state().status().messages() {
        assert!(
            !message.text.contains("NaN"),
            "{when}: the status says {}",
            message.text
        );
    }
}

#[test]
fn stop_during_the_first_epoch_shows_no_nan_and_says_what_was_kept() {
    let mut harness = harness_at(AppState::default(), "shapes_edges.ron", egui::vec2(1280.0, 720.0), 1.0);
    harness.state().send(AppCommand::StartTraining);
    step_until(&mut harness, Duration::from_secs(60), "the first batches", |app| {
        app.run()
            .is_some_and(|r| r.batches_seen >= 2 && r.epochs_completed == 0)
    });
    harness.state().send(AppCommand::Stop);
    step_until(&mut harness, Duration::from_secs(30), "the stop", |app| {
        app.run().is_none() && app.scoring().is_none()
    });
    harness.run();
    assert!(harness.state().experiment().history.is_empty(), "no epoch finished");
    assert!(
        harness.state().experiment().weights.is_some(),
        "the learned weights are kept"
    );
    assert_no_nan(&harness, "after a stop in the first epoch");
    assert!(harness.query_by_label("Not trained yet.").is_none());
    assert!(harness.query_all_by_label_contains("part of an epoch").next().is_some());
    let stopped = &harness
        .state()
        .status()
        .messages()
        .iter()
        .rev()
        .find(|m| m.text.starts_with("Stopped"));
    let stopped = stopped.expect("a status message about the stop");
    assert!(stopped.text.contains("first epoch"), "{}", stopped.text);
}

#[test]
fn undo_after_training_brings_back_the_untrained_model_and_a_consistent_panel() {
    let mut harness = harness_at(AppState::default(), "shapes_edges.ron", egui::vec2(1280.0, 720.0), 1.0);
    let untrained = harness.state().experiment().clone();
    harness.state().send(AppCommand::StartTraining);
    step_until(&mut harness, Duration::from_secs(120), "one epoch", |app| {
        app.run().is_some_and(|r| r.epochs_completed >= 1)
    });
    harness.state().send(AppCommand::Stop);
    step_until(
        &mut harness,
        Duration::from_secs(60),
        "the stop and the test score",
        |app| app.run().is_none() && app.scoring().is_none(),
    );
    harness.run();
    assert!(!harness.state().experiment().history.is_empty());
    assert!(harness.state().last_summary().and_then(|s| s.test_accuracy).is_some());
    assert!(harness.query_all_by_label_contains("Test accuracy").next().is_some());

    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run();
    harness.run();
    let app = harness.state();
    assert_eq!(app.experiment().weights, untrained.weights);
    assert!(app.experiment().history.is_empty());
    assert!(app.curves().epochs.is_empty(), "the curves follow the undo");
    assert!(app.curves().batch_loss.is_empty());
    assert!(app.last_summary().is_none(), "no test accuracy of the undone run");
    assert!(harness.query_all_by_label_contains("Test accuracy").next().is_none());
    assert!(harness.query_by_label("Not trained yet.").is_some());
    let latest = &harness.state().status().messages().last().unwrap().text;
    assert!(latest.contains("Undid a training run"), "{latest}");
}

#[test]
fn stop_on_the_cifar_model_returns_at_once_and_scoring_goes_on_with_a_cancel() {
    let mut harness = harness_at(AppState::default(), "cifar_shapes.ron", egui::vec2(1280.0, 720.0), 1.0);
    harness.state().send(AppCommand::StartTraining);
    step_until(&mut harness, Duration::from_secs(180), "the first batch", |app| {
        app.run().is_some_and(|r| r.batches_seen >= 1)
    });
    harness.state().send(AppCommand::Stop);
    // The run ends with the batch in flight; the test split (2,000 images) is scored after.
    step_until(&mut harness, Duration::from_secs(60), "the stop", |app| {
        app.run().is_none()
    });
    assert!(
        harness.state().scoring().is_some(),
        "the test split is scored in the background"
    );
    assert!(
        harness.state().experiment().weights.is_some(),
        "the result is already taken"
    );
    harness.run();
    assert!(
        harness.query_by_label("Train").is_some(),
        "the editor and Train are back at once"
    );
    harness.get_by_label("Cancel scoring").click();
    harness.run();
    assert!(
        harness.state().scoring().is_none(),
        "Cancel ends the scoring in the next frame"
    );
    assert!(
        harness
            .state()
            .last_summary()
            .is_some_and(|s| s.test_accuracy.is_none())
    );
    assert_no_nan(&harness, "after stopping the cifar model");
}

#[test]
fn a_bundled_example_is_saved_as_a_copy_elsewhere_never_over_itself() {
    let dir = temp_dir("example-copy");
    let original = std::fs::read(project("seed_quiz.ron")).unwrap();
    let mut harness = harness_in_window(&dir, "seed_quiz.ron");
    harness.get_by_label("add Flatten").click();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    harness.run();
    let dialog = harness.state().file_dialog().expect("Save asks where to put the copy");
    assert_eq!(dialog.request.dir, dir, "not among the examples");
    harness.get_by_label("Save").click();
    harness.run();
    harness.run();
    assert_eq!(
        std::fs::read(project("seed_quiz.ron")).unwrap(),
        original,
        "the example is unchanged"
    );
    let copy = dir.join("seed_quiz.ron");
    assert_eq!(harness.state().document().path(), Some(copy.as_path()));
    assert_eq!(harness.state().experiment().layers.last().unwrap().kind(), "Flatten");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn the_palette_adds_a_conv2d_where_it_fits_not_after_the_dense_head() {
    let mut harness = harness_at(AppState::default(), "mnist_lenet.ron", egui::vec2(1280.0, 720.0), 1.0);
    let before = kinds(&harness);
    let flatten = before
        .iter()
        .position(|k| k == "Flatten")
        .expect("mnist_lenet has a Flatten");
    harness.get_by_label("add Conv2D").click();
    harness.run();
    let after = kinds(&harness);
    assert_eq!(after.len(), before.len() + 1);
    assert_eq!(after[flatten], "Conv2D", "inserted just before Flatten: {after:?}");
    assert!(
        harness.state().document().analysis().error.is_none(),
        "the model stays valid"
    );
}

/// Types `text` into the number field named `name` and presses Enter.
fn type_into_number(harness: &mut Harness<'_, LabApp>, name: &str, text: &str) {
    harness.get_by_label(name).click();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::A);
    harness.get_by_label(name).type_text(text);
    harness.run();
    harness.key_press(egui::Key::Enter);
    harness.run();
    harness.run();
}

#[test]
fn number_fields_say_when_they_refuse_text_or_clamp_a_value() {
    let mut harness = harness_at(AppState::default(), "seed_quiz.ron", egui::vec2(1280.0, 720.0), 1.0);
    let filters = |h: &Harness<'_, LabApp>| match &h.state().experiment().layers[0] {
        cnn_lab::cnn::LayerSpec::Conv2D(c) => c.filters,
        other => panic!("seed_quiz starts with Conv2D, not {}", other.kind()),
    };
    let before = filters(&harness);
    type_into_number(&mut harness, "layer 1 filters", "abc");
    assert_eq!(filters(&harness), before, "text is refused");
    assert!(
        harness
            .query_all_by_label_contains("“abc” is not a number")
            .next()
            .is_some(),
        "the refusal is said"
    );
    type_into_number(&mut harness, "layer 1 filters", "1000000");
    assert_eq!(filters(&harness), 4096, "clamped to the largest allowed");
    assert!(
        harness
            .query_all_by_label_contains("1000000 is above the largest allowed, 4096")
            .next()
            .is_some(),
        "the clamp is said"
    );
}

#[test]
fn a_conv2d_after_flatten_is_moved_before_it_in_one_click() {
    let mut harness = harness_at(AppState::default(), "mnist_lenet.ron", egui::vec2(1280.0, 720.0), 1.0);
    let n = harness.state().experiment().layers.len();
    let flatten = harness
        .state()
        .experiment()
        .layers
        .iter()
        .position(|l| l.kind() == "Flatten")
        .unwrap();
    let conv = cnn_lab::cnn::LayerSpec::Conv2D(cnn_lab::cnn::spec::Conv2D::new(8, 3));
    harness
        .state()
        .send(AppCommand::Edit(cnn_lab::app::Edit::Insert { index: n, layer: conv }));
    harness.run();
    assert!(harness.state().document().analysis().error.is_some());
    let label = format!("move it before Flatten (layer {})", flatten + 1);
    assert!(
        harness.query_by_label("remove this layer").is_some(),
        "removal is still offered"
    );
    rect_of(&mut harness, &label);
    harness.get_by_label(&label).click();
    harness.run();
    assert_eq!(harness.state().experiment().layers[flatten].kind(), "Conv2D");
    assert_eq!(harness.state().experiment().layers[flatten + 1].kind(), "Flatten");
    assert!(harness.state().document().analysis().error.is_none(), "fixed");
}

#[test]
fn the_keyboard_reaches_the_editor_first_adds_layers_and_lists_every_shortcut() {
    let mut harness = harness_at(AppState::default(), "seed_quiz.ron", egui::vec2(1280.0, 720.0), 1.0);
    harness.key_press(egui::Key::Tab);
    harness.run();
    assert!(
        harness.get_by_label("experiment name").is_focused(),
        "the first Tab lands in the editor"
    );
    // Leave the text field, then add the palette's first layer (Conv2D) with Alt+1.
    harness.key_press(egui::Key::Escape);
    harness.run();
    let n = harness.state().experiment().layers.len();
    harness.key_press_modifiers(egui::Modifiers::ALT, egui::Key::Num1);
    harness.run();
    harness.run();
    assert_eq!(harness.state().experiment().layers.len(), n + 1);
    assert!(
        harness
            .state()
            .experiment()
            .layers
            .iter()
            .filter(|l| l.kind() == "Conv2D")
            .count()
            >= 2
    );
    // F1: the list of shortcuts, with the ones just used.
    harness.key_press(egui::Key::F1);
    harness.run();
    harness.run();
    assert!(harness.query_by_label("Keyboard shortcuts").is_some());
    assert!(harness.query_all_by_label_contains("Add Conv2D").next().is_some());
    assert!(
        harness
            .query_all_by_label_contains("the first Tab goes to the model editor")
            .next()
            .is_some()
    );
}

#[test]
fn a_broken_file_opened_at_startup_shows_its_line_column_and_what_was_expected() {
    let dir = temp_dir("startup-broken");
    let good = std::fs::read_to_string(project("mnist_lenet.ron")).unwrap();
    let broken = dir.join("broken.ron");
    // Cut inside the first Dense's `activation` field: line 17 reads `activat`.
    let cut = good.find("activation").map(|at| at + "activat".len()).unwrap();
    std::fs::write(&broken, &good[..cut]).unwrap();
    let line = good[..cut].lines().count();
    let mut harness = harness(
        AppState::default(),
        broken.clone(),
        egui::vec2(1280.0, 720.0),
        1.0,
        true,
    );
    // The window shows it (not only the app's state), and a later message does not hide it.
    let shown = harness
        .query_all_by_label_contains(&format!("line {line}, column"))
        .next()
        .map(|n| {
            format!(
                "{} {}",
                n.accesskit_node().label().unwrap_or_default(),
                n.accesskit_node().value().unwrap_or_default()
            )
        })
        .expect("the error window names the line and column");
    assert!(shown.contains("expected one of"), "{shown}");
    assert!(harness.query_by_label("OK").is_some(), "dismissable");
    harness.get_by_label("OK").click();
    harness.run();
    assert!(harness.state().error_window().is_none());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_focused_layer_row_moves_duplicates_and_goes_with_alt_keys() {
    let mut harness = harness_at(AppState::default(), "seed_quiz.ron", egui::vec2(1280.0, 720.0), 1.0);
    let before = kinds(&harness);
    harness.get_by_label("layer 1 filters").focus();
    harness.run();
    assert!(harness.get_by_label("layer 1 filters").is_focused());
    harness.key_press_modifiers(egui::Modifiers::ALT, egui::Key::ArrowDown);
    harness.run();
    harness.run();
    let moved = kinds(&harness);
    assert_eq!(
        (moved[0].as_str(), moved[1].as_str()),
        (before[1].as_str(), before[0].as_str())
    );
    harness.key_press_modifiers(egui::Modifiers::ALT, egui::Key::D);
    harness.run();
    harness.run();
    assert_eq!(kinds(&harness).len(), before.len() + 1, "duplicated");
    harness.key_press_modifiers(egui::Modifiers::ALT, egui::Key::Delete);
    harness.run();
    harness.run();
    assert_eq!(kinds(&harness).len(), before.len(), "removed");
}

#[test]
fn the_playground_opened_on_a_layer_applies_its_window_back_as_one_undo_step() {
    let mut harness = harness_at(AppState::default(), "seed_quiz.ron", egui::vec2(1280.0, 720.0), 1.0);
    let conv = |h: &Harness<'_, LabApp>| match &h.state().experiment().layers[0] {
        cnn_lab::cnn::LayerSpec::Conv2D(c) => c.clone(),
        other => panic!("{}", other.kind()),
    };
    let before = conv(&harness);
    harness
        .get_by_label("padding and stride playground for layer 1")
        .click();
    harness.run();
    let playground = harness.state().playground().clone();
    assert!(playground.open);
    assert_eq!(
        (playground.n, playground.f, playground.padding),
        (32, 5, before.padding)
    );
    // The course's formula for the quiz: ⌊(32 + 4 − 5)/1⌋ + 1 = 32.
    assert!(
        harness
            .query_all_by_label_contains("⌊(32 + 4 − 5)/1⌋ + 1 = 32")
            .next()
            .is_some()
    );
    harness.get_by_label("playground s").set_value_accesskit(2.0);
    harness.run();
    harness.run();
    assert!(
        harness
            .query_all_by_label_contains("⌊(32 + 4 − 5)/2⌋ + 1 = 16")
            .next()
            .is_some()
    );
    rect_of(&mut harness, "Apply to layer 1 (Conv2D)");
    harness.get_by_label("Apply to layer 1 (Conv2D)").click();
    harness.run();
    harness.run();
    assert_eq!(conv(&harness).strides, (2, 2));
    assert_eq!(
        harness.state().document().analysis().summary.layers[0].output.hwc(),
        "16×16×10"
    );
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run();
    assert_eq!(conv(&harness), before, "one undo step");
}

#[test]
fn a_model_exported_as_onnx_from_the_file_menu_imports_back_with_its_layers_and_weights() {
    let dir = temp_dir("onnx-menu");
    let mut harness = harness_in_window(&dir, "pretrained/mnist_lenet.ron");
    let original = harness.state().experiment().clone();
    harness.get_by_label("File").click();
    harness.run();
    harness.get_by_label("Export").click();
    harness.run();
    harness.get_by_label("ONNX model…").click();
    harness.run();
    // An example's copy goes where the user works: the recent folder.
    assert_eq!(harness.state().file_dialog().unwrap().request.dir, dir);
    harness.get_by_label("Save").click();
    harness.run();
    harness.run();
    let onnx = dir.join("mnist_lenet.onnx");
    assert!(onnx.is_file(), "{}", onnx.display());

    harness.state().send(AppCommand::ImportOnnxDialog);
    harness.run();
    let folder_name = dir.file_name().unwrap().to_string_lossy().into_owned();
    harness.get_by_label(&format!("🕘 {folder_name}")).click();
    harness.run();
    harness.get_by_label("🗋 mnist_lenet.onnx").click();
    harness.run();
    harness.get_by_label("Open").click();
    harness.run();
    harness.run();
    let imported = harness.state().experiment();
    // The file carries the experiment in its metadata: the same layers (Dropout too) and weights.
    assert_eq!(imported.layers, original.layers);
    assert_eq!(imported.weights, original.weights);
    assert!(harness.state().document().path().is_none(), "not saved anywhere yet");
    assert!(harness.state().document().is_dirty());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn saving_from_the_app_keeps_the_files_comments() {
    let dir = temp_dir("keep-comments");
    let file = dir.join("lenet.ron");
    std::fs::copy(project("mnist_lenet.ron"), &file).unwrap();
    let mut harness = harness(AppState::default(), file.clone(), egui::vec2(1280.0, 720.0), 1.0, true);
    harness.get_by_label("duplicate layer 1").click();
    harness.run();
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    harness.run();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.starts_with("// LeNet on real handwritten digits"),
        "{}",
        &text[..200]
    );
    assert_eq!(cnn_lab::experiment::load(&file).unwrap().layers.len(), 9);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn both_compare_plots_are_in_view_without_scrolling_on_every_screen() {
    for (pixels, scale) in SCREENS {
        let pixels = egui::Vec2::from(pixels);
        let mut harness = harness_at(AppState::default(), "pretrained/mnist_lenet.ron", pixels, scale);
        harness.state().send(AppCommand::OpenCompare);
        harness.run();
        harness.get_by_label("➕ This experiment").click();
        harness.run();
        harness.run();
        let figure = harness.state().compare().figure_area().expect("the figure is drawn");
        let screen = pixels / scale;
        // Both plots (200 points each where there is room, at least 120), inside the screen
        // below the menu bar and above the status bar (1280×720 at 150% is 480 points high).
        assert!(
            figure.height() >= 2.0 * 120.0 && figure.top() >= 24.0 && figure.bottom() <= screen.y - 24.0,
            "{pixels:?} at {scale}: the figure spans {figure:?} of a {screen:?} screen"
        );
    }
}

#[test]
fn two_runs_compared_show_both_names_with_what_sets_them_apart_and_export_as_csv() {
    let dir = temp_dir("compare");
    let text = std::fs::read_to_string(project("pretrained/mnist_lenet.ron")).unwrap();
    let other = dir.join("faster.ron");
    let changed = text
        .replacen("learning_rate: 0.001,", "learning_rate: 0.01,", 1)
        .replacen("name: \"", "name: \"Faster ", 1);
    assert_ne!(changed, text);
    std::fs::write(&other, changed).unwrap();
    let mut harness = harness_in_window(&dir, "pretrained/mnist_lenet.ron");
    harness.get_by_label("File").click();
    harness.run();
    harness.get_by_label("Compare runs…").click();
    harness.run();
    harness.state().send(AppCommand::CompareAdd(other.clone()));
    harness.run();
    harness.run();
    let name = harness.state().experiment().name.clone();
    let runs: Vec<String> = harness
        .state()
        .compare()
        .runs()
        .iter()
        .map(|r| r.name.clone())
        .collect();
    assert_eq!(runs, vec![name.clone(), format!("Faster {name}")]);
    let differences = harness.state().compare().differences();
    assert_eq!(
        differences,
        vec!["learning rate: 0.001".to_string(), "learning rate: 0.01".to_string()]
    );
    // Both names, with what sets them apart, in the window (legend and table).
    assert!(
        harness
            .query_all_by_label_contains(&format!("Faster {name}"))
            .next()
            .is_some()
    );
    let csv = harness.state().compare().table_csv();
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(
        csv.contains(&format!("\"Faster {name}\"")) && csv.contains("learning rate: 0.01"),
        "{csv}"
    );
    // The CSV through the dialog.
    harness.state().send(AppCommand::CompareCsvDialog);
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
    harness.run();
    let written = std::fs::read_to_string(dir.join("mnist_lenet_comparison.csv")).unwrap();
    assert_eq!(written, csv);
    // The figure as PNG: the window is photographed and the figure's rectangle kept (the pixels
    // need a renderer, which the `--screenshot` run checks; here, the area and the request).
    let figure = harness
        .state()
        .compare()
        .figure_area()
        .expect("the figure is on screen");
    assert!(figure.width() > 300.0 && figure.height() > 300.0, "{figure:?}");
    harness.get_by_label("Export figure PNG…").click();
    harness.run();
    harness.get_by_label("Save").click();
    harness.run();
    let latest = &harness.state().status().messages().last().unwrap().text;
    assert!(
        latest.starts_with("Exporting the comparison to") && latest.ends_with("mnist_lenet_comparison.png…"),
        "{latest}"
    );
    let _ = std::fs::remove_dir_all(dir);
}
