//! GlobalMaxPooling1D: the largest value of each channel over all steps, (N, C, L) → (N, C);
//! the gradient goes to the step that won. The runtime layer is GlobalMaxPooling2D's (`global_max_pooling2d.rs`).

use super::Layer;
use super::global_max_pooling2d::GlobalMaxPool;
use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind, unit_variant};
use crate::cnn::error::ArchError;
use crate::cnn::shape::Shape;
use serde::de::VariantAccess;
use serde::{Deserialize, Serialize, Serializer};

/// `GlobalMaxPooling1D()`: one number per channel, "did this pattern occur anywhere?". No
/// settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalMaxPooling1D;

impl LayerKind for GlobalMaxPooling1D {
    fn describe(&self) -> String {
        "GlobalMaxPooling1D".into()
    }

    fn family(&self) -> Family {
        Family::Pooling
    }

    fn footprint(&self) -> Footprint {
        Footprint::Whole
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        let c = at.sequence_channels("takes the maximum of each channel over the steps")?;
        Ok(Inferred {
            // The winning step of each channel, kept for the backward pass.
            cache_bytes: (c * std::mem::size_of::<u32>()) as u64,
            ..Inferred::shape(Shape::flat(c))
        })
    }

    fn build(&self, input: Shape, _init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        input
            .is_sequence()
            .then(|| GlobalMaxPool::new(input))
            .flatten()
            .map(|l| Box::new(l) as Box<dyn Layer>)
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![Field::Note("keeps the largest value of each channel over the steps")]
    }

    fn palette_default() -> Self {
        GlobalMaxPooling1D
    }

    /// Files write a bare `GlobalMaxPooling1D`.
    fn write_variant<S: Serializer>(&self, serializer: S, index: u32, name: &'static str) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit_variant("LayerSpec", index, name)
    }

    fn read_variant<'de, A: VariantAccess<'de>>(access: A) -> Result<Self, A::Error> {
        unit_variant(access, GlobalMaxPooling1D)
    }
}
