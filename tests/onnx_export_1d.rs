//! ONNX export of sequence models (issue 15): Conv1D as an ONNX `Conv` with a 1-D
//! `kernel_shape` (dilations and the causal or TensorFlow `same` pads written out), the 1-D
//! poolings as `MaxPool` / `AveragePool`, the global 1-D poolings, Embedding as a `Gather` of
//! the token ids; the graph's structure is checked here, and its outputs against ONNX
//! Runtime's, committed in
//! `tests/fixtures/onnx/sequence_1d*.json` by `scripts/onnx_reference_1d.py` (no Python runs
//! here; `cargo test --test onnx_export_1d -- --ignored write_reference_inputs` writes what the
//! script reads). Imported back, an export gives the same experiment bit for bit.

mod support;

use cnn_lab::cnn::spec::{
    AveragePooling1D, BatchNormalization, Conv1D, Dense, Embedding, GlobalAveragePooling1D, GlobalMaxPooling1D,
    MaxPooling1D,
};
use cnn_lab::cnn::{Activation, LayerSpec, Mode, Padding, Tensor};
use cnn_lab::experiment::{DatasetSource, Experiment, Input, Training};
use cnn_lab::interop::onnx_proto::ModelProto;
use cnn_lab::interop::{OnnxOptions, onnx_bytes};
use prost::Message;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};
use support::json_rows;

/// Sequences per model compared.
const SAMPLES: usize = 6;
const CLASSES: usize = 4;

/// A sequence model with every 1-D kind ONNX can take, its biases and BatchNormalization
/// statistics drawn at random (so they matter), as a trained experiment.
fn case(name: &str, layers: Vec<LayerSpec>, seed: u64) -> Experiment {
    // A text model reads one token id per step.
    let channels = if matches!(layers[0], LayerSpec::Embedding(_)) {
        1
    } else {
        3
    };
    let mut e = Experiment::new(
        name,
        seed,
        Input::sequence(24, channels),
        DatasetSource::Path("signals.csv".into()),
        layers,
        Training::default(),
    );
    let mut model = e.build_model(CLASSES, Path::new(".")).unwrap();
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
    e
}

fn cases() -> Vec<Experiment> {
    vec![
        case(
            "sequence_1d_a",
            vec![
                LayerSpec::Conv1D(Conv1D::new(6, 3).padding(Padding::Same).dilation(2).relu()),
                LayerSpec::BatchNormalization(BatchNormalization::default()),
                LayerSpec::MaxPooling1D(MaxPooling1D::new(2)),
                LayerSpec::AveragePooling1D(AveragePooling1D::new(3).strides(2).padding(Padding::Same)),
                LayerSpec::Conv1D(Conv1D {
                    activation: Activation::Tanh,
                    use_bias: false,
                    ..Conv1D::new(5, 4).padding(Padding::Causal)
                }),
                LayerSpec::GlobalMaxPooling1D(GlobalMaxPooling1D),
                LayerSpec::Dense(Dense {
                    activation: Activation::Softmax,
                    ..Dense::new(CLASSES)
                }),
            ],
            21,
        ),
        case(
            "sequence_1d_b",
            vec![
                LayerSpec::Conv1D(Conv1D::new(4, 5).strides(2).padding(Padding::Same).relu()),
                LayerSpec::Conv1D(Conv1D::new(4, 2).padding(Padding::Causal).dilation(3)),
                LayerSpec::MaxPooling1D(MaxPooling1D::new(3).strides(2).padding(Padding::Same)),
                LayerSpec::GlobalAveragePooling1D(GlobalAveragePooling1D),
                LayerSpec::Dense(Dense::new(CLASSES)),
            ],
            22,
        ),
        case(
            "sequence_1d_c",
            vec![
                LayerSpec::Embedding(Embedding::new(TOKENS, 5)),
                LayerSpec::Dense(Dense::new(7).relu()),
                LayerSpec::Conv1D(Conv1D::new(6, 3).padding(Padding::Same).relu()),
                LayerSpec::GlobalMaxPooling1D(GlobalMaxPooling1D),
                LayerSpec::Dense(Dense::new(CLASSES)),
            ],
            23,
        ),
    ]
}

/// The vocabulary of the text case.
const TOKENS: usize = 20;

