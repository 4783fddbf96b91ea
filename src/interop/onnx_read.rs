//! Reading an ONNX file defensively: bounded size, protobuf decoding (prost), tensors whose data
//! must match their declared dimensions, attributes, and the graph as one chain of nodes from
//! the input to the output (a branch, a join, a cycle or a stray node is refused by name).

use super::error::{InteropError, MAX_NODES, MAX_ONNX_BYTES};
use super::onnx_proto::tensor_proto::{DataLocation, DataType};
use super::onnx_proto::tensor_shape_proto::dimension;
use super::onnx_proto::{AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto, type_proto};
use prost::Message;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// The most values one weight tensor may hold (256 Mi floats = 1 GiB): checked against the
/// declared dimensions before anything is allocated.
pub const MAX_TENSOR_VALUES: u64 = 1 << 28;

/// Reads and decodes `path`, refusing files over [`MAX_ONNX_BYTES`] before reading them.
pub fn read_model(path: &Path) -> Result<ModelProto, InteropError> {
    let read_err = |source| InteropError::Read {
        path: path.into(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_err)?;
    let size = file.metadata().map_err(read_err)?.len();
    if size > MAX_ONNX_BYTES {
        return Err(InteropError::TooLarge {
            path: path.into(),
            size,
        });
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(MAX_ONNX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    decode_model(&bytes).map_err(|reason| InteropError::NotOnnx {
        path: path.into(),
        reason,
    })
}

/// Decodes an ONNX model, or says why these bytes are not one.
pub fn decode_model(bytes: &[u8]) -> Result<ModelProto, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    if bytes.len() as u64 > MAX_ONNX_BYTES {
        return Err(format!(
            "it is {} bytes, over the limit of {MAX_ONNX_BYTES}",
            bytes.len()
        ));
    }
    let model = ModelProto::decode(bytes)
        .map_err(|e| format!("its protobuf does not decode: {e}; the file may be truncated or of another kind"))?;
    if model.ir_version <= 0 {
        return Err("it has no ONNX IR version".into());
    }
    if model.graph.is_none() {
        return Err("it has no graph".into());
    }
    Ok(model)
}

/// A node's name for messages: its own, or its position when it has none.
pub fn node_name(node: &NodeProto, index: usize) -> String {
    if node.name.is_empty() {
        format!("#{index}")
    } else {
        node.name.clone()
    }
}

/// The values of a float tensor, checked against its declared dimensions.
pub fn tensor_f32(t: &TensorProto) -> Result<(Vec<usize>, Vec<f32>), InteropError> {
    let dims = tensor_dims(t)?;
    let count: usize = dims.iter().product();
    if t.data_location == Some(DataLocation::External as i32) {
        return Err(InteropError::malformed(
            format!("tensor \"{}\" keeps its data in an external file", t.name),
            "export the model with its weights inside the .onnx file (save_as_external_data=False)",
        ));
    }
    let values = match DataType::try_from(t.data_type) {
        Ok(DataType::Float) if !t.raw_data.is_empty() || count == 0 => {
            if t.raw_data.len() != count * 4 {
                return Err(short(t, count, t.raw_data.len() / 4));
            }
            t.raw_data
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        }
        Ok(DataType::Float) => {
            if t.float_data.len() != count {
                return Err(short(t, count, t.float_data.len()));
            }
            t.float_data.clone()
        }
        Ok(DataType::Double) if t.raw_data.is_empty() => {
            if t.double_data.len() != count {
                return Err(short(t, count, t.double_data.len()));
            }
            t.double_data.iter().map(|&v| v as f32).collect()
        }
        other => {
            return Err(InteropError::malformed(
                format!(
                    "tensor \"{}\" holds {:?} values",
                    t.name,
                    other.map_or("unknown".into(), |d| format!("{d:?}"))
                ),
                "CNN Lab reads float32 weights: convert the model to float32 before exporting it",
            ));
        }
    };
    Ok((dims, values))
}

/// The values of an integer tensor (a Reshape's target shape, say).
pub fn tensor_i64(t: &TensorProto) -> Result<Vec<i64>, InteropError> {
    let dims = tensor_dims(t)?;
    let count: usize = dims.iter().product();
    let values: Vec<i64> = if !t.raw_data.is_empty() {
        if t.raw_data.len() != count * 8 {
            return Err(short(t, count, t.raw_data.len() / 8));
        }
        t.raw_data
            .chunks_exact(8)
            .map(|b| i64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
            .collect()
    } else if t.data_type == DataType::Int32 as i32 {
        t.int32_data.iter().map(|&v| v as i64).collect()
    } else {
        t.int64_data.clone()
    };
    if values.len() != count {
        return Err(short(t, count, values.len()));
    }
    Ok(values)
}

fn short(t: &TensorProto, declared: usize, found: usize) -> InteropError {
    InteropError::malformed(
        format!(
            "tensor \"{}\" declares dimensions {:?} ({declared} values) but holds {found}",
            t.name, t.dims
        ),
        "the file is damaged or truncated: export the model again",
    )
}

/// Declared dimensions, refused when negative or when their product is absurd.
fn tensor_dims(t: &TensorProto) -> Result<Vec<usize>, InteropError> {
    let mut product: u64 = 1;
    let mut dims = Vec::with_capacity(t.dims.len().min(8));
    for &d in &t.dims {
        let Ok(d) = u64::try_from(d) else {
            return Err(InteropError::malformed(
                format!("tensor \"{}\" has a negative dimension in {:?}", t.name, t.dims),
                "the file is damaged: export the model again",
            ));
        };
        product = product.saturating_mul(d);
        dims.push(d as usize);
    }
    if product > MAX_TENSOR_VALUES || t.dims.len() > 8 {
        return Err(InteropError::malformed(
            format!(
                "tensor \"{}\" declares dimensions {:?}, more than the {MAX_TENSOR_VALUES} values CNN Lab reads in one tensor",
                t.name, t.dims
            ),
            "the file is damaged or not a small CNN",
        ));
    }
    Ok(dims)
}

pub fn attr<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

pub fn attr_int(node: &NodeProto, name: &str, default: i64) -> i64 {
    attr(node, name).map_or(default, |a| a.i)
}

pub fn attr_float(node: &NodeProto, name: &str, default: f32) -> f32 {
    attr(node, name).map_or(default, |a| a.f)
}

pub fn attr_ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(node, name).map(|a| a.ints.clone())
}

pub fn attr_string(node: &NodeProto, name: &str) -> String {
    attr(node, name).map_or_else(String::new, |a| String::from_utf8_lossy(&a.s).into_owned())
}

/// The graph as a chain: the input, its (C, H, W), the nodes from input to output in order
/// (constants taken out), the constants by name, and the output's name.
pub struct Chain<'a> {
    pub input: String,
    /// (C, H, W); a sequence input (N, C, steps) is one row: (C, 1, steps).
    pub chw: (usize, usize, usize),
    /// The input is a sequence (N, C, steps) rather than an image.
    pub sequence: bool,
    pub nodes: Vec<(usize, &'a NodeProto)>,
    pub constants: HashMap<&'a str, &'a TensorProto>,
    pub output: String,
}

/// The largest image side and channel count an imported input may have.
pub const MAX_SIDE: usize = 8192;

pub fn chain(graph: &GraphProto) -> Result<Chain<'_>, InteropError> {
    if graph.node.len() > MAX_NODES {
        return Err(InteropError::NotSequential(format!(
            "it has {} nodes, more than the {MAX_NODES} CNN Lab reads",
            graph.node.len()
        )));
    }
    let mut constants: HashMap<&str, &TensorProto> = graph.initializer.iter().map(|t| (t.name.as_str(), t)).collect();
    for node in &graph.node {
        if node.op_type == "Constant"
            && let (Some(out), Some(t)) = (node.output.first(), attr(node, "value").and_then(|a| a.t.as_ref()))
        {
            constants.insert(out.as_str(), t);
        }
    }
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !constants.contains_key(i.name.as_str()))
        .collect();
    let [input] = inputs.as_slice() else {
        return Err(InteropError::NotSequential(format!(
            "it has {} inputs ({}), not one",
            inputs.len(),
            inputs.iter().map(|i| i.name.as_str()).collect::<Vec<_>>().join(", ")
        )));
    };
    let (chw, sequence) = input_chw(input)?;
    let [output] = graph.output.as_slice() else {
        return Err(InteropError::NotSequential(format!(
            "it has {} outputs, not one",
            graph.output.len()
        )));
    };
    // Who reads each tensor (constants aside), and who writes it.
    let mut readers: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut writers: HashMap<&str, usize> = HashMap::new();
    let mut live = 0;
    for (i, node) in graph.node.iter().enumerate() {
        if node.op_type == "Constant" {
            continue;
        }
        live += 1;
        for name in node
            .input
            .iter()
            .filter(|n| !n.is_empty() && !constants.contains_key(n.as_str()))
        {
            readers.entry(name.as_str()).or_default().push(i);
        }
        for name in &node.output {
            if writers.insert(name.as_str(), i).is_some() {
                return Err(InteropError::NotSequential(format!(
                    "tensor \"{name}\" is written by two nodes"
                )));
            }
        }
    }
    let mut order = Vec::new();
    let mut visited = vec![false; graph.node.len()];
    let mut current = input.name.as_str();
    while let Some(next) = readers.get(current) {
        let [i] = next.as_slice() else {
            let names: Vec<String> = next
                .iter()
                .map(|&i| format!("\"{}\" ({})", node_name(&graph.node[i], i), graph.node[i].op_type))
                .collect();
            return Err(InteropError::NotSequential(format!(
                "tensor \"{current}\" feeds {} nodes ({}), a branch",
                names.len(),
                names.join(", ")
            )));
        };
        let node = &graph.node[*i];
        if visited[*i] {
            return Err(InteropError::NotSequential(format!(
                "node \"{}\" ({}) is reached twice: the graph has a cycle",
                node_name(node, *i),
                node.op_type
            )));
        }
        visited[*i] = true;
        let data_inputs = node
            .input
            .iter()
            .filter(|n| !n.is_empty() && !constants.contains_key(n.as_str()))
            .count();
        if data_inputs != 1 {
            return Err(InteropError::NotSequential(format!(
                "node \"{}\" ({}) combines {data_inputs} computed tensors, a join of branches",
                node_name(node, *i),
                node.op_type
            )));
        }
        order.push((*i, node));
        let Some(out) = node.output.first() else {
            return Err(InteropError::NotSequential(format!(
                "node \"{}\" ({}) has no output",
                node_name(node, *i),
                node.op_type
            )));
        };
        current = out.as_str();
    }
    if current != output.name {
        return Err(InteropError::NotSequential(format!(
            "the chain from \"{}\" ends at \"{current}\", not at the output \"{}\"",
            input.name, output.name
        )));
    }
    if order.len() != live {
        let stray = graph
            .node
            .iter()
            .enumerate()
            .find(|(i, n)| n.op_type != "Constant" && !visited[*i])
            .map(|(i, n)| format!("\"{}\" ({})", node_name(n, i), n.op_type))
            .unwrap_or_default();
        return Err(InteropError::NotSequential(format!(
            "node {stray} is not on the path from the input to the output"
        )));
    }
    Ok(Chain {
        input: input.name.clone(),
        chw,
        sequence,
        nodes: order,
        constants,
        output: output.name.clone(),
    })
}

