//! The filter view: every kernel of a Conv2D layer as a tile (RGB for a first layer on colour
//! input, else one input channel or the channel mean, on a diverging scale), a timeline over the
//! per-epoch snapshots, a close-up with the numbers, and "what does this filter look for"
//! (activation maximization, computed in the background, one image under each kernel).

mod timeline;

use super::colormap::{self, Scale};
use super::filters_1d::{SequenceFilters, spawn_maximize};
use super::jobs::Job;
use super::lens::Lens;
use super::room::{Navigate, Room, RoomContext};
use crate::experiment::Experiment;
use crate::inspect::Maximized;
use egui::{Color32, ColorImage, RichText, Sense, Stroke, TextureHandle, TextureOptions, Ui, vec2};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How a kernel spanning several input channels is drawn.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ChannelMode {
    /// The three channels as red, green and blue (first layer on colour input).
    Rgb,
    /// The mean over input channels.
    #[default]
    Mean,
    /// One input channel.
    Channel(usize),
}

/// Width of the close-up of a selected filter.
const DETAIL_WIDTH: f32 = 300.0;

/// Time between frames while the timeline plays.
const PLAY_STEP: Duration = Duration::from_millis(350);

#[derive(Default)]
pub struct FiltersView {
    layer: Option<usize>,
    mode: Option<ChannelMode>,
    /// Index into the snapshots; `None` shows the lens's own weights.
    timeline: Option<usize>,
    playing: Option<Instant>,
    selected: Option<usize>,
    tiles: Option<Tiles>,
    snapshots: Option<(u64, Vec<Snapshot>)>,
    maximize: Option<MaxRun>,
    showcased: bool,
    /// The view of a sequence model's Conv1D filters, and whether it is the one on show.
    sequence: SequenceFilters,
    sequence_shown: bool,
}


/// One epoch's kernels of one layer.
struct Snapshot {
    epoch: usize,
    layer: usize,
    values: Vec<f32>,
}

/// One layer's kernels, coloured and uploaded.
struct Tiles {
    key: (u64, usize, ChannelMode, Option<usize>),
    textures: Vec<TextureHandle>,
    scale: Scale,
    /// (F, C, KH, KW) values and dims of what is shown.
    values: Vec<f32>,
    dims: [usize; 4],
    rgb: bool,
}

/// Activation maximization of every filter of one layer, filled in as it runs.
struct MaxRun {
    lens_id: u64,
    layer: usize,
    source: String,
    results: Arc<Mutex<Vec<Option<Maximized>>>>,
    textures: Vec<Option<TextureHandle>>,
    job: Option<Job<()>>,
    error: Option<String>,
}

impl FiltersView {
    pub fn busy(&self, showcase: bool) -> bool {
        if self.sequence_shown {
            return self.sequence.busy(showcase);
        }
        let maximizing = self.maximize.as_ref().is_some_and(|m| m.job.is_some());
        maximizing || (showcase && !self.showcased)
    }

    pub fn maximized(&self) -> Option<(usize, usize)> {
        if self.sequence_shown {
            return self.sequence.maximized();
        }
        let run = self.maximize.as_ref()?;
        Some((run.textures.iter().flatten().count(), run.textures.len()))
    }

