//! The `.ron` experiment format as users meet it: the bundled projects, exact round trips (with
//! weights), broken files with precise messages, atomic saving, and transfer learning.

mod support;

use cnn_lab::cnn::{Mode, Model, Optimizer, OptimizerKind, Shape, Tensor, infer};
use cnn_lab::experiment::{self, DatasetSource, Experiment, ExperimentError, FORMAT_VERSION, Training};
use cnn_lab::training::{Event, RunOptions};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::path::Path;
use support::*;

fn parse(text: &str) -> Result<Experiment, ExperimentError> {
    experiment::parse(text, Path::new("broken.ron"))
}

/// A short hand-written experiment; line numbers matter to the parse-error tests below.
const SMALL: &str = r#"(
  version: 1,
  name: "small",
  seed: 3,
  input: (height: 12, width: 12, channels: 1),
  dataset: Synthetic(n_train: 100, n_test: 20, height: 12, width: 12),
  layers: [
    Conv2D(filters: 4, kernel_size: (3, 3), activation: relu),
    Flatten,
    Dense(units: 6),
  ],
)
"#;

fn random_input(batch: usize, shape: Shape, seed: u64) -> Tensor {
    let mut rng = StdRng::seed_from_u64(seed);
    let data = (0..batch * shape.len())
        .map(|_| rng.random_range(0.0f32..1.0))
        .collect();
    Tensor::from_vec(batch, shape, data).unwrap()
}

// ---------------------------------------------------------------------------------------------
// The bundled projects

#[test]
fn every_bundled_project_loads_and_passes_shape_inference() {
    let files = project_files();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.strip_prefix(projects_dir()).unwrap().display().to_string())
        .collect();
    for expected in [
        "seed_quiz.ron",
        "mnist_lenet.ron",
        "fashion_cnn.ron",
        "shapes_edges.ron",
        "mnist_transfer_to_fashion.ron",
        "pretrained/mnist_lenet.ron",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} missing from {names:?}");
    }
    for file in &files {
        let e = experiment::load(file).unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        assert_eq!(e.version, FORMAT_VERSION, "{}", file.display());
        assert!(!e.name.is_empty(), "{}", file.display());
        let classes = e.dataset.known_classes();
        assert!(
            classes.is_some(),
            "{}: every bundled project uses known data",
            file.display()
        );
        let summary = infer(e.input.shape(), &e.effective_layers(), classes)
            .unwrap_or_else(|err| panic!("{}: {err}", file.display()));
        assert_eq!(summary.layers.len(), e.layers.len(), "{}", file.display());
        assert_eq!(summary.output(), Shape::flat(classes.unwrap()), "{}", file.display());
    }
}

#[test]
fn seed_quiz_first_row_is_the_course_answer() {
    let e = project("seed_quiz.ron");
    let s = infer(e.input.shape(), &e.effective_layers(), e.dataset.known_classes()).unwrap();
    let row = &s.layers[0];
    assert_eq!(row.kind, "Conv2D");
    assert_eq!(row.output, Shape::image(32, 32, 10));
    assert_eq!(row.output.hwc(), "32×32×10");
    assert_eq!(row.params(), 760);
    assert_eq!(row.trainable_params, 760);
    assert_eq!(row.params_formula, "(5·5·3 + 1)·10 = 760");
    // The rest of the quiz model: pooling halves to 16×16×10, then Dense(6) on 2,560 features.
    assert_eq!(s.layers[1].output, Shape::image(16, 16, 10));
    assert_eq!(s.layers[3].params(), 2560 * 6 + 6);
    assert_eq!(s.total_params(), 760 + 2560 * 6 + 6);
}

#[test]
fn the_pretrained_lenet_holds_weights_for_every_parameter() {
    let e = project("pretrained/mnist_lenet.ron");
    let model = e.build_model(10, &projects_dir().join("pretrained")).unwrap();
    let saved = decoded_weights(&e);
    assert_eq!(saved.len(), model.params().len());
    assert_bit_identical(&saved, &model.weights(), "saved vs built model");
    assert!(saved.iter().flatten().all(|v| v.is_finite()));
    assert_eq!(e.class_names.len(), 10);
    assert!(!e.history.is_empty(), "a trained copy records its history");
}

// ---------------------------------------------------------------------------------------------
// Round trips

#[test]
fn every_project_round_trips_through_text_unchanged() {
    for file in project_files() {
        let e = experiment::load(&file).unwrap();
        let text = experiment::to_text(&e);
        let back = parse(&text).unwrap_or_else(|err| panic!("{}: {err}\n{text}", file.display()));
        assert_eq!(back, e, "{}", file.display());
        assert_eq!(
            experiment::to_text(&back),
            text,
            "{}: writing is stable",
            file.display()
        );
    }
}

#[test]
fn a_hand_written_file_round_trips_without_weights() {
    let e = parse(SMALL).unwrap();
    assert!(e.weights.is_none());
    let text = experiment::to_text(&e);
    assert_eq!(parse(&text).unwrap(), e);
    assert!(
        !text.contains("weights:"),
        "no weights section before training:\n{text}"
    );
}

