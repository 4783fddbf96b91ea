//! The desktop app, driven headless through egui_kittest: widgets are found by their label,
//! clicked, and what the app shows (and holds) is read back.

mod support;

use cnn_lab::app::{AppCommand, AppState, LabApp, LaunchOptions, Phase};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};
use std::path::{Path, PathBuf};
use std::time::Duration;
use support::app::{app_on, project, step_until, temp_dir};

#[test]
fn adding_a_conv2d_to_the_seed_quiz_shows_its_shape_and_parameters() {
    let mut harness = app_on("seed_quiz.ron");
    assert_eq!(harness.state().experiment().layers.len(), 4);
    // Take out the quiz's own Conv2D, then rebuild it from the palette.
    harness.get_by_label("remove layer 1").click();
    harness.run();
    assert_eq!(harness.state().experiment().layers.len(), 3);
    assert!(harness.query_by_label("(5·5·3 + 1)·10 = 760").is_none());

    harness.get_by_label("insert position").click();
    harness.run();
    harness.get_by_label("at the start (after the input)").click();
    harness.run();
    assert_eq!(harness.state().insert_position(), Some(0));
    harness.get_by_label("add Conv2D").click();
    harness.run();
    assert_eq!(harness.state().experiment().layers[0].kind(), "Conv2D");

    harness.get_by_label("layer 1 filters").set_value_accesskit(10.0);
    harness.run();
    harness.get_by_label("layer 1 kernel height").set_value_accesskit(5.0);
    harness.get_by_label("layer 1 kernel width").set_value_accesskit(5.0);
    harness.run();
    harness.get_by_label("layer 1 padding").click();
    harness.run();
    harness.get_by_label("explicit p").click();
    harness.run();
    harness.get_by_label("layer 1 padding p").set_value_accesskit(2.0);
    harness.run();

    // The row reads as the course's quiz answer.
    harness.get_by_label("32×32×10");
    harness.get_by_label("(5·5·3 + 1)·10 = 760");
    let info = &harness.state().document().analysis().summary.layers[0];
    assert_eq!((info.output.hwc(), info.params()), ("32×32×10".to_string(), 760));
    assert!(harness.state().document().analysis().error.is_none());
    assert!(harness.state().document().is_dirty());
}

#[test]
fn an_invalid_pooling_layer_turns_red_blocks_training_and_is_fixed_in_one_click() {
    let mut harness = app_on("seed_quiz.ron");
    assert!(!harness.get_by_label("Train").accesskit_node().is_disabled());
    // A 40×40 window on the 32×32 feature maps leaves nothing with padding 'valid'.
    harness.get_by_label("layer 2 pool height").set_value_accesskit(40.0);
    harness.get_by_label("layer 2 pool width").set_value_accesskit(40.0);
    harness.run();

    let sentence = "layer 2 MaxPooling2D: input is 32×32 but pool_size is 40×40";
    assert!(
        !harness
            .get_all_by_label_contains(sentence)
            .collect::<Vec<_>>()
            .is_empty()
    );
    assert!(harness.get_by_label("Train").accesskit_node().is_disabled());
    harness.get_by_label_contains("Cannot train yet: layer 2 MaxPooling2D");
    assert_eq!(harness.state().document().analysis().summary.layers.len(), 1);

    harness.get_by_label("use padding 'same'").click();
    harness.run();
    // ceil(32 / 40) = 1: the repaired row reads 1×1×10, and training is possible again.
    harness.get_by_label("1×1×10");
    assert!(harness.state().document().analysis().error.is_none());
    assert!(harness.query_by_label_contains(sentence).is_none());
    assert!(!harness.get_by_label("Train").accesskit_node().is_disabled());

    // The fix is one undo step.
    harness.state().send(AppCommand::Undo);
    harness.run();
    assert!(harness.state().document().analysis().error.is_some());
    harness.state().send(AppCommand::Redo);
    harness.run();
    assert!(harness.state().document().analysis().error.is_none());
}

