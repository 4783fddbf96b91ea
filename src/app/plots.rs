//! Live training curves: loss (per batch, smoothed, and per epoch for validation) and accuracy,
//! on linked x axes in epochs, with a legend, hover read-outs and an optional log scale.

use super::commands::AppCommand;
use super::context::LabContext;
use crate::experiment::EpochRecord;
use egui::{Color32, Id, RichText, Ui};
use egui_plot::{
    AxisHints, Corner, GridInput, GridMark, HoverPosition, Legend, Line, MarkerShape, Plot, PlotMemory, PlotPoints,
    Points,
};
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

        // A long run has tens of thousands of batches: draw what fits the pixels (`decimate`).
        let loss_id = ui.make_persistent_id("loss plot");
        let accuracy_id = ui.make_persistent_id("accuracy plot");
        let loss_px = x_per_pixel(ui.ctx(), loss_id);
        let smooth_loss = decimate(&smooth(&curves.batch_loss, self.smoothing), loss_px);
        let raw_loss = decimate(&curves.batch_loss, loss_px);
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
        let label = if log { "loss (log₁₀)" } else { "loss" };
        let mut loss_plot = with_y_axis(Plot::new("loss plot").id(loss_id), label, log);
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
            .link_axis(link, [true, false])
            .link_cursor(link, [true, false])
            .include_x(0.0)
            .include_x(last_x)
            .label_formatter(move |pos| hover_text(pos, "loss", |y| if log { 10f64.powf(y) } else { y }))
            .show(ui, |plot| {
                if show_raw {
                    plot.line(
                        Line::new("batch loss", transform(&raw_loss, to_y))
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
        let accuracy_px = x_per_pixel(ui.ctx(), accuracy_id);
        let all_acc = percent(&curves.batch_accuracy);
        let smooth_acc = decimate(&smooth(&all_acc, self.smoothing), accuracy_px);
        let raw_acc = decimate(&all_acc, accuracy_px);
        let epoch_acc: Vec<[f64; 2]> = epochs
            .iter()
            .map(|r| [r.epoch as f64, r.train_accuracy as f64 * 100.0])
            .collect();
        let val_acc: Vec<[f64; 2]> = epochs
            .iter()
            .filter_map(|r| r.val_accuracy.map(|v| [r.epoch as f64, v as f64 * 100.0]))
            .collect();
        let accuracy = with_y_axis(Plot::new("accuracy plot").id(accuracy_id), "accuracy %", false)
            .height(height)
            .legend(Legend::default().position(Corner::RightBottom))
            .x_axis_label("epoch")
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

/// Plot units per pixel along x in the plot's last frame (`None` before its first).
fn x_per_pixel(ctx: &egui::Context, id: Id) -> Option<f64> {
    let transform = PlotMemory::load(ctx, id)?.transform();
    let pixels = transform.frame().width() as f64;
    let per_pixel = transform.bounds().width() / pixels;
    (pixels >= 1.0 && per_pixel.is_finite() && per_pixel > 0.0).then_some(per_pixel)
}

/// The points of a curve (sorted by x) worth drawing at `x_per_pixel` plot units per pixel:
/// where several fall into one pixel column, the first, the lowest, the highest and the last,
/// in order, which is what the line drawn through all of them shows. A run of 30,000 batches
/// then costs a frame about what a run of a thousand does (each point is tessellated into
/// triangles, and without a GPU every small triangle costs the CPU).
pub fn decimate(points: &[[f64; 2]], x_per_pixel: Option<f64>) -> Vec<[f64; 2]> {
    let Some(step) = x_per_pixel else {
        return points.to_vec();
    };
    let mut kept = Vec::with_capacity(points.len().min(4096));
    let mut start = 0;
    while start < points.len() {
        let column = ((points[start][0] - points[0][0]) / step).floor();
        let mut end = start + 1;
        while end < points.len() && ((points[end][0] - points[0][0]) / step).floor() <= column {
            end += 1;
        }
        let run = &points[start..end];
        if run.len() <= 4 {
            kept.extend_from_slice(run);
        } else {
            let by_y = |a: &&[f64; 2], b: &&[f64; 2]| a[1].total_cmp(&b[1]);
            let low = run
                .iter()
                .enumerate()
                .min_by(|a, b| by_y(&a.1, &b.1))
                .map_or(0, |(i, _)| i);
            let high = run
                .iter()
                .enumerate()
                .max_by(|a, b| by_y(&a.1, &b.1))
                .map_or(0, |(i, _)| i);
            let mut picks = [0, low.min(high), low.max(high), run.len() - 1];
            picks.sort_unstable();
            let mut last = None;
            for i in picks {
                if last != Some(i) {
                    kept.push(run[i]);
                    last = Some(i);
                }
            }
        }
        start = end;
    }
    kept
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

/// A tick label: 3 decimals below 1, 2 above, scientific for the very small and very large.
/// `plot` with a y axis labelled `label`, ticked as matplotlib ticks: a linear axis on the
/// [`nice_grid`], each tick with the decimals its step needs ("0", "0.1", "0.2"; "0.05"); on a
/// `log` axis egui_plot's powers of ten, a tick at `v` reading 10^v. Tick labels show as soon
/// as a line of text fits between them (egui_plot's default hides labels closer than 20 points,
/// which left a short loss plot with "0.000" as its only tick).
pub(super) fn with_y_axis<'a>(plot: Plot<'a>, label: &str, log: bool) -> Plot<'a> {
    let axis = AxisHints::new_y()
        .label(label)
        .label_spacing(14.0..=18.0)
        .formatter(move |mark, _| match log {
            true => format_value(10f64.powf(mark.value)),
            false => format_tick(mark.value, mark.step_size),
        });
    let plot = plot.custom_y_axes(vec![axis]);
    if log { plot } else { plot.y_grid_spacer(nice_grid) }
}

/// Grid lines every 1, 2 or 5 × 10^k, as matplotlib picks its ticks (egui_plot's default steps
/// by powers of ten, so a short axis from 0 to 0.4 had no labelled tick but 0): the finest such
/// step at least `input.base_step_size` and the next two that are multiples of it (0.05, 0.1,
/// 0.2; 0.1, 0.2, 1; 0.2, 1, 2), so the labels of a coarser step never fall between those of a
/// finer one. A value on several steps' lines is marked once, with the largest step.
pub(super) fn nice_grid(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = input.bounds;
    let base = input.base_step_size;
    if !(base > 0.0 && base.is_finite() && lo.is_finite() && hi.is_finite() && lo <= hi) {
        return Vec::new();
    }
    let decade = 10f64.powf(base.log10().floor());
    let first = [1.0, 2.0, 5.0, 10.0]
        .map(|m| m * decade)
        .into_iter()
        .find(|&s| s >= base * (1.0 - 1e-9))
        .unwrap_or(10.0 * decade);
    // 1 → 2, 2 → 10, 5 → 10: the next step of the chain, a multiple of this one.
    let next = |s: f64| {
        let mantissa = s / 10f64.powf(s.log10().floor());
        if (mantissa - 2.0).abs() < 0.01 {
            5.0 * s
        } else {
            2.0 * s
        }
    };
    let steps = [first, next(first), next(next(first))];
    if (hi - lo) / steps[0] > 2_000.0 {
        return Vec::new();
    }
    // Every line is on the finest step; the steps are nested, so a line's step is the largest
    // that divides its value.
    let on = |value: f64, step: f64| ((value / step) - (value / step).round()).abs() < 1e-6;
    ((lo / steps[0]).ceil() as i64..=(hi / steps[0]).floor() as i64)
        .map(|i| {
            let value = i as f64 * steps[0];
            let step_size = steps.into_iter().rev().find(|&s| on(value, s)).unwrap_or(steps[0]);
            GridMark { value, step_size }
        })
        .collect()
}

/// `v` with as many decimals as a tick step of `step` needs: (0.1, 0.1) → "0.1", (0.0, 0.1) →
/// "0", (50.0, 10.0) → "50", (0.05, 0.01) → "0.05"; very large or small values in scientific form.
pub(super) fn format_tick(v: f64, step: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    if v.abs() >= 1e5 || v.abs() < 1e-4 {
        return format!("{v:.1e}");
    }
    let decimals = if step > 0.0 {
        (-step.log10().floor()).clamp(0.0, 4.0) as usize
    } else {
        3
    };
    format!("{v:.decimals$}")
}

pub(super) fn format_value(v: f64) -> String {
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

#[cfg(test)]
mod tests {
    use super::{decimate, format_tick, nice_grid};
    use egui_plot::GridInput;

    #[test]
    fn the_grid_steps_by_one_two_and_five() {
        // A loss axis from 0 to 0.9, 0.03 the finest step that fits: lines every 0.05, 0.1 and
        // 0.2, each value once with its largest step.
        let marks = nice_grid(GridInput {
            bounds: (0.0, 0.9),
            base_step_size: 0.03,
        });
        let step_at = |v: f64| marks.iter().find(|m| (m.value - v).abs() < 1e-9).map(|m| m.step_size);
        assert_eq!(marks.len(), 19);
        assert_eq!(step_at(0.0), Some(0.2));
        assert_eq!(step_at(0.4), Some(0.2));
        assert_eq!(step_at(0.3), Some(0.1));
        assert_eq!(step_at(0.05), Some(0.05));
        assert_eq!(step_at(0.07), None);
        // Accuracy from 0 to 100 with 7 as the finest step: 10, 20 and 100 (never 50, whose
        // label would fall between 40's and 60's).
        let marks = nice_grid(GridInput {
            bounds: (-3.0, 103.0),
            base_step_size: 7.0,
        });
        assert_eq!(marks.iter().filter(|m| m.step_size == 100.0).count(), 2);
        assert_eq!(marks.iter().filter(|m| m.step_size == 20.0).count(), 4);
        assert_eq!(marks.len(), 11);
        // From 2: 2, 10, 20.
        let marks = nice_grid(GridInput {
            bounds: (0.0, 40.0),
            base_step_size: 1.5,
        });
        assert_eq!(marks.iter().filter(|m| m.step_size == 20.0).count(), 3);
        assert_eq!(marks.len(), 21);
        assert!(
            nice_grid(GridInput {
                bounds: (0.0, f64::NAN),
                base_step_size: 1.0
            })
            .is_empty()
        );
    }

    #[test]
    fn ticks_carry_the_decimals_their_step_needs() {
        let cases = [
            (0.0, 0.1, "0"),
            (0.1, 0.1, "0.1"),
            (0.30000000000000004, 0.1, "0.3"),
            (0.05, 0.01, "0.05"),
            (2.5, 0.5, "2.5"),
            (50.0, 10.0, "50"),
            (100.0, 50.0, "100"),
            (-0.2, 0.1, "-0.2"),
            (250000.0, 100000.0, "2.5e5"),
        ];
        for (v, step, want) in cases {
            assert_eq!(format_tick(v, step), want, "{v} at step {step}");
        }
    }

    #[test]
    fn decimation_keeps_the_envelope_in_order() {
        // 10,000 points over x 0..10, drawn 100 pixels wide: 100 points per pixel column.
        let points: Vec<[f64; 2]> = (0..10_000)
            .map(|i| {
                let x = i as f64 / 1000.0;
                [x, (x * 7.0).sin() + if i == 4321 { 5.0 } else { 0.0 }]
            })
            .collect();
        let kept = decimate(&points, Some(0.1));
        assert!(kept.len() <= 4 * 101, "{}", kept.len());
        assert_eq!(kept.first(), points.first());
        assert_eq!(kept.last(), points.last());
        assert!(kept.windows(2).all(|w| w[0][0] < w[1][0]), "x stays increasing");
        let max = |p: &[[f64; 2]]| p.iter().map(|p| p[1]).fold(f64::MIN, f64::max);
        let min = |p: &[[f64; 2]]| p.iter().map(|p| p[1]).fold(f64::MAX, f64::min);
        assert_eq!(max(&kept), max(&points), "the spike survives");
        assert_eq!(min(&kept), min(&points));
        // Curves with a point or so per pixel, and unknown scales, are left alone.
        assert_eq!(decimate(&points, Some(0.002)), points);
        assert_eq!(decimate(&points, None), points);
    }
}
