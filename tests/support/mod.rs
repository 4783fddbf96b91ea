//! Helpers shared by the integration tests. Here, for the experiment, worker and CLI tests: unique temporary folders,
//! the bundled projects, a tiny synthetic experiment that trains in well under a second, image
//! folders of simple drawn patterns, IDX files, and exact weight comparisons.
#![allow(dead_code)]

pub mod app;
pub mod cli;
pub mod fixture;
pub mod tensors;

use cnn_lab::cnn::spec::{Conv2D, Dense, Flatten, Pool2D};
use cnn_lab::cnn::{LayerSpec, OptimizerKind};
use cnn_lab::data::SyntheticSpec;
use cnn_lab::experiment::{self, DatasetSource, Experiment, Input, Training};
use cnn_lab::training::{Event, RunOptions, RunSummary, Trainer, TrainingError};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// A fresh folder under the system temp dir, unique per process and call; removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> TempDir {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let path = std::env::temp_dir().join(format!("cnn-lab-it-{}-{n}-{label}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        TempDir(path)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // A test may have made a subfolder read-only; make everything removable again.
        fn unlock(p: &Path) {
            use std::os::unix::fs::PermissionsExt;
            if p.is_dir() {
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
                if let Ok(rd) = std::fs::read_dir(p) {
                    for e in rd.flatten() {
                        unlock(&e.path());
                    }
                }
            }
        }
        unlock(&self.0);
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn projects_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("projects")
}

