//! The Keras route out: `DIR/train.py`, a readable Keras 3 script (`keras.Sequential` with the
//! same layers, hyperparameters, initializers, optimizer, schedule, batch size, epochs, seed,
//! normalization and augmentation, on the same data), and `DIR/weights.npz`, the current
//! weights in Keras layout (see `keras_weights`). `python train.py --epochs N` starts from
//! those weights, trains on any Keras 3 backend and saves `trained_weights.npz`, which
//! `cnn-lab import-weights` brings back.

use super::error::InteropError;
use super::keras_weights::{keras_arrays, keras_layer_name};
use super::npz::{NpyData, write_npz};
use crate::cnn::{Activation, Initializer, LayerSpec, LrSchedule, OptimizerKind, Padding};
use crate::data::{self, Normalization};
use crate::experiment::{DatasetSource, Experiment, load_dataset};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Writes `train.py`, `weights.npz` and the data `train.py` reads into `dir` (created if
/// needed); returns the files written.
pub fn export_keras(experiment: &Experiment, base_dir: &Path, dir: &Path) -> Result<Vec<PathBuf>, InteropError> {
    let script = train_py(experiment, base_dir)?;
    std::fs::create_dir_all(dir).map_err(|source| InteropError::Write {
        path: dir.into(),
        source,
    })?;
    let classes = super::onnx_export::output_len(experiment)?;
    let model = experiment.build_model(classes, base_dir)?;
    let arrays = keras_arrays(experiment, &model);
    let weights = dir.join("weights.npz");
    let views: Vec<_> = arrays
        .iter()
        .map(|(n, d, v)| (n.clone(), d.clone(), NpyData::F32(v)))
        .collect();
    write_npz(&weights, &views)?;
    let mut written = vec![weights];
    written.extend(write_data(experiment, base_dir, dir)?);
    let path = dir.join("train.py");
    std::fs::write(&path, script.text).map_err(|source| InteropError::Write {
        path: path.clone(),
        source,
    })?;
    written.insert(0, path);
    Ok(written)
}

fn write_error(path: &Path) -> impl Fn(std::io::Error) -> InteropError + '_ {
    move |source| InteropError::Write {
        path: path.into(),
        source,
    }
}

/// The data beside the script: a bundled set's IDX files, or any other non-folder source as
/// `data.npz` (uint8 images, channels last). Sequences, whatever their source, always go to
/// `data.npz`: float32 (N, steps, channels), or token ids (N, steps) for an Embedding model.
fn write_data(experiment: &Experiment, base_dir: &Path, dir: &Path) -> Result<Vec<PathBuf>, InteropError> {
    if experiment.input.sequence {
        return write_sequences(experiment, base_dir, dir);
    }
    match &experiment.dataset {
        DatasetSource::Bundled(name) if name == "mnist" || name == "fashion-mnist" => {
            let from = data::assets_dir().join(name);
            let to = dir.join("data").join(name);
            std::fs::create_dir_all(&to).map_err(write_error(&to))?;
            let mut out = Vec::new();
            for file in IDX_FILES {
                let target = to.join(file);
                std::fs::copy(from.join(file), &target).map_err(write_error(&target))?;
                out.push(target);
            }
            Ok(out)
        }
        DatasetSource::Path(p) if Experiment::resolve(p, base_dir).is_dir() => Ok(Vec::new()),
        _ => {
            let dataset = load_dataset(experiment, base_dir, None)?;
            let (c, h, w) = dataset.shape();
            let nhwc = |split: &data::Split| -> Vec<u8> {
                let mut out = Vec::with_capacity(split.pixels.len());
                for i in 0..split.len() {
                    let img = split.image(i);
                    for y in 0..h {
                        for x in 0..w {
                            out.extend((0..c).map(|ch| img[(ch * h + y) * w + x]));
                        }
                    }
                }
                out
            };
            let labels = |split: &data::Split| -> Vec<f32> { split.labels.iter().map(|&l| l as f32).collect() };
            let test = dataset.test.clone().unwrap_or_default();
            let (xtr, ytr, xte, yte) = (nhwc(&dataset.train), labels(&dataset.train), nhwc(&test), labels(&test));
            let path = dir.join("data.npz");
            write_npz(
                &path,
                &[
                    ("x_train".into(), vec![dataset.train.len(), h, w, c], NpyData::U8(&xtr)),
                    ("y_train".into(), vec![dataset.train.len()], NpyData::F32(&ytr)),
                    ("x_test".into(), vec![test.len(), h, w, c], NpyData::U8(&xte)),
                    ("y_test".into(), vec![test.len()], NpyData::F32(&yte)),
                ],
            )?;
            Ok(vec![path])
        }
    }
}

