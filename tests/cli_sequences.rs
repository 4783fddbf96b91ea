//! Sequence models through the command line as a user runs them: `summary` speaks in steps, and
//! transfer learning carries a trained Conv1D from the synthetic signals to the real GunPoint
//! series (of another length), frozen.

mod support;

use support::cli::run_env;
use support::{TempDir, decoded_weights, projects_dir};

#[test]
fn summary_of_a_sequence_model_counts_steps() {
    let file = projects_dir().join("signals_conv1d.ron");
    let run = run_env(&["summary", file.to_str().unwrap()], &[]);
    run.assert_clean();
    assert_eq!(run.code, Some(0), "{}", run.output());
    let out = &run.stdout;
    for expected in [
        "output (steps×C)",
        "128×16",
        "(9·1 + 1)·16 = 160",
        "9 steps",
        "(5·16 + 1)·32 = 2,592",
        "MACs per sample: 280,768",
    ] {
        assert!(out.contains(expected), "{expected:?} missing:\n{out}");
    }
    // 128 steps × 16 filters × 9 taps = 18,432: the first layer's MACs.
    assert_eq!(128 * 16 * 9, 18_432);
    assert!(out.contains("18,432"), "{out}");
}

#[test]
fn a_trained_conv1d_transfers_frozen_to_series_of_another_length() {
    let dir = TempDir::new("sequence-transfer");
    let source = dir.join("signals.ron");
    let run = run_env(
        &[
            "train",
            projects_dir().join("signals_conv1d.ron").to_str().unwrap(),
            "--epochs",
            "2",
            "--out",
            source.to_str().unwrap(),
        ],
        &[],
    );
    run.assert_clean();
    assert_eq!(run.code, Some(0), "{}", run.output());
    // Progress and speed speak of sequences, not images: 3,000 signals less a validation tenth.
    let out = run.output();
    assert!(out.contains("on 2700 sequences (300 validation, 600 test)"), "{out}");
    assert!(out.contains(" sequences/s): train loss"), "{out}");

    // GunPoint's 150-step series, with the signals model's first Conv1D (16 filters of 9 steps)
    // transferred and frozen.
    let text = std::fs::read_to_string(projects_dir().join("gunpoint_conv1d.ron")).unwrap();
    let target_text = text
        .replace(
            "  dataset: Bundled(\"gunpoint\"),",
            "  dataset: Bundled(\"gunpoint\"),\n  transfer: (from: \"signals.ron\", layers: 1, freeze: true),",
        )
        .replace(
            "Conv1D(filters: 16, kernel_size: 7, padding: same, activation: relu)",
            "Conv1D(filters: 16, kernel_size: 9, padding: same, activation: relu)",
        );
    assert!(target_text.contains("transfer:") && target_text.contains("kernel_size: 9"));
    let target = dir.join("gunpoint.ron");
    std::fs::write(&target, target_text).unwrap();
    let run = run_env(&["train", target.to_str().unwrap(), "--epochs", "3", "--json"], &[]);
    run.assert_clean();
    assert_eq!(run.code, Some(0), "{}", run.output());
    let json: serde_json::Value = serde_json::from_str(run.stdout.trim()).unwrap();
    assert_eq!(json["epochs"], 3);

    let source = cnn_lab::experiment::load(&source).unwrap();
    let trained = cnn_lab::experiment::load(&target).unwrap();
    let (from, to) = (decoded_weights(&source), decoded_weights(&trained));
    // The first layer's kernel and bias came across and did not move while training.
    assert_eq!(to[0], from[0], "frozen Conv1D kernel");
    assert_eq!(to[1], from[1], "frozen Conv1D bias");
    assert_eq!(to[0].len(), 16 * 9);
    // The rest trained: the second Conv1D is not the source's (it has another shape anyway).
    assert_ne!(to[2].len(), 0);
}

#[test]
fn the_keras_route_writes_sequences_steps_major_and_token_ids_as_they_are() {
    use cnn_lab::interop::npz::read_npz;
    let dir = TempDir::new("sequence-keras");
    for (project, input_shape, dims_of) in [
        ("signals_conv1d.ron", "INPUT_SHAPE = (128, 1)", [128usize, 1].as_slice()),
        ("text_conv1d.ron", "INPUT_SHAPE = (96,)", [96usize].as_slice()),
    ] {
        let out = dir.join(project.replace(".ron", ""));
        let file = projects_dir().join(project);
        let run = run_env(
            &[
                "export",
                file.to_str().unwrap(),
                "--format",
                "keras",
                "--out",
                out.to_str().unwrap(),
            ],
            &[],
        );
        run.assert_clean();
        assert_eq!(run.code, Some(0), "{}", run.output());
        let script = std::fs::read_to_string(out.join("train.py")).unwrap();
        assert!(script.contains(input_shape), "{project}: {input_shape} missing");
        assert!(script.contains("np.load(HERE / \"data.npz\")"), "{project}");
        let arrays = read_npz(&out.join("data.npz")).unwrap();
        let get = |name: &str| {
            arrays
                .iter()
                .find(|a| a.name == name)
                .unwrap_or_else(|| panic!("{name}"))
        };
        // The lab's own loader, for the values to compare with.
        let experiment = cnn_lab::experiment::load(&file).unwrap();
        let dataset = cnn_lab::experiment::load_dataset(&experiment, &projects_dir(), None).unwrap();
        let (x, y) = (get("x_train"), get("y_train"));
        assert_eq!(x.dims[0], dataset.train.len());
        assert_eq!(&x.dims[1..], dims_of, "{project}");
        assert_eq!(y.values.len(), dataset.train.len());
        assert_eq!(y.values[7], dataset.train.labels[7] as f32);
        // Sample 3, step 5, channel 0: the lab stores channel by channel, Keras steps first.
        let steps = dataset.width;
        let per_sample = x.values.len() / x.dims[0];
        assert_eq!(
            x.values[3 * per_sample + 5 * dataset.channels],
            dataset.train.sequence(3)[5]
        );
        assert_eq!(get("x_test").dims[0], dataset.test.as_ref().unwrap().len());
        assert_eq!(per_sample, steps * dataset.channels);
    }
}