    pub fn ui(&mut self, ui: &mut Ui, lens: &Arc<Lens>, experiment: &Experiment, showcase: bool) {
        let convs = lens.conv_layers();
        let sequence_convs = lens.sequence_conv_layers();
        self.sequence_shown = convs.is_empty() && !sequence_convs.is_empty();
        if self.sequence_shown {
            // The timeline of the first Conv1D's kernels, as for Conv2D.
            let snapshots = self.snapshot_epochs(experiment);
            if snapshots.first().is_some_and(|s| s.1 == self.sequence.layer(&sequence_convs)) {
                self.timeline_ui(ui, &snapshots);
            } else {
                (self.timeline, self.playing) = (None, None);
            }
            let past = self
                .timeline
                .and_then(|i| self.snapshots.as_ref()?.1.get(i))
                .map(|s| s.values.clone());
            self.sequence.ui(ui, lens, &sequence_convs, showcase, past.as_deref());
            return;
        }
        self.poll(ui.ctx(), lens);
        let Some(&first) = convs.first() else {
            ui.label(
                "This model has no Conv2D or Conv1D layer, so there are no filters to show. Add one in the Model tab.",
            );
            return;
        };
        let layer = self.layer.filter(|l| convs.contains(l)).unwrap_or(first);
        self.layer = Some(layer);
        let Some((_, dims)) = lens.param(layer, "kernel") else {
            return;
        };
        let [f, c, kh, kw] = [dims[0], dims[1], dims[2], dims[3]];
        let default_mode = if c == 3 && layer == first {
            ChannelMode::Rgb
        } else {
            ChannelMode::Mean
        };
        let mut mode = self.mode.unwrap_or(default_mode);
        if mode == ChannelMode::Rgb && c != 3 || matches!(mode, ChannelMode::Channel(k) if k >= c) {
            mode = default_mode;
        }
        let snapshots = self.snapshot_epochs(experiment);
        let timeline_here = snapshots.first().is_some_and(|s| s.1 == layer) && !snapshots.is_empty();
        if !timeline_here {
            self.timeline = None;
            self.playing = None;
        }

        // ---- controls ----
        ui.horizontal_wrapped(|ui| {
            ui.label("Layer");
            egui::ComboBox::from_id_salt("filters layer")
                .selected_text(lens.layer_label(layer))
                .show_ui(ui, |ui| {
                    for &l in &convs {
                        if ui.selectable_label(l == layer, lens.layer_label(l)).clicked() {
                            self.layer = Some(l);
                            self.selected = None;
                            self.timeline = None;
                        }
                    }
                })
                .response
                .accessible_name("layer of the filters");
            ui.label(format!("{f} filters of {kh}×{kw}×{c}"));
            ui.separator();
            if c > 1 {
                ui.label("Channels");
                let text = |m: ChannelMode| match m {
                    ChannelMode::Rgb => "RGB colour".to_string(),
                    ChannelMode::Mean => "mean of channels".to_string(),
                    ChannelMode::Channel(k) => format!("channel {}", k + 1),
                };
                egui::ComboBox::from_id_salt("filters channel")
                    .selected_text(text(mode))
                    .show_ui(ui, |ui| {
                        let mut options = Vec::new();
                        if c == 3 {
                            options.push(ChannelMode::Rgb);
                        }
                        options.push(ChannelMode::Mean);
                        options.extend((0..c.min(64)).map(ChannelMode::Channel));
                        for option in options {
                            ui.selectable_value(&mut mode, option, text(option));
                        }
                    })
                    .response
                    .accessible_name("channels shown");
            }
        });
        self.mode = Some(mode);

        if timeline_here {
            self.timeline_ui(ui, &snapshots);
        } else if !snapshots.is_empty() {
            ui.label(
                RichText::new(format!(
                    "The per-epoch history is kept for the first Conv2D layer (layer {}).",
                    snapshots[0].1 + 1
                ))
                .weak(),
            );
        }

        // ---- the kernels ----
        let values = match self
            .timeline
            .and_then(|i| self.snapshots.as_ref().and_then(|(_, s)| s.get(i)))
        {
            Some(snapshot) if snapshot.values.len() == f * c * kh * kw => snapshot.values.clone(),
            _ => lens.param(layer, "kernel").map(|(v, _)| v.to_vec()).unwrap_or_default(),
        };
        let key = (lens.id, layer, mode, self.timeline);
        if self.tiles.as_ref().is_none_or(|t| t.key != key) {
            self.tiles = Some(make_tiles(ui.ctx(), key, values, [f, c, kh, kw], mode));
        }
        let bias: Vec<f32> = lens.param(layer, "bias").map(|(b, _)| b.to_vec()).unwrap_or_default();

        ui.horizontal(|ui| {
            if let Some(tiles) = &self.tiles {
                let caption = if tiles.rgb {
                    "RGB: grey = 0, each channel stretched to ±max|w|"
                } else {
                    "weight (blue negative, red positive), one scale for the layer"
                };
                colormap::colorbar(ui, &tiles.scale, 220.0, caption);
            }
            ui.separator();
            self.maximize_controls(ui, lens, layer, f, showcase);
            if self.maximize.as_ref().is_some_and(|m| m.layer == layer) {
                ui.label(
                    RichText::new("Under each kernel: the input that excites it most.")
                        .weak()
                        .small(),
                );
            }
        });
        ui.add_space(4.0);

        let detail_width = if self.selected.is_some() { DETAIL_WIDTH } else { 0.0 };
        ui.horizontal_top(|ui| {
            let grid_width = (ui.available_width() - detail_width).max(200.0);
            ui.allocate_ui(vec2(grid_width, ui.available_height()), |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("filter grid")
                    .auto_shrink([false, false])
                    .show(ui, |ui| self.grid_ui(ui, &bias, kw));
            });
            if let Some(selected) = self.selected.filter(|&s| s < f) {
                ui.separator();
                ui.vertical(|ui| {
                    ui.set_width(DETAIL_WIDTH - 12.0);
                    egui::ScrollArea::vertical()
                        .id_salt("filter detail")
                        .show(ui, |ui| self.detail_ui(ui, selected, &bias));
                });
            }
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
        let exists = current.is_some();
        let stale = current.is_some_and(|m| m.lens_id != lens.id);
        let note = current.and_then(|m| match &m.error {
            Some(error) => Some((true, error.clone())),
            None if stale => Some((false, format!("images from {}", m.source))),
            None => None,
        });
        let label = if exists && !stale {
            "Recompute"
        } else {
            "What does each filter look for?"
        };
        let button = ui.button(label).on_hover_text(
            "Activation maximization: start from noise and change the input, step by step, to make \
             the filter's feature map as bright as possible (with jitter, L2 decay and blur so the \
             image stays readable). Runs in the background.",
        );
        let showcase_now = showcase && !self.showcased;
        if button.clicked() || showcase_now {
            if showcase_now {
                self.showcased = true;
                // Open the close-up of the strongest kernel, so the picture shows the numbers too.
                self.selected = lens.param(layer, "kernel").and_then(|(values, _)| {
                    let per = values.len() / filters.max(1);
                    (0..filters).max_by(|&a, &b| {
                        let norm = |i: usize| values[i * per..(i + 1) * per].iter().map(|v| v * v).sum::<f32>();
                        norm(a).total_cmp(&norm(b))
                    })
                });
            }
            self.start_maximize(ui.ctx(), lens, layer, filters);
        }
        match note {
            Some((true, error)) => {
                ui.colored_label(ui.visuals().error_fg_color, error);
            }
            Some((false, text)) => {
                ui.label(RichText::new(text).weak());
            }
            None => {}
        }
    }

    fn start_maximize(&mut self, ctx: &egui::Context, lens: &Arc<Lens>, layer: usize, filters: usize) {
        let (results, job) = spawn_maximize(ctx, lens, layer, filters);
        self.maximize = Some(MaxRun {
            lens_id: lens.id,
            layer,
            source: lens.describe(),
            results,
            textures: vec![None; filters],
            job: Some(job),
            error: None,
        });
    }

    /// Uploads finished maximization images; ends the run's job when it is done.
    fn poll_maximize(&mut self, ctx: &egui::Context, input_hw: (usize, usize, usize)) {
        let Some(run) = &mut self.maximize else {
            return;
        };
        if let Some(job) = &mut run.job
            && let Some(result) = job.poll()
        {
            run.error = result.err().map(|e| e.to_string());
            run.job = None;
        }
        let Ok(results) = run.results.lock() else {
            return;
        };
        let (c, h, w) = input_hw;
        for (i, result) in results.iter().enumerate() {
            if let (Some(result), Some(slot @ None)) = (result, run.textures.get_mut(i)) {
                let image = input_image(&result.image, c, h, w);
                *slot = Some(ctx.load_texture(format!("maximized {i}"), image, TextureOptions::LINEAR));
            }
        }
    }

    fn grid_ui(&mut self, ui: &mut Ui, bias: &[f32], kw: usize) {
        let Some(tiles) = &self.tiles else {
            return;
        };
        let side = (kw as f32 * 14.0).clamp(44.0, 96.0);
        let maximized = self
            .maximize
            .as_ref()
            .filter(|m| Some(m.layer) == self.layer)
            .map(|m| &m.textures);
        let [f, c, kh, kw] = tiles.dims;
        let mut clicked = None;
        ui.horizontal_wrapped(|ui| {
            ui.spacing_mut().item_spacing = vec2(6.0, 6.0);
            for (i, texture) in tiles.textures.iter().enumerate().take(f) {
                let height = side + 16.0 + if maximized.is_some() { side + 4.0 } else { 0.0 };
                let (rect, response) = ui.allocate_exact_size(vec2(side, height), Sense::click());
                let label = format!("filter {}", i + 1);
                response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
                let painter = ui.painter_at(rect.expand(2.0));
                let image_rect = egui::Rect::from_min_size(rect.min, vec2(side, side));
                painter.image(
                    texture.id(),
                    image_rect,
                    egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                    Color32::WHITE,
                );
                let selected = self.selected == Some(i);
                let outline = if selected {
                    Stroke::new(2.5, ui.visuals().selection.stroke.color)
                } else if response.hovered() {
                    Stroke::new(1.5, ui.visuals().text_color())
                } else {
                    Stroke::new(1.0, ui.visuals().weak_text_color().gamma_multiply(0.5))
                };
                painter.rect_stroke(image_rect, 1.0, outline, egui::StrokeKind::Outside);
                painter.text(
                    egui::pos2(rect.center().x, image_rect.bottom() + 1.0),
                    egui::Align2::CENTER_TOP,
                    format!("{}", i + 1),
                    egui::FontId::proportional(11.0),
                    ui.visuals().text_color(),
                );
                if let Some(textures) = maximized {
                    let max_rect = egui::Rect::from_min_size(
                        egui::pos2(rect.left(), image_rect.bottom() + 16.0),
                        vec2(side, side),
                    );
                    match textures.get(i).and_then(Option::as_ref) {
                        Some(t) => {
                            painter.image(
                                t.id(),
                                max_rect,
                                egui::Rect::from_min_max(egui::pos2(0.0, 0.0), egui::pos2(1.0, 1.0)),
                                Color32::WHITE,
                            );
                        }
                        None => {
                            painter.rect_filled(max_rect, 1.0, ui.visuals().faint_bg_color);
                        }
                    }
                }
                let kernel = &tiles.values[i * c * kh * kw..(i + 1) * c * kh * kw];
                let (lo, hi) = kernel.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
                    (lo.min(v), hi.max(v))
                });
                let response = response.on_hover_text(format!(
                    "Filter {}: {kh}×{kw}×{c} weights from {} to {}, bias {}\nClick to see its numbers",
                    i + 1,
                    colormap::format_value(lo),
                    colormap::format_value(hi),
                    bias.get(i).map_or("none".into(), |b| colormap::format_value(*b)),
                ));
                if response.clicked() {
                    clicked = Some(i);
                }
            }
        });
        if let Some(i) = clicked {
            self.selected = if self.selected == Some(i) { None } else { Some(i) };
        }
    }

    fn detail_ui(&mut self, ui: &mut Ui, filter: usize, bias: &[f32]) {
        let Some(tiles) = &self.tiles else {
            return;
        };
        let [_, c, kh, kw] = tiles.dims;
        ui.horizontal(|ui| {
            ui.heading(format!("Filter {}", filter + 1));
            if ui.small_button("✖").on_hover_text("Close").clicked() {
                self.selected = None;
            }
        });
        if let Some(b) = bias.get(filter) {
            ui.label(format!("bias {}", colormap::format_value(*b)));
        }
        let kernel = &tiles.values[filter * c * kh * kw..(filter + 1) * c * kh * kw];
        let cell = ((ui.available_width() - 8.0) / kw as f32).clamp(18.0, 44.0);
        for ch in 0..c.min(8) {
            ui.label(RichText::new(format!("input channel {}", ch + 1)).small());
            let plane = &kernel[ch * kh * kw..(ch + 1) * kh * kw];
            let (rect, _) = ui.allocate_exact_size(vec2(cell * kw as f32, cell * kh as f32), Sense::hover());
            let painter = ui.painter_at(rect);
            for y in 0..kh {
                for x in 0..kw {
                    let v = plane[y * kw + x];
                    let r =
                        egui::Rect::from_min_size(rect.min + vec2(x as f32 * cell, y as f32 * cell), vec2(cell, cell));
                    let color = tiles.scale.color(v);
                    painter.rect_filled(r.shrink(0.5), 0.0, color);
                    if cell >= 26.0 {
                        let text = if color.intensity() > 0.55 {
                            Color32::BLACK
                        } else {
                            Color32::WHITE
                        };
                        painter.text(
                            r.center(),
                            egui::Align2::CENTER_CENTER,
                            format!("{v:.2}"),
                            egui::FontId::monospace(9.5),
                            text,
                        );
                    }
                }
            }
            ui.add_space(2.0);
        }
        if c > 8 {
            ui.label(RichText::new(format!("… and {} more channels", c - 8)).weak());
        }
        if let Some(run) = self.maximize.as_ref().filter(|m| Some(m.layer) == self.layer)
            && let Ok(results) = run.results.lock()
            && let Some(Some(result)) = results.get(filter)
        {
            ui.separator();
            ui.label("Looks for");
            if let Some(Some(texture)) = run.textures.get(filter) {
                let side = ui.available_width().min(200.0);
                ui.add(egui::Image::new((texture.id(), vec2(side, side))));
            }
            let gain = if result.start_activation.abs() > 1e-6 {
                format!(" (×{:.1})", result.final_activation / result.start_activation)
            } else {
                String::new()
            };
            ui.label(format!(
                "mean activation {} on noise → {}{gain}",
                colormap::format_value(result.start_activation),
                colormap::format_value(result.final_activation)
            ));
        }
    }

    /// Called by the view before drawing: uploads finished maximization images.
    pub fn poll(&mut self, ctx: &egui::Context, lens: &Lens) {
        let (h, w) = lens.input.spatial();
        self.poll_maximize(ctx, (lens.input.channels(), h, w));
    }
}


