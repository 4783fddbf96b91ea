//! The feature-map view of a sequence model: a sample of the split (a signal drawn as lines, or
//! a text as its tokens), the prediction, where the model looks over the steps (saliency or
//! Grad-CAM), and every layer's maps as heat strips, one row per filter over the steps. Hover a
//! value to read it and to see, on the input, the steps it was computed from.

use super::closeup_panel::{CloseUpPanel, SampleRef};
use super::colormap::{self, Scale};
use super::jobs::Job;
use super::lens::{Lens, browse_split};
use super::maps::{Attribution, argmax};
use super::sparkline::{self, Series};
use crate::cnn::Shape;
use crate::data::Dataset;
use crate::inspect::{Target, feature_maps, grad_cam, receptive_window, saliency};
use egui::{Color32, RichText, Sense, Ui, pos2, vec2};
use std::sync::Arc;

/// Height of one map's row, in points.
const ROW: f32 = 9.0;
/// The input plot.
const INPUT: egui::Vec2 = vec2(330.0, 120.0);
const LEFT_WIDTH: f32 = 345.0;
/// Text tokens shown.
const MAX_TOKENS: usize = 400;

#[derive(Clone, Copy, Debug, PartialEq)]
struct Key {
    lens: u64,
    sample: usize,
    attribution: Attribution,
    dataset: usize,
}

/// One layer's output for the shown sample.
struct LayerValues {
    layer: usize,
    label: String,
    shape: Shape,
    values: Vec<f32>,
    scale: Scale,
}

struct Computed {
    /// The sample's values as the dataset holds them (CL), for drawing.
    input: Vec<f32>,
    label: u32,
    probs: Vec<f32>,
    layers: Vec<LayerValues>,
    /// Over the input's steps, 0..=1.
    heat: Option<Vec<f32>>,
    note: Option<String>,
}

#[derive(Default)]
pub struct SequenceFeatures {
    index: usize,
    attribution: Attribution,
    job: Option<(Key, Job<Computed>)>,
    shown: Option<(Key, Computed)>,
    error: Option<String>,
    /// The input steps `[from, to)` under the pointer's map value.
    window: Option<(i64, i64)>,
    /// The arithmetic behind a clicked value.
    closeup: CloseUpPanel,
}

impl SequenceFeatures {
    pub fn busy(&self) -> bool {
        self.job.is_some() || self.closeup.busy() || self.shown.is_none() && self.error.is_none()
    }

    pub fn closeup(&self) -> &CloseUpPanel {
        &self.closeup
    }

    /// Opens the close-up on the first Conv1D's middle step once the maps are shown.
    pub fn request_closeup(&mut self) {
        self.closeup.request();
    }

    pub fn prediction(&self) -> Option<(usize, f32)> {
        let probs = &self.shown.as_ref()?.1.probs;
        argmax(probs).map(|i| (i, probs[i]))
    }

    pub fn show_sample(&mut self, index: usize) {
        self.index = index;
    }

