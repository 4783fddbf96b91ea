//! The shift test (the course's case for convolution): accuracy on test images moved by 0…K
//! pixels, from the CLI and the library, on the bundled MNIST models; and on sequences moved by
//! 0…K steps, the signals project's Conv1D model against a dense one.

mod support;

use cnn_lab::experiment::load_dataset;
use cnn_lab::inspect::shift_accuracy;
use cnn_lab::training::RunOptions;
use support::{TempDir, cli, project, projects_dir, train};

fn eval_json(args: &[&str]) -> serde_json::Value {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_cnn-lab"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn eval_shifts_reports_the_plain_accuracy_at_zero_and_less_when_the_digits_move() {
    let file = projects_dir().join("pretrained/mnist_lenet.ron");
    let report = eval_json(&["eval", file.to_str().unwrap(), "--shifts", "4", "--json"]);
    let plain = report["accuracy"].as_f64().unwrap();
    let shifted: Vec<f64> = report["shift_accuracy"]
        .as_array()
        .expect("shift_accuracy")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(shifted.len(), 5, "shifts 0…4");
    assert_eq!(shifted[0], plain, "shift 0 is the plain evaluation");
    assert!(shifted.iter().all(|a| (0.0..=1.0).contains(a)));
    // Moving a 28×28 digit by 4 pixels hurts even a CNN trained with ±2-pixel shifts.
    assert!(shifted[4] < shifted[0] - 0.02, "{shifted:?}");
    // Without the flag, no key.
    let report = eval_json(&["eval", file.to_str().unwrap(), "--json"]);
    assert!(report.get("shift_accuracy").is_none());
}

/// Trains a bundled MNIST project for `epochs` and returns its accuracy at shifts 0…=3.
fn shift_curve(name: &str, epochs: usize) -> Vec<f32> {
    let experiment = project(name);
    let options = RunOptions {
        base_dir: projects_dir(),
        epochs: Some(epochs),
        ..RunOptions::default()
    };
    let (trained, _) = train(experiment, options);
    let dataset = load_dataset(&trained, &projects_dir(), None).unwrap();
    let mut model = trained.build_model(dataset.num_classes(), &projects_dir()).unwrap();
    let test = dataset.test.as_ref().unwrap();
    shift_accuracy(
        &mut model,
        test,
        (dataset.channels, dataset.height, dataset.width),
        trained.input.shape(),
        &trained.training.normalization,
        3,
        1,
        &mut |_, _| true,
    )
    .unwrap()
    .unwrap()
}

#[test]
fn the_dense_model_falls_faster_than_lenet_when_the_digits_move() {
    let dense = shift_curve("mnist_dense.ron", 2);
    let lenet = shift_curve("mnist_lenet.ron", 2);
    // Both learn the unshifted digits…
    assert!(dense[0] > 0.85 && lenet[0] > 0.85, "dense {dense:?}, lenet {lenet:?}");
    // …but three pixels of shift cost the dense model much more of what it knew.
    let drop = |curve: &[f32]| curve[0] - curve[3];
    assert!(
        drop(&dense) > drop(&lenet) + 0.1,
        "dense {dense:?} (drop {}), lenet {lenet:?} (drop {})",
        drop(&dense),
        drop(&lenet)
    );
}

/// Trains the bundled `project` for `epochs` through the CLI into `dir` and returns `eval
/// --shifts K --json`'s accuracies at shifts 0…K.
fn trained_shift_curve(dir: &TempDir, project: &str, epochs: &str, k: &str) -> Vec<f64> {
    let trained = dir.join(project);
    let source = projects_dir().join(project);
    let run = cli::run(&["train", cli::s(&source), "--epochs", epochs, "--out", cli::s(&trained)]);
    assert_eq!(run.code, Some(0), "{}", run.output());
    let report = eval_json(&["eval", trained.to_str().unwrap(), "--shifts", k, "--json"]);
    let curve: Vec<f64> = report["shift_accuracy"]
        .as_array()
        .expect("shift_accuracy")
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert_eq!(
        curve[0],
        report["accuracy"].as_f64().unwrap(),
        "shift 0 is the plain evaluation"
    );
    curve
}

#[test]
fn sequences_moved_by_16_steps_cost_a_dense_model_more_than_the_conv1d_one() {
    let dir = TempDir::new("sequence-shift");
    // The lesson pair: the same data and training, Flatten and two Dense layers against Conv1D.
    let conv = trained_shift_curve(&dir, "signals_conv1d.ron", "2", "16");
    let dense = trained_shift_curve(&dir, "signals_dense.ron", "4", "16");
    assert_eq!((conv.len(), dense.len()), (17, 17), "shifts 0…16 steps");
    assert!(conv.iter().chain(&dense).all(|a| (0.0..=1.0).contains(a)));
    // Both learn the waveforms (6 classes: chance is 17%)…
    assert!(conv[0] > 0.8 && dense[0] > 0.6, "conv {conv:?}, dense {dense:?}");
    // …but 16 steps of shift (of 128) cost the dense model far more: the Conv1D filters find a
    // pattern wherever it is and GlobalAveragePooling1D asks only how much of it there is.
    let drop = |curve: &[f64]| curve[0] - curve[16];
    assert!(
        drop(&dense) > drop(&conv) + 0.05,
        "dense {dense:?} (drop {}), conv {conv:?} (drop {})",
        drop(&dense),
        drop(&conv)
    );
    // The text report names steps, not pixels.
    let run = cli::run(&["eval", cli::s(&dir.join("signals_conv1d.ron")), "--shifts", "2"]);
    let text = &run.stdout;
    assert!(
        text.contains("sequences moved by k steps (mean of later and earlier)"),
        "{text}"
    );
}
