//! The model editor, the heart of the screen: the experiment's name, input and dataset, then
//! one row per layer with its hyperparameters editable inline and, computed live by the shape
//! inference, its output shape, parameters with the course formula, MACs and receptive field.
//! An invalid layer's row turns red with the engine's sentence and a one-click fix.

use super::commands::AppCommand;
use super::context::LabContext;
use super::layer_cells::{
    CellTexts, W_KIND, W_NUMBER, W_OUTPUT, W_TABLE, cell, column_titles_ui, computed_cells_ui, short_count,
};
use super::layer_fields::{drag, layer_color, layer_fields_ui};
use super::palette::{palette_button_ui, palette_ui};
use crate::cnn::summary::{format_bytes, group_digits};
use crate::cnn::{ArchError, LayerInfo, LayerSpec};
use crate::data::{BUNDLED, SyntheticSpec, bundled_title, describe_bundled};
use crate::experiment::Edit;
use crate::experiment::{DatasetSource, Input};
use egui::{Align, Color32, Key, KeyboardShortcut, Layout, Modifiers, RichText, Ui, vec2};

/// The generated dataset, named apart from the bundled Shapes.
const SYNTHETIC_TITLE: &str = "Shapes at the input size (generated)";
#[derive(Default)]
pub struct EditorPanel {
    /// Where the palette inserts: before layer `insert_at` (0-based); `None` = at the end.
    insert_at: Option<usize>,
    /// Tab was pressed with nothing focused: the editor's first field takes the focus (the
    /// model comes before the menus and the training panel).
    pub focus_first: bool,
}

impl EditorPanel {
    pub fn insert_at(&self) -> Option<usize> {
        self.insert_at
    }

    pub fn ui(&mut self, ui: &mut Ui, lab: &LabContext) {
        let locked = lab.run.is_some();
        let n_layers = lab.experiment.layers.len();
        if self.insert_at.is_some_and(|i| i >= n_layers) {
            self.insert_at = None;
        }
        header_ui(ui, lab, locked, std::mem::take(&mut self.focus_first));
        ui.separator();
        if locked {
            banner(
                ui,
                ui.visuals().warn_fg_color,
                "Training is running: stop it to change the layers, input or dataset. \
                 Training settings apply to the next run; the learning rate applies at once.",
            );
        }
        // Palette and totals stay visible at the bottom; the layer list scrolls above them.
        egui::Panel::bottom("editor_bottom")
            .resizable(false)
            .frame(egui::Frame::new().inner_margin(egui::Margin::symmetric(0, 6)))
            .show(ui, |ui| {
                totals_ui(ui, lab);
                ui.separator();
                ui.add_enabled_ui(!locked, |ui| palette_ui(ui, lab, &mut self.insert_at));
            });
        egui::CentralPanel::default().frame(egui::Frame::NONE).show(ui, |ui| {
            // Locked rows still scroll.
            egui::ScrollArea::vertical()
                .auto_shrink([false, false])
                .show(ui, |ui| ui.add_enabled_ui(!locked, |ui| self.table_ui(ui, lab)));
        });
    }

    fn table_ui(&mut self, ui: &mut Ui, lab: &LabContext) {
        let analysis = lab.analysis;
        let error = analysis.error.as_ref();
        let wide = ui.available_width() >= W_TABLE;
        if wide {
            column_titles_ui(ui, lab.experiment.input.sequence);
        }
        input_row_ui(ui, lab);
        let effective = lab.experiment.effective_layers();
        let transferred = lab
            .experiment
            .transfer
            .as_ref()
            .filter(|t| t.freeze)
            .map_or(0, |t| t.layers);
        for (index, layer) in lab.experiment.layers.iter().enumerate() {
            if self.insert_at == Some(index) {
                insert_marker(ui);
            }
            let info = analysis.summary.layers.get(index);
            let row_error = error.filter(|e| e.layer_index() == Some(index));
            let row = RowView {
                index,
                layer,
                trainable: effective.get(index).is_none_or(LayerSpec::trainable),
                frozen_by_transfer: index < transferred,
                info,
                error: row_error,
                count: lab.experiment.layers.len(),
                wide,
            };
            self.layer_row_ui(ui, lab, &row);
        }
        if self.insert_at.is_none() && !lab.experiment.layers.is_empty() {
            insert_marker(ui);
        }
        // Errors about the whole model (its end, its input, its size) go below the rows.
        if let Some(error) = error.filter(|e| e.layer_index().is_none()) {
            ui.add_space(4.0);
            error_box_ui(ui, lab, error);
        }
        if !lab.weights_fit {
            ui.add_space(4.0);
            banner(
                ui,
                ui.visuals().warn_fg_color,
                "The trained weights no longer fit the edited layers: the next run starts from fresh weights (Undo brings the old model back).",
            );
        }
    }

