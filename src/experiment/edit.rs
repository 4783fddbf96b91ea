//! Changes to an experiment as data, each one undoable: what the editor's widgets, menus and
//! one-click fixes ask for. The app records them for undo; tests apply them directly.

use super::format::{DatasetSource, Experiment, Input, Training};
use crate::cnn::spec::{Dense, Flatten};
use crate::cnn::{LayerSpec, QuickFix, Shape, analyze};
use thiserror::Error;

/// Why an edit cannot be applied (nothing changed then).
#[derive(Clone, Debug, Error, PartialEq)]
pub enum EditError {
    #[error("there is no layer {}", .0 + 1)]
    NoLayer(usize),
    #[error("layer {} has no layer below it", .0 + 1)]
    NothingBelow(usize),
    #[error("that fix no longer applies to the model")]
    StaleFix,
}

/// A change to the experiment being edited. Each one is undoable.
#[derive(Clone, Debug, PartialEq)]
pub enum Edit {
    SetLayer {
        index: usize,
        layer: LayerSpec,
    },
    Insert {
        index: usize,
        layer: LayerSpec,
    },
    Remove {
        index: usize,
    },
    Duplicate {
        index: usize,
    },
    /// Swap layer `index` with layer `index + 1`.
    SwapWithNext {
        index: usize,
    },
    ApplyFix(QuickFix),
    SetInput(Input),
    SetDataset(DatasetSource),
    SetTraining(Training),
    SetName(String),
    SetNotes(String),
    SetSeed(u64),
    /// Forget the trained weights, history and resume state: the next run starts from the seed.
    ResetWeights,
}

impl Edit {
    /// Edits that change the model's structure (blocked while a run is training it).
    pub fn changes_architecture(&self) -> bool {
        !matches!(
            self,
            Edit::SetTraining(_) | Edit::SetName(_) | Edit::SetNotes(_) | Edit::SetSeed(_)
        )
    }

    /// Consecutive edits with the same key (dragging a value, typing a name) form one undo step.
    pub fn coalesce_key(&self) -> Option<String> {
        match self {
            Edit::SetLayer { index, .. } => Some(format!("layer {index}")),
            Edit::SetInput(_) => Some("input".into()),
            Edit::SetTraining(_) => Some("training".into()),
            Edit::SetName(_) => Some("name".into()),
            Edit::SetNotes(_) => Some("notes".into()),
            Edit::SetSeed(_) => Some("seed".into()),
            Edit::SetDataset(DatasetSource::Synthetic(_) | DatasetSource::Signals(_) | DatasetSource::Path(_)) => {
                Some("dataset".into())
            }
            _ => None,
        }
    }

    /// Applies the edit; `Err` explains why it cannot be applied (nothing changed then).
    pub fn apply(&self, experiment: &mut Experiment) -> Result<(), EditError> {
        let layers = &mut experiment.layers;
        let missing = |index: usize| EditError::NoLayer(index);
        match self {
            Edit::SetLayer { index, layer } => {
                let slot = layers.get_mut(*index).ok_or_else(|| missing(*index))?;
                *slot = layer.clone();
            }
            Edit::Insert { index, layer } => {
                layers.insert((*index).min(layers.len()), layer.clone());
            }
            Edit::Remove { index } => {
                if *index >= layers.len() {
                    return Err(missing(*index));
                }
                layers.remove(*index);
            }
            Edit::Duplicate { index } => {
                let copy = layers.get(*index).cloned().ok_or_else(|| missing(*index))?;
                layers.insert(index + 1, copy);
            }
            Edit::SwapWithNext { index } => {
                if index + 1 >= layers.len() {
                    return Err(EditError::NothingBelow(*index));
                }
                layers.swap(*index, index + 1);
            }
            Edit::ApplyFix(fix) => apply_fix(experiment, fix)?,
            Edit::SetInput(input) => {
                experiment.input = *input;
                // Synthetic data is drawn at the input size, so the two stay in step.
                if let DatasetSource::Synthetic(spec) = &mut experiment.dataset {
                    spec.height = input.height;
                    spec.width = input.width;
                    spec.channels = input.channels;
                }
                if let DatasetSource::Signals(spec) = &mut experiment.dataset
                    && input.sequence
                {
                    spec.steps = input.width;
                }
            }
            Edit::SetDataset(source) => {
                match source {
                    DatasetSource::Bundled(name) => {
                        if let Some(shape) = crate::data::bundled_sample_shape(name) {
                            experiment.input = Input::of_shape(shape);
                        }
                    }
                    DatasetSource::Synthetic(spec) => {
                        experiment.input = Input::image(spec.height, spec.width, spec.channels);
                    }
                    DatasetSource::Signals(spec) => experiment.input = Input::sequence(spec.steps, 1),
                    DatasetSource::Path(_) => {}
                }
                experiment.dataset = source.clone();
            }
            Edit::SetTraining(training) => experiment.training = training.clone(),
            Edit::SetName(name) => experiment.name = name.clone(),
            Edit::SetNotes(notes) => experiment.notes = notes.clone(),
            Edit::SetSeed(seed) => experiment.seed = *seed,
            Edit::ResetWeights => experiment.forget_training(),
        }
        Ok(())
    }
}

fn apply_fix(experiment: &mut Experiment, fix: &QuickFix) -> Result<(), EditError> {
    let stale = || EditError::StaleFix;
    match fix {
        // Fixes to one layer's settings: the layer's kind knows how.
        QuickFix::UsePaddingSame { index } | QuickFix::SetUnits { index, .. } | QuickFix::FitWindow { index, .. } => {
            let layer = experiment.layers.get_mut(*index).ok_or_else(stale)?;
            if !layer.config_mut().apply_fix(fix) {
                return Err(stale());
            }
        }
        QuickFix::UseKind { index, kind } => {
            let layer = experiment.layers.get_mut(*index).ok_or_else(stale)?;
            *layer = layer.twin(kind).ok_or_else(stale)?;
        }
        QuickFix::InsertFlatten { index } => {
            if *index > experiment.layers.len() {
                return Err(stale());
            }
            experiment.layers.insert(*index, LayerSpec::Flatten(Flatten));
        }
        QuickFix::MoveBefore { from, to } => {
            if *from >= experiment.layers.len() || to > from {
                return Err(stale());
            }
            let layer = experiment.layers.remove(*from);
            experiment.layers.insert(*to, layer);
        }
        QuickFix::RemoveLayer { index } => {
            if *index >= experiment.layers.len() {
                return Err(stale());
            }
            experiment.layers.remove(*index);
        }
        QuickFix::AppendClassifier { units } => {
            let output = analyze(experiment.input.shape(), &experiment.layers, None)
                .summary
                .output();
            if matches!(output, Shape::Image { .. } | Shape::Sequence { .. }) {
                experiment.layers.push(LayerSpec::Flatten(Flatten));
            }
            experiment.layers.push(LayerSpec::Dense(Dense::new(*units)));
        }
    }
    Ok(())
}