#[test]
fn save_and_reopen_give_the_same_experiment_and_a_broken_file_changes_nothing() {
    let dir = temp_dir("save");
    let path = dir.join("quiz copy.ron");
    let mut harness = app_on("seed_quiz.ron");
    harness.get_by_label("layer 4 units").set_value_accesskit(6.0);
    harness.get_by_label("add Dropout").click();
    harness.run();
    assert!(harness.state().document().is_dirty());
    let edited = harness.state().experiment().clone();

    harness.state().send(AppCommand::SaveAs(path.clone()));
    harness.run();
    assert!(
        !harness.state().document().is_dirty(),
        "{:?}",
        harness.state().status().latest()
    );
    assert_eq!(harness.state().document().path(), Some(path.as_path()));

    harness.state().send(AppCommand::Open(project("shapes_edges.ron")));
    harness.run();
    assert_eq!(harness.state().experiment().name, "Shapes: watch edge detectors form");
    harness.state().send(AppCommand::Open(path.clone()));
    harness.run();
    assert_eq!(*harness.state().experiment(), edited);
    assert_eq!(
        harness
            .state()
            .state()
            .recent
            .first()
            .map(|p| p.ends_with("quiz copy.ron")),
        Some(true)
    );

    // A broken file: the error names the line and column, and the experiment stays.
    let broken = dir.join("broken.ron");
    std::fs::write(
        &broken,
        "(\n  version: 1,\n  name: \"x\",\n  input: (height: 28 width: 28),\n)\n",
    )
    .unwrap();
    harness.state().send(AppCommand::Open(broken));
    harness.run();
    let (title, message) = harness.state().error_window().expect("an error window");
    assert!(title.contains("broken.ron"), "{title}");
    assert!(message.contains("line 4, column"), "{message}");
    assert_eq!(*harness.state().experiment(), edited);
    harness.get_by_label("OK").click();
    harness.run();
    assert!(harness.state().error_window().is_none());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_broken_file_given_at_launch_is_reported_not_silently_replaced() {
    let dir = temp_dir("launch-broken");
    let good = std::fs::read_to_string(project("mnist_lenet.ron")).unwrap();
    let broken = dir.join("broken.ron");
    std::fs::write(&broken, &good[..good.len() / 2]).unwrap();
    let launch = LaunchOptions {
        file: Some(broken.clone()),
        ..LaunchOptions::default()
    };
    let app = LabApp::new(AppState::default(), &launch);
    let (title, message) = app.error_window().expect("an error window about the file");
    assert!(title.contains("broken.ron"), "{title}");
    assert!(!message.is_empty());
    let latest = app.status().messages().last().expect("a status message");
    assert!(latest.text.contains("broken.ron"), "{}", latest.text);
    assert_ne!(app.document().path(), Some(broken.as_path()));
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn unsaved_changes_are_asked_about_before_new() {
    let mut harness = app_on("seed_quiz.ron");
    harness.get_by_label("add Flatten").click();
    harness.run();
    harness.state().send(AppCommand::New);
    harness.run();
    assert!(harness.state().pending().is_some());
    harness.get_by_label("Cancel").click();
    harness.run();
    assert!(harness.state().pending().is_none());
    assert_eq!(harness.state().experiment().layers.len(), 5);

    harness.state().send(AppCommand::New);
    harness.run();
    harness.get_by_label("Don't save").click();
    harness.run();
    assert_eq!(harness.state().experiment().name, "Untitled");
    assert!(harness.state().document().path().is_none());
}

#[test]
fn undo_and_redo_shortcuts_walk_the_edit_history() {
    let mut harness = app_on("shapes_edges.ron");
    harness.get_by_label("duplicate layer 1").click();
    harness.run();
    harness.get_by_label("move layer 6 up").click();
    harness.run();
    let layers = |h: &Harness<'_, LabApp>| {
        h.state()
            .experiment()
            .layers
            .iter()
            .map(|l| l.kind())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        layers(&harness),
        [
            "Conv2D",
            "Conv2D",
            "MaxPooling2D",
            "Conv2D",
            "Flatten",
            "MaxPooling2D",
            "Dense"
        ]
    );
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run();
    assert_eq!(
        layers(&harness),
        [
            "Conv2D",
            "Conv2D",
            "MaxPooling2D",
            "Conv2D",
            "MaxPooling2D",
            "Flatten",
            "Dense"
        ]
    );
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run();
    assert_eq!(
        layers(&harness),
        ["Conv2D", "MaxPooling2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense"]
    );
    harness.key_press_modifiers(egui::Modifiers::COMMAND | egui::Modifiers::SHIFT, egui::Key::Z);
    harness.run();
    assert_eq!(
        layers(&harness),
        [
            "Conv2D",
            "Conv2D",
            "MaxPooling2D",
            "Conv2D",
            "MaxPooling2D",
            "Flatten",
            "Dense"
        ]
    );
}

#[test]
fn training_streams_points_into_the_plots_and_pauses_resumes_and_stops() {
    let mut harness = app_on("shapes_edges.ron");
    harness.get_by_label("Train").click();
    // While training, the app keeps repainting: step frames instead of `run`.
    harness.run_steps(2);
    assert!(
        harness.state().run().is_some(),
        "{:?}",
        harness.state().status().latest()
    );
    // Editing the architecture is blocked while the run is active.
    harness
        .state()
        .send(AppCommand::Edit(cnn_lab::app::Edit::Remove { index: 0 }));
    harness.step();
    assert_eq!(harness.state().experiment().layers.len(), 6);

    step_until(&mut harness, Duration::from_secs(120), "batches", |app| {
        app.curves().batch_loss.len() >= 5
    });
    let first = harness.state().run().map(|r| r.fraction()).unwrap_or_default();
    step_until(&mut harness, Duration::from_secs(120), "progress", |app| {
        app.run().is_some_and(|r| r.fraction() > first)
    });
    let bar_width = harness
        .get_by_label_contains("training progress: epoch 1/3 · batch")
        .rect()
        .width();

    harness.get_by_label("Pause").click();
    step_until(&mut harness, Duration::from_secs(60), "the pause", |app| {
        app.run().is_some_and(|r| r.phase == Phase::Paused)
    });
    let seen = harness.state().run().map(|r| r.batches_seen).unwrap_or_default();
    for _ in 0..10 {
        harness.step();
        std::thread::sleep(Duration::from_millis(30));
    }
    assert_eq!(
        harness.state().run().map(|r| r.batches_seen),
        Some(seen),
        "no batches while paused"
    );
    let paused_bar = harness
        .get_by_label_contains("training progress: paused")
        .rect()
        .width();
    assert_eq!(
        paused_bar, bar_width,
        "the progress bar must not widen its panel frame after frame"
    );

    harness.get_by_label("Step").click();
    step_until(&mut harness, Duration::from_secs(60), "one step", |app| {
        app.run()
            .is_some_and(|r| r.batches_seen == seen + 1 && r.phase == Phase::Paused)
    });
    harness.get_by_label("Resume").click();
    step_until(&mut harness, Duration::from_secs(60), "batches after resuming", |app| {
        app.run().is_some_and(|r| r.batches_seen > seen + 3)
    });

    harness.get_by_label("Stop").click();
    step_until(&mut harness, Duration::from_secs(120), "the run to finish", |app| {
        app.run().is_none()
    });
    let app = harness.state();
    assert!(app.experiment().weights.is_some(), "{:?}", app.status().latest());
    assert!(app.document().is_dirty(), "a finished run is unsaved");
    assert!(app.last_summary().is_some_and(|s| s.stopped));
    assert_eq!(app.experiment().layers.len(), 6);
}

#[test]
fn every_bundled_project_opens_without_becoming_unsaved() {
    let projects = cnn_lab::app::paths::experiments_in(&project(""));
    assert!(projects.len() >= 5, "{projects:?}");
    for path in projects {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap().to_string();
        let mut harness = app_on(&name);
        harness.run();
        let app = harness.state();
        assert_eq!(app.document().path(), Some(path.as_path()), "{name}");
        assert!(!app.document().is_dirty(), "{name}: showing a file must not edit it");
        assert!(
            app.document().training_blocker().is_none(),
            "{name}: {:?}",
            app.document().training_blocker()
        );
    }
}

#[test]
fn changing_the_input_reflows_every_shape() {
    let mut harness = app_on("seed_quiz.ron");
    harness.get_by_label("input height").set_value_accesskit(64.0);
    harness.run();
    harness.get_by_label("64×32×10");
    harness.get_by_label("32×16×10");
    harness.get_by_label("(5120 + 1)·6 = 30,726");
    let experiment = harness.state().experiment();
    // Synthetic shapes are drawn at the input size.
    match &experiment.dataset {
        cnn_lab::experiment::DatasetSource::Synthetic(spec) => assert_eq!((spec.height, spec.width), (64, 32)),
        other => panic!("{other:?}"),
    }
    // One undo step brings every shape back.
    harness.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Z);
    harness.run();
    harness.get_by_label("32×32×10");
    assert!(!harness.state().document().can_undo());
}