/// A sequence dataset as `data.npz`, steps-major (channels last) as Keras reads it.
fn write_sequences(experiment: &Experiment, base_dir: &Path, dir: &Path) -> Result<Vec<PathBuf>, InteropError> {
    let dataset = load_dataset(experiment, base_dir, None)?;
    let (c, steps) = (dataset.channels, dataset.width);
    let nlc = |split: &data::Split| -> Vec<f32> {
        let mut out = Vec::with_capacity(split.values.len());
        for i in 0..split.len() {
            let sample = split.sequence(i);
            for t in 0..steps {
                out.extend((0..c).map(|ch| sample[ch * steps + t]));
            }
        }
        out
    };
    let labels = |split: &data::Split| -> Vec<f32> { split.labels.iter().map(|&l| l as f32).collect() };
    let dims = |n: usize| {
        if tokens_in(experiment) {
            vec![n, steps]
        } else {
            vec![n, steps, c]
        }
    };
    let test = dataset.test.clone().unwrap_or_default();
    let (xtr, ytr, xte, yte) = (nlc(&dataset.train), labels(&dataset.train), nlc(&test), labels(&test));
    let path = dir.join("data.npz");
    write_npz(
        &path,
        &[
            ("x_train".into(), dims(dataset.train.len()), NpyData::F32(&xtr)),
            ("y_train".into(), vec![dataset.train.len()], NpyData::F32(&ytr)),
            ("x_test".into(), dims(test.len()), NpyData::F32(&xte)),
            ("y_test".into(), vec![test.len()], NpyData::F32(&yte)),
        ],
    )?;
    Ok(vec![path])
}

/// The model reads token ids: its first layer is an Embedding (Keras input `(steps,)`).
fn tokens_in(experiment: &Experiment) -> bool {
    matches!(experiment.layers.first(), Some(LayerSpec::Embedding(_)))
}

const IDX_FILES: [&str; 4] = [
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "test-images-idx3-ubyte.gz",
    "test-labels-idx1-ubyte.gz",
];

struct Script {
    text: String,
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn py_f32(v: f32) -> String {
    // Shortest text that reads back as the same f32.
    let s = format!("{v:?}");
    if s.contains(['.', 'e', 'E']) || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// The weights of a layer with a kernel and an optional bias, in Keras order.
fn kernel_and_bias(use_bias: bool) -> Vec<&'static str> {
    if use_bias {
        vec!["kernel", "bias"]
    } else {
        vec!["kernel"]
    }
}

fn initializer(init: Initializer) -> &'static str {
    match init {
        Initializer::GlorotUniform => "glorot_uniform",
        Initializer::GlorotNormal => "glorot_normal",
        Initializer::HeUniform => "he_uniform",
        Initializer::HeNormal => "he_normal",
    }
}

