//! `cnn-lab eval FILE [--data PATH] [--shifts K]`: test accuracy, per-class accuracy, the
//! confusion matrix, and with `--shifts` the accuracy on images moved by 1…K pixels (sequences
//! by 1…K steps).

use super::{load_experiment, printable, require_weights};
use crate::experiment::load_dataset;
use crate::inspect::shift_accuracy;
use crate::training::evaluate;
use anyhow::Result;
use serde_json::json;
use std::path::{Path, PathBuf};

pub fn eval(file: &Path, data: Option<PathBuf>, shifts: Option<usize>, as_json: bool) -> Result<String> {
    let (experiment, base_dir) = load_experiment(file)?;
    require_weights(&experiment, file)?;
    // The model (and its saved weights) are checked before any data is decoded.
    let early = experiment.model_before_data(&base_dir, data.as_deref())?;
    let dataset = load_dataset(&experiment, &base_dir, data.as_deref())?;
    let mut model = experiment.model_for(early, dataset.num_classes(), &base_dir)?;
    // Score the test split; a folder without one is scored whole (it is new data to the model).
    let (split, which) = match &dataset.test {
        Some(test) if !test.is_empty() => (test, "test split"),
        _ => (&dataset.train, "whole dataset (no test split)"),
    };
    let result = evaluate(
        &mut model,
        split,
        experiment.input.shape(),
        &experiment.training.normalization,
    )?;
    if !result.loss.is_finite() {
        anyhow::bail!(
            "the model's loss on the {which} is {} (not a number): its outputs overflow, so its accuracy means nothing; \
             check the normalization, or retrain with `cnn-lab train --fresh {}`",
            result.loss,
            file.display()
        );
    }
    let per_class = result.per_class_accuracy();
    let shift_accuracy = match shifts {
        Some(k) => shift_accuracy(
            &mut model,
            split,
            (dataset.channels, dataset.height, dataset.width),
            experiment.input.shape(),
            &experiment.training.normalization,
            k,
            1,
            &mut |_, _| true,
        )?,
        None => None,
    };
    if as_json {
        let mut out = json!({
            "warnings": dataset.warnings,
            "accuracy": result.accuracy,
            "loss": result.loss,
            "count": result.count(),
            "scored": which,
            "class_names": dataset.class_names,
            "per_class_accuracy": per_class,
            "confusion_matrix": result.confusion,
        });
        if let Some(shifted) = &shift_accuracy {
            out["shift_accuracy"] = json!(shifted);
        }
        return Ok(out.to_string());
    }
    // Files of the data that were skipped, classes left out: on stderr, apart from the result.
    for warning in &dataset.warnings {
        eprintln!("warning: {}", printable(warning));
    }
    // Names come from files: escape control characters before they reach a terminal.
    let class_names: Vec<String> = dataset.class_names.iter().map(|n| printable(n)).collect();
    let mut text = format!(
        "{}: accuracy {:.2}% on {} {} ({which}), loss {:.4}\n\nper class:\n",
        printable(&dataset.name),
        result.accuracy * 100.0,
        result.count(),
        if dataset.is_sequence() { "samples" } else { "images" },
        result.loss
    );
    let name_w = class_names.iter().map(|n| n.chars().count()).max().unwrap_or(1);
    for (name, acc) in class_names.iter().zip(&per_class) {
        let acc = acc.map_or("—".to_string(), |a| format!("{:.2}%", a * 100.0));
        text += &format!("  {name:<name_w$}  {acc}\n");
    }
    text += "\nconfusion matrix (rows: true class, columns: predicted):\n";
    let cell_w = result
        .confusion
        .iter()
        .flatten()
        .map(|c| c.to_string().len())
        .max()
        .unwrap_or(1)
        .max(2);
    text += &format!("  {:<name_w$}  ", "");
    for i in 0..class_names.len() {
        text += &format!("{i:>cell_w$} ");
    }
    text.push('\n');
    for (i, (name, row)) in class_names.iter().zip(&result.confusion).enumerate() {
        text += &format!("{i:>2} {name:<name_w$} ");
        for c in row {
            text += &format!("{c:>cell_w$} ");
        }
        text.push('\n');
    }
    if let Some(shifted) = shift_accuracy {
        text += if dataset.is_sequence() {
            "\naccuracy with the sequences moved by k steps (mean of later and earlier):\n"
        } else {
            "\naccuracy with the images moved by k pixels (mean of left, right, up, down):\n"
        };
        for (k, accuracy) in shifted.iter().enumerate() {
            text += &format!("  k = {k:>2}  {:.2}%\n", accuracy * 100.0);
        }
    }
    Ok(text)
}
