//! Inline editors for one layer's hyperparameters, with Keras names. Each widget is named for
//! screen readers and tests as "layer N field" (N counts from 1, as the table does).

use crate::cnn::spec::{BatchNormalization, Conv2D, Dense, Pool2D};
use crate::cnn::{Activation, LayerSpec, Padding};
use egui::{DragValue, Response, Ui};

/// Shows the editors for `layer` (the table's row `number`); returns whether anything changed.
/// `frozen_by_transfer`: the layer's weights come frozen from another experiment.
pub fn layer_fields_ui(ui: &mut Ui, number: usize, layer: &mut LayerSpec, frozen_by_transfer: bool) -> bool {
    let name = |field: &str| format!("layer {number} {field}");
    let mut changed = false;
    match layer {
        LayerSpec::Conv2D(conv) => changed |= conv_ui(ui, &name, conv, frozen_by_transfer),
        LayerSpec::MaxPooling2D(pool) | LayerSpec::AveragePooling2D(pool) => changed |= pool_ui(ui, &name, pool),
        LayerSpec::Dense(dense) => changed |= dense_ui(ui, &name, dense, frozen_by_transfer),
        LayerSpec::Dropout { rate } => {
            ui.label("rate");
            changed |= ui
                .add(drag(rate).range(0.0..=0.95).speed(0.01).fixed_decimals(2))
                .on_hover_text("Fraction of values zeroed at random during training (none at inference)")
                .accessible_name(name("rate"))
                .changed();
        }
        LayerSpec::BatchNormalization(bn) => changed |= batch_norm_ui(ui, &name, bn, frozen_by_transfer),
        LayerSpec::Activation(activation) => changed |= activation_ui(ui, &name("activation"), activation),
        LayerSpec::GlobalAveragePooling2D => {
            ui.weak("averages each feature map to one number");
        }
        LayerSpec::Flatten => {
            ui.weak("no settings: unrolls H×W×C into one vector");
        }
    }
    changed
}

/// A drag value that only clamps what the user enters: a file's out-of-range value is shown
/// as it is, not silently changed (which would also count as an edit).
pub fn drag<N: egui::emath::Numeric>(value: &mut N) -> DragValue<'_> {
    DragValue::new(value).clamp_existing_to_range(false)
}

fn size(ui: &mut Ui, value: &mut usize, max: usize, accessible: String) -> Response {
    ui.add(drag(value).range(1..=max).speed(0.1))
        .accessible_name(accessible)
}

/// Two sizes (rows × columns), as Keras tuples.
fn pair_ui(ui: &mut Ui, label: &str, pair: &mut (usize, usize), max: usize, name: &dyn Fn(&str) -> String) -> bool {
    ui.label(label);
    let a = size(ui, &mut pair.0, max, name(&format!("{label} height")));
    ui.label("×");
    let b = size(ui, &mut pair.1, max, name(&format!("{label} width")));
    a.changed() || b.changed()
}

fn conv_ui(ui: &mut Ui, name: &dyn Fn(&str) -> String, conv: &mut Conv2D, frozen_by_transfer: bool) -> bool {
    let mut changed = false;
    ui.label("filters");
    changed |= ui
        .add(drag(&mut conv.filters).range(1..=4096).speed(0.2))
        .on_hover_text("Number of filters = output channels")
        .accessible_name(name("filters"))
        .changed();
    changed |= pair_ui(ui, "kernel", &mut conv.kernel_size, 99, name);
    changed |= pair_ui(ui, "strides", &mut conv.strides, 16, name);
    changed |= padding_ui(ui, name, &mut conv.padding);
    changed |= activation_ui(ui, &name("activation"), &mut conv.activation);
    changed |= ui
        .checkbox(&mut conv.use_bias, "bias")
        .on_hover_text("One bias per filter: the + 1 in the parameter formula")
        .changed();
    changed |= frozen_ui(ui, name, &mut conv.trainable, frozen_by_transfer);
    changed
}

fn pool_ui(ui: &mut Ui, name: &dyn Fn(&str) -> String, pool: &mut Pool2D) -> bool {
    let mut changed = pair_ui(ui, "pool", &mut pool.pool_size, 256, name);
    let mut strides = pool.effective_strides();
    if pair_ui(ui, "strides", &mut strides, 256, name) {
        // Keras: strides default to pool_size; keep the file short when they agree.
        pool.strides = (strides != pool.pool_size).then_some(strides);
        changed = true;
    }
    changed |= padding_ui(ui, name, &mut pool.padding);
    changed
}

fn dense_ui(ui: &mut Ui, name: &dyn Fn(&str) -> String, dense: &mut Dense, frozen_by_transfer: bool) -> bool {
    let mut changed = false;
    ui.label("units");
    changed |= ui
        .add(drag(&mut dense.units).range(1..=65536).speed(0.5))
        .accessible_name(name("units"))
        .changed();
    changed |= activation_ui(ui, &name("activation"), &mut dense.activation);
    changed |= ui.checkbox(&mut dense.use_bias, "bias").changed();
    changed |= frozen_ui(ui, name, &mut dense.trainable, frozen_by_transfer);
    changed
}