    fn layer_row_ui(&mut self, ui: &mut Ui, lab: &LabContext, row: &RowView) {
        let visuals = ui.visuals().clone();
        let number = row.index + 1;
        let (fill, stroke) = if row.error.is_some() {
            let red = visuals.error_fg_color;
            (red.gamma_multiply(0.12), egui::Stroke::new(1.5, red))
        } else {
            (
                visuals.faint_bg_color,
                egui::Stroke::new(1.0, visuals.widgets.noninteractive.bg_stroke.color),
            )
        };
        // Before the row's fields see the keys (a number field takes Alt+↓ as ↓): the row's
        // rectangle is last frame's.
        let rect_key = egui::Id::unique("layer row rect").with(row.index);
        if let Some(rect) = ui.data(|d| d.get_temp::<egui::Rect>(rect_key)) {
            row_shortcuts(ui, lab, row, rect);
        }
        let frame = egui::Frame::new()
            .fill(fill)
            .stroke(stroke)
            .corner_radius(4)
            .inner_margin(egui::Margin::symmetric(6, 4))
            .show(ui, |ui| {
                ui.set_width(ui.available_width());
                let kind_ui = |ui: &mut Ui| {
                    let color = layer_color(row.layer, visuals.dark_mode);
                    let (rect, _) = ui.allocate_exact_size(vec2(4.0, 16.0), egui::Sense::hover());
                    ui.painter().rect_filled(rect, 2.0, color);
                    ui.add(egui::Label::new(RichText::new(row.layer.kind()).strong()).truncate())
                        .on_hover_text(row.layer.describe());
                    if !row.trainable {
                        ui.label("❄").on_hover_text("frozen: its weights do not train");
                    }
                };
                let cells = row
                    .info
                    .map(|info| CellTexts::new(ui, info, lab.experiment.input.sequence));
                ui.horizontal(|ui| {
                    cell(ui, W_NUMBER, |ui| {
                        ui.weak(format!("{number}"));
                    });
                    if row.wide {
                        cell(ui, W_KIND, kind_ui);
                        computed_cells_ui(ui, cells.as_ref());
                        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                            self.row_actions_ui(ui, lab, row);
                        });
                    } else {
                        // The buttons first, from the right edge, so they always fit.
                        ui.with_layout(Layout::right_to_left(Align::Center), |ui| {
                            self.row_actions_ui(ui, lab, row);
                            ui.with_layout(Layout::left_to_right(Align::Center), kind_ui);
                        });
                    }
                });
                let long_formula = cells.as_ref().filter(|c| row.wide && !c.formula_fits);
                if !row.wide || long_formula.is_some() {
                    ui.horizontal_wrapped(|ui| {
                        ui.add_space(W_NUMBER + ui.spacing().item_spacing.x);
                        match &cells {
                            Some(cells) if row.wide => cells.formula_line_ui(ui),
                            Some(cells) => cells.compact_ui(ui),
                            None => {
                                ui.weak("— (the layers above do not fit together)");
                            }
                        }
                    });
                }
                ui.horizontal_wrapped(|ui| {
                    ui.add_space(W_NUMBER + ui.spacing().item_spacing.x);
                    let mut edited = row.layer.clone();
                    if layer_fields_ui(ui, number, &mut edited, row.frozen_by_transfer) {
                        lab.commands.edit(Edit::SetLayer {
                            index: row.index,
                            layer: edited,
                        });
                    }
                });
                if let Some(error) = row.error {
                    ui.horizontal(|ui| {
                        ui.add_space(W_NUMBER + ui.spacing().item_spacing.x);
                        ui.vertical(|ui| error_line_ui(ui, lab, error));
                    });
                }
            });
        ui.data_mut(|d| d.insert_temp(rect_key, frame.response.rect));
        ui.add_space(2.0);
    }

    fn row_actions_ui(&mut self, ui: &mut Ui, lab: &LabContext, row: &RowView) {
        let number = row.index + 1;
        let icon = |ui: &mut Ui, enabled: bool, icon: &str, name: String| {
            ui.add_enabled(enabled, egui::Button::new(icon).small().frame(false))
                .on_hover_text(&name)
                .accessible_name(name)
                .clicked()
        };
        if icon(ui, true, "🗑", format!("remove layer {number}")) {
            lab.commands.edit(Edit::Remove { index: row.index });
        }
        if icon(ui, true, "⎘", format!("duplicate layer {number}")) {
            lab.commands.edit(Edit::Duplicate { index: row.index });
        }
        if icon(ui, number < row.count, "⏷", format!("move layer {number} down")) {
            lab.commands.edit(Edit::SwapWithNext { index: row.index });
        }
        if icon(ui, row.index > 0, "⏶", format!("move layer {number} up")) {
            lab.commands.edit(Edit::SwapWithNext { index: row.index - 1 });
        }
        if matches!(
            row.layer,
            LayerSpec::Conv2D(_)
                | LayerSpec::MaxPooling2D(_)
                | LayerSpec::AveragePooling2D(_)
                | LayerSpec::Conv1D(_)
                | LayerSpec::MaxPooling1D(_)
                | LayerSpec::AveragePooling1D(_)
        ) && icon(
            ui,
            true,
            "📐",
            format!("padding and stride playground for layer {number}"),
        ) {
            lab.commands.send(AppCommand::OpenPlayground(Some(row.index)));
        }
        let menu = ui.menu_button("➕", |ui| {
            ui.label(RichText::new(format!("Insert after layer {number}")).strong());
            for layer in LayerSpec::palette() {
                let name = format!("insert {} after layer {number}", layer.kind());
                if let Some(layer) = palette_button_ui(ui, lab, layer, number, name, None) {
                    lab.commands.edit(Edit::Insert { index: number, layer });
                }
            }
        });
        let name = format!("insert a layer after layer {number}");
        menu.response.on_hover_text(&name).accessible_name(name);
    }
}

