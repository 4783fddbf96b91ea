//! The model as the rooms see it (`Lens`): the architecture plus one set of weights (initial,
//! trained or live from a run), built off the UI thread from the document and shared with the
//! rooms' jobs.

use crate::cnn::{LayerInfo, LayerSpec, Model, Shape, Tensor};
use crate::data::{Dataset, Normalization, Split};
use crate::experiment::{Experiment, load_dataset};
use crate::training::Progress;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Where a lens's weights come from.
#[derive(Clone, Debug, PartialEq)]
pub enum Weights {
    /// Drawn from the seed: nothing learned yet.
    Initial,
    /// Saved in the experiment, after this many epochs.
    Trained { epochs: usize },
    /// Sent by the running worker.
    Live(Progress),
}

/// One parameter array of the model, in `Model::params` order.
#[derive(Clone, Debug)]
pub struct ParamSlot {
    pub layer: usize,
    pub name: &'static str,
    pub dims: Vec<usize>,
}

/// The model as the views see it: architecture plus one set of weights, shared with jobs.
#[derive(Clone)]
pub struct Lens {
    /// Unique per lens: results computed on a lens remember it, to know when they are stale.
    pub id: u64,
    /// The experiment's name, for legends that compare models.
    pub name: String,
    pub input: Shape,
    pub specs: Vec<LayerSpec>,
    pub infos: Vec<LayerInfo>,
    pub classes: usize,
    pub class_names: Vec<String>,
    pub seed: u64,
    pub weights: Arc<Vec<Vec<f32>>>,
    pub params: Vec<ParamSlot>,
    pub normalization: Normalization,
    pub source: Weights,
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl Lens {
    fn from_model(experiment: &Experiment, model: &Model, class_names: Vec<String>) -> Lens {
        let params = model
            .layers()
            .iter()
            .enumerate()
            .flat_map(|(layer, l)| {
                l.params().into_iter().map(move |p| ParamSlot {
                    layer,
                    name: p.name,
                    dims: p.dims.clone(),
                })
            })
            .collect();
        let source = if experiment.weights.is_some() {
            Weights::Trained {
                epochs: experiment.history.len(),
            }
        } else {
            Weights::Initial
        };
        Lens {
            id: next_id(),
            name: experiment.name.clone(),
            input: model.input_shape(),
            specs: model.specs().to_vec(),
            infos: model.summary().layers.clone(),
            classes: model.num_classes(),
            class_names,
            seed: experiment.seed,
            weights: Arc::new(model.weights()),
            params,
            normalization: experiment.training.normalization.clone(),
            source,
        }
    }

    /// The same model with other weights (from a running worker).
    pub(super) fn with_weights(&self, weights: Arc<Vec<Vec<f32>>>, source: Weights) -> Lens {
        Lens {
            id: next_id(),
            weights,
            source,
            ..self.clone()
        }
    }

    /// A model with this lens's weights, for one job.
    pub fn model(&self) -> anyhow::Result<Model> {
        let mut model = Model::build(self.input, &self.specs, Some(self.classes), self.seed)?;
        model.set_weights(&self.weights)?;
        Ok(model)
    }

    /// A parameter of `layer` (e.g. its "kernel"): values and dims.
    pub fn param(&self, layer: usize, name: &str) -> Option<(&[f32], &[usize])> {
        self.params
            .iter()
            .zip(self.weights.iter())
            .find(|(slot, _)| slot.layer == layer && slot.name == name)
            .map(|(slot, values)| (values.as_slice(), slot.dims.as_slice()))
    }

    pub fn conv_layers(&self) -> Vec<usize> {
        (0..self.specs.len())
            .filter(|&i| self.specs[i].config().has_image_filters())
            .collect()
    }

    /// The Conv1D layers (filters drawn as line plots).
    pub fn sequence_conv_layers(&self) -> Vec<usize> {
        (0..self.specs.len())
            .filter(|&i| self.specs[i].config().has_sequence_filters())
            .collect()
    }

    /// "layer 3 · MaxPooling2D → 14×14×8"
    pub fn layer_label(&self, layer: usize) -> String {
        let kind = self.specs.get(layer).map_or("?", LayerSpec::kind);
        let shape = self
            .infos
            .get(layer)
            .map_or_else(String::new, |i| format!(" → {}", i.output.hwc()));
        format!("layer {} · {kind}{shape}", layer + 1)
    }

    pub fn class_name(&self, class: usize) -> String {
        self.class_names
            .get(class)
            .cloned()
            .unwrap_or_else(|| format!("class {class}"))
    }

    /// What weights the views show, in words.
    pub fn describe(&self) -> String {
        match &self.source {
            Weights::Initial => {
                "untrained: the initial weights drawn from the seed; train to see what it learns".into()
            }
            Weights::Trained { epochs: 0 } => "the weights saved in the file (set there, not trained here)".into(),
            Weights::Trained { epochs: 1 } => "trained weights (1 epoch)".into(),
            Weights::Trained { epochs } => format!("trained weights ({epochs} epochs)"),
            Weights::Live(p) => format!("live weights: epoch {}, batch {}/{}", p.epoch, p.batch, p.batches),
        }
    }

    /// One sequence of a split (f32, CL) as the network's input: a signal normalized per
    /// channel as training did, token ids (`tokens`) as they are.
    pub fn input_from_values(&self, sample: &[f32], tokens: bool) -> Tensor {
        let mut values = vec![0.0f32; self.input.len()];
        if sample.len() == values.len() {
            values.copy_from_slice(sample);
            if !tokens {
                let channels = self.input.channels().max(1);
                let steps = values.len() / channels;
                for (channel, (mean, std)) in self.normalization.sequence_affine(channels).into_iter().enumerate() {
                    for v in &mut values[channel * steps..(channel + 1) * steps] {
                        *v = (*v - mean) / std;
                    }
                }
            }
        }
        Tensor::from_vec(1, self.input, values).unwrap_or_else(|| Tensor::zeros(1, self.input))
    }

    /// One image of a split (u8, CHW) as the network's input.
    pub fn input_from_pixels(&self, pixels: &[u8]) -> Tensor {
        let mut values = vec![0.0f32; self.input.len()];
        if pixels.len() == values.len() {
            self.normalization.apply(pixels, self.input.channels(), &mut values);
        }
        Tensor::from_vec(1, self.input, values).unwrap_or_else(|| Tensor::zeros(1, self.input))
    }
}

/// What the background preparation delivers.
pub(super) struct Prepared {
    pub lens: Lens,
    pub dataset_key: String,
    pub dataset: Arc<Dataset>,
}

/// The data's identity: a new key means it must be loaded again.
fn dataset_key(e: &Experiment) -> String {
    format!(
        "{:?}|{:?}|{}|{}",
        e.dataset,
        e.input,
        e.weights.is_some(),
        e.class_names.join(",")
    )
}

pub(super) fn prepare(
    experiment: Experiment,
    base_dir: PathBuf,
    cached: Option<(String, Arc<Dataset>)>,
) -> anyhow::Result<Prepared> {
    let key = dataset_key(&experiment);
    // The model first: an impossible one is said before any data is read.
    let early = experiment.model_before_data(&base_dir, None)?;
    let dataset = match cached {
        Some((k, d)) if k == key => d,
        _ => Arc::new(load_dataset(&experiment, &base_dir, None)?),
    };
    let classes = experiment.classes().unwrap_or_else(|| dataset.num_classes());
    let model = experiment.model_for(early, classes, &base_dir)?;
    let names = if experiment.class_names.len() == classes {
        experiment.class_names.clone()
    } else {
        dataset.class_names.clone()
    };
    Ok(Prepared {
        lens: Lens::from_model(&experiment, &model, names),
        dataset_key: key,
        dataset,
    })
}

/// The split the views browse and score: the test split, else the training split.
pub fn browse_split(dataset: &Dataset) -> (&'static str, &Split) {
    match &dataset.test {
        Some(test) if !test.is_empty() => ("test", test),
        _ => ("training", &dataset.train),
    }
}
