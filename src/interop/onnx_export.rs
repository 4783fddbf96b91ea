//! ONNX export: an experiment's model (its trained weights, or the seeded ones before training)
//! as an opset-17 graph that ONNX Runtime, tract or any other runtime can run.
//!
//! The graph's input `input` is the NCHW float32 tensor the first layer sees, after the
//! experiment's normalization (recorded in `metadata_props` as `normalization`, e.g. `ZeroOne`
//! = pixels / 255), with a dynamic batch dimension `batch`. The output is `probabilities`
//! (softmax applied) or, with [`OnnxOptions::logits`], `logits`. Each layer becomes the node(s)
//! that compute exactly what the engine computes:
//! - Conv2D: `Conv` with explicit `pads` (TensorFlow's `same` puts the odd pixel bottom/right),
//!   then its activation; the kernel is (F, C, KH, KW) in both.
//! - MaxPooling2D / AveragePooling2D: `MaxPool` (a padded cell is never picked) /
//!   `AveragePool` with `count_include_pad = 0` (divides by the real cells), explicit `pads`.
//! - GlobalAveragePooling2D / GlobalMaxPooling2D: the global pool, then `Flatten` (the engine
//!   outputs a vector of C values).
//! - Flatten: `Flatten` (the engine flattens C, H, W in that order, as ONNX does on NCHW).
//! - Dense: `Gemm` with the (in, out) kernel as B.
//! - BatchNormalization: inference form with the moving statistics and the layer's epsilon.
//! - Dropout: nothing (inference). Activations: `Relu`, `LeakyRelu`, `Sigmoid`, `Tanh`, `Softmax`.
//!
//! The experiment itself (without weights) rides along as `cnn_lab.experiment`, so importing
//! the file back gives the same experiment, bit for bit.

use super::error::InteropError;
use super::onnx_proto::attribute_proto::AttributeType;
use super::onnx_proto::tensor_proto::DataType;
use super::onnx_proto::tensor_shape_proto::{Dimension, dimension};
use super::onnx_proto::type_proto;
use super::onnx_proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use crate::cnn::geometry::{Padding, axis};
use crate::cnn::{Activation, LayerSpec, Model, Shape};
use crate::experiment::{self, Experiment};
use prost::Message;
use std::path::Path;

/// The opset the exported graphs declare.
pub const OPSET: i64 = 17;
/// ONNX IR version 8 (ONNX 1.10+; every runtime of opset 17 reads it).
pub const IR_VERSION: i64 = 8;
/// Metadata keys.
pub const META_NORMALIZATION: &str = "normalization";
pub const META_CLASS_NAMES: &str = "class_names";
pub const META_EXPERIMENT: &str = "cnn_lab.experiment";
/// The graph's input name.
pub const INPUT: &str = "input";

/// What to export.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OnnxOptions {
    /// Output the raw class scores (`logits`) instead of `probabilities`.
    pub logits: bool,
}

impl OnnxOptions {
    pub fn output_name(&self) -> &'static str {
        if self.logits { "logits" } else { "probabilities" }
    }
}

/// Writes `experiment`'s model to `path` as ONNX (atomically). `base_dir` is the folder its
/// relative paths start from (a transfer source, when it is not trained yet).
pub fn export_onnx(
    experiment: &Experiment,
    base_dir: &Path,
    path: &Path,
    options: &OnnxOptions,
) -> Result<(), InteropError> {
    let bytes = onnx_bytes(experiment, base_dir, options)?;
    experiment::io::write_atomic(path, &bytes).map_err(|source| InteropError::Write {
        path: path.into(),
        source,
    })
}

/// The ONNX file's bytes.
pub fn onnx_bytes(experiment: &Experiment, base_dir: &Path, options: &OnnxOptions) -> Result<Vec<u8>, InteropError> {
    Ok(onnx_model(experiment, base_dir, options)?.encode_to_vec())
}

/// The number of class scores the layers end in.
pub(crate) fn output_len(experiment: &Experiment) -> Result<usize, InteropError> {
    let summary = crate::cnn::infer(experiment.input.shape(), &experiment.layers, None).map_err(InteropError::Model)?;
    summary
        .layers
        .last()
        .map(|l| l.output.len())
        .ok_or_else(|| InteropError::malformed("the experiment has no layers", "add layers before exporting"))
}