/// Alt+↑ / Alt+↓ move, Alt+D duplicates and Alt+Delete removes the layer whose row holds the
/// keyboard focus.
pub const ROW_KEYS: [(Key, &str); 4] = [
    (Key::ArrowUp, "Move the focused layer up"),
    (Key::ArrowDown, "Move the focused layer down"),
    (Key::D, "Duplicate the focused layer"),
    (Key::Delete, "Remove the focused layer"),
];

fn row_shortcuts(ui: &Ui, lab: &LabContext, row: &RowView, rect: egui::Rect) {
    let ctx = ui.ctx();
    let focused_here = ctx
        .memory(|m| m.focused())
        .and_then(|id| ctx.read_response(id))
        .is_some_and(|r| rect.contains_rect(r.rect));
    if !focused_here {
        return;
    }
    let pressed = |key: Key| ui.input_mut(|i| i.consume_shortcut(&KeyboardShortcut::new(Modifiers::ALT, key)));
    let index = row.index;
    if pressed(Key::ArrowUp) && index > 0 {
        lab.commands.edit(Edit::SwapWithNext { index: index - 1 });
    } else if pressed(Key::ArrowDown) && index + 1 < row.count {
        lab.commands.edit(Edit::SwapWithNext { index });
    } else if pressed(Key::D) {
        lab.commands.edit(Edit::Duplicate { index });
    } else if pressed(Key::Delete) {
        lab.commands.edit(Edit::Remove { index });
    }
}

struct RowView<'a> {
    index: usize,
    layer: &'a LayerSpec,
    trainable: bool,
    frozen_by_transfer: bool,
    info: Option<&'a LayerInfo>,
    error: Option<&'a ArchError>,
    count: usize,
    /// The table is wide enough for one line of computed values per row.
    wide: bool,
}

fn input_row_ui(ui: &mut Ui, lab: &LabContext) {
    egui::Frame::new()
        .fill(ui.visuals().extreme_bg_color)
        .corner_radius(4)
        .inner_margin(egui::Margin::symmetric(6, 4))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.horizontal(|ui| {
                cell(ui, W_NUMBER, |ui| {
                    ui.weak("0");
                });
                cell(ui, W_KIND, |ui| {
                    ui.strong("Input");
                });
                cell(ui, W_OUTPUT, |ui| {
                    ui.label(RichText::new(lab.experiment.input.shape().hwc()).monospace().strong());
                });
                ui.weak(format!(
                    "{} values per {}",
                    group_digits(lab.experiment.input.shape().len_saturating()),
                    if lab.experiment.input.sequence {
                        "sample"
                    } else {
                        "image"
                    },
                ));
            });
        });
    ui.add_space(2.0);
}

fn insert_marker(ui: &mut Ui) {
    let color = ui.visuals().selection.bg_fill;
    ui.horizontal(|ui| {
        ui.add_space(W_NUMBER);
        ui.label(RichText::new("➕ new layers go here").small().color(color));
        let (rect, _) = ui.allocate_exact_size(vec2(ui.available_width(), 2.0), egui::Sense::hover());
        ui.painter().rect_filled(rect, 1.0, color);
    });
}

