//! The standalone `Activation` layer kind, `Activation(relu)`: its config is the activation
//! function itself (`cnn/activation.rs`, shared with the layers it is fused into).

use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind};
use super::{Layer, Mode};
use crate::cnn::error::ArchError;
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;
pub use crate::cnn::activation::Activation;
use crate::cnn::activation::{Layout, backward_inplace, forward_inplace};


/// The standalone `Activation` layer.
impl LayerKind for Activation {
    fn describe(&self) -> String {
        format!("Activation({})", self.keras_name())
    }

    fn family(&self) -> Family {
        Family::Activation
    }

    fn footprint(&self) -> Footprint {
        Footprint::Pointwise
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        if let Activation::LeakyRelu(slope) = self
            && !(*slope >= 0.0 && slope.is_finite())
        {
            return Err(at.error(
                format!("negative_slope is {slope}"),
                "use a small positive slope such as 0.2",
                None,
            ));
        }
        Ok(Inferred::shape(at.input))
    }

    fn build(&self, _input: Shape, _init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        Some(Box::new(ActivationLayer::new(*self)))
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        vec![Field::Activation(self)]
    }

    fn activation(&self) -> Option<Activation> {
        Some(*self)
    }

    fn palette_default() -> Self {
        Activation::Relu
    }
}


/// A standalone `Activation(...)` layer.
pub struct ActivationLayer {
    act: Activation,
}

impl ActivationLayer {
    pub fn new(act: Activation) -> Self {
        ActivationLayer { act }
    }
}

impl Layer for ActivationLayer {
    fn kind(&self) -> &'static str {
        "Activation"
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        y.copy_from(x);
        forward_inplace(self.act, y.data_mut(), Layout::of(x));
    }

    fn backward(&mut self, x: &Tensor, y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        if let Some(dx) = dx {
            backward_inplace(self.act, y.data(), dy.data_mut(), Layout::of(x));
            dx.copy_from(dy);
        }
    }
}
