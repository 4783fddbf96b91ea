//! Where the bundled example experiments are, found like the bundled data.

use std::path::{Path, PathBuf};

/// The experiment opened on first run.
pub const FIRST_RUN_EXAMPLE: &str = "mnist_lenet.ron";

/// `projects/` beside the executable or in one of its parent folders (an installed app,
/// `target/release/cnn-lab`), else the source tree's (`cargo run`, `cargo test`).
pub fn projects_dir() -> PathBuf {
    if let Ok(exe) = std::env::current_exe()
        && let Some(found) = exe
            .ancestors()
            .skip(1)
            .map(|a| a.join("projects"))
            .find(|p| p.join(FIRST_RUN_EXAMPLE).is_file())
    {
        return found;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/projects"))
}

/// The user's home folder, if it names one.
pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME").map(PathBuf::from).filter(|h| h.is_dir())
}

/// Whether `path` is one of the bundled examples (in `projects/` or its subfolders).
pub fn is_bundled_example(path: &Path) -> bool {
    let projects = projects_dir();
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    canonical(path).starts_with(canonical(&projects))
}

/// The `.ron` files directly in `dir`, sorted by name.
pub fn experiments_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "ron"))
        .collect();
    files.sort();
    files
}
