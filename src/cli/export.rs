//! `cnn-lab export FILE --format onnx --out MODEL.onnx [--logits]` and
//! `cnn-lab export FILE --format keras --out DIR`: the model for other tools.

use super::load_experiment;
use crate::interop::{OnnxOptions, export_keras, export_onnx};
use anyhow::Result;
use clap::ValueEnum;
use serde_json::json;
use std::path::Path;

/// What `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// An ONNX model (opset 17) for ONNX Runtime and other runtimes.
    Onnx,
    /// A Keras 3 training script (`train.py`) and the weights in Keras layout (`weights.npz`).
    Keras,
}

pub fn export(file: &Path, format: ExportFormat, out: &Path, logits: bool, as_json: bool) -> Result<String> {
    let (experiment, base_dir) = load_experiment(file)?;
    match format {
        ExportFormat::Keras => {
            let files = export_keras(&experiment, &base_dir, out)?;
            let names: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
            Ok(if as_json {
                json!({ "out": out.display().to_string(), "format": "keras", "files": names }).to_string()
            } else {
                format!(
                    "wrote {}\nrun: python {} --epochs N (any Keras 3 backend), then: cnn-lab import-weights {} {}",
                    names.join("\n"),
                    out.join("train.py").display(),
                    file.display(),
                    out.join("trained_weights.npz").display()
                )
            })
        }
        ExportFormat::Onnx => {
            let options = OnnxOptions { logits };
            export_onnx(&experiment, &base_dir, out, &options)?;
            let trained = if experiment.weights.is_some() {
                "trained weights"
            } else {
                "untrained (seeded) weights"
            };
            Ok(if as_json {
                json!({ "out": out.display().to_string(), "format": "onnx", "output": options.output_name(), "trained": experiment.weights.is_some() })
                    .to_string()
            } else {
                // The graph's input in ONNX order: NCHW, or NCL for a sequence.
                let input = experiment.input;
                let dims = if input.sequence {
                    format!("N×{}×{}", input.channels, input.width)
                } else {
                    format!("N×{}×{}×{}", input.channels, input.height, input.width)
                };
                format!(
                    "wrote {} (ONNX opset 17, input \"input\" {dims} after {:?} normalization, output \"{}\", {trained})",
                    out.display(),
                    experiment.training.normalization,
                    options.output_name()
                )
            })
        }
    }
}