/// Seeded values in [-1, 1) for every case, token ids for the text case.
fn inputs(e: &Experiment) -> Tensor {
    let shape = e.input.shape();
    let mut rng = StdRng::seed_from_u64(5);
    let text = matches!(e.layers[0], LayerSpec::Embedding(_));
    let data = (0..SAMPLES * shape.len())
        .map(|_| {
            if text {
                rng.random_range(0..TOKENS) as f32
            } else {
                rng.random_range(-1.0f32..1.0)
            }
        })
        .collect();
    Tensor::from_vec(SAMPLES, shape, data).unwrap()
}

/// The fingerprint of an export, without the metadata and producer version.
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

fn ints(node: &cnn_lab::interop::onnx_proto::NodeProto, name: &str) -> Vec<i64> {
    node.attribute
        .iter()
        .find(|a| a.name == name)
        .unwrap_or_else(|| panic!("{} has no {name}", node.op_type))
        .ints
        .clone()
}

#[test]
fn conv1d_and_the_1d_poolings_export_as_onnx_ops_with_1d_windows() {
    let e = &cases()[0];
    let bytes = onnx_bytes(e, Path::new("."), &OnnxOptions::default()).unwrap();
    let proto = ModelProto::decode(bytes.as_slice()).unwrap();
    let graph = proto.graph.as_ref().unwrap();
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(
        ops,
        [
            "Conv",
            "Relu",
            "BatchNormalization",
            "MaxPool",
            "AveragePool",
            "Conv",
            "Tanh",
            "GlobalMaxPool",
            "Flatten",
            "Gemm",
            "Softmax"
        ]
    );
    // (N, C, L) input, (F, C, K) kernels.
    let dims: Vec<i64> = graph.input[0]
        .r#type
        .as_ref()
        .and_then(|t| match t.value.as_ref()? {
            cnn_lab::interop::onnx_proto::type_proto::Value::TensorType(t) => t.shape.as_ref(),
        })
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(cnn_lab::interop::onnx_proto::tensor_shape_proto::dimension::Value::DimValue(v)) => v,
                    _ => -1,
                })
                .collect()
        })
        .unwrap();
    assert_eq!(dims, [-1, 3, 24]);
    assert_eq!(graph.initializer[0].dims, [6, 3, 3]);
    // Conv1D same, kernel 3, dilation 2: span 5, 2 zeros on each side.
    let conv = &graph.node[0];
    assert_eq!(ints(conv, "kernel_shape"), [3]);
    assert_eq!(ints(conv, "dilations"), [2]);
    assert_eq!(ints(conv, "strides"), [1]);
    assert_eq!(ints(conv, "pads"), [2, 2]);
    assert_eq!(ints(&graph.node[3], "kernel_shape"), [2]);
    assert_eq!(ints(&graph.node[3], "pads"), [0, 0]);
    // AveragePool 3, stride 2, same on 12 steps: 6 out, 1 zero after, real cells only.
    assert_eq!(ints(&graph.node[4], "pads"), [0, 1]);
    // Causal, kernel 4: all 3 zeros before.
    assert_eq!(ints(&graph.node[5], "pads"), [3, 0]);
    assert_eq!(ints(&graph.node[5], "dilations"), [1]);
}

#[test]
fn embedding_exports_as_a_gather_of_the_token_ids_and_dense_on_steps_as_a_matmul() {
    let e = &cases()[2];
    let bytes = onnx_bytes(e, Path::new("."), &OnnxOptions::default()).unwrap();
    let proto = ModelProto::decode(bytes.as_slice()).unwrap();
    let graph = proto.graph.as_ref().unwrap();
    let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
    assert_eq!(
        ops[..10],
        [
            "Cast",
            "Flatten",
            "Gather",
            "Transpose",
            "Transpose",
            "MatMul",
            "Add",
            "Transpose",
            "Relu",
            "Conv"
        ]
    );
    // The table is the data, the ids the indices.
    assert_eq!(graph.node[2].input[0], "0_Embedding.embeddings");
    assert_eq!(graph.initializer[0].dims, [TOKENS as i64, 5]);
    assert_eq!(ints(&graph.node[3], "perm"), [0, 2, 1]);
    // Dense on every step: the (5, 7) kernel multiplies each step's channels.
    assert_eq!(graph.node[5].input[1], "1_Dense.kernel");
    assert_eq!(graph.initializer[1].dims, [5, 7]);
}

