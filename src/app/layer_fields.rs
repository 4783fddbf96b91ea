//! Inline editors for one layer's hyperparameters, drawn from the fields its kind describes
//! (`LayerKind::fields`), with Keras names. Each widget is named for screen readers and tests
//! as "layer N field" (N counts from 1, as the table does).

use crate::cnn::{Activation, Family, Field, LayerSpec, Padding};
use egui::{DragValue, Response, Ui};
use std::cell::RefCell;
use std::ops::RangeInclusive;
use std::rc::Rc;

/// Shows the editors for `layer` (the table's row `number`); returns whether anything changed.
/// `frozen_by_transfer`: the layer's weights come frozen from another experiment.
pub fn layer_fields_ui(ui: &mut Ui, number: usize, layer: &mut LayerSpec, frozen_by_transfer: bool) -> bool {
    let name = |field: &str| format!("layer {number} {field}");
    let mut changed = false;
    for field in layer.config_mut().fields() {
        changed |= field_ui(ui, &name, field, frozen_by_transfer);
    }
    changed
}

fn field_ui(ui: &mut Ui, name: &dyn Fn(&str) -> String, field: Field<'_>, frozen_by_transfer: bool) -> bool {
    match field {
        Field::Count {
            name: label,
            value,
            max,
            speed,
            hint,
        } => {
            ui.label(label);
            let response = ui.add(drag(value).range(1..=max).speed(speed));
            with_hint(response, hint).accessible_name(name(label)).changed()
        }
        Field::Pair {
            name: label,
            value,
            max,
        } => pair_ui(ui, label, value, max, name),
        Field::DefaultedPair {
            name: label,
            value,
            default,
            max,
        } => {
            let mut pair = value.unwrap_or(default);
            if pair_ui(ui, label, &mut pair, max, name) {
                // Keras: the value defaults to another (pooling strides to pool_size); keep
                // the file short when they agree.
                *value = (pair != default).then_some(pair);
                true
            } else {
                false
            }
        }
        Field::DefaultedCount {
            name: label,
            value,
            default,
            max,
            speed,
            hint,
        } => {
            ui.label(label);
            let mut count = value.unwrap_or(default);
            let response = ui.add(drag(&mut count).range(1..=max).speed(speed));
            let changed = with_hint(response, hint).accessible_name(name(label)).changed();
            if changed {
                // As for pooling strides in 2-D: unset while they equal their default.
                *value = (count != default).then_some(count);
            }
            changed
        }
        Field::Number {
            name: label,
            value,
            range,
            speed,
            decimals,
            hint,
        } => {
            ui.label(label);
            let response = ui.add(drag(value).range(range).speed(speed).fixed_decimals(decimals));
            with_hint(response, hint).accessible_name(name(label)).changed()
        }
        Field::Padding(padding) => padding_ui(ui, name, padding, false),
        Field::CausalPadding(padding) => padding_ui(ui, name, padding, true),
        Field::Activation(activation) => activation_ui(ui, &name("activation"), activation),
        Field::Flag { label, value, hint } => with_hint(ui.checkbox(value, label), hint).changed(),
        Field::Trainable(trainable) => frozen_ui(ui, name, trainable, frozen_by_transfer),
        Field::Note(note) => {
            ui.weak(note);
            false
        }
    }
}

fn with_hint(response: Response, hint: Option<&str>) -> Response {
    match hint {
        Some(hint) => response.on_hover_text(hint),
        None => response,
    }
}

/// A number field that says what it did: text that is not a number is refused and a value
/// outside the range is clamped, each with a note under the field for a few seconds. Like
/// egui's `DragValue` (which it wraps), it only clamps what the user enters: a file's
/// out-of-range value is shown as it is, not silently changed (which would also be an edit).
pub fn drag<N: egui::emath::Numeric>(value: &mut N) -> CheckedDrag<'_, N> {
    CheckedDrag {
        value,
        range: f64::NEG_INFINITY..=f64::INFINITY,
        speed: 1.0,
        decimals: Decimals::Auto,
    }
}

/// How long a field's note stays up, in seconds.
const NOTE_SECONDS: f64 = 5.0;

enum Decimals {
    Auto,
    Fixed(usize),
    Max(usize),
}

pub struct CheckedDrag<'a, N> {
    value: &'a mut N,
    range: RangeInclusive<f64>,
    speed: f64,
    decimals: Decimals,
}

impl<N: egui::emath::Numeric> CheckedDrag<'_, N> {
    pub fn range(mut self, range: RangeInclusive<N>) -> Self {
        self.range = range.start().to_f64()..=range.end().to_f64();
        self
    }

    pub fn speed(mut self, speed: impl Into<f64>) -> Self {
        self.speed = speed.into();
        self
    }

    pub fn fixed_decimals(mut self, decimals: usize) -> Self {
        self.decimals = Decimals::Fixed(decimals);
        self
    }

    pub fn max_decimals(mut self, decimals: usize) -> Self {
        self.decimals = Decimals::Max(decimals);
        self
    }
}

