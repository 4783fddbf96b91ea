//! Scoring a model on a split: loss, accuracy, per-class accuracy and the confusion matrix.

use crate::cnn::activation::softmax_rows;
use crate::cnn::{Mode, Model, Shape, Tensor, softmax_cross_entropy};
use crate::data::{Batcher, DataError, Normalization, Split};

/// Batch size for evaluation; inference keeps no per-sample caches, so this only bounds the
/// activations held at once.
pub const EVAL_BATCH: usize = crate::experiment::INFERENCE_BATCH;

#[derive(Clone, Debug, PartialEq)]
pub struct Evaluation {
    pub loss: f32,
    pub accuracy: f32,
    /// `confusion[true][predicted]` counts.
    pub confusion: Vec<Vec<usize>>,
    /// Predicted class and its probability for every sample, in split order.
    pub predictions: Vec<(u32, f32)>,
}

impl Evaluation {
    pub fn count(&self) -> usize {
        self.predictions.len()
    }

    /// Accuracy per true class (`None` for a class with no samples).
    pub fn per_class_accuracy(&self) -> Vec<Option<f32>> {
        self.confusion
            .iter()
            .enumerate()
            .map(|(c, row)| {
                let total: usize = row.iter().sum();
                (total > 0).then(|| row[c] as f32 / total as f32)
            })
            .collect()
    }
}

/// Runs `model` in inference mode over every sample of `split`.
pub fn evaluate(
    model: &mut Model,
    split: &Split,
    input: Shape,
    normalization: &Normalization,
) -> Result<Evaluation, DataError> {
    evaluate_with(model, split, input, normalization, &mut |_, _| true)?
        .ok_or_else(|| DataError::InvalidRequest("the evaluation was cancelled".into()))
}

/// [`evaluate`], telling `keep_going(done, total)` after every batch; `Ok(None)` once it
/// answers `false` (cancelled).
pub fn evaluate_with(
    model: &mut Model,
    split: &Split,
    input: Shape,
    normalization: &Normalization,
    keep_going: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Option<Evaluation>, DataError> {
    let classes = model.num_classes();
    let (h, w) = input.spatial();
    let batcher = Batcher::new(split, (input.channels(), h, w), EVAL_BATCH)?.normalization(normalization);
    let mut iter = batcher.epoch(0);
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    let mut confusion = vec![vec![0usize; classes]; classes];
    let mut predictions = Vec::with_capacity(split.len());
    let mut scratch = Tensor::default();
    let mut loss_sum = 0.0f64;
    let mut correct = 0usize;
    while let Some(n) = iter.next_batch(&mut images, &mut labels) {
        let x = Tensor::from_vec(n, input, std::mem::take(&mut images))
            .ok_or_else(|| DataError::InvalidRequest("a batch does not match the input shape".into()))?;
        let mut probs = model.logits(&x, Mode::Infer).clone();
        let stats = softmax_cross_entropy(&probs, &labels, &mut scratch);
        loss_sum += stats.loss as f64 * n as f64;
        correct += stats.correct;
        softmax_rows(probs.data_mut(), classes);
        for (row, &label) in probs.data().chunks_exact(classes).zip(&labels) {
            let (best, p) = row
                .iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |b, (i, &p)| if p > b.1 { (i, p) } else { b });
            if let Some(cell) = confusion.get_mut(label as usize).and_then(|r| r.get_mut(best)) {
                *cell += 1;
            }
            predictions.push((best as u32, p));
        }
        images = x.into_vec();
        if !keep_going(predictions.len(), split.len()) {
            return Ok(None);
        }
    }
    let total = predictions.len().max(1);
    Ok(Some(Evaluation {
        loss: (loss_sum / total as f64) as f32,
        accuracy: correct as f32 / total as f32,
        confusion,
        predictions,
    }))
}