/// Trains `shapes_edges.ron` for one short epoch through the worker, saves it, reloads it, and
/// checks everything came back bit for bit, weights included.
#[test]
fn a_trained_experiment_round_trips_with_bit_identical_weights() {
    let mut e = project("shapes_edges.ron");
    e.training.epochs = 1;
    e.training.max_train_samples = Some(128);
    let (events, result) = run_collect(e, RunOptions::default());
    let (trained, _) = result.unwrap();
    // The model's own weights, as the worker sent them after the epoch.
    let model_weights = events
        .iter()
        .rev()
        .find_map(|ev| match ev {
            Event::Weights { values, .. } => Some(values.clone()),
            _ => None,
        })
        .expect("a Weights event after the epoch");
    assert!(trained.weights.is_some());
    assert_eq!(trained.history.len(), 1);
    assert_eq!(trained.class_names.len(), 6);
    assert_eq!(trained.filter_snapshots.len(), 2, "initial + after epoch 1");
    assert_bit_identical(
        &decoded_weights(&trained),
        &model_weights,
        "experiment vs last Weights event",
    );

    let dir = TempDir::new("roundtrip-weights");
    let path = dir.join("shapes.ron");
    experiment::save(&trained, &path).unwrap();
    let back = experiment::load(&path).unwrap();
    assert_eq!(back, trained);
    assert_bit_identical(&decoded_weights(&back), &model_weights, "reloaded file vs model");
    for (a, b) in back.filter_snapshots.iter().zip(&trained.filter_snapshots) {
        assert_bit_identical(
            &[a.weights.decode().unwrap()],
            &[b.weights.decode().unwrap()],
            "filter snapshot",
        );
    }

    // A model rebuilt from the reloaded file is the trained model: same weights, same outputs.
    let mut rebuilt = back.build_model(6, dir.path()).unwrap();
    assert_bit_identical(&rebuilt.weights(), &model_weights, "rebuilt model vs trained model");
    let mut reference = Model::build(back.input.shape(), &back.layers, Some(6), 12345).unwrap();
    reference.set_weights(&model_weights).unwrap();
    let x = random_input(5, back.input.shape(), 1);
    let p1 = rebuilt.predict_proba(&x);
    let p2 = reference.predict_proba(&x);
    assert_bit_identical(&[p1.data().to_vec()], &[p2.data().to_vec()], "predictions");
}

#[test]
fn stored_weights_survive_save_and_load_exactly_even_for_extreme_values() {
    let mut e = parse(SMALL).unwrap();
    let mut model = Model::build(e.input.shape(), &e.layers, Some(6), 77).unwrap();
    // Values a decimal format could lose: -0.0, subnormals, the extremes, thirds.
    {
        let mut params = model.params_mut();
        let kernel = &mut params[0].value;
        kernel[0] = -0.0;
        kernel[1] = f32::MIN_POSITIVE / 3.0;
        kernel[2] = f32::MAX;
        kernel[3] = f32::MIN;
        kernel[4] = 1.0 / 3.0;
        kernel[5] = f32::EPSILON;
    }
    e.store_weights(&model);
    let dir = TempDir::new("roundtrip-extreme");
    let path = dir.join("small.ron");
    experiment::save(&e, &path).unwrap();
    let back = experiment::load(&path).unwrap();
    assert_eq!(back, e);
    assert_bit_identical(&decoded_weights(&back), &model.weights(), "saved vs model");
    let weights = back.weights.as_ref().unwrap();
    let tags: Vec<(usize, &str, Vec<usize>)> = weights
        .iter()
        .map(|w| (w.layer, w.name.as_str(), w.dims.clone()))
        .collect();
    assert_eq!(
        tags,
        vec![
            (0, "kernel", vec![4, 1, 3, 3]),
            (0, "bias", vec![4]),
            (2, "kernel", vec![400, 6]),
            (2, "bias", vec![6]),
        ],
        "one array per parameter, tagged with its layer"
    );
    let rebuilt = back.build_model(6, dir.path()).unwrap();
    assert_bit_identical(&rebuilt.weights(), &model.weights(), "rebuilt vs model");
}