#[test]
fn dense_on_feature_maps_offers_flatten_and_rows_insert_from_their_menu() {
    let mut harness = app_on("seed_quiz.ron");
    harness.get_by_label("remove layer 3").click();
    harness.run();
    let sentence = "layer 3 Dense: Dense needs a flat vector, but its input is the 16×16×10 feature maps";
    // In the row and beside the disabled Train button.
    assert_eq!(harness.get_all_by_label_contains(sentence).count(), 2);
    harness.get_by_label("insert Flatten").click();
    harness.run();
    assert!(harness.state().document().analysis().error.is_none());
    assert_eq!(harness.state().experiment().layers[2].kind(), "Flatten");

    harness.get_by_label("insert a layer after layer 1").click();
    harness.run();
    harness.get_by_label("insert BatchNormalization after layer 1").click();
    harness.run();
    let kinds: Vec<_> = harness.state().experiment().layers.iter().map(|l| l.kind()).collect();
    assert_eq!(
        kinds,
        ["Conv2D", "BatchNormalization", "MaxPooling2D", "Flatten", "Dense"]
    );
    // BatchNormalization: 2·10 trainable (γ, β) and 2·10 moving statistics.
    assert_eq!(harness.state().document().analysis().summary.layers[1].params(), 40);
}

#[test]
fn history_exports_as_csv() {
    let dir = temp_dir("csv");
    let csv = dir.join("history.csv");
    let mut harness = app_on("pretrained/mnist_lenet.ron");
    let epochs = harness.state().experiment().history.len();
    assert!(epochs > 0);
    harness.state().send(AppCommand::ExportCsv(csv.clone()));
    harness.run();
    let text = std::fs::read_to_string(&csv).unwrap();
    let lines: Vec<_> = text.lines().collect();
    assert_eq!(
        lines[0],
        "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds"
    );
    assert_eq!(lines.len(), epochs + 1);
    assert!(lines[1].starts_with("1,"));
    let _ = std::fs::remove_dir_all(dir);
}

