//! Activation functions (linear, relu, leaky_relu, sigmoid, tanh, softmax) with Keras names:
//! fused into Conv2D and Dense, or the standalone `Activation` layer kind
//! (`layers/activation.rs`). Forward and backward run in place on whole samples.

use super::gemm::Isa;
use super::simd;
use super::tensor::Tensor;
use serde::{Deserialize, Serialize};

/// Element-wise (or, for softmax, per-sample) non-linearities, Keras names. Fused into Conv2D
/// and Dense, or a layer of its own: `Activation(relu)`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    #[default]
    Linear,
    Relu,
    /// Keras 3's default negative slope is 0.2.
    LeakyRelu(f32),
    Sigmoid,
    Tanh,
    Softmax,
}

impl Activation {
    pub fn keras_name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::LeakyRelu(_) => "leaky_relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Tanh => "tanh",
            Activation::Softmax => "softmax",
        }
    }

    /// All activations a user can pick, with Keras defaults.
    pub const ALL: [Activation; 6] = [
        Activation::Linear,
        Activation::Relu,
        Activation::LeakyRelu(0.2),
        Activation::Sigmoid,
        Activation::Tanh,
        Activation::Softmax,
    ];
}

/// How one sample's values are laid out for softmax: `channels` groups of `inner` values each;
/// softmax runs across channels at every inner position (pixel), as Keras does on the last axis.
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub channels: usize,
    pub inner: usize,
}

impl Layout {
    pub fn of(t: &Tensor) -> Self {
        let (h, w) = t.shape().spatial();
        Layout {
            channels: t.shape().channels(),
            inner: h * w,
        }
    }
}

/// Applies `act` in place to whole samples laid out as `layout`, on the active vector path.
pub fn forward_inplace(act: Activation, data: &mut [f32], layout: Layout) {
    forward_on(Isa::active(), act, data, layout);
}

simd::vectorized! {
    /// [`forward_inplace`] on the given vector path.
    fn forward_on(act: Activation, data: &mut [f32], layout: Layout) {
        match act {
            Activation::Linear => {}
            Activation::Relu => data.iter_mut().for_each(|v| *v = v.max(0.0)),
            Activation::LeakyRelu(slope) => data.iter_mut().for_each(|v| *v *= if *v < 0.0 { slope } else { 1.0 }),
            Activation::Sigmoid => data.iter_mut().for_each(|v| *v = sigmoid(*v)),
            Activation::Tanh => data.iter_mut().for_each(|v| *v = v.tanh()),
            Activation::Softmax => {
                let sample = layout.channels * layout.inner;
                for s in data.chunks_exact_mut(sample.max(1)) {
                    for i in 0..layout.inner {
                        softmax_strided(s, i, layout.inner, layout.channels);
                    }
                }
            }
        }
    }
}

/// Turns `dy` into dL/dx in place, from the activation's output `y`, on the active vector path.
pub fn backward_inplace(act: Activation, y: &[f32], dy: &mut [f32], layout: Layout) {
    backward_on(Isa::active(), act, y, dy, layout);
}

simd::vectorized! {
    /// [`backward_inplace`] on the given vector path.
    fn backward_on(act: Activation, y: &[f32], dy: &mut [f32], layout: Layout) {
        match act {
            Activation::Linear => {}
            // Written as selects so the loop vectorizes.
            Activation::Relu => dy
                .iter_mut()
                .zip(y)
                .for_each(|(g, &y)| *g = if y > 0.0 { *g } else { 0.0 }),
            // y and x share their sign when the slope is positive, so y decides the branch.
            Activation::LeakyRelu(slope) => dy.iter_mut().zip(y).for_each(|(g, &y)| {
                *g *= if y > 0.0 || (y == 0.0 && slope != 0.0) {
                    1.0
                } else {
                    slope
                }
            }),
            Activation::Sigmoid => dy.iter_mut().zip(y).for_each(|(g, &y)| *g *= y * (1.0 - y)),
            Activation::Tanh => dy.iter_mut().zip(y).for_each(|(g, &y)| *g *= 1.0 - y * y),
            Activation::Softmax => {
                let sample = layout.channels * layout.inner;
                for (ys, gs) in y.chunks_exact(sample.max(1)).zip(dy.chunks_exact_mut(sample.max(1))) {
                    for i in 0..layout.inner {
                        // dx_j = y_j (dy_j − Σ_k dy_k y_k)
                        let dot: f32 = (0..layout.channels)
                            .map(|c| ys[c * layout.inner + i] * gs[c * layout.inner + i])
                            .sum();
                        for c in 0..layout.channels {
                            let at = c * layout.inner + i;
                            gs[at] = ys[at] * (gs[at] - dot);
                        }
                    }
                }
            }
        }
    }
}

pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Stable softmax over `n` values starting at `start`, `stride` apart.
fn softmax_strided(data: &mut [f32], start: usize, stride: usize, n: usize) {
    let max = (0..n)
        .map(|c| data[start + c * stride])
        .fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for c in 0..n {
        let e = (data[start + c * stride] - max).exp();
        data[start + c * stride] = e;
        sum += e;
    }
    for c in 0..n {
        data[start + c * stride] /= sum;
    }
}

/// Softmax of each row of a (rows × n) matrix, in place.
pub fn softmax_rows(data: &mut [f32], n: usize) {
    for row in data.chunks_exact_mut(n.max(1)) {
        softmax_strided(row, 0, 1, n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_vector_path_computes_bit_for_bit_the_same() {
        // 3 channels × 13 positions: whole vectors and tails, negatives, zeros and positives.
        let layout = Layout { channels: 3, inner: 13 };
        let x: Vec<f32> = (0..2 * 39).map(|i| ((i * 29) % 17) as f32 / 4.0 - 2.0).collect();
        let dy: Vec<f32> = (0..x.len()).map(|i| ((i * 13) % 11) as f32 / 5.0 - 1.0).collect();
        for act in Activation::ALL {
            let run = |isa: Isa| {
                let (mut y, mut g) = (x.clone(), dy.clone());
                forward_on(isa, act, &mut y, layout);
                backward_on(isa, act, &y, &mut g, layout);
                (y, g)
            };
            let portable = run(Isa::Portable);
            if act != Activation::Linear {
                assert_ne!(portable.0, x, "{act:?} changes its input");
            }
            for isa in Isa::runnable("activations") {
                assert_eq!(run(isa), portable, "{act:?} on {isa}");
            }
        }
    }
}
