//! ONNX export, checked against ONNX Runtime: every bundled project, and three models that use
//! every layer kind (asymmetric `same` pads on convolution and both poolings, explicit pads,
//! BatchNormalization with real statistics on maps and on vectors, every activation, Dropout,
//! both global pools, kernels without bias), exported and run by ONNX Runtime on real images
//! by `scripts/onnx_reference.py`; its outputs are committed in `tests/fixtures/onnx/` and must
//! equal the engine's within 1e-4. The exported graphs are fingerprinted, so a change to the
//! export (or the projects' layers and weights) asks for the references to be made again.
//!
//! No Python runs here; `cargo test --test onnx_export -- --ignored write_reference_inputs`
//! writes the models and inputs the script reads (the script calls it).

mod support;

use cnn_lab::cnn::spec::{BatchNormalization, Conv2D, Dense, Dropout, Flatten, Pool2D};
use cnn_lab::cnn::{Activation, LayerSpec, Mode, Padding, Tensor};
use cnn_lab::data::{SHAPE_CLASSES, SyntheticSpec};
use cnn_lab::experiment::{self, DatasetSource, Experiment, Input, Training, load_dataset};
use cnn_lab::interop::onnx_proto::ModelProto;
use cnn_lab::interop::{ImportOptions, OnnxOptions, import_onnx_bytes, onnx_bytes};
use prost::Message;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};
use support::{json_rows, project_files, projects_dir};

/// Images per model compared.
const IMAGES: usize = 8;

struct Case {
    name: String,
    experiment: Experiment,
    base_dir: PathBuf,
}

fn synthetic(h: usize, w: usize, c: usize) -> DatasetSource {
    DatasetSource::Synthetic(SyntheticSpec {
        n_train: 60,
        n_test: 30,
        channels: c,
        height: h,
        width: w,
        seed: 11,
    })
}

/// A model with every layer kind, its BatchNormalization statistics drawn at random (so they
/// matter), as a trained experiment.
fn all_kinds(name: &str, input: Input, layers: Vec<LayerSpec>, seed: u64) -> Experiment {
    let mut e = Experiment::new(
        name,
        seed,
        input,
        synthetic(input.height, input.width, input.channels),
        layers,
        Training::default(),
    );
    let mut model = e.build_model(6, Path::new(".")).unwrap();
    let mut rng = StdRng::seed_from_u64(seed);
    for p in model.params_mut() {
        match p.name {
            "gamma" | "moving_variance" => p.value.iter_mut().for_each(|v| *v = rng.random_range(0.5..1.5)),
            "beta" | "moving_mean" => p.value.iter_mut().for_each(|v| *v = rng.random_range(-0.5..0.5)),
            "bias" => p.value.iter_mut().for_each(|v| *v = rng.random_range(-0.2..0.2)),
            _ => {}
        }
    }
    e.store_weights(&model);
    e.class_names = SHAPE_CLASSES.iter().map(|s| s.to_string()).collect();
    e
}

