//! ONNX import: a sequential CNN (from `torch.onnx.export`, tf2onnx or CNN Lab itself) becomes an
//! experiment with layers, weights, class names and normalization, ready for the editor, the
//! summary, the inspection views and transfer learning.
//!
//! The common spellings of one layer are all accepted: `Gemm` (either kernel orientation) or
//! `MatMul` + `Add`, `Flatten` or `Reshape` to (N, -1), `Conv` pads that equal TensorFlow's
//! `same`, `BatchNormalization` nodes, activations as nodes (fused into the Conv2D or Dense
//! before them). Anything else is refused with the node, its op and what CNN Lab supports.
//! A file CNN Lab exported carries its experiment in the metadata: when the graph is exactly
//! what that experiment exports to, the experiment comes back bit for bit. Sequence models
//! (input N, C, steps) are read only that way for now.

use super::error::InteropError;
use super::onnx_export::{self, META_CLASS_NAMES, META_EXPERIMENT, META_NORMALIZATION, OnnxOptions};
use super::onnx_proto::{ModelProto, NodeProto};
use super::onnx_read::{self, Chain, attr_float, attr_int, attr_ints, attr_string, node_name, tensor_f32, tensor_i64};
use crate::cnn::geometry::{Padding, axis};
use crate::cnn::spec::{BatchNormalization, Conv2D, Dense, Flatten, Pool2D};
use crate::cnn::{Activation, LayerSpec, Model, Shape};
use crate::data::Normalization;
use crate::experiment::{self, DatasetSource, Experiment, Input, Training, WeightArray};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The operations CNN Lab imports, for refusals.
pub const SUPPORTED: &str = "Conv (group 1, no dilation), MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, Flatten, Reshape to (N, -1), Squeeze after a global pool, Gemm, MatMul + Add, BatchNormalization, Relu, LeakyRelu, Sigmoid, Tanh, Softmax, Dropout and Identity";

/// What the file does not say.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportOptions {
    /// The data to train or inspect with (default: from the metadata, else MNIST for a 28×28×1
    /// input, else a folder `images/` beside the experiment).
    pub dataset: Option<DatasetSource>,
    /// Overrides the metadata's normalization (default there: `ZeroOne`).
    pub normalization: Option<Normalization>,
    /// The experiment's name (default: from the metadata, else the file name).
    pub name: Option<String>,
}

/// Imports the ONNX model at `path` as an experiment.
pub fn import_onnx(path: &Path, options: &ImportOptions) -> Result<Experiment, InteropError> {
    let model = onnx_read::read_model(path)?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    from_model(&model, &stem, options).map_err(|e| e.in_file(path))
}

/// Imports ONNX bytes (`name` names the experiment when nothing else does).
pub fn import_onnx_bytes(bytes: &[u8], name: &str, options: &ImportOptions) -> Result<Experiment, InteropError> {
    let model = onnx_read::decode_model(bytes).map_err(|reason| InteropError::NotOnnx {
        path: PathBuf::from(name),
        reason,
    })?;
    from_model(&model, name, options)
}

fn meta<'a>(model: &'a ModelProto, key: &str) -> Option<&'a str> {
    model
        .metadata_props
        .iter()
        .find(|e| e.key == key)
        .map(|e| e.value.as_str())
}

