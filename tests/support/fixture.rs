//! Reference fixtures written by `scripts/make_fixtures.py` and `scripts/make_fixtures_1d.py`
//! (PyTorch, float64): loading them and comparing with relative error ≤ 1e-4.
#![allow(dead_code)]

use super::tensors::rel_error;
use cnn_lab::cnn::{Padding, Shape, Tensor};
use serde_json::Value;
use std::collections::HashMap;

pub const TOLERANCE: f64 = 1e-4;

pub struct Fixture {
    pub name: String,
    pub config: Value,
    pub tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl Fixture {
    pub fn load(name: &str) -> Fixture {
        let path = format!("{}/tests/fixtures/{name}.json", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let json: Value = serde_json::from_str(&text).unwrap();
        let tensors = json["tensors"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| {
                let shape = v["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap() as usize)
                    .collect();
                let data = v["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_f64().unwrap() as f32)
                    .collect();
                (k.clone(), (shape, data))
            })
            .collect();
        Fixture {
            name: name.into(),
            config: json["config"].clone(),
            tensors,
        }
    }

    pub fn data(&self, key: &str) -> &[f32] {
        &self
            .tensors
            .get(key)
            .unwrap_or_else(|| panic!("{}: no tensor {key}", self.name))
            .1
    }

    pub fn dims(&self, key: &str) -> &[usize] {
        &self.tensors[key].0
    }

    /// An NCHW (NCL, or N×F) tensor from the fixture.
    pub fn tensor(&self, key: &str) -> Tensor {
        let dims = self.dims(key);
        let shape = match dims.len() {
            4 => Shape::image(dims[2], dims[3], dims[1]),
            3 => Shape::sequence(dims[2], dims[1]),
            2 => Shape::flat(dims[1]),
            _ => panic!("{}: {key} has rank {}", self.name, dims.len()),
        };
        Tensor::from_vec(dims[0], shape, self.data(key).to_vec()).unwrap()
    }

    pub fn pair(&self, key: &str) -> (usize, usize) {
        let v = self.config[key].as_array().unwrap();
        (v[0].as_u64().unwrap() as usize, v[1].as_u64().unwrap() as usize)
    }

    pub fn padding(&self) -> Padding {
        match self.config["padding"].as_str().unwrap() {
            "valid" => Padding::Valid,
            "same" => Padding::Same,
            "causal" => Padding::Causal,
            "explicit" => Padding::Explicit(self.config["explicit_padding"].as_u64().unwrap() as usize),
            other => panic!("unknown padding {other}"),
        }
    }

    pub fn assert_close(&self, what: &str, got: &[f32], key: &str) {
        let err = rel_error(got, self.data(key));
        assert!(
            err <= TOLERANCE,
            "{}: {what} ({key}) relative error {err:.2e}",
            self.name
        );
    }
}

pub fn fixtures_of(prefix: &str) -> Vec<String> {
    let dir = format!("{}/tests/fixtures", env!("CARGO_MANIFEST_DIR"));
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".json").map(String::from))
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    names
}
