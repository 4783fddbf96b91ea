//! GlobalAveragePooling1D: the mean of each channel over all steps, (N, C, L) → (N, C). The
//! runtime layer is GlobalAveragePooling2D's (`global_average_pooling2d.rs`).

use super::Layer;
use super::global_average_pooling2d::GlobalAvgPool;
use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind, unit_variant};
use crate::cnn::error::ArchError;
use crate::cnn::shape::Shape;
use serde::de::VariantAccess;
use serde::{Deserialize, Serialize, Serializer};

/// `GlobalAveragePooling1D()`: one number per channel, averaged over the steps. No settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalAveragePooling1D;

impl LayerKind for GlobalAveragePooling1D {
    fn describe(&self) -> String {
        "GlobalAveragePooling1D".into()
    }

    fn family(&self) -> Family {
        Family::Pooling
    }

    fn footprint(&self) -> Footprint {
        Footprint::Whole
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        let c = at.sequence_channels("averages each channel over the steps")?;
        Ok(Inferred::shape(Shape::flat(c)))
    }

    fn build(&self, input: Shape, _init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        input
            .is_sequence()
            .then(|| GlobalAvgPool::new(input))
            .flatten()
            .map(|l| Box::new(l) as Box<dyn Layer>)
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![Field::Note("averages each channel over the steps to one number")]
    }

    fn palette_default() -> Self {
        GlobalAveragePooling1D
    }

    /// Files write a bare `GlobalAveragePooling1D`.
    fn write_variant<S: Serializer>(&self, serializer: S, index: u32, name: &'static str) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit_variant("LayerSpec", index, name)
    }

    fn read_variant<'de, A: VariantAccess<'de>>(access: A) -> Result<Self, A::Error> {
        unit_variant(access, GlobalAveragePooling1D)
    }
}
