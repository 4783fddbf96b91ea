//! `cnn-lab predict FILE IMAGE...`: the top classes of each image with their probabilities
//! (with `--json`, every class's probability too). A model of sequences reads each file as one
//! sequence: a `.txt` text, encoded with the vocabulary training saved in the experiment, or the
//! numbers of one signal.

use super::{load_experiment, printable, require_weights};
use crate::cnn::Tensor;
use crate::data::folder::load_image;
use crate::data::{Vocabulary, sample::read_sequence};
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
    let is_text = |p: &PathBuf| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("txt"));
    let vocabulary: Option<Vocabulary> = if input.sequence && images.iter().any(is_text) {
        // Saved by training; a file trained before vocabularies were saved derives it again.
        let vocabulary = match &experiment.vocabulary {
            Some(v) => Some(v.clone()),
            None => load_dataset(&experiment, &base_dir, None)?.vocabulary().cloned(),
        };
        Some(vocabulary.with_context(|| {
            format!(
                "{} was not trained on texts ({}), so a .txt file cannot be read as its input; give the numbers of one sample instead",
                file.display(),
                experiment.dataset.label()
            )
        })?)
    } else {
        None
    };
    let mut results = Vec::new();
    let mut text = String::new();
    for path in images {
        let x = if input.sequence {
            let values = read_sequence(path, input.channels, input.width, vocabulary.as_ref())
                .with_context(|| path.display().to_string())?;
            if vocabulary.is_some() {
                values
            } else {
                let affine = experiment.training.normalization.sequence_affine(input.channels);
                let steps = input.width;
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        let (mean, std) = affine[i / steps];
                        (v - mean) / std
                    })
                    .collect()
            }
        } else {
            let pixels = load_image(path, (input.channels, input.height, input.width))
                .with_context(|| path.display().to_string())?;
            let mut x = vec![0.0; shape.len()];
            experiment.training.normalization.apply(&pixels, input.channels, &mut x);
            x
        };
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
