//! From an experiment spec to runnable parts: its dataset and its model (fresh, with saved
//! weights, or with the first layers taken from another experiment and frozen).

use super::error::{SavedWeightsError, TransferError};
use super::format::{DatasetSource, Experiment, WeightArray};
use super::io::{self, ExperimentError};
use crate::cnn::Model;
use crate::data::{self, Dataset};
use std::path::{Path, PathBuf};

/// Every parameter array of `model`, tagged with its layer, in `Model::params` order.
pub fn weights_of(model: &Model) -> Vec<WeightArray> {
    model
        .layers()
        .iter()
        .enumerate()
        .flat_map(|(i, layer)| {
            layer
                .params()
                .into_iter()
                .map(move |p| WeightArray::encode(i, p.name, &p.dims, &p.value))
        })
        .collect()
}

/// Loads `arrays` into `model`, checking that each matches the layer, name and size it goes to.
fn apply_weights(
    model: &mut Model,
    arrays: &[WeightArray],
    only_layers_below: Option<usize>,
) -> Result<(), SavedWeightsError> {
    let mut slots: Vec<(usize, &'static str, Vec<usize>)> = Vec::new();
    for (i, layer) in model.layers().iter().enumerate() {
        for p in layer.params() {
            slots.push((i, p.name, p.dims.clone()));
        }
    }
    let keep = |layer: usize| only_layers_below.is_none_or(|k| layer < k);
    let wanted: Vec<_> = slots.iter().filter(|s| keep(s.0)).collect();
    let given: Vec<_> = arrays.iter().filter(|a| keep(a.layer)).collect();
    if wanted.len() != given.len() {
        return Err(SavedWeightsError::Count {
            model: wanted.len(),
            file: given.len(),
        });
    }
    let mut decoded = Vec::with_capacity(given.len());
    for ((layer, name, dims), array) in wanted.iter().map(|s| (s.0, s.1, &s.2)).zip(&given) {
        if array.layer != layer || array.name != name || &array.dims != dims {
            return Err(SavedWeightsError::Mismatch {
                layer,
                name,
                dims: dims.clone(),
                saved_layer: array.layer,
                saved_name: array.name.clone(),
                saved_dims: array.dims.clone(),
            });
        }
        let values = array.decode()?;
        if values.len() != dims.iter().product::<usize>() {
            return Err(SavedWeightsError::Size {
                layer,
                name,
                got: values.len(),
                expected: dims.iter().product::<usize>(),
            });
        }
        // NaN passes silently through ReLU and max pooling: refuse it here, where the layer is known.
        let count = values.iter().filter(|v| !v.is_finite()).count();
        if count > 0 {
            return Err(SavedWeightsError::NonFinite {
                layer,
                kind: model.specs()[layer].kind(),
                name,
                count,
                total: values.len(),
            });
        }
        decoded.push(values);
    }
    let mut params = model.params_mut();
    let targets: Vec<_> = params
        .iter_mut()
        .zip(&slots)
        .filter(|(_, s)| keep(s.0))
        .map(|(p, _)| p)
        .collect();
    for (p, values) in targets.into_iter().zip(decoded) {
        p.value.copy_from_slice(&values);
    }
    Ok(())
}

impl Experiment {
    /// A path from the file resolved against the folder the experiment lives in.
    pub fn resolve(path: &Path, base_dir: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_path_buf()
        } else {
            base_dir.join(path)
        }
    }

    /// The layers as they will train: those taken over by transfer learning with `freeze` are
    /// marked frozen, so tables and the editor show them as non-trainable.
    pub fn effective_layers(&self) -> Vec<crate::cnn::LayerSpec> {
        let mut layers = self.layers.clone();
        if let Some(t) = self.transfer.as_ref().filter(|t| t.freeze) {
            for layer in layers.iter_mut().take(t.layers) {
                layer.set_trainable(false);
            }
        }
        layers
    }

    /// Builds the model for `classes` classes: saved weights if the file has them, else fresh
    /// weights from the seed, with transferred layers copied in and frozen.
    pub fn build_model(&self, classes: usize, base_dir: &Path) -> Result<Model, ExperimentError> {
        let mut model = Model::build(self.input.shape(), &self.effective_layers(), Some(classes), self.seed)?;
        if let Some(arrays) = &self.weights {
            apply_weights(&mut model, arrays, None).map_err(|e| match e {
                SavedWeightsError::NonFinite { .. } => ExperimentError::NonFiniteWeights(e),
                other => ExperimentError::Weights(other),
            })?;
        } else if let Some(transfer) = &self.transfer {
            let path = Self::resolve(&transfer.from, base_dir);
            let fail = |problem: TransferError| ExperimentError::Transfer {
                path: path.clone(),
                problem: Box::new(problem),
            };
            let source = io::load(&path)?;
            let arrays = source.weights.as_ref().ok_or_else(|| fail(TransferError::Untrained))?;
            if transfer.layers > self.layers.len() || transfer.layers > source.layers.len() {
                return Err(fail(TransferError::TooManyLayers {
                    wanted: transfer.layers,
                    available: source.layers.len(),
                }));
            }
            for i in 0..transfer.layers {
                if source.layers[i].kind() != self.layers[i].kind() {
                    return Err(fail(TransferError::KindMismatch {
                        layer: i,
                        there: source.layers[i].kind(),
                        here: self.layers[i].kind(),
                    }));
                }
            }
            apply_weights(&mut model, arrays, Some(transfer.layers)).map_err(|e| fail(e.into()))?;
        }
        Ok(model)
    }

    /// The number of classes [`load_dataset`] will return, when known without loading anything:
    /// a trained model's class names (the data is matched to them), else the experiment's own
    /// dataset's count, unless `data_override` replaces that dataset.
    fn classes_before_data(&self, data_override: Option<&Path>) -> Option<usize> {
        if self.weights.is_some() && !self.class_names.is_empty() {
            return Some(self.class_names.len());
        }
        match data_override {
            Some(_) => None,
            None => self.dataset.known_classes(),
        }
    }

    /// Checks the model before any data is loaded (`data_override`: the data used instead of the
    /// experiment's), so a broken architecture or damaged weights are reported before minutes of
    /// decoding: built (with its saved or transferred weights) when the number of classes is known
    /// without the data, else only its shapes inferred.
    pub fn model_before_data(
        &self,
        base_dir: &Path,
        data_override: Option<&Path>,
    ) -> Result<Option<Model>, ExperimentError> {
        // Every use runs the model forward: its memory first, before any weight is allocated.
        self.check_memory(super::memory::MemoryUse::Inference)?;
        match self.classes_before_data(data_override) {
            Some(classes) => self.build_model(classes, base_dir).map(Some),
            None => {
                crate::cnn::infer(self.input.shape(), &self.effective_layers(), None)?;
                Ok(None)
            }
        }
    }

    /// The model for `classes` classes: `early` (from [`Experiment::model_before_data`]) when it
    /// has that many, else built now.
    pub fn model_for(&self, early: Option<Model>, classes: usize, base_dir: &Path) -> Result<Model, ExperimentError> {
        match early {
            Some(model) if model.num_classes() == classes => Ok(model),
            _ => self.build_model(classes, base_dir),
        }
    }

    /// Stores `model`'s weights in the experiment (replacing any saved before).
    pub fn store_weights(&mut self, model: &Model) {
        self.weights = Some(weights_of(model));
    }
}

