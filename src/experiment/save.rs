//! Saving where the user asked without losing work: the destination is checked before any work
//! is done, the file's comments are kept where its fields did not change (or the loss is said),
//! and relative paths are rewritten when the experiment moves to another folder. The write
//! itself is `io::write_atomic` (symlink target, permissions, stale temporary files).

use super::format::{DatasetSource, Experiment};
use super::io::{ExperimentError, check_destination, parse, to_text, write_atomic};
use super::splice::{has_comments, splice};
use std::path::{Component, Path, PathBuf};

/// A file an experiment will be saved to, checked, with what it held when it was checked.
#[derive(Debug)]
pub struct Destination {
    /// As the user named it (for messages).
    pub path: PathBuf,
    /// What the file held: its text and the experiment it describes.
    original: Option<(String, Experiment)>,
}

impl Destination {
    /// Checks that `path` can be written (see [`check_destination`]) and reads what it holds. An
    /// existing file that is not an experiment is refused unless `replace_other` is set.
    pub fn open(path: &Path, replace_other: bool) -> Result<Destination, ExperimentError> {
        let target = check_destination(path)?;
        let original = match std::fs::read_to_string(&target) {
            Ok(text) => match parse(&text, path) {
                Ok(experiment) => Some((text, experiment)),
                Err(_) if replace_other => None,
                Err(e) => {
                    return Err(ExperimentError::Destination {
                        path: path.to_path_buf(),
                        problem: format!(
                            "it exists and is not an experiment CNN Lab can read ({e}); choose another file, or pass \
                             --overwrite to replace it"
                        ),
                    });
                }
            },
            Err(_) => None,
        };
        Ok(Destination {
            path: path.to_path_buf(),
            original,
        })
    }

    /// The experiment the file held when it was opened.
    pub fn existing(&self) -> Option<&Experiment> {
        self.original.as_ref().map(|(_, e)| e)
    }

    /// Writes `experiment` atomically, keeping the comments of the fields it does not change.
    /// Returns notes for the user (comments that could not be kept).
    pub fn save(&self, experiment: &Experiment) -> Result<Vec<String>, ExperimentError> {
        let (text, notes) = match &self.original {
            Some((text, old)) => match splice(text, old, experiment) {
                Some((spliced, lost)) => {
                    let notes = lost
                        .iter()
                        .map(|field| format!("the comments inside `{field}` were dropped: that field changed"))
                        .collect();
                    (spliced, notes)
                }
                None if has_comments(text) => (
                    to_text(experiment),
                    vec![format!(
                        "the comments of {} could not be kept: the file was rewritten as a whole",
                        self.path.display()
                    )],
                ),
                None => (to_text(experiment), Vec::new()),
            },
            None => (to_text(experiment), Vec::new()),
        };
        write_atomic(&self.path, text.as_bytes()).map_err(|source| ExperimentError::Write {
            path: self.path.clone(),
            source,
        })?;
        Ok(notes)
    }
}

/// Rewrites the relative paths of `experiment` (its dataset folder, a transfer source) written
/// for a file in `from` so they still resolve from a file in `to`. Returns what was rewritten.
pub fn relocate(experiment: &mut Experiment, from: &Path, to: &Path) -> Vec<String> {
    let (Ok(from), Ok(to)) = (std::path::absolute(from), std::path::absolute(to)) else {
        return Vec::new();
    };
    let from = std::fs::canonicalize(&from).unwrap_or(from);
    let to = std::fs::canonicalize(&to).unwrap_or(to);
    if from == to {
        return Vec::new();
    }
    let mut notes = Vec::new();
    let mut rewrite = |what: &str, path: &mut PathBuf| {
        if path.is_absolute() {
            return;
        }
        let joined = from.join(&*path);
        let target = std::fs::canonicalize(&joined).unwrap_or_else(|_| normalize(&joined));
        let moved = relative_to(&target, &to);
        notes.push(format!(
            "the {what} path {} was rewritten as {} so it still resolves from {}",
            path.display(),
            moved.display(),
            to.display()
        ));
        *path = moved;
    };
    if let DatasetSource::Path(path) = &mut experiment.dataset {
        rewrite("dataset", path);
    }
    if let Some(transfer) = &mut experiment.transfer {
        rewrite("transfer", &mut transfer.from);
    }
    notes
}

/// `path` without `.` and with each `..` taking out the component before it.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `target` as seen from the folder `base` (both absolute).
fn relative_to(target: &Path, base: &Path) -> PathBuf {
    let t: Vec<_> = target.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    if common == 0 {
        return target.to_path_buf();
    }
    let mut out: PathBuf = std::iter::repeat_n(Component::ParentDir, b.len() - common).collect();
    out.extend(&t[common..]);
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_are_seen_from_the_new_folder() {
        assert_eq!(
            relative_to(Path::new("/a/b/data"), Path::new("/a/c")),
            PathBuf::from("../b/data")
        );
        assert_eq!(relative_to(Path::new("/a/b"), Path::new("/a/b")), PathBuf::from("."));
        assert_eq!(relative_to(Path::new("/a/b/c"), Path::new("/a")), PathBuf::from("b/c"));
        assert_eq!(normalize(Path::new("/a/./b/../c")), PathBuf::from("/a/c"));
    }
}
