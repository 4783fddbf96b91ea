//! Does opening an inspection view ever block the UI? While the CIFAR-sized model
//! (`projects/cifar_shapes.ron`) trains in the background, this opens each view in turn (and
//! starts activation maximization in the filter view, opens the convolution close-up and runs the
//! shift test) and times every frame the UI thread runs:
//! the app's `show` plus egui's layout and tessellation, as in the window (GPU upload excluded;
//! `cnn-lab bench-ui` measures the real window). It also reports how fast training went meanwhile.
//!
//! `cargo bench --bench views` (no display needed). Prints one line per view: frames drawn, the
//! first frame (the one that opens the view), median, 95th percentile and worst frame, and
//! training images/s over the same seconds.

use cnn_lab::app::rooms::View;
use cnn_lab::app::{AppCommand, AppState, LabApp, LaunchOptions};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long each view is watched.
const WATCH: Duration = Duration::from_secs(6);
/// Frames are asked for at about 60 per second.
const FRAME: Duration = Duration::from_millis(16);

struct Watch {
    what: String,
    frames: Vec<Duration>,
    images_per_sec: f64,
    ready: bool,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn watch(harness: &mut Harness<'_, LabApp>, what: &str, batch: usize, until_ready: impl Fn(&LabApp) -> bool) -> Watch {
    let batches_before = harness.state().run().map_or(0, |r| r.batches_seen);
    let start = Instant::now();
    let mut frames = Vec::new();
    while start.elapsed() < WATCH {
        let t = Instant::now();
        harness.step();
        let took = t.elapsed();
        frames.push(took);
        std::thread::sleep(FRAME.saturating_sub(took));
    }
    let batches = harness.state().run().map_or(0, |r| r.batches_seen) - batches_before;
    Watch {
        what: what.to_string(),
        frames,
        images_per_sec: (batches * batch) as f64 / start.elapsed().as_secs_f64(),
        ready: until_ready(harness.state()),
    }
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else to parse.
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("projects/cifar_shapes.ron");
    let launch = LaunchOptions {
        file: Some(file),
        ..LaunchOptions::default()
    };
    let app = LabApp::new(AppState::default(), &launch);
    let batch = app.experiment().training.batch_size;
    let mut harness = Harness::builder()
        .with_size(egui::vec2(1440.0, 900.0))
        .build_ui_state(|ui, app: &mut LabApp| app.show(ui), app);
    harness.run_steps(2);
    harness.state().send(AppCommand::StartTraining);
    let start = Instant::now();
    while harness.state().run().is_none_or(|r| r.batches_seen < 5) {
        assert!(start.elapsed() < Duration::from_secs(300), "training did not start");
        harness.step();
        std::thread::sleep(FRAME);
    }
    println!(
        "cifar_shapes.ron training in the background; each view watched for {} s\n",
        WATCH.as_secs()
    );

    let mut watches = vec![watch(&mut harness, "model editor (before)", batch, |_| true)];
    harness.state().send(AppCommand::ShowView(room("filters")));
    watches.push(watch(&mut harness, "open Filters", batch, |app| {
        app.inspector().lens().is_some()
    }));
    match harness.query_by_label("What does each filter look for?") {
        Some(button) => button.click(),
        None => eprintln!("(the maximize button was not found)"),
    }
    watches.push(watch(&mut harness, "Filters, maximizing", batch, |app| {
        app.inspector().maximized().is_some_and(|(done, all)| done == all)
    }));
    harness.state().send(AppCommand::ShowView(room("feature-maps")));
    watches.push(watch(&mut harness, "open Feature maps", batch, |app| {
        app.inspector().prediction().is_some()
    }));
    harness
        .state_mut()
        .inspector_mut()
        .draw_on_canvas(&[[0.3, 0.3], [0.7, 0.7]]);
    watches.push(watch(&mut harness, "Feature maps, drawn", batch, |app| {
        app.inspector().prediction().is_some()
    }));
    harness.state_mut().inspector_mut().request_closeup();
    watches.push(watch(&mut harness, "Feature maps, close-up", batch, |app| {
        app.inspector().closeup().is_some_and(|(_, shown)| shown.is_some())
    }));
    harness.state().send(AppCommand::ShowView(room("mistakes")));
    watches.push(watch(&mut harness, "open Mistakes", batch, |app| {
        app.inspector().confusion().is_some()
    }));
    harness.state_mut().inspector_mut().request_shift(&[]);
    watches.push(watch(&mut harness, "Mistakes, shift test", batch, |app| {
        app.inspector().shift_curves().is_some_and(|c| !c.is_empty())
    }));
    harness.state().send(AppCommand::ShowView(View::MODEL));
    watches.push(watch(&mut harness, "model editor (after)", batch, |_| true));

    println!(
        "{:<24} {:>6} {:>9} {:>8} {:>8} {:>8} {:>9}  ready",
        "view", "frames", "first ms", "p50 ms", "p95 ms", "max ms", "img/s"
    );
    for w in &watches {
        let mut sorted = w.frames.clone();
        sorted.sort();
        println!(
            "{:<24} {:>6} {:>9.2} {:>8.2} {:>8.2} {:>8.2} {:>9.0}  {}",
            w.what,
            w.frames.len(),
            ms(w.frames[0]),
            ms(percentile(&sorted, 0.5)),
            ms(percentile(&sorted, 0.95)),
            ms(*sorted.last().unwrap()),
            w.images_per_sec,
            if w.ready { "yes" } else { "not yet" }
        );
    }
    if let Ok(load) = std::fs::read_to_string("/proc/loadavg") {
        println!("\nload average: {}", load.trim());
    }
}

/// The room named `name` on the command line.
fn room(name: &str) -> View {
    View::parse(name).expect("a room of the list")
}
