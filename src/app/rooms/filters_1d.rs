//! The filter view of a sequence model: each Conv1D filter as a small line plot over its
//! `kernel_size` steps (one line per input channel, a heat strip when the channels are many),
//! its bias, and what it responds to: the input sequence that excites it most (activation
//! maximization, in the background, drawn under the filter).

use super::colormap;
use super::jobs::Job;
use super::lens::Lens;
use super::sparkline::{self, Series};
use crate::inspect::{MaximizeSettings, Maximized, maximize_channel};
use egui::{RichText, Sense, Ui, vec2};
use std::sync::{Arc, Mutex};

/// A filter's plot, in points.
const PLOT: egui::Vec2 = vec2(150.0, 64.0);
/// The exciting input's plot under it.
const INPUT_PLOT: egui::Vec2 = vec2(150.0, 40.0);

#[derive(Default)]
pub struct SequenceFilters {
    layer: Option<usize>,
    maximize: Option<MaxRun>,
    showcased: bool,
}

/// Activation maximization of every filter of one layer, filled in as it runs.
struct MaxRun {
    lens_id: u64,
    layer: usize,
    results: MaxResults,
    job: Option<Job<()>>,
    error: Option<String>,
}

impl SequenceFilters {
    pub fn busy(&self, showcase: bool) -> bool {
        self.maximize.as_ref().is_some_and(|m| m.job.is_some()) || showcase && !self.showcased
    }

    /// Filters whose exciting input is found, and how many there are.
    pub fn maximized(&self) -> Option<(usize, usize)> {
        let run = self.maximize.as_ref()?;
        let results = run.results.lock().ok()?;
        Some((results.iter().flatten().count(), results.len()))
    }

    /// The layer on show among `layers` (the model's Conv1D layers).
    pub fn layer(&self, layers: &[usize]) -> usize {
        self.layer
            .filter(|l| layers.contains(l))
            .or(layers.first().copied())
            .unwrap_or(0)
    }