fn error_line_ui(ui: &mut Ui, lab: &LabContext, error: &ArchError) {
    let red = ui.visuals().error_fg_color;
    ui.add(egui::Label::new(RichText::new(format!("✖ {error}")).color(red)).wrap());
    ui.horizontal_wrapped(|ui| {
        for (n, fix) in error.quick_fixes(&lab.experiment.layers).into_iter().enumerate() {
            let text = RichText::new(format!("🔧 {}", fix.label()));
            // The first repair is the one most students want.
            let text = if n == 0 { text.strong() } else { text };
            if ui
                .button(text)
                .on_hover_text("Apply this fix (Ctrl+Z undoes it)")
                .accessible_name(fix.label())
                .clicked()
            {
                lab.commands.edit(Edit::ApplyFix(fix));
            }
        }
    });
}

fn error_box_ui(ui: &mut Ui, lab: &LabContext, error: &ArchError) {
    let red = ui.visuals().error_fg_color;
    egui::Frame::new()
        .fill(red.gamma_multiply(0.12))
        .stroke(egui::Stroke::new(1.5, red))
        .corner_radius(4)
        .inner_margin(egui::Margin::same(6))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            error_line_ui(ui, lab, error);
        });
}

fn banner(ui: &mut Ui, color: Color32, text: &str) {
    egui::Frame::new()
        .fill(color.gamma_multiply(0.12))
        .corner_radius(4)
        .inner_margin(egui::Margin::same(6))
        .show(ui, |ui| {
            ui.set_width(ui.available_width());
            ui.label(RichText::new(text).color(color));
        });
}

/// Name, notes, input shape and dataset.
fn header_ui(ui: &mut Ui, lab: &LabContext, locked: bool, take_focus: bool) {
    let experiment = lab.experiment;
    ui.horizontal(|ui| {
        let mut name = experiment.name.clone();
        let response = ui.add(
            egui::TextEdit::singleline(&mut name)
                .font(egui::TextStyle::Heading)
                .desired_width(ui.available_width() - 8.0)
                .hint_text("experiment name"),
        );
        if take_focus {
            response.request_focus();
        }
        if response.accessible_name("experiment name").changed() {
            lab.commands.edit(Edit::SetName(name));
        }
    });
    egui::CollapsingHeader::new("Notes").default_open(false).show(ui, |ui| {
        let mut notes = experiment.notes.clone();
        let response = ui.add(
            egui::TextEdit::multiline(&mut notes)
                .desired_rows(3)
                .desired_width(f32::INFINITY)
                .hint_text("what this experiment is about"),
        );
        if response.accessible_name("notes").changed() {
            lab.commands.edit(Edit::SetNotes(notes));
        }
    });
    ui.add_enabled_ui(!locked, |ui| {
        ui.horizontal_wrapped(|ui| {
            ui.strong("Input");
            let mut input = experiment.input;
            let mut changed = false;
            let mut dim = |ui: &mut Ui, value: &mut usize, label: &str, max: usize| {
                changed |= ui
                    .add(drag(value).range(1..=max).speed(0.2))
                    .accessible_name(format!("input {label}"))
                    .changed();
            };
            if input.sequence {
                // A sequence: steps × channels (its height stays 1).
                dim(ui, &mut input.width, "steps", 65536);
                ui.label("×");
                dim(ui, &mut input.channels, "channels", 1024);
                ui.weak("(steps×C)");
            } else {
                dim(ui, &mut input.height, "height", 1024);
                ui.label("×");
                dim(ui, &mut input.width, "width", 1024);
                ui.label("×");
                dim(ui, &mut input.channels, "channels", 64);
                ui.weak("(H×W×C)");
            }
            if changed {
                lab.commands.edit(Edit::SetInput(input));
            }
            ui.add_space(16.0);
            ui.strong("Dataset");
            dataset_ui(ui, lab, input);
        });
    });
}

