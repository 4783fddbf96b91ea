//! Shape inference without running anything: output shapes, parameters, MACs, receptive fields,
//! memory, and the first invalid layer with a sentence a student understands.

use super::error::{ArchError, QuickFix, human_bytes};
use super::geometry::Window;
use super::shape::Shape;
use super::spec::{Activation, LayerSpec, Padding, Pool2D};

/// Parameters beyond this many bytes are refused before anything is allocated.
pub const MAX_PARAM_BYTES: u64 = 2 << 30;
/// One sample's activations beyond this many bytes are refused before anything is allocated.
pub const MAX_ACTIVATION_BYTES_PER_SAMPLE: u64 = 1 << 30;

/// One row of the layer table.
#[derive(Clone, Debug, PartialEq)]
pub struct LayerInfo {
    pub index: usize,
    pub kind: &'static str,
    pub input: Shape,
    pub output: Shape,
    pub trainable_params: u64,
    pub non_trainable_params: u64,
    /// The parameter count as the course writes it, e.g. `(5·5·3 + 1)·10 = 760`.
    pub params_formula: String,
    /// Multiply-accumulates per sample (convolutions and dense layers).
    pub macs: u64,
    /// Receptive field (rows, columns) in input pixels of one output unit.
    pub receptive_field: (usize, usize),
    /// Distance in input pixels between neighbouring output units (product of strides).
    pub jump: (usize, usize),
    /// Bytes of this layer's output for one sample.
    pub activation_bytes: u64,
    /// Bytes the layer keeps per sample for its backward pass (argmax indices, masks).
    pub cache_bytes: u64,
    /// Scratch bytes per worker thread, whatever the batch size (im2col columns).
    pub workspace_bytes: u64,
}

impl LayerInfo {
    pub fn params(&self) -> u64 {
        self.trainable_params + self.non_trainable_params
    }
}

/// The whole table: one row per valid layer, plus totals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelSummary {
    pub input: Shape,
    pub layers: Vec<LayerInfo>,
}

impl ModelSummary {
    pub fn output(&self) -> Shape {
        self.layers.last().map_or(self.input, |l| l.output)
    }
    pub fn total_params(&self) -> u64 {
        self.layers.iter().map(LayerInfo::params).sum()
    }
    pub fn trainable_params(&self) -> u64 {
        self.layers.iter().map(|l| l.trainable_params).sum()
    }
    pub fn non_trainable_params(&self) -> u64 {
        self.layers.iter().map(|l| l.non_trainable_params).sum()
    }
    pub fn macs_per_sample(&self) -> u64 {
        self.layers.iter().map(|l| l.macs).sum()
    }
    /// Forward activations of one sample, input included.
    pub fn activation_bytes_per_sample(&self) -> u64 {
        self.input.len_saturating().saturating_mul(4) + self.layers.iter().map(|l| l.activation_bytes).sum::<u64>()
    }
    /// Estimated memory to train at `batch`: weights, gradients and two optimizer moments per
    /// parameter, plus activations, their gradients and backward caches per sample.
    pub fn training_memory_bytes(&self, batch: usize) -> u64 {
        let per_sample =
            2 * self.activation_bytes_per_sample() + self.layers.iter().map(|l| l.cache_bytes).sum::<u64>();
        self.total_params()
            .saturating_mul(16)
            .saturating_add((batch as u64).saturating_mul(per_sample))
    }
}

/// Result of checking a model: the rows that could be computed, and the first error if any.
#[derive(Clone, Debug, Default)]
pub struct Analysis {
    pub summary: ModelSummary,
    pub error: Option<ArchError>,
}

/// Checks `layers` on `input`; with `classes`, also checks that the model ends in that many scores.
pub fn infer(input: Shape, layers: &[LayerSpec], classes: Option<usize>) -> Result<ModelSummary, ArchError> {
    let analysis = analyze(input, layers, classes);
    match analysis.error {
        Some(err) => Err(err),
        None => Ok(analysis.summary),
    }
}