/// The Keras layer lines of `spec` (index `i`), plus the weights it has.
fn layer_lines(i: usize, spec: &LayerSpec, lines: &mut Vec<String>) -> Result<Vec<&'static str>, InteropError> {
    let name = keras_layer_name(i, spec);
    let trainable = if spec.trainable() { "" } else { ", trainable=False" };
    // A fused activation Keras has no string for (leaky_relu with a slope) becomes a layer.
    let (act, extra) = match spec.activation() {
        Some(Activation::LeakyRelu(s)) if !matches!(spec, LayerSpec::Activation(_)) => (
            "None".to_string(),
            Some(format!(
                "keras.layers.LeakyReLU(negative_slope={}, name=\"{name}_leaky_relu\")",
                py_f32(s)
            )),
        ),
        Some(a) => (format!("\"{}\"", a.keras_name()), None),
        None => ("None".into(), None),
    };
    let explicit_pool = match spec {
        LayerSpec::MaxPooling2D(p) => matches!(p.padding, Padding::Explicit(_)),
        LayerSpec::AveragePooling2D(p) => matches!(p.padding, Padding::Explicit(_)),
        LayerSpec::MaxPooling1D(p) => matches!(p.padding, Padding::Explicit(_)),
        LayerSpec::AveragePooling1D(p) => matches!(p.padding, Padding::Explicit(_)),
        _ => false,
    };
    if explicit_pool {
        return Err(InteropError::malformed(
            format!(
                "layer {} {} has explicit padding, which Keras pooling does not have",
                i + 1,
                spec.kind()
            ),
            "use padding 'same' or 'valid' before exporting to Keras",
        ));
    }
    let weights: Vec<&'static str> = match spec {
        LayerSpec::Conv2D(c) => {
            let padding = match c.padding {
                Padding::Valid => "valid",
                // Shape inference refuses 'causal' on Conv2D.
                Padding::Same | Padding::Causal => "same",
                Padding::Explicit(p) => {
                    lines.push(format!("keras.layers.ZeroPadding2D({p}, name=\"{name}_padding\")"));
                    "valid"
                }
            };
            lines.push(format!(
                "keras.layers.Conv2D({}, {:?}, strides={:?}, padding=\"{padding}\", activation={act}, use_bias={}, kernel_initializer=\"{}\"{trainable}, name=\"{name}\")",
                c.filters,
                c.kernel_size,
                c.strides,
                py_bool(c.use_bias),
                initializer(c.kernel_initializer)
            ));
            kernel_and_bias(c.use_bias)
        }
        LayerSpec::MaxPooling2D(p) => {
            lines.push(format!(
                "keras.layers.MaxPooling2D({:?}, strides={:?}, padding=\"{}\", name=\"{name}\")",
                p.pool_size,
                p.effective_strides(),
                p.padding.keras_name()
            ));
            vec![]
        }
        LayerSpec::AveragePooling2D(p) => {
            lines.push(format!(
                "keras.layers.AveragePooling2D({:?}, strides={:?}, padding=\"{}\", name=\"{name}\")",
                p.pool_size,
                p.effective_strides(),
                p.padding.keras_name()
            ));
            vec![]
        }
        LayerSpec::BatchNormalization(b) => {
            lines.push(format!(
                "keras.layers.BatchNormalization(momentum={}, epsilon={}{trainable}, name=\"{name}\")",
                py_f32(b.momentum),
                py_f32(b.epsilon)
            ));
            vec!["gamma", "beta", "moving_mean", "moving_variance"]
        }
        LayerSpec::Activation(Activation::LeakyRelu(s)) => {
            lines.push(format!(
                "keras.layers.LeakyReLU(negative_slope={}, name=\"{name}\")",
                py_f32(*s)
            ));
            vec![]
        }
        LayerSpec::Activation(a) => {
            lines.push(format!(
                "keras.layers.Activation(\"{}\", name=\"{name}\")",
                a.keras_name()
            ));
            vec![]
        }
        LayerSpec::GlobalAveragePooling2D(_) => {
            lines.push(format!("keras.layers.GlobalAveragePooling2D(name=\"{name}\")"));
            vec![]
        }
        LayerSpec::GlobalMaxPooling2D(_) => {
            lines.push(format!("keras.layers.GlobalMaxPooling2D(name=\"{name}\")"));
            vec![]
        }
        LayerSpec::Flatten(_) => {
            lines.push(format!("keras.layers.Flatten(name=\"{name}\")"));
            vec![]
        }
        LayerSpec::Dense(d) => {
            lines.push(format!(
                "keras.layers.Dense({}, activation={act}, use_bias={}, kernel_initializer=\"{}\"{trainable}, name=\"{name}\")",
                d.units,
                py_bool(d.use_bias),
                initializer(d.kernel_initializer)
            ));
            kernel_and_bias(d.use_bias)
        }
        LayerSpec::Dropout(d) => {
            lines.push(format!("keras.layers.Dropout({}, name=\"{name}\")", py_f32(d.rate)));
            vec![]
        }
        LayerSpec::Conv1D(c) => {
            let padding = match c.padding {
                Padding::Explicit(p) => {
                    lines.push(format!("keras.layers.ZeroPadding1D({p}, name=\"{name}_padding\")"));
                    "valid".to_string()
                }
                other => other.keras_name(),
            };
            lines.push(format!(
                "keras.layers.Conv1D({}, {}, strides={}, padding=\"{padding}\", dilation_rate={}, activation={act}, use_bias={}, kernel_initializer=\"{}\"{trainable}, name=\"{name}\")",
                c.filters,
                c.kernel_size,
                c.strides,
                c.dilation_rate,
                py_bool(c.use_bias),
                initializer(c.kernel_initializer)
            ));
            kernel_and_bias(c.use_bias)
        }
        LayerSpec::MaxPooling1D(p) => {
            lines.push(format!(
                "keras.layers.MaxPooling1D({}, strides={}, padding=\"{}\", name=\"{name}\")",
                p.pool_size,
                p.effective_strides(),
                p.padding.keras_name()
            ));
            vec![]
        }
        LayerSpec::AveragePooling1D(p) => {
            lines.push(format!(
                "keras.layers.AveragePooling1D({}, strides={}, padding=\"{}\", name=\"{name}\")",
                p.pool_size,
                p.effective_strides(),
                p.padding.keras_name()
            ));
            vec![]
        }
        LayerSpec::GlobalAveragePooling1D(_) => {
            lines.push(format!("keras.layers.GlobalAveragePooling1D(name=\"{name}\")"));
            vec![]
        }
        LayerSpec::GlobalMaxPooling1D(_) => {
            lines.push(format!("keras.layers.GlobalMaxPooling1D(name=\"{name}\")"));
            vec![]
        }
        LayerSpec::Embedding(e) => {
            lines.push(format!(
                "keras.layers.Embedding({}, {}{trainable}, name=\"{name}\")",
                e.input_dim, e.output_dim
            ));
            vec!["embeddings"]
        }
    };
    if let Some(extra) = extra {
        lines.push(extra);
    }
    Ok(weights)
}

