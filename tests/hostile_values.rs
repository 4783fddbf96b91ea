//! Hostile values (issue 12): models whose memory estimate is above the budget, training values
//! that are not finite or out of range, impossible resume states, and warnings that must reach
//! the user of the CLI. Each refusal names the field or layer and the fix.

mod support;

use cnn_lab::experiment::{self, EpochPosition, ResumeState};
use std::path::{Path, PathBuf};
use support::cli::*;
use support::*;

/// An experiment file: `input`, `dataset`, `layers` and the `training` section's inside.
fn text(input: &str, dataset: &str, layers: &str, training: &str) -> String {
    format!(
        "(\n  version: 1,\n  name: \"hostile\",\n  seed: 1,\n  input: {input},\n  dataset: {dataset},\n  layers: [{layers}],\n  \
         training: ({training}),\n)\n"
    )
}

const TRAINING: &str = "optimizer: Adam(), learning_rate: 0.01, batch_size: 8, epochs: 1, validation_split: 0.0";
const SMALL: &str = "Conv2D(filters: 2, kernel_size: (3, 3), activation: relu), Flatten, Dense(units: 6)";
const SYNTHETIC: &str = "Synthetic(n_train: 48, n_test: 12, height: 12, width: 12)";

fn write(dir: &TempDir, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

/// The memory limit for a run: the default (half the address-space cap) where `prlimit` caps
/// the child, else set to the same 128 MiB.
fn limit_env() -> Vec<(&'static str, &'static str)> {
    if has_prlimit() {
        Vec::new()
    } else {
        vec![("CNN_LAB_MAX_MEMORY_MB", "128")]
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn models_above_the_memory_budget_are_refused_with_the_estimate_and_the_layer() {
    let dir = TempDir::new("values-budget");
    // 512 filters on 512×512×3 at batch 64: tens of GiB of activations.
    let big_conv = text(
        "(height: 512, width: 512, channels: 3)",
        "Synthetic(n_train: 10, n_test: 10, channels: 3, height: 512, width: 512)",
        "Conv2D(filters: 512, kernel_size: (3, 3), padding: same), GlobalAveragePooling2D, Dense(units: 6)",
        &TRAINING.replace("batch_size: 8", "batch_size: 64"),
    );
    // Seven million units on 8×8: 450 million weights and their optimizer state.
    let big_dense = text(
        "(height: 8, width: 8, channels: 1)",
        "Synthetic(n_train: 10, n_test: 10, height: 8, width: 8)",
        "Flatten, Dense(units: 7000000), Dense(units: 6)",
        TRAINING,
    );
    // A 65536×5 kernel with same padding on the shapes project: few weights, 1 GB of im2col
    // columns per thread.
    let project = std::fs::read_to_string(projects_dir().join("shapes_edges.ron")).unwrap();
    let huge_kernel = project.replacen("kernel_size: (5, 5)", "kernel_size: (65536, 5)", 1);
    assert_ne!(huge_kernel, project);
    for (name, contents, words) in [
        (
            "conv.ron",
            big_conv,
            vec![
                "training this model at batch_size 64",
                "layer 1 (Conv2D",
                "lower batch_size",
            ],
        ),
        ("dense.ron", big_dense, vec!["layer 2 (Dense", "fewer filters or units"]),
        (
            "kernel.ron",
            huge_kernel,
            vec!["layer 1 (Conv2D", "im2col columns of 980.0 MiB per thread"],
        ),
    ] {
        let path = write(&dir, name, &contents);
        let out = run_env(&["train", s(&path)], &limit_env());
        let mut all = vec![
            "would take about",
            "more than the limit of 128.0 MiB",
            "CNN_LAB_MAX_MEMORY_MB",
        ];
        all.extend(words);
        out.assert_refused(&all);
        // `summary` shows the same estimate rather than refusing.
        let summary = run(&["summary", s(&path), "--json"]);
        summary.assert_clean();
        let v: serde_json::Value = serde_json::from_str(summary.stdout.trim()).unwrap();
        let estimate = v["training_memory_bytes"].as_u64().unwrap();
        assert!(estimate > 1 << 30, "{name}: summary estimates {estimate} bytes");
    }

    // eval and predict: scoring a trained model counts too (here against a 0 MiB limit).
    let (_, trained) = trained_tiny_saved(&dir);
    let image = dir.join("x.png");
    image::GrayImage::from_pixel(12, 12, image::Luma([90]))
        .save(&image)
        .unwrap();
    for args in [vec!["eval", s(&trained)], vec!["predict", s(&trained), s(&image)]] {
        run_env(&args, &[("CNN_LAB_MAX_MEMORY_MB", "0")])
            .assert_refused(&["running this model on 128 images", "CNN_LAB_MAX_MEMORY_MB"]);
    }
}

#[test]
fn training_values_out_of_range_are_refused_naming_the_field() {
    let dir = TempDir::new("values-training");
    let cases: &[(&str, &str, &[&str])] = &[
        ("weight_decay: NaN", SMALL, &["weight_decay is NaN", "0.0001"]),
        ("weight_decay: -5", SMALL, &["weight_decay is -5"]),
        (
            "schedule: StepDecay(every_epochs: 0, factor: 0.0)",
            SMALL,
            &["every_epochs is 0", "at least 1"],
        ),
        (
            "schedule: StepDecay(every_epochs: 2, factor: 0.0)",
            SMALL,
            &["StepDecay factor is 0"],
        ),
        (
            "schedule: Cosine(final_fraction: inf)",
            SMALL,
            &["final_fraction is inf"],
        ),
        ("optimizer: Adam(beta_1: 1.0)", SMALL, &["beta_1 is 1", "below 1"]),
        ("optimizer: Adam(epsilon: 0.0)", SMALL, &["epsilon is 0", "1e-7"]),
        ("optimizer: SGD(momentum: NaN)", SMALL, &["momentum is NaN", "0.9"]),
        (
            "augmentation: (random_shift: 1000)",
            SMALL,
            &["random_shift is 1000", "such as 2"],
        ),
        (
            "normalization: Standardize(std: [1e-7])",
            SMALL,
            &["std[0] is 0.0000001", "0.001"],
        ),
        (
            "epochs: 18446744073709551615",
            SMALL,
            &["epochs is 18446744073709551615", "at most 1000000"],
        ),
        ("max_train_samples: 0", SMALL, &["max_train_samples is 0"]),
        (
            "",
            "MaxPooling2D(pool_size: (18446744073709551615, 18446744073709551615), padding: same), Flatten, Dense(units: 6)",
            &["pool_size", "more than twice its 12×12 input", "(2, 2)"],
        ),
        (
            "",
            "Flatten, Dense(units: 8, activation: leaky_relu(NaN)), Dense(units: 6)",
            &["leaky_relu slope is NaN", "leaky_relu(0.2)"],
        ),
    ];
    for (i, (setting, layers, words)) in cases.iter().enumerate() {
        let training = match setting.split_once(':') {
            Some((field, _)) if TRAINING.contains(&format!("{field}:")) => {
                let rest: Vec<&str> = TRAINING
                    .split(", ")
                    .filter(|p| !p.starts_with(&format!("{field}:")))
                    .collect();
                format!("{}, {setting}", rest.join(", "))
            }
            Some(_) => format!("{TRAINING}, {setting}"),
            None => TRAINING.to_string(),
        };
        let path = write(
            &dir,
            &format!("case{i}.ron"),
            &text("(height: 12, width: 12, channels: 1)", SYNTHETIC, layers, &training),
        );
        run(&["train", s(&path)]).assert_refused(words);
    }
    // The command line's epoch count.
    let path = write(
        &dir,
        "ok.ron",
        &text("(height: 12, width: 12, channels: 1)", SYNTHETIC, SMALL, TRAINING),
    );
    run(&["train", s(&path), "--epochs", "18446744073709551615"]).assert_refused(&["--epochs", "out of range"]);
    run(&["train", s(&path), "--epochs", "0"]).assert_refused(&["--epochs 0", "1 to 1000000"]);
}

#[test]
fn an_impossible_resume_state_is_refused_naming_the_field() {
    let dir = TempDir::new("values-resume");
    let (trained, _) = trained_tiny_saved(&dir);
    let state = |position: Option<EpochPosition>| ResumeState {
        epochs_done: 1,
        last_epoch: 3,
        iterations: 9,
        m: Vec::new(),
        v: Vec::new(),
        position,
    };
    let at = |batches_done: usize, correct: usize, seen: usize, loss_sum: f64| EpochPosition {
        epoch: 2,
        batches_done,
        loss_sum,
        correct,
        seen,
    };
    let cases = [
        (
            state(Some(at(2, 999_999, 16, 1.0))),
            vec!["resume position is 999999 correct of 16 seen", "--fresh"],
        ),
        (
            state(Some(at(usize::MAX, 5, 10, 1.0))),
            vec!["batches_done is 18446744073709551615", "--fresh"],
        ),
        (state(Some(at(2, 5, 10, f64::NAN))), vec!["loss_sum is NaN"]),
        (
            ResumeState {
                epochs_done: 7,
                ..state(None)
            },
            vec!["epochs_done is 7", "the history holds 1 epochs"],
        ),
        (
            ResumeState {
                last_epoch: usize::MAX,
                ..state(None)
            },
            vec!["last_epoch is 18446744073709551615"],
        ),
    ];
    for (resume, words) in cases {
        let mut e = trained.clone();
        e.resume = Some(resume);
        let path = dir.join("resume.ron");
        experiment::save(&e, &path).unwrap();
        let before = std::fs::read(&path).unwrap();
        run(&["train", s(&path)]).assert_refused(&words);
        assert!(std::fs::read(&path).unwrap() == before, "the file was changed");
    }
}

#[test]
fn skipped_files_reach_the_cli_as_warnings() {
    let dir = TempDir::new("values-warnings");
    let folder = dir.join("patterns");
    write_pattern_folder(&folder, 4, 3);
    std::fs::write(folder.join("checks").join("broken.png"), b"not a png at all").unwrap();
    let path = write(
        &dir,
        "patterns.ron",
        &text(
            "(height: 16, width: 16, channels: 3)",
            &format!("Path({:?})", folder.display().to_string()),
            "Conv2D(filters: 2, kernel_size: (3, 3), activation: relu), Flatten, Dense(units: 3)",
            TRAINING,
        ),
    );
    let trained = run(&["train", s(&path), "--json"]);
    trained.assert_clean();
    assert_eq!(trained.code, Some(0), "{}", trained.output());
    let v: serde_json::Value = serde_json::from_str(trained.stdout.trim()).unwrap();
    let warnings = v["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("no warnings array: {v}"));
    assert!(
        warnings.iter().any(|w| w.as_str().unwrap().contains("broken.png")),
        "{v}"
    );
    // Without --json: on stderr.
    let plain = run(&["train", s(&path)]);
    assert!(
        plain.stderr.contains("warning: skipped") && plain.stderr.contains("broken.png"),
        "{}",
        plain.stderr
    );
    let eval = run(&["eval", s(&path), "--json"]);
    eval.assert_clean();
    let v: serde_json::Value = serde_json::from_str(eval.stdout.trim()).unwrap();
    assert!(v["warnings"].to_string().contains("broken.png"), "{v}");
    let eval = run(&["eval", s(&path)]);
    assert!(eval.stderr.contains("broken.png"), "{}", eval.stderr);
}

#[test]
fn absurd_explicit_paddings_are_refused_without_overflow() {
    // Found by tests/fuzz.rs: output sizes past u64 when multiplied, and `h + 2p` past usize.
    let dir = TempDir::new("values-padding");
    for padding in ["4294967295", "18446744073709551615"] {
        let layers =
            format!("Conv2D(filters: 2, kernel_size: (3, 3), padding: explicit({padding})), Flatten, Dense(units: 6)");
        let path = write(
            &dir,
            "padding.ron",
            &text("(height: 12, width: 12, channels: 1)", SYNTHETIC, &layers, TRAINING),
        );
        run(&["summary", s(&path)]).assert_refused(&["layer 1", "Conv2D"]);
        run(&["train", s(&path)]).assert_refused(&["layer 1", "Conv2D"]);
    }
}
