//! Reading and writing experiment files: precise parse errors, version checks, atomic saves.

use super::error::{SavedWeightsError, TransferError};
use super::format::{Experiment, FORMAT_VERSION};
use ron::extensions::Extensions;
use ron::ser::PrettyConfig;
use serde::Deserialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ExperimentError {
    #[error("cannot read {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{} is {kind}, not a regular file; open the experiment's .ron file itself", path.display())]
    NotAFile { path: PathBuf, kind: &'static str },
    #[error("{} line {line}, column {col}: {message}; fix the file there (or open a bundled example)", path.display())]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
    },
    #[error(
        "{} was written by a newer CNN Lab (format version {found}); this build reads up to version {FORMAT_VERSION}: update CNN Lab",
        path.display()
    )]
    NewerVersion { path: PathBuf, found: u32 },
    #[error("cannot save {}: {source}; the previous file is unchanged", path.display())]
    Write { path: PathBuf, source: std::io::Error },
    #[error("the saved weights do not fit this model: {0}; retrain, or remove the `weights` section")]
    Weights(#[source] SavedWeightsError),
    #[error(
        "the saved weights cannot be used: {0}; a run diverged or the file was damaged: retrain with \
         `cnn-lab train --fresh`, or fix the file"
    )]
    NonFiniteWeights(#[source] SavedWeightsError),
    #[error("transfer learning from {}: {problem}", path.display())]
    Transfer {
        path: PathBuf,
        /// Boxed: a layer mismatch carries both layers' names and dimensions, and every
        /// `Result` of this module would otherwise be that large.
        #[source]
        problem: Box<TransferError>,
    },
    #[error(transparent)]
    Model(#[from] crate::cnn::ArchError),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
}

fn options() -> ron::Options {
    // `Conv2D(filters: 8, ...)` instead of `Conv2D((filters: 8, ...))`, and `strides: (2, 2)`
    // for optional values: the file reads like the Keras call it describes.
    ron::Options::default().with_default_extension(Extensions::UNWRAP_VARIANT_NEWTYPES | Extensions::IMPLICIT_SOME)
}

/// Parses experiment text; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<Experiment, ExperimentError> {
    #[derive(Deserialize)]
    struct VersionOnly {
        #[serde(default)]
        version: Option<u32>,
    }
    // Check the version first, so a newer file gets "update CNN Lab" rather than a confusing
    // complaint about a field this build has never heard of.
    if let Ok(VersionOnly { version: Some(found) }) = options().from_str::<VersionOnly>(text)
        && found > FORMAT_VERSION
    {
        return Err(ExperimentError::NewerVersion {
            path: path.into(),
            found,
        });
    }
    let mut experiment: Experiment = options().from_str(text).map_err(|e| {
        let (line, col) = skip_whitespace(text, e.span.start.line, e.span.start.col);
        ExperimentError::Parse {
            path: path.into(),
            line,
            col,
            message: e.code.to_string(),
        }
    })?;
    // Weights written as plain numbers (a lesson's) are held as saved ones are, so an
    // experiment compares and saves the same whichever way its file spelled them.
    for array in experiment.weights.iter_mut().flatten() {
        array.canonicalize();
    }
    Ok(experiment)
}

/// ron reports some errors at the end of the previous token; move forward over white space so
/// the position names the offending value itself.
fn skip_whitespace(text: &str, line: usize, col: usize) -> (usize, usize) {
    let (mut line, mut col) = (line.max(1), col.max(1));
    let line_start: usize = text.split_inclusive('\n').take(line - 1).map(str::len).sum();
    let Some(rest) = text.get(line_start..) else {
        return (line, col);
    };
    let start = rest.char_indices().nth(col - 1).map_or(rest.len(), |(i, _)| i);
    for c in rest[start..].chars().take_while(|c| c.is_whitespace()) {
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    (line, col)
}

/// The folder the relative paths in the experiment file `path` (transfer sources, data
/// folders) start from: the file's folder, or `.` for a bare file name.
pub fn base_dir(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

pub fn load(path: &Path) -> Result<Experiment, ExperimentError> {
    let read_error = |source| ExperimentError::Read {
        path: path.into(),
        source,
    };
    // A FIFO or device would block or never end: only a regular file is read.
    let meta = std::fs::metadata(path).map_err(read_error)?;
    if let Some(kind) = crate::data::files::special_kind(&meta) {
        return Err(ExperimentError::NotAFile {
            path: path.into(),
            kind,
        });
    }
    let text = std::fs::read_to_string(path).map_err(read_error)?;
    parse(&text, path)
}

/// The file text for `experiment`.
pub fn to_text(experiment: &Experiment) -> String {
    let pretty = PrettyConfig::new()
        .struct_names(false)
        .depth_limit(4)
        .indentor("  ".to_string());
    options()
        .to_string_pretty(experiment, pretty)
        .expect("experiments contain only serializable values")
        + "\n"
}

/// Writes `experiment` to `path` atomically: a temporary file in the same folder is written and
/// flushed to disk, then renamed over `path`, so a crash mid-save leaves the old file intact.
pub fn save(experiment: &Experiment, path: &Path) -> Result<(), ExperimentError> {
    write_atomic(path, to_text(experiment).as_bytes()).map_err(|source| ExperimentError::Write {
        path: path.into(),
        source,
    })
}

/// Atomic replace of `path` with `bytes` (temporary file + fsync + rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("experiment");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
