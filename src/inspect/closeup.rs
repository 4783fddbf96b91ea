//! The arithmetic behind one value of a feature map, on the real input and weights: for a
//! Conv2D, the input window of every channel (padding cells marked), the kernel slice, the
//! element-wise products, each channel's sum, + bias, → activation; for pooling, the window and
//! the maximum (or the mean of the real cells); for a Dense unit, its largest contributions.
//! Recomputed from the layer's input as the engine holds it, and checked against the engine's
//! own output in the tests.

use crate::cnn::activation::{Layout, forward_inplace};
use crate::cnn::geometry::Window;
use crate::cnn::{Activation, Footprint, LayerSpec, Mode, Model, Shape, Tensor};

/// One input channel's part of a convolution value. Windows are row-major `kh × kw`.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelPart {
    /// The input values under the window; `None` where the window is over padding (a zero).
    pub inputs: Vec<Option<f32>>,
    pub kernel: Vec<f32>,
    pub products: Vec<f32>,
    pub sum: f32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ConvCloseUp {
    pub kernel: (usize, usize),
    pub strides: (usize, usize),
    /// Kernel column `j` reads input column `origin.1 + j·dilation` (Conv1D's
    /// `dilation_rate`; 1 for Conv2D).
    pub dilation: usize,
    /// The window's top-left corner in input pixels (negative: in the padding).
    pub origin: (i64, i64),
    pub channels: Vec<ChannelPart>,
    pub bias: f32,
    /// Σ channel sums + bias.
    pub pre_activation: f32,
    pub activation: Activation,
    /// The activation of `pre_activation`: the value in the map.
    pub value: f32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct PoolCloseUp {
    pub average: bool,
    pub size: (usize, usize),
    pub strides: (usize, usize),
    pub origin: (i64, i64),
    /// The window's cells; `None` outside the input (`same` padding: never chosen, not counted).
    pub inputs: Vec<Option<f32>>,
    /// Max pooling: the cell that wins (the first of equals, as the engine).
    pub chosen: Option<usize>,
    /// Cells that count.
    pub count: usize,
    pub value: f32,
}

/// One term of a Dense unit's dot product.
#[derive(Clone, Debug, PartialEq)]
pub struct Contribution {
    pub input: usize,
    pub value: f32,
    pub weight: f32,
    pub product: f32,
}

#[derive(Clone, Debug, PartialEq)]
pub struct DenseCloseUp {
    /// The largest products by size, largest first.
    pub top: Vec<Contribution>,
    /// Σ of all products (not only the top ones).
    pub dot: f32,
    pub inputs: usize,
    pub bias: f32,
    pub pre_activation: f32,
    pub activation: Activation,
    pub value: f32,
}

#[derive(Clone, Debug, PartialEq)]
pub enum CloseUp {
    Conv(ConvCloseUp),
    Pool(PoolCloseUp),
    Dense(DenseCloseUp),
}

/// Which value: layer (0-based), channel (filter or unit) and, for maps, row and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Target {
    pub layer: usize,
    pub channel: usize,
    pub row: usize,
    pub col: usize,
}

/// Dense units listed by their largest contributions.
pub const TOP_CONTRIBUTIONS: usize = 12;

/// The close-up of `target` for the input `x` (one sample), or `None` for a layer without one
/// (Flatten, Dropout, …) or a target outside the layer's output.
pub fn close_up(model: &mut Model, x: &Tensor, target: Target) -> Option<CloseUp> {
    model.forward(x, Mode::Infer);
    let model = &*model;
    let input = model.activations().get(target.layer)?;
    let spec = model.specs().get(target.layer)?;
    let params = model.layers().get(target.layer)?.params();
    let param = |name: &str| params.iter().find(|p| p.name == name).map(|p| p.value.as_slice());
    // A sequence is one row of steps: pooling reads it like an image of height 1, Conv1D with
    // its dilation.
    let (c, h, w) = match input.shape() {
        Shape::Image { c, h, w } => (c, h, w),
        Shape::Sequence { c, steps } => (c, 1, steps),
        Shape::Flat { .. } => {
            return match spec {
                LayerSpec::Dense(d) => dense(
                    input.data(),
                    param("kernel")?,
                    param("bias").unwrap_or(&[]),
                    d.units,
                    d.activation,
                    target.channel,
                ),
                _ => None,
            };
        }
    };
    let plane = |ch: usize| &input.data()[ch * h * w..(ch + 1) * h * w];
    // A convolution's window, filters and activation: Conv2D, or Conv1D over one row.
    let conv = match spec {
        LayerSpec::Conv2D(conv) => Some((
            Window::new(h, w, conv.kernel_size, conv.strides, conv.padding)?,
            conv.filters,
            conv.activation,
        )),
        LayerSpec::Conv1D(conv) if h == 1 => Some((
            Window::line(w, conv.kernel_size, conv.strides, conv.dilation_rate, conv.padding)?,
            conv.filters,
            conv.activation,
        )),
        _ => None,
    };
    match spec {
        _ if conv.is_some() => {
            let (win, filters, activation) = conv?;
            if target.channel >= filters || target.row >= win.rows.out || target.col >= win.cols.out {
                return None;
            }
            let kernel = param("kernel")?;
            let bias = param("bias").unwrap_or(&[]);
            let (kh, kw) = (win.kh, win.kw);
            let origin = origin(&win, target);
            // Every filter's pre-activation at this position (softmax needs them all).
            let mut pre = vec![0.0f32; filters];
            let mut mine = Vec::new();
            for (f, pre_f) in pre.iter_mut().enumerate() {
                let mut parts = Vec::with_capacity(c);
                for ch in 0..c {
                    let slice = &kernel[(f * c + ch) * kh * kw..(f * c + ch + 1) * kh * kw];
                    let inputs = window_values(plane(ch), (h, w), origin, (kh, kw), win.dw);
                    let products: Vec<f32> = inputs.iter().zip(slice).map(|(v, k)| v.unwrap_or(0.0) * k).collect();
                    let sum = products.iter().sum();
                    parts.push(ChannelPart {
                        inputs,
                        kernel: slice.to_vec(),
                        products,
                        sum,
                    });
                }
                let b = bias.get(f).copied().unwrap_or(0.0);
                *pre_f = parts.iter().map(|p| p.sum).sum::<f32>() + b;
                if f == target.channel {
                    mine = parts;
                }
            }
            let mut activated = pre.clone();
            forward_inplace(
                activation,
                &mut activated,
                Layout {
                    channels: filters,
                    inner: 1,
                },
            );
            Some(CloseUp::Conv(ConvCloseUp {
                kernel: (kh, kw),
                strides: (win.sh, win.sw),
                dilation: win.dw,
                origin,
                channels: mine,
                bias: bias.get(target.channel).copied().unwrap_or(0.0),
                pre_activation: pre[target.channel],
                activation,
                value: activated[target.channel],
            }))
        }
        LayerSpec::MaxPooling2D(_)
        | LayerSpec::AveragePooling2D(_)
        | LayerSpec::MaxPooling1D(_)
        | LayerSpec::AveragePooling1D(_) => {
            let Footprint::Window {
                kernel,
                strides,
                padding,
            } = spec.config().footprint()
            else {
                return None;
            };
            let win = Window::new(h, w, kernel, strides, padding)?;
            if target.channel >= c {
                return None;
            }
            let average = matches!(spec, LayerSpec::AveragePooling2D(_) | LayerSpec::AveragePooling1D(_));
            pool(plane(target.channel), (h, w), &win, target, average)
        }
        _ => None,
    }
}

