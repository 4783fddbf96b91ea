//! The experiment being edited: its file, whether it has unsaved changes, its undo history and
//! its live analysis (shapes, parameters, the first error).

use super::undo::UndoHistory;
use crate::cnn::spec::{Conv2D, Dense, Flatten, Pool2D};
use crate::cnn::{Analysis, LayerSpec, OptimizerKind, analyze};
use crate::experiment::{self, DatasetSource, Edit, EditError, Experiment, ExperimentError, Input, Training};
use crate::training::TrainingError;
use std::path::{Path, PathBuf};

pub struct Document {
    experiment: Experiment,
    path: Option<PathBuf>,
    dirty: bool,
    undo: UndoHistory,
    analysis: Analysis,
    /// Unique for every state of every document (views rebuild what they show when it changes).
    revision: u64,
}

fn next_revision() -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

impl Document {
    pub fn new(experiment: Experiment, path: Option<PathBuf>) -> Self {
        let analysis = analysis_of(&experiment);
        Document {
            experiment,
            path,
            dirty: false,
            undo: UndoHistory::default(),
            analysis,
            revision: next_revision(),
        }
    }

    /// A small model on synthetic shapes that trains in seconds: a starting point to edit.
    pub fn untitled() -> Self {
        let experiment = Experiment::new(
            "Untitled",
            1,
            Input {
                height: 28,
                width: 28,
                channels: 1,
                sequence: false,
            },
            DatasetSource::Bundled("shapes".into()),
            vec![
                LayerSpec::Conv2D(Conv2D::new(8, 3).same().relu()),
                LayerSpec::MaxPooling2D(Pool2D::new(2)),
                LayerSpec::Flatten(Flatten),
                LayerSpec::Dense(Dense::new(6)),
            ],
            Training {
                optimizer: OptimizerKind::adam(),
                learning_rate: 0.001,
                epochs: 3,
                ..Training::default()
            },
        );
        Document::new(experiment, None)
    }

    /// A model brought in from another tool: not saved anywhere yet, so it counts as changed.
    pub fn imported(experiment: Experiment) -> Self {
        let mut doc = Document::new(experiment, None);
        doc.dirty = true;
        doc
    }

    pub fn open(path: &Path) -> Result<Self, ExperimentError> {
        Ok(Document::new(experiment::load(path)?, Some(path.to_path_buf())))
    }

    pub fn experiment(&self) -> &Experiment {
        &self.experiment
    }

    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }

    pub fn revision(&self) -> u64 {
        self.revision
    }

    pub fn analysis(&self) -> &Analysis {
        &self.analysis
    }

    pub fn can_undo(&self) -> bool {
        self.undo.can_undo()
    }

    pub fn can_redo(&self) -> bool {
        self.undo.can_redo()
    }

    /// "seed_quiz.ron" or "untitled".
    pub fn file_label(&self) -> String {
        self.path
            .as_ref()
            .and_then(|p| p.file_name())
            .map_or_else(|| "untitled".into(), |n| n.to_string_lossy().into_owned())
    }

    /// Relative paths in the experiment (transfer sources, data folders) start here.
    pub fn base_dir(&self) -> PathBuf {
        match &self.path {
            Some(path) => experiment::base_dir(path),
            None => super::paths::projects_dir(),
        }
    }

    /// The number of classes the model must end with, when known without loading the data.
    pub fn classes(&self) -> Option<usize> {
        self.experiment.classes()
    }

    /// Applies `edit` as one undoable step.
    pub fn edit(&mut self, edit: &Edit) -> Result<(), EditError> {
        let before = self.experiment.clone();
        edit.apply(&mut self.experiment)?;
        if self.experiment != before {
            self.undo.record(&before, edit.coalesce_key());
            self.changed();
        }
        Ok(())
    }

    /// Ends a group of merged edits (e.g. when a drag is released).
    pub fn break_undo_group(&mut self) {
        self.undo.break_group();
    }

    pub fn undo(&mut self) -> bool {
        match self.undo.undo(&self.experiment) {
            Some(previous) => {
                self.experiment = previous;
                self.changed();
                true
            }
            None => false,
        }
    }

    pub fn redo(&mut self) -> bool {
        match self.undo.redo(&self.experiment) {
            Some(next) => {
                self.experiment = next;
                self.changed();
                true
            }
            None => false,
        }
    }

    /// Takes what a finished run learned (weights, history, filter snapshots, resume state,
    /// class names), keeping everything else as the user has it now. Undoable.
    pub fn absorb_run(&mut self, trained: Experiment) {
        let before = self.experiment.clone();
        self.experiment.absorb_training(trained);
        self.undo.record(&before, None);
        self.undo.break_group();
        self.changed();
    }

    /// Saves to `path` (chosen by the user, who has agreed to replace what is there): the
    /// file's comments are kept where its fields did not change, and relative paths written
    /// for the old folder are rewritten to resolve from the new one. Returns notes for the
    /// user (a comment that could not be kept, a path rewritten).
    pub fn save_as(&mut self, path: &Path) -> Result<Vec<String>, ExperimentError> {
        let mut notes = Vec::new();
        let to = experiment::base_dir(path);
        let from = self.base_dir();
        if from != to {
            notes = experiment::relocate(&mut self.experiment, &from, &to);
        }
        let destination = experiment::Destination::open(path, true)?;
        notes.extend(destination.save(&self.experiment)?);
        self.path = Some(path.to_path_buf());
        self.dirty = false;
        Ok(notes)
    }

    /// Whether the saved weights still match the layers' parameter counts (an edited
    /// architecture makes them stale: the next run then starts from fresh weights).
    pub fn weights_fit(&self) -> bool {
        let Some(weights) = &self.experiment.weights else {
            return true;
        };
        if self.analysis.error.is_some() || self.analysis.summary.layers.len() != self.experiment.layers.len() {
            return false;
        }
        let mut per_layer = vec![0u64; self.experiment.layers.len()];
        for array in weights {
            let Some(count) = per_layer.get_mut(array.layer) else {
                return false;
            };
            *count += array.dims.iter().map(|&d| d as u64).product::<u64>();
        }
        per_layer
            .iter()
            .zip(&self.analysis.summary.layers)
            .all(|(&count, info)| count == info.params())
    }

    /// Why the model cannot be trained as it is (the error a run would end with at once);
    /// `None` when it can.
    pub fn training_blocker(&self) -> Option<TrainingError> {
        if let Some(error) = &self.analysis.error {
            return Some(error.clone().into());
        }
        let e = &self.experiment;
        // Every value the run would refuse (shifts, resume state, …), before Train is pressed.
        e.check_dataset(&self.base_dir())
            .and_then(|()| e.check_values())
            .err()
            .map(TrainingError::from)
    }

    fn changed(&mut self) {
        self.dirty = true;
        self.revision = next_revision();
        self.analysis = analysis_of(&self.experiment);
    }
}

fn analysis_of(experiment: &Experiment) -> Analysis {
    analyze(
        experiment.input.shape(),
        &experiment.effective_layers(),
        experiment.classes(),
    )
}