/// Colours every kernel of a layer and uploads the tiles.
fn make_tiles(
    ctx: &egui::Context,
    key: (u64, usize, ChannelMode, Option<usize>),
    values: Vec<f32>,
    dims: [usize; 4],
    mode: ChannelMode,
) -> Tiles {
    let [f, c, kh, kw] = dims;
    let per_filter = c * kh * kw;
    let plane = kh * kw;
    let planes: Vec<Vec<f32>> = (0..f)
        .map(|i| {
            let kernel = &values[i * per_filter..(i + 1) * per_filter];
            match mode {
                ChannelMode::Rgb => kernel.to_vec(),
                ChannelMode::Channel(k) => kernel[k * plane..(k + 1) * plane].to_vec(),
                ChannelMode::Mean => (0..plane)
                    .map(|p| (0..c).map(|ch| kernel[ch * plane + p]).sum::<f32>() / c as f32)
                    .collect(),
            }
        })
        .collect();
    let scale = Scale::symmetric(planes.iter().flatten().copied());
    let rgb = mode == ChannelMode::Rgb;
    let textures = planes
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let image = if rgb {
                colormap::rgb_image(p, kw, kh, scale.hi, true)
            } else {
                scale.image(p, kw, kh)
            };
            ctx.load_texture(format!("kernel {}/{i}", key.1), image, TextureOptions::NEAREST)
        })
        .collect();
    Tiles {
        key,
        textures,
        scale,
        values,
        dims,
        rgb,
    }
}

/// An input-space image (C, H, W) for display: grey or RGB, stretched to its own range.
pub fn input_image(chw: &[f32], c: usize, h: usize, w: usize) -> ColorImage {
    let (lo, hi) = chw.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &v| {
        (lo.min(v), hi.max(v))
    });
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    if c == 3 {
        let shifted: Vec<f32> = chw.iter().map(|v| v - lo).collect();
        colormap::rgb_image(&shifted, w, h, hi - lo, false)
    } else {
        let mean: Vec<f32> = (0..h * w)
            .map(|p| (0..c).map(|ch| chw[ch * h * w + p]).sum::<f32>() / c.max(1) as f32)
            .collect();
        colormap::grey_image(&mean, w, h, lo, hi)
    }
}

impl Room for FiltersView {
    fn busy(&self, showcase: bool) -> bool {
        FiltersView::busy(self, showcase)
    }

    fn ui(&mut self, ui: &mut Ui, at: RoomContext<'_>) -> Option<Navigate> {
        FiltersView::ui(self, ui, at.lens, at.experiment, at.showcase);
        None
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
