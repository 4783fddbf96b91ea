//! `cnn-lab import MODEL.onnx --out FILE.ron [--dataset PATH] [--normalization N]`: another
//! tool's model as an experiment.

use crate::data::Normalization;
use crate::experiment::{self, DatasetSource};
use crate::interop::{ImportOptions, import_onnx};
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
