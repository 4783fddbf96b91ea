//! Embedding: turns token ids into learned vectors, the first layer of a text model. Each step
//! of the input holds one token id (stored as `f32`); the output holds that token's row of the
//! `embeddings` matrix. Token ids are not differentiable, so no gradient flows to the input.
//!
//! Out-of-range ids: Keras (TensorFlow on CPU) stops with an error. Here
//! [`check_token_ids`] finds the first bad id so data checks can refuse it with its position
//! (`LayerKind::check_input`: `experiment::load_dataset` refuses such data naming the sample),
//! and the runtime layer, which cannot fail, reads any value as the nearest valid id (so a
//! fractional id is rounded, and one past the vocabulary reads its last row).
//!
//! # Shapes
//! x (N, 1, L) token ids → y (N, D, L); embeddings (input_dim, D).

use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind, is_true, yes};
use super::{Layer, Mode, Param, ParamKind};
use crate::cnn::error::ArchError;
use crate::cnn::numbers::group_digits;
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Keras's `embeddings_initializer='uniform'` draws from U(−0.05, 0.05).
const INIT_LIMIT: f32 = 0.05;

/// `Embedding(input_dim, output_dim)`, as in Keras: `input_dim` is the vocabulary size (ids
/// 0 to input_dim − 1), `output_dim` the length of each token's vector.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Embedding {
    pub input_dim: usize,
    pub output_dim: usize,
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub trainable: bool,
}

impl Embedding {
    pub fn new(input_dim: usize, output_dim: usize) -> Self {
        Embedding {
            input_dim,
            output_dim,
            trainable: true,
        }
    }
}

/// The first value of `ids` that is not a whole number in `0..input_dim`, as (position, value).
pub fn check_token_ids(ids: &[f32], input_dim: usize) -> Result<(), (usize, f32)> {
    match ids
        .iter()
        .position(|&v| !(v >= 0.0 && v.fract() == 0.0 && (v as usize) < input_dim))
    {
        Some(at) => Err((at, ids[at])),
        None => Ok(()),
    }
}

impl LayerKind for Embedding {
    fn describe(&self) -> String {
        format!("Embedding({}, {})", self.input_dim, self.output_dim)
    }

    fn family(&self) -> Family {
        Family::Dense
    }

    /// Each step's vector depends on that step's token only.
    fn footprint(&self) -> Footprint {
        Footprint::Pointwise
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        if at.index != 0 {
            return Err(at.error(
                format!(
                    "Embedding looks up token ids, so it must be the first layer, but here it receives the output of layer {} ({})",
                    at.index,
                    at.input.hwc()
                ),
                "move it to the top of the model, with an input of steps × 1 token ids",
                None,
            ));
        }
        let steps = match at.input {
            Shape::Sequence { c: 1, steps } => steps,
            other => {
                return Err(at.error(
                    format!(
                        "Embedding needs one token id per step (an input of steps × 1), but the input is {}",
                        other.hwc()
                    ),
                    "set the input to a sequence of steps × 1 (a text dataset gives token ids)",
                    None,
                ));
            }
        };
        if self.input_dim == 0 || self.output_dim == 0 {
            return Err(at.error(
                format!(
                    "input_dim is {} and output_dim {}; both must be at least 1",
                    self.input_dim, self.output_dim
                ),
                "use input_dim = the vocabulary size and output_dim 16 or 32",
                None,
            ));
        }
        let params = (self.input_dim as u64).saturating_mul(self.output_dim as u64);
        Ok(Inferred {
            weights: params,
            params_formula: format!("{}·{} = {}", self.input_dim, self.output_dim, group_digits(params)),
            ..Inferred::shape(Shape::sequence(steps, self.output_dim))
        })
    }

    fn build(&self, input: Shape, init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        let Shape::Sequence { c: 1, steps } = input else {
            return None;
        };
        let mut embeddings = Param::new("embeddings", vec![self.input_dim, self.output_dim], ParamKind::Weight);
        for v in &mut embeddings.value {
            *v = init.rng.random_range(-INIT_LIMIT..INIT_LIMIT);
        }
        Some(Box::new(EmbeddingLayer {
            steps,
            dim: self.output_dim,
            trainable: self.trainable,
            embeddings,
        }))
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![
            Field::Count {
                name: "input_dim",
                value: &mut self.input_dim,
                max: 1 << 20,
                speed: 1.0,
                hint: Some("Vocabulary size: token ids go from 0 to input_dim − 1"),
            },
            Field::Count {
                name: "output_dim",
                value: &mut self.output_dim,
                max: 4096,
                speed: 0.2,
                hint: Some("Length of each token's learned vector (the output channels)"),
            },
            Field::Trainable(&mut self.trainable),
        ]
    }