/// The experiment a model describes.
pub fn from_model(model: &ModelProto, name: &str, options: &ImportOptions) -> Result<Experiment, InteropError> {
    if let Some(opset) = model
        .opset_import
        .iter()
        .find(|o| o.domain.is_empty() || o.domain == "ai.onnx")
        && opset.version < 7
    {
        return Err(InteropError::malformed(
            format!("the model uses ONNX opset {}", opset.version),
            "export it again with opset 11 or newer",
        ));
    }
    let Some(graph) = model.graph.as_ref() else {
        return Err(InteropError::malformed("the model has no graph", "export it again"));
    };
    let chain = onnx_read::chain(graph)?;
    if chain.sequence {
        return own_sequence_model(model, &chain, name, options);
    }
    let (layers, params) = layers_of(&chain)?;
    let (c, h, w) = chain.chw;
    let input = Input::image(h, w, c);
    let classes = Model::build(input.shape(), &layers, None, 0)
        .map_err(InteropError::Model)?
        .summary()
        .layers
        .last()
        .map_or(input.shape().len(), |l| l.output.len());

    // A file CNN Lab wrote: its own experiment, if the graph is exactly what it exports to.
    if let Some(text) = meta(model, META_EXPERIMENT)
        && let Ok(mut carried) = experiment::parse(text, Path::new(name))
        && let Some(weights) = weights_for(&carried.layers, carried.input, &params)
    {
        carried.weights = Some(weights);
        let logits = chain.output == "logits";
        if let Ok(again) = onnx_export::onnx_model(&carried, Path::new("."), &OnnxOptions { logits })
            && again.graph.as_ref() == Some(graph)
        {
            return Ok(apply_options(carried, options));
        }
    }

    let normalization = meta(model, META_NORMALIZATION)
        .and_then(|t| ron::from_str::<Normalization>(t).ok())
        .unwrap_or_default();
    let class_names: Vec<String> = meta(model, META_CLASS_NAMES)
        .and_then(|t| serde_json::from_str(t).ok())
        .filter(|names: &Vec<String>| names.len() == classes)
        .unwrap_or_default();
    let dataset = if (c, h, w, classes) == (1, 28, 28, 10) {
        DatasetSource::Bundled("mnist".into())
    } else {
        DatasetSource::Path(PathBuf::from("images"))
    };
    let training = Training {
        normalization,
        ..Training::default()
    };
    let title = if model.doc_string.is_empty() || model.doc_string.len() > 200 {
        name.to_string()
    } else {
        model.doc_string.clone()
    };
    let mut experiment = Experiment::new(&title, 0, input, dataset, layers, training);
    let producer = format!("{} {}", model.producer_name, model.producer_version);
    experiment.notes = format!("Imported from ONNX ({}).", producer.trim());
    experiment.class_names = class_names;
    experiment.weights = Some(
        weights_for(&experiment.layers, input, &params)
            .ok_or_else(|| InteropError::Weights("the weights found do not match the layers found".into()))?,
    );
    // The whole experiment must build, as it will in the editor.
    experiment.build_model(classes, Path::new("."))?;
    Ok(apply_options(experiment, options))
}

/// A sequence model (input N, C, steps) is read only when CNN Lab wrote it: the experiment in
/// its metadata, with the graph's weights, if the graph is exactly what that experiment exports
/// to. (Reading other tools' 1-D graphs node by node is not done yet.)
fn own_sequence_model(
    model: &ModelProto,
    chain: &Chain<'_>,
    name: &str,
    options: &ImportOptions,
) -> Result<Experiment, InteropError> {
    const NAMES: [&str; 7] = [
        "kernel",
        "bias",
        "gamma",
        "beta",
        "moving_mean",
        "moving_variance",
        "embeddings",
    ];
    let graph = model.graph.as_ref();
    let mut found: Vec<Found> = Vec::new();
    for t in graph.map_or(&[][..], |g| g.initializer.as_slice()) {
        let suffix = t.name.rsplit('.').next().unwrap_or_default();
        if let Some(&param) = NAMES.iter().find(|n| **n == suffix) {
            let (dims, values) = tensor_f32(t)?;
            found.push((param, dims, values));
        }
    }
    if let Some(text) = meta(model, META_EXPERIMENT)
        && let Ok(mut carried) = experiment::parse(text, Path::new(name))
        && let Some(weights) = weights_for(&carried.layers, carried.input, &found)
    {
        carried.weights = Some(weights);
        let logits = chain.output == "logits";
        if let Ok(again) = onnx_export::onnx_model(&carried, Path::new("."), &OnnxOptions { logits })
            && again.graph.as_ref() == graph
        {
            return Ok(apply_options(carried, options));
        }
    }
    Err(InteropError::malformed(
        "its input is a sequence (batch, channels, steps), and CNN Lab reads 1-D models only from its own exports for now",
        "export the model from CNN Lab, or rebuild it in the editor with Conv1D layers",
    ))
}

