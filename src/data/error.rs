//! `DataError`: every way loading or preparing a dataset can fail, worded for the person who has to fix it.

use std::path::PathBuf;

/// A dataset could not be loaded or prepared.
///
/// Each message names the file involved and says what to do about it,
/// because these strings are shown verbatim in the app's error dialogs.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("could not read {}: {source}. Check that the path exists and is readable.", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "could not decompress {}: {source}. The .gz file is damaged or incomplete; download or copy it again.",
        path.display()
    )]
    Gzip {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{} is not an IDX {kind} file: its magic number is 0x{found:08X}, expected 0x{expected:08X}. \
         Pick the matching *-{kind}-idx*-ubyte file (images are idx3, labels idx1) and check it is not \
         an HTML error page or compressed twice.",
        path.display()
    )]
    BadMagic {
        path: PathBuf,
        kind: &'static str,
        found: u32,
        expected: u32,
    },

    #[error(
        "{} is truncated: expected {expected} bytes, got {got}. The download or copy was cut short; fetch the file again.",
        path.display()
    )]
    Truncated { path: PathBuf, expected: u64, got: u64 },

    #[error(
        "{} holds {images} images but {} holds {labels} labels. Both files must come from the same split \
         (e.g. train-images with train-labels).",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        images_path: PathBuf,
        images: usize,
        labels_path: PathBuf,
        labels: usize,
    },

    #[error(
        "class folder {} has no readable images (PNG, JPEG, BMP or GIF). Add images to it or remove the folder.",
        path.display()
    )]
    EmptyClass { path: PathBuf },

    #[error(
        "{} has no class folders. Put one subfolder per class, e.g. {}/cat/*.png and {}/dog/*.png \
         (optionally inside train/ and test/).",
        path.display(),
        path.display(),
        path.display()
    )]
    NoClassFolders { path: PathBuf },

    #[error(
        "cannot tell what dataset format {} is: {reason}. Use a folder of IDX files \
         (train-images-idx3-ubyte[.gz] and friends), a CIFAR-10 binary folder (data_batch_*.bin, test_batch.bin), \
         or a folder with one subfolder of images per class.",
        path.display()
    )]
    UnknownFormat { path: PathBuf, reason: String },

    #[error(
        "{}: sample {index} has label {label}, but the dataset has only {classes} classes (labels 0 to {}). \
         The labels file does not belong to this dataset or is corrupt.",
        path.display(),
        classes.saturating_sub(1)
    )]
    LabelOutOfRange {
        path: PathBuf,
        index: usize,
        label: u32,
        classes: usize,
    },

    #[error(
        "{} is {len} bytes, which is not a whole number of CIFAR-10 records ({record} bytes each: \
         1 label byte + 3072 pixel bytes). The file is truncated or is not a CIFAR-10 binary batch \
         (the Python-pickle version is not supported; use the \"binary version\").",
        path.display()
    )]
    CifarRecordSize { path: PathBuf, len: u64, record: u64 },

    #[error(
        "the training and test parts of {} have different image shapes ({train} vs {test}). \
         Make both splits use the same image size and channel count.",
        path.display()
    )]
    ShapeMismatch { path: PathBuf, train: String, test: String },

    #[error("unknown bundled dataset \"{name}\". Choose one of: {}.", known.join(", "))]
    UnknownBundled {
        name: String,
        /// The bundled datasets there are.
        known: &'static [&'static str],
    },

    #[error(
        "bundled dataset \"{name}\" is missing: {} not found. Set the CNN_LAB_ASSETS environment variable \
         to the app's assets folder, or regenerate it with scripts/convert_datasets.py.",
        path.display()
    )]
    AssetsMissing { name: String, path: PathBuf },

    #[error(
        "{} is {kind}, not a regular file; only regular files are read as data. Put the real file there \
         (or remove it).",
        path.display()
    )]
    NotAFile { path: PathBuf, kind: &'static str },

    #[error(
        "{} holds more data than its header declares ({expected} bytes{}). The file is corrupt or \
         its header was changed; download or copy it again.",
        path.display(),
        if *.compressed { " after decompression" } else { "" }
    )]
    Oversized {
        path: PathBuf,
        expected: u64,
        compressed: bool,
    },

    #[error(
        "{} line {line}: {problem}. Fix that line or remove the file (the classes are then numbered).",
        path.display()
    )]
    BadMapping {
        path: PathBuf,
        line: usize,
        problem: String,
    },

    #[error(
        "the dataset would take about {} decoded ({images} images of {}×{}×{}, 4 bytes a value), more than \
         the limit of {}; {fix}, or raise the limit with CNN_LAB_MAX_MEMORY_MB=<MiB>.",
        format_size(*.bytes),
        .shape.1,
        .shape.2,
        .shape.0,
        format_size(*.limit)
    )]
    TooLarge {
        images: u64,
        /// (channels, height, width).
        shape: (usize, usize, usize),
        bytes: u64,
        limit: u64,
        fix: String,
    },

    #[error(
        "synthetic {what} {field} is {value}, more than the {max} samples a split may have; set {field} to at most {max}."
    )]
    SyntheticCount {
        /// "shapes" or "signals".
        what: &'static str,
        field: &'static str,
        value: usize,
        max: usize,
    },

    #[error("{} line {line}{}: {problem}; {fix}.", path.display(), at_column(.column))]
    Table {
        path: PathBuf,
        /// 1-based, as editors number lines.
        line: usize,
        /// The column's header name (or number, when the file has no header).
        column: Option<String>,
        problem: String,
        fix: String,
    },

    #[error(
        "unknown data option \"{key}\" in {}. Options follow the path after '#': \
         a CSV file takes `#label_column` or `#label=NAME`; a text folder takes \
         `#tokens=chars|words,vocabulary=N` (e.g. reviews#tokens=words,vocabulary=5000).",
        path.display()
    )]
    UnknownOption { path: PathBuf, key: String },

    #[error("invalid dataset request: {0}")]
    InvalidRequest(String),

    #[error("cannot read the image {}: {source}", path.display())]
    Image {
        path: PathBuf,
        #[source]
        source: ImageFileError,
    },
}