fn reference_dir() -> PathBuf {
    std::env::var_os("ONNX_REF_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_TARGET_TMPDIR")).join("onnx-ref-1d"))
}

#[test]
#[ignore = "writes the models and inputs scripts/onnx_reference_1d.py runs ONNX Runtime on"]
fn write_reference_inputs() {
    let dir = reference_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for e in cases() {
        let x = inputs(&e);
        for logits in [false, true] {
            let bytes = onnx_bytes(&e, Path::new("."), &OnnxOptions { logits }).unwrap();
            let suffix = if logits { "_logits" } else { "" };
            std::fs::write(dir.join(format!("{}{suffix}.onnx", e.name)), &bytes).unwrap();
            std::fs::write(dir.join(format!("{}{suffix}.fingerprint", e.name)), fingerprint(&bytes)).unwrap();
        }
        std::fs::write(dir.join(format!("{}.input.f32", e.name)), f32_bytes(x.data())).unwrap();
        let shape = x.shape().nchw(SAMPLES);
        std::fs::write(
            dir.join(format!("{}.shape.json", e.name)),
            serde_json::to_string(&shape).unwrap(),
        )
        .unwrap();
    }
    println!("wrote {}", dir.display());
}

#[test]
fn sequence_models_exported_give_onnx_runtimes_outputs_within_1e_4() {
    for e in cases() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/onnx/{}.json", e.name));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("{}: {err}; run scripts/onnx_reference_1d.py", path.display()));
        let reference: serde_json::Value = serde_json::from_str(&text).unwrap();
        let x = inputs(&e);
        let probabilities = onnx_bytes(&e, Path::new("."), &OnnxOptions { logits: false }).unwrap();
        let logits = onnx_bytes(&e, Path::new("."), &OnnxOptions { logits: true }).unwrap();
        for (key, value) in [
            ("onnx_fingerprint", fingerprint(&probabilities)),
            ("logits_fingerprint", fingerprint(&logits)),
            ("input_fnv", fnv(&f32_bytes(x.data()))),
        ] {
            assert_eq!(
                reference[key].as_str(),
                Some(value.as_str()),
                "{}: the export or its inputs changed; run scripts/onnx_reference_1d.py",
                e.name
            );
        }
        let mut model = e.build_model(CLASSES, Path::new(".")).unwrap();
        let engine_logits = model.logits(&x, Mode::Infer).data().to_vec();
        let engine_probs = model.predict_proba(&x).data().to_vec();
        for (what, engine, onnx) in [
            ("probabilities", &engine_probs, json_rows(&reference["probabilities"])),
            ("logits", &engine_logits, json_rows(&reference["logits"])),
        ] {
            assert_eq!(engine.len(), onnx.len(), "{} {what}", e.name);
            for (i, (a, b)) in engine.iter().zip(&onnx).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-4 * b.abs().max(1.0),
                    "{} {what}[{i}]: engine {a}, ONNX Runtime {b}",
                    e.name
                );
            }
        }
        let spread = engine_logits.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(spread > 1e-3, "{}: logits all near 0", e.name);
    }
}

#[test]
fn a_sequence_model_exported_then_imported_comes_back_bit_for_bit() {
    use cnn_lab::interop::{ImportOptions, import_onnx_bytes};
    for e in cases() {
        for logits in [false, true] {
            let bytes = onnx_bytes(&e, Path::new("."), &OnnxOptions { logits }).unwrap();
            let back = import_onnx_bytes(&bytes, &e.name, &ImportOptions::default()).unwrap();
            assert_eq!(back, e, "{} (logits: {logits})", e.name);
        }
        // Without its experiment, a 1-D graph is not read node by node (yet): refused, not
        // misread.
        let bytes = onnx_bytes(&e, Path::new("."), &OnnxOptions::default()).unwrap();
        let mut proto = ModelProto::decode(bytes.as_slice()).unwrap();
        proto.metadata_props.retain(|m| m.key != "cnn_lab.experiment");
        let err = import_onnx_bytes(&proto.encode_to_vec(), &e.name, &ImportOptions::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("1-D models only from its own exports"),
            "{}: {err}",
            e.name
        );
    }
}