/// Like [`infer`], but keeps every row before the first error (the editor shows them).
pub fn analyze(input: Shape, layers: &[LayerSpec], classes: Option<usize>) -> Analysis {
    let mut summary = ModelSummary {
        input,
        layers: Vec::with_capacity(layers.len()),
    };
    if let Err(error) = check_input(input) {
        return Analysis {
            summary,
            error: Some(error),
        };
    }
    let (in_h, in_w) = input.spatial();
    let mut shape = input;
    let mut rf = (1, 1);
    let mut jump = (1, 1);
    let mut param_bytes = 0u64;
    for (index, spec) in layers.iter().enumerate() {
        let info = match layer_info(index, spec, shape, rf, jump, (in_h, in_w), layers.len()) {
            Ok(info) => info,
            Err(error) => {
                return Analysis {
                    summary,
                    error: Some(error),
                };
            }
        };
        param_bytes = param_bytes.saturating_add(info.params().saturating_mul(4));
        if param_bytes > MAX_PARAM_BYTES {
            let error = ArchError::TooLarge {
                what: format!(
                    "layer {} {} brings the weights to {} parameters",
                    index + 1,
                    spec.kind(),
                    group_digits(param_bytes / 4)
                ),
                needed_bytes: param_bytes,
                limit_bytes: MAX_PARAM_BYTES,
                fix: "use fewer filters or units, or add pooling before Flatten".into(),
            };
            return Analysis {
                summary,
                error: Some(error),
            };
        }
        let per_sample = info
            .activation_bytes
            .saturating_add(info.cache_bytes)
            .saturating_add(info.workspace_bytes);
        if per_sample > MAX_ACTIVATION_BYTES_PER_SAMPLE {
            let error = ArchError::TooLarge {
                what: format!(
                    "layer {} {} outputs {} per image",
                    index + 1,
                    spec.kind(),
                    info.output.hwc()
                ),
                needed_bytes: per_sample,
                limit_bytes: MAX_ACTIVATION_BYTES_PER_SAMPLE,
                fix: "use fewer filters, a larger stride, or pooling".into(),
            };
            return Analysis {
                summary,
                error: Some(error),
            };
        }
        shape = info.output;
        rf = info.receptive_field;
        jump = info.jump;
        summary.layers.push(info);
    }
    let error = classes.and_then(|classes| check_output(layers, &summary, classes).err());
    Analysis { summary, error }
}

fn check_input(input: Shape) -> Result<(), ArchError> {
    let bad = |problem: &str, fix: &str| ArchError::Input {
        got: input.hwc(),
        problem: problem.into(),
        fix: fix.into(),
    };
    if input.is_empty() {
        return Err(bad("every dimension must be at least 1", "use e.g. 28×28×1 or 32×32×3"));
    }
    if input.len_saturating().saturating_mul(4) > MAX_ACTIVATION_BYTES_PER_SAMPLE {
        return Err(bad(
            "one image would take more than 1 GiB",
            "resize the images to at most a few hundred pixels a side",
        ));
    }
    Ok(())
}

fn layer_error(index: usize, spec: &LayerSpec, problem: String, fix: &str, quick_fix: Option<QuickFix>) -> ArchError {
    ArchError::Layer {
        index,
        kind: spec.kind(),
        problem,
        fix: fix.into(),
        quick_fix,
    }
}