impl<N: egui::emath::Numeric> egui::Widget for CheckedDrag<'_, N> {
    fn ui(self, ui: &mut Ui) -> Response {
        let note = Rc::new(RefCell::new(None));
        let (low, high) = (*self.range.start(), *self.range.end());
        let integer = N::INTEGRAL;
        let parser = {
            let note = Rc::clone(&note);
            move |text: &str| {
                let typed = text.trim();
                let value = typed.parse::<f64>().ok().filter(|v| v.is_finite());
                *note.borrow_mut() = match value {
                    None => Some(format!("“{typed}” is not a number: the value was kept")),
                    Some(v) if v > high => Some(format!("{typed} is above the largest allowed, {high}: set to {high}")),
                    Some(v) if v < low => Some(format!("{typed} is below the smallest allowed, {low}: set to {low}")),
                    Some(v) if integer && v.fract() != 0.0 => Some(format!("{typed} is not a whole number: rounded")),
                    Some(_) => None,
                };
                value
            }
        };
        let mut widget = DragValue::new(self.value)
            .clamp_existing_to_range(false)
            .range(self.range)
            .speed(self.speed)
            .custom_parser(parser);
        widget = match self.decimals {
            Decimals::Auto => widget,
            Decimals::Fixed(d) => widget.fixed_decimals(d),
            Decimals::Max(d) => widget.max_decimals(d),
        };
        let response = ui.add(widget);
        let key = response.id.with("note");
        let now = ui.input(|i| i.time);
        if let Some(text) = note.borrow_mut().take() {
            ui.data_mut(|d| d.insert_temp(key, (text, now)));
        }
        if let Some((text, since)) = ui.data(|d| d.get_temp::<(String, f64)>(key)) {
            if now - since < NOTE_SECONDS {
                field_note_ui(ui, key, response.rect, &text);
                ui.ctx()
                    .request_repaint_after_secs((NOTE_SECONDS - (now - since)) as f32);
            } else {
                ui.data_mut(|d| d.remove::<(String, f64)>(key));
            }
        }
        response
    }
}

/// A note under a field, above everything else, that does not move the layout.
fn field_note_ui(ui: &Ui, id: egui::Id, field: egui::Rect, text: &str) {
    let warn = ui.visuals().warn_fg_color;
    egui::Area::new(id)
        .order(egui::Order::Tooltip)
        .fixed_pos(field.left_bottom() + egui::vec2(0.0, 2.0))
        .interactable(false)
        .show(ui.ctx(), |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_max_width(320.0);
                ui.label(egui::RichText::new(format!("⚠ {text}")).color(warn));
            });
        });
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

/// `causal`: Conv1D's choices (valid, same, causal) instead of valid, same or explicit p.
fn padding_ui(ui: &mut Ui, name: &dyn Fn(&str) -> String, padding: &mut Padding, causal: bool) -> bool {
    let mut changed = false;
    ui.label("padding");
    let response = egui::ComboBox::from_id_salt(name("padding"))
        .selected_text(match padding {
            Padding::Valid => "valid",
            Padding::Same => "same",
            Padding::Explicit(_) => "explicit",
            Padding::Causal => "causal",
        })
        .width(72.0)
        .show_ui(ui, |ui| {
            changed |= ui.selectable_value(padding, Padding::Valid, "valid").changed();
            changed |= ui.selectable_value(padding, Padding::Same, "same").changed();
            if causal {
                changed |= ui.selectable_value(padding, Padding::Causal, "causal").changed();
                return;
            }
            let explicit = matches!(padding, Padding::Explicit(_));
            if ui.selectable_label(explicit, "explicit p").clicked() && !explicit {
                *padding = Padding::Explicit(1);
                changed = true;
            }
        });
    response
        .response
        .on_hover_text(if causal {
            "valid: no padding; same: output = ceil(n / stride); causal: (k − 1)·d zeros before the \
             first step, so each output reads only the steps up to its own"
        } else {
            "valid: no padding; same: output = ceil(n / stride); explicit: p zeros on every side"
        })
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

/// A colour per family of layers, so the stack reads at a glance.
pub fn family_color(family: Family, dark: bool) -> egui::Color32 {
    let (light, dark_c) = match family {
        Family::Convolution => ((37, 99, 235), (96, 165, 250)),
        Family::Pooling => ((5, 150, 105), (52, 211, 153)),
        Family::Dense => ((124, 58, 237), (167, 139, 250)),
        Family::Regularization => ((217, 119, 6), (251, 191, 36)),
        Family::Normalization => ((8, 145, 178), (34, 211, 238)),
        Family::Activation => ((190, 24, 93), (244, 114, 182)),
        Family::Reshape => ((100, 116, 139), (148, 163, 184)),
    };
    let (r, g, b) = if dark { dark_c } else { light };
    egui::Color32::from_rgb(r, g, b)
}

/// The colour of `layer`'s family.
pub fn layer_color(layer: &LayerSpec, dark: bool) -> egui::Color32 {
    family_color(layer.config().family(), dark)
}
