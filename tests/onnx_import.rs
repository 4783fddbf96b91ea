//! ONNX import: models made by other tools (a PyTorch export and tf2onnx's spellings, with their
//! reference outputs, made by `scripts/make_onnx_fixtures.py`) reproduce those outputs within
//! 1e-4; what CNN Lab cannot represent is refused with a sentence naming the node, its op and
//! what is supported; damaged and hostile files are refused quickly, never with a panic.

mod support;

use cnn_lab::cnn::spec::{BatchNormalization, Conv2D, Dense, Flatten, Pool2D};
use cnn_lab::cnn::{Activation, LayerSpec, Mode, Padding, Tensor};
use cnn_lab::experiment::DatasetSource;
use cnn_lab::interop::onnx_proto::attribute_proto::AttributeType;
use cnn_lab::interop::onnx_proto::{AttributeProto, ModelProto, NodeProto};
use cnn_lab::interop::{ImportOptions, InteropError, import_onnx, import_onnx_bytes};
use prost::Message;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use support::json_rows;

fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/onnx_import")
        .join(name)
}

fn reference(name: &str) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fixture_path(&format!("{name}.json"))).unwrap()).unwrap()
}

fn input_of(reference: &serde_json::Value, shape: cnn_lab::cnn::Shape) -> Tensor {
    let x = json_rows(&reference["input"]);
    Tensor::from_vec(x.len() / shape.len(), shape, x).unwrap()
}

fn assert_close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-4 * b.abs().max(1.0),
            "{what}[{i}]: CNN Lab {a}, reference {b}"
        );
    }
}

#[test]
fn a_pytorch_export_imports_with_its_layers_and_reproduces_pytorchs_outputs() {
    let e = import_onnx(&fixture_path("torch_cnn.onnx"), &ImportOptions::default()).unwrap();
    let conv = |filters, strides, activation| {
        let mut c = Conv2D::new(filters, 3).padding(Padding::Explicit(1)).strides(strides);
        c.activation = activation;
        LayerSpec::Conv2D(c)
    };
    let mut dense = Dense::new(10);
    dense.activation = Activation::Linear;
    let want = vec![
        conv(6, 1, Activation::Relu),
        LayerSpec::BatchNormalization(BatchNormalization {
            momentum: 0.9,
            epsilon: 1e-5,
            trainable: true,
        }),
        conv(8, 2, Activation::Relu),
        LayerSpec::MaxPooling2D(Pool2D::new(2)),
        conv(8, 1, Activation::Relu),
        LayerSpec::AveragePooling2D(Pool2D::new(2)),
        LayerSpec::GlobalAveragePooling2D(cnn_lab::cnn::spec::GlobalAveragePooling2D),
        LayerSpec::Dense(dense),
    ];
    assert_eq!(e.layers, want);
    assert_eq!((e.input.height, e.input.width, e.input.channels), (28, 28, 1));
    // 28×28×1 with 10 classes and no metadata: MNIST, pixels / 255.
    assert_eq!(e.dataset, DatasetSource::Bundled("mnist".into()));
    assert_eq!(e.training.normalization, cnn_lab::data::Normalization::ZeroOne);

    let reference = reference("torch_cnn");
    let x = input_of(&reference, e.input.shape());
    let mut model = e.build_model(10, Path::new(".")).unwrap();
    let logits = model.logits(&x, Mode::Infer).data().to_vec();
    assert_close(&logits, &json_rows(&reference["torch"]), "PyTorch logits");
    assert_close(&logits, &json_rows(&reference["onnxruntime"]), "ONNX Runtime logits");
    // The imported model is an ordinary experiment: it saves, loads and summarizes.
    let dir = support::TempDir::new("torch-import");
    let path = dir.join("torch.ron");
    cnn_lab::experiment::save(&e, &path).unwrap();
    assert_eq!(cnn_lab::experiment::load(&path).unwrap(), e);
}

#[test]
fn tf2onnx_spellings_import_as_same_padding_flatten_and_dense_with_softmax() {
    let e = import_onnx(&fixture_path("tf_style.onnx"), &ImportOptions::default()).unwrap();
    let mut dense = Dense::new(10);
    dense.activation = Activation::Softmax;
    assert_eq!(
        e.layers,
        vec![
            LayerSpec::Conv2D(Conv2D::new(4, 3).strides(2).same().relu()),
            LayerSpec::MaxPooling2D(Pool2D::new(3).strides(2).padding(Padding::Same)),
            LayerSpec::Flatten(Flatten),
            LayerSpec::Dense(dense),
        ]
    );
    assert_eq!(e.class_names, (0..10).map(|i| format!("digit {i}")).collect::<Vec<_>>());
    let reference = reference("tf_style");
    let x = input_of(&reference, e.input.shape());
    let mut model = e.build_model(10, Path::new(".")).unwrap();
    assert_close(
        model.predict_proba(&x).data(),
        &json_rows(&reference["onnxruntime"]),
        "probabilities",
    );
}