/// A bundled project, loaded.
pub fn project(name: &str) -> Experiment {
    experiment::load(&projects_dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Every `.ron` file in `projects/` and `projects/pretrained/`, sorted.
pub fn project_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [projects_dir(), projects_dir().join("pretrained")] {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "ron") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// 12×12×1 synthetic shapes (6 classes), 240 training images (216 after the stratified 10%
/// validation split, 9 batches of 24), 60 test images; Conv2D(4, 3×3) relu → MaxPool 2 → Flatten →
/// Dense(6); Adam 0.01, 3 epochs.
pub fn tiny_experiment() -> Experiment {
    Experiment::new(
        "tiny synthetic",
        5,
        Input::image(12, 12, 1),
        DatasetSource::Synthetic(SyntheticSpec {
            n_train: 240,
            n_test: 60,
            channels: 1,
            height: 12,
            width: 12,
            seed: 9,
        }),
        vec![
            LayerSpec::Conv2D(Conv2D::new(4, 3).relu()),
            LayerSpec::MaxPooling2D(Pool2D::new(2)),
            LayerSpec::Flatten(Flatten),
            LayerSpec::Dense(Dense::new(6)),
        ],
        Training {
            optimizer: OptimizerKind::adam(),
            learning_rate: 0.01,
            batch_size: 24,
            epochs: 3,
            validation_split: 0.1,
            ..Training::default()
        },
    )
}

/// Batches per epoch of [`tiny_experiment`]: 216 training images in batches of 24.
pub const TINY_BATCHES: usize = 9;

/// Runs a trainer to the end, collecting every event (the `Finished` one included).
pub fn run_collect(
    experiment: Experiment,
    options: RunOptions,
) -> (Vec<Event>, Result<(Experiment, RunSummary), TrainingError>) {
    let trainer = Trainer::spawn(experiment, options).unwrap();
    let mut events = Vec::new();
    let result = trainer.wait(|e| events.push(e.clone()));
    (events, result)
}

/// Trains to the end and returns the result, panicking on an error.
pub fn train(experiment: Experiment, options: RunOptions) -> (Experiment, RunSummary) {
    let (_, result) = run_collect(experiment, options);
    result.unwrap_or_else(|e| panic!("training failed: {e}"))
}

/// The saved weight arrays of an experiment, decoded, in `Model::params` order.
pub fn decoded_weights(e: &Experiment) -> Vec<Vec<f32>> {
    e.weights
        .as_ref()
        .expect("the experiment has weights")
        .iter()
        .map(|w| w.decode().unwrap())
        .collect()
}

/// Bit patterns, so NaN, -0.0 and every last ulp count in comparisons.
pub fn bits(weights: &[Vec<f32>]) -> Vec<Vec<u32>> {
    weights
        .iter()
        .map(|w| w.iter().map(|v| v.to_bits()).collect())
        .collect()
}

/// The three pattern classes of [`write_pattern_image`], in folder (= label) order.
pub const PATTERN_CLASSES: [&str; 3] = ["checks", "horizontal", "vertical"];

/// One 16×16 RGB picture of pattern class `class` (an index into [`PATTERN_CLASSES`]): stripes
/// two pixels wide (horizontal or vertical) or a 2×2 checkerboard, random colours with enough
/// contrast, random phase, a little noise.
pub fn pattern_image(class: usize, rng: &mut StdRng) -> image::RgbImage {
    let dark: [u8; 3] = std::array::from_fn(|_| rng.random_range(0..90u8));
    let light: [u8; 3] = std::array::from_fn(|_| rng.random_range(160..=255u8));
    let (dark, light) = if rng.random::<bool>() {
        (dark, light)
    } else {
        (light, dark)
    };
    let (px, py): (u32, u32) = (rng.random_range(0..4), rng.random_range(0..4));
    let noise: Vec<i16> = (0..16 * 16 * 3).map(|_| rng.random_range(-20..=20i16)).collect();
    image::RgbImage::from_fn(16, 16, |x, y| {
        let on = match class {
            0 => ((x + px) / 2 + (y + py) / 2) % 2 == 0,
            1 => ((y + py) / 2) % 2 == 0,
            _ => ((x + px) / 2) % 2 == 0,
        };
        let base = if on { light } else { dark };
        let i = ((y * 16 + x) * 3) as usize;
        image::Rgb(std::array::from_fn(|c| {
            (base[c] as i16 + noise[i + c]).clamp(0, 255) as u8
        }))
    })
}

/// Writes an image folder `dir/<class>/<n>.png` with `per_class` pictures per class.
pub fn write_pattern_folder(dir: &Path, per_class: usize, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    for (class, name) in PATTERN_CLASSES.iter().enumerate() {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        for i in 0..per_class {
            pattern_image(class, &mut rng)
                .save(dir.join(name).join(format!("{i:03}.png")))
                .unwrap();
        }
    }
}

/// An IDX images file (magic 0x803) with `count` images of `rows`×`cols` from `pixels`.
pub fn idx_images(magic: u32, count: u32, rows: u32, cols: u32, pixels: &[u8]) -> Vec<u8> {
    let mut out = magic.to_be_bytes().to_vec();
    for d in [count, rows, cols] {
        out.extend_from_slice(&d.to_be_bytes());
    }
    out.extend_from_slice(pixels);
    out
}

/// An IDX labels file (magic 0x801).
pub fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut out = 0x0000_0801u32.to_be_bytes().to_vec();
    out.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    out.extend_from_slice(labels);
    out
}

/// `None` when `a` and `b` hold the same values bit for bit, else where they first differ.
pub fn bit_diff(a: &[Vec<f32>], b: &[Vec<f32>]) -> Option<String> {
    if a.len() != b.len() {
        return Some(format!("{} arrays vs {}", a.len(), b.len()));
    }
    let differing: Vec<usize> = (0..a.len()).filter(|&i| bits(&a[i..=i]) != bits(&b[i..=i])).collect();
    let &first = differing.first()?;
    let (x, y) = (&a[first], &b[first]);
    if x.len() != y.len() {
        return Some(format!("array {first} holds {} values vs {}", x.len(), y.len()));
    }
    let at = (0..x.len()).find(|&j| x[j].to_bits() != y[j].to_bits()).unwrap();
    let max = x.iter().zip(y).map(|(p, q)| (p - q).abs()).fold(0f32, f32::max);
    Some(format!(
        "arrays {differing:?} differ; array {first} first at [{at}]: {} vs {}; max |difference| {max:e}",
        x[at], y[at]
    ))
}

/// Asserts bit-identical weights, reporting the first difference rather than every value.
#[track_caller]
pub fn assert_bit_identical(a: &[Vec<f32>], b: &[Vec<f32>], what: &str) {
    if let Some(diff) = bit_diff(a, b) {
        panic!("{what}: not bit-identical: {diff}");
    }
}

/// Asserts that two weight lists differ somewhere.
#[track_caller]
pub fn assert_bits_differ(a: &[Vec<f32>], b: &[Vec<f32>], what: &str) {
    assert!(
        bit_diff(a, b).is_some(),
        "{what}: expected different values, got identical ones"
    );
}

/// The tiny experiment trained for one epoch (in-process) and saved as `trained.ron` in `dir`.
pub fn trained_tiny_saved(dir: &TempDir) -> (Experiment, PathBuf) {
    let mut e = tiny_experiment();
    e.training.epochs = 1;
    let (trained, _) = train(e, RunOptions::default());
    let path = dir.join("trained.ron");
    experiment::save(&trained, &path).unwrap();
    (trained, path)
}

/// A JSON array of arrays of numbers (a reference file's outputs), flattened row by row.
pub fn json_rows(value: &serde_json::Value) -> Vec<f32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row.as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32))
        .collect()
}