fn layer_info(
    index: usize,
    spec: &LayerSpec,
    input: Shape,
    rf: (usize, usize),
    jump: (usize, usize),
    image_hw: (usize, usize),
    n_layers: usize,
) -> Result<LayerInfo, ArchError> {
    let err = |problem: String, fix: &str, quick: Option<QuickFix>| Err(layer_error(index, spec, problem, fix, quick));
    if spec.activation() == Some(Activation::Softmax) && index + 1 != n_layers {
        return err(
            "softmax turns scores into class probabilities, so it only belongs on the last layer".into(),
            "use relu here, or remove this layer",
            matches!(spec, LayerSpec::Activation(_)).then_some(QuickFix::RemoveLayer { index }),
        );
    }
    let mut info = LayerInfo {
        index,
        kind: spec.kind(),
        input,
        output: input,
        trainable_params: 0,
        non_trainable_params: 0,
        params_formula: "0".into(),
        macs: 0,
        receptive_field: rf,
        jump,
        activation_bytes: 0,
        cache_bytes: 0,
        workspace_bytes: 0,
    };
    match spec {
        LayerSpec::Conv2D(conv) => {
            let Shape::Image { c, h, w } = input else {
                return err(
                    format!(
                        "Conv2D slides over an image, but its input is a flat vector of {}",
                        input.len()
                    ),
                    "move it before Flatten / Dense, or remove it",
                    Some(QuickFix::RemoveLayer { index }),
                );
            };
            if conv.filters == 0 {
                return err(
                    "filters is 0, so the layer would output nothing".into(),
                    "use at least 1 filter (8, 16, 32 are common)",
                    None,
                );
            }
            check_window(
                index,
                spec,
                "kernel_size",
                conv.kernel_size,
                conv.strides,
                conv.padding,
                (h, w),
            )?;
            let win = Window::new(h, w, conv.kernel_size, conv.strides, conv.padding).ok_or_else(|| {
                layer_error(
                    index,
                    spec,
                    "the kernel does not fit".into(),
                    "use padding 'same'",
                    None,
                )
            })?;
            let (oh, ow) = win.out_hw();
            let (kh, kw) = conv.kernel_size;
            let fan_in = (kh as u64).saturating_mul(kw as u64).saturating_mul(c as u64);
            let weights = fan_in.saturating_mul(conv.filters as u64);
            let params = weights.saturating_add(if conv.use_bias { conv.filters as u64 } else { 0 });
            info.output = Shape::image(oh, ow, conv.filters);
            info.params_formula = if conv.use_bias {
                format!("({kh}·{kw}·{c} + 1)·{} = {}", conv.filters, group_digits(params))
            } else {
                format!("{kh}·{kw}·{c}·{} = {}", conv.filters, group_digits(params))
            };
            set_params(&mut info, params, 0, conv.trainable);
            info.macs = (oh as u64 * ow as u64).saturating_mul(weights);
            // im2col columns: one (K, P) buffer per thread, forward and backward.
            info.workspace_bytes = (oh as u64 * ow as u64).saturating_mul(fan_in).saturating_mul(4);
            slide_receptive_field(&mut info, (kh, kw), conv.strides);
        }
        LayerSpec::MaxPooling2D(pool) | LayerSpec::AveragePooling2D(pool) => {
            let Shape::Image { c, h, w } = input else {
                return err(
                    format!(
                        "pooling needs an image, but its input is a flat vector of {}",
                        input.len()
                    ),
                    "move it before Flatten / Dense, or remove it",
                    Some(QuickFix::RemoveLayer { index }),
                );
            };
            check_pool(index, spec, pool, (h, w))?;
            let win = Window::new(h, w, pool.pool_size, pool.effective_strides(), pool.padding).ok_or_else(|| {
                layer_error(
                    index,
                    spec,
                    "the window does not fit".into(),
                    "use padding 'same'",
                    None,
                )
            })?;
            let (oh, ow) = win.out_hw();
            info.output = Shape::image(oh, ow, c);
            if matches!(spec, LayerSpec::MaxPooling2D(_)) {
                info.cache_bytes = info.output.len_saturating().saturating_mul(4);
            }
            slide_receptive_field(&mut info, pool.pool_size, pool.effective_strides());
        }
        LayerSpec::GlobalAveragePooling2D => {
            let Shape::Image { c, .. } = input else {
                return err(
                    format!(
                        "GlobalAveragePooling2D averages each feature map, but its input is a flat vector of {}",
                        input.len()
                    ),
                    "remove it, or move it before Flatten",
                    Some(QuickFix::RemoveLayer { index }),
                );
            };
            info.output = Shape::flat(c);
            info.receptive_field = image_hw;
        }
        LayerSpec::Flatten => {
            info.output = Shape::flat(input.len());
            if input.is_image() {
                info.receptive_field = image_hw;
            }
        }
        LayerSpec::Dense(dense) => {
            if let Shape::Image { .. } = input {
                return err(
                    format!(
                        "Dense needs a flat vector, but its input is the {} feature maps (Keras would apply it to each pixel)",
                        input.hwc()
                    ),
                    "insert Flatten (or GlobalAveragePooling2D) before it",
                    Some(QuickFix::InsertFlatten { index }),
                );
            }
            if dense.units == 0 {
                return err(
                    "units is 0, so the layer would output nothing".into(),
                    "use at least 1 unit",
                    None,
                );
            }
            let n_in = input.len() as u64;
            let weights = n_in.saturating_mul(dense.units as u64);
            let params = weights.saturating_add(if dense.use_bias { dense.units as u64 } else { 0 });
            info.output = Shape::flat(dense.units);
            info.params_formula = if dense.use_bias {
                format!("({n_in} + 1)·{} = {}", dense.units, group_digits(params))
            } else {
                format!("{n_in}·{} = {}", dense.units, group_digits(params))
            };
            set_params(&mut info, params, 0, dense.trainable);
            info.macs = weights;
            info.receptive_field = image_hw;
        }
        LayerSpec::Dropout { rate } => {
            if !(0.0..1.0).contains(rate) {
                return err(
                    format!("rate is {rate}, but it is the fraction of units dropped and must be in [0, 1)"),
                    "use a rate such as 0.25 or 0.5",
                    None,
                );
            }
            info.cache_bytes = input.len_saturating().saturating_mul(4);
        }
        LayerSpec::BatchNormalization(bn) => {
            if !(bn.epsilon > 0.0) || !(0.0..1.0).contains(&bn.momentum) {
                return err(
                    format!("momentum {} and epsilon {} are out of range", bn.momentum, bn.epsilon),
                    "use momentum 0.99 and epsilon 0.001 (Keras defaults)",
                    None,
                );
            }
            let c = input.channels() as u64;
            set_params(&mut info, 2 * c, 2 * c, bn.trainable);
            info.params_formula = format!(
                "4·{c} = {} ({} trainable)",
                group_digits(4 * c),
                group_digits(info.trainable_params)
            );
            info.cache_bytes = input.len_saturating().saturating_mul(4);
        }
        LayerSpec::Activation(act) => {
            if let Activation::LeakyRelu(slope) = act {
                if !(*slope >= 0.0 && slope.is_finite()) {
                    return err(
                        format!("negative_slope is {slope}"),
                        "use a small positive slope such as 0.2",
                        None,
                    );
                }
            }
        }
    }
    info.activation_bytes = info.output.len_saturating().saturating_mul(4);
    Ok(info)
}