/// (C, H, W) of an NCHW float input with fixed C, H and W, or (C, 1, steps) of an NCL sequence
/// (then `true`).
fn input_chw(input: &super::onnx_proto::ValueInfoProto) -> Result<((usize, usize, usize), bool), InteropError> {
    let refuse = |what: String| {
        InteropError::malformed(
            format!("the input \"{}\" {what}", input.name),
            format!(
                "CNN Lab reads models whose input is float32 NCHW (batch, channels, height, width), or NCL (batch, channels, steps) for sequences, with fixed sizes of at most {MAX_SIDE}"
            ),
        )
    };
    let Some(type_proto::Value::TensorType(t)) = input.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(refuse("is not a tensor".into()));
    };
    if t.elem_type != DataType::Float as i32 {
        return Err(refuse(format!("has element type {}, not float32", t.elem_type)));
    }
    let dims: Vec<Option<i64>> = t
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(dimension::Value::DimValue(v)) => Some(v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let fixed = |d: Option<i64>| {
        d.and_then(|v| usize::try_from(v).ok())
            .filter(|&v| v > 0 && v <= MAX_SIDE)
    };
    match dims.as_slice() {
        [_, c, h, w] => match (fixed(*c), fixed(*h), fixed(*w)) {
            (Some(c), Some(h), Some(w)) => Ok(((c, h, w), false)),
            _ => Err(refuse(format!("has dimensions {dims:?}"))),
        },
        [_, c, steps] => match (fixed(*c), fixed(*steps)) {
            (Some(c), Some(steps)) => Ok(((c, 1, steps), true)),
            _ => Err(refuse(format!("has dimensions {dims:?}"))),
        },
        _ => Err(refuse(format!(
            "has {} dimensions, not 4 (or 3 for a sequence)",
            dims.len()
        ))),
    }
}