/// The ONNX model of `experiment`.
pub fn onnx_model(experiment: &Experiment, base_dir: &Path, options: &OnnxOptions) -> Result<ModelProto, InteropError> {
    let classes = output_len(experiment)?;
    let model = experiment.build_model(classes, base_dir)?;
    let graph = graph(experiment, &model, options);
    let mut metadata = vec![
        entry(
            META_NORMALIZATION,
            ron::to_string(&experiment.training.normalization).unwrap_or_default(),
        ),
        entry(META_EXPERIMENT, experiment::to_text(&carried(experiment))),
    ];
    if !experiment.class_names.is_empty() {
        metadata.push(entry(
            META_CLASS_NAMES,
            serde_json::to_string(&experiment.class_names).unwrap_or_default(),
        ));
    }
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "CNN Lab".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: experiment.name.clone(),
        graph: Some(graph),
        metadata_props: metadata,
        ..Default::default()
    })
}

/// What of the experiment rides along in the metadata: everything but the weights (they are the
/// graph's initializers) and what only a resumed run or the filter timeline needs.
pub(crate) fn carried(experiment: &Experiment) -> Experiment {
    let mut e = experiment.clone();
    e.weights = None;
    e.filter_snapshots.clear();
    e.resume = None;
    e
}

fn entry(key: &str, value: String) -> StringStringEntryProto {
    StringStringEntryProto { key: key.into(), value }
}

/// Builds the node list, one layer after another.
struct Builder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    current: String,
}

impl Builder {
    fn node(&mut self, name: String, op: &str, weights: &[&str], attributes: Vec<AttributeProto>) {
        let output = format!("{name}_out");
        let mut input = vec![self.current.clone()];
        input.extend(weights.iter().map(|w| w.to_string()));
        self.nodes.push(NodeProto {
            input,
            output: vec![output.clone()],
            name,
            op_type: op.into(),
            attribute: attributes,
            ..Default::default()
        });
        self.current = output;
    }

    /// A node whose inputs are `inputs` (the current value among them where it belongs).
    fn node_with_inputs(&mut self, name: String, op: &str, inputs: Vec<String>, attributes: Vec<AttributeProto>) {
        let output = format!("{name}_out");
        self.nodes.push(NodeProto {
            input: inputs,
            output: vec![output.clone()],
            name,
            op_type: op.into(),
            attribute: attributes,
            ..Default::default()
        });
        self.current = output;
    }

    fn weight(&mut self, name: String, dims: &[usize], values: &[f32]) -> String {
        self.initializers.push(float_tensor(&name, dims, values));
        name
    }

    fn activation(&mut self, name: &str, activation: Activation) {
        let (op, attributes) = match activation {
            Activation::Linear => return,
            Activation::Relu => ("Relu", vec![]),
            Activation::LeakyRelu(slope) => ("LeakyRelu", vec![float_attr("alpha", slope)]),
            Activation::Sigmoid => ("Sigmoid", vec![]),
            Activation::Tanh => ("Tanh", vec![]),
            Activation::Softmax => ("Softmax", vec![int_attr("axis", 1)]),
        };
        self.node(format!("{name}_{}", activation.keras_name()), op, &[], attributes);
    }
}

pub(crate) fn float_tensor(name: &str, dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::Float as i32,
        name: name.into(),
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

fn int_attr(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i: value,
        ..Default::default()
    }
}

fn float_attr(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f: value,
        ..Default::default()
    }
}

fn ints_attr(name: &str, values: &[usize]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: values.iter().map(|&v| v as i64).collect(),
        ..Default::default()
    }
}

/// `kernel_shape`, `strides` and `pads` (top, left, bottom, right) of a window on `input`.
fn window_attrs(
    input: Shape,
    kernel: (usize, usize),
    strides: (usize, usize),
    padding: Padding,
) -> Vec<AttributeProto> {
    let (h, w) = input.spatial();
    // Shape inference accepted the layer, so the window fits; valid padding otherwise.
    let none = crate::cnn::geometry::Axis {
        out: 1,
        pad_before: 0,
        pad_after: 0,
    };
    let rows = axis(h, kernel.0, strides.0, padding).unwrap_or(none);
    let cols = axis(w, kernel.1, strides.1, padding).unwrap_or(none);
    vec![
        ints_attr("kernel_shape", &[kernel.0, kernel.1]),
        ints_attr("strides", &[strides.0, strides.1]),
        ints_attr(
            "pads",
            &[rows.pad_before, cols.pad_before, rows.pad_after, cols.pad_after],
        ),
    ]
}