fn set_params(info: &mut LayerInfo, weights: u64, state: u64, trainable: bool) {
    if trainable {
        info.trainable_params = weights;
        info.non_trainable_params = state;
    } else {
        info.non_trainable_params = weights + state;
    }
}

fn slide_receptive_field(info: &mut LayerInfo, kernel: (usize, usize), strides: (usize, usize)) {
    let (rf, jump) = (info.receptive_field, info.jump);
    info.receptive_field = (rf.0 + (kernel.0 - 1) * jump.0, rf.1 + (kernel.1 - 1) * jump.1);
    info.jump = (jump.0 * strides.0, jump.1 * strides.1);
}

fn check_window(
    index: usize,
    spec: &LayerSpec,
    name: &str,
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
    padding: Padding,
    (h, w): (usize, usize),
) -> Result<(), ArchError> {
    let err = |problem: String, fix: &str, quick| Err(layer_error(index, spec, problem, fix, quick));
    if kh == 0 || kw == 0 {
        return err(
            format!("{name} is {kh}×{kw}; it must be at least 1×1"),
            "use 3×3, the most common size",
            None,
        );
    }
    if sh == 0 || sw == 0 {
        return err(
            format!("strides are {sh}×{sw}; they must be at least 1"),
            "use strides 1 (or 2 to halve the size)",
            None,
        );
    }
    if Window::new(h, w, (kh, kw), (sh, sw), padding).is_none() {
        let p = match padding {
            Padding::Explicit(p) => p,
            _ => 0,
        };
        let out = |n: usize, k: usize, s: usize| (n as i128 + 2 * p as i128 - k as i128).div_euclid(s as i128) + 1;
        let (oh, ow) = (out(h, kh, sh).max(0), out(w, kw, sw).max(0));
        return err(
            format!("input is {h}×{w} but {name} is {kh}×{kw}, so the output would be {oh}×{ow}"),
            "use padding 'same' or remove a pooling layer before it",
            Some(QuickFix::UsePaddingSame { index }),
        );
    }
    Ok(())
}

fn check_pool(index: usize, spec: &LayerSpec, pool: &Pool2D, hw: (usize, usize)) -> Result<(), ArchError> {
    if let Padding::Explicit(p) = pool.padding {
        let smallest = pool.pool_size.0.min(pool.pool_size.1);
        if p > 0 && p >= smallest {
            return Err(layer_error(
                index,
                spec,
                format!(
                    "padding {p} is as wide as the {smallest}-pixel window, so some windows would see only padding"
                ),
                &format!("use padding 'same', or at most {}", smallest.saturating_sub(1)),
                Some(QuickFix::UsePaddingSame { index }),
            ));
        }
    }
    check_window(
        index,
        spec,
        "pool_size",
        pool.pool_size,
        pool.effective_strides(),
        pool.padding,
        hw,
    )
}

fn check_output(layers: &[LayerSpec], summary: &ModelSummary, classes: usize) -> Result<(), ArchError> {
    if layers.is_empty() {
        return Err(ArchError::Empty { classes });
    }
    let out = summary.output();
    match out {
        Shape::Flat { features } if features == classes => Ok(()),
        Shape::Flat { features } => {
            let last_dense = layers.iter().rposition(|l| matches!(l, LayerSpec::Dense(_)));
            let quick_fix = match last_dense {
                Some(index)
                    if layers[index + 1..]
                        .iter()
                        .all(|l| !l.has_weights() && !matches!(l, LayerSpec::Flatten)) =>
                {
                    Some(QuickFix::SetUnits { index, units: classes })
                }
                _ => Some(QuickFix::AppendClassifier { units: classes }),
            };
            let fix = match quick_fix {
                Some(QuickFix::SetUnits { .. }) => {
                    format!("set the last Dense layer's units to {classes}")
                }
                _ => format!("end the model with Dense({classes})"),
            };
            Err(ArchError::Output {
                ends_with: format!("{features} values"),
                classes,
                fix,
                quick_fix,
            })
        }
        Shape::Image { .. } => Err(ArchError::Output {
            ends_with: format!("{} feature maps", out.hwc()),
            classes,
            fix: format!("end the model with Flatten and Dense({classes}), one score per class"),
            quick_fix: Some(QuickFix::AppendClassifier { units: classes }),
        }),
    }
}

/// `25664` → `25,664`.
pub fn group_digits(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Memory in a human unit, re-exported for tables.
pub fn format_bytes(bytes: u64) -> String {
    human_bytes(bytes)
}
