//! GlobalMaxPooling2D: the largest value of each feature map, (N, C, H, W) → (N, C). The
//! gradient flows back only to the position that won (the first one, on ties).

use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind, unit_variant};
use super::{Layer, Mode};
use crate::cnn::error::ArchError;
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;
use serde::de::VariantAccess;
use serde::{Deserialize, Serialize, Serializer};

/// `GlobalMaxPooling2D()`: one number per feature map, "was this pattern anywhere?". No
/// settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalMaxPooling2D;

impl LayerKind for GlobalMaxPooling2D {
    fn describe(&self) -> String {
        "GlobalMaxPooling2D".into()
    }

    fn family(&self) -> Family {
        Family::Pooling
    }

    fn footprint(&self) -> Footprint {
        Footprint::Whole
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        let c = at.feature_maps("takes the maximum of each feature map")?;
        Ok(Inferred {
            // The winning position of each map, kept for the backward pass.
            cache_bytes: (c * std::mem::size_of::<u32>()) as u64,
            ..Inferred::shape(Shape::flat(c))
        })
    }

    fn build(&self, input: Shape, _init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        GlobalMaxPool::new(input).map(|l| Box::new(l) as Box<dyn Layer>)
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![Field::Note("keeps the largest value of each feature map")]
    }

    fn palette_default() -> Self {
        GlobalMaxPooling2D
    }

    /// Files write a bare `GlobalMaxPooling2D`.
    fn write_variant<S: Serializer>(&self, serializer: S, index: u32, name: &'static str) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit_variant("LayerSpec", index, name)
    }

    fn read_variant<'de, A: VariantAccess<'de>>(access: A) -> Result<Self, A::Error> {
        unit_variant(access, GlobalMaxPooling2D)
    }
}

/// The runtime layer: remembers where each map's maximum was.
pub struct GlobalMaxPool {
    kind: &'static str,
    c: usize,
    hw: usize,
    argmax: Vec<u32>,
}

impl GlobalMaxPool {
    /// Over each feature map of an image, or each channel of a sequence (GlobalMaxPooling1D).
    pub fn new(input: Shape) -> Option<Self> {
        let (kind, c, hw) = match input {
            Shape::Image { c, h, w } => ("GlobalMaxPooling2D", c, h * w),
            Shape::Sequence { c, steps } => ("GlobalMaxPooling1D", c, steps),
            Shape::Flat { .. } => return None,
        };
        Some(GlobalMaxPool {
            kind,
            c,
            hw,
            argmax: Vec::new(),
        })
    }
}

impl Layer for GlobalMaxPool {
    fn kind(&self) -> &'static str {
        self.kind
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        y.resize(x.batch(), Shape::flat(self.c));
        self.argmax.resize(x.batch() * self.c, 0);
        let hw = self.hw;
        y.data_mut()
            .iter_mut()
            .zip(self.argmax.iter_mut())
            .zip(x.data().chunks_exact(hw))
            .for_each(|((y, at), plane)| {
                let (mut best, mut best_at) = (plane[0], 0);
                for (i, &v) in plane.iter().enumerate().skip(1) {
                    // `>` keeps the first maximum; a NaN wins, so it shows up rather than hides.
                    if v > best || (v.is_nan() && !best.is_nan()) {
                        (best, best_at) = (v, i);
                    }
                }
                *y = best;
                *at = best_at as u32;
            });
    }

    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        let Some(dx) = dx else { return };
        dx.resize(x.batch(), x.shape());
        let hw = self.hw;
        dx.data_mut()
            .chunks_exact_mut(hw)
            .zip(dy.data())
            .zip(&self.argmax)
            .for_each(|((plane, &g), &at)| {
                plane.fill(0.0);
                plane[at as usize] = g;
            });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_rule_keeps_the_channels_and_refuses_flat_input() {
        let at = Incoming {
            index: 2,
            kind: "GlobalMaxPooling2D",
            input: Shape::image(7, 5, 12),
        };
        let inferred = GlobalMaxPooling2D.infer(&at).unwrap();
        assert_eq!(inferred.output, Shape::flat(12));
        assert_eq!((inferred.weights, inferred.macs), (0, 0));
        let flat = Incoming {
            input: Shape::flat(30),
            ..at
        };
        let err = GlobalMaxPooling2D.infer(&flat).unwrap_err().to_string();
        assert!(err.contains("flat vector of 30") && err.contains("before Flatten"), "{err}");
    }

    #[test]
    fn forward_takes_each_maximum_and_backward_routes_to_it() {
        let input = Shape::image(2, 3, 2);
        let mut layer = GlobalMaxPool::new(input).unwrap();
        // Two samples × two maps of six values.
        #[rustfmt::skip]
        let x = Tensor::from_vec(2, input, vec![
            1.0, 5.0, 2.0, -1.0, 0.0, 3.0,     -4.0, -2.0, -3.0, -8.0, -2.5, -9.0,
            7.0, 7.0, 1.0, 0.0, 0.0, 0.0,       0.5, 0.25, 0.75, 1.5, 1.25, 0.0,
        ]).unwrap();
        let mut y = Tensor::default();
        layer.forward(&x, &mut y, Mode::Train);
        assert_eq!(y.data(), &[5.0, -2.0, 7.0, 1.5]);
        let mut dy = Tensor::from_vec(2, Shape::flat(2), vec![10.0, 20.0, 30.0, 40.0]).unwrap();
        let mut dx = Tensor::default();
        layer.backward(&x, &y, &mut dy, Some(&mut dx));
        #[rustfmt::skip]
        assert_eq!(dx.data(), &[
            0.0, 10.0, 0.0, 0.0, 0.0, 0.0,     0.0, 20.0, 0.0, 0.0, 0.0, 0.0,
            30.0, 0.0, 0.0, 0.0, 0.0, 0.0,     0.0, 0.0, 0.0, 40.0, 0.0, 0.0,
        ]);
    }

    #[test]
    fn files_write_a_bare_name() {
        let spec = crate::cnn::LayerSpec::GlobalMaxPooling2D(GlobalMaxPooling2D);
        let text = ron::to_string(&spec).unwrap();
        assert_eq!(text, "GlobalMaxPooling2D");
        assert_eq!(ron::from_str::<crate::cnn::LayerSpec>(&text).unwrap(), spec);
    }
}
