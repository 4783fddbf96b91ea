//! Datasets that ship with the app (MNIST subset, Fashion-MNIST, GunPoint, synthetic shapes and
//! signals) and where to find them.

use std::path::{Path, PathBuf};

use super::csv;
use super::dataset::Dataset;
use super::error::DataError;
use super::idx_dir::{self, FASHION_CLASSES};
use super::options::DataOptions;
use super::signals::{self, SignalSpec};
use super::synthetic::{self, SyntheticSpec};
use super::text;
use super::vocab::TokenLevel;
use crate::cnn::Shape;

/// Names accepted by [`load_bundled`], in menu order.
pub const BUNDLED: [&str; 6] = ["mnist", "fashion-mnist", "shapes", "gunpoint", "signals", "languages"];

/// Length of the bundled GunPoint series.
pub const GUNPOINT_STEPS: usize = 150;
/// The bundled texts are read as this many characters, from a vocabulary of this many.
pub const LANGUAGES_STEPS: usize = 96;
pub const LANGUAGES_VOCABULARY: usize = 64;

/// The shape of one sample of a bundled dataset, known without loading it: the images are
/// 28×28 grayscale, GunPoint 150 steps of one channel, the signals 128 steps.
pub fn bundled_sample_shape(name: &str) -> Option<Shape> {
    match name {
        "gunpoint" => Some(Shape::sequence(GUNPOINT_STEPS, 1)),
        "signals" => Some(Shape::sequence(SignalSpec::default().steps, 1)),
        "languages" => Some(Shape::sequence(LANGUAGES_STEPS, 1)),
        _ => BUNDLED.contains(&name).then_some(Shape::image(28, 28, 1)),
    }
}

/// The number of classes of a bundled dataset, known without loading it.
pub fn bundled_classes(name: &str) -> Option<usize> {
    match name {
        "mnist" | "fashion-mnist" => Some(10),
        "shapes" => Some(synthetic::SHAPE_CLASSES.len()),
        "signals" => Some(signals::SIGNAL_CLASSES.len()),
        "gunpoint" => Some(2),
        "languages" => Some(4),
        _ => None,
    }
}

/// The (channels, height, width) of a bundled dataset's samples (a sequence is one row of
/// steps), known without loading it.
pub fn bundled_shape(name: &str) -> Option<(usize, usize, usize)> {
    bundled_sample_shape(name).map(|s| {
        let (h, w) = s.spatial();
        (s.channels(), h, w)
    })
}

/// Environment variable that overrides where the assets folder is.
pub const ASSETS_ENV: &str = "CNN_LAB_ASSETS";

/// A bundled dataset's name as menus show it: what it is, and that it ships with the app.
pub fn bundled_title(name: &str) -> Option<&'static str> {
    match name {
        "mnist" => Some("MNIST digits (bundled)"),
        "fashion-mnist" => Some("Fashion-MNIST clothes (bundled)"),
        "shapes" => Some("Shapes 28×28 (bundled)"),
        "gunpoint" => Some("GunPoint hand motions, 1-D (bundled)"),
        "signals" => Some("Signals 128 steps, 1-D (bundled)"),
        "languages" => Some("Languages, texts by character (bundled)"),
        _ => None,
    }
}

/// One-line description of a bundled dataset, for menus and tooltips.
pub fn describe_bundled(name: &str) -> Option<&'static str> {
    match name {
        "mnist" => Some("10,000 real handwritten digits, 28x28 grayscale: 8,000 train / 2,000 test"),
        "fashion-mnist" => Some("70,000 clothing images in 10 classes, 28x28 grayscale: 60,000 train / 10,000 test"),
        "shapes" => Some(
            "synthetic lines, circles and squares (6 classes), 28x28 grayscale: watch first-layer filters become edge detectors",
        ),
        "gunpoint" => Some(
            "200 real hand-motion series (UCR GunPoint), 150 steps: drawing a gun vs pointing a finger; 50 train / 150 test",
        ),
        "signals" => Some(
            "synthetic sine, square, sawtooth, triangle, chirp and noise-burst signals, 128 steps: 3,000 train / 600 test",
        ),
        "languages" => {
            Some("short sentences in English, French, German and Spanish, read as 96 characters: 240 train / 80 test")
        }
        _ => None,
    }
}