/// `kernel_shape`, `strides`, `pads` (begin, end) and `dilations` of a 1-D window of `kernel`
/// taps `dilation` apart on a sequence `input` (Conv1D and the 1-D poolings).
fn line_attrs(input: Shape, kernel: usize, stride: usize, dilation: usize, padding: Padding) -> Vec<AttributeProto> {
    let steps = input.spatial().1;
    let span = kernel.saturating_sub(1) * dilation + 1;
    let none = crate::cnn::geometry::Axis {
        out: 1,
        pad_before: 0,
        pad_after: 0,
    };
    let a = axis(steps, span, stride, padding).unwrap_or(none);
    vec![
        ints_attr("kernel_shape", &[kernel]),
        ints_attr("strides", &[stride]),
        ints_attr("pads", &[a.pad_before, a.pad_after]),
    ]
}

fn graph(experiment: &Experiment, model: &Model, options: &OnnxOptions) -> GraphProto {
    let mut b = Builder {
        nodes: Vec::new(),
        initializers: Vec::new(),
        current: INPUT.into(),
    };
    let specs = &experiment.layers;
    let infos = &model.summary().layers;
    let last = specs.len().saturating_sub(1);
    let mut ends_in_softmax = false;
    for (i, (spec, layer)) in specs.iter().zip(model.layers()).enumerate() {
        let name = format!("{i}_{}", spec.kind());
        let input = infos[i].input;
        let params = layer.params();
        let param = |n: &str| params.iter().find(|p| p.name == n).copied();
        let mut activation = spec.activation().unwrap_or(Activation::Linear);
        if i == last && activation == Activation::Softmax {
            ends_in_softmax = true;
            if options.logits {
                activation = Activation::Linear;
            }
        }
        match spec {
            LayerSpec::Conv2D(c) => {
                let mut inputs = Vec::new();
                if let Some(k) = param("kernel") {
                    inputs.push(b.weight(format!("{name}.kernel"), &k.dims, &k.value));
                }
                if let Some(bias) = param("bias").filter(|p| c.use_bias && !p.is_empty()) {
                    inputs.push(b.weight(format!("{name}.bias"), &bias.dims, &bias.value));
                }
                let mut attrs = window_attrs(input, c.kernel_size, c.strides, c.padding);
                attrs.push(ints_attr("dilations", &[1, 1]));
                attrs.push(int_attr("group", 1));
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                b.node(name.clone(), "Conv", &refs, attrs);
                b.activation(&name, activation);
            }
            LayerSpec::MaxPooling2D(p) => {
                let attrs = window_attrs(input, p.pool_size, p.effective_strides(), p.padding);
                b.node(name, "MaxPool", &[], attrs);
            }
            LayerSpec::AveragePooling2D(p) => {
                let mut attrs = window_attrs(input, p.pool_size, p.effective_strides(), p.padding);
                attrs.push(int_attr("count_include_pad", 0));
                b.node(name, "AveragePool", &[], attrs);
            }
            LayerSpec::BatchNormalization(bn) => {
                let mut inputs = Vec::new();
                for n in ["gamma", "beta", "moving_mean", "moving_variance"] {
                    if let Some(p) = param(n) {
                        inputs.push(b.weight(format!("{name}.{n}"), &p.dims, &p.value));
                    }
                }
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                b.node(
                    name,
                    "BatchNormalization",
                    &refs,
                    vec![float_attr("epsilon", bn.epsilon)],
                );
            }
            LayerSpec::Activation(_) => b.activation(&name, activation),
            LayerSpec::GlobalAveragePooling2D(_) => {
                b.node(name.clone(), "GlobalAveragePool", &[], vec![]);
                b.node(format!("{name}_flatten"), "Flatten", &[], vec![int_attr("axis", 1)]);
            }
            LayerSpec::GlobalMaxPooling2D(_) => {
                b.node(name.clone(), "GlobalMaxPool", &[], vec![]);
                b.node(format!("{name}_flatten"), "Flatten", &[], vec![int_attr("axis", 1)]);
            }
            LayerSpec::Flatten(_) => b.node(name, "Flatten", &[], vec![int_attr("axis", 1)]),
            LayerSpec::Dense(d) => {
                let mut inputs = Vec::new();
                if let Some(k) = param("kernel") {
                    inputs.push(b.weight(format!("{name}.kernel"), &k.dims, &k.value));
                }
                if let Some(bias) = param("bias").filter(|p| d.use_bias && !p.is_empty()) {
                    inputs.push(b.weight(format!("{name}.bias"), &bias.dims, &bias.value));
                }
                if input.is_sequence() {
                    // Every step: (N, C, L) → (N, L, C) · kernel (C, U) + bias → (N, U, L).
                    let perm = || vec![ints_attr("perm", &[0, 2, 1])];
                    b.node(format!("{name}_steps"), "Transpose", &[], perm());
                    b.node(format!("{name}_matmul"), "MatMul", &[inputs[0].as_str()], vec![]);
                    if let Some(bias) = inputs.get(1) {
                        b.node(format!("{name}_bias"), "Add", &[bias.as_str()], vec![]);
                    }
                    b.node(name.clone(), "Transpose", &[], perm());
                } else {
                    let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                    b.node(name.clone(), "Gemm", &refs, vec![]);
                }
                b.activation(&name, activation);
            }
            LayerSpec::Dropout(_) => {}
            LayerSpec::Conv1D(c) => {
                let mut inputs = Vec::new();
                if let Some(k) = param("kernel") {
                    inputs.push(b.weight(format!("{name}.kernel"), &k.dims, &k.value));
                }
                if let Some(bias) = param("bias").filter(|p| c.use_bias && !p.is_empty()) {
                    inputs.push(b.weight(format!("{name}.bias"), &bias.dims, &bias.value));
                }
                let mut attrs = line_attrs(input, c.kernel_size, c.strides, c.dilation_rate, c.padding);
                attrs.push(ints_attr("dilations", &[c.dilation_rate]));
                attrs.push(int_attr("group", 1));
                let refs: Vec<&str> = inputs.iter().map(String::as_str).collect();
                b.node(name.clone(), "Conv", &refs, attrs);
                b.activation(&name, activation);
            }
            LayerSpec::MaxPooling1D(p) => {
                let attrs = line_attrs(input, p.pool_size, p.effective_strides(), 1, p.padding);
                b.node(name, "MaxPool", &[], attrs);
            }
            LayerSpec::AveragePooling1D(p) => {
                let mut attrs = line_attrs(input, p.pool_size, p.effective_strides(), 1, p.padding);
                attrs.push(int_attr("count_include_pad", 0));
                b.node(name, "AveragePool", &[], attrs);
            }
            LayerSpec::GlobalAveragePooling1D(_) => {
                b.node(name.clone(), "GlobalAveragePool", &[], vec![]);
                b.node(format!("{name}_flatten"), "Flatten", &[], vec![int_attr("axis", 1)]);
            }
            LayerSpec::GlobalMaxPooling1D(_) => {
                b.node(name.clone(), "GlobalMaxPool", &[], vec![]);
                b.node(format!("{name}_flatten"), "Flatten", &[], vec![int_attr("axis", 1)]);
            }
            LayerSpec::Embedding(_) => {
                // (N, 1, L) float ids → int64 (N, L) → rows of the table (N, L, D) → (N, D, L).
                let Some(table) = param("embeddings") else { continue };
                let table = b.weight(format!("{name}.embeddings"), &table.dims, &table.value);
                b.node(
                    format!("{name}_ids"),
                    "Cast",
                    &[],
                    vec![int_attr("to", DataType::Int64 as i64)],
                );
                b.node(format!("{name}_steps"), "Flatten", &[], vec![int_attr("axis", 1)]);
                let ids = b.current.clone();
                b.node_with_inputs(
                    format!("{name}_gather"),
                    "Gather",
                    vec![table, ids],
                    vec![int_attr("axis", 0)],
                );
                b.node(name, "Transpose", &[], vec![ints_attr("perm", &[0, 2, 1])]);
            }
        }
    }
    let out_shape = infos.last().map_or(experiment.input.shape(), |l| l.output);
    if out_shape.is_image() {
        b.node("scores_flatten".into(), "Flatten", &[], vec![int_attr("axis", 1)]);
    }
    if !options.logits && !ends_in_softmax {
        b.node("softmax".into(), "Softmax", &[], vec![int_attr("axis", 1)]);
    }
    if b.nodes.is_empty() {
        b.node("identity".into(), "Identity", &[], vec![]);
    }
    let output = options.output_name();
    if let Some(last) = b.nodes.last_mut() {
        last.output = vec![output.into()];
    }
    let input = experiment.input;
    GraphProto {
        node: b.nodes,
        name: "cnn_lab".into(),
        initializer: b.initializers,
        input: vec![value_info(
            INPUT,
            &if input.sequence {
                vec![None, Some(input.channels), Some(input.width)]
            } else {
                vec![None, Some(input.channels), Some(input.height), Some(input.width)]
            },
        )],
        output: vec![value_info(output, &[None, Some(out_shape.len())])],
        ..Default::default()
    }
}

/// A float tensor's name and shape; `None` is the dynamic batch dimension.
fn value_info(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            denotation: String::new(),
            value: Some(match d {
                Some(n) => dimension::Value::DimValue(*n as i64),
                None => dimension::Value::DimParam("batch".into()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            denotation: String::new(),
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        doc_string: String::new(),
    }
}
