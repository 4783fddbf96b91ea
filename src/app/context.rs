//! What panels see of the app while they draw: read-only state plus the command queue. Panels
//! depend on this, never on `LabApp` itself.

use super::commands::CommandQueue;
use super::training_run::{Curves, TrainingRun};
use crate::cnn::Analysis;
use crate::experiment::{EpochRecord, Experiment};
use crate::training::{RunSummary, TrainingError};
use std::path::{Path, PathBuf};

/// What panels see of the app while they draw: read-only state plus the command queue.
pub struct LabContext<'a> {
    pub experiment: &'a Experiment,
    pub analysis: &'a Analysis,
    pub classes: Option<usize>,
    /// Why training cannot start, if it cannot.
    pub blocker: Option<TrainingError>,
    pub weights_fit: bool,
    pub run: Option<&'a TrainingRun>,
    pub last_summary: Option<&'a RunSummary>,
    pub curves: &'a Curves,
    /// Per-epoch records to plot: the history, plus the epochs of an active run.
    pub epochs: &'a [EpochRecord],
    pub commands: &'a CommandQueue,
    pub file: Option<&'a Path>,
    pub dirty: bool,
    pub can_undo: bool,
    pub can_redo: bool,
    pub recent: &'a [PathBuf],
    pub examples: &'a [PathBuf],
    pub dark_mode: bool,
    pub hide_training_panel: bool,
    pub file_dialogs: super::file_dialog::DialogStyle,
    /// A stopped run's test split being scored: samples done and in all.
    pub scoring: Option<(usize, usize)>,
}