#[test]
fn a_model_rebuilt_from_saved_weights_predicts_identically() {
    let mut e = parse(SMALL).unwrap();
    let mut model = Model::build(e.input.shape(), &e.layers, Some(6), 99).unwrap();
    // Move the weights away from their initial values so a fresh build would differ.
    let mut opt = Optimizer::new(OptimizerKind::adam(), 0.0);
    let x = random_input(8, e.input.shape(), 2);
    for _ in 0..3 {
        model.train_step(&x, &[0, 1, 2, 3, 4, 5, 0, 1], &mut opt, 0.01);
    }
    e.store_weights(&model);
    let back = parse(&experiment::to_text(&e)).unwrap();
    let mut rebuilt = back.build_model(6, Path::new(".")).unwrap();
    let fresh = Model::build(e.input.shape(), &e.layers, Some(6), e.seed).unwrap();
    assert_bits_differ(&fresh.weights(), &model.weights(), "training changed the weights");
    let probe = random_input(4, e.input.shape(), 3);
    let want = model.predict_proba(&probe);
    let got = rebuilt.predict_proba(&probe);
    assert_bit_identical(&[got.data().to_vec()], &[want.data().to_vec()], "probabilities");
    let want_logits = model.forward(&probe, Mode::Infer).data().to_vec();
    let got_logits = rebuilt.forward(&probe, Mode::Infer).data().to_vec();
    assert_bit_identical(&[got_logits], &[want_logits], "logits");
}

/// A hand-written sequence experiment with every 1-D kind (issue 15).
const SEQUENCE: &str = r#"(
  version: 1,
  name: "signals",
  seed: 4,
  input: (steps: 32, channels: 1),
  dataset: Path("signals.csv"),
  layers: [
    Conv1D(filters: 4, kernel_size: 5, padding: causal, dilation_rate: 2, activation: relu),
    MaxPooling1D(pool_size: 2),
    AveragePooling1D(pool_size: 3, strides: Some(1), padding: same),
    Conv1D(filters: 6, kernel_size: 3, strides: 2, padding: same, use_bias: false),
    BatchNormalization(momentum: 0.9),
    GlobalMaxPooling1D,
    Dense(units: 3, activation: softmax),
  ],
)
"#;

#[test]
fn a_sequence_experiment_round_trips_and_rebuilds_identically() {
    use cnn_lab::cnn::spec::{Conv1D, Embedding, GlobalAveragePooling1D};
    use cnn_lab::cnn::{LayerSpec, Padding};
    let mut e = parse(SEQUENCE).unwrap();
    assert_eq!(e.input.shape(), Shape::sequence(32, 1));
    assert_eq!(
        e.layers[0],
        LayerSpec::Conv1D(Conv1D::new(4, 5).padding(Padding::Causal).dilation(2).relu())
    );
    let text = experiment::to_text(&e);
    assert!(text.contains("steps: 32") && !text.contains("height"), "{text}");
    assert_eq!(parse(&text).unwrap(), e);
    let s = infer(e.input.shape(), &e.layers, Some(3)).unwrap();
    let shapes: Vec<String> = s.layers.iter().map(|l| l.output.hwc()).collect();
    assert_eq!(shapes, ["32×4", "16×4", "16×4", "8×6", "8×6", "6", "3"]);

    let mut model = Model::build(e.input.shape(), &e.layers, Some(3), 8).unwrap();
    let mut opt = Optimizer::new(OptimizerKind::adam(), 0.0);
    let x = random_input(6, e.input.shape(), 4);
    for _ in 0..3 {
        model.train_step(&x, &[0, 1, 2, 0, 1, 2], &mut opt, 0.01);
    }
    e.store_weights(&model);
    let back = parse(&experiment::to_text(&e)).unwrap();
    let mut rebuilt = back.build_model(3, Path::new(".")).unwrap();
    let probe = random_input(3, e.input.shape(), 5);
    let want = model.predict_proba(&probe);
    let got = rebuilt.predict_proba(&probe);
    assert_bit_identical(&[got.data().to_vec()], &[want.data().to_vec()], "probabilities");

    // A text model: Embedding's table is saved like any weight.
    e.input = experiment::Input::sequence(12, 1);
    e.layers = vec![
        LayerSpec::Embedding(Embedding::new(20, 4)),
        LayerSpec::GlobalAveragePooling1D(GlobalAveragePooling1D),
        LayerSpec::Dense(cnn_lab::cnn::spec::Dense::new(3)),
    ];
    let model = Model::build(e.input.shape(), &e.layers, Some(3), 8).unwrap();
    e.store_weights(&model);
    let text = experiment::to_text(&e);
    assert!(text.contains("Embedding(") && text.contains("input_dim: 20,"), "{text}");
    let back = parse(&text).unwrap();
    assert_bit_identical(&decoded_weights(&back), &model.weights(), "embeddings");
}

