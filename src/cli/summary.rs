//! `cnn-lab summary FILE`: the layer table with the course's arithmetic, and the totals.

use super::{load_experiment, printable};
use crate::cnn::analyze;
use crate::cnn::summary::{format_bytes, group_digits};
use anyhow::Result;
use serde_json::json;
use std::path::Path;

/// Returns the text (or JSON) to print and whether the model is valid.
pub fn summary(path: &Path, as_json: bool) -> Result<(String, bool)> {
    let (experiment, _) = load_experiment(path)?;
    let input = experiment.input.shape();
    let classes = experiment.dataset.known_classes();
    let layers = experiment.effective_layers();
    let analysis = analyze(input, &layers, classes);
    let s = &analysis.summary;
    // A sequence model counts steps, not pixels.
    let sequence = input.is_sequence();
    if as_json {
        let layers: Vec<_> = s
            .layers
            .iter()
            .zip(&layers)
            .map(|(info, spec)| {
                json!({
                    "kind": info.kind,
                    "description": spec.describe(),
                    "output_shape": info.output.keras_dims(),
                    "params": info.params(),
                    "trainable_params": info.trainable_params,
                    "params_formula": info.params_formula,
                    "macs": info.macs,
                    // In steps for a sequence model, [rows, columns] for an image model.
                    "receptive_field": if sequence {
                        json!([info.receptive_field.1])
                    } else {
                        json!([info.receptive_field.0, info.receptive_field.1])
                    },
                })
            })
            .collect();
        let mut out = json!({
            "name": experiment.name,
            "input_shape": input.keras_dims(),
            "layers": layers,
            "total_params": s.total_params(),
            "trainable_params": s.trainable_params(),
            "non_trainable_params": s.non_trainable_params(),
            "macs_per_image": s.macs_per_sample(),
            "training_memory_bytes": s.training_memory_bytes(experiment.training.batch_size),
        });
        if let Some(err) = &analysis.error {
            out["error"] = json!(err.to_string());
        }
        return Ok((out.to_string(), analysis.error.is_none()));
    }
    let mut rows: Vec<[String; 6]> = vec![[
        "#".into(),
        "layer".into(),
        if sequence {
            "output (steps×C)"
        } else {
            "output (H×W×C)"
        }
        .into(),
        "parameters".into(),
        "MACs".into(),
        "receptive field".into(),
    ]];
    rows.push(["".into(), "Input".into(), input.hwc(), "".into(), "".into(), "".into()]);
    for (info, spec) in s.layers.iter().zip(&layers) {
        let frozen = if spec.has_weights() && !spec.trainable() {
            " (frozen)"
        } else {
            ""
        };
        rows.push([
            format!("{}", info.index + 1),
            printable(&format!("{}{frozen}", spec.describe())),
            info.output.hwc(),
            info.params_formula.clone(),
            group_digits(info.macs),
            if sequence {
                format!("{} steps", info.receptive_field.1)
            } else {
                format!("{}×{}", info.receptive_field.0, info.receptive_field.1)
            },
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    // Names come from the file: escape control characters before they reach a terminal.
    let sample = if sequence { "sample" } else { "image" };
    let mut text = format!(
        "{} ({})\n",
        printable(&experiment.name),
        printable(&experiment.dataset.label())
    );
    for row in &rows {
        let cells: Vec<String> = row.iter().zip(&widths).map(|(cell, w)| format!("{cell:<w$}")).collect();
        text += cells.join("  ").trim_end();
        text.push('\n');
    }
    text += &format!(
        "Total parameters: {} (trainable {}, non-trainable {})\nMACs per {sample}: {}\nActivations per {sample}: {}; training memory at batch {}: about {}\n",
        group_digits(s.total_params()),
        group_digits(s.trainable_params()),
        group_digits(s.non_trainable_params()),
        group_digits(s.macs_per_sample()),
        format_bytes(s.activation_bytes_per_sample()),
        experiment.training.batch_size,
        format_bytes(s.training_memory_bytes(experiment.training.batch_size)),
    );
    if let Some(err) = &analysis.error {
        text += &format!("\nerror: {err}\n");
    }
    Ok((text, analysis.error.is_none()))
}
