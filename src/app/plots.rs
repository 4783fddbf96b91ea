//! Live training curves: loss (per batch, smoothed, and per epoch for validation) and accuracy,
//! on linked x axes in epochs, with a legend, hover read-outs and an optional log scale.

use super::LabContext;
use super::commands::AppCommand;
use crate::experiment::EpochRecord;
use egui::{Color32, Id, RichText, Ui};
use egui_plot::{Corner, HoverPosition, Legend, Line, MarkerShape, Plot, PlotPoints, Points};
use serde::{Deserialize, Serialize};

/// The plots' view settings (saved with the app's state).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PlotsPanel {
    /// Exponential smoothing of the per-batch curves, 0 (none) to 0.99.
    pub smoothing: f32,
    pub log_loss: bool,
    pub show_raw: bool,
    /// Where the two plots were drawn last frame (for "Export PNG").
    #[serde(skip)]
    pub area: Option<egui::Rect>,
}

impl Default for PlotsPanel {
    fn default() -> Self {
        PlotsPanel {
            smoothing: 0.8,
            log_loss: false,
            show_raw: true,
            area: None,
        }
    }
}

const TRAIN: Color32 = Color32::from_rgb(37, 99, 235);
const VALIDATION: Color32 = Color32::from_rgb(234, 88, 12);

impl PlotsPanel {
    pub fn ui(&mut self, ui: &mut Ui, lab: &LabContext) {
        ui.horizontal(|ui| {
            ui.strong("Curves");
            ui.add(egui::Slider::new(&mut self.smoothing, 0.0..=0.99).text("smoothing"))
                .on_hover_text("Exponential moving average of the per-batch values (0 = raw)")
                .accessible_name("smoothing");
            ui.checkbox(&mut self.show_raw, "raw")
                .on_hover_text("Also draw the unsmoothed per-batch values, faintly");
            ui.checkbox(&mut self.log_loss, "log loss")
                .on_hover_text("Logarithmic loss axis: late, small improvements stay visible");
            if ui
                .add_enabled(!lab.epochs.is_empty(), egui::Button::new("Export CSV…"))
                .on_hover_text("Save the per-epoch history as a CSV file")
                .on_disabled_hover_text("No epochs yet: train first")
                .clicked()
            {
                lab.commands.send(AppCommand::ExportCsvDialog);
            }
            if ui
                .add_enabled(
                    !lab.epochs.is_empty() || !lab.curves.batch_loss.is_empty(),
                    egui::Button::new("Export PNG…"),
                )
                .on_hover_text("Save both plots, as shown, as a PNG image")
                .on_disabled_hover_text("Nothing plotted yet: train first")
                .clicked()
            {
                lab.commands.send(AppCommand::ExportPlotDialog);
            }
        });
        let top = ui.cursor().min;
        let curves = lab.curves;
        let epochs = lab.epochs;
        let last_x = curves
            .batch_loss
            .last()
            .map_or(0.0, |p| p[0])
            .max(epochs.last().map_or(0.0, |r| r.epoch as f64))
            .max(1.0);
        let empty = curves.batch_loss.is_empty() && epochs.is_empty();
        let height = ((ui.available_height() - 16.0) / 2.0).max(120.0);
        let link = Id::unique("training curves x");
        let log = self.log_loss;
        let to_y = move |v: f64| if log { v.max(1e-12).log10() } else { v };

        let raw_loss = curves.batch_loss.as_slice();
        let smooth_loss = smooth(raw_loss, self.smoothing);
        let epoch_loss: Vec<[f64; 2]> = epochs
            .iter()
            .map(|r| [r.epoch as f64, to_y(r.train_loss as f64)])
            .collect();
        let val_loss: Vec<[f64; 2]> = epochs
            .iter()
            .filter_map(|r| r.val_loss.map(|v| [r.epoch as f64, to_y(v as f64)]))
            .collect();
        let show_raw = self.show_raw && self.smoothing > 0.0;
        let faint = TRAIN.gamma_multiply(0.25);
        let mut loss_plot = Plot::new("loss plot");
        if !log {
            loss_plot = loss_plot.include_y(0.0);
        }
        if empty {
            // A sensible frame before the first point: cross-entropy starts near ln(classes).
            loss_plot = loss_plot.include_y(to_y(2.5)).include_y(to_y(0.01));
        }
        loss_plot
            .height(height)
            .legend(Legend::default().position(Corner::RightTop))
            .x_axis_label("epoch")
            .y_axis_label(if log { "loss (log₁₀)" } else { "loss" })
            .link_axis(link, [true, false])
            .link_cursor(link, [true, false])
            .include_x(0.0)
            .include_x(last_x)
            .y_axis_formatter(move |mark, _| {
                if log {
                    format_value(10f64.powf(mark.value))
                } else {
                    format_value(mark.value)
                }
            })
            .label_formatter(move |pos| hover_text(pos, "loss", |y| if log { 10f64.powf(y) } else { y }))
            .show(ui, |plot| {
                if show_raw {
                    plot.line(
                        Line::new("batch loss", transform(raw_loss, to_y))
                            .color(faint)
                            .width(1.0),
                    );
                }
                plot.line(
                    Line::new("train loss (batches)", transform(&smooth_loss, to_y))
                        .color(TRAIN)
                        .width(1.8),
                );
                plot.points(
                    Points::new("train loss (epochs)", PlotPoints::from(epoch_loss))
                        .color(TRAIN)
                        .shape(MarkerShape::Circle)
                        .filled(false)
                        .radius(4.0),
                );
                if !val_loss.is_empty() {
                    plot.line(
                        Line::new("validation loss", PlotPoints::from(val_loss.clone()))
                            .color(VALIDATION)
                            .width(1.8),
                    );
                    plot.points(
                        Points::new("validation loss", PlotPoints::from(val_loss))
                            .color(VALIDATION)
                            .shape(MarkerShape::Diamond)
                            .filled(true)
                            .radius(4.5),
                    );
                }
            });

        let percent = |points: &[[f64; 2]]| -> Vec<[f64; 2]> { points.iter().map(|p| [p[0], p[1] * 100.0]).collect() };
        let raw_acc = percent(&curves.batch_accuracy);
        let smooth_acc = smooth(&raw_acc, self.smoothing);
        let epoch_acc: Vec<[f64; 2]> = epochs
            .iter()
            .map(|r| [r.epoch as f64, r.train_accuracy as f64 * 100.0])
            .collect();
        let val_acc: Vec<[f64; 2]> = epochs
            .iter()
            .filter_map(|r| r.val_accuracy.map(|v| [r.epoch as f64, v as f64 * 100.0]))
            .collect();
        let accuracy = Plot::new("accuracy plot")
            .height(height)
            .legend(Legend::default().position(Corner::RightBottom))
            .x_axis_label("epoch")
            .y_axis_label("accuracy %")
            .link_axis(link, [true, false])
            .link_cursor(link, [true, false])
            .include_x(0.0)
            .include_x(last_x)
            .include_y(0.0)
            .include_y(100.0)
            .label_formatter(|pos| hover_text(pos, "accuracy %", |y| y))
            .show(ui, |plot| {
                if show_raw {
                    plot.line(
                        Line::new("batch accuracy", PlotPoints::from(raw_acc))
                            .color(faint)
                            .width(1.0),
                    );
                }
                plot.line(
                    Line::new("train accuracy (batches)", PlotPoints::from(smooth_acc))
                        .color(TRAIN)
                        .width(1.8),
                );
                plot.points(
                    Points::new("train accuracy (epochs)", PlotPoints::from(epoch_acc))
                        .color(TRAIN)
                        .shape(MarkerShape::Circle)
                        .filled(false)
                        .radius(4.0),
                );
                if !val_acc.is_empty() {
                    plot.line(
                        Line::new("validation accuracy", PlotPoints::from(val_acc.clone()))
                            .color(VALIDATION)
                            .width(1.8),
                    );
                    plot.points(
                        Points::new("validation accuracy", PlotPoints::from(val_acc))
                            .color(VALIDATION)
                            .shape(MarkerShape::Diamond)
                            .filled(true)
                            .radius(4.5),
                    );
                }
            });
        // Down to everything the plots allocated (their axis labels sit below the frames).
        let bottom = ui.min_rect().bottom().max(accuracy.response.rect.bottom());
        self.area = Some(egui::Rect::from_min_max(top, egui::pos2(ui.max_rect().right(), bottom)));
        if empty {
            ui.label(RichText::new("Press Train: the loss and accuracy appear here as the model learns.").weak());
        }
    }
}