fn all_kinds_cases() -> Vec<Experiment> {
    let input = Input::image(12, 12, 3);
    let mut conv_no_bias = Conv2D::new(6, 3).strides(2).same();
    conv_no_bias.use_bias = false;
    let mut dense_no_bias = Dense::new(6);
    dense_no_bias.use_bias = false;
    let a = vec![
        LayerSpec::Conv2D(conv_no_bias), // 12 → 6, pads (0, 1): the odd pixel bottom/right
        LayerSpec::BatchNormalization(BatchNormalization::default()),
        LayerSpec::Activation(Activation::LeakyRelu(0.2)),
        LayerSpec::MaxPooling2D(Pool2D::new(3).strides(2).padding(Padding::Same)), // 6 → 3, pads (0, 1)
        LayerSpec::Conv2D({
            let mut c = Conv2D::new(8, 3).padding(Padding::Explicit(1));
            c.activation = Activation::Tanh;
            c
        }),
        LayerSpec::AveragePooling2D(Pool2D::new(2).strides(1).padding(Padding::Same)), // 3 → 3, pads (0, 1)
        LayerSpec::Dropout(Dropout::new(0.3)),
        LayerSpec::Conv2D({
            let mut c = Conv2D::new(8, 1);
            c.activation = Activation::Sigmoid;
            c
        }),
        LayerSpec::Flatten(Flatten),
        LayerSpec::Dense(Dense::new(16).relu()),
        LayerSpec::BatchNormalization(BatchNormalization::default()),
        LayerSpec::Dense(dense_no_bias),
        LayerSpec::Activation(Activation::Softmax),
    ];
    let b = vec![
        LayerSpec::Conv2D(Conv2D::new(4, 3).relu()),
        LayerSpec::AveragePooling2D(Pool2D::new(2)),
        LayerSpec::Activation(Activation::Relu),
        LayerSpec::GlobalAveragePooling2D(cnn_lab::cnn::spec::GlobalAveragePooling2D),
        LayerSpec::Dense({
            let mut d = Dense::new(6);
            d.activation = Activation::Softmax;
            d
        }),
    ];
    let c = vec![
        LayerSpec::Conv2D(Conv2D::new(5, 5).strides(3).same()), // 12 → 4, pads (1, 2)
        LayerSpec::MaxPooling2D(Pool2D::new(2).padding(Padding::Explicit(1))),
        LayerSpec::GlobalMaxPooling2D(cnn_lab::cnn::layers::global_max_pooling2d::GlobalMaxPooling2D),
        LayerSpec::Dense(Dense::new(6)),
    ];
    vec![
        all_kinds("all_kinds_a", input, a, 21),
        all_kinds("all_kinds_b", input, b, 22),
        all_kinds("all_kinds_c", input, c, 23),
    ]
}

fn cases() -> Vec<Case> {
    let mut cases = Vec::new();
    for path in project_files() {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        let pretrained = path.parent().unwrap() != projects_dir();
        let name = if pretrained { format!("pretrained_{stem}") } else { stem };
        let mut experiment = experiment::load(&path).unwrap();
        // Synthetic sets are generated: a few images of the same kind are enough here.
        if let DatasetSource::Synthetic(spec) = &mut experiment.dataset {
            spec.n_train = 60;
            spec.n_test = 30;
        }
        cases.push(Case {
            name,
            experiment,
            base_dir: experiment::base_dir(&path),
        });
    }
    for experiment in all_kinds_cases() {
        cases.push(Case {
            name: experiment.name.clone(),
            experiment,
            base_dir: PathBuf::from("."),
        });
    }
    cases
}

/// The first test images (or sequences) of the case's data, normalized as the experiment does.
fn inputs(case: &Case) -> Tensor {
    let e = &case.experiment;
    let data = load_dataset(e, &case.base_dir, None).unwrap();
    let split = data.test.as_ref().unwrap_or(&data.train);
    let shape = e.input.shape();
    let mut x = vec![0.0; IMAGES * shape.len()];
    for (i, out) in x.chunks_mut(shape.len()).enumerate() {
        if split.holds_sequences() {
            let affine = e.training.normalization.sequence_affine(e.input.channels);
            let steps = shape.len() / affine.len().max(1);
            for ((o, v), &(mean, std)) in out.chunks_mut(steps).zip(split.sequence(i).chunks(steps)).zip(&affine) {
                o.iter_mut().zip(v).for_each(|(o, v)| *o = (v - mean) / std);
            }
        } else {
            e.training.normalization.apply(split.image(i), e.input.channels, out);
        }
    }
    Tensor::from_vec(IMAGES, shape, x).unwrap()
}

/// The fingerprint of an export: its model without the metadata and producer version that do not
/// change what it computes (so a new crate version or new project notes need no new references).
fn fingerprint(onnx: &[u8]) -> String {
    let mut proto = ModelProto::decode(onnx).unwrap();
    proto.producer_version.clear();
    proto.metadata_props.clear();
    fnv(&proto.encode_to_vec())
}

