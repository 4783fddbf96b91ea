//! The `cnn-lab` binary's `summary`, `train`, `eval` and `predict` commands as a user runs them,
//! including a new user's own image folder and broken data files.

mod support;

use cnn_lab::data::SHAPE_CLASSES;
use cnn_lab::experiment::{self, Experiment};
use cnn_lab::training::{RunOptions, Trainer};
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use support::*;

fn cnn_lab(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_cnn-lab"))
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs a command that must succeed and print one JSON object.
fn json_ok(args: &[&str]) -> Value {
    let out = cnn_lab(args);
    assert!(
        out.status.success(),
        "{args:?} failed:\n{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    serde_json::from_str(stdout(&out).trim()).unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{}", stdout(&out)))
}

/// Runs a `--json` command that must fail and print `{"error": ...}`; returns the message.
fn json_error(args: &[&str]) -> String {
    let out = cnn_lab(args);
    assert!(!out.status.success(), "{args:?} should fail:\n{}", stdout(&out));
    let v: Value = serde_json::from_str(stdout(&out).trim())
        .unwrap_or_else(|e| panic!("{args:?}: the error is not JSON ({e}):\n{}", stdout(&out)));
    let obj = v.as_object().unwrap();
    assert_eq!(obj.len(), 1, "only an error key: {v}");
    obj["error"].as_str().expect("error is a string").to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn project_path(name: &str) -> String {
    projects_dir().join(name).display().to_string()
}

/// 12×12×1 synthetic shapes, 240 training images (216 after validation), 60 test images.
const TINY_RON: &str = r#"// A tiny experiment for the command-line tests.
(
  version: 1,
  name: "cli tiny",
  seed: 4,
  input: (height: 12, width: 12, channels: 1),
  dataset: Synthetic(n_train: 240, n_test: 60, channels: 1, height: 12, width: 12, seed: 9),
  layers: [
    Conv2D(filters: 4, kernel_size: (3, 3), activation: relu),
    MaxPooling2D(pool_size: (2, 2)),
    Flatten,
    Dense(units: 6),
  ],
  training: (
    optimizer: Adam(),
    learning_rate: 0.01,
    batch_size: 24,
    epochs: 2,
  ),
)
"#;

fn write_tiny(dir: &TempDir) -> PathBuf {
    let path = dir.join("tiny.ron");
    std::fs::write(&path, TINY_RON).unwrap();
    path
}

/// Writes the tiny experiment and trains it through the CLI into `trained.ron`.
fn trained_tiny(dir: &TempDir) -> PathBuf {
    let file = write_tiny(dir);
    let out = dir.join("trained.ron");
    json_ok(&["train", s(&file), "--out", s(&out), "--json"]);
    out
}

// ---------------------------------------------------------------------------------------------
// summary

#[test]
fn summary_prints_the_course_arithmetic_for_the_seed_quiz() {
    let out = cnn_lab(&["summary", &project_path("seed_quiz.ron")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let row = text
        .lines()
        .find(|l| l.starts_with("1 "))
        .unwrap_or_else(|| panic!("no row 1:\n{text}"));
    assert!(row.contains("Conv2D(10, 5×5"), "{row}");
    assert!(row.contains("32×32×10"), "{row}");
    assert!(row.contains("(5·5·3 + 1)·10 = 760"), "{row}");
    assert!(row.contains("768,000"), "MACs 32·32·10·75: {row}");
    assert!(text.contains("(2560 + 1)·6 = 15,366"), "{text}");
    assert!(
        text.contains("Total parameters: 16,126 (trainable 16,126, non-trainable 0)"),
        "{text}"
    );
    assert!(!text.contains("error"), "{text}");
}

#[test]
fn summary_json_lists_layers_and_totals() {
    let v = json_ok(&["summary", &project_path("seed_quiz.ron"), "--json"]);
    let layers = v["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 4);
    assert_eq!(layers[0]["kind"], "Conv2D");
    assert_eq!(layers[0]["output_shape"], serde_json::json!([32, 32, 10]));
    assert_eq!(layers[0]["params"], 760);
    assert_eq!(layers[0]["params_formula"], "(5·5·3 + 1)·10 = 760");
    assert_eq!(layers[1]["kind"], "MaxPooling2D");
    assert_eq!(layers[1]["output_shape"], serde_json::json!([16, 16, 10]));
    assert_eq!(layers[2]["output_shape"], serde_json::json!([2560]));
    assert_eq!(layers[3]["params"], 15_366);
    let sum: u64 = layers.iter().map(|l| l["params"].as_u64().unwrap()).sum();
    assert_eq!(v["total_params"], 16_126);
    assert_eq!(v["total_params"].as_u64(), Some(sum));
    assert_eq!(v["input_shape"], serde_json::json!([32, 32, 3]));
    assert!(v.get("error").is_none(), "{v}");
}

#[test]
fn summary_of_a_sequence_model_speaks_in_steps() {
    let dir = TempDir::new("cli-summary-sequence");
    let path = dir.join("signals.ron");
    std::fs::write(
        &path,
        r#"(
  name: "signals",
  input: (steps: 128, channels: 1),
  dataset: Path("signals.csv"),
  layers: [
    Conv1D(filters: 16, kernel_size: 5, activation: relu),
    MaxPooling1D(pool_size: 2),
    Conv1D(filters: 32, kernel_size: 3, padding: causal, dilation_rate: 2, activation: relu),
    GlobalAveragePooling1D,
    Dense(units: 4, activation: softmax),
  ],
)"#,
    )
    .unwrap();
    let out = cnn_lab(&["summary", s(&path)]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("output (steps×C)"), "{text}");
    let row = text
        .lines()
        .find(|l| l.starts_with("3 "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        row.contains("Conv1D(32, 3, strides 1, padding causal, dilation 2, relu)"),
        "{row}"
    );
    assert!(row.contains("62×32") && row.contains("(3·16 + 1)·32 = 1,568"), "{row}");
    assert!(row.contains("14 steps"), "{row}");
    let v = json_ok(&["summary", s(&path), "--json"]);
    assert_eq!(v["input_shape"], serde_json::json!([128, 1]));
    assert_eq!(v["layers"][0]["output_shape"], serde_json::json!([124, 16]));
    assert_eq!(v["layers"][2]["receptive_field"], serde_json::json!([14]));
    assert_eq!(v["layers"][0]["params_formula"], "(5·1 + 1)·16 = 96");
}

#[test]
fn summary_marks_the_transferred_layers_as_frozen() {
    let out = cnn_lab(&["summary", &project_path("mnist_transfer_to_fashion.ron")]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let frozen: Vec<&str> = text.lines().filter(|l| l.contains("(frozen)")).collect();
    assert_eq!(frozen.len(), 2, "{text}");
    assert!(frozen[0].starts_with("1 ") && frozen[1].starts_with("3 "), "{frozen:?}");
    assert!(text.contains("trainable 103,818, non-trainable 25,570"), "{text}");
    let v = json_ok(&["summary", &project_path("mnist_transfer_to_fashion.ron"), "--json"]);
    assert_eq!(v["non_trainable_params"], 25_570);
    assert_eq!(v["layers"][2]["trainable_params"], 0);
    assert_eq!(v["layers"][2]["params"], 25_050);
}

#[test]
fn summary_of_an_impossible_model_names_the_layer_and_fails() {
    let dir = TempDir::new("cli-summary-invalid");
    let path = dir.join("impossible.ron");
    std::fs::write(
        &path,
        TINY_RON
            .replace(
                "height: 12, width: 12, channels: 1),\n  dataset",
                "height: 4, width: 4, channels: 1),\n  dataset",
            )
            .replace("    Flatten,", "    MaxPooling2D(pool_size: (2, 2)),\n    Flatten,"),
    )
    .unwrap();
    let out = cnn_lab(&["summary", s(&path)]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains("error: layer 3 MaxPooling2D: input is 1×1 but pool_size is 2×2, so the output would be 0×0"),
        "{text}"
    );
    // The rows before the error are still shown.
    assert!(
        text.lines().any(|l| l.starts_with("1 ") && l.contains("2×2×4")),
        "{text}"
    );

    let out = cnn_lab(&["summary", s(&path), "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let error = v["error"].as_str().unwrap();
    assert!(error.starts_with("layer 3 MaxPooling2D"), "{error}");
    assert_eq!(v["layers"].as_array().unwrap().len(), 2, "the valid rows: {v}");
}

// ---------------------------------------------------------------------------------------------
// train

#[test]
fn train_json_reports_the_documented_keys_and_writes_the_trained_file() {
    let dir = TempDir::new("cli-train");
    let file = write_tiny(&dir);
    let out_file = dir.join("out.ron");
    let v = json_ok(&["train", s(&file), "--epochs", "1", "--out", s(&out_file), "--json"]);
    assert_eq!(v["epochs"], 1);
    for key in [
        "train_loss",
        "train_accuracy",
        "val_accuracy",
        "test_accuracy",
        "wall_secs",
        "images_per_sec",
    ] {
        let x = v[key]
            .as_f64()
            .unwrap_or_else(|| panic!("{key} missing or not a number: {v}"));
        assert!(x.is_finite() && x >= 0.0, "{key} = {x}");
    }
    for key in ["train_accuracy", "val_accuracy", "test_accuracy"] {
        assert!(v[key].as_f64().unwrap() <= 1.0, "{key}: {v}");
    }
    assert!(v["images_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(v["stopped"], false);
    assert_eq!(v["diverged"], Value::Null);
    assert_eq!(v["saved_to"], s(&out_file));

    let trained = experiment::load(&out_file).unwrap();
    assert_eq!(trained.weights.as_ref().map(Vec::len), Some(4));
    assert_eq!(trained.history.len(), 1);
    assert_eq!(trained.history[0].train_loss, v["train_loss"].as_f64().unwrap() as f32);
    assert_eq!(trained.class_names, SHAPE_CLASSES.map(String::from).to_vec());
    // --out leaves the original file alone.
    assert_eq!(std::fs::read_to_string(&file).unwrap(), TINY_RON);
}

#[test]
fn train_text_mode_reports_and_saves_back_to_the_file_then_continues() {
    let dir = TempDir::new("cli-train-text");
    let file = write_tiny(&dir);
    let out = cnn_lab(&["train", s(&file), "--epochs", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("1 epoch(s)"), "{text}");
    assert!(text.contains("test accuracy:"), "{text}");
    assert!(text.contains(&format!("saved to {}", s(&file))), "{text}");
    let once = experiment::load(&file).unwrap();
    assert_eq!(once.history.len(), 1);
    // Training the saved file again continues its history.
    json_ok(&["train", s(&file), "--epochs", "1", "--json"]);
    let twice = experiment::load(&file).unwrap();
    assert_eq!(twice.history.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![1, 2]);
    // --fresh starts over.
    json_ok(&["train", s(&file), "--epochs", "1", "--fresh", "--json"]);
    let fresh = experiment::load(&file).unwrap();
    assert_eq!(fresh.history.iter().map(|r| r.epoch).collect::<Vec<_>>(), vec![1]);
    assert_bit_identical(
        &decoded_weights(&fresh),
        &decoded_weights(&once),
        "same seed, same start",
    );
}

/// The command line and the worker API are the same training loop: identical weights, losses
/// and test accuracy for the same file and seed.
#[test]
fn cli_and_worker_api_give_identical_results() {
    let dir = TempDir::new("cli-vs-api");
    let file = write_tiny(&dir);
    let out_file = dir.join("cli.ron");
    let v = json_ok(&[
        "train",
        s(&file),
        "--epochs",
        "2",
        "--seed",
        "17",
        "--out",
        s(&out_file),
        "--json",
    ]);
    let from_cli = experiment::load(&out_file).unwrap();

    let options = RunOptions {
        base_dir: dir.path().to_path_buf(),
        epochs: Some(2),
        seed: Some(17),
        ..RunOptions::default()
    };
    let trainer = Trainer::spawn(experiment::load(&file).unwrap(), options).unwrap();
    let (from_api, summary) = trainer.wait(|_| {}).unwrap();

    assert_eq!(from_cli.seed, 17);
    assert_bit_identical(
        &decoded_weights(&from_cli),
        &decoded_weights(&from_api),
        "CLI weights vs worker weights",
    );
    let losses = |e: &Experiment| e.history.iter().map(|r| r.train_loss.to_bits()).collect::<Vec<_>>();
    assert_eq!(losses(&from_cli), losses(&from_api));
    assert_eq!(v["train_loss"].as_f64().unwrap() as f32, summary.train_loss);
    assert_eq!(v["test_accuracy"].as_f64().map(|x| x as f32), summary.test_accuracy);
    // And a different seed differs, so the comparison means something.
    let other = dir.join("other.ron");
    json_ok(&[
        "train",
        s(&file),
        "--epochs",
        "2",
        "--seed",
        "18",
        "--out",
        s(&other),
        "--json",
    ]);
    let other = experiment::load(&other).unwrap();
    assert_bits_differ(
        &decoded_weights(&other),
        &decoded_weights(&from_api),
        "seed 18 vs seed 17",
    );
}

// ---------------------------------------------------------------------------------------------
// eval and predict

#[test]
fn eval_json_scores_the_whole_test_split() {
    let dir = TempDir::new("cli-eval");
    let trained = trained_tiny(&dir);
    let v = json_ok(&["eval", s(&trained), "--json"]);
    let confusion: Vec<Vec<u64>> = serde_json::from_value(v["confusion_matrix"].clone()).unwrap();
    assert_eq!(confusion.len(), 6);
    assert!(confusion.iter().all(|r| r.len() == 6));
    let total: u64 = confusion.iter().flatten().sum();
    assert_eq!(total, 60, "every test image counted once");
    assert_eq!(v["count"], 60);
    assert_eq!(v["scored"], "test split");
    let correct: u64 = (0..6).map(|i| confusion[i][i]).sum();
    assert_eq!(v["accuracy"].as_f64().unwrap() as f32, correct as f32 / 60.0);
    let per_class = v["per_class_accuracy"].as_array().unwrap();
    assert_eq!(per_class.len(), 6);
    for (i, acc) in per_class.iter().enumerate() {
        let row: u64 = confusion[i].iter().sum();
        assert_eq!(row, 10, "round-robin labels: 10 test images per class");
        assert_eq!(acc.as_f64().unwrap() as f32, confusion[i][i] as f32 / row as f32);
    }
    assert_eq!(v["class_names"], serde_json::json!(SHAPE_CLASSES));
    assert!(v["loss"].as_f64().unwrap().is_finite());

    // The same numbers as the training run's own test score.
    let saved = experiment::load(&trained).unwrap();
    let options = RunOptions {
        epochs: Some(0),
        ..RunOptions::default()
    };
    let (_, summary) = Trainer::spawn(saved, options).unwrap().wait(|_| {}).unwrap();
    assert_eq!(summary.test_accuracy, Some(v["accuracy"].as_f64().unwrap() as f32));

    // Text mode shows the matrix.
    let out = cnn_lab(&["eval", s(&trained)]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("on 60 images (test split)"), "{text}");
    assert!(text.contains("confusion matrix"), "{text}");
}

fn write_line_png(path: &Path, horizontal: bool) {
    let img = image::RgbImage::from_fn(24, 24, |x, y| {
        let (across, along) = if horizontal { (y, x) } else { (x, y) };
        if (11..13).contains(&across) && (3..21).contains(&along) {
            image::Rgb([255, 255, 255])
        } else {
            image::Rgb([0, 0, 0])
        }
    });
    img.save(path).unwrap();
}

#[test]
fn predict_prints_top_classes_with_probabilities() {
    let dir = TempDir::new("cli-predict");
    let trained = trained_tiny(&dir);
    let a = dir.join("a.png");
    let b = dir.join("b.png");
    write_line_png(&a, true);
    write_line_png(&b, false);
    let v = json_ok(&["predict", s(&trained), s(&a), s(&b), "--json"]);
    let predictions = v["predictions"].as_array().unwrap();
    assert_eq!(predictions.len(), 2);
    for (p, path) in predictions.iter().zip([&a, &b]) {
        assert_eq!(p["image"], s(path));
        let top = p["top"].as_array().unwrap();
        assert_eq!(top.len(), 3);
        let probs: Vec<f64> = top.iter().map(|t| t["probability"].as_f64().unwrap()).collect();
        assert!(probs.iter().all(|p| (0.0..=1.0).contains(p)), "{probs:?}");
        assert!(probs.windows(2).all(|w| w[0] >= w[1]), "sorted: {probs:?}");
        assert!(probs.iter().sum::<f64>() <= 1.0 + 1e-6, "{probs:?}");
        for t in top {
            let index = t["index"].as_u64().unwrap() as usize;
            assert_eq!(t["class"], SHAPE_CLASSES[index]);
        }
    }
    let out = cnn_lab(&["predict", s(&trained), s(&a)]);
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.starts_with(&format!("{}:", s(&a))), "{text}");
    let shown: Vec<&str> = text.lines().filter(|l| l.contains('%')).collect();
    assert_eq!(shown.len(), 3, "{text}");
    assert!(
        SHAPE_CLASSES.iter().any(|c| shown[0].ends_with(c)),
        "named classes: {text}"
    );
}

// ---------------------------------------------------------------------------------------------
// errors

#[test]
fn json_errors_are_one_object_and_a_failure_exit() {
    let dir = TempDir::new("cli-errors");
    let missing = dir.join("missing.ron");
    for command in ["summary", "train", "eval"] {
        let message = json_error(&[command, s(&missing), "--json"]);
        assert!(message.contains("missing.ron"), "{command}: {message}");
        assert!(message.contains("cannot read"), "{command}: {message}");
    }

    let malformed = dir.join("malformed.ron");
    std::fs::write(&malformed, TINY_RON.replace("    Flatten,\n", "    Flatten\n")).unwrap();
    for command in ["summary", "train", "eval"] {
        let message = json_error(&[command, s(&malformed), "--json"]);
        assert!(
            message.contains("malformed.ron line 12, column 5"),
            "{command}: {message}"
        );
    }

    let untrained = write_tiny(&dir);
    let message = json_error(&["eval", s(&untrained), "--json"]);
    assert!(message.contains("no trained weights yet"), "{message}");
    assert!(message.contains("cnn-lab train"), "{message}");
    let png = dir.join("x.png");
    write_line_png(&png, true);
    let message = json_error(&["predict", s(&untrained), s(&png), "--json"]);
    assert!(message.contains("no trained weights yet"), "{message}");

    // Predicting on something that is not an image names it.
    let trained = trained_tiny(&dir);
    let not_image = dir.join("notes.png");
    std::fs::write(&not_image, "just text").unwrap();
    let message = json_error(&["predict", s(&trained), s(&not_image), "--json"]);
    assert!(message.contains("notes.png"), "{message}");

    // Without --json the error goes to stderr.
    let out = cnn_lab(&["eval", s(&untrained)]);
    assert!(!out.status.success());
    assert!(stdout(&out).is_empty());
    assert!(stderr(&out).starts_with("error: "), "{}", stderr(&out));
    assert!(stderr(&out).contains("no trained weights yet"));
}

// ---------------------------------------------------------------------------------------------
// A new user's image folder

const PATTERNS_RON: &str = r#"// My own pictures: three kinds of patterns, 16×16 colour.
(
  name: "my patterns",
  seed: 2,
  input: (height: 16, width: 16, channels: 3),
  dataset: Path("photos"),
  layers: [
    Conv2D(filters: 8, kernel_size: (3, 3), activation: relu),
    MaxPooling2D(pool_size: (2, 2)),
    Flatten,
    Dense(units: 3),
  ],
  training: (optimizer: Adam(), learning_rate: 0.01, batch_size: 16, epochs: 12),
)
"#;

#[test]
fn a_new_users_image_folder_trains_and_scores_well_on_fresh_images() {
    let dir = TempDir::new("cli-folder");
    let photos = dir.join("photos");
    let fresh = dir.join("fresh");
    write_pattern_folder(&photos, 40, 1);
    write_pattern_folder(&fresh, 20, 2);
    let file = dir.join("patterns.ron");
    std::fs::write(&file, PATTERNS_RON).unwrap();

    let v = json_ok(&["summary", s(&file), "--json"]);
    assert_eq!(v["layers"][0]["output_shape"], serde_json::json!([14, 14, 8]));

    let out_file = dir.join("trained.ron");
    let v = json_ok(&["train", s(&file), "--data", s(&photos), "--out", s(&out_file), "--json"]);
    assert_eq!(v["epochs"], 12);
    assert_eq!(v["test_accuracy"], Value::Null, "the folder has no test split");
    assert!(v["val_accuracy"].as_f64().is_some());
    let trained = experiment::load(&out_file).unwrap();
    assert_eq!(trained.class_names, PATTERN_CLASSES.map(String::from).to_vec());

    // Fresh pictures the model has never seen.
    let v = json_ok(&["eval", s(&out_file), "--data", s(&fresh), "--json"]);
    assert_eq!(v["count"], 60);
    assert_eq!(v["scored"], "whole dataset (no test split)");
    assert_eq!(v["class_names"], serde_json::json!(PATTERN_CLASSES));
    let accuracy = v["accuracy"].as_f64().unwrap();
    assert!(
        accuracy >= 0.8,
        "accuracy {accuracy} on fresh images (chance is 1/3): {v}"
    );
    let per_class = v["per_class_accuracy"].as_array().unwrap();
    assert!(
        per_class.iter().all(|a| a.as_f64().unwrap() >= 0.5),
        "every class is learned: {per_class:?}"
    );
    // The experiment's own path (relative to the file) works too: the training pictures.
    let v = json_ok(&["eval", s(&out_file), "--json"]);
    assert_eq!(v["count"], 120);
    assert!(v["accuracy"].as_f64().unwrap() >= accuracy - 0.2);

    // Predicting single new pictures names the folder classes.
    let mut rng = StdRng::seed_from_u64(3);
    let mut right = 0;
    for (class, name) in PATTERN_CLASSES.iter().enumerate() {
        for i in 0..2 {
            let png = dir.join(format!("new-{name}-{i}.png"));
            pattern_image(class, &mut rng).save(&png).unwrap();
            let v = json_ok(&["predict", s(&out_file), s(&png), "--json"]);
            let top = &v["predictions"][0]["top"][0];
            assert!(PATTERN_CLASSES.contains(&top["class"].as_str().unwrap()), "{v}");
            right += usize::from(top["class"] == *name);
        }
    }
    assert!(right >= 5, "{right} of 6 new pictures recognised");
}

// ---------------------------------------------------------------------------------------------
// Broken data

/// A 28×28×1 experiment to point `--data` at IDX files.
fn idx_experiment(dir: &TempDir) -> PathBuf {
    let path = dir.join("digits.ron");
    std::fs::write(
        &path,
        TINY_RON
            .replace(
                "height: 12, width: 12, channels: 1),\n  dataset",
                "height: 28, width: 28, channels: 1),\n  dataset",
            )
            .replace("Dense(units: 6)", "Dense(units: 10)"),
    )
    .unwrap();
    path
}

fn digits(n: u32) -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..n * 784).map(|i| (i % 251) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    (pixels, labels)
}

#[test]
fn idx_data_with_a_wrong_magic_number_is_a_clear_error() {
    let dir = TempDir::new("cli-idx-magic");
    let file = idx_experiment(&dir);
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    let (pixels, labels) = digits(20);
    // An HTML error page saved under the images file's name.
    let html = idx_images(0x3C68_746D, 20, 28, 28, &pixels);
    std::fs::write(data.join("train-images-idx3-ubyte"), html).unwrap();
    std::fs::write(data.join("train-labels-idx1-ubyte"), idx_labels(&labels)).unwrap();
    for target in [data.clone(), data.join("train-images-idx3-ubyte")] {
        let message = json_error(&["train", s(&file), "--data", s(&target), "--json"]);
        assert!(message.contains("train-images-idx3-ubyte"), "{message}");
        assert!(message.contains("not an IDX images file"), "{message}");
        assert!(
            message.contains("magic number is 0x3C68746D, expected 0x00000803"),
            "{message}"
        );
    }
    // Without --json: on stderr, exit 1, nothing saved.
    let out = cnn_lab(&["train", s(&file), "--data", s(&data)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("magic number"), "{}", stderr(&out));
    assert!(experiment::load(&file).unwrap().weights.is_none(), "nothing was saved");

    // Labels with the images' magic number.
    std::fs::write(
        data.join("train-images-idx3-ubyte"),
        idx_images(0x803, 20, 28, 28, &pixels),
    )
    .unwrap();
    std::fs::write(
        data.join("train-labels-idx1-ubyte"),
        idx_images(0x803, 20, 1, 1, &labels),
    )
    .unwrap();
    let message = json_error(&["train", s(&file), "--data", s(&data), "--json"]);
    assert!(message.contains("not an IDX labels file"), "{message}");
    assert!(message.contains("train-labels-idx1-ubyte"), "{message}");
}

#[test]
fn truncated_idx_data_is_a_clear_error() {
    let dir = TempDir::new("cli-idx-truncated");
    let file = idx_experiment(&dir);
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    let (pixels, labels) = digits(10);
    // The header promises 10 images; the copy stopped after 5.
    std::fs::write(
        data.join("train-images-idx3-ubyte"),
        idx_images(0x803, 10, 28, 28, &pixels[..5 * 784]),
    )
    .unwrap();
    std::fs::write(data.join("train-labels-idx1-ubyte"), idx_labels(&labels)).unwrap();
    let message = json_error(&["train", s(&file), "--data", s(&data), "--json"]);
    assert!(message.contains("train-images-idx3-ubyte is truncated"), "{message}");
    assert!(message.contains("expected 7856 bytes, got 3936"), "{message}");

    // A gzipped file cut short.
    std::fs::remove_file(data.join("train-images-idx3-ubyte")).unwrap();
    let mut gz = Vec::new();
    {
        use std::io::Write;
        let mut enc = flate2::write::GzEncoder::new(&mut gz, flate2::Compression::default());
        enc.write_all(&idx_images(0x803, 10, 28, 28, &pixels)).unwrap();
        enc.finish().unwrap();
    }
    gz.truncate(gz.len() / 2);
    std::fs::write(data.join("train-images-idx3-ubyte.gz"), gz).unwrap();
    let message = json_error(&["train", s(&file), "--data", s(&data), "--json"]);
    assert!(message.contains("train-images-idx3-ubyte.gz"), "{message}");
    assert!(
        message.contains("could not decompress") || message.contains("truncated"),
        "{message}"
    );

    // eval --data reports the same problem for a trained experiment.
    let good = dir.join("good");
    std::fs::create_dir(&good).unwrap();
    let (pixels, labels) = digits(40);
    std::fs::write(
        good.join("train-images-idx3-ubyte"),
        idx_images(0x803, 40, 28, 28, &pixels),
    )
    .unwrap();
    std::fs::write(good.join("train-labels-idx1-ubyte"), idx_labels(&labels)).unwrap();
    let trained = dir.join("trained.ron");
    json_ok(&[
        "train",
        s(&file),
        "--data",
        s(&good),
        "--epochs",
        "1",
        "--out",
        s(&trained),
        "--json",
    ]);
    let message = json_error(&["eval", s(&trained), "--data", s(&data), "--json"]);
    assert!(message.contains("train-images-idx3-ubyte.gz"), "{message}");
}

// ---------------------------------------------------------------------------------------------
// Image folders beyond the happy path

/// Trains the pattern experiment on a fresh 3-class folder (40 pictures per class) and returns
/// the trained file. `training` replaces the experiment's training section.
fn trained_patterns(dir: &TempDir, training: &str) -> PathBuf {
    write_pattern_folder(&dir.join("photos"), 40, 1);
    let file = dir.join("patterns.ron");
    let ron = PATTERNS_RON.replace(
        "training: (optimizer: Adam(), learning_rate: 0.01, batch_size: 16, epochs: 12)",
        training,
    );
    std::fs::write(&file, ron).unwrap();
    json_ok(&["train", s(&file), "--json"]);
    file
}

/// An image folder lists its pictures class by class; `max_train_samples` must still train on
/// every class (a subset of each), not on the first classes only.
#[test]
fn max_train_samples_keeps_every_class_of_an_image_folder() {
    let dir = TempDir::new("cli-folder-max");
    let file = trained_patterns(
        &dir,
        "training: (optimizer: Adam(), learning_rate: 0.01, batch_size: 16, epochs: 12, max_train_samples: 60)",
    );
    let fresh = dir.join("fresh");
    write_pattern_folder(&fresh, 20, 2);
    let v = json_ok(&["eval", s(&file), "--data", s(&fresh), "--json"]);
    let per_class: Vec<f64> = v["per_class_accuracy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_f64().unwrap())
        .collect();
    assert!(
        per_class.iter().all(|&a| a >= 0.5),
        "a class was never trained on: per-class accuracy {per_class:?} for {:?}, confusion {}",
        PATTERN_CLASSES,
        v["confusion_matrix"]
    );
}

/// New pictures of only some of the classes (here no "checks") are scored against the classes
/// the model was trained on, matched by folder name.
#[test]
fn eval_on_a_folder_with_some_of_the_classes_scores_them_by_name() {
    let dir = TempDir::new("cli-folder-subset");
    let file = trained_patterns(
        &dir,
        "training: (optimizer: Adam(), learning_rate: 0.01, batch_size: 16, epochs: 12)",
    );
    let fresh = dir.join("fresh");
    write_pattern_folder(&fresh, 10, 2);
    std::fs::remove_dir_all(fresh.join("checks")).unwrap();
    let out = cnn_lab(&["eval", s(&file), "--data", s(&fresh), "--json"]);
    assert!(
        out.status.success(),
        "evaluating horizontal and vertical pictures only fails: {}",
        stdout(&out)
    );
    let v: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["count"], 20);
    assert!(v["accuracy"].as_f64().unwrap() >= 0.8, "{v}");
}

/// A folder whose class names are not the trained ones cannot be scored by position: that
/// silently pairs "zz_checks" pictures with the "vertical" output.
#[test]
fn eval_on_a_folder_with_other_class_names_is_an_error_not_a_silent_mismatch() {
    let dir = TempDir::new("cli-folder-renamed");
    let file = trained_patterns(
        &dir,
        "training: (optimizer: Adam(), learning_rate: 0.01, batch_size: 16, epochs: 12)",
    );
    let renamed = dir.join("renamed");
    write_pattern_folder(&renamed, 10, 2);
    std::fs::rename(renamed.join("checks"), renamed.join("zz_checks")).unwrap();
    let out = cnn_lab(&["eval", s(&file), "--data", s(&renamed), "--json"]);
    assert!(
        !out.status.success(),
        "scored a folder with an unknown class by position: {}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("zz_checks"), "{}", stdout(&out));
}

// ---------------------------------------------------------------------------------------------
// Messages

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Each error is said once: no message repeated after a colon.
#[test]
fn error_messages_say_things_once() {
    let dir = TempDir::new("cli-messages");
    // A file that does not exist.
    let message = json_error(&["summary", s(&dir.join("missing.ron")), "--json"]);
    assert_eq!(count(&message, "No such file or directory"), 1, "{message}");
    // Broken data given to eval.
    let trained = trained_tiny(&dir);
    let data = dir.join("data");
    std::fs::create_dir(&data).unwrap();
    let (pixels, labels) = digits(4);
    std::fs::write(
        data.join("train-images-idx3-ubyte"),
        idx_images(0x3C68_746D, 4, 28, 28, &pixels),
    )
    .unwrap();
    std::fs::write(data.join("train-labels-idx1-ubyte"), idx_labels(&labels)).unwrap();
    let message = json_error(&["eval", s(&trained), "--data", s(&data), "--json"]);
    assert_eq!(count(&message, "magic number"), 1, "{message}");
    let out = cnn_lab(&["eval", s(&trained), "--data", s(&data)]);
    assert_eq!(count(&stderr(&out), "magic number"), 1, "{}", stderr(&out));
    // A save that cannot happen.
    let file = write_tiny(&dir);
    let message = json_error(&[
        "train",
        s(&file),
        "--epochs",
        "1",
        "--out",
        s(&dir.join("no-such-folder").join("x.ron")),
        "--json",
    ]);
    assert!(message.contains("cannot save"), "{message}");
    // Checked before training, so no time is lost; said once.
    assert_eq!(count(&message, "does not exist"), 1, "{message}");
}
