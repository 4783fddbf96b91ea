//! Helpers shared by the app's UI tests: the app on a bundled project in a window-sized harness,
//! and stepping frames in real time until a condition holds.
#![allow(dead_code)]

use cnn_lab::app::{AppState, LabApp, LaunchOptions};
use egui_kittest::Harness;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub fn project(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("projects").join(name)
}

/// The app on a bundled project, in a window-sized harness, with nothing remembered.
pub fn app_on(name: &str) -> Harness<'static, LabApp> {
    let launch = LaunchOptions {
        file: Some(project(name)),
        ..LaunchOptions::default()
    };
    let app = LabApp::new(AppState::default(), &launch);
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1440.0, 900.0))
        .build_ui_state(|ui, app: &mut LabApp| app.show(ui), app);
    harness.run();
    harness
}

pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cnn-lab-app-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Steps frames (in real time) until `done` holds, or fails after `timeout`.
pub fn step_until(harness: &mut Harness<'_, LabApp>, timeout: Duration, what: &str, done: impl Fn(&LabApp) -> bool) {
    let start = Instant::now();
    while !done(harness.state()) {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
}
