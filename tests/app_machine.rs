//! The app on ordinary machines (issue "The app on a real user's machine"): file dialogs where
//! the system has none, small and HiDPI screens, and states that tell the truth. Driven
//! headless through egui_kittest like `app_ui.rs`.

mod support;

use cnn_lab::app::file_dialog::DialogStyle;
use cnn_lab::app::{AppCommand, AppState, LabApp, LaunchOptions};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use support::app::{project, temp_dir};

/// The app on a bundled project in a 1280×720 window at `scale` (pixels per point).
fn harness_at(state: AppState, file: &str, scale: f32) -> Harness<'static, LabApp> {
    let launch = LaunchOptions {
        file: Some(project(file)),
        ..LaunchOptions::default()
    };
    let app = LabApp::new(state, &launch);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0) / scale)
        .with_pixels_per_point(scale)
        .build_ui_state(|ui, app: &mut LabApp| app.show(ui), app);
    harness.run();
    harness
}

/// The same at scale 1, for the file dialog tests: egui_file's path and name fields carry no
/// accessible name, so kittest's accessibility check is off here (it stays on everywhere else).
fn harness_with(state: AppState, file: &str) -> Harness<'static, LabApp> {
    let launch = LaunchOptions {
        file: Some(project(file)),
        ..LaunchOptions::default()
    };
    let app = LabApp::new(state, &launch);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1280.0, 720.0))
        .with_accessibility_check(false)
        .build_ui_state(|ui, app: &mut LabApp| app.show(ui), app);
    harness.run();
    harness
}

#[test]
fn an_untitled_experiment_is_saved_through_the_in_window_dialog_and_reopened() {
    let dir = temp_dir("in-window-dialog");
    let state = AppState {
        file_dialogs: DialogStyle::InWindow,
        recent_folders: vec![dir.clone()],
        ..AppState::default()
    };
    let mut harness = harness_with(state, "seed_quiz.ron");
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
    let state = AppState {
        file_dialogs: DialogStyle::InWindow,
        recent_folders: vec![dir.clone()],
        ..AppState::default()
    };
    let mut harness = harness_with(state, "seed_quiz.ron");
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