#[test]
fn options_choose_the_dataset_and_normalization() {
    let options = ImportOptions {
        dataset: Some(DatasetSource::Bundled("fashion-mnist".into())),
        normalization: Some(cnn_lab::data::Normalization::None),
        name: Some("mine".into()),
    };
    let e = import_onnx(&fixture_path("torch_cnn.onnx"), &options).unwrap();
    assert_eq!(e.dataset, DatasetSource::Bundled("fashion-mnist".into()));
    assert_eq!(e.training.normalization, cnn_lab::data::Normalization::None);
    assert_eq!(e.name, "mine");
}

fn torch_model() -> ModelProto {
    ModelProto::decode(std::fs::read(fixture_path("torch_cnn.onnx")).unwrap().as_slice()).unwrap()
}

fn nodes(m: &mut ModelProto) -> &mut Vec<NodeProto> {
    &mut m.graph.as_mut().unwrap().node
}

fn refusal(m: &ModelProto) -> String {
    let start = Instant::now();
    let err = import_onnx_bytes(&m.encode_to_vec(), "test.onnx", &ImportOptions::default()).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1), "took {:?}", start.elapsed());
    err.to_string()
}

fn set_attr(node: &mut NodeProto, name: &str, ints: Vec<i64>, int: Option<i64>) {
    node.attribute.retain(|a| a.name != name);
    node.attribute.push(AttributeProto {
        name: name.into(),
        r#type: if int.is_some() {
            AttributeType::Int
        } else {
            AttributeType::Ints
        } as i32,
        ints,
        i: int.unwrap_or(0),
        ..Default::default()
    });
}

#[test]
fn what_cnn_lab_cannot_represent_is_refused_naming_node_op_and_what_is_supported() {
    let conv_name = torch_model().graph.unwrap().node[0].name.clone();

    let mut m = torch_model();
    nodes(&mut m)[1].op_type = "Erf".into();
    let msg = refusal(&m);
    assert!(
        msg.contains("(Erf): CNN Lab has no layer for this operation; CNN Lab supports Conv"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("node \"{}\"", torch_model().graph.unwrap().node[1].name)),
        "{msg}"
    );

    let mut m = torch_model();
    set_attr(&mut nodes(&mut m)[0], "group", vec![], Some(2));
    let msg = refusal(&m);
    assert!(
        msg.starts_with(&format!(
            "node \"{conv_name}\" (Conv): group 2 (a grouped or depthwise convolution); CNN Lab supports"
        )),
        "{msg}"
    );

    let mut m = torch_model();
    set_attr(&mut nodes(&mut m)[0], "dilations", vec![2, 2], None);
    let msg = refusal(&m);
    assert!(
        msg.contains("(Conv): dilations [2, 2] (a dilated convolution); CNN Lab supports"),
        "{msg}"
    );

    // A branch: the first conv's output also feeds a second node.
    let mut m = torch_model();
    let first_out = nodes(&mut m)[0].output[0].clone();
    nodes(&mut m).push(NodeProto {
        input: vec![first_out.clone()],
        output: vec!["side".into()],
        name: "side_branch".into(),
        op_type: "Relu".into(),
        ..Default::default()
    });
    let msg = refusal(&m);
    assert!(
        msg.starts_with(&format!(
            "the graph is not one chain of layers: tensor \"{first_out}\" feeds 2 nodes"
        )),
        "{msg}"
    );
    assert!(msg.contains("a branch; CNN Lab opens sequential models"), "{msg}");

    // A join: Add of two computed tensors (a residual connection).
    let mut m = torch_model();
    let n = nodes(&mut m);
    let (a, b) = (n[0].output[0].clone(), n[1].output[0].clone());
    n[2].input = vec![b, a];
    n[2].op_type = "Add".into();
    n[2].attribute.clear();
    let msg = refusal(&m);
    assert!(msg.starts_with("the graph is not one chain of layers:"), "{msg}");
}

#[test]
fn damaged_and_foreign_files_are_errors_never_panics() {
    let bytes = std::fs::read(fixture_path("torch_cnn.onnx")).unwrap();
    // Truncated anywhere: an error (most cuts break the protobuf; the others lose weights or nodes).
    for cut in [
        1,
        10,
        100,
        bytes.len() / 3,
        bytes.len() / 2,
        bytes.len() - 7,
        bytes.len() - 1,
    ] {
        let start = Instant::now();
        let err = import_onnx_bytes(&bytes[..cut], "cut.onnx", &ImportOptions::default());
        assert!(err.is_err(), "cut at {cut} imported");
        assert!(start.elapsed() < Duration::from_secs(1));
    }
    let err = import_onnx_bytes(&bytes[..bytes.len() / 2], "cut.onnx", &ImportOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("cut.onnx is not an ONNX model ("), "{err}");
    // Another kind of file: a PNG, an experiment.
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x10\0\0\0\x10\x08\x02\0\0\0";
    let err = import_onnx_bytes(png, "picture.onnx", &ImportOptions::default()).unwrap_err();
    assert!(
        err.to_string().starts_with("picture.onnx is not an ONNX model ("),
        "{err}"
    );
    assert!(
        err.to_string()
            .ends_with("; export it again with torch.onnx.export or tf2onnx"),
        "{err}"
    );
    let ron = std::fs::read(support::projects_dir().join("mnist_lenet.ron")).unwrap();
    let err = import_onnx_bytes(&ron, "lenet.onnx", &ImportOptions::default()).unwrap_err();
    assert!(matches!(err, InteropError::NotOnnx { .. }), "{err}");
    let err = import_onnx_bytes(b"", "empty.onnx", &ImportOptions::default()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "empty.onnx is not an ONNX model (the file is empty); export it again with torch.onnx.export or tf2onnx"
    );
    // From a path: the file is named.
    let dir = support::TempDir::new("onnx-damaged");
    let path = dir.join("half.onnx");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = import_onnx(&path, &ImportOptions::default()).unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("{} is not an ONNX model", path.display())),
        "{err}"
    );
    let err = import_onnx(&dir.join("missing.onnx"), &ImportOptions::default()).unwrap_err();
    assert!(err.to_string().starts_with("cannot read "), "{err}");
}

