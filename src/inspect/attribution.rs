//! Where the model looks: saliency (|d score / d pixel|) and Grad-CAM (feature maps weighted by
//! their average gradient), both as H×W heat maps over the input, scaled to 0..=1.

use super::normalize_unit;
use crate::cnn::{Model, Objective, Tensor};

/// |d(class score)/d(input)|, the maximum over channels, for the first sample of `x`.
pub fn saliency(model: &mut Model, x: &Tensor, class: usize) -> Vec<f32> {
    let x = x.take_samples(1);
    let grad = model.input_gradient(&x, Objective::ClassScore(class));
    let (h, w) = x.shape().spatial();
    let c = x.shape().channels();
    let mut map = vec![0.0f32; h * w];
    for ch in 0..c {
        for (m, g) in map.iter_mut().zip(&grad.data()[ch * h * w..(ch + 1) * h * w]) {
            *m = m.max(g.abs());
        }
    }
    normalize_unit(&mut map);
    map
}

/// Grad-CAM for the first sample of `x`: relu(Σ_k α_k A_k) over the feature maps A of layer
/// `layer`'s output, α_k the mean of d(class score)/dA_k, upsampled (bilinear) to the input size
/// (for a sequence: over the steps).
/// Returns `None` if that layer's output is not a stack of feature maps.
pub fn grad_cam(model: &mut Model, x: &Tensor, class: usize, layer: usize) -> Option<Vec<f32>> {
    let x = x.take_samples(1);
    let grad = model.gradient_at(&x, Objective::ClassScore(class), layer + 1);
    let maps = model.activations().get(layer + 1)?;
    let shape = maps.shape();
    // Images, or sequences (one row of steps).
    if !(shape.is_image() || shape.is_sequence()) || grad.shape() != shape {
        return None;
    }
    let (h, w) = shape.spatial();
    let plane = h * w;
    let mut cam = vec![0.0f32; plane];
    for k in 0..shape.channels() {
        let g = &grad.data()[k * plane..(k + 1) * plane];
        let alpha = g.iter().sum::<f32>() / plane as f32;
        for (c, a) in cam.iter_mut().zip(&maps.data()[k * plane..(k + 1) * plane]) {
            *c += alpha * a;
        }
    }
    cam.iter_mut().for_each(|c| *c = c.max(0.0));
    let (ih, iw) = x.shape().spatial();
    let mut up = upsample_bilinear(&cam, h, w, ih, iw);
    normalize_unit(&mut up);
    Some(up)
}

/// Bilinear resize of an h×w map to oh×ow, aligning pixel centres.
pub fn upsample_bilinear(src: &[f32], h: usize, w: usize, oh: usize, ow: usize) -> Vec<f32> {
    let sample = |n: usize, on: usize, o: usize| {
        let pos = ((o as f32 + 0.5) * n as f32 / on as f32 - 0.5).clamp(0.0, (n - 1) as f32);
        let lo = pos.floor() as usize;
        (lo, (lo + 1).min(n - 1), pos - lo as f32)
    };
    let mut out = vec![0.0; oh * ow];
    for oy in 0..oh {
        let (y0, y1, fy) = sample(h, oh, oy);
        for ox in 0..ow {
            let (x0, x1, fx) = sample(w, ow, ox);
            let top = src[y0 * w + x0] * (1.0 - fx) + src[y0 * w + x1] * fx;
            let bottom = src[y1 * w + x0] * (1.0 - fx) + src[y1 * w + x1] * fx;
            out[oy * ow + ox] = top * (1.0 - fy) + bottom * fy;
        }
    }
    out
}
