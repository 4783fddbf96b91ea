//! GlobalAveragePooling2D: the mean of each feature map, (N, C, H, W) → (N, C).

use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind, unit_variant};
use super::{Layer, Mode};
use crate::cnn::error::ArchError;
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;
use serde::de::VariantAccess;
use serde::{Deserialize, Serialize, Serializer};

/// `GlobalAveragePooling2D()`: one number per feature map. No settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalAveragePooling2D;

impl LayerKind for GlobalAveragePooling2D {
    fn describe(&self) -> String {
        "GlobalAveragePooling2D".into()
    }

    fn family(&self) -> Family {
        Family::Pooling
    }

    fn footprint(&self) -> Footprint {
        Footprint::Whole
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        let c = at.feature_maps("averages each feature map")?;
        Ok(Inferred::shape(Shape::flat(c)))
    }

    fn build(&self, input: Shape, _init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        GlobalAvgPool::new(input).map(|l| Box::new(l) as Box<dyn Layer>)
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![Field::Note("averages each feature map to one number")]
    }

    fn palette_default() -> Self {
        GlobalAveragePooling2D
    }

    /// Files write a bare `GlobalAveragePooling2D`.
    fn write_variant<S: Serializer>(&self, serializer: S, index: u32, name: &'static str) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit_variant("LayerSpec", index, name)
    }

    fn read_variant<'de, A: VariantAccess<'de>>(access: A) -> Result<Self, A::Error> {
        unit_variant(access, GlobalAveragePooling2D)
    }
}

pub struct GlobalAvgPool {
    kind: &'static str,
    c: usize,
    hw: usize,
}

impl GlobalAvgPool {
    /// Over each feature map of an image, or each channel of a sequence (GlobalAveragePooling1D).
    pub fn new(input: Shape) -> Option<Self> {
        let (kind, c, hw) = match input {
            Shape::Image { c, h, w } => ("GlobalAveragePooling2D", c, h * w),
            Shape::Sequence { c, steps } => ("GlobalAveragePooling1D", c, steps),
            Shape::Flat { .. } => return None,
        };
        Some(GlobalAvgPool { kind, c, hw })
    }
}

impl Layer for GlobalAvgPool {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        y.resize(x.batch(), Shape::flat(self.c));
        let hw = self.hw;
        y.data_mut()
            .iter_mut()
            .zip(x.data().chunks_exact(hw))
            .for_each(|(y, plane)| *y = plane.iter().sum::<f32>() / hw as f32);
    }

    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        let Some(dx) = dx else { return };
        dx.resize(x.batch(), x.shape());
        let hw = self.hw;
        dx.data_mut()
            .chunks_exact_mut(hw)
            .zip(dy.data())
            .for_each(|(plane, g)| plane.fill(g / hw as f32));
    }
}