fn batch_norm_ui(
    ui: &mut Ui,
    name: &dyn Fn(&str) -> String,
    bn: &mut BatchNormalization,
    frozen_by_transfer: bool,
) -> bool {
    ui.label("momentum");
    let mut changed = ui
        .add(drag(&mut bn.momentum).range(0.0..=0.999).speed(0.001).fixed_decimals(3))
        .on_hover_text("How slowly the moving mean and variance follow the batch statistics")
        .accessible_name(name("momentum"))
        .changed();
    changed |= frozen_ui(ui, name, &mut bn.trainable, frozen_by_transfer);
    changed
}

fn frozen_ui(ui: &mut Ui, name: &dyn Fn(&str) -> String, trainable: &mut bool, frozen_by_transfer: bool) -> bool {
    if frozen_by_transfer {
        let mut frozen = true;
        ui.add_enabled(false, egui::Checkbox::new(&mut frozen, "frozen"))
            .on_disabled_hover_text("Frozen by transfer learning: these weights come from another experiment")
            .accessible_name(name("frozen"));
        return false;
    }
    let mut frozen = !*trainable;
    let changed = ui
        .checkbox(&mut frozen, "frozen")
        .on_hover_text("A frozen layer still runs, but training never changes its weights")
        .accessible_name(name("frozen"))
        .changed();
    *trainable = !frozen;
    changed
}

fn padding_ui(ui: &mut Ui, name: &dyn Fn(&str) -> String, padding: &mut Padding) -> bool {
    let mut changed = false;
    ui.label("padding");
    let response = egui::ComboBox::from_id_salt(name("padding"))
        .selected_text(match padding {
            Padding::Valid => "valid",
            Padding::Same => "same",
            Padding::Explicit(_) => "explicit",
        })
        .width(72.0)
        .show_ui(ui, |ui| {
            changed |= ui.selectable_value(padding, Padding::Valid, "valid").changed();
            changed |= ui.selectable_value(padding, Padding::Same, "same").changed();
            let explicit = matches!(padding, Padding::Explicit(_));
            if ui.selectable_label(explicit, "explicit p").clicked() && !explicit {
                *padding = Padding::Explicit(1);
                changed = true;
            }
        });
    response
        .response
        .on_hover_text("valid: no padding; same: output = ceil(n / stride); explicit: p zeros on every side")
        .accessible_name(name("padding"));
    if let Padding::Explicit(p) = padding {
        ui.label("p");
        changed |= ui
            .add(drag(p).range(0..=32).speed(0.1))
            .accessible_name(name("padding p"))
            .changed();
    }
    changed
}

fn activation_ui(ui: &mut Ui, accessible: &str, activation: &mut Activation) -> bool {
    let mut changed = false;
    let response = egui::ComboBox::from_id_salt(accessible)
        .selected_text(activation.keras_name())
        .width(84.0)
        .show_ui(ui, |ui| {
            for choice in Activation::ALL {
                let selected = activation.keras_name() == choice.keras_name();
                if ui.selectable_label(selected, choice.keras_name()).clicked() && !selected {
                    *activation = choice;
                    changed = true;
                }
            }
        });
    response.response.accessible_name(accessible);
    if let Activation::LeakyRelu(slope) = activation {
        ui.label("slope");
        changed |= ui
            .add(drag(slope).range(0.0..=1.0).speed(0.01).fixed_decimals(2))
            .accessible_name(format!("{accessible} slope"))
            .changed();
    }
    changed
}

/// The layer a palette button inserts, with Keras defaults where Keras has them.
pub fn default_layer(kind: &str) -> Option<LayerSpec> {
    Some(match kind {
        "Conv2D" => LayerSpec::Conv2D(Conv2D::new(16, 3).relu()),
        "MaxPooling2D" => LayerSpec::MaxPooling2D(Pool2D::new(2)),
        "AveragePooling2D" => LayerSpec::AveragePooling2D(Pool2D::new(2)),
        "GlobalAveragePooling2D" => LayerSpec::GlobalAveragePooling2D,
        "Flatten" => LayerSpec::Flatten,
        "Dense" => LayerSpec::Dense(Dense::new(64).relu()),
        "Dropout" => LayerSpec::Dropout { rate: 0.25 },
        "BatchNormalization" => LayerSpec::BatchNormalization(BatchNormalization::default()),
        "Activation" => LayerSpec::Activation(Activation::Relu),
        _ => return None,
    })
}

/// Palette order: feature extraction, then the classifier, then regularisation.
pub const PALETTE: [&str; 9] = [
    "Conv2D",
    "MaxPooling2D",
    "AveragePooling2D",
    "BatchNormalization",
    "Activation",
    "GlobalAveragePooling2D",
    "Flatten",
    "Dense",
    "Dropout",
];

/// A colour per family of layers, so the stack reads at a glance.
pub fn kind_color(kind: &str, dark: bool) -> egui::Color32 {
    let (light, dark_c) = match kind {
        "Conv2D" => ((37, 99, 235), (96, 165, 250)),
        "MaxPooling2D" | "AveragePooling2D" | "GlobalAveragePooling2D" => ((5, 150, 105), (52, 211, 153)),
        "Dense" => ((124, 58, 237), (167, 139, 250)),
        "Dropout" => ((217, 119, 6), (251, 191, 36)),
        "BatchNormalization" => ((8, 145, 178), (34, 211, 238)),
        "Activation" => ((190, 24, 93), (244, 114, 182)),
        _ => ((100, 116, 139), (148, 163, 184)),
    };
    let (r, g, b) = if dark { dark_c } else { light };
    egui::Color32::from_rgb(r, g, b)
}