/// 64-bit FNV-1a.
fn fnv(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

fn classes(case: &Case) -> usize {
    let summary = cnn_lab::cnn::infer(case.experiment.input.shape(), &case.experiment.layers, None).unwrap();
    summary.layers.last().unwrap().output.len()
}

fn reference_dir() -> PathBuf {
    std::env::var_os("ONNX_REF_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("onnx-ref"))
}

#[test]
#[ignore = "writes the models and inputs scripts/onnx_reference.py runs ONNX Runtime on"]
fn write_reference_inputs() {
    let dir = reference_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for case in cases() {
        let x = inputs(&case);
        for logits in [false, true] {
            let bytes = onnx_bytes(&case.experiment, &case.base_dir, &OnnxOptions { logits }).unwrap();
            let suffix = if logits { "_logits" } else { "" };
            std::fs::write(dir.join(format!("{}{suffix}.onnx", case.name)), &bytes).unwrap();
            std::fs::write(
                dir.join(format!("{}{suffix}.fingerprint", case.name)),
                fingerprint(&bytes),
            )
            .unwrap();
        }
        std::fs::write(dir.join(format!("{}.input.f32", case.name)), f32_bytes(x.data())).unwrap();
        // The experiment too, for checks by hand (e.g. its Keras export).
        let mut e = case.experiment.clone();
        e.transfer = None;
        if e.weights.is_none() {
            let model = case.experiment.build_model(classes(&case), &case.base_dir).unwrap();
            e.store_weights(&model);
        }
        experiment::save(&e, &dir.join(format!("{}.ron", case.name))).unwrap();
        let shape = x.shape().nchw(IMAGES);
        std::fs::write(
            dir.join(format!("{}.shape.json", case.name)),
            serde_json::to_string(&shape).unwrap(),
        )
        .unwrap();
    }
    println!("wrote {}", dir.display());
}

fn fixture(name: &str) -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/onnx/{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run scripts/onnx_reference.py to make the ONNX Runtime references",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

#[test]
fn every_project_and_layer_kind_exported_gives_onnx_runtimes_outputs_within_1e_4() {
    let mut checked = 0;
    for case in cases() {
        let reference = fixture(&case.name);
        let x = inputs(&case);
        let probabilities = onnx_bytes(&case.experiment, &case.base_dir, &OnnxOptions { logits: false }).unwrap();
        let logits = onnx_bytes(&case.experiment, &case.base_dir, &OnnxOptions { logits: true }).unwrap();
        let fingerprints = [
            ("onnx_fingerprint", fingerprint(&probabilities)),
            ("logits_fingerprint", fingerprint(&logits)),
            ("input_fnv", fnv(&f32_bytes(x.data()))),
        ];
        for (key, value) in fingerprints {
            assert_eq!(
                reference[key].as_str(),
                Some(value.as_str()),
                "{}: the export or its inputs changed since the ONNX Runtime references were made; run scripts/onnx_reference.py",
                case.name
            );
        }
        let mut model = case.experiment.build_model(classes(&case), &case.base_dir).unwrap();
        let engine_logits = model.logits(&x, Mode::Infer).data().to_vec();
        let engine_probs = model.predict_proba(&x).data().to_vec();
        for (what, engine, onnx) in [
            ("probabilities", &engine_probs, json_rows(&reference["probabilities"])),
            ("logits", &engine_logits, json_rows(&reference["logits"])),
        ] {
            assert_eq!(engine.len(), onnx.len(), "{} {what}", case.name);
            for (i, (a, b)) in engine.iter().zip(&onnx).enumerate() {
                let tolerance = 1e-4 * b.abs().max(1.0);
                assert!(
                    (a - b).abs() <= tolerance,
                    "{} {what}[{i}]: engine {a}, ONNX Runtime {b}",
                    case.name
                );
            }
        }
        // The logits vary (the references are not a constant that anything would match).
        let spread = engine_logits.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(spread > 1e-3, "{}: logits all near 0", case.name);
        checked += 1;
    }
    assert_eq!(checked, project_files().len() + 3);
}

#[test]
fn export_then_import_gives_the_same_experiment_bit_for_bit() {
    for case in cases() {
        for logits in [false, true] {
            let bytes = onnx_bytes(&case.experiment, &case.base_dir, &OnnxOptions { logits }).unwrap();
            let back = import_onnx_bytes(&bytes, &case.name, &ImportOptions::default()).unwrap();
            let mut want = case.experiment.clone();
            if want.weights.is_none() {
                // Untrained: the file holds the seeded (or transferred) weights.
                let model = want.build_model(classes(&case), &case.base_dir).unwrap();
                want.store_weights(&model);
            }
            want.filter_snapshots.clear();
            want.resume = None;
            assert_eq!(back, want, "{} (logits: {logits})", case.name);
        }
    }
}

#[test]
fn imported_without_its_experiment_it_computes_the_same_outputs() {
    // Strip CNN Lab's own metadata: the graph alone must give the same model. (Sequence models
    // are read only with it: `tests/onnx_export_1d.rs`.)
    for case in cases().into_iter().filter(|c| !c.experiment.input.sequence) {
        let bytes = onnx_bytes(&case.experiment, &case.base_dir, &OnnxOptions { logits: false }).unwrap();
        let mut proto = ModelProto::decode(bytes.as_slice()).unwrap();
        proto.metadata_props.retain(|m| m.key != "cnn_lab.experiment");
        let back = import_onnx_bytes(&proto.encode_to_vec(), &case.name, &ImportOptions::default()).unwrap();
        let x = inputs(&case);
        let mut original = case.experiment.build_model(classes(&case), &case.base_dir).unwrap();
        let mut imported = back.build_model(classes(&case), Path::new(".")).unwrap();
        let a = original.predict_proba(&x);
        let b = imported.predict_proba(&x);
        assert_eq!(a.data(), b.data(), "{}", case.name);
        assert_eq!(back.training.normalization, case.experiment.training.normalization);
        if !case.experiment.class_names.is_empty() {
            assert_eq!(back.class_names, case.experiment.class_names);
        }
    }
}

#[test]
fn the_graph_declares_opset_17_a_dynamic_batch_and_its_metadata() {
    let case = cases().into_iter().find(|c| c.name == "all_kinds_a").unwrap();
    let bytes = onnx_bytes(&case.experiment, &case.base_dir, &OnnxOptions::default()).unwrap();
    let proto = ModelProto::decode(bytes.as_slice()).unwrap();
    assert_eq!(proto.opset_import[0].version, 17);
    let graph = proto.graph.as_ref().unwrap();
    assert_eq!(graph.input.len(), 1);
    assert_eq!(graph.input[0].name, "input");
    assert_eq!(graph.output[0].name, "probabilities");
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(
        ops,
        [
            "Conv",
            "BatchNormalization",
            "LeakyRelu",
            "MaxPool",
            "Conv",
            "Tanh",
            "AveragePool",
            "Conv",
            "Sigmoid",
            "Flatten",
            "Gemm",
            "Relu",
            "BatchNormalization",
            "Gemm",
            "Softmax"
        ]
    );
    // The odd padding pixel goes bottom/right, as in TensorFlow.
    let pads = |i: usize| {
        graph.node[i]
            .attribute
            .iter()
            .find(|a| a.name == "pads")
            .unwrap()
            .ints
            .clone()
    };
    assert_eq!(pads(0), [0, 0, 1, 1]);
    assert_eq!(pads(3), [0, 0, 1, 1]);
    assert_eq!(pads(4), [1, 1, 1, 1]);
    assert_eq!(pads(6), [0, 0, 1, 1]);
    let meta = |k: &str| {
        proto
            .metadata_props
            .iter()
            .find(|m| m.key == k)
            .map(|m| m.value.clone())
    };
    assert_eq!(meta("normalization").as_deref(), Some("ZeroOne"));
    assert_eq!(
        meta("class_names"),
        Some(serde_json::to_string(&SHAPE_CLASSES).unwrap())
    );
}
