//! The feature-map view: choose an input (browse the dataset, or draw a digit), see the
//! prediction, where the model looks (saliency or Grad-CAM over the input) and every layer's
//! activations as a grid of maps; hover a map pixel to read it and see the input window it sees.
//! Everything is computed by one background job per input (the newest request wins).

mod prediction;

use super::canvas::{Canvas, INK};
use super::closeup_panel::CloseUpPanel;
use super::features_1d::SequenceFeatures;
use super::colormap;
use super::colormap::unit_rect;
use super::jobs::{Job, Latest};
use super::lens::{Lens, browse_split};
use super::maps::{Attribution, Computed, GAP, InputKey, Request, RequestKey, argmax, compute};
use super::room::{Navigate, Room, RoomContext};
use crate::data::Dataset;
use crate::inspect::{InputRect, Target, receptive_window};
use egui::{Color32, Rect, RichText, Sense, Stroke, TextureHandle, TextureOptions, Ui, pos2, vec2};
use std::collections::HashMap;
use std::sync::Arc;

/// Where the input comes from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum InputSource {
    #[default]
    Dataset,
    Canvas,
}

/// On-screen size of the input picture, and the width of the input column.
const INPUT_PX: f32 = 150.0;
const LEFT_WIDTH: f32 = 300.0;

/// A computed result with its pictures uploaded.
struct Shown {
    computed: Computed,
    input: TextureHandle,
    heat: Option<TextureHandle>,
    atlases: Vec<TextureHandle>,
}

/// Which map pixel the pointer is over.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Hover {
    window: InputRect,
}

#[derive(Default)]
pub struct FeaturesView {
    source: InputSource,
    index: usize,
    class_filter: Option<usize>,
    /// Split indices of the chosen class, cached: (dataset identity, class, indices).
    filtered: Option<(usize, Option<usize>, Vec<usize>)>,
    canvas: Canvas,
    attribution: Attribution,
    target: Option<usize>,
    cam_layer: Option<usize>,
    opacity: Option<f32>,
    requested: Option<RequestKey>,
    latest: Latest<Request, Computed>,
    shown: Option<Shown>,
    error: Option<String>,
    thumbs: HashMap<usize, TextureHandle>,
    thumbs_of: usize,
    hover: Option<Hover>,
    showcased: bool,
    /// The input last given to the model, for the close-up.
    pixels: Option<Vec<u8>>,
    closeup: CloseUpPanel,
    /// The view of a sequence model (signals or texts), and whether it is the one on show.
    sequence: SequenceFeatures,
    sequence_shown: bool,
}

impl FeaturesView {
    pub fn busy(&self) -> bool {
        if self.sequence_shown {
            return self.sequence.busy();
        }
        self.latest.busy() || self.closeup.busy() || self.shown.is_none() && self.error.is_none()
    }

    /// Opens the close-up on the middle of the first convolution's first map as soon as the
    /// maps are shown, instead of the usual show-off (a drawn digit).
    pub fn request_closeup(&mut self) {
        self.closeup.request();
        self.showcased = true;
    }

    /// Shows sample `index` of the browsed split (from the mistakes gallery).
    pub fn show_sample(&mut self, index: usize) {
        self.sequence.show_sample(index);
        self.source = InputSource::Dataset;
        self.class_filter = None;
        self.index = index;
    }

    /// Inks a stroke through `points` (0..=1 canvas coordinates) and shows the drawing.
    pub fn draw_stroke(&mut self, points: &[[f32; 2]]) {
        self.source = InputSource::Canvas;
        let to_ink = |p: &[f32; 2]| pos2(p[0] * INK as f32, p[1] * INK as f32);
        for pair in points.windows(2) {
            self.canvas.line(to_ink(&pair[0]), to_ink(&pair[1]));
        }
        if let [single] = points {
            self.canvas.line(to_ink(single), to_ink(single));
        }
    }

    pub fn source(&self) -> InputSource {
        self.source
    }

    pub fn prediction(&self) -> Option<(usize, f32)> {
        if self.sequence_shown {
            return self.sequence.prediction();
        }
        let probs = &self.shown.as_ref()?.computed.probs;
        argmax(probs).map(|i| (i, probs[i]))
    }