fn transform(points: &[[f64; 2]], f: impl Fn(f64) -> f64) -> PlotPoints<'static> {
    points.iter().map(|p| [p[0], f(p[1])]).collect()
}

/// TensorBoard's smoothing: an exponential moving average, debiased at the start.
pub fn smooth(points: &[[f64; 2]], weight: f32) -> Vec<[f64; 2]> {
    let weight = weight.clamp(0.0, 0.999) as f64;
    let mut average = 0.0;
    let mut norm = 0.0;
    points
        .iter()
        .map(|p| {
            average = average * weight + (1.0 - weight) * p[1];
            norm = norm * weight + (1.0 - weight);
            [p[0], average / norm.max(1e-12)]
        })
        .collect()
}

fn hover_text(pos: &HoverPosition<'_>, what: &str, value: impl Fn(f64) -> f64) -> Option<String> {
    match pos {
        HoverPosition::NearDataPoint {
            plot_name, position, ..
        } => Some(format!(
            "{plot_name}\nepoch {:.2}\n{what} {}",
            position.x,
            format_value(value(position.y))
        )),
        HoverPosition::Elsewhere { position } => Some(format!(
            "epoch {:.2}\n{what} {}",
            position.x,
            format_value(value(position.y))
        )),
    }
}

fn format_value(v: f64) -> String {
    if v != 0.0 && (v.abs() < 1e-3 || v.abs() >= 1e5) {
        format!("{v:.1e}")
    } else if v.abs() < 1.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.2}")
    }
}

/// The per-epoch history as CSV (one header line, one line per epoch; empty = not measured).
pub fn history_csv(epochs: &[EpochRecord]) -> String {
    let mut csv = String::from("epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds\n");
    let opt = |v: Option<f32>| v.map_or_else(String::new, |v| v.to_string());
    for r in epochs {
        csv.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            r.epoch,
            r.train_loss,
            r.train_accuracy,
            opt(r.val_loss),
            opt(r.val_accuracy),
            r.learning_rate,
            r.seconds
        ));
    }
    csv
}