    fn check_input(&self, sample: &[f32]) -> Result<(), String> {
        check_token_ids(sample, self.input_dim).map_err(|(step, id)| {
            format!(
                "token id {id} at step {} is outside Embedding's vocabulary 0..{} (input_dim {}); \
                 raise input_dim to the vocabulary size, or cap the vocabulary when reading the text",
                step + 1,
                self.input_dim.saturating_sub(1),
                self.input_dim
            )
        })
    }

    fn has_weights(&self) -> bool {
        true
    }

    fn trainable(&self) -> bool {
        self.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }

    fn palette_default() -> Self {
        Embedding::new(1000, 16)
    }
}

/// The runtime layer: a table lookup forward, a scatter-add backward.
pub struct EmbeddingLayer {
    steps: usize,
    dim: usize,
    trainable: bool,
    embeddings: Param,
}

impl EmbeddingLayer {
    /// The row of token `id`, read as the nearest valid id.
    fn row(&self, id: f32) -> usize {
        let last = self.embeddings.dims[0].saturating_sub(1);
        if id.is_nan() || id <= 0.0 {
            0
        } else {
            (id.round() as usize).min(last)
        }
    }
}

impl Layer for EmbeddingLayer {
    fn kind(&self) -> &'static str {
        "Embedding"
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        let (l, d) = (self.steps, self.dim);
        y.resize(x.batch(), Shape::sequence(l, d));
        for (ids, out) in x.data().chunks_exact(l).zip(y.data_mut().chunks_exact_mut(d * l)) {
            // (D, L) storage: channel j of step t is out[j·L + t].
            for (t, &id) in ids.iter().enumerate() {
                let row = self.row(id);
                let vector = &self.embeddings.value[row * d..(row + 1) * d];
                for (j, &v) in vector.iter().enumerate() {
                    out[j * l + t] = v;
                }
            }
        }
    }

    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        let (l, d) = (self.steps, self.dim);
        if self.trainable {
            let mut grad = std::mem::take(&mut self.embeddings.grad);
            grad.fill(0.0);
            for (ids, g) in x.data().chunks_exact(l).zip(dy.data().chunks_exact(d * l)) {
                for (t, &id) in ids.iter().enumerate() {
                    let row = self.row(id);
                    for (j, acc) in grad[row * d..(row + 1) * d].iter_mut().enumerate() {
                        *acc += g[j * l + t];
                    }
                }
            }
            self.embeddings.grad = grad;
        }
        if let Some(dx) = dx {
            // Token ids are not differentiable: nothing flows back to them.
            dx.resize(x.batch(), x.shape());
            dx.fill(0.0);
        }
    }

    fn params(&self) -> Vec<&Param> {
        vec![&self.embeddings]
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        vec![&mut self.embeddings]
    }

    fn for_each_param(&self, f: &mut dyn FnMut(&Param)) {
        f(&self.embeddings);
    }

    fn for_each_param_mut(&mut self, f: &mut dyn FnMut(&mut Param)) {
        f(&mut self.embeddings);
    }

    fn trainable(&self) -> bool {
        self.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.trainable = trainable;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_ids_must_be_whole_and_in_range() {
        assert_eq!(check_token_ids(&[0.0, 3.0, 9.0], 10), Ok(()));
        assert_eq!(check_token_ids(&[0.0, 10.0], 10), Err((1, 10.0)));
        assert_eq!(check_token_ids(&[-1.0], 10), Err((0, -1.0)));
        assert_eq!(check_token_ids(&[1.5], 10), Err((0, 1.5)));
        assert!(check_token_ids(&[f32::NAN], 10).is_err());
        let err = Embedding::new(10, 4).check_input(&[1.0, 2.0, 12.0]).unwrap_err();
        assert!(err.contains("token id 12 at step 3") && err.contains("0..9"), "{err}");
    }
}
