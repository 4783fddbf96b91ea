//! Dropout (inverted, as Keras): in training, zero each value with probability `rate` and scale
//! the survivors by 1/(1 − rate); at inference, pass everything through.

use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind};
use super::{Layer, Mode};
use crate::cnn::error::ArchError;
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::de::{self, MapAccess, VariantAccess, Visitor};
use serde::ser::SerializeStructVariant;
use serde::{Deserialize, Serialize, Serializer};

/// `Dropout(rate)`, as in Keras: the fraction of values zeroed while training.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dropout {
    pub rate: f32,
}

impl Dropout {
    pub fn new(rate: f32) -> Self {
        Dropout { rate }
    }
}

impl LayerKind for Dropout {
    fn describe(&self) -> String {
        format!("Dropout({})", self.rate)
    }

    fn family(&self) -> Family {
        Family::Regularization
    }

    fn footprint(&self) -> Footprint {
        Footprint::Pointwise
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        let rate = self.rate;
        if !(0.0..1.0).contains(&rate) {
            return Err(at.error(
                format!("rate is {rate}, but it is the fraction of units dropped and must be in [0, 1)"),
                "use a rate such as 0.25 or 0.5",
                None,
            ));
        }
        Ok(Inferred {
            cache_bytes: at.input.len_saturating().saturating_mul(4),
            ..Inferred::shape(at.input)
        })
    }

    fn build(&self, _input: Shape, init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        // Each Dropout layer draws its own stream, fixed by the model's seed and its position.
        let seed = init.seed ^ 0x9E37_79B9_7F4A_7C15u64.wrapping_mul(init.index as u64 + 1);
        Some(Box::new(DropoutLayer::new(self.rate, seed)))
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![Field::Number {
            name: "rate",
            value: &mut self.rate,
            range: 0.0..=0.95,
            speed: 0.01,
            decimals: 2,
            hint: Some("Fraction of values zeroed at random during training (none at inference)"),
        }]
    }

    fn passes_values_through(&self) -> bool {
        true
    }

    fn palette_default() -> Self {
        Dropout::new(0.25)
    }

    /// Files write `Dropout(rate: 0.25)` (a struct variant), as they always have.
    fn write_variant<S: Serializer>(&self, serializer: S, index: u32, name: &'static str) -> Result<S::Ok, S::Error> {
        let mut variant = serializer.serialize_struct_variant("LayerSpec", index, name, 1)?;
        variant.serialize_field("rate", &self.rate)?;
        variant.end()
    }

    fn read_variant<'de, A: VariantAccess<'de>>(access: A) -> Result<Self, A::Error> {
        #[derive(Deserialize)]
        #[serde(field_identifier, rename_all = "snake_case")]
        enum Key {
            Rate,
        }
        struct Fields;
        impl<'de> Visitor<'de> for Fields {
            type Value = Dropout;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("Dropout(rate: ...)")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Dropout, M::Error> {
                let mut rate = None;
                while let Some(Key::Rate) = map.next_key()? {
                    if rate.is_some() {
                        return Err(de::Error::duplicate_field("rate"));
                    }
                    rate = Some(map.next_value()?);
                }
                Ok(Dropout {
                    rate: rate.ok_or_else(|| de::Error::missing_field("rate"))?,
                })
            }
        }
        access.struct_variant(&["rate"], Fields)
    }
}

pub struct DropoutLayer {
    rate: f32,
    rng: StdRng,
    /// 0 or 1/(1 − rate) for each value of the last training batch; empty after inference.
    mask: Vec<f32>,
}

impl DropoutLayer {
    pub fn new(rate: f32, seed: u64) -> Self {
        DropoutLayer {
            rate,
            rng: StdRng::seed_from_u64(seed),
            mask: Vec::new(),
        }
    }
}

impl Layer for DropoutLayer {
    fn kind(&self) -> &'static str {
        "Dropout"
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, mode: Mode) {
        y.copy_from(x);
        if mode == Mode::Infer || self.rate == 0.0 {
            self.mask.clear();
            return;
        }
        let scale = 1.0 / (1.0 - self.rate);
        let rate = self.rate;
        let rng = &mut self.rng;
        self.mask.clear();
        self.mask
            .extend((0..x.data().len()).map(|_| if rng.random::<f32>() < rate { 0.0 } else { scale }));
        y.data_mut().iter_mut().zip(&self.mask).for_each(|(v, m)| *v *= m);
    }

    fn backward(&mut self, _x: &Tensor, _y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        let Some(dx) = dx else { return };
        dx.copy_from(dy);
        if self.mask.len() == dx.data().len() {
            dx.data_mut().iter_mut().zip(&self.mask).for_each(|(v, m)| *v *= m);
        }
    }
}