#[test]
fn hostile_files_are_refused_within_a_second() {
    // Huge declared dimensions on a weight with no data.
    let mut m = torch_model();
    let w = &mut m.graph.as_mut().unwrap().initializer[0];
    w.dims = vec![1_000_000_000, 1_000_000_000, 3, 3];
    let msg = refusal(&m);
    assert!(
        msg.contains("declares dimensions [1000000000, 1000000000, 3, 3], more than"),
        "{msg}"
    );

    // Data shorter than the dimensions.
    let mut m = torch_model();
    let w = &mut m.graph.as_mut().unwrap().initializer[0];
    let name = w.name.clone();
    w.raw_data.truncate(8);
    w.float_data.truncate(2);
    let msg = refusal(&m);
    assert!(msg.contains(&format!("tensor \"{name}\" declares dimensions")), "{msg}");
    assert!(msg.contains("but holds 2; the file is damaged or truncated"), "{msg}");

    // A cycle: two nodes feeding each other, off the path (and one feeding itself).
    let mut m = torch_model();
    for (name, input, output) in [("loop_a", "x", "y"), ("loop_b", "y", "x"), ("self", "z", "z")] {
        nodes(&mut m).push(NodeProto {
            input: vec![input.into()],
            output: vec![output.into()],
            name: name.into(),
            op_type: "Relu".into(),
            ..Default::default()
        });
    }
    let msg = refusal(&m);
    assert!(
        msg.starts_with("the graph is not one chain of layers: node \"loop_a\" (Relu) is not on the path"),
        "{msg}"
    );
    // A cycle through the chain: a node writes a tensor the chain already read.
    let mut m = torch_model();
    let n = nodes(&mut m);
    let first = n[0].output[0].clone();
    let last = n.len() - 1;
    n[last].output = vec![first];
    let msg = refusal(&m);
    assert!(msg.contains("written by two nodes"), "{msg}");

    // 10⁹ nodes declared: a graph field claiming a billion bytes, and far too many nodes.
    let mut bytes = vec![0x08, 0x08, 0x3a]; // ir_version 8, then field 7 (graph), length-delimited
    let mut len: u64 = 1_000_000_000;
    while len >= 0x80 {
        bytes.push((len as u8) | 0x80);
        len >>= 7;
    }
    bytes.push(len as u8);
    bytes.extend_from_slice(&[0x0a, 0x05, 0x12, 0x01, b'a', 0x22, 0x00]);
    let start = Instant::now();
    let err = import_onnx_bytes(&bytes, "billion.onnx", &ImportOptions::default()).unwrap_err();
    assert!(start.elapsed() < Duration::from_secs(1));
    assert!(
        err.to_string()
            .starts_with("billion.onnx is not an ONNX model (its protobuf does not decode"),
        "{err}"
    );
    let mut m = torch_model();
    let identity = NodeProto {
        op_type: "Identity".into(),
        ..Default::default()
    };
    nodes(&mut m).extend(std::iter::repeat_n(identity, 20_000));
    let msg = refusal(&m);
    assert!(msg.contains("nodes, more than the 10000 CNN Lab reads"), "{msg}");
}

#[test]
fn an_imported_model_is_a_transfer_learning_source() {
    // Freeze the imported convolutions, retrain a new head on Fashion-MNIST.
    let dir = support::TempDir::new("onnx-transfer");
    let source = dir.join("torch.ron");
    let imported = import_onnx(&fixture_path("torch_cnn.onnx"), &ImportOptions::default()).unwrap();
    cnn_lab::experiment::save(&imported, &source).unwrap();
    let mut student = imported.clone();
    student.weights = None;
    student.class_names.clear();
    student.dataset = DatasetSource::Bundled("fashion-mnist".into());
    student.transfer = Some(cnn_lab::experiment::Transfer {
        from: PathBuf::from("torch.ron"),
        layers: 7,
        freeze: true,
    });
    let model = student.build_model(10, dir.path()).unwrap();
    let first = &model.layers()[0].params()[0];
    let imported_first = imported.weights.as_ref().unwrap()[0].decode().unwrap();
    assert_eq!(first.value, imported_first);
    assert!(!model.layers()[0].trainable());
    assert!(model.layers()[7].trainable());
}
