//! Flatten: (N, C, H, W) → (N, C·H·W) in NCHW order. The data is already laid out that way,
//! so both passes are copies.

use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind, unit_variant};
use super::{Layer, Mode};
use crate::cnn::error::ArchError;
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;
use serde::de::VariantAccess;
use serde::{Deserialize, Serialize, Serializer};

/// `Flatten()`: unrolls H×W×C into one vector. No settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Flatten;

impl LayerKind for Flatten {
    fn describe(&self) -> String {
        "Flatten".into()
    }

    fn family(&self) -> Family {
        Family::Reshape
    }

    fn footprint(&self) -> Footprint {
        Footprint::Whole
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        Ok(Inferred::shape(Shape::flat(at.input.len())))
    }

    fn build(&self, _input: Shape, _init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        Some(Box::new(FlattenLayer))
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![Field::Note("no settings: unrolls H×W×C into one vector")]
    }

    fn passes_values_through(&self) -> bool {
        true
    }

    fn palette_default() -> Self {
        Flatten
    }

    /// Files write a bare `Flatten`.
    fn write_variant<S: Serializer>(&self, serializer: S, index: u32, name: &'static str) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit_variant("LayerSpec", index, name)
    }

    fn read_variant<'de, A: VariantAccess<'de>>(access: A) -> Result<Self, A::Error> {
        unit_variant(access, Flatten)
    }
}

pub struct FlattenLayer;

impl Layer for FlattenLayer {
    fn kind(&self) -> &'static str {
        "Flatten"
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        y.copy_from(x);
        y.resize(x.batch(), Shape::flat(x.sample_len()));
    }

    fn forward_taking(&mut self, x: &mut Tensor, y: &mut Tensor) -> bool {
        // The buffers change places, so each keeps its capacity from call to call.
        std::mem::swap(x, y);
        y.resize(y.batch(), Shape::flat(y.sample_len()));
        true
    }

    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        if let Some(dx) = dx {
            dx.copy_from(dy);
            dx.resize(x.batch(), x.shape());
        }
    }
}