/// Where the window of output `target` starts, in input pixels.
fn origin(win: &Window, target: Target) -> (i64, i64) {
    (
        (target.row * win.sh) as i64 - win.rows.pad_before as i64,
        (target.col * win.sw) as i64 - win.cols.pad_before as i64,
    )
}

/// The values of one channel under a `size` window at `origin`; `None` outside the input.
fn window_values(
    plane: &[f32],
    (h, w): (usize, usize),
    origin: (i64, i64),
    (kh, kw): (usize, usize),
    dilation: usize,
) -> Vec<Option<f32>> {
    let mut values = Vec::with_capacity(kh * kw);
    for dy in 0..kh as i64 {
        for dx in 0..kw as i64 {
            let (y, x) = (origin.0 + dy, origin.1 + dx * dilation as i64);
            let inside = y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w;
            values.push(inside.then(|| plane[y as usize * w + x as usize]));
        }
    }
    values
}

/// One channel's pooling window for `target` (the channel's `plane`, laid out by `win`).
fn pool(plane: &[f32], (h, w): (usize, usize), win: &Window, target: Target, average: bool) -> Option<CloseUp> {
    if target.row >= win.rows.out || target.col >= win.cols.out {
        return None;
    }
    let (size, strides) = ((win.kh, win.kw), (win.sh, win.sw));
    let origin = origin(win, target);
    let inputs = window_values(plane, (h, w), origin, size, 1);
    let real: Vec<(usize, f32)> = inputs
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.map(|v| (i, v)))
        .collect();
    let count = real.len();
    let (chosen, value) = if average {
        (None, real.iter().map(|(_, v)| v).sum::<f32>() / count.max(1) as f32)
    } else {
        let best = real
            .iter()
            .fold(None, |best: Option<(usize, f32)>, &(i, v)| match best {
                Some((_, b)) if b >= v => best,
                _ => Some((i, v)),
            });
        (best.map(|(i, _)| i), best.map_or(0.0, |(_, v)| v))
    };
    Some(CloseUp::Pool(PoolCloseUp {
        average,
        size,
        strides,
        origin,
        inputs,
        chosen,
        count,
        value,
    }))
}

fn dense(
    input: &[f32],
    kernel: &[f32],
    bias: &[f32],
    units: usize,
    activation: Activation,
    unit: usize,
) -> Option<CloseUp> {
    if unit >= units || kernel.len() != input.len() * units {
        return None;
    }
    // The kernel is (inputs, units), as Keras stores it.
    let mut terms: Vec<Contribution> = input
        .iter()
        .enumerate()
        .map(|(i, &value)| {
            let weight = kernel[i * units + unit];
            Contribution {
                input: i,
                value,
                weight,
                product: value * weight,
            }
        })
        .collect();
    let dot: f32 = terms.iter().map(|t| t.product).sum();
    let mut pre: Vec<f32> = (0..units)
        .map(|u| {
            input
                .iter()
                .enumerate()
                .map(|(i, v)| v * kernel[i * units + u])
                .sum::<f32>()
                + bias.get(u).copied().unwrap_or(0.0)
        })
        .collect();
    let pre_activation = pre[unit];
    forward_inplace(
        activation,
        &mut pre,
        Layout {
            channels: units,
            inner: 1,
        },
    );
    terms.sort_by(|a, b| b.product.abs().total_cmp(&a.product.abs()));
    terms.truncate(TOP_CONTRIBUTIONS);
    Some(CloseUp::Dense(DenseCloseUp {
        top: terms,
        dot,
        inputs: input.len(),
        bias: bias.get(unit).copied().unwrap_or(0.0),
        pre_activation,
        activation,
        value: pre[unit],
    }))
}
