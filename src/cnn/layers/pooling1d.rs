//! What MaxPooling1D and AveragePooling1D share: the config (`pool_size`, `strides` that default
//! to `pool_size`, `padding` valid by default, as in Keras) and the shape rule. The runtime
//! layers are the 2-D ones (`max_pooling2d.rs`, `average_pooling2d.rs`) on a sequence seen as
//! one row of steps, so `same` windows are clipped the same way (TensorFlow).

use super::Layer;
use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind};
use super::pooling2d::{PoolGeom, PoolKind};
use crate::cnn::error::{ArchError, QuickFix};
use crate::cnn::geometry::{Padding, axis};
use crate::cnn::shape::Shape;
use serde::{Deserialize, Serialize};
use std::marker::PhantomData;

/// `MaxPooling1D(pool_size=2, strides=None, padding='valid')` / `AveragePooling1D(…)`, as in
/// Keras: `strides` default to `pool_size`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound = "")]
pub struct Pool1D<K: PoolKind> {
    #[serde(default = "two")]
    pub pool_size: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strides: Option<usize>,
    #[serde(default)]
    pub padding: Padding,
    #[serde(skip)]
    kind: PhantomData<K>,
}

fn two() -> usize {
    2
}

impl<K: PoolKind> Pool1D<K> {
    pub fn new(pool: usize) -> Self {
        Pool1D {
            pool_size: pool,
            strides: None,
            padding: Padding::Valid,
            kind: PhantomData,
        }
    }
    pub fn strides(mut self, s: usize) -> Self {
        self.strides = Some(s);
        self
    }
    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }
    pub fn effective_strides(&self) -> usize {
        self.strides.unwrap_or(self.pool_size)
    }
}

impl<K: PoolKind> LayerKind for Pool1D<K> {
    fn describe(&self) -> String {
        format!(
            "{}({}, strides {}, padding {})",
            K::NAME_1D,
            self.pool_size,
            self.effective_strides(),
            self.padding.keras_name()
        )
    }

    fn family(&self) -> Family {
        Family::Pooling
    }

    fn footprint(&self) -> Footprint {
        Footprint::Window {
            kernel: (1, self.pool_size),
            strides: (1, self.effective_strides()),
            padding: self.padding,
        }
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        let c = at.sequence_channels(&format!("{} of steps", K::DOES))?;
        let steps = at.input.spatial().1;
        let (pool, stride) = (self.pool_size, self.effective_strides());
        if pool == 0 || stride == 0 {
            return Err(at.error(
                format!("pool_size is {pool} and strides {stride}; both must be at least 1"),
                "use pool_size 2 (strides default to it)",
                None,
            ));
        }
        match self.padding {
            Padding::Causal => {
                return Err(at.error(
                    "padding 'causal' exists only for Conv1D; Keras pooling has 'valid' and 'same'",
                    "use padding 'same' or 'valid'",
                    Some(QuickFix::UsePaddingSame { index: at.index }),
                ));
            }
            Padding::Explicit(p) if p > 0 && p >= pool => {
                return Err(at.error(
                    format!("padding {p} is as wide as the {pool}-step window, so some windows would see only padding"),
                    format!("use padding 'same', or at most {}", pool - 1),
                    Some(QuickFix::UsePaddingSame { index: at.index }),
                ));
            }
            Padding::Same if pool > steps.saturating_mul(2) => {
                return Err(at.error(
                    format!(
                        "pool_size {pool} is more than twice its {steps} steps, so the windows would see mostly padding"
                    ),
                    format!("use a pool_size of at most {}, such as 2", steps.saturating_mul(2)),
                    None,
                ));
            }
            _ => {}
        }
        let Some(out) = axis(steps, pool, stride, self.padding) else {
            return Err(at.error(
                format!("the input has {steps} steps but pool_size is {pool}, so the output would have none"),
                "use padding 'same', a smaller pool_size, or remove a pooling layer before it",
                Some(QuickFix::UsePaddingSame { index: at.index }),
            ));
        };
        let output = Shape::sequence(out.out, c);
        Ok(Inferred {
            cache_bytes: output.len_saturating().saturating_mul(K::CACHE_BYTES_PER_OUTPUT),
            ..Inferred::shape(output)
        })
    }

    fn build(&self, input: Shape, _init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        PoolGeom::line(input, self.pool_size, self.effective_strides(), self.padding).map(K::build)
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        let default = self.pool_size;
        vec![
            Field::Count {
                name: "pool",
                value: &mut self.pool_size,
                max: 256,
                speed: 0.1,
                hint: Some("Steps per window (pool_size)"),
            },
            Field::DefaultedCount {
                name: "strides",
                value: &mut self.strides,
                default,
                max: 256,
                speed: 0.05,
                hint: Some("Steps from one window to the next; by default pool_size"),
            },
            Field::Padding(&mut self.padding),
        ]
    }

    fn apply_fix(&mut self, fix: &QuickFix) -> bool {
        match fix {
            QuickFix::UsePaddingSame { .. } => {
                self.padding = Padding::Same;
                true
            }
            _ => false,
        }
    }

    fn palette_default() -> Self {
        Pool1D::new(2)
    }
}