#[test]
fn an_input_is_an_image_or_a_sequence_not_both() {
    for input in [
        "(height: 12, steps: 12, channels: 1)",
        "(width: 12, channels: 1)",
        "(channels: 1)",
    ] {
        let text = SMALL.replace("(height: 12, width: 12, channels: 1)", input);
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("either an image") && err.contains("(steps: 128, channels: 1)"),
            "{err}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Broken files

fn parse_error(text: &str) -> (usize, usize, String, String) {
    match parse(text) {
        Err(err @ ExperimentError::Parse { .. }) => {
            let shown = err.to_string();
            let ExperimentError::Parse { line, col, message, .. } = err else {
                unreachable!()
            };
            (line, col, message, shown)
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn a_missing_comma_is_reported_at_its_line_and_column() {
    // Line 9 loses its comma: the parser stops at "Dense" on line 10, column 5.
    let text = SMALL.replace("    Flatten,\n", "    Flatten\n");
    let (line, col, message, shown) = parse_error(&text);
    assert_eq!((line, col), (10, 5), "{shown}");
    assert!(message.to_lowercase().contains("comma"), "{message}");
    assert!(shown.contains("broken.ron line 10, column 5"), "{shown}");
}

#[test]
fn an_unknown_layer_name_is_reported_at_the_name_and_lists_the_real_ones() {
    let text = SMALL.replace("Conv2D(", "Conv3D(");
    let (line, col, message, shown) = parse_error(&text);
    assert_eq!((line, col), (8, 5), "{shown}");
    assert!(message.contains("Conv3D"), "{message}");
    for real in ["Conv2D", "MaxPooling2D", "Dense", "Flatten"] {
        assert!(message.contains(real), "{real} not offered in: {message}");
    }
}

/// A bad value must be located at the value. `seed: @` has the `@` in column 9 of line 4.
#[test]
fn a_bad_value_is_reported_at_the_value_not_at_the_space_before_it() {
    let text = SMALL.replace("seed: 3", "seed: @");
    let (line, col, _, shown) = parse_error(&text);
    assert_eq!((line, col), (4, 9), "{shown}");
    // More spaces before the value must not move the reported column away from it.
    let text = SMALL.replace("seed: 3", "seed:     @");
    let (line, col, _, shown) = parse_error(&text);
    assert_eq!((line, col), (4, 13), "{shown}");
}

#[test]
fn a_value_of_the_wrong_type_names_what_was_expected() {
    let text = SMALL.replace("seed: 3", "seed: \"three\"");
    let (line, _, message, shown) = parse_error(&text);
    assert_eq!(line, 4, "{shown}");
    assert!(message.to_lowercase().contains("integer"), "{message}");
    // A tuple where a pair is required.
    let text = SMALL.replace("kernel_size: (3, 3)", "kernel_size: 3");
    let (line, _, message, shown) = parse_error(&text);
    assert_eq!(line, 8, "{shown}");
    assert!(message.contains('('), "{message}");
    // A negative count.
    let text = SMALL.replace("filters: 4", "filters: -4");
    let (line, _, _, shown) = parse_error(&text);
    assert_eq!(line, 8, "{shown}");
}

#[test]
fn a_missing_required_field_is_named() {
    for (field, from, to) in [
        ("name", "  name: \"small\",\n", ""),
        ("input", "  input: (height: 12, width: 12, channels: 1),\n", ""),
        ("layers", "  layers: [", "  lairs: ["),
        ("units", "Dense(units: 6)", "Dense(activation: relu)"),
        ("channels", "channels: 1)", "chanels: 1)"),
    ] {
        let text = SMALL.replace(from, to);
        assert_ne!(text, SMALL, "the edit for {field} applies");
        let (_, _, message, shown) = parse_error(&text);
        assert!(message.contains(&format!("`{field}`")), "{field}: {shown}");
        // A misspelling is reported as the unexpected name, listing the expected ones.
        assert!(
            message.contains("missing") || message.contains("Unexpected field"),
            "{field}: {shown}"
        );
    }
}

/// A misspelt field must not be dropped silently: `stride: (2, 2)` would train a stride-1 model
/// and `trainning: (...)` would train with every default, with nothing to tell the student.
#[test]
fn a_misspelt_field_is_reported_not_ignored() {
    for (typo, from, to) in [
        ("stride", "kernel_size: (3, 3),", "kernel_size: (3, 3), stride: (2, 2),"),
        (
            "paddding",
            "kernel_size: (3, 3),",
            "kernel_size: (3, 3), paddding: same,",
        ),
        ("trainning", "  seed: 3,", "  seed: 3,\n  trainning: (epochs: 1),"),
        ("sed", "  seed: 3,", "  sed: 3,"),
    ] {
        let text = SMALL.replace(from, to);
        assert_ne!(text, SMALL);
        match parse(&text) {
            Err(ExperimentError::Parse { message, .. }) => {
                assert!(message.contains(typo), "{typo}: {message}")
            }
            Ok(e) => panic!(
                "`{typo}` was ignored: the file loads with layer 1 = {:?}, training = {:?}, seed {}",
                e.layers[0], e.training.epochs, e.seed
            ),
            Err(other) => panic!("{typo}: {other}"),
        }
    }
}

#[test]
fn a_newer_format_version_asks_to_update_cnn_lab() {
    let text = SMALL.replace("version: 1", "version: 99");
    match parse(&text) {
        Err(err @ ExperimentError::NewerVersion { found: 99, .. }) => {
            let shown = err.to_string();
            assert!(shown.contains("update CNN Lab"), "{shown}");
            assert!(shown.contains("99") && shown.contains("broken.ron"), "{shown}");
        }
        other => panic!("expected NewerVersion, got {other:?}"),
    }
    // Even when the newer file uses things this build has never heard of.
    let text = SMALL
        .replace("version: 1", "version: 2")
        .replace("Flatten,", "Flatten,\n    Attention(heads: 4),")
        .replace("  seed: 3,", "  seed: 3,\n  hyperparameters: {\"x\": 1},");
    assert!(matches!(
        parse(&text),
        Err(ExperimentError::NewerVersion { found: 2, .. })
    ));
}

#[test]
fn missing_optional_fields_take_their_defaults() {
    let text = r#"(
  name: "minimal",
  input: (height: 28, width: 28, channels: 1),
  dataset: Bundled("shapes"),
  layers: [Flatten, Dense(units: 6)],
)"#;
    let e = parse(text).unwrap();
    assert_eq!(e.version, FORMAT_VERSION);
    assert_eq!(e.seed, 0);
    assert_eq!(e.notes, "");
    assert_eq!(e.training, Training::default());
    assert_eq!(e.training.learning_rate, 0.01);
    assert_eq!(e.training.batch_size, 64);
    assert_eq!(e.training.epochs, 5);
    assert_eq!(e.training.validation_split, 0.1);
    assert!(e.transfer.is_none() && e.weights.is_none() && e.history.is_empty() && e.resume.is_none());
    // A partial training section keeps the defaults of what it leaves out.
    let partial = text.replace("layers:", "training: (epochs: 2),\n  layers:");
    let e = parse(&partial).unwrap();
    assert_eq!(e.training.epochs, 2);
    assert_eq!(e.training.batch_size, 64);
    assert_eq!(e.training.optimizer, OptimizerKind::sgd(0.9));
    // And the defaulted experiment validates.
    assert!(infer(e.input.shape(), &e.layers, e.dataset.known_classes()).is_ok());
    // Synthetic data fields are optional too.
    let e = parse(SMALL).unwrap();
    let DatasetSource::Synthetic(spec) = e.dataset else {
        panic!("synthetic")
    };
    assert_eq!((spec.n_train, spec.n_test, spec.channels), (100, 20, 1));
}

#[test]
fn weights_that_do_not_fit_the_model_are_a_clear_error() {
    let mut e = parse(SMALL).unwrap();
    let model = Model::build(e.input.shape(), &e.layers, Some(6), 1).unwrap();
    e.store_weights(&model);
    // Architecture changed after training.
    let mut wider = e.clone();
    if let cnn_lab::cnn::LayerSpec::Conv2D(c) = &mut wider.layers[0] {
        c.filters = 5;
    }
    match wider.build_model(6, Path::new(".")) {
        Err(err @ ExperimentError::Weights(_)) => {
            let shown = err.to_string();
            assert!(shown.contains("layer 1") && shown.contains("kernel"), "{shown}");
            assert!(shown.contains("retrain"), "{shown}");
        }
        other => panic!("expected a Weights error, got {:?}", other.err()),
    }
    // Corrupt base64.
    let mut corrupt = e.clone();
    corrupt.weights.as_mut().unwrap()[1].data = "not base64 at all!".into();
    let text = experiment::to_text(&corrupt);
    let back = parse(&text).unwrap();
    match back.build_model(6, Path::new(".")) {
        Err(ExperimentError::Weights(cause)) => {
            let message = cause.to_string();
            assert!(message.contains("base64"), "{message}")
        }
        other => panic!("expected a Weights error, got {:?}", other.err()),
    }
    // The right layer and name but too few values.
    let mut short = e.clone();
    short.weights.as_mut().unwrap()[1].data = cnn_lab::experiment::codec::encode_f32(&[1.0, 2.0]);
    match short.build_model(6, Path::new(".")) {
        Err(ExperimentError::Weights(cause)) => {
            let message = cause.to_string();
            assert!(message.contains("2 values, expected 4"), "{message}")
        }
        other => panic!("expected a Weights error, got {:?}", other.err()),
    }
}

#[test]
fn mangled_files_never_panic() {
    let original = std::fs::read(projects_dir().join("seed_quiz.ron")).unwrap();
    let mut rng = StdRng::seed_from_u64(2024);
    let dir = TempDir::new("mangled");
    let mut parsed_ok = 0;
    let mut errors = 0;
    for round in 0..400 {
        let mut bytes = original.clone();
        let edits = rng.random_range(1..6);
        for _ in 0..edits {
            if bytes.is_empty() {
                break;
            }
            let at = rng.random_range(0..bytes.len());
            match rng.random_range(0..5) {
                0 => bytes[at] = rng.random(),
                1 => {
                    bytes.remove(at);
                }
                2 => bytes.insert(at, b"(),:[]\"0-9eE_ ."[rng.random_range(0..15)]),
                3 => bytes.truncate(at),
                _ => {
                    // Duplicate a chunk: repeated fields, nested brackets.
                    let end = (at + rng.random_range(1..40)).min(bytes.len());
                    let chunk = bytes[at..end].to_vec();
                    bytes.splice(at..at, chunk);
                }
            }
        }
        let path = dir.join(format!("m{round}.ron"));
        std::fs::write(&path, &bytes).unwrap();
        let outcome = std::panic::catch_unwind(|| {
            let loaded = experiment::load(&path);
            if let Ok(e) = &loaded {
                // Whatever parses must also be safe to check.
                let _ = cnn_lab::cnn::analyze(e.input.shape(), &e.effective_layers(), e.dataset.known_classes());
                let _ = experiment::to_text(e);
            }
            loaded.map(|_| ()).map_err(|e| e.to_string())
        });
        match outcome {
            Ok(Ok(())) => parsed_ok += 1,
            Ok(Err(message)) => {
                assert!(!message.is_empty());
                errors += 1;
            }
            Err(_) => panic!("loading this file panicked:\n{}", String::from_utf8_lossy(&bytes)),
        }
    }
    assert_eq!(parsed_ok + errors, 400);
    assert!(errors > 100, "most mangled files are errors ({errors})");
    // Pathological nesting is an error, not a stack overflow.
    let deep = format!("{}{}", "(".repeat(100_000), ")".repeat(100_000));
    assert!(parse(&deep).is_err());
    let deep_layers = SMALL.replace(
        "Flatten,",
        &format!("{}Flatten{},", "[".repeat(50_000), "]".repeat(50_000)),
    );
    assert!(parse(&deep_layers).is_err());
    // Not UTF-8 at all: a read error that names the file.
    let binary = dir.join("binary.ron");
    std::fs::write(&binary, [0xff, 0xfe, 0x00, 0x28]).unwrap();
    match experiment::load(&binary) {
        Err(err @ ExperimentError::Read { .. }) => assert!(err.to_string().contains("binary.ron")),
        other => panic!("expected a read error, got {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Atomic saving

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn save_replaces_the_whole_file_and_leaves_no_temporary_files() {
    let dir = TempDir::new("save-replace");
    let path = dir.join("exp.ron");
    // First a long file (with weights), then a much shorter one over it.
    let mut long = parse(SMALL).unwrap();
    let model = Model::build(long.input.shape(), &long.layers, Some(6), 4).unwrap();
    long.store_weights(&model);
    experiment::save(&long, &path).unwrap();
    assert_eq!(experiment::load(&path).unwrap(), long);
    let long_len = std::fs::metadata(&path).unwrap().len();

    let mut short = parse(SMALL).unwrap();
    short.name = "short".into();
    experiment::save(&short, &path).unwrap();
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        on_disk,
        experiment::to_text(&short),
        "the old content is fully replaced"
    );
    assert!((on_disk.len() as u64) < long_len);
    assert_eq!(experiment::load(&path).unwrap(), short);
    assert_eq!(entries(dir.path()), vec!["exp.ron"], "no temporary files remain");
}

#[test]
fn saving_into_a_missing_folder_fails_cleanly_and_touches_nothing_else() {
    let dir = TempDir::new("save-missing-dir");
    let original = dir.join("exp.ron");
    let e = parse(SMALL).unwrap();
    experiment::save(&e, &original).unwrap();
    let before = std::fs::read(&original).unwrap();

    let mut changed = e.clone();
    changed.name = "changed".into();
    let target = dir.join("no-such-folder").join("exp.ron");
    match experiment::save(&changed, &target) {
        Err(err @ ExperimentError::Write { .. }) => {
            let shown = err.to_string();
            assert!(shown.contains("no-such-folder"), "{shown}");
            assert!(shown.contains("previous file is unchanged"), "{shown}");
        }
        other => panic!("expected a Write error, got {other:?}"),
    }
    assert!(!dir.join("no-such-folder").exists(), "no folder is created on the way");
    assert_eq!(std::fs::read(&original).unwrap(), before);
    assert_eq!(entries(dir.path()), vec!["exp.ron"]);
}

/// A crash between creating the temporary file and renaming it is simulated by making the
/// temporary file impossible to create (a folder already sits at its name): the save fails and
/// the existing file keeps its old content, byte for byte.
#[test]
fn a_save_that_fails_midway_leaves_the_previous_file_intact() {
    let dir = TempDir::new("save-midway");
    let path = dir.join("exp.ron");
    let e = parse(SMALL).unwrap();
    experiment::save(&e, &path).unwrap();
    let before = std::fs::read(&path).unwrap();

    // `io::write_atomic` writes `.{name}.{pid}.tmp` next to the target first.
    let blocker = dir.join(format!(".exp.ron.{}.tmp", std::process::id()));
    std::fs::create_dir(&blocker).unwrap();
    std::fs::write(blocker.join("keep"), b"x").unwrap();
    let mut changed = e.clone();
    changed.name = "changed".into();
    let result = experiment::save(&changed, &path);
    assert!(
        matches!(result, Err(ExperimentError::Write { .. })),
        "the temporary file could not be created, so the save must fail (did its name change?): {result:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before, "the previous file is intact");
    assert_eq!(experiment::load(&path).unwrap(), e);
    std::fs::remove_dir_all(&blocker).unwrap();
    // Once the obstacle is gone, saving works and replaces the file.
    experiment::save(&changed, &path).unwrap();
    assert_eq!(experiment::load(&path).unwrap(), changed);
    assert_eq!(entries(dir.path()), vec!["exp.ron"]);
}

#[test]
fn saving_into_a_read_only_folder_is_a_write_error_and_the_file_stays_intact() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("save-readonly");
    let folder = dir.join("ro");
    std::fs::create_dir(&folder).unwrap();
    let path = folder.join("exp.ron");
    let e = parse(SMALL).unwrap();
    experiment::save(&e, &path).unwrap();
    let before = std::fs::read(&path).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root ignores folder permissions; then block the temporary file's creation instead, which
    // fails the save at the same step a read-only folder does.
    let probe = folder.join("probe");
    let enforced = std::fs::write(&probe, b"x").is_err();
    if !enforced {
        std::fs::remove_file(&probe).unwrap();
        std::fs::create_dir(folder.join(format!(".exp.ron.{}.tmp", std::process::id()))).unwrap();
    }
    let mut changed = e.clone();
    changed.name = "changed".into();
    let result = experiment::save(&changed, &path);
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    match result {
        Err(err @ ExperimentError::Write { .. }) => {
            assert!(err.to_string().contains("exp.ron"), "{err}");
        }
        other => panic!("expected a Write error (permissions enforced: {enforced}), got {other:?}"),
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

// ---------------------------------------------------------------------------------------------
// Transfer learning

/// The parameter arrays of layers below `layers` in a saved experiment.
fn saved_arrays_below(e: &Experiment, layers: usize) -> Vec<Vec<f32>> {
    e.weights
        .as_ref()
        .unwrap()
        .iter()
        .filter(|w| w.layer < layers)
        .map(|w| w.decode().unwrap())
        .collect()
}

/// The parameter arrays of the model's layers below `layers`.
fn model_arrays_below(model: &Model, layers: usize) -> Vec<Vec<f32>> {
    model.layers()[..layers]
        .iter()
        .flat_map(|l| l.params().into_iter().map(|p| p.value.clone()))
        .collect()
}

#[test]
fn transfer_project_copies_and_freezes_the_pretrained_layers() {
    let e = project("mnist_transfer_to_fashion.ron");
    let source = project("pretrained/mnist_lenet.ron");
    let t = e.transfer.as_ref().unwrap();
    assert_eq!((t.layers, t.freeze), (4, true));

    let mut model = e.build_model(10, &projects_dir()).unwrap();
    let copied = saved_arrays_below(&source, 4);
    assert_eq!(copied.len(), 4, "two Conv2D layers, kernel and bias each");
    assert_bit_identical(&model_arrays_below(&model, 4), &copied, "copied layers vs pretrained");
    for (i, layer) in model.layers().iter().enumerate() {
        let frozen = i < 4 && !layer.params().is_empty();
        assert_eq!(layer.trainable(), !frozen, "layer {} {}", i + 1, layer.kind());
    }

    // The summary shows the copied layers as non-trainable.
    let s = infer(e.input.shape(), &e.effective_layers(), Some(10)).unwrap();
    assert_eq!(
        (s.layers[0].trainable_params, s.layers[0].non_trainable_params),
        (0, 520)
    );
    assert_eq!(
        (s.layers[2].trainable_params, s.layers[2].non_trainable_params),
        (0, 25_050)
    );
    assert_eq!(s.layers[5].trainable_params, 800 * 128 + 128);
    assert_eq!(s.layers[6].trainable_params, 128 * 10 + 10);
    assert_eq!(s.non_trainable_params(), 520 + 25_050);
    // The file's own layer list is untouched: freezing comes from the transfer section.
    assert!(e.layers.iter().all(|l| l.trainable()));

    // A few Adam steps (with weight decay) move the new layers and leave the copied ones alone.
    let mut opt = Optimizer::new(OptimizerKind::adam(), 0.01);
    let x = random_input(16, e.input.shape(), 5);
    let labels: Vec<u32> = (0..16).map(|i| i % 10).collect();
    let dense_before = model.params()[4].value.clone();
    for _ in 0..3 {
        let stats = model.train_step(&x, &labels, &mut opt, 0.01);
        assert!(stats.loss.is_finite());
    }
    assert_bit_identical(&model_arrays_below(&model, 4), &copied, "frozen layers unchanged");
    assert_bits_differ(
        &[model.params()[4].value.clone()],
        &[dense_before],
        "a trainable Dense kernel changed",
    );
}

/// The whole path through the worker: a transfer experiment trained on a small IDX folder keeps
/// the copied layers exactly, and saving and retraining the result keeps them frozen.
#[test]
fn training_a_transfer_experiment_keeps_the_copied_layers_exactly() {
    let dir = TempDir::new("transfer-train");
    let data = dir.join("digits");
    std::fs::create_dir(&data).unwrap();
    let mut rng = StdRng::seed_from_u64(8);
    let n = 60u32;
    let pixels: Vec<u8> = (0..n * 784).map(|_| rng.random()).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    std::fs::write(
        data.join("train-images-idx3-ubyte"),
        idx_images(0x803, n, 28, 28, &pixels),
    )
    .unwrap();
    std::fs::write(data.join("train-labels-idx1-ubyte"), idx_labels(&labels)).unwrap();

    let mut e = project("mnist_transfer_to_fashion.ron");
    e.training.epochs = 1;
    e.training.batch_size = 16;
    let source = project("pretrained/mnist_lenet.ron");
    let copied = saved_arrays_below(&source, 4);
    let options = RunOptions {
        base_dir: projects_dir(),
        data: Some(data.clone()),
        ..RunOptions::default()
    };
    let (trained, _) = train(e.clone(), options.clone());
    assert_bit_identical(
        &saved_arrays_below(&trained, 4),
        &copied,
        "copied layers after training",
    );
    let fresh = e.build_model(10, &projects_dir()).unwrap();
    let new_layers = |w: &[Vec<f32>]| w[4..].to_vec();
    assert_bits_differ(
        &new_layers(&decoded_weights(&trained)),
        &new_layers(&fresh.weights()),
        "the new layers learned",
    );
    // Train the saved result once more: its weights now come from the file, still frozen.
    let (again, _) = train(trained, options);
    assert_eq!(again.history.len(), 2);
    assert_bit_identical(
        &saved_arrays_below(&again, 4),
        &copied,
        "copied layers after retraining",
    );
}

fn transfer_error(e: &Experiment, base: &Path) -> (std::path::PathBuf, String) {
    match e.build_model(10, base) {
        Err(ExperimentError::Transfer { path, problem }) => (path, problem.to_string()),
        other => panic!("expected a Transfer error, got {:?}", other.err()),
    }
}

#[test]
fn transfer_from_an_untrained_or_different_model_is_a_clear_error() {
    let dir = TempDir::new("transfer-errors");
    // An untrained source: the plain LeNet project, copied next to the experiment.
    let untrained = project("mnist_lenet.ron");
    experiment::save(&untrained, &dir.join("lenet.ron")).unwrap();
    let mut e = project("mnist_transfer_to_fashion.ron");
    e.transfer.as_mut().unwrap().from = "lenet.ron".into();
    let (path, message) = transfer_error(&e, dir.path());
    assert_eq!(path, dir.join("lenet.ron"));
    assert!(message.contains("not been trained"), "{message}");
    let shown = e.build_model(10, dir.path()).err().expect("an error").to_string();
    assert!(
        shown.contains("lenet.ron") && shown.contains("train it first"),
        "{shown}"
    );

    // A different layer kind among the transferred layers.
    let mut e = project("mnist_transfer_to_fashion.ron");
    e.layers[1] = cnn_lab::cnn::LayerSpec::AveragePooling2D(cnn_lab::cnn::spec::Pool2D::new(2));
    let (_, message) = transfer_error(&e, &projects_dir());
    assert!(
        message.contains("layer 2") && message.contains("MaxPooling2D") && message.contains("AveragePooling2D"),
        "{message}"
    );

    // Same kinds, different sizes.
    let mut e = project("mnist_transfer_to_fashion.ron");
    if let cnn_lab::cnn::LayerSpec::Conv2D(c) = &mut e.layers[2] {
        c.filters = 40;
    }
    let (_, message) = transfer_error(&e, &projects_dir());
    assert!(message.contains("layer 3"), "{message}");

    // More layers than the source has.
    let mut e = project("mnist_transfer_to_fashion.ron");
    e.transfer.as_mut().unwrap().layers = 12;
    let (_, message) = transfer_error(&e, &projects_dir());
    assert!(message.contains("12"), "{message}");

    // A source that does not exist names the file.
    let mut e = project("mnist_transfer_to_fashion.ron");
    e.transfer.as_mut().unwrap().from = "nowhere/missing.ron".into();
    let shown = e.build_model(10, &projects_dir()).err().expect("an error").to_string();
    assert!(shown.contains("missing.ron"), "{shown}");
}

#[test]
fn token_ids_outside_the_embeddings_vocabulary_are_refused_before_training_naming_the_sample() {
    use cnn_lab::cnn::LayerSpec;
    let mut e = project("text_conv1d.ron");
    let base = projects_dir();
    assert!(experiment::load_dataset(&e, &base, None).is_ok());
    let LayerSpec::Embedding(embedding) = &mut e.layers[0] else {
        panic!("the text project starts with an Embedding");
    };
    embedding.input_dim = 10;
    let err = experiment::load_dataset(&e, &base, None).unwrap_err().to_string();
    assert!(
        err.contains("training sample") && err.contains("outside Embedding's vocabulary 0..9 (input_dim 10)"),
        "{err}"
    );
    assert!(err.contains("raise input_dim"), "{err}");
}