fn dataset_ui(ui: &mut Ui, lab: &LabContext, input: Input) {
    let source = &lab.experiment.dataset;
    let title = |name: &str| bundled_title(name).map_or_else(|| name.to_string(), str::to_string);
    let current = match source {
        DatasetSource::Bundled(name) => title(name),
        DatasetSource::Synthetic(_) => SYNTHETIC_TITLE.into(),
        DatasetSource::Signals(_) => "synthetic signals".into(),
        DatasetSource::Path(_) => "your own files".into(),
    };
    egui::ComboBox::from_id_salt("dataset")
        .selected_text(&current)
        .width(210.0)
        .show_ui(ui, |ui| {
            for name in BUNDLED {
                let label = ui
                    .selectable_label(current == title(name), title(name))
                    .on_hover_text(describe_bundled(name).unwrap_or_default());
                if label.clicked() && current != name {
                    lab.commands.edit(Edit::SetDataset(DatasetSource::Bundled(name.into())));
                }
            }
            if ui
                .selectable_label(matches!(source, DatasetSource::Synthetic(_)), SYNTHETIC_TITLE)
                .on_hover_text(
                    "Lines, circles and squares generated at this model's input size and channels, \
                     with the counts you choose (the bundled Shapes set is always 28×28 grey)",
                )
                .clicked()
                && !matches!(source, DatasetSource::Synthetic(_))
            {
                let spec = SyntheticSpec {
                    height: input.height,
                    width: input.width,
                    channels: if input.channels >= 3 { 3 } else { 1 },
                    ..SyntheticSpec::default()
                };
                lab.commands.edit(Edit::SetDataset(DatasetSource::Synthetic(spec)));
            }
            if ui
                .selectable_label(matches!(source, DatasetSource::Path(_)), "your own files…")
                .on_hover_text("An image folder (one subfolder per class), IDX files or CIFAR-10 batches")
                .clicked()
            {
                lab.commands.send(AppCommand::ChooseDataDialog);
            }
        })
        .response
        .accessible_name("dataset");
    match source {
        DatasetSource::Synthetic(spec) => {
            let mut spec = *spec;
            let mut changed = false;
            ui.label("train");
            changed |= ui
                .add(drag(&mut spec.n_train).range(10..=200_000).speed(10))
                .accessible_name("synthetic train images")
                .changed();
            ui.label("test");
            changed |= ui
                .add(drag(&mut spec.n_test).range(0..=50_000).speed(10))
                .accessible_name("synthetic test images")
                .changed();
            if changed {
                lab.commands.edit(Edit::SetDataset(DatasetSource::Synthetic(spec)));
            }
        }
        DatasetSource::Path(path) => {
            let mut text = path.display().to_string();
            let response = ui.add(egui::TextEdit::singleline(&mut text).desired_width(220.0));
            if response.accessible_name("dataset path").changed() {
                lab.commands.edit(Edit::SetDataset(DatasetSource::Path(text.into())));
            }
            if ui.button("Browse…").clicked() {
                lab.commands.send(AppCommand::ChooseDataDialog);
            }
        }
        DatasetSource::Bundled(_) | DatasetSource::Signals(_) => {}
    }
    match lab.classes {
        Some(classes) => ui.weak(format!("{classes} classes")),
        None => ui.weak("classes: known after loading"),
    };
}

fn totals_ui(ui: &mut Ui, lab: &LabContext) {
    let summary = &lab.analysis.summary;
    let partial = lab.analysis.error.is_some();
    let batch = lab.experiment.training.batch_size.max(1);
    ui.horizontal_wrapped(|ui| {
        let stat = |ui: &mut Ui, title: &str, value: String, tip: String| {
            ui.vertical(|ui| {
                ui.small(title);
                ui.label(RichText::new(value).strong().monospace()).on_hover_text(tip);
            });
            ui.add_space(14.0);
        };
        stat(
            ui,
            "Parameters",
            group_digits(summary.total_params()),
            format!(
                "{} trainable, {} non-trainable (frozen layers, BatchNormalization statistics)",
                group_digits(summary.trainable_params()),
                group_digits(summary.non_trainable_params())
            ),
        );
        stat(
            ui,
            "Trainable",
            group_digits(summary.trainable_params()),
            "Parameters the optimizer updates".into(),
        );
        let sample = if lab.experiment.input.sequence { "sample" } else { "image" };
        stat(
            ui,
            &format!("MACs / {sample}"),
            short_count(summary.macs_per_sample()),
            format!(
                "{} multiply-accumulates per {sample}, forward pass",
                group_digits(summary.macs_per_sample())
            ),
        );
        stat(
            ui,
            &format!("Training memory (batch {batch})"),
            format_bytes(summary.training_memory_bytes(batch)),
            "Estimate: weights, gradients and optimizer moments, plus activations, their gradients and backward caches for one batch".into(),
        );
        stat(
            ui,
            "Output",
            summary.output().hwc(),
            "What the model ends with: one score per class".into(),
        );
        if partial {
            ui.label(RichText::new("(up to the first invalid layer)").small().color(ui.visuals().error_fg_color));
        }
    });
}