fn apply_options(mut experiment: Experiment, options: &ImportOptions) -> Experiment {
    if let Some(dataset) = &options.dataset {
        experiment.dataset = dataset.clone();
    }
    if let Some(n) = &options.normalization {
        experiment.training.normalization = n.clone();
    }
    if let Some(name) = &options.name {
        experiment.name = name.clone();
    }
    experiment
}

/// One parameter array found in the graph, in model order: (name, dims, values).
type Found = (&'static str, Vec<usize>, Vec<f32>);

/// The weight arrays of `layers` on `input`, taken in order from `found` when every name and
/// shape matches the model's own slots.
fn weights_for(layers: &[LayerSpec], input: Input, found: &[Found]) -> Option<Vec<WeightArray>> {
    let model = Model::build(input.shape(), layers, None, 0).ok()?;
    let mut slots = Vec::new();
    for (i, layer) in model.layers().iter().enumerate() {
        for p in layer.params() {
            slots.push((i, p.name, p.dims.clone()));
        }
    }
    if slots.len() != found.len() {
        return None;
    }
    slots
        .iter()
        .zip(found)
        .map(|((i, name, dims), (fname, fdims, values))| {
            (name == fname && dims == fdims).then(|| WeightArray::encode(*i, name, dims, values))
        })
        .collect()
}

/// The shape the engine sees, plus whether ONNX still holds it as (N, C, 1, 1) after a global
/// pool (a following Flatten, Reshape or Squeeze then changes nothing).
struct State {
    shape: Shape,
    pooled_4d: bool,
}

fn layers_of(chain: &Chain<'_>) -> Result<(Vec<LayerSpec>, Vec<Found>), InteropError> {
    let (c, h, w) = chain.chw;
    let mut state = State {
        shape: Shape::image(h, w, c),
        pooled_4d: false,
    };
    let mut layers: Vec<LayerSpec> = Vec::new();
    // Per layer: its arrays by engine name.
    let mut arrays: Vec<HashMap<&'static str, Array>> = Vec::new();
    let count = chain.nodes.len();
    for (position, &(index, node)) in chain.nodes.iter().enumerate() {
        let is_last = position + 1 == count;
        let step = Step {
            node,
            index,
            constants: chain,
        };
        if !node.domain.is_empty() && node.domain != "ai.onnx" {
            return Err(step.unsupported(format!("it is a custom operation of domain \"{}\"", node.domain)));
        }
        let was_pooled = std::mem::replace(&mut state.pooled_4d, false);
        match node.op_type.as_str() {
            "Conv" => {
                let (layer, kernel, bias) = step.conv(&state.shape)?;
                state.shape = step.window_out(&state.shape, layer.kernel_size, layer.strides, layer.padding)?;
                state.shape = Shape::image(state.shape.spatial().0, state.shape.spatial().1, layer.filters);
                let mut a = HashMap::new();
                a.insert("kernel", kernel);
                a.insert("bias", bias);
                layers.push(LayerSpec::Conv2D(layer));
                arrays.push(a);
            }
            op @ ("MaxPool" | "AveragePool") => {
                let (pool, strides, padding) = step.pool(&state.shape, op == "AveragePool")?;
                let strides_opt = (strides != pool).then_some(strides);
                state.shape = step.window_out(&state.shape, pool, strides, padding)?;
                layers.push(if op == "MaxPool" {
                    LayerSpec::MaxPooling2D(Pool2D::with(pool, strides_opt, padding))
                } else {
                    LayerSpec::AveragePooling2D(Pool2D::with(pool, strides_opt, padding))
                });
                arrays.push(HashMap::new());
            }
            op @ ("GlobalAveragePool" | "GlobalMaxPool") => {
                if !state.shape.is_image() {
                    return Err(step.unsupported("it follows a flat vector".into()));
                }
                state.shape = Shape::flat(state.shape.channels());
                state.pooled_4d = true;
                layers.push(if op == "GlobalAveragePool" {
                    LayerSpec::GlobalAveragePooling2D(crate::cnn::spec::GlobalAveragePooling2D)
                } else {
                    LayerSpec::GlobalMaxPooling2D(crate::cnn::layers::global_max_pooling2d::GlobalMaxPooling2D)
                });
                arrays.push(HashMap::new());
            }
            "Flatten" | "Reshape" | "Squeeze" => {
                if node.op_type == "Flatten" && attr_int(node, "axis", 1) != 1 {
                    return Err(step.unsupported("only axis 1 (keep the batch) is a layer".into()));
                }
                if node.op_type == "Reshape" {
                    step.check_flat_reshape(&state.shape)?;
                }
                if node.op_type == "Squeeze" && !was_pooled {
                    return Err(step.unsupported("Squeeze is only read after a global pool".into()));
                }
                if state.shape.is_image() && !was_pooled {
                    state.shape = Shape::flat(state.shape.len());
                    layers.push(LayerSpec::Flatten(Flatten));
                    arrays.push(HashMap::new());
                }
            }
            "Gemm" | "MatMul" => {
                if state.shape.is_image() {
                    return Err(step.unsupported(format!(
                        "it multiplies feature maps of {} (Dense needs a flat vector)",
                        state.shape.hwc()
                    )));
                }
                let (kernel, bias) = step.dense(state.shape.len())?;
                let units = kernel.0[1];
                let mut dense = Dense::new(units);
                dense.use_bias = !bias.1.is_empty();
                state.shape = Shape::flat(units);
                let mut a = HashMap::new();
                a.insert("kernel", kernel);
                a.insert("bias", bias);
                layers.push(LayerSpec::Dense(dense));
                arrays.push(a);
            }
            "Add" => {
                // The bias of a MatMul just before.
                let bias = step.constant_input()?;
                let (dims, values) = tensor_f32(bias)?;
                let units = state.shape.len();
                let fits = values.len() == units && dims.iter().filter(|&&d| d != 1).count() <= 1;
                match (layers.last_mut(), arrays.last_mut()) {
                    (Some(LayerSpec::Dense(d)), Some(a))
                        if !d.use_bias && d.activation == Activation::Linear && fits =>
                    {
                        d.use_bias = true;
                        a.insert("bias", (vec![units], values));
                    }
                    _ => return Err(step.unsupported("an Add that is not the bias of the MatMul before it".into())),
                }
            }
            "BatchNormalization" => {
                if attr_int(node, "training_mode", 0) != 0 {
                    return Err(step.unsupported("it is in training mode".into()));
                }
                let channels = state.shape.channels();
                let mut a = HashMap::new();
                for (k, name) in ["gamma", "beta", "moving_mean", "moving_variance"]
                    .into_iter()
                    .enumerate()
                {
                    let t = step.constant_at(k + 1)?;
                    let (_, values) = tensor_f32(t)?;
                    if values.len() != channels {
                        return Err(step.unsupported(format!(
                            "its {name} has {} values for {channels} channels",
                            values.len()
                        )));
                    }
                    a.insert(name, (vec![channels], values));
                }
                let bn = BatchNormalization {
                    momentum: attr_float(node, "momentum", 0.9),
                    epsilon: attr_float(node, "epsilon", 1e-5),
                    trainable: true,
                };
                layers.push(LayerSpec::BatchNormalization(bn));
                arrays.push(a);
            }
            "Relu" | "LeakyRelu" | "Sigmoid" | "Tanh" | "Softmax" => {
                let activation = match node.op_type.as_str() {
                    "Relu" => Activation::Relu,
                    "LeakyRelu" => Activation::LeakyRelu(attr_float(node, "alpha", 0.01)),
                    "Sigmoid" => Activation::Sigmoid,
                    "Tanh" => Activation::Tanh,
                    _ => {
                        let axis = attr_int(node, "axis", -1);
                        if !is_last || state.shape.is_image() || !(axis == 1 || axis == -1) {
                            return Err(
                                step.unsupported("Softmax is read only as the last node, over the class scores".into())
                            );
                        }
                        Activation::Softmax
                    }
                };
                let fused = match layers.last_mut() {
                    Some(LayerSpec::Conv2D(c)) if c.activation == Activation::Linear => Some(&mut c.activation),
                    Some(LayerSpec::Dense(d)) if d.activation == Activation::Linear => Some(&mut d.activation),
                    _ => None,
                };
                match fused {
                    Some(slot) => *slot = activation,
                    None => {
                        layers.push(LayerSpec::Activation(activation));
                        arrays.push(HashMap::new());
                    }
                }
            }
            "Dropout" | "Identity" => {}
            _ => return Err(step.unsupported("CNN Lab has no layer for this operation".into())),
        }
    }
    // In the engine's order of parameters (kernel, bias; gamma, beta, moving_mean, moving_variance).
    let mut found = Vec::new();
    for (layer, mut a) in layers.iter().zip(arrays) {
        let names: &[&'static str] = match layer {
            LayerSpec::Conv2D(_) | LayerSpec::Dense(_) => &["kernel", "bias"],
            LayerSpec::BatchNormalization(_) => &["gamma", "beta", "moving_mean", "moving_variance"],
            _ => &[],
        };
        for &n in names {
            // A layer without bias has no bias array.
            if let Some((dims, values)) = a.remove(n).filter(|(_, v)| !v.is_empty()) {
                found.push((n, dims, values));
            }
        }
    }
    Ok((layers, found))
}

/// One node being read, with the constants it may refer to.
struct Step<'a> {
    node: &'a NodeProto,
    index: usize,
    constants: &'a Chain<'a>,
}