/// Where the bundled data lives: `$CNN_LAB_ASSETS` if set, else an
/// `assets/` folder beside the executable or in one of its parent folders
/// (covers both an installed app and `target/debug/cnn-lab`), else the
/// source tree's `assets/` (covers `cargo test` and `cargo run`).
pub fn assets_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(ASSETS_ENV).filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    if let Ok(exe) = std::env::current_exe()
        && let Some(found) = exe
            .ancestors()
            .skip(1)
            .map(|a| a.join("assets"))
            .find(|a| a.join("mnist").is_dir() || a.join("fashion-mnist").is_dir())
    {
        return found;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets"))
}

/// Loads bundled dataset `name` (one of [`BUNDLED`]) from `assets_dir`.
/// "shapes" is generated, so it needs no files.
pub fn load_bundled(name: &str, assets_dir: &Path) -> Result<Dataset, DataError> {
    let (class_names, title): (Vec<String>, &str) = match name {
        "mnist" => ((0..10).map(|d| d.to_string()).collect(), "mnist"),
        "fashion-mnist" => (FASHION_CLASSES.iter().map(|s| s.to_string()).collect(), "fashion-mnist"),
        "shapes" => return synthetic::shapes(SyntheticSpec::default()),
        "signals" => return signals::signals(SignalSpec::default()),
        "gunpoint" => return load_gunpoint(assets_dir),
        "languages" => return load_languages(assets_dir),
        _ => {
            return Err(DataError::UnknownBundled {
                name: name.to_string(),
                known: &BUNDLED,
            });
        }
    };
    let dir = assets_dir.join(name);
    for file in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "test-images-idx3-ubyte.gz",
        "test-labels-idx1-ubyte.gz",
    ] {
        let path = dir.join(file);
        if !path.is_file() {
            return Err(DataError::AssetsMissing {
                name: name.to_string(),
                path,
            });
        }
    }
    let mut ds = idx_dir::load_idx(&dir)?;
    ds.name = title.to_string();
    ds.class_names = class_names;
    ds.validate(&dir)?;
    Ok(ds)
}

/// GunPoint from `assets/gunpoint/{train,test}.csv` (written by scripts/convert_sequences.py).
fn load_gunpoint(assets_dir: &Path) -> Result<Dataset, DataError> {
    let dir = assets_dir.join("gunpoint");
    for file in ["train.csv", "test.csv"] {
        let path = dir.join(file);
        if !path.is_file() {
            return Err(DataError::AssetsMissing {
                name: "gunpoint".into(),
                path,
            });
        }
    }
    let options = DataOptions {
        label_column: Some("label".into()),
        ..DataOptions::default()
    };
    let mut ds = csv::load_csv(&dir, &options, None)?;
    ds.name = "gunpoint".into();
    Ok(ds)
}