/// Why one image file could not be read: a warning when loading a folder (the file is skipped),
/// an error when it is the one picture to classify.
#[derive(Debug, thiserror::Error)]
pub enum ImageFileError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Decode(#[from] image::ImageError),
    #[error("the image decoder crashed on this batch of files")]
    DecoderCrashed,
    #[error("not a readable image")]
    Unreadable,
    #[error("it is {0}, not a regular file")]
    NotAFile(&'static str),
}

/// `, column "t3"` for an error located in a column, else nothing.
fn at_column(column: &Option<String>) -> String {
    column.as_ref().map(|c| format!(", column {c}")).unwrap_or_default()
}

/// `1.5 GiB`, `300.0 MiB`, `12.0 KiB`, `3 bytes`.
pub fn format_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64;
    for unit in UNITS {
        value /= 1024.0;
        if value < 1024.0 {
            return format!("{value:.1} {unit}");
        }
    }
    format!("{value:.0} PiB")
}

impl DataError {
    /// Wraps an I/O error with the path it happened on.
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io {
            path: path.into(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_file_and_the_numbers() {
        let e = DataError::BadMagic {
            path: PathBuf::from("x/train-images-idx3-ubyte"),
            kind: "images",
            found: 0x3c68746d,
            expected: 0x803,
        };
        let s = e.to_string();
        assert!(s.contains("x/train-images-idx3-ubyte"), "{s}");
        assert!(s.contains("0x3C68746D") && s.contains("0x00000803"), "{s}");

        let e = DataError::Truncated {
            path: PathBuf::from("a.bin"),
            expected: 100,
            got: 7,
        };
        assert!(e.to_string().contains("expected 100 bytes, got 7"));
        let e = DataError::UnknownBundled {
            name: "foo".into(),
            known: &crate::data::BUNDLED,
        };
        assert!(e.to_string().contains("mnist, fashion-mnist, shapes"));
    }
}
