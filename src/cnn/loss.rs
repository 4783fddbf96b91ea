//! Softmax cross-entropy from logits (numerically stable) and accuracy.

use super::tensor::Tensor;

/// Mean loss and number of correct top-1 predictions over a batch.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossStats {
    pub loss: f32,
    pub correct: usize,
    pub count: usize,
}

impl LossStats {
    pub fn accuracy(&self) -> f32 {
        if self.count == 0 {
            0.0
        } else {
            self.correct as f32 / self.count as f32
        }
    }
}

/// Mean over the batch of −log softmax(logits)[label]; writes d(loss)/d(logits) into `dlogits`.
///
/// Uses log-sum-exp with the row maximum subtracted, so logits in the hundreds stay finite.
/// Labels must be below the number of classes (the data layer guarantees it).
pub fn softmax_cross_entropy(logits: &Tensor, labels: &[u32], dlogits: &mut Tensor) -> LossStats {
    let n = logits.batch();
    let k = logits.sample_len();
    assert_eq!(labels.len(), n, "one label per sample");
    dlogits.resize(n, logits.shape());
    let mut total = 0.0f64;
    let mut correct = 0;
    for ((row, grad), &label) in logits
        .data()
        .chunks_exact(k)
        .zip(dlogits.data_mut().chunks_exact_mut(k))
        .zip(labels)
    {
        let label = label as usize;
        let (argmax, max) = row.iter().enumerate().fold(
            (0, f32::NEG_INFINITY),
            |best, (i, &v)| {
                if v > best.1 { (i, v) } else { best }
            },
        );
        if argmax == label {
            correct += 1;
        }
        let sum_exp: f64 = row.iter().map(|&v| ((v - max) as f64).exp()).sum();
        let log_sum = sum_exp.ln();
        total += log_sum - (row[label] - max) as f64;
        for (i, (g, &v)) in grad.iter_mut().zip(row).enumerate() {
            let p = (((v - max) as f64).exp() / sum_exp) as f32;
            *g = (p - if i == label { 1.0 } else { 0.0 }) / n as f32;
        }
    }
    LossStats {
        loss: (total / n.max(1) as f64) as f32,
        correct,
        count: n,
    }
}