/// The generated texts of `assets/languages` (scripts/make_text_example.py), by character.
fn load_languages(assets_dir: &Path) -> Result<Dataset, DataError> {
    let dir = assets_dir.join("languages");
    if !dir.join("train").is_dir() {
        return Err(DataError::AssetsMissing {
            name: "languages".into(),
            path: dir.join("train"),
        });
    }
    let options = DataOptions {
        tokens: Some(TokenLevel::Chars),
        vocabulary: Some(LANGUAGES_VOCABULARY),
        ..DataOptions::default()
    };
    let mut ds = text::load_text_folder(&dir, &options, Some((1, 1, LANGUAGES_STEPS)))?;
    ds.name = "languages".into();
    Ok(ds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source_assets() -> PathBuf {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets"))
    }

    #[test]
    fn bundled_mnist_has_documented_counts() {
        let ds = load_bundled("mnist", &source_assets()).unwrap();
        assert_eq!(ds.shape(), (1, 28, 28));
        assert_eq!(ds.train.len(), 8000);
        let test = ds.test.as_ref().unwrap();
        assert_eq!(test.len(), 2000);
        assert_eq!(
            ds.train.class_counts(10),
            vec![801, 902, 793, 826, 784, 690, 811, 856, 755, 782]
        );
        assert_eq!(
            test.class_counts(10),
            vec![200, 225, 198, 206, 196, 173, 203, 214, 189, 196]
        );
        // Real 0..255 pixels, mostly background, with full-intensity ink.
        assert_eq!(ds.train.pixels.iter().max(), Some(&255));
        let zeros = ds.train.pixels.iter().filter(|&&p| p == 0).count();
        assert!(zeros > ds.train.pixels.len() / 2);
        assert!(ds.warnings.is_empty(), "{:?}", ds.warnings);
    }

    #[test]
    fn bundled_fashion_mnist_has_documented_counts() {
        let ds = load_bundled("fashion-mnist", &source_assets()).unwrap();
        assert_eq!(ds.name, "fashion-mnist");
        assert_eq!(ds.class_names[0], "T-shirt/top");
        assert_eq!(ds.class_names[9], "Ankle boot");
        assert_eq!(ds.train.class_counts(10), vec![6000; 10]);
        assert_eq!(ds.test.as_ref().map(|t| t.class_counts(10)), Some(vec![1000; 10]));
        assert_eq!(ds.train.pixels.len(), 60000 * 784);
    }

    #[test]
    fn bundled_gunpoint_has_the_ucr_split() {
        let ds = load_bundled("gunpoint", &source_assets()).unwrap();
        assert_eq!(ds.sample_shape(), Shape::sequence(150, 1));
        assert_eq!(Some(ds.sample_shape()), bundled_sample_shape("gunpoint"));
        assert_eq!(ds.class_names, ["gun", "point"]);
        assert_eq!(ds.train.class_counts(2), vec![24, 26]);
        assert_eq!(ds.test.as_ref().map(|t| t.class_counts(2)), Some(vec![76, 74]));
        assert!(load_bundled("gunpoint", Path::new("/nonexistent")).is_err());
        let signals = load_bundled("signals", Path::new("/nonexistent")).unwrap();
        assert_eq!(Some(signals.sample_shape()), bundled_sample_shape("signals"));
        let texts = load_bundled("languages", &source_assets()).unwrap();
        assert_eq!(Some(texts.sample_shape()), bundled_sample_shape("languages"));
        assert_eq!(texts.class_names, ["english", "french", "german", "spanish"]);
        assert_eq!(texts.train.class_counts(4), vec![60; 4]);
        assert_eq!(texts.test.as_ref().map(|t| t.class_counts(4)), Some(vec![20; 4]));
        assert!(
            texts
                .vocabulary()
                .is_some_and(|v| v.len() > 30 && v.len() <= LANGUAGES_VOCABULARY)
        );
    }

    #[test]
    fn shapes_and_errors() {
        let ds = load_bundled("shapes", Path::new("/nonexistent")).unwrap();
        assert_eq!(ds.num_classes(), 6);
        assert!(matches!(
            load_bundled("cifar-100", &source_assets()),
            Err(DataError::UnknownBundled { .. })
        ));
        assert!(matches!(
            load_bundled("mnist", Path::new("/nonexistent")),
            Err(DataError::AssetsMissing { .. })
        ));
        for name in BUNDLED {
            assert!(describe_bundled(name).is_some());
            assert!(bundled_classes(name).is_some());
        }
    }

    #[test]
    fn assets_dir_finds_the_source_tree() {
        // Test binaries live in target/…/deps, below the crate root, so the
        // ancestor search (or the manifest fallback) finds assets/mnist.
        if std::env::var_os(ASSETS_ENV).is_none() {
            assert!(assets_dir().join("mnist").is_dir(), "{}", assets_dir().display());
        }
    }
}
