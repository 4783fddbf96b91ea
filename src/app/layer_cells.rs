//! The computed columns of the editor's layer table (output shape, parameters with the course
//! formula, MACs, receptive field): as fixed-width cells on a wide table, or on one wrapping
//! line under the layer's name on a narrow one.

use crate::cnn::LayerInfo;
use crate::cnn::summary::group_digits;
use egui::{Align, Color32, Layout, RichText, Ui, vec2};

/// Column widths of the layer table (the hyperparameters go on a second line).
pub const W_NUMBER: f32 = 28.0;
pub const W_KIND: f32 = 168.0;
pub const W_OUTPUT: f32 = 96.0;
pub const W_PARAMS: f32 = 206.0;
pub const W_MACS: f32 = 92.0;
pub const W_RF: f32 = 60.0;
/// The row buttons: remove, duplicate, down, up, playground, insert.
pub const W_ACTIONS: f32 = 160.0;
/// Narrower than this (a small screen, a wide training panel, a large scale), a row puts its
/// computed values on a wrapping line of their own, so nothing is cut and the row buttons stay
/// in reach.
pub const W_TABLE: f32 = W_NUMBER + W_KIND + W_OUTPUT + W_PARAMS + W_MACS + W_RF + W_ACTIONS + 7.0 * 8.0;

/// A fixed-width cell, so the rows line up like a table.
pub fn cell<R>(ui: &mut Ui, width: f32, add: impl FnOnce(&mut Ui) -> R) -> R {
    ui.allocate_ui_with_layout(
        vec2(width, ui.spacing().interact_size.y),
        Layout::left_to_right(Align::Center),
        |ui| {
            ui.set_width(width);
            add(ui)
        },
    )
    .inner
}

/// The table's column titles; `sequence`: the model reads sequences (steps, not pixels).
pub fn column_titles_ui(ui: &mut Ui, sequence: bool) {
    ui.horizontal(|ui| {
        ui.add_space(6.0);
        let title = |ui: &mut Ui, w: f32, t: &str, tip: &str| {
            cell(ui, w, |ui| {
                ui.small(RichText::new(t).strong()).on_hover_text(tip);
            })
        };
        title(ui, W_NUMBER, "#", "Layer number");
        title(ui, W_KIND, "Layer", "Keras layer class");
        if sequence {
            title(
                ui,
                W_OUTPUT,
                "Output steps×C",
                "Shape of one sample's output: steps × channels",
            );
        } else {
            title(ui, W_OUTPUT, "Output H×W×C", "Shape of one image's output");
        }
        title(
            ui,
            W_PARAMS,
            "Parameters",
            "Weights and biases, with the course formula",
        );
        title(ui, W_MACS, "MACs", "Multiply-accumulates per sample");
        title(
            ui,
            W_RF,
            "RF",
            if sequence {
                "Receptive field: input steps one output value sees"
            } else {
                "Receptive field: input pixels one output value sees"
            },
        );
    });
}

/// What a row shows about a layer's output, parameters, MACs and receptive field, with the
/// longer story of each on hover.
pub struct CellTexts {
    output: String,
    output_hover: String,
    formula: String,
    params_hover: String,
    /// Shown weak: a layer whose parameters do not train.
    frozen_params: bool,
    /// The course formula fits the Parameters column (else the column shows the total).
    pub formula_fits: bool,
    total: String,
    macs: String,
    macs_hover: String,
    rf: String,
    rf_hover: String,
}

impl CellTexts {
    /// `sequence`: the model reads sequences (its receptive fields are in steps).
    pub fn new(ui: &Ui, info: &LayerInfo, sequence: bool) -> Self {
        let formula = if info.params() == 0 {
            "0".to_string()
        } else {
            info.params_formula.clone()
        };
        let font = egui::TextStyle::Monospace.resolve(ui.style());
        let width = ui
            .painter()
            .layout_no_wrap(formula.clone(), font, Color32::WHITE)
            .size()
            .x;
        let (h, w) = info.receptive_field;
        CellTexts {
            output: info.output.hwc(),
            output_hover: format!("input {}, output {}", info.input.hwc(), info.output.hwc()),
            formula_fits: width <= W_PARAMS - 4.0,
            formula,
            params_hover: format!(
                "{} parameters: {} trainable, {} non-trainable",
                group_digits(info.params()),
                group_digits(info.trainable_params),
                group_digits(info.non_trainable_params)
            ),
            frozen_params: info.trainable_params == 0 && info.params() > 0,
            total: group_digits(info.params()),
            macs: short_count(info.macs),
            macs_hover: format!("{} multiply-accumulates per sample", group_digits(info.macs)),
            rf: if sequence {
                format!("{w} steps")
            } else {
                format!("{h}×{w}")
            },
            rf_hover: if sequence {
                format!(
                    "Receptive field: each output value sees {w} input steps; neighbours are {} steps apart",
                    info.jump.1
                )
            } else {
                format!(
                    "Receptive field: each output value sees {h}×{w} input pixels; neighbours are {}×{} pixels apart",
                    info.jump.0, info.jump.1
                )
            },
        }
    }

    fn params_text(&self, text: &str) -> RichText {
        let rich = RichText::new(text).monospace();
        if self.frozen_params { rich.weak() } else { rich }
    }

    /// The full formula, on a line of its own under a wide row whose column is too narrow.
    pub fn formula_line_ui(&self, ui: &mut Ui) {
        ui.weak("parameters:");
        ui.label(self.params_text(&self.formula))
            .on_hover_text(&self.params_hover);
    }

    /// Everything on one wrapping line, for a narrow table.
    pub fn compact_ui(&self, ui: &mut Ui) {
        ui.label(RichText::new(format!("→ {}", self.output)).monospace().strong())
            .on_hover_text(&self.output_hover);
        ui.weak("· params");
        ui.label(self.params_text(&self.formula))
            .on_hover_text(&self.params_hover);
        ui.weak("· MACs");
        ui.label(RichText::new(&self.macs).monospace())
            .on_hover_text(&self.macs_hover);
        ui.weak("· RF");
        ui.label(RichText::new(&self.rf).monospace())
            .on_hover_text(&self.rf_hover);
    }
}

pub fn computed_cells_ui(ui: &mut Ui, cells: Option<&CellTexts>) {
    let Some(cells) = cells else {
        for w in [W_OUTPUT, W_PARAMS, W_MACS, W_RF] {
            cell(ui, w, |ui| {
                ui.weak("—");
            });
        }
        return;
    };
    cell(ui, W_OUTPUT, |ui| {
        ui.label(RichText::new(&cells.output).monospace().strong())
            .on_hover_text(&cells.output_hover);
    });
    cell(ui, W_PARAMS, |ui| {
        let text = if cells.formula_fits {
            &cells.formula
        } else {
            &cells.total
        };
        ui.label(cells.params_text(text))
            .on_hover_text(format!("{}\n{}", cells.formula, cells.params_hover));
    });
    cell(ui, W_MACS, |ui| {
        ui.label(RichText::new(&cells.macs).monospace())
            .on_hover_text(&cells.macs_hover);
    });
    cell(ui, W_RF, |ui| {
        ui.label(RichText::new(&cells.rf).monospace())
            .on_hover_text(&cells.rf_hover);
    });
}

/// 768000 → "768 k", 3_400_000 → "3.4 M".
pub fn short_count(n: u64) -> String {
    match n {
        0..=9_999 => group_digits(n),
        10_000..=999_999 => format!("{:.0} k", n as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1} M", n as f64 / 1e6),
        _ => format!("{:.2} G", n as f64 / 1e9),
    }
}
