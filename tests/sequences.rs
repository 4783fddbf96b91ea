//! Sequence data end to end (issue 15, data): the `(steps, channels)` input in `.ron` files, a
//! CSV file and a text folder made here training through `--data`, predictions on a text with
//! the training vocabulary, and hostile CSVs and text folders refused with the file, the line
//! and the fix, before anything big is allocated.

mod support;

use cnn_lab::cnn::Shape;
use cnn_lab::data::{self, DataError, SignalSpec};
use cnn_lab::experiment::{self, DatasetSource, Input};
use cnn_lab::training::RunOptions;
use std::path::{Path, PathBuf};
use support::TempDir;
use support::cli::*;

/// A small 1-D model for `classes` classes on token ids (`embed`) or on values.
fn layers(classes: usize, embed: bool) -> String {
    let front = if embed {
        "Embedding(input_dim: 40, output_dim: 8), "
    } else {
        ""
    };
    format!(
        "{front}Conv1D(filters: 8, kernel_size: 5, padding: same, activation: relu), \
         GlobalMaxPooling1D, Dense(units: {classes})"
    )
}

/// An experiment file on a sequence input; `data` goes through `--data` unless `dataset` names it.
fn experiment_text(input: &str, dataset: &str, layers: &str, epochs: usize) -> String {
    format!(
        "(\n  version: 1,\n  name: \"sequences\",\n  seed: 3,\n  input: {input},\n  dataset: {dataset},\n  layers: [{layers}],\n  \
         training: (optimizer: Adam(), learning_rate: 0.01, batch_size: 16, epochs: {epochs}, validation_split: 0.0),\n)\n"
    )
}

