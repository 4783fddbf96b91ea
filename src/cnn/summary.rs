//! Shape inference without running anything: output shapes, parameters, MACs, receptive fields,
//! memory, and the first invalid layer with a sentence a student understands.

use super::error::{ArchError, QuickFix};
use super::layers::kind::receptive_field;
use super::layers::{Footprint, Incoming, LayerSpec};
use super::shape::Shape;
use super::spec::Activation;

pub use super::numbers::{group_digits, human_bytes as format_bytes};

/// Parameters beyond this many bytes are refused before anything is allocated.
pub const MAX_PARAM_BYTES: u64 = 2 << 30;
/// One sample's activations beyond this many bytes are refused before anything is allocated.
pub const MAX_ACTIVATION_BYTES_PER_SAMPLE: u64 = 1 << 30;

/// One row of the layer table.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerInfo {
    pub index: usize,
    pub kind: &'static str,
    pub input: Shape,
    pub output: Shape,
    pub trainable_params: u64,
    pub non_trainable_params: u64,
    /// The parameter count as the course writes it, e.g. `(5·5·3 + 1)·10 = 760`.
    pub params_formula: String,
    /// Multiply-accumulates per sample (convolutions and dense layers).
    pub macs: u64,
    /// Receptive field (rows, columns) in input pixels of one output unit.
    pub receptive_field: (usize, usize),
    /// Distance in input pixels between neighbouring output units (product of strides).
    pub jump: (usize, usize),
    /// Bytes of this layer's output for one sample.
    pub activation_bytes: u64,
    /// Bytes the layer keeps per sample for its backward pass (argmax indices, masks).
    pub cache_bytes: u64,
    /// Scratch bytes per worker thread, whatever the batch size (im2col columns).
    pub workspace_bytes: u64,
}

impl LayerInfo {
    pub fn params(&self) -> u64 {
        self.trainable_params + self.non_trainable_params
    }
}

/// The whole table: one row per valid layer, plus totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelSummary {
    pub input: Shape,
    pub layers: Vec<LayerInfo>,
}

impl ModelSummary {
    pub fn output(&self) -> Shape {
        self.layers.last().map_or(self.input, |l| l.output)
    }
    pub fn total_params(&self) -> u64 {
        self.layers.iter().map(LayerInfo::params).sum()
    }
    pub fn trainable_params(&self) -> u64 {
        self.layers.iter().map(|l| l.trainable_params).sum()
    }
    pub fn non_trainable_params(&self) -> u64 {
        self.layers.iter().map(|l| l.non_trainable_params).sum()
    }
    pub fn macs_per_sample(&self) -> u64 {
        self.layers.iter().map(|l| l.macs).sum()
    }
    /// Forward activations of one sample, input included.
    pub fn activation_bytes_per_sample(&self) -> u64 {
        self.input.len_saturating().saturating_mul(4) + self.layers.iter().map(|l| l.activation_bytes).sum::<u64>()
    }
    /// Estimated memory to train at `batch`: weights, gradients and two optimizer moments per
    /// parameter; activations, their gradients and backward caches per sample; and the im2col
    /// columns each of the batch's parallel tasks keeps per convolution (forward, then the
    /// columns and their gradient in the backward pass).
    pub fn training_memory_bytes(&self, batch: usize) -> u64 {
        self.total_params()
            .saturating_mul(16)
            .saturating_add(self.input_batch_bytes(batch))
            .saturating_add(
                self.layers
                    .iter()
                    .map(|l| l.training_bytes(batch))
                    .fold(0, u64::saturating_add),
            )
    }

    /// Estimated memory to score at `batch`: weights, the batch's activations and backward
    /// caches, and one set of im2col columns per parallel task.
    pub fn inference_memory_bytes(&self, batch: usize) -> u64 {
        self.total_params()
            .saturating_mul(4)
            .saturating_add(self.input_batch_bytes(batch))
            .saturating_add(
                self.layers
                    .iter()
                    .map(|l| l.inference_bytes(batch))
                    .fold(0, u64::saturating_add),
            )
    }

    fn input_batch_bytes(&self, batch: usize) -> u64 {
        self.input
            .len_saturating()
            .saturating_mul(4)
            .saturating_mul(batch as u64)
    }
}

