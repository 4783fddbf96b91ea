//! The model's share of the memory budget, checked before anything is allocated for it: the
//! estimate of a training step (weights, optimizer state, activations and their gradients,
//! backward caches, im2col workspace) or of scoring a batch, against `data::budget`'s limit.

use super::format::Experiment;
use super::io::ExperimentError;
use crate::cnn::numbers::{group_digits, human_bytes as format_bytes};
use crate::cnn::{LayerInfo, ModelSummary, infer};
use crate::data::budget::{LIMIT_ENV, memory_limit_bytes};

/// Images scored at once by `eval`, `predict` and the rooms.
pub const INFERENCE_BATCH: usize = 128;

/// What the model will be used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemoryUse {
    /// Training at the experiment's `batch_size`.
    Training,
    /// Scoring batches of [`INFERENCE_BATCH`] images.
    Inference,
}

impl Experiment {
    /// Refuses a model whose estimated memory for `usage` is above the limit, with the
    /// estimate, the layer that takes most, and the fix. Shape errors are left to the model
    /// checks that follow (nothing is refused here that they would report better).
    pub fn check_memory(&self, usage: MemoryUse) -> Result<(), ExperimentError> {
        let Ok(summary) = infer(self.input.shape(), &self.effective_layers(), None) else {
            return Ok(());
        };
        check(&summary, usage, self.training.batch_size, memory_limit_bytes())
    }
}

fn check(summary: &ModelSummary, usage: MemoryUse, batch_size: usize, limit: u64) -> Result<(), ExperimentError> {
    let (batch, needed) = match usage {
        MemoryUse::Training => (batch_size, summary.training_memory_bytes(batch_size)),
        MemoryUse::Inference => (INFERENCE_BATCH, summary.inference_memory_bytes(INFERENCE_BATCH)),
    };
    if needed <= limit {
        return Ok(());
    }
    let layer_bytes = |l: &LayerInfo| match usage {
        MemoryUse::Training => l.training_bytes(batch).saturating_add(l.params().saturating_mul(16)),
        MemoryUse::Inference => l.inference_bytes(batch).saturating_add(l.params().saturating_mul(4)),
    };
    let input_bytes = summary
        .input
        .len_saturating()
        .saturating_mul(4)
        .saturating_mul(batch as u64);
    let largest_layer = summary.layers.iter().max_by_key(|l| layer_bytes(l));
    let input_dominates = largest_layer.is_none_or(|l| input_bytes >= layer_bytes(l));
    let sequence = summary.input.is_sequence();
    let samples = if sequence { "sequences" } else { "images" };
    let largest = largest_layer
        .filter(|_| !input_dominates)
        .map(|l| {
            let workspace = if l.workspace_bytes > 0 {
                format!(", im2col columns of {} per thread", format_bytes(l.workspace_bytes))
            } else {
                String::new()
            };
            format!(
                "; layer {} ({}, {} parameters{workspace}) takes about {}",
                l.index + 1,
                l.kind,
                group_digits(l.params()),
                format_bytes(layer_bytes(l))
            )
        })
        .unwrap_or_else(|| {
            format!(
                "; the {batch} input {samples} of {} alone take about {}",
                summary.input.hwc(),
                format_bytes(input_bytes)
            )
        });
    let smaller_input = if sequence {
        "use a shorter input (fewer steps), or a smaller batch_size"
    } else {
        "use a smaller input height and width, or a smaller batch_size"
    };
    let (what, fix) = match usage {
        _ if input_dominates => (
            match usage {
                MemoryUse::Training => format!("training this model at batch_size {batch}"),
                MemoryUse::Inference => format!("running this model on {batch} {samples} at once"),
            },
            smaller_input,
        ),
        MemoryUse::Training => (
            format!("training this model at batch_size {batch}"),
            "lower batch_size, use fewer filters or units, smaller kernels, a larger stride or pooling",
        ),
        MemoryUse::Inference => (
            format!("running this model on {batch} {samples} at once"),
            "use fewer filters or units, smaller kernels, a larger stride or pooling",
        ),
    };
    Err(ExperimentError::TooLarge {
        what,
        needed,
        limit,
        detail: largest,
        fix: format!("{fix}, or raise the limit with {LIMIT_ENV}=<MiB>"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cnn::analyze;
    use crate::cnn::spec::{Conv2D, Dense, Flatten};
    use crate::cnn::{LayerSpec, Shape};

    #[test]
    fn the_estimate_counts_the_im2col_workspace_and_names_the_layer() {
        // A 65536×5 kernel with same padding on 28×28: small weights, a gigabyte of columns.
        let conv = Conv2D {
            kernel_size: (65536, 5),
            ..Conv2D::new(8, 5).same()
        };
        let layers = [
            LayerSpec::Conv2D(conv),
            LayerSpec::Flatten(Flatten),
            LayerSpec::Dense(Dense::new(6)),
        ];
        let summary = analyze(Shape::image(28, 28, 1), &layers, None).summary;
        assert!(
            summary.training_memory_bytes(64) > 1 << 30,
            "{}",
            summary.training_memory_bytes(64)
        );
        let err = check(&summary, MemoryUse::Training, 64, 256 << 20)
            .unwrap_err()
            .to_string();
        for words in [
            "batch_size 64",
            "layer 1 (Conv2D",
            "im2col columns",
            "256.0 MiB",
            LIMIT_ENV,
        ] {
            assert!(err.contains(words), "{words:?} missing: {err}");
        }
        assert!(check(&summary, MemoryUse::Training, 64, u64::MAX).is_ok());
    }
}
