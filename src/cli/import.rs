//! `cnn-lab import MODEL.onnx --out FILE.ron [--dataset PATH] [--normalization N]`: another
//! tool's model as an experiment; `cnn-lab import-weights FILE.ron WEIGHTS.npz [--out OUT.ron]`:
//! weights trained elsewhere (Keras layout, from `train.py`) into an experiment.

use crate::data::Normalization;
use crate::experiment::{self, DatasetSource};
use crate::interop::{ImportOptions, import_onnx, import_weights};
use anyhow::{Context, Result};
use serde_json::json;
use std::path::PathBuf;

pub struct ImportArgs {
    pub model: PathBuf,
    pub out: PathBuf,
    /// A bundled name (mnist, fashion-mnist, shapes) or a path.
    pub dataset: Option<String>,
    /// `zero-one`, `none`, or a RON value such as `Standardize(mean: [0.13], std: [0.31])`.
    pub normalization: Option<String>,
    pub json: bool,
}

/// Reads `--normalization`.
pub fn parse_normalization(text: &str) -> Result<Normalization> {
    match text.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
        "zeroone" => return Ok(Normalization::ZeroOne),
        "none" => return Ok(Normalization::None),
        _ => {}
    }
    ron::from_str(text).with_context(|| {
        format!("unknown normalization \"{text}\"; use zero-one, none, or Standardize(mean: [..], std: [..])")
    })
}

fn parse_dataset(text: &str) -> DatasetSource {
    if crate::data::BUNDLED.contains(&text) {
        DatasetSource::Bundled(text.into())
    } else {
        DatasetSource::Path(PathBuf::from(text))
    }
}

pub fn import(args: &ImportArgs) -> Result<String> {
    let options = ImportOptions {
        dataset: args.dataset.as_deref().map(parse_dataset),
        normalization: args.normalization.as_deref().map(parse_normalization).transpose()?,
        name: None,
    };
    let experiment = import_onnx(&args.model, &options)?;
    experiment::save(&experiment, &args.out)?;
    let layers: Vec<String> = experiment.layers.iter().map(|l| l.describe()).collect();
    Ok(if args.json {
        json!({ "out": args.out.display().to_string(), "layers": layers, "classes": experiment.class_names, "dataset": experiment.dataset.label() }).to_string()
    } else {
        format!(
            "wrote {} ({} layers: {}; dataset {})",
            args.out.display(),
            layers.len(),
            layers.join(", "),
            experiment.dataset.label()
        )
    })
}

/// Loads Keras-layout weights into the experiment `file` and saves it (to `out`, or back).
pub fn import_weights_cmd(
    file: &std::path::Path,
    npz: &std::path::Path,
    out: Option<PathBuf>,
    as_json: bool,
) -> Result<String> {
    let (experiment, base_dir) = super::load_experiment(file)?;
    let updated = import_weights(&experiment, &base_dir, npz)?;
    let out = out.unwrap_or_else(|| file.to_path_buf());
    experiment::save(&updated, &out)?;
    let arrays = updated.weights.as_ref().map_or(0, Vec::len);
    Ok(if as_json {
        json!({ "out": out.display().to_string(), "arrays": arrays }).to_string()
    } else {
        format!(
            "loaded {arrays} weight arrays from {} into {}",
            npz.display(),
            out.display()
        )
    })
}
