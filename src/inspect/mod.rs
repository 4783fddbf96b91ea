//! Looking inside a model: feature maps, saliency, Grad-CAM, what a filter looks for, receptive
//! windows, the arithmetic behind one map value, digits drawn on a canvas, the mistakes behind a confusion-matrix cell, and the
//! accuracy on shifted images. Pure computation on the engine (no GUI); slow parts report
//! progress so callers can run them off the UI thread.

pub mod attribution;
pub mod canvas;
pub mod closeup;
pub mod maximize;
pub mod mistakes;
pub mod receptive;
pub mod shift;

pub use attribution::{grad_cam, saliency};
pub use canvas::mnist_preprocess;
pub use closeup::{CloseUp, Target, close_up};
pub use maximize::{MaximizeSettings, Maximized, maximize_channel};
pub use mistakes::cell_members;
pub use receptive::{InputRect, receptive_window};
pub use shift::{shift_accuracy, shift_work, shifted};

use crate::cnn::{Mode, Model, Tensor};

/// Every layer's output for one input (index 0 is the input itself), in inference mode: exactly
/// what the engine's forward pass computes.
pub fn feature_maps(model: &mut Model, x: &Tensor) -> Vec<Tensor> {
    model.forward(x, Mode::Infer);
    model.activations().to_vec()
}

/// Stretches `values` linearly to 0..=1 (all equal → all 0), for heat maps.
pub fn normalize_unit(values: &mut [f32]) {
    let (lo, hi) = values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    let span = hi - lo;
    for v in values {
        *v = if span > 0.0 && span.is_finite() {
            (*v - lo) / span
        } else {
            0.0
        };
    }
}