fn write(path: &Path, text: &str) -> PathBuf {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

fn json(run: &Run) -> serde_json::Value {
    run.assert_clean();
    assert_eq!(run.code, Some(0), "{}", run.output());
    serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", run.output()))
}

#[test]
fn a_sequence_input_reads_and_writes_as_steps_and_channels() {
    let text = experiment_text(
        "(steps: 128, channels: 1)",
        "Signals(steps: 128, n_train: 60)",
        "Flatten, Dense(units: 6)",
        1,
    );
    let e = experiment::parse(&text, Path::new("seq.ron")).unwrap();
    assert_eq!(e.input, Input::sequence(128, 1));
    assert_eq!(e.input.shape(), Shape::sequence(128, 1));
    assert_eq!(
        e.dataset,
        DatasetSource::Signals(SignalSpec {
            n_train: 60,
            ..SignalSpec::default()
        })
    );
    let written = experiment::to_text(&e);
    let input_part = written
        .split("input:")
        .nth(1)
        .and_then(|t| t.split("dataset:").next())
        .unwrap_or_default();
    assert!(
        input_part.contains("steps: 128") && !input_part.contains("height"),
        "{written}"
    );
    assert_eq!(experiment::parse(&written, Path::new("seq.ron")).unwrap(), e);
    assert_eq!(
        ron::to_string(&Input::image(28, 28, 1)).unwrap(),
        "(height:28,width:28,channels:1)"
    );
    let mixed = experiment_text(
        "(steps: 128, height: 4, channels: 1)",
        "Bundled(\"gunpoint\")",
        "Flatten, Dense(units: 2)",
        1,
    );
    let err = experiment::parse(&mixed, Path::new("seq.ron")).unwrap_err().to_string();
    assert!(err.contains("or a sequence, (steps: 128, channels: 1)"), "{err}");
    // The bundled sets know their shapes before loading.
    assert_eq!(data::bundled_sample_shape("gunpoint"), Some(Shape::sequence(150, 1)));
}

/// `n` rows of a 2-class CSV: class "rise" ramps up, "fall" ramps down, with jitter.
fn csv_text(n: usize, steps: usize) -> String {
    let mut text: String = (0..steps).map(|t| format!("t{t},")).collect::<String>() + "label\n";
    for i in 0..n {
        let rise = i % 2 == 0;
        for t in 0..steps {
            let ramp = t as f32 / steps as f32;
            let v = if rise { ramp } else { 1.0 - ramp } + ((i * 7 + t * 3) % 5) as f32 * 0.05;
            text += &format!("{v:.3},");
        }
        text += if rise { "rise\n" } else { "fall\n" };
    }
    text
}

#[test]
fn a_csv_file_trains_through_data_and_its_problems_name_the_line() {
    let dir = TempDir::new("seq-csv");
    let csv = write(&dir.join("ramps.csv"), &csv_text(80, 24));
    let ron = write(
        &dir.join("ramps.ron"),
        &experiment_text(
            "(steps: 24, channels: 1)",
            "Bundled(\"gunpoint\")",
            &layers(2, false),
            6,
        ),
    );
    let out = dir.join("trained.ron");
    let result = json(&run(&[
        "train",
        s(&ron),
        "--data",
        &format!("{}#label", s(&csv)),
        "--out",
        s(&out),
        "--json",
    ]));
    let accuracy = result["train_accuracy"].as_f64().unwrap();
    assert!(accuracy > 0.9, "rising vs falling ramps are easy: {result}");
    let trained = cnn_lab::experiment::load(&out).unwrap();
    assert_eq!(trained.class_names, ["fall", "rise"]);
    assert!(trained.vocabulary.is_none(), "numbers need no vocabulary");
    // A file of 24 numbers is one signal to classify; 23 is an error naming the line.
    let ramp: Vec<String> = (0..24).map(|t| format!("{:.2}", t as f32 / 24.0)).collect();
    let sample = write(&dir.join("ramp.csv"), &ramp.join(", "));
    let predicted = json(&run(&["predict", s(&out), s(&sample), "--json"]));
    assert_eq!(predicted["predictions"][0]["top"][0]["class"], "rise", "{predicted}");
    let short = write(&dir.join("short_sample.csv"), &ramp[..23].join("\n"));
    run(&["predict", s(&out), s(&short)]).assert_refused(&["short_sample.csv", "fewer than the 24 values"]);

    // A missing value, a word, a ragged row: each names the file, the line and the column.
    let cases = [
        (
            "t0,t1,label\n1,2,a\n3,,b\n",
            vec!["bad.csv line 3", "column \"t1\"", "empty", "fill it in"],
        ),
        (
            "t0,t1,label\n1,2,a\n3,x,b\n",
            vec!["bad.csv line 3", "\"x\" is not a number"],
        ),
        (
            "t0,t1,label\n1,2,a\n3,4,5,b\n",
            vec!["bad.csv line 3", "4 cells", "header (line 1) has 3"],
        ),
    ];
    for (text, words) in cases {
        let bad = write(&dir.join("bad.csv"), text);
        run(&["train", s(&ron), "--data", s(&bad)]).assert_refused(&words);
    }
    // The wrong length says what input to set.
    let short = write(&dir.join("short.csv"), &csv_text(10, 12));
    run(&["train", s(&ron), "--data", s(&short)]).assert_refused(&["(steps: 12, channels: 1)"]);
    // An unknown label column lists the header's names.
    run(&["train", s(&ron), "--data", &format!("{}#class", s(&csv))])
        .assert_refused(&["no column \"class\"", "\"label\""]);
}

/// A text folder of two classes a character model separates: vowels vs consonants.
fn write_text_folder(root: &Path, per_class: usize) {
    for i in 0..per_class {
        let vowels: String = (0..30).map(|k| ['a', 'e', 'i', 'o', 'u'][(i + k * 3) % 5]).collect();
        let consonants: String = (0..30).map(|k| ['k', 't', 'r', 's', 'n'][(i * 2 + k) % 5]).collect();
        write(&root.join(format!("soft/{i}.txt")), &vowels);
        write(&root.join(format!("hard/{i}.txt")), &consonants);
    }
}

#[test]
fn a_text_folder_trains_through_data_and_predicts_with_the_training_vocabulary() {
    let dir = TempDir::new("seq-text");
    let texts = dir.join("texts");
    write_text_folder(&texts, 30);
    let ron = write(
        &dir.join("texts.ron"),
        &experiment_text(
            "(steps: 32, channels: 1)",
            &format!("Path({:?})", s(&texts)),
            &layers(2, true),
            5,
        ),
    );
    let out = dir.join("trained.ron");
    let result = json(&run(&[
        "train",
        s(&ron),
        "--data",
        &format!("{}#tokens=chars,vocabulary=40", s(&texts)),
        "--out",
        s(&out),
        "--json",
    ]));
    assert!(result["train_accuracy"].as_f64().unwrap() > 0.9, "{result}");
    // Training saved the vocabulary: 10 letters after <pad> and <unk>, the most frequent first.
    let trained = experiment::load(&out).unwrap();
    let vocabulary = trained.vocabulary.clone().expect("a text model saves its vocabulary");
    assert_eq!(vocabulary.len(), 12);
    assert_eq!(
        data::load_path(&texts, Some((1, 1, 32))).unwrap().vocabulary(),
        Some(&vocabulary)
    );
    // A new text is encoded with that vocabulary.
    let sample = write(&dir.join("new.txt"), &"aeiou".repeat(6));
    let predicted = json(&run(&["predict", s(&out), s(&sample), "--json"]));
    assert_eq!(predicted["predictions"][0]["top"][0]["class"], "soft", "{predicted}");
    // Other texts, whose own letter counts would order a fresh vocabulary differently, are
    // still read with the saved one.
    let other = dir.join("other");
    for i in 0..10 {
        write(&other.join(format!("soft/{i}.txt")), &"uuuuuooooa".repeat(3));
        write(&other.join(format!("hard/{i}.txt")), &"nnnnnssssk".repeat(3));
    }
    assert_ne!(
        data::load_path(&other, Some((1, 1, 32))).unwrap().vocabulary(),
        Some(&vocabulary)
    );
    let scored = json(&run(&["eval", s(&out), "--data", s(&other), "--json"]));
    assert!(scored["accuracy"].as_f64().unwrap() > 0.9, "{scored}");
}

#[test]
fn hostile_csvs_and_text_folders_are_refused_before_allocating() {
    let dir = TempDir::new("seq-hostile");
    let ron = |input: &str, dataset: &Path| {
        write(
            &dir.join("h.ron"),
            &experiment_text(input, &format!("Path({:?})", s(dataset)), "Flatten, Dense(units: 2)", 1),
        )
    };
    // A FIFO named like a CSV would block the reader.
    let fifo = dir.join("pipe.csv");
    if mkfifo(&fifo) {
        run(&["train", s(&ron("(steps: 4, channels: 1)", &fifo))]).assert_refused(&["pipe.csv", "FIFO"]);
    }
    // More rows than the memory limit allows: refused with the estimate and the fix.
    let big = write(&dir.join("big.csv"), &csv_text(4000, 64));
    run_env(
        &["train", s(&ron("(steps: 64, channels: 1)", &big))],
        &[("CNN_LAB_MAX_MEMORY_MB", "1")],
    )
    .assert_refused(&["would take about", "smaller CSV", "CNN_LAB_MAX_MEMORY_MB"]);
    // Texts too many for the memory limit at this input length are refused before one is read.
    let texts = dir.join("texts");
    write_text_folder(&texts, 300);
    run_env(
        &["train", s(&ron("(steps: 1000, channels: 1)", &texts))],
        &[("CNN_LAB_MAX_MEMORY_MB", "2")],
    )
    .assert_refused(&["would take about", "fewer texts or a shorter input"]);
    // Options that do not exist are named.
    run(&[
        "train",
        s(&ron("(steps: 4, channels: 1)", &dir.join("texts#colour=red"))),
    ])
    .assert_refused(&["\"colour\"", "tokens=chars|words"]);
    // Signals with absurd counts or lengths.
    let signals = write(
        &dir.join("sig.ron"),
        &experiment_text(
            "(steps: 128, channels: 1)",
            "Signals(n_train: 100000000000)",
            "Flatten, Dense(units: 6)",
            1,
        ),
    );
    run(&["train", s(&signals)]).assert_refused(&["n_train", "at most 1000000"]);
}

#[test]
fn sequence_datasets_are_refused_by_image_models_with_the_input_to_set() {
    let dir = TempDir::new("seq-mismatch");
    let ron = write(
        &dir.join("img.ron"),
        &experiment_text(
            "(height: 28, width: 28, channels: 1)",
            "Bundled(\"gunpoint\")",
            "Flatten, Dense(units: 2)",
            1,
        ),
    );
    run(&["train", s(&ron)]).assert_refused(&["gunpoint", "(steps: 150, channels: 1)"]);
    let err = data::signals(SignalSpec {
        steps: 4,
        ..SignalSpec::default()
    })
    .unwrap_err();
    assert!(matches!(err, DataError::InvalidRequest(_)), "{err}");
}

/// Trains a bundled project with its own settings; `(test accuracy, wall seconds)`.
fn train_project(name: &str) -> (f32, f64) {
    let e = support::project(name);
    let options = RunOptions {
        base_dir: support::projects_dir(),
        ..RunOptions::default()
    };
    let (_, summary) = support::train(e, options);
    (
        summary.test_accuracy.expect("the project has a test split"),
        summary.wall_secs,
    )
}

#[test]
fn the_signals_project_reaches_95_percent_with_its_own_settings() {
    // The bar is ≥ 95% in under 10 s. Tests assert what is learned, never wall time
    // (CI machines are shared): the time is measured by `cnn-lab train --json` in a release
    // build (README, Data) and printed here for information.
    let (accuracy, secs) = train_project("signals_conv1d.ron");
    eprintln!(
        "signals_conv1d.ron: {:.2}% in {secs:.1} s (test build)",
        accuracy * 100.0
    );
    assert!(accuracy >= 0.95, "signals_conv1d.ron: test accuracy {accuracy}");
}

#[test]
fn the_gunpoint_and_text_projects_learn_their_real_and_bundled_data() {
    // GunPoint: the same architecture in PyTorch (scripts/reference_1d.py) reaches about 97%.
    let (accuracy, _) = train_project("gunpoint_conv1d.ron");
    assert!(accuracy >= 0.95, "gunpoint_conv1d.ron: test accuracy {accuracy}");
    let (accuracy, _) = train_project("text_conv1d.ron");
    assert!(accuracy >= 0.9, "text_conv1d.ron: test accuracy {accuracy}");
}