#[derive(Debug)]
struct DroppedPath(PathBuf);

impl egui::DroppedFile for DroppedPath {
    fn path(&self) -> &Path {
        &self.0
    }
    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

#[test]
fn dropping_a_ron_file_opens_it() {
    let mut harness = app_on("seed_quiz.ron");
    let path = project("shapes_edges.ron");
    harness
        .input_mut()
        .dropped_files
        .push(std::sync::Arc::new(DroppedPath(path.clone())));
    harness.run();
    assert_eq!(harness.state().document().path(), Some(path.as_path()));
}

#[test]
fn saved_app_state_loads_with_defaults_for_missing_fields() {
    let state: AppState = serde_json::from_str(r#"{"dark_mode": true}"#).unwrap();
    assert!(state.dark_mode);
    assert!(state.recent.is_empty());
    assert_eq!(state.plots, cnn_lab::app::plots::PlotsPanel::default());
    let text = serde_json::to_string(&state).unwrap();
    assert_eq!(serde_json::from_str::<AppState>(&text).unwrap(), state);
}

#[test]
fn the_examples_menu_opens_a_bundled_project() {
    let mut harness = app_on("shapes_edges.ron");
    harness.get_by_label("File").click();
    harness.run();
    harness.get_by_label("Examples").click();
    harness.run();
    harness.get_by_label("seed_quiz.ron").click();
    harness.run();
    assert_eq!(
        harness.state().document().path(),
        Some(project("seed_quiz.ron").as_path())
    );
    assert!(!harness.state().document().is_dirty());
    // The other menus draw too (and every glyph in them exists in the fonts).
    // ("Training" also heads the training panel: the menu is the first.)
    for menu in ["Edit", "Training", "View"] {
        harness.get_all_by_label(menu).next().unwrap().click();
        harness.run();
    }
    harness.get_by_label("Dark theme").click();
    harness.run();
    assert!(harness.state().state().dark_mode);
}
