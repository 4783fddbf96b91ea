//! `cnn-lab predict FILE IMAGE...`: the top classes of each image with their probabilities
//! (with `--json`, every class's probability too).

use super::{load_experiment, printable, require_weights};
use crate::cnn::Tensor;
use crate::data::folder::load_image;
use crate::experiment::load_dataset;
use anyhow::{Context, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

pub fn predict(file: &Path, images: &[PathBuf], as_json: bool) -> Result<String> {
    let (experiment, base_dir) = load_experiment(file)?;
    require_weights(&experiment, file)?;
    // The model (and its saved weights) are checked before any data is decoded.
    let early = experiment.model_before_data(&base_dir, None)?;
    let class_names = if experiment.class_names.is_empty() {
        load_dataset(&experiment, &base_dir, None)?.class_names
    } else {
        experiment.class_names.clone()
    };
    let mut model = experiment.model_for(early, class_names.len(), &base_dir)?;
    let input = experiment.input;
    let shape = input.shape();
    let mut results = Vec::new();
    let mut text = String::new();
    for path in images {
        let pixels = load_image(path, (input.channels, input.height, input.width))
            .with_context(|| path.display().to_string())?;
        let mut x = vec![0.0; shape.len()];
        experiment.training.normalization.apply(&pixels, input.channels, &mut x);
        let x = Tensor::from_vec(1, shape, x).context("image size")?;
        let probs = model.predict_proba(&x);
        let mut ranked: Vec<(usize, f32)> = probs.data().iter().copied().enumerate().collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
        ranked.truncate(3);
        let name = |i: usize| class_names.get(i).cloned().unwrap_or_else(|| i.to_string());
        text += &format!("{}:\n", printable(&path.display().to_string()));
        for (i, p) in &ranked {
            text += &format!("  {:>6.2}%  {}\n", p * 100.0, printable(&name(*i)));
        }
        results.push(json!({
            "image": path.display().to_string(),
            // Every class, in the model's class order (`class_names`), for comparing tools.
            "probabilities": probs.data(),
            "top": ranked.iter().map(|(i, p)| json!({"class": name(*i), "index": i, "probability": p})).collect::<Vec<_>>(),
        }));
    }
    Ok(if as_json {
        json!({ "class_names": class_names, "predictions": results }).to_string()
    } else {
        text
    })
}
