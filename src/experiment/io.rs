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
    #[error("cannot save to {}: {problem}", path.display())]
    Destination { path: PathBuf, problem: String },
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
    #[error(
        "{what} would take about {} of memory, more than the limit of {}{detail}; {fix}",
        crate::cnn::numbers::human_bytes(*needed),
        crate::cnn::numbers::human_bytes(*limit)
    )]
    TooLarge {
        what: String,
        needed: u64,
        limit: u64,
        /// The layer that takes most, as a clause.
        detail: String,
        fix: String,
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

/// Atomic replace of `path` with `bytes`: a temporary file beside the real destination (a
/// symlink's target, so the link stays a link) is written with the old file's permissions,
/// flushed to disk and renamed over it. Temporary files left by killed saves of the same file
/// are removed first.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let target = resolve_links(path);
    let dir = parent_dir(&target);
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("experiment");
    remove_stale_temporaries(&dir, name);
    let tmp = dir.join(temp_name(name, std::process::id()));
    let permissions = std::fs::metadata(&target)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.permissions());
    let result = (|| {
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        if let Some(p) = &permissions {
            // Created private to begin with when the file is: its bytes never sit in a
            // more open file.
            use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
            options.mode(p.mode() & 0o777);
        }
        let mut file = options.open(&tmp)?;
        file.write_all(bytes)?;
        if let Some(p) = permissions {
            file.set_permissions(p)?;
        }
        file.sync_all()?;
        drop(file);
        std::fs::rename(&tmp, &target)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The folder `path` is in (`.` for a bare name).
fn parent_dir(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// `path`, or the file its chain of symlinks ends at (which may not exist yet).
pub fn resolve_links(path: &Path) -> PathBuf {
    let mut current = path.to_path_buf();
    // A loop of links ends here and fails later with the system's own error.
    for _ in 0..40 {
        let is_link = std::fs::symlink_metadata(&current).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link {
            break;
        }
        let Ok(target) = std::fs::read_link(&current) else {
            break;
        };
        current = if target.is_absolute() {
            target
        } else {
            parent_dir(&current).join(target)
        };
    }
    current
}

/// `.NAME.PID.tmp`: the temporary file a save of NAME by process PID writes first.
fn temp_name(name: &str, pid: u32) -> String {
    format!(".{name}.{pid}.tmp")
}

/// Removes `.NAME.PID.tmp` files in `dir` whose process is gone (a save killed midway). Where
/// processes cannot be looked up, files older than an hour are taken as abandoned.
pub fn remove_stale_temporaries(dir: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    let own = std::process::id();
    let proc_fs = Path::new("/proc/self").exists();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(meta) = entry.path().symlink_metadata() else {
            continue;
        };
        if pid == own || !meta.is_file() {
            continue;
        }
        let abandoned = if proc_fs {
            !Path::new("/proc").join(pid.to_string()).exists()
        } else {
            meta.modified()
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age.as_secs() > 3600)
        };
        if abandoned {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Checks, before any work, that an experiment can be saved at `path` (through its symlinks):
/// not a folder or special file, in a folder that exists and takes new files, not read-only.
/// Returns the file that will be written.
pub fn check_destination(path: &Path) -> Result<PathBuf, ExperimentError> {
    let target = resolve_links(path);
    let refuse = |problem: String| ExperimentError::Destination {
        path: path.to_path_buf(),
        problem,
    };
    if let Ok(meta) = std::fs::metadata(&target) {
        if meta.is_dir() {
            return Err(refuse(format!(
                "it is a folder; name a file inside it, e.g. {}",
                target.join("experiment.ron").display()
            )));
        }
        if let Some(kind) = crate::data::files::special_kind(&meta) {
            return Err(refuse(format!("it is {kind}, not a regular file; choose a .ron file")));
        }
        if let Err(e) = std::fs::OpenOptions::new().write(true).open(&target) {
            return Err(refuse(format!(
                "the file cannot be written ({e}); make it writable or choose another file"
            )));
        }
    }
    let dir = parent_dir(&target);
    if !dir.is_dir() {
        return Err(refuse(format!(
            "the folder {} does not exist; create it or choose another file",
            dir.display()
        )));
    }
    // The save writes a temporary file in the folder first: try exactly that.
    let name = target.file_name().and_then(|n| n.to_str()).unwrap_or("experiment");
    let probe = dir.join(temp_name(name, std::process::id()));
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&probe) {
        Ok(_) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => {
            return Err(refuse(format!(
                "nothing can be written in the folder {} ({e}); choose another folder",
                dir.display()
            )));
        }
    }
    Ok(target)
}