    pub fn ui(&mut self, ui: &mut Ui, lens: &Arc<Lens>, dataset: Option<&Arc<Dataset>>) {
        let Some(dataset) = dataset else {
            ui.spinner();
            ui.label("The data is still loading…");
            return;
        };
        let (split_name, split) = browse_split(dataset);
        if split.is_empty() || !split.holds_sequences() {
            ui.label("The dataset holds no sequences to show.");
            return;
        }
        self.index = self.index.min(split.len() - 1);
        let key = Key {
            lens: lens.id,
            sample: self.index,
            attribution: self.attribution,
            dataset: Arc::as_ptr(dataset) as usize,
        };
        self.poll(ui.ctx(), lens, dataset, key);
        // On a narrow window the input column gives way to the maps.
        let left = LEFT_WIDTH.min(ui.available_width() * 0.45);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(left);
                egui::ScrollArea::vertical()
                    .id_salt("sequence input")
                    .auto_shrink([false, false])
                    .show(ui, |ui| self.input_ui(ui, lens, dataset, split_name));
            });
            ui.separator();
            ui.vertical(|ui| {
                egui::ScrollArea::both()
                    .id_salt("sequence maps")
                    .auto_shrink([false, false])
                    .show(ui, |ui| self.maps_ui(ui, lens));
            });
        });
        if let Some((_, computed)) = &self.shown {
            self.closeup.open_requested(lens);
            let sample = SampleRef::Values {
                values: &computed.input,
                tokens: dataset.vocabulary().is_some(),
            };
            self.closeup.ui(ui.ctx(), lens, Some(sample));
        }
    }

    /// Starts the computation for `key` when nothing is shown or running for it.
    fn poll(&mut self, ctx: &egui::Context, lens: &Arc<Lens>, dataset: &Arc<Dataset>, key: Key) {
        if let Some((_, job)) = &mut self.job
            && let Some(result) = job.poll()
        {
            let (done_key, _) = self.job.take().expect("polled above");
            match result {
                Ok(computed) => {
                    self.shown = Some((done_key, computed));
                    self.error = None;
                }
                Err(e) => self.error = Some(format!("{e:#}")),
            }
        }
        let wanted = |k: &Key| *k == key;
        if self.shown.as_ref().is_some_and(|(k, _)| wanted(k)) || self.job.as_ref().is_some_and(|(k, _)| wanted(k)) {
            return;
        }
        let (lens, dataset) = (lens.clone(), dataset.clone());
        let job = Job::spawn("feature maps", 1, Some(ctx.clone()), move |_| {
            compute(&lens, &dataset, key)
        });
        self.job = Some((key, job));
    }

    fn input_ui(&mut self, ui: &mut Ui, lens: &Lens, dataset: &Dataset, split_name: &str) {
        let (_, split) = browse_split(dataset);
        ui.horizontal(|ui| {
            ui.label("Input");
            if ui.button("◀").on_hover_text("Previous sample").clicked() {
                self.index = self.index.saturating_sub(1);
            }
            let mut shown = self.index + 1;
            ui.add(egui::DragValue::new(&mut shown).range(1..=split.len()).speed(0.5))
                .accessible_name("sample number");
            self.index = shown - 1;
            if ui.button("▶").on_hover_text("Next sample").clicked() {
                self.index = (self.index + 1).min(split.len() - 1);
            }
            ui.label(format!("of {} ({split_name} split)", split.len()));
        });
        let Some((_, computed)) = &self.shown else {
            ui.spinner();
            return;
        };
        ui.label(format!(
            "#{} · label: {}",
            self.index + 1,
            lens.class_name(computed.label as usize)
        ));
        match dataset.vocabulary() {
            Some(vocabulary) => tokens_ui(ui, &computed.input, computed.heat.as_deref(), self.window, |id| {
                vocabulary.token(id).to_string()
            }),
            None => {
                let size = vec2(INPUT.x.min(ui.available_width() - 8.0), INPUT.y);
                let (rect, response) = ui.allocate_exact_size(size, Sense::hover());
                response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, "input signal"));
                let series = Series {
                    values: &computed.input,
                    channels: dataset.channels,
                };
                let painter = ui.painter_at(rect);
                sparkline::draw(
                    &painter,
                    ui.visuals(),
                    rect,
                    &series,
                    ui.visuals().strong_text_color(),
                    self.window,
                );
                if let Some(heat) = &computed.heat {
                    let strip =
                        egui::Rect::from_min_size(pos2(rect.left(), rect.bottom() + 3.0), vec2(rect.width(), 10.0));
                    ui.allocate_exact_size(vec2(rect.width(), 14.0), Sense::hover());
                    heat_strip(ui.painter(), strip, heat);
                }
            }
        }
        ui.separator();
        ui.label(RichText::new(match argmax(&computed.probs) {
            Some(p) => format!("Prediction: {} ({:.1}%)", lens.class_name(p), computed.probs[p] * 100.0),
            None => "Prediction: —".into(),
        }));
        for (class, p) in computed.probs.iter().enumerate() {
            ui.horizontal(|ui| {
                ui.allocate_ui_with_layout(
                    vec2(110.0, 14.0),
                    egui::Layout::left_to_right(egui::Align::Center),
                    |ui| ui.add(egui::Label::new(RichText::new(lens.class_name(class)).small()).truncate()),
                );
                let (bar, _) = ui.allocate_exact_size(vec2(150.0 * p.clamp(0.0, 1.0) + 1.0, 10.0), Sense::hover());
                let color = if class as u32 == computed.label {
                    ui.visuals().selection.bg_fill
                } else {
                    Color32::GRAY
                };
                ui.painter().rect_filled(bar, 1.0, color);
                ui.small(format!("{:.1}%", p * 100.0));
            });
        }
        ui.separator();
        ui.horizontal(|ui| {
            ui.label("Where it looks");
            ui.selectable_value(&mut self.attribution, Attribution::None, "off");
            ui.selectable_value(&mut self.attribution, Attribution::Saliency, "saliency");
            ui.selectable_value(&mut self.attribution, Attribution::GradCam, "Grad-CAM");
        });
        let note = match (&computed.note, &computed.heat, self.attribution) {
            (Some(note), _, _) => note.clone(),
            (None, Some(_), Attribution::Saliency) => "orange: the steps whose change moves the score most".into(),
            (None, Some(_), _) => "orange: the steps the last convolution's useful maps come from".into(),
            _ => String::new(),
        };
        if !note.is_empty() {
            ui.label(RichText::new(note).weak().small());
        }
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
    }

    fn maps_ui(&mut self, ui: &mut Ui, lens: &Lens) {
        let Some((_, computed)) = &self.shown else {
            return;
        };
        let width = (ui.available_width() - 20.0).clamp(240.0, 900.0);
        let mut window = None;
        let mut clicked = None;
        let target = self.closeup.target();
        for maps in &computed.layers {
            ui.label(RichText::new(&maps.label).strong());
            ui.small(format!(
                "{} to {} · {}",
                colormap::format_value(maps.scale.lo),
                colormap::format_value(maps.scale.hi),
                if maps.shape.is_sequence() {
                    "one row per channel (a Conv1D's filters), steps left to right"
                } else {
                    "one cell per unit"
                }
            ));
            let (rows, steps) = match maps.shape {
                Shape::Sequence { c, steps } => (c, steps),
                other => (1, other.len()),
            };
            for row in 0..rows.min(256) {
                let (rect, response) = ui.allocate_exact_size(vec2(width, ROW), Sense::click());
                let name = if maps.shape.is_sequence() {
                    format!("map {} of layer {}", row + 1, maps.layer + 1)
                } else {
                    format!("units of layer {}", maps.layer + 1)
                };
                response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &name));
                let values = &maps.values[row * steps..(row + 1) * steps];
                let cell = rect.width() / steps.max(1) as f32;
                let painter = ui.painter_at(rect);
                for (t, &v) in values.iter().enumerate() {
                    let r = egui::Rect::from_min_size(
                        pos2(rect.left() + t as f32 * cell, rect.top()),
                        vec2(cell.max(1.0), ROW - 1.0),
                    );
                    painter.rect_filled(r, 0.0, maps.scale.color(v));
                }
                // The value in the close-up, marked where it sits.
                if let Some(t) = target.filter(|t| t.layer == maps.layer) {
                    let (on_row, step) = if maps.shape.is_sequence() {
                        (t.channel == row, t.col)
                    } else {
                        (true, t.channel)
                    };
                    if on_row {
                        let r = egui::Rect::from_min_size(
                            pos2(rect.left() + step as f32 * cell, rect.top()),
                            vec2(cell.max(2.0), ROW - 1.0),
                        );
                        ui.painter().rect_stroke(
                            r,
                            0.0,
                            egui::Stroke::new(2.0, Color32::from_rgb(255, 120, 0)),
                            egui::StrokeKind::Outside,
                        );
                    }
                }
                if let Some(pointer) = response.hover_pos() {
                    let t = (((pointer.x - rect.left()) / cell) as usize).min(steps - 1);
                    let text = if maps.shape.is_sequence() {
                        let w = receptive_window(lens.input, &lens.specs, maps.layer, 0, t);
                        window = Some((w.left as i64, w.right as i64 + 1));
                        format!(
                            "map {} at step {}: {}\ncomputed from input steps {}–{}",
                            row + 1,
                            t + 1,
                            colormap::format_value(values[t]),
                            w.left + 1,
                            w.right + 1
                        )
                    } else {
                        format!("unit {}: {}", t + 1, colormap::format_value(values[t]))
                    };
                    if response.clicked() {
                        clicked = Some(if maps.shape.is_sequence() {
                            Target {
                                layer: maps.layer,
                                channel: row,
                                row: 0,
                                col: t,
                            }
                        } else {
                            Target {
                                layer: maps.layer,
                                channel: t,
                                row: 0,
                                col: 0,
                            }
                        });
                    }
                    response.on_hover_text(format!("{text}\nclick: the arithmetic behind it"));
                }
            }
            ui.add_space(6.0);
        }
        if let Some(target) = clicked {
            self.closeup.open(target);
        }
        // Without a pointer over a map, the input shows the close-up's window.
        if window.is_none()
            && let Some(t) = self.closeup.target()
            && computed
                .layers
                .iter()
                .any(|m| m.layer == t.layer && m.shape.is_sequence())
        {
            let w = receptive_window(lens.input, &lens.specs, t.layer, 0, t.col);
            window = Some((w.left as i64, w.right as i64 + 1));
        }
        if window != self.window {
            self.window = window;
            ui.ctx().request_repaint();
        }
    }
}