/// Loads the experiment's data (or `override_path` instead), converted to its input shape.
pub fn load_dataset(
    experiment: &Experiment,
    base_dir: &Path,
    override_path: Option<&Path>,
) -> Result<Dataset, ExperimentError> {
    let input = experiment.input;
    let want = (input.channels, input.height, input.width);
    // A trained text model reads new texts with the vocabulary it learned.
    let vocabulary = experiment.vocabulary.as_ref().filter(|_| experiment.weights.is_some());
    let dataset = match (override_path, &experiment.dataset) {
        (Some(path), _) => data::load_path_with(path, Some(want), vocabulary)?,
        (None, DatasetSource::Path(path)) => {
            data::load_path_with(&Experiment::resolve(path, base_dir), Some(want), vocabulary)?
        }
        (None, DatasetSource::Bundled(name)) => data::load_bundled(name, &data::assets_dir())?,
        (None, DatasetSource::Synthetic(spec)) => data::shapes(*spec)?,
        (None, DatasetSource::Signals(spec)) => data::signals(*spec)?,
    };
    // A trained model knows its classes by name: score or continue training on other data by
    // matching names, not folder order.
    let dataset = if experiment.weights.is_some() && !experiment.class_names.is_empty() {
        align_classes(dataset, &experiment.class_names)?
    } else {
        dataset
    };
    let source = override_path.map_or_else(|| experiment.dataset.label(), |p| p.display().to_string());
    let sample = dataset.sample_shape();
    if sample != input.shape() {
        let fix = match sample {
            crate::cnn::Shape::Sequence { c, steps } => format!("set input to (steps: {steps}, channels: {c})"),
            _ => {
                let (c, h, w) = dataset.shape();
                format!("set input to (height: {h}, width: {w}, channels: {c})")
            }
        };
        let what = if dataset.is_sequence() { "sequences" } else { "images" };
        return Err(ExperimentError::Data(data::DataError::InvalidRequest(format!(
            "the experiment's input is {} but the {source} {what} are {sample}; {fix}",
            input.shape(),
        ))));
    }
    // The first layer may refuse values (Embedding: token ids outside its vocabulary, an error
    // in Keras too): say which sample, before training starts.
    if let Some(first) = experiment.layers.first()
        && dataset.is_sequence()
    {
        let len = sample.len().max(1);
        let splits = [Some(&dataset.train), dataset.test.as_ref()];
        for (split_name, split) in ["training", "test"].into_iter().zip(splits) {
            let samples = split.map_or(&[][..], |s| s.values.as_slice()).chunks_exact(len);
            for (i, values) in samples.enumerate() {
                if let Err(why) = first.config().check_input(values) {
                    return Err(ExperimentError::Data(data::DataError::InvalidRequest(format!(
                        "{split_name} sample {} of {source}: {why}",
                        i + 1
                    ))));
                }
            }
        }
    }
    if dataset.vocabulary().is_some()
        && matches!(
            experiment.training.normalization,
            data::Normalization::Standardize { .. }
        )
    {
        return Err(ExperimentError::Data(data::DataError::InvalidRequest(format!(
            "the {source} texts are token ids, which standardizing would scramble; set normalization to ZeroOne (ids pass unchanged)"
        ))));
    }
    Ok(dataset)
}

