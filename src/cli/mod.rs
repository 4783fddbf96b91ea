//! The commands: `summary`, `train`, `eval`, `predict`, `export`, `import`, `import-weights`, and the benchmarks `bench` and
//! `bench-ui` (which run `crate::perf`). They use `training` and `experiment`, never the app
//! itself (only `bench-ui` opens the window, through `perf`). Errors surface here as `anyhow`
//! with context; `--json` turns every outcome, errors included, into one JSON object.

mod bench;
mod eval;
mod export;
mod import;
mod predict;
mod summary;
mod train;

pub use bench::{BenchUiArgs, bench, bench_ui};
pub use eval::eval;
pub use export::{ExportFormat, export};
pub use import::{ImportArgs, import, import_weights_cmd, parse_normalization};
pub use predict::predict;
pub use summary::summary;
pub use train::{TrainArgs, train};

use crate::experiment::{self, Experiment};
use anyhow::Result;
use std::path::{Path, PathBuf};

/// Loads an experiment and the folder its relative paths are resolved from.
pub(crate) fn load_experiment(path: &Path) -> Result<(Experiment, PathBuf)> {
    let experiment = experiment::load(path)?;
    Ok((experiment, experiment::base_dir(path)))
}

/// `text` with its control characters (terminal escape sequences, carriage returns, …) written
/// as escapes, for printing names and paths that came from a file; line breaks stay.
pub fn printable(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = c.is_control() && c != '\n';
            let (escaped, plain) = if escape {
                (Some(c.escape_default()), None)
            } else {
                (None, Some(c))
            };
            escaped.into_iter().flatten().chain(plain)
        })
        .collect()
}

/// The error and its causes on one line, each said once (our messages already quote their
/// cause, which would otherwise appear twice), safe to print to a terminal.
pub fn describe(err: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in err.chain() {
        let text = printable(&cause.to_string());
        if !out.contains(&text) {
            if !out.is_empty() {
                out += ": ";
            }
            out += &text;
        }
    }
    out
}

/// Prints `{"error": "..."}` for `--json` callers.
pub fn json_error(err: &anyhow::Error) -> String {
    serde_json::json!({ "error": describe(err) }).to_string()
}

pub(crate) fn require_weights(experiment: &Experiment, path: &Path) -> Result<()> {
    if experiment.weights.is_none() {
        anyhow::bail!(
            "{} has no trained weights yet; run `cnn-lab train {}` first",
            path.display(),
            path.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_line_breaks_kept() {
        assert_eq!(printable("a\u{1b}[2Jb\rc\nd é"), "a\\u{1b}[2Jb\\rc\nd é");
        let err = anyhow::anyhow!("unknown \u{7}name");
        assert_eq!(describe(&err), "unknown \\u{7}name");
    }
}