/// How many tasks a batch is split into (one per worker thread), each with its own workspace.
fn parallel_tasks(batch: usize) -> u64 {
    batch.clamp(1, rayon::current_num_threads().max(1)) as u64
}

impl LayerInfo {
    /// What this layer adds to a training step at `batch`, its weights' share excluded.
    pub fn training_bytes(&self, batch: usize) -> u64 {
        let per_sample = self.activation_bytes.saturating_mul(2).saturating_add(self.cache_bytes);
        (batch as u64).saturating_mul(per_sample).saturating_add(
            parallel_tasks(batch)
                .saturating_mul(3)
                .saturating_mul(self.workspace_bytes),
        )
    }

    /// What this layer adds to scoring a batch, its weights excluded.
    pub fn inference_bytes(&self, batch: usize) -> u64 {
        let per_sample = self.activation_bytes.saturating_add(self.cache_bytes);
        (batch as u64)
            .saturating_mul(per_sample)
            .saturating_add(parallel_tasks(batch).saturating_mul(self.workspace_bytes))
    }
}

/// Result of checking a model: the rows that could be computed, and the first error if any.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    pub summary: ModelSummary,
    pub error: Option<ArchError>,
}

/// Checks `layers` on `input`; with `classes`, also checks that the model ends in that many scores.
pub fn infer(input: Shape, layers: &[LayerSpec], classes: Option<usize>) -> Result<ModelSummary, ArchError> {
    let analysis = analyze(input, layers, classes);
    match analysis.error {
        Some(err) => Err(err),
        None => Ok(analysis.summary),
    }
}

/// Like [`infer`], but keeps every row before the first error (the editor shows them).
pub fn analyze(input: Shape, layers: &[LayerSpec], classes: Option<usize>) -> Analysis {
    let mut summary = ModelSummary {
        input,
        layers: Vec::with_capacity(layers.len()),
    };
    if let Err(error) = check_input(input) {
        return Analysis {
            summary,
            error: Some(error),
        };
    }
    let (in_h, in_w) = input.spatial();
    let mut shape = input;
    let mut rf = (1, 1);
    let mut jump = (1, 1);
    let mut param_bytes = 0u64;
    for (index, spec) in layers.iter().enumerate() {
        let info = match layer_info(index, spec, shape, rf, jump, (in_h, in_w), layers.len()) {
            Ok(info) => info,
            Err(error) => {
                return Analysis {
                    summary,
                    error: Some(error),
                };
            }
        };
        param_bytes = param_bytes.saturating_add(info.params().saturating_mul(4));
        if param_bytes > MAX_PARAM_BYTES {
            let error = ArchError::TooLarge {
                what: format!(
                    "layer {} {} brings the weights to {} parameters",
                    index + 1,
                    spec.kind(),
                    group_digits(param_bytes / 4)
                ),
                needed_bytes: param_bytes,
                limit_bytes: MAX_PARAM_BYTES,
                fix: "use fewer filters or units, or add pooling before Flatten".into(),
            };
            return Analysis {
                summary,
                error: Some(error),
            };
        }
        let per_sample = info
            .activation_bytes
            .saturating_add(info.cache_bytes)
            .saturating_add(info.workspace_bytes);
        if per_sample > MAX_ACTIVATION_BYTES_PER_SAMPLE {
            let error = ArchError::TooLarge {
                what: format!(
                    "layer {} {} outputs {} per {}",
                    index + 1,
                    spec.kind(),
                    info.output.hwc(),
                    if input.is_sequence() { "sequence" } else { "image" }
                ),
                needed_bytes: per_sample,
                limit_bytes: MAX_ACTIVATION_BYTES_PER_SAMPLE,
                fix: "use fewer filters, a larger stride, or pooling".into(),
            };
            return Analysis {
                summary,
                error: Some(error),
            };
        }
        shape = info.output;
        rf = info.receptive_field;
        jump = info.jump;
        summary.layers.push(info);
    }
    let error = classes.and_then(|classes| check_output(layers, &summary, classes).err());
    Analysis { summary, error }
}