/// Relabels `dataset` so its class indices follow `names` (the model's classes). Every class of
/// the data must be one of them; the data may hold only some.
fn align_classes(mut dataset: Dataset, names: &[String]) -> Result<Dataset, ExperimentError> {
    if dataset.class_names == names {
        return Ok(dataset);
    }
    let mut map = Vec::with_capacity(dataset.class_names.len());
    for name in &dataset.class_names {
        let index = names.iter().position(|n| n == name).ok_or_else(|| {
            ExperimentError::Data(data::DataError::InvalidRequest(format!(
                "the data has a class \"{name}\" that the model was not trained on (its classes: {}); rename the folder or train the model on it",
                names.join(", ")
            )))
        })?;
        map.push(index as u32);
    }
    let relabel = |split: &mut data::Split| split.labels.iter_mut().for_each(|l| *l = map[*l as usize]);
    relabel(&mut dataset.train);
    if let Some(test) = dataset.test.as_mut() {
        relabel(test);
    }
    dataset.class_names = names.to_vec();
    Ok(dataset)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error;

    #[test]
    fn a_damaged_weights_section_reads_as_one_sentence_with_its_cause_kept() {
        let cause = crate::experiment::codec::decode_f32("not base64!").unwrap_err();
        let err = ExperimentError::Weights(SavedWeightsError::Decode(cause.clone()));
        let shown = err.to_string();
        assert!(
            shown.starts_with("the saved weights do not fit this model: weights are not valid base64 ("),
            "{shown}"
        );
        assert!(
            shown.ends_with("); retrain, or remove the `weights` section"),
            "{shown}"
        );
        // The chain is typed all the way down: each cause's text is already in the sentence.
        let source = err.source().expect("the weights error is the source");
        assert_eq!(source.to_string(), cause.to_string());
        assert!(shown.contains(&source.to_string()));
    }

    #[test]
    fn transfer_problems_name_the_file_and_the_layer() {
        let err = ExperimentError::Transfer {
            path: PathBuf::from("lenet.ron"),
            problem: Box::new(TransferError::KindMismatch {
                layer: 1,
                there: "MaxPooling2D",
                here: "Conv2D",
            }),
        };
        assert_eq!(
            err.to_string(),
            "transfer learning from lenet.ron: layer 2 is MaxPooling2D there but Conv2D here; the transferred layers must be the same"
        );
        let weights = TransferError::from(SavedWeightsError::Count { model: 4, file: 2 });
        assert_eq!(weights.to_string(), "the model has 4 weight arrays, the file 2");
    }
}