    /// Draws the filters of the chosen layer; `past` holds its kernels at an earlier epoch
    /// (the timeline), else the lens's own are shown.
    pub fn ui(&mut self, ui: &mut Ui, lens: &Arc<Lens>, layers: &[usize], showcase: bool, past: Option<&[f32]>) {
        self.poll();
        if layers.is_empty() {
            return;
        }
        let layer = self.layer(layers);
        self.layer = Some(layer);
        let Some((kernel, dims)) = lens.param(layer, "kernel") else {
            return;
        };
        let [f, c, k] = [dims[0], dims[1], dims[2]];
        let kernel = past.filter(|p| p.len() == kernel.len()).unwrap_or(kernel);
        let bias: Vec<f32> = lens.param(layer, "bias").map(|(b, _)| b.to_vec()).unwrap_or_default();
        // Token ids are not a signal to optimize: an Embedding first layer has no such input.
        let tokens = lens.specs.first().is_some_and(|s| s.kind() == "Embedding");

        ui.horizontal_wrapped(|ui| {
            ui.label("Layer");
            egui::ComboBox::from_id_salt("filters layer 1d")
                .selected_text(lens.layer_label(layer))
                .show_ui(ui, |ui| {
                    for &l in layers {
                        if ui.selectable_label(l == layer, lens.layer_label(l)).clicked() {
                            self.layer = Some(l);
                        }
                    }
                })
                .response
                .accessible_name("layer of the filters");
            ui.label(format!(
                "{f} filters of {k} steps × {c} channels: (k·c_in + 1)·filters = ({k}·{c} + 1)·{f} = {} parameters",
                (k * c + 1) * f
            ));
        });
        ui.horizontal_wrapped(|ui| {
            ui.label(
                RichText::new(if c > sparkline::MAX_LINES {
                    "Each filter: input channels as rows, its steps as columns (blue negative, red positive)."
                } else {
                    "Each filter: its weights over its steps, one line per input channel; the grey line is 0."
                })
                .weak(),
            );
            if !tokens {
                self.maximize_controls(ui, lens, layer, f, showcase);
            }
        });
        if tokens {
            // Nothing to show off: the screenshot need not wait.
            self.showcased = true;
            ui.label(
                RichText::new(
                    "The input is token ids, which gradient ascent cannot change smoothly: the feature \
                     maps show which words or characters excite each filter.",
                )
                .weak()
                .small(),
            );
        }
        ui.add_space(4.0);
        let results = self
            .maximize
            .as_ref()
            .filter(|m| m.layer == layer)
            .and_then(|m| m.results.lock().ok().map(|r| r.clone()));
        let color = ui.visuals().strong_text_color();
        egui::ScrollArea::vertical()
            .id_salt("filter plots")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                ui.horizontal_wrapped(|ui| {
                    ui.spacing_mut().item_spacing = vec2(10.0, 10.0);
                    for i in 0..f {
                        let weights = &kernel[i * c * k..(i + 1) * c * k];
                        let extra = if results.is_some() { INPUT_PLOT.y + 4.0 } else { 0.0 };
                        let (rect, response) =
                            ui.allocate_exact_size(vec2(PLOT.x, PLOT.y + 16.0 + extra), Sense::hover());
                        let label = format!("filter {}", i + 1);
                        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
                        let painter = ui.painter_at(rect.expand(2.0));
                        let plot = egui::Rect::from_min_size(rect.min + vec2(0.0, 14.0), PLOT);
                        painter.text(
                            rect.left_top(),
                            egui::Align2::LEFT_TOP,
                            match bias.get(i) {
                                Some(b) => format!("{} · bias {}", i + 1, colormap::format_value(*b)),
                                None => format!("{}", i + 1),
                            },
                            egui::FontId::proportional(11.0),
                            ui.visuals().text_color(),
                        );
                        let series = Series {
                            values: weights,
                            channels: c,
                        };
                        sparkline::draw(&painter, ui.visuals(), plot, &series, color, None);
                        if let Some(found) = results.as_ref().and_then(|r| r.get(i).cloned().flatten()) {
                            let below =
                                egui::Rect::from_min_size(egui::pos2(plot.left(), plot.bottom() + 4.0), INPUT_PLOT);
                            let input = Series {
                                values: &found.image,
                                channels: lens.input.channels(),
                            };
                            sparkline::draw(
                                &painter,
                                ui.visuals(),
                                below,
                                &input,
                                ui.visuals().hyperlink_color,
                                None,
                            );
                        }
                        let (lo, hi) = series.range();
                        response.on_hover_text(format!(
                            "Filter {}: {k} steps × {c} channels, weights from {} to {}",
                            i + 1,
                            colormap::format_value(lo),
                            colormap::format_value(hi)
                        ));
                    }
                });
            });
    }

    fn maximize_controls(&mut self, ui: &mut Ui, lens: &Arc<Lens>, layer: usize, filters: usize, showcase: bool) {
        let current = self.maximize.as_ref().filter(|m| m.layer == layer);
        if let Some(job) = current.and_then(|m| m.job.as_ref()) {
            if job.progress_ui(ui, "filters") {
                self.maximize = None;
            }
            return;
        }
        if let Some(error) = current.and_then(|m| m.error.clone()) {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        let fresh = current.is_some_and(|m| m.lens_id == lens.id);
        let label = if fresh {
            "Recompute"
        } else {
            "What does each filter respond to?"
        };
        let clicked = ui
            .button(label)
            .on_hover_text(
                "Activation maximization: start from noise and change the input sequence, step by step, \
                 to make the filter's feature map as strong as possible. Drawn in blue under each filter.",
            )
            .clicked();
        let showcase_now = showcase && !self.showcased;
        if clicked || showcase_now {
            self.showcased = true;
            self.start(ui.ctx(), lens, layer, filters);
        }
    }

    fn start(&mut self, ctx: &egui::Context, lens: &Arc<Lens>, layer: usize, filters: usize) {
        let (results, job) = spawn_maximize(ctx, lens, layer, filters);
        self.maximize = Some(MaxRun {
            lens_id: lens.id,
            layer,
            results,
            job: Some(job),
            error: None,
        });
    }

    fn poll(&mut self) {
        if let Some(run) = &mut self.maximize
            && let Some(job) = &mut run.job
            && let Some(result) = job.poll()
        {
            run.error = result.err().map(|e| e.to_string());
            run.job = None;
        }
    }
}

/// Each filter's exciting input, filled in as activation maximization finds them.
pub type MaxResults = Arc<Mutex<Vec<Option<Maximized>>>>;

/// Activation maximization of every filter of `layer`, one after the other in the background;
/// each result lands in its slot as soon as it is found (the 2-D and the 1-D filter views).
pub fn spawn_maximize(ctx: &egui::Context, lens: &Arc<Lens>, layer: usize, filters: usize) -> (MaxResults, Job<()>) {
    let results = Arc::new(Mutex::new(vec![None; filters]));
    let (slots, lens) = (results.clone(), lens.clone());
    let job = Job::spawn("activation maximization", filters, Some(ctx.clone()), move |handle| {
        let mut model = lens.model()?;
        let settings = MaximizeSettings::default();
        for channel in 0..filters {
            let result = maximize_channel(&mut model, layer, channel, &settings, |_, _| !handle.cancelled());
            if handle.cancelled() {
                return Ok(());
            }
            if let Ok(mut slots) = slots.lock() {
                slots[channel] = Some(result);
            }
            handle.progress(channel + 1);
        }
        Ok(())
    });
    (results, job)
}