/// A text's tokens, each on the heat's colour; the hovered window outlined.
fn tokens_ui(
    ui: &mut Ui,
    ids: &[f32],
    heat: Option<&[f32]>,
    window: Option<(i64, i64)>,
    token: impl Fn(u32) -> String,
) {
    egui::ScrollArea::vertical()
        .id_salt("tokens")
        .max_height(INPUT.y + 40.0)
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                ui.spacing_mut().item_spacing = vec2(2.0, 2.0);
                for (t, &id) in ids.iter().enumerate().take(MAX_TOKENS) {
                    let id = id.max(0.0) as u32;
                    if id == 0 {
                        continue;
                    }
                    let mut text = RichText::new(token(id)).monospace();
                    if let Some(h) = heat.and_then(|h| h.get(t)).filter(|&&h| h > 0.05) {
                        text = text.background_color(Color32::from_rgba_unmultiplied(255, 150, 0, (h * 160.0) as u8));
                    }
                    if window.is_some_and(|(from, to)| (from..to).contains(&(t as i64))) {
                        text = text.underline().strong();
                    }
                    ui.label(text);
                }
            });
        });
}

/// 0..=1 values over the steps as an orange strip.
fn heat_strip(painter: &egui::Painter, rect: egui::Rect, heat: &[f32]) {
    let cell = rect.width() / heat.len().max(1) as f32;
    for (t, &h) in heat.iter().enumerate() {
        let r = egui::Rect::from_min_size(
            pos2(rect.left() + t as f32 * cell, rect.top()),
            vec2(cell.max(1.0), rect.height()),
        );
        painter.rect_filled(
            r,
            0.0,
            Color32::from_rgba_unmultiplied(255, 140, 0, (h.clamp(0.0, 1.0) * 230.0) as u8),
        );
    }
}