    pub fn ui(&mut self, ui: &mut Ui, lens: &Arc<Lens>, dataset: Option<&Arc<Dataset>>, showcase: bool) {
        self.sequence_shown = lens.input.is_sequence();
        if self.sequence_shown {
            self.sequence.ui(ui, lens, dataset);
            return;
        }
        if showcase && !self.showcased {
            self.showcased = true;
            // A hand-drawn "7": the stroke a user would make, top bar then the diagonal.
            self.draw_stroke(&[[0.28, 0.24], [0.72, 0.22], [0.66, 0.40], [0.52, 0.62], [0.44, 0.80]]);
        }
        self.poll(ui.ctx());
        let (split_name, split) = match dataset {
            Some(d) => {
                let (name, split) = browse_split(d);
                (name, Some(split))
            }
            None => ("", None),
        };
        let dataset_id = dataset.map_or(0, |d| Arc::as_ptr(d) as usize);
        if self.thumbs_of != dataset_id {
            self.thumbs.clear();
            self.thumbs_of = dataset_id;
            self.filtered = None;
        }

        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                ui.set_width(LEFT_WIDTH);
                egui::ScrollArea::vertical()
                    .id_salt("features input")
                    .auto_shrink([false, false])
                    .show(ui, |ui| {
                        ui.horizontal(|ui| {
                            ui.label("Input");
                            ui.selectable_value(&mut self.source, InputSource::Dataset, "🖼 Dataset");
                            ui.selectable_value(&mut self.source, InputSource::Canvas, "✏ Draw");
                        });
                        let pixels = match (self.source, dataset, split) {
                            (InputSource::Dataset, Some(d), Some(split)) => {
                                self.browser_ui(ui, lens, d, split, split_name, dataset_id)
                            }
                            (InputSource::Dataset, _, _) => {
                                ui.label("The data is still loading…");
                                None
                            }
                            (InputSource::Canvas, _, _) => self.canvas_ui(ui, lens),
                        };
                        if let Some((key, pixels)) = pixels {
                            self.request(lens, key, pixels);
                        }
                        ui.separator();
                        self.prediction_ui(ui, lens, dataset, split);
                        ui.separator();
                        self.input_ui(ui, lens);
                    });
            });
            ui.separator();
            ui.vertical(|ui| {
                egui::ScrollArea::both()
                    .id_salt("feature maps")
                    .auto_shrink([false, false])
                    .show(ui, |ui| self.maps_ui(ui, lens));
            });
        });
        if self.shown.is_some() {
            self.closeup.open_requested(lens);
        }
        self.closeup.ui(ui.ctx(), lens, self.pixels.as_ref());
    }

    /// The close-up panel (the arithmetic behind a clicked map value).
    pub fn closeup(&self) -> &CloseUpPanel {
        &self.closeup
    }

    /// The value the maps show for `t` (what the close-up must arrive at).
    pub fn map_value(&self, t: Target) -> Option<f32> {
        self.shown.as_ref()?.computed.value_at(t)
    }

    fn request(&mut self, lens: &Arc<Lens>, input: InputKey, pixels: Vec<u8>) {
        if self.pixels.as_ref() != Some(&pixels) {
            self.pixels = Some(pixels.clone());
        }
        let key = RequestKey {
            lens: lens.id,
            input,
            attribution: self.attribution,
            target: self.target,
            cam_layer: self.cam_layer,
        };
        if self.requested.as_ref() == Some(&key) {
            return;
        }
        self.requested = Some(key.clone());
        self.latest.request(Request {
            key,
            lens: lens.clone(),
            pixels,
        });
    }

    fn poll(&mut self, ctx: &egui::Context) {
        let repaint = ctx.clone();
        let finished = self
            .latest
            .poll(|request| Job::spawn("computing feature maps", 1, Some(repaint), move |_| compute(request)));
        match finished {
            Some(Ok(computed)) => {
                let input = ctx.load_texture("input", computed.input.clone(), TextureOptions::NEAREST);
                let heat = computed
                    .heat
                    .clone()
                    .map(|h| ctx.load_texture("attribution", h, TextureOptions::LINEAR));
                let atlases = computed
                    .layers
                    .iter()
                    .map(|l| ctx.load_texture(format!("maps {}", l.layer), l.atlas.clone(), TextureOptions::NEAREST))
                    .collect();
                self.error = None;
                self.shown = Some(Shown {
                    computed,
                    input,
                    heat,
                    atlases,
                });
            }
            Some(Err(error)) => {
                self.error = Some(error.to_string());
                // Let the same input be asked again.
                self.requested = None;
            }
            None => {}
        }
    }

    /// The dataset browser; returns the chosen sample when it is not the one shown.
    fn browser_ui(
        &mut self,
        ui: &mut Ui,
        lens: &Lens,
        dataset: &Dataset,
        split: &crate::data::Split,
        split_name: &str,
        dataset_id: usize,
    ) -> Option<(InputKey, Vec<u8>)> {
        if split.is_empty() {
            ui.label("This split has no images.");
            return None;
        }
        ui.horizontal(|ui| {
            ui.label("Class");
            let label = self
                .class_filter
                .map_or("all classes".to_string(), |c| lens.class_name(c));
            egui::ComboBox::from_id_salt("browser class")
                .selected_text(label)
                .width(140.0)
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.class_filter, None, "all classes");
                    for c in 0..dataset.num_classes() {
                        let name = dataset.class_names.get(c).cloned().unwrap_or_else(|| c.to_string());
                        ui.selectable_value(&mut self.class_filter, Some(c), name);
                    }
                })
                .response
                .accessible_name("class of the images browsed");
        });
        if self
            .filtered
            .as_ref()
            .is_none_or(|(id, class, _)| *id != dataset_id || *class != self.class_filter)
        {
            let indices = match self.class_filter {
                None => (0..split.len()).collect(),
                Some(c) => (0..split.len()).filter(|&i| split.labels[i] as usize == c).collect(),
            };
            self.filtered = Some((dataset_id, self.class_filter, indices));
        }
        let indices = self.filtered.as_ref().map(|(_, _, v)| v.as_slice()).unwrap_or(&[]);
        if indices.is_empty() {
            ui.label("No images of this class in the split.");
            return None;
        }
        let mut position = indices.iter().position(|&i| i >= self.index).unwrap_or(0);
        if indices[position] != self.index {
            self.index = indices[position];
        }
        ui.horizontal(|ui| {
            if ui.button("◀").on_hover_text("Previous image").clicked() {
                position = position.saturating_sub(1);
            }
            let mut shown = position + 1;
            ui.add(egui::DragValue::new(&mut shown).range(1..=indices.len()).speed(0.5))
                .accessible_name("image number");
            position = shown - 1;
            ui.label(format!("of {} ({split_name} split)", indices.len()));
            if ui.button("▶").on_hover_text("Next image").clicked() {
                position = (position + 1).min(indices.len() - 1);
            }
        });
        // A strip of neighbours to click through.
        let start = position.saturating_sub(3).min(indices.len().saturating_sub(7));
        ui.horizontal(|ui| {
            ui.spacing_mut().item_spacing.x = 3.0;
            for (k, &i) in indices.iter().enumerate().skip(start).take(7) {
                let texture = self.thumbs.entry(i).or_insert_with(|| {
                    let image = colormap::pixels_image(split.image(i), dataset.channels, dataset.height, dataset.width);
                    ui.ctx()
                        .load_texture(format!("sample {i}"), image, TextureOptions::NEAREST)
                });
                let selected = k == position;
                let button = egui::Button::image(egui::Image::new((texture.id(), vec2(28.0, 28.0)))).selected(selected);
                let response = ui
                    .add(button)
                    .on_hover_text(format!("#{}: {}", i + 1, lens.class_name(split.labels[i] as usize)));
                if response.clicked() {
                    position = k;
                }
            }
        });
        if self.thumbs.len() > 512 {
            self.thumbs.clear();
        }
        self.index = indices[position];
        let label = split.labels[self.index] as usize;
        // Images are numbered from 1 everywhere the user reads them.
        ui.label(format!("#{} · label: {}", self.index + 1, lens.class_name(label)));
        Some((InputKey::Sample(self.index), split.image(self.index).to_vec()))
    }

    fn canvas_ui(&mut self, ui: &mut Ui, lens: &Lens) -> Option<(InputKey, Vec<u8>)> {
        self.canvas.ui(ui);
        ui.horizontal(|ui| {
            if ui.button("🗑 Clear").clicked() {
                self.canvas.clear();
            }
            ui.add(egui::Slider::new(&mut self.canvas.brush, 1.5..=10.0).text("brush"));
        });
        if lens.input.channels() != 1 {
            ui.label(
                RichText::new("This model takes colour images: the drawing is given to it in grey.")
                    .weak()
                    .small(),
            );
        }
        ui.label(
            RichText::new("Centred and scaled to 20×20 in a 28×28 frame, the way MNIST digits were made.")
                .weak()
                .small(),
        );
        Some((
            InputKey::Drawing(self.canvas.generation),
            self.canvas.to_pixels(lens.input),
        ))
    }

    /// The input as the model sees it, with the attribution over it and the hovered window.
    fn input_ui(&mut self, ui: &mut Ui, lens: &Lens) {
        ui.horizontal(|ui| {
            ui.label("Where it looks");
            let before = (self.attribution, self.cam_layer);
            ui.selectable_value(&mut self.attribution, Attribution::None, "off");
            ui.selectable_value(&mut self.attribution, Attribution::Saliency, "saliency")
                .on_hover_text("|∂ score / ∂ pixel|: the pixels whose change moves the class score most");
            ui.selectable_value(&mut self.attribution, Attribution::GradCam, "Grad-CAM")
                .on_hover_text("Feature maps of a layer, weighted by how much they raise the class score");
            if before != (self.attribution, self.cam_layer) {
                self.requested = None;
            }
        });
        if self.attribution == Attribution::GradCam {
            let image_layers: Vec<usize> = (0..lens.specs.len())
                .filter(|&l| lens.infos.get(l).is_some_and(|i| i.output.is_image()))
                .collect();
            let chosen = self
                .cam_layer
                .filter(|l| image_layers.contains(l))
                .or(image_layers.last().copied());
            ui.horizontal(|ui| {
                ui.label("on");
                egui::ComboBox::from_id_salt("cam layer")
                    .selected_text(chosen.map_or("no image layer".into(), |l| lens.layer_label(l)))
                    .show_ui(ui, |ui| {
                        for &l in &image_layers {
                            if ui.selectable_label(chosen == Some(l), lens.layer_label(l)).clicked() {
                                self.cam_layer = Some(l);
                                self.requested = None;
                            }
                        }
                    })
                    .response
                    .accessible_name("layer where the model looks");
            });
        }
        let opacity = self.opacity.get_or_insert(0.55);
        if self.attribution != Attribution::None {
            ui.add(egui::Slider::new(opacity, 0.0..=1.0).text("overlay"));
        }
        let opacity = *opacity;
        let (rect, _) = ui.allocate_exact_size(vec2(INPUT_PX, INPUT_PX), Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 0.0, ui.visuals().extreme_bg_color);
        let Some(shown) = &self.shown else {
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "computing…",
                egui::FontId::proportional(13.0),
                ui.visuals().weak_text_color(),
            );
            return;
        };
        painter.image(shown.input.id(), rect, unit_rect(), Color32::WHITE);
        if let Some(heat) = &shown.heat
            && self.attribution != Attribution::None
        {
            painter.image(heat.id(), rect, unit_rect(), Color32::WHITE.gamma_multiply(opacity));
        }
        let (h, w) = lens.input.spatial();
        if let Some(hover) = self.hover {
            let px = rect.width() / w as f32;
            let py = rect.height() / h as f32;
            let win = hover.window;
            let r = Rect::from_min_max(
                rect.min + vec2(win.left as f32 * px, win.top as f32 * py),
                rect.min + vec2((win.right + 1) as f32 * px, (win.bottom + 1) as f32 * py),
            );
            painter.rect_stroke(
                r,
                0.0,
                Stroke::new(2.0, Color32::from_rgb(255, 200, 0)),
                egui::StrokeKind::Inside,
            );
            ui.label(
                RichText::new(format!(
                    "receptive window: rows {}–{}, columns {}–{}",
                    win.top, win.bottom, win.left, win.right
                ))
                .small(),
            );
        }
        if let Some(note) = &shown.computed.attribution_note {
            ui.label(RichText::new(note).small().weak());
        } else if self.attribution != Attribution::None {
            ui.label(
                RichText::new(format!(
                    "{} for “{}”",
                    if self.attribution == Attribution::Saliency {
                        "Saliency"
                    } else {
                        "Grad-CAM"
                    },
                    lens.class_name(shown.computed.target)
                ))
                .small(),
            );
        }
    }

    fn maps_ui(&mut self, ui: &mut Ui, lens: &Lens) {
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        let Some(shown) = &self.shown else {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("Computing the feature maps…");
            });
            return;
        };
        if self.latest.busy() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(RichText::new("updating…").weak());
            });
        }
        let mut hover = None;
        for (maps, texture) in shown.computed.layers.iter().zip(&shown.atlases) {
            ui.horizontal(|ui| {
                ui.label(RichText::new(&maps.label).strong());
                colormap::colorbar(ui, &maps.scale, 150.0, "");
            });
            let [tw, th] = maps.tile;
            let fit = (ui.available_width() - 8.0) / maps.atlas.size[0] as f32;
            // Small maps are drawn larger, so every map is about 56 px across; a flat vector's
            // units become cells of about 9 px.
            let zoom = if maps.image {
                (56.0 / tw.max(th) as f32).min(fit).clamp(1.0, 12.0)
            } else {
                fit.clamp(2.0, 9.0)
            };
            let zoom = if zoom >= 2.0 { zoom.floor() } else { zoom };
            let size = vec2(maps.atlas.size[0] as f32 * zoom, maps.atlas.size[1] as f32 * zoom);
            let (rect, response) = ui.allocate_exact_size(size, Sense::click());
            let response = response.on_hover_cursor(egui::CursorIcon::PointingHand);
            let name = format!("feature maps of layer {}", maps.layer + 1);
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &name));
            ui.painter_at(rect)
                .image(texture.id(), rect, unit_rect(), Color32::WHITE);
            // The value in the close-up, marked where it sits.
            let cell_at = |tile: usize, y: usize, x: usize| {
                let (col, row) = (tile % maps.columns, tile / maps.columns);
                Rect::from_min_size(
                    rect.min + vec2((col * (tw + GAP) + x) as f32 * zoom, (row * (th + GAP) + y) as f32 * zoom),
                    vec2(zoom, zoom),
                )
            };
            if let Some(t) = self.closeup.target().filter(|t| t.layer == maps.layer) {
                let (tile, y, x) = if maps.image { (t.channel, t.row, t.col) } else { (0, t.channel / tw, t.channel % tw) };
                ui.painter().rect_stroke(cell_at(tile, y, x), 0.0, Stroke::new(2.5, Color32::from_rgb(255, 120, 0)), egui::StrokeKind::Outside);
            }
            if let Some(pointer) = response.hover_pos() {
                let ax = ((pointer.x - rect.left()) / zoom) as usize;
                let ay = ((pointer.y - rect.top()) / zoom) as usize;
                let (col, x) = (ax / (tw + GAP), ax % (tw + GAP));
                let (row, y) = (ay / (th + GAP), ay % (th + GAP));
                let tile = row * maps.columns + col;
                if x < tw && y < th && tile < maps.count {
                    let (text, window) = if maps.image {
                        let v = maps.values[tile * tw * th + y * tw + x];
                        let window = receptive_window(lens.input, &lens.specs, maps.layer, y, x);
                        (
                            format!("map {} at row {y}, column {x}: {}", tile + 1, colormap::format_value(v)),
                            Some(window),
                        )
                    } else {
                        let i = y * tw + x;
                        let v = maps.values.get(i).copied().unwrap_or(f32::NAN);
                        (format!("unit {}: {}", i + 1, colormap::format_value(v)), None)
                    };
                    ui.painter().rect_stroke(
                        cell_at(tile, y, x),
                        0.0,
                        Stroke::new(1.5, Color32::from_rgb(255, 200, 0)),
                        egui::StrokeKind::Outside,
                    );
                    if response.clicked() {
                        let (channel, row, col) = if maps.image { (tile, y, x) } else { (y * tw + x, 0, 0) };
                        self.closeup.open(Target {
                            layer: maps.layer,
                            channel,
                            row,
                            col,
                        });
                    }
                    response.on_hover_text(format!("{text}\nclick: the arithmetic behind it"));
                    hover = window.map(|window| Hover { window });
                }
            }
            ui.add_space(6.0);
        }
        // Without a pointer over a map, the input shows the close-up's window.
        if hover.is_none()
            && let Some(t) = self.closeup.target()
            && matches!(lens.infos.get(t.layer).map(|i| i.output), Some(crate::cnn::Shape::Image { .. }))
        {
            hover = Some(Hover {
                window: receptive_window(lens.input, &lens.specs, t.layer, t.row, t.col),
            });
        }
        if hover != self.hover {
            self.hover = hover;
            ui.ctx().request_repaint();
        }
    }
}

impl Room for FeaturesView {
    fn busy(&self, showcase: bool) -> bool {
        let _ = showcase;
        FeaturesView::busy(self)
    }

    fn ui(&mut self, ui: &mut Ui, at: RoomContext<'_>) -> Option<Navigate> {
        FeaturesView::ui(self, ui, at.lens, at.dataset, at.showcase);
        None
    }

    fn open_sample(&mut self, index: usize) -> bool {
        self.show_sample(index);
        true
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
