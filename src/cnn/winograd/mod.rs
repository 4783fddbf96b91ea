//! Winograd convolution F(4×4, 3×3) for stride-1 3×3 Conv2D layers: 36 multiplies per 4×4
//! output tile and channel pair instead of 144, as 36 batched matrix products (see `conv.rs`;
//! the kernel gradient, the same tiles transposed, in `weights.rs`). Where it is chosen:
//! `cnn::conv_algo`.

mod conv;
mod moves;
mod transform;
mod vector;
mod weights;

pub use conv::{Geometry, Workspace, correlate, filters_forward, filters_input_gradient};
pub use weights::{WeightWorkspace, kernel_gradient};

use crate::cnn::geometry::Window;

/// Whether Winograd F(4×4, 3×3) computes this window: a 3×3 kernel, stride 1, no dilation.
/// Any padding works.
pub fn applies(window: &Window) -> bool {
    (window.kh, window.kw, window.sh, window.sw, window.dw) == (3, 3, 1, 1, 1)
}

#[cfg(test)]
pub(crate) mod tests;