/// Runs the model on sample `key.sample` of the browsed split: every layer's values, the
/// prediction and the attribution over the steps.
fn compute(lens: &Lens, dataset: &Dataset, key: Key) -> anyhow::Result<Computed> {
    let (_, split) = browse_split(dataset);
    if key.sample >= split.len() {
        anyhow::bail!("sample {} is not in the split", key.sample + 1);
    }
    let input = split.sequence(key.sample).to_vec();
    let mut model = lens.model()?;
    let x = lens.input_from_values(&input, dataset.vocabulary().is_some());
    let acts = feature_maps(&mut model, &x);
    let probs = model.predict_proba(&x).sample(0).to_vec();
    let target = argmax(&probs).unwrap_or(0);
    let mut note = None;
    let heat = match key.attribution {
        Attribution::None => None,
        // Token ids have no gradient: saliency needs a real-valued input.
        Attribution::Saliency if dataset.vocabulary().is_some() => {
            note = Some("Saliency needs a real-valued input; token ids have no gradient. Try Grad-CAM.".into());
            None
        }
        Attribution::Saliency => Some(saliency(&mut model, &x, target)),
        Attribution::GradCam => {
            let cam = steps_cam(lens, &mut model, &x, target);
            if cam.is_none() {
                note = Some("Grad-CAM needs a layer with maps over the steps.".into());
            }
            cam
        }
    };
    let layers = lens
        .specs
        .iter()
        .enumerate()
        .filter(|(_, spec)| !spec.config().passes_values_through())
        .filter_map(|(l, _)| {
            let act = acts.get(l + 1)?;
            let values = act.sample(0).to_vec();
            Some(LayerValues {
                layer: l,
                label: lens.layer_label(l),
                shape: act.shape(),
                scale: Scale::sequential(values.iter().copied()),
                values,
            })
        })
        .collect();
    Ok(Computed {
        input,
        label: split.labels[key.sample],
        probs,
        layers,
        heat,
        note,
    })
}

/// Grad-CAM over the steps for `class`, on the last layer with maps over the steps.
fn steps_cam(lens: &Lens, model: &mut crate::cnn::Model, x: &crate::cnn::Tensor, class: usize) -> Option<Vec<f32>> {
    let layer = (0..lens.specs.len())
        .rev()
        .find(|&l| lens.infos.get(l).is_some_and(|i| i.output.is_sequence()))?;
    grad_cam(model, x, class, layer)
}

/// Per sample (its index in the browsed split), the evidence over its steps, 0..=1.
pub type Highlights = Vec<(usize, Vec<f32>)>;

/// For each of `samples` (indices into the browsed split), where over its steps the model finds
/// the evidence for `class` (Grad-CAM, 0..=1): the gallery highlights a text's tokens with it.
pub fn gallery_highlights(
    lens: &Lens,
    dataset: &Dataset,
    samples: &[usize],
    class: usize,
    keep_going: &mut dyn FnMut(usize) -> bool,
) -> anyhow::Result<Highlights> {
    let (_, split) = browse_split(dataset);
    let tokens = dataset.vocabulary().is_some();
    let mut model = lens.model()?;
    let mut out = Vec::with_capacity(samples.len());
    for (done, &index) in samples.iter().enumerate() {
        if index >= split.len() || !keep_going(done) {
            break;
        }
        let x = lens.input_from_values(split.sequence(index), tokens);
        if let Some(cam) = steps_cam(lens, &mut model, &x, class) {
            out.push((index, cam));
        }
    }
    Ok(out)
}