/// Per-channel (mean, std) on the 0..1 scale, as the engine applies them.
fn standardization(n: &Normalization, channels: usize) -> Option<(Vec<f32>, Vec<f32>)> {
    let Normalization::Standardize { mean, std } = n else {
        return None;
    };
    let pick = |v: &[f32], c: usize, default: f32| match v {
        [one] => *one,
        _ => v.get(c).copied().unwrap_or(default),
    };
    let means = (0..channels).map(|c| pick(mean, c, 0.0)).collect();
    let stds = (0..channels)
        .map(|c| pick(std, c, 1.0))
        .map(|s| if s == 0.0 || !s.is_finite() { 1.0 } else { s })
        .collect();
    Some((means, stds))
}

fn list_f32(v: &[f32]) -> String {
    format!("[{}]", v.iter().map(|x| py_f32(*x)).collect::<Vec<_>>().join(", "))
}

fn train_py(experiment: &Experiment, base_dir: &Path) -> Result<Script, InteropError> {
    let e = experiment;
    let t = &e.training;
    let (h, w, c) = (e.input.height, e.input.width, e.input.channels);
    let mut layer_text = Vec::new();
    let mut weights = Vec::new();
    if t.augmentation.random_shift > 0 {
        let s = t.augmentation.random_shift as f32;
        layer_text.push(format!(
            "# Augmentation (active only while training): shifts of up to ±{} pixels, zeros uncovered.",
            t.augmentation.random_shift
        ));
        layer_text.push(format!(
            "keras.layers.RandomTranslation({}, {}, fill_mode=\"constant\", name=\"augment_shift\")",
            py_f32(s / h as f32),
            py_f32(s / w as f32)
        ));
    }
    if t.augmentation.horizontal_flip {
        layer_text.push("# Augmentation (active only while training): mirror left-right half the time.".into());
        layer_text.push("keras.layers.RandomFlip(\"horizontal\", name=\"augment_flip\")".into());
    }
    for (i, spec) in e.layers.iter().enumerate() {
        let names = layer_lines(i, spec, &mut layer_text)?;
        if !names.is_empty() {
            weights.push((keras_layer_name(i, spec), names));
        }
    }
    let ends_in_softmax = e.layers.last().and_then(LayerSpec::activation) == Some(Activation::Softmax);
    let mut s = String::new();
    let _ = writeln!(s, "\"\"\"{} — exported from CNN Lab.", e.name.replace('"', "'"));
    s += r#"
Run `python train.py --epochs N` on any Keras 3 backend (KERAS_BACKEND=tensorflow, jax or
torch): it builds the same model as the lab, starts from weights.npz (the lab's weights, in
Keras layout), trains, and saves trained_weights.npz in the same layout; bring it back with
`cnn-lab import-weights EXPERIMENT.ron trained_weights.npz`. Other scripts can
`from train import build_model, load_weights`.

Several GPUs: with the JAX backend, call
    keras.distribution.set_distribution(keras.distribution.DataParallel())
before build_model() (each batch is split across the devices); with TensorFlow, build and
compile inside `tf.distribute.MirroredStrategy().scope()`. Scale BATCH_SIZE with the devices.
"""
import argparse
import gzip
import os
import pathlib

import numpy as np
import keras

HERE = pathlib.Path(__file__).resolve().parent
"#;
    let _ = writeln!(s, "SEED = {}", e.seed);
    let _ = if tokens_in(e) {
        writeln!(s, "INPUT_SHAPE = ({w},)  # steps of token ids")
    } else if e.input.sequence {
        writeln!(s, "INPUT_SHAPE = ({w}, {c})  # steps, channels (channels last)")
    } else {
        writeln!(
            s,
            "INPUT_SHAPE = ({h}, {w}, {c})  # height, width, channels (channels last)"
        )
    };
    let _ = writeln!(
        s,
        "CLASS_NAMES = {}",
        serde_json::to_string(&e.class_names).unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "ENDS_IN_SOFTMAX = {}  # else the model outputs logits (the loss applies the softmax)",
        py_bool(ends_in_softmax)
    );
    let _ = writeln!(s, "BATCH_SIZE = {}", t.batch_size);
    let _ = writeln!(s, "EPOCHS = {}", t.epochs);
    let _ = writeln!(s, "LEARNING_RATE = {}", py_f32(t.learning_rate));
    let _ = writeln!(
        s,
        "VALIDATION_SPLIT = {}  # the lab holds out a stratified share; Keras takes the last share",
        py_f32(t.validation_split)
    );
    let _ = writeln!(
        s,
        "MAX_TRAIN_SAMPLES = {}",
        t.max_train_samples.map_or("None".into(), |n| n.to_string())
    );
    s += "\n# Every weight, in the order Keras's get_weights() lists them: name in weights.npz = layer.weight.\nWEIGHTS = {\n";
    for (layer, names) in &weights {
        let _ = writeln!(s, "    \"{layer}\": {names:?},");
    }
    s += "}\n\n\ndef build_model():\n    \"\"\"The lab's model, layer for layer.\"\"\"\n    return keras.Sequential([\n        keras.Input(shape=INPUT_SHAPE),\n";
    for line in &layer_text {
        let comma = if line.starts_with('#') { "" } else { "," };
        let _ = writeln!(s, "        {line}{comma}");
    }
    let _ = writeln!(s, "    ], name=\"cnn_lab\")\n");
    s += r#"
def load_weights(model, path):
    """Sets every weight from an .npz in this layout (weights.npz, trained_weights.npz)."""
    arrays = np.load(path)
    for layer, names in WEIGHTS.items():
        model.get_layer(layer).set_weights([arrays[f"{layer}.{n}"] for n in names])


def save_weights(model, path):
    """Saves every weight in the layout cnn-lab import-weights reads."""
    arrays = {}
    for layer, names in WEIGHTS.items():
        for name, value in zip(names, model.get_layer(layer).get_weights()):
            arrays[f"{layer}.{name}"] = np.asarray(value, dtype="float32")
    np.savez(path, **arrays)


def normalize(images):
    """The data (uint8 images (N, H, W, C), or sequences) to the tensor the first layer sees."""
    x = images.astype("float32")
"#;
    if e.input.sequence {
        // Sequences keep their own scale; Standardize is (x − mean) / std per channel.
        let affine = t.normalization.sequence_affine(c);
        if tokens_in(e) || affine.iter().all(|&(m, sd)| m == 0.0 && sd == 1.0) {
            s += "    return x  # sequences keep their values (token ids as they are)\n";
        } else {
            let (mean, std): (Vec<f32>, Vec<f32>) = affine.into_iter().unzip();
            let _ = writeln!(
                s,
                "    return (x - np.array({}, \"float32\")) / np.array({}, \"float32\")",
                list_f32(&mean),
                list_f32(&std)
            );
        }
    } else {
        match (&t.normalization, standardization(&t.normalization, c)) {
            (Normalization::None, _) => s += "    return x  # raw 0..255\n",
            (_, Some((mean, std))) => {
                let _ = writeln!(
                    s,
                    "    return (x / 255.0 - np.array({}, \"float32\")) / np.array({}, \"float32\")",
                    list_f32(&mean),
                    list_f32(&std)
                );
            }
            _ => s += "    return x / 255.0\n",
        }
    }
    s += "\n\ndef load_data():\n    \"\"\"((x_train, y_train), (x_test, y_test)): uint8 images (N, H, W, C), integer labels.\"\"\"\n";
    match &e.dataset {
        _ if e.input.sequence => {
            s += r#"    arrays = np.load(HERE / "data.npz")  # the lab's sequences, (N, steps[, channels])
    return ((arrays["x_train"], arrays["y_train"].astype("int64")),
            (arrays["x_test"], arrays["y_test"].astype("int64")))
"#;
        }
        DatasetSource::Bundled(name) if name == "mnist" || name == "fashion-mnist" => {
            let _ = writeln!(
                s,
                "    folder = HERE / \"data\" / \"{name}\"  # the lab's bundled IDX files"
            );
            s += r#"
    def idx(name, header):
        with gzip.open(folder / name) as f:
            return np.frombuffer(f.read(), dtype=np.uint8, offset=header)

    x_train = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, *INPUT_SHAPE)
    y_train = idx("train-labels-idx1-ubyte.gz", 8).astype("int64")
    x_test = idx("test-images-idx3-ubyte.gz", 16).reshape(-1, *INPUT_SHAPE)
    y_test = idx("test-labels-idx1-ubyte.gz", 8).astype("int64")
    return (x_train, y_train), (x_test, y_test)
"#;
        }
        DatasetSource::Path(p) if Experiment::resolve(p, base_dir).is_dir() => {
            let folder = Experiment::resolve(p, base_dir);
            let folder = folder.canonicalize().unwrap_or(folder);
            let _ = writeln!(s, "    folder = pathlib.Path({:?})", folder.display().to_string());
            s += r#"    color = "grayscale" if INPUT_SHAPE[2] == 1 else "rgb"

    def split(path):
        ds = keras.utils.image_dataset_from_directory(
            path, image_size=INPUT_SHAPE[:2], color_mode=color, batch_size=None, shuffle=False,
            class_names=CLASS_NAMES or None)
        x = np.stack([np.asarray(image, dtype="uint8") for image, _ in ds])
        y = np.array([int(label) for _, label in ds], dtype="int64")
        return x, y

    if (folder / "train").is_dir():
        return split(folder / "train"), split(folder / "test")
    x, y = split(folder)
    cut = int(len(x) * 0.8)
    return (x[:cut], y[:cut]), (x[cut:], y[cut:])
"#;
        }
        _ => {
            s += r#"    arrays = np.load(HERE / "data.npz")  # written by the lab from its own loader
    return ((arrays["x_train"], arrays["y_train"].astype("int64")),
            (arrays["x_test"], arrays["y_test"].astype("int64")))
"#;
        }
    }
    s += "\n\ndef make_optimizer():\n";
    let wd = if t.weight_decay > 0.0 {
        format!(", weight_decay={}", py_f32(t.weight_decay))
    } else {
        String::new()
    };
    match t.optimizer {
        OptimizerKind::SGD { momentum, nesterov } => {
            let _ = writeln!(
                s,
                "    optimizer = keras.optimizers.SGD(learning_rate=LEARNING_RATE, momentum={}, nesterov={}{wd})",
                py_f32(momentum),
                py_bool(nesterov)
            );
        }
        OptimizerKind::Adam {
            beta_1,
            beta_2,
            epsilon,
        } => {
            let _ = writeln!(
                s,
                "    optimizer = keras.optimizers.Adam(learning_rate=LEARNING_RATE, beta_1={}, beta_2={}, epsilon={}{wd})",
                py_f32(beta_1),
                py_f32(beta_2),
                py_f32(epsilon)
            );
        }
    }
    if t.weight_decay > 0.0 {
        s += "    # The lab decays kernels only.\n    optimizer.exclude_from_weight_decay(var_names=[\"bias\", \"gamma\", \"beta\"])\n";
    }
    s += "    return optimizer\n\n\ndef learning_rate(epoch, lr):\n    \"\"\"The lab's schedule, per epoch (0-based).\"\"\"\n";
    match t.schedule {
        LrSchedule::Constant => s += "    return LEARNING_RATE\n",
        LrSchedule::StepDecay { every_epochs, factor } => {
            let _ = writeln!(
                s,
                "    return LEARNING_RATE * {} ** (epoch // {})",
                py_f32(factor),
                every_epochs.max(1)
            );
        }
        LrSchedule::Cosine { final_fraction } => {
            let _ = writeln!(
                s,
                "    low = LEARNING_RATE * {}\n    t = min(epoch / max(EPOCHS, 1), 1.0)\n    return low + (LEARNING_RATE - low) * 0.5 * (1 + np.cos(np.pi * t))",
                py_f32(final_fraction)
            );
        }
    }
    let _ = write!(
        s,
        r#"

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--weights", default=str(HERE / "weights.npz"), help="start from these (if present)")
    parser.add_argument("--out", default=str(HERE / "trained_weights.npz"))
    args = parser.parse_args()
    keras.utils.set_random_seed(SEED)
    (x_train, y_train), (x_test, y_test) = load_data()
    if MAX_TRAIN_SAMPLES:
        x_train, y_train = x_train[:MAX_TRAIN_SAMPLES], y_train[:MAX_TRAIN_SAMPLES]
    model = build_model()
    if os.path.exists(args.weights):
        load_weights(model, args.weights)
    model.compile(
        optimizer=make_optimizer(),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=not ENDS_IN_SOFTMAX),
        metrics=["accuracy"],
    )
    model.fit(
        normalize(x_train), y_train, batch_size=BATCH_SIZE, epochs=args.epochs,
        validation_split=VALIDATION_SPLIT, shuffle=True,
        callbacks=[keras.callbacks.LearningRateScheduler(learning_rate)],
    )
    loss, accuracy = model.evaluate(normalize(x_test), y_test, batch_size=BATCH_SIZE)
    print(f"test accuracy {{accuracy:.4f}}, loss {{loss:.4f}}")
    save_weights(model, args.out)
    print(f"saved {{args.out}}")


if __name__ == "__main__":
    main()
"#
    );
    Ok(Script { text: s })
}