/// Dimensions and values of one array.
type Array = (Vec<usize>, Vec<f32>);
/// Pool size, strides and padding.
type PoolWindow = ((usize, usize), (usize, usize), Padding);

impl Step<'_> {
    fn unsupported(&self, problem: String) -> InteropError {
        InteropError::Unsupported {
            node: node_name(self.node, self.index),
            op: self.node.op_type.clone(),
            problem,
            supported: SUPPORTED.into(),
        }
    }

    /// The constant at input `k`, or why it is missing.
    fn constant_at(&self, k: usize) -> Result<&super::onnx_proto::TensorProto, InteropError> {
        self.node
            .input
            .get(k)
            .filter(|n| !n.is_empty())
            .and_then(|n| self.constants.constants.get(n.as_str()).copied())
            .ok_or_else(|| self.unsupported(format!("its input {k} is not a constant weight")))
    }

    fn constant_input(&self) -> Result<&super::onnx_proto::TensorProto, InteropError> {
        let k = self
            .node
            .input
            .iter()
            .position(|n| self.constants.constants.contains_key(n.as_str()))
            .ok_or_else(|| self.unsupported("neither input is a constant".into()))?;
        self.constant_at(k)
    }

    fn pair(&self, name: &str, default: (usize, usize)) -> Result<(usize, usize), InteropError> {
        match attr_ints(self.node, name) {
            None => Ok(default),
            Some(v) => match v.as_slice() {
                [a, b] if *a > 0 && *b > 0 && *a <= 4096 && *b <= 4096 => Ok((*a as usize, *b as usize)),
                _ => Err(self.unsupported(format!("{name} {v:?} is not two positive sizes (2-D only)"))),
            },
        }
    }

    /// The engine's padding for this node's `pads` / `auto_pad` on `input`.
    fn padding(&self, input: &Shape, kernel: (usize, usize), strides: (usize, usize)) -> Result<Padding, InteropError> {
        let auto = attr_string(self.node, "auto_pad");
        match auto.as_str() {
            "" | "NOTSET" => {}
            "VALID" => return Ok(Padding::Valid),
            "SAME_UPPER" => return Ok(Padding::Same),
            other => return Err(self.unsupported(format!("auto_pad {other} puts the odd pixel top/left"))),
        }
        let pads = attr_ints(self.node, "pads").unwrap_or_else(|| vec![0; 4]);
        let [t, l, b, r] = pads.as_slice() else {
            return Err(self.unsupported(format!("pads {pads:?} are not 2-D")));
        };
        if pads.iter().all(|&p| p == 0) {
            return Ok(Padding::Valid);
        }
        let (h, w) = input.spatial();
        let same_rows = axis(h, kernel.0, strides.0, Padding::Same);
        let same_cols = axis(w, kernel.1, strides.1, Padding::Same);
        if let (Some(rows), Some(cols)) = (same_rows, same_cols)
            && [rows.pad_before, cols.pad_before, rows.pad_after, cols.pad_after]
                .iter()
                .zip([t, l, b, r])
                .all(|(a, b)| *a as i64 == *b)
            && (*t != *b || *l != *r)
        {
            return Ok(Padding::Same);
        }
        if t == l && t == b && t == r && *t > 0 && *t <= 4096 {
            return Ok(Padding::Explicit(*t as usize));
        }
        Err(self.unsupported(format!(
            "pads {pads:?} are neither 0, TensorFlow's 'same' (odd pixel bottom/right) nor equal on every side"
        )))
    }

    fn conv(&self, input: &Shape) -> Result<(Conv2D, Array, Array), InteropError> {
        if !input.is_image() {
            return Err(self.unsupported("it follows a flat vector".into()));
        }
        if attr_int(self.node, "group", 1) != 1 {
            return Err(self.unsupported(format!(
                "group {} (a grouped or depthwise convolution)",
                attr_int(self.node, "group", 1)
            )));
        }
        if let Some(d) = attr_ints(self.node, "dilations")
            && d.iter().any(|&v| v != 1)
        {
            return Err(self.unsupported(format!("dilations {d:?} (a dilated convolution)")));
        }
        let (dims, values) = tensor_f32(self.constant_at(1)?)?;
        let [f, c, kh, kw] = dims.as_slice() else {
            return Err(self.unsupported(format!("its kernel has dimensions {dims:?}, not 4")));
        };
        if *c != input.channels() {
            return Err(self.unsupported(format!(
                "its kernel reads {c} channels but its input has {}",
                input.channels()
            )));
        }
        let kernel = self.pair("kernel_shape", (*kh, *kw))?;
        if kernel != (*kh, *kw) {
            return Err(self.unsupported(format!("kernel_shape {kernel:?} differs from its weights' {kh}×{kw}")));
        }
        let strides = self.pair("strides", (1, 1))?;
        let padding = self.padding(input, kernel, strides)?;
        let bias = match self.node.input.get(2).filter(|n| !n.is_empty()) {
            Some(_) => {
                let (_, b) = tensor_f32(self.constant_at(2)?)?;
                if b.len() != *f {
                    return Err(self.unsupported(format!("its bias has {} values for {f} filters", b.len())));
                }
                (vec![*f], b)
            }
            None => (vec![0], Vec::new()),
        };
        let mut layer = Conv2D::new(*f, 1);
        layer.kernel_size = kernel;
        layer.strides = strides;
        layer.padding = padding;
        layer.use_bias = !bias.1.is_empty();
        Ok((layer, (dims.clone(), values), bias))
    }

    fn pool(&self, input: &Shape, average: bool) -> Result<PoolWindow, InteropError> {
        if !input.is_image() {
            return Err(self.unsupported("it follows a flat vector".into()));
        }
        if attr_int(self.node, "ceil_mode", 0) != 0 {
            return Err(self.unsupported("ceil_mode 1 (use TensorFlow 'same' padding instead)".into()));
        }
        if let Some(d) = attr_ints(self.node, "dilations")
            && d.iter().any(|&v| v != 1)
        {
            return Err(self.unsupported(format!("dilations {d:?}")));
        }
        let Some(_) = attr_ints(self.node, "kernel_shape") else {
            return Err(self.unsupported("it has no kernel_shape".into()));
        };
        let pool = self.pair("kernel_shape", (1, 1))?;
        let strides = self.pair("strides", (1, 1))?;
        let padding = self.padding(input, pool, strides)?;
        if average && padding != Padding::Valid && attr_int(self.node, "count_include_pad", 0) != 0 {
            return Err(self
                .unsupported("count_include_pad 1 (CNN Lab's average pooling divides by the real cells only)".into()));
        }
        Ok((pool, strides, padding))
    }

    fn window_out(
        &self,
        input: &Shape,
        kernel: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    ) -> Result<Shape, InteropError> {
        let (h, w) = input.spatial();
        match (
            axis(h, kernel.0, strides.0, padding),
            axis(w, kernel.1, strides.1, padding),
        ) {
            (Some(r), Some(c)) if r.out > 0 && c.out > 0 => Ok(Shape::image(r.out, c.out, input.channels())),
            _ => Err(self.unsupported(format!(
                "its {}×{} window does not fit its {} input",
                kernel.0,
                kernel.1,
                input.hwc()
            ))),
        }
    }

    /// A Reshape is read as Flatten only when it keeps the batch and flattens the rest.
    fn check_flat_reshape(&self, input: &Shape) -> Result<(), InteropError> {
        let target = tensor_i64(self.constant_at(1)?)?;
        let len = input.len() as i64;
        match target.as_slice() {
            [_, rest] if *rest == -1 || *rest == len => Ok(()),
            _ => Err(self.unsupported(format!("it reshapes to {target:?}, not to (batch, -1)"))),
        }
    }

    /// (kernel (in, out), bias) of a Gemm or MatMul reading `n_in` values.
    fn dense(&self, n_in: usize) -> Result<(Array, Array), InteropError> {
        let gemm = self.node.op_type == "Gemm";
        if gemm && attr_int(self.node, "transA", 0) != 0 {
            return Err(self.unsupported("transA 1 (the input transposed)".into()));
        }
        let (dims, values) = tensor_f32(self.constant_at(1)?)?;
        let trans_b = gemm && attr_int(self.node, "transB", 0) != 0;
        let (rows, cols) = match dims.as_slice() {
            [r, c] => (*r, *c),
            _ => return Err(self.unsupported(format!("its weights have dimensions {dims:?}, not 2"))),
        };
        let (n, units) = if trans_b { (cols, rows) } else { (rows, cols) };
        if n != n_in {
            return Err(self.unsupported(format!("its weights read {n} values but its input has {n_in}")));
        }
        let alpha = if gemm { attr_float(self.node, "alpha", 1.0) } else { 1.0 };
        let beta = if gemm { attr_float(self.node, "beta", 1.0) } else { 1.0 };
        let mut kernel = if trans_b {
            let mut k = vec![0.0; values.len()];
            for o in 0..units {
                for i in 0..n {
                    k[i * units + o] = values[o * n + i];
                }
            }
            k
        } else {
            values
        };
        if alpha != 1.0 {
            kernel.iter_mut().for_each(|v| *v *= alpha);
        }
        let bias = match self.node.input.get(2).filter(|n| gemm && !n.is_empty()) {
            Some(_) => {
                let (_, mut b) = tensor_f32(self.constant_at(2)?)?;
                if b.len() != units {
                    return Err(self.unsupported(format!("its bias has {} values for {units} units", b.len())));
                }
                if beta != 1.0 {
                    b.iter_mut().for_each(|v| *v *= beta);
                }
                (vec![units], b)
            }
            None => (vec![0], Vec::new()),
        };
        Ok(((vec![n, units], kernel), bias))
    }
}