fn check_input(input: Shape) -> Result<(), ArchError> {
    let bad = |problem: &str, fix: &str| ArchError::Input {
        got: input.hwc(),
        problem: problem.into(),
        fix: fix.into(),
    };
    let sequence = input.is_sequence();
    if input.is_empty() {
        return Err(bad(
            "every dimension must be at least 1",
            if sequence {
                "use e.g. 128×1 (steps × channels)"
            } else {
                "use e.g. 28×28×1 or 32×32×3"
            },
        ));
    }
    if input.len_saturating().saturating_mul(4) > MAX_ACTIVATION_BYTES_PER_SAMPLE {
        return Err(if sequence {
            bad(
                "one sequence would take more than 1 GiB",
                "cut the sequences to at most a few hundred thousand steps",
            )
        } else {
            bad(
                "one image would take more than 1 GiB",
                "resize the images to at most a few hundred pixels a side",
            )
        });
    }
    Ok(())
}

fn layer_info(
    index: usize,
    spec: &LayerSpec,
    input: Shape,
    rf: (usize, usize),
    jump: (usize, usize),
    image_hw: (usize, usize),
    n_layers: usize,
) -> Result<LayerInfo, ArchError> {
    let at = Incoming {
        index,
        kind: spec.kind(),
        input,
    };
    if spec.activation() == Some(Activation::Softmax) && index + 1 != n_layers {
        return Err(at.error(
            "softmax turns scores into class probabilities, so it only belongs on the last layer",
            "use relu here, or remove this layer",
            matches!(spec, LayerSpec::Activation(_)).then(|| at.remove()).flatten(),
        ));
    }
    if let Some(Activation::LeakyRelu(slope)) = spec.activation()
        && !(slope.is_finite() && (0.0..=1.0).contains(&slope))
    {
        return Err(at.error(
            format!("the leaky_relu slope is {slope}; it must be a number from 0 to 1"),
            "use leaky_relu(0.2)",
            None,
        ));
    }
    let kind = spec.config();
    let inferred = kind.infer(&at)?;
    let (receptive_field, jump) = receptive_field(kind.footprint(), rf, jump, image_hw);
    let (trainable_params, non_trainable_params) = if kind.trainable() {
        (inferred.weights, inferred.state)
    } else {
        (0, inferred.weights.saturating_add(inferred.state))
    };
    Ok(LayerInfo {
        index,
        kind: spec.kind(),
        input,
        output: inferred.output,
        trainable_params,
        non_trainable_params,
        params_formula: inferred.params_formula,
        macs: inferred.macs,
        receptive_field,
        jump,
        activation_bytes: inferred.output.len_saturating().saturating_mul(4),
        cache_bytes: inferred.cache_bytes,
        workspace_bytes: inferred.workspace_bytes,
    })
}

fn check_output(layers: &[LayerSpec], summary: &ModelSummary, classes: usize) -> Result<(), ArchError> {
    if layers.is_empty() {
        return Err(ArchError::Empty { classes });
    }
    let out = summary.output();
    match out {
        Shape::Flat { features } if features == classes => Ok(()),
        Shape::Flat { features } => {
            // Resize the last layer whose size is a setting, if only weightless pointwise
            // layers follow it; otherwise append a classifier.
            let set_units = |index: usize| QuickFix::SetUnits { index, units: classes };
            let last_sized = (0..layers.len())
                .rev()
                .find(|&index| layers[index].clone().config_mut().apply_fix(&set_units(index)));
            let quick_fix = match last_sized {
                Some(index)
                    if layers[index + 1..]
                        .iter()
                        .all(|l| !l.has_weights() && l.config().footprint() == Footprint::Pointwise) =>
                {
                    Some(set_units(index))
                }
                _ => Some(QuickFix::AppendClassifier { units: classes }),
            };
            let fix = match quick_fix {
                Some(QuickFix::SetUnits { .. }) => {
                    format!("set the last Dense layer's units to {classes}")
                }
                _ => format!("end the model with Dense({classes})"),
            };
            Err(ArchError::Output {
                ends_with: format!("{features} values"),
                classes,
                fix,
                quick_fix,
            })
        }
        Shape::Image { .. } | Shape::Sequence { .. } => Err(ArchError::Output {
            ends_with: format!("{} feature maps", out.hwc()),
            classes,
            fix: format!("end the model with Flatten and Dense({classes}), one score per class"),
            quick_fix: Some(QuickFix::AppendClassifier { units: classes }),
        }),
    }
}
