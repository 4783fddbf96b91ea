//! The mistakes view: the model scored on the test split (in the background) as a confusion
//! matrix heat map with per-class accuracy; clicking a cell opens the gallery of those images,
//! most confident first, each a click away from the feature-map view.

use super::colormap::{self, Map, Scale};
use super::jobs::Job;
use super::labels::fit_label;
use super::shift_panel::ShiftPanel;
use super::lens::{Lens, Weights, browse_split};
use super::room::{Navigate, Room, RoomContext};
use crate::data::Dataset;
use crate::inspect::cell_members;
use crate::training::{Evaluation, evaluate};
use egui::{Align2, Color32, FontId, Rect, RichText, Sense, Stroke, TextureHandle, TextureOptions, Ui, pos2, vec2};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A confusion-matrix cell: (true class, predicted class).
type Cell = (usize, usize);

/// Gallery images shown before "show more".
const GALLERY_PAGE: usize = 120;

/// While a run trains, the matrix is re-scored this often.
const LIVE_RESCORE: Duration = Duration::from_secs(20);

struct Scored {
    at: Instant,
    lens_id: u64,
    source: String,
    split: &'static str,
    evaluation: Evaluation,
    labels: Vec<u32>,
}

#[derive(Default)]
pub struct MistakesView {
    scored: Option<Scored>,
    job: Option<(u64, Job<Scored>)>,
    error: Option<String>,
    cell: Option<(usize, usize)>,
    /// (cell, samples in it most confident first).
    members: Option<(Cell, Vec<(usize, f32)>)>,
    /// Texts: where each gallery sample's evidence is (Grad-CAM over its tokens), for the cell
    /// and lens they were computed on.
    highlights: Option<(Cell, u64, Job<super::features_1d::Highlights>)>,
    highlighted: HashMap<usize, Vec<f32>>,
    shown: usize,
    thumbs: HashMap<usize, TextureHandle>,
    showcased: bool,
    /// The showcase's own scoring (of the weights at the time it was asked) has started.
    showcase_scoring: bool,
    shift: ShiftPanel,
}

impl MistakesView {
    pub fn busy(&self, showcase: bool) -> bool {
        self.job.is_some()
            || self.shift.busy()
            || self.scored.is_none() && self.error.is_none()
            || showcase && !self.showcased
    }

    /// Runs the shift test on the model on show, then on each of `files` (`--view shift-test`),
    /// instead of the usual show-off (the most-confused cell).
    pub fn request_shift(&mut self, files: &[std::path::PathBuf]) {
        self.shift.request(files);
        (self.showcased, self.showcase_scoring) = (true, true);
    }

    pub fn add_shift_file(&mut self, path: std::path::PathBuf) {
        self.shift.add_file(path);
    }

    pub fn take_shift_file_request(&mut self) -> bool {
        self.shift.take_file_request()
    }

    pub fn shift_curves(&self) -> &[super::shift_panel::ShiftCurve] {
        self.shift.curves()
    }

    pub fn confusion(&self) -> Option<&[Vec<usize>]> {
        self.scored.as_ref().map(|s| s.evaluation.confusion.as_slice())
    }

    fn start(&mut self, ctx: &egui::Context, lens: &Arc<Lens>, dataset: &Arc<Dataset>) {
        let (lens, dataset) = (lens.clone(), dataset.clone());
        let id = lens.id;
        let job = Job::spawn("scoring the test split", 1, Some(ctx.clone()), move |_| {
            let (split_name, split) = browse_split(&dataset);
            let mut model = lens.model()?;
            let evaluation = evaluate(&mut model, split, lens.input, &lens.normalization)?;
            Ok(Scored {
                at: Instant::now(),
                lens_id: lens.id,
                source: lens.describe(),
                split: split_name,
                evaluation,
                labels: split.labels.clone(),
            })
        });
        self.job = Some((id, job));
    }

    pub fn ui(
        &mut self,
        ui: &mut Ui,
        lens: &Arc<Lens>,
        dataset: Option<&Arc<Dataset>>,
        showcase: bool,
    ) -> Option<Navigate> {
        if let Some((_, job)) = &mut self.job
            && let Some(result) = job.poll()
        {
            self.job = None;
            match result {
                Ok(scored) => {
                    self.scored = Some(scored);
                    self.members = None;
                    self.error = None;
                }
                Err(e) => self.error = Some(e.to_string()),
            }
        }
        let Some(dataset) = dataset else {
            ui.label("The data is still loading…");
            return None;
        };
        let live = matches!(lens.source, Weights::Live(_));
        let stale = self.scored.as_ref().is_none_or(|s| s.lens_id != lens.id);
        // Saved weights are scored at once; a run's live weights every LIVE_RESCORE (scoring
        // competes with training for the cores).
        let due = self
            .scored
            .as_ref()
            .is_none_or(|s| !live || s.at.elapsed() >= LIVE_RESCORE);
        if stale && due && self.job.is_none() && self.error.is_none() {
            self.start(ui.ctx(), lens, dataset);
        }
        if live {
            ui.ctx().request_repaint_after(LIVE_RESCORE);
        }
        ui.horizontal(|ui| {
            if let Some(scored) = &self.scored {
                ui.label(
                    RichText::new(format!(
                        "{} {} of the {} split · accuracy {:.2}% · loss {:.4}",
                        scored.evaluation.count(),
                        if dataset.is_sequence() { "samples" } else { "images" },
                        scored.split,
                        scored.evaluation.accuracy * 100.0,
                        scored.evaluation.loss
                    ))
                    .strong(),
                );
                if stale {
                    ui.label(RichText::new(format!("(scored with {})", scored.source)).weak());
                }
            }
            if let Some((_, job)) = &self.job {
                ui.spinner();
                ui.label(job.label.clone());
            } else if stale && ui.button("⟳ Score the current weights").clicked() {
                self.error = None;
                self.start(ui.ctx(), lens, dataset);
            }
        });
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        if showcase && !self.showcased {
            // Score the weights as they are now (a run may have moved on since the last score),
            // then open the most-confused cell.
            if !self.showcase_scoring {
                self.showcase_scoring = true;
                self.start(ui.ctx(), lens, dataset);
            } else if self.job.is_none()
                && let Some(scored) = &self.scored
            {
                self.showcased = true;
                self.cell = most_confused(&scored.evaluation.confusion);
                self.shown = GALLERY_PAGE;
            }
        }
        let unfold = self.shift.take_unfold().then_some(true);
        egui::CollapsingHeader::new(RichText::new("Shift test: why convolution").strong())
            .id_salt("shift test")
            .open(unfold)
            .show(ui, |ui| self.shift.ui(ui, lens, dataset));
        self.scored.as_ref()?;
        let mut navigate = None;
        ui.add_space(6.0);
        ui.horizontal_top(|ui| {
            ui.vertical(|ui| {
                let clicked = self
                    .scored
                    .as_ref()
                    .and_then(|scored| matrix_ui(ui, lens, scored, self.cell));
                if let Some(cell) = clicked {
                    self.cell = if self.cell == Some(cell) { None } else { Some(cell) };
                    self.shown = GALLERY_PAGE;
                }
            });
            ui.separator();
            ui.vertical(|ui| {
                navigate = self.gallery_ui(ui, lens, dataset);
                self.highlight_texts(ui.ctx(), lens, dataset);
            });
        });
        navigate
    }

    /// Starts (or collects) the Grad-CAM of the open cell's texts, for their highlighted snippets.
    fn highlight_texts(&mut self, ctx: &egui::Context, lens: &Arc<Lens>, dataset: &Arc<Dataset>) {
        if dataset.vocabulary().is_none() {
            return;
        }
        if let Some((_, _, job)) = &mut self.highlights
            && let Some(result) = job.poll()
            && let Ok(found) = result
        {
            self.highlighted.extend(found);
        }
        let (Some(cell), Some((members_cell, members))) = (self.cell, &self.members) else {
            return;
        };
        if *members_cell != cell || self.highlights.as_ref().is_some_and(|(c, id, _)| *c == cell && *id == lens.id) {
            return;
        }
        self.highlighted.clear();
        let samples: Vec<usize> = members.iter().take(GALLERY_PAGE).map(|&(i, _)| i).collect();
        let (lens, dataset) = (lens.clone(), dataset.clone());
        let id = lens.id;
        let job = Job::spawn("finding the evidence", samples.len(), Some(ctx.clone()), move |handle| {
            super::features_1d::gallery_highlights(&lens, &dataset, &samples, cell.1, &mut |done| handle.progress(done))
        });
        self.highlights = Some((cell, id, job));
    }

    fn gallery_ui(&mut self, ui: &mut Ui, lens: &Lens, dataset: &Dataset) -> Option<Navigate> {
        let (Some(scored), Some(cell)) = (&self.scored, self.cell) else {
            ui.label(RichText::new("Click a cell to see its images.").weak());
            return None;
        };
        let (truth, predicted) = cell;
        if self.members.as_ref().is_none_or(|(c, _)| *c != cell) {
            let members = cell_members(&scored.evaluation, &scored.labels, truth, predicted);
            self.members = Some((cell, members));
        }
        let members = self.members.as_ref().map(|(_, m)| m.as_slice()).unwrap_or(&[]);
        let things = if dataset.is_sequence() { "samples" } else { "images" };
        let title = if truth == predicted {
            format!("{}: right, {} {things}", lens.class_name(truth), members.len())
        } else {
            format!(
                "{} taken for {}: {} {things}",
                lens.class_name(truth),
                lens.class_name(predicted),
                members.len()
            )
        };
        ui.heading(title);
        ui.label(RichText::new("Most confident first. Click one to see its feature maps.").weak());
        let (_, split) = browse_split(dataset);
        let mut navigate = None;
        egui::ScrollArea::vertical()
            .id_salt("gallery")
            .auto_shrink([false, false])
            .show(ui, |ui| {
                // Signals as sparklines, texts as their first words, images as thumbnails.
                let sequences = dataset.is_sequence();
                let tile = if sequences { 132.0 } else { 64.0 };
                let columns = ((ui.available_width() / tile) as usize).max(1);
                let page: Vec<(usize, f32)> = members.iter().take(self.shown).copied().collect();
                for row in page.chunks(columns) {
                    ui.horizontal(|ui| {
                        ui.spacing_mut().item_spacing = vec2(6.0, 6.0);
                        for &(index, confidence) in row {
                            let (response, label) = if sequences {
                                let heat = self.highlighted.get(&index).map(Vec::as_slice);
                                let response = sequence_tile(ui, dataset, split, index, confidence, heat);
                                (response, format!("gallery sample {index}"))
                            } else {
                                let Some(pixels) = split.get_image(index) else {
                                    continue;
                                };
                                let texture = self.thumbs.entry(index).or_insert_with(|| {
                                    let image =
                                        colormap::pixels_image(pixels, dataset.channels, dataset.height, dataset.width);
                                    ui.ctx()
                                        .load_texture(format!("gallery {index}"), image, TextureOptions::NEAREST)
                                });
                                let response = ui
                                    .vertical(|ui| {
                                        let image = egui::Image::new((texture.id(), vec2(52.0, 52.0)));
                                        let r = ui.add(egui::Button::image(image));
                                        ui.label(RichText::new(format!("{:.0}%", confidence * 100.0)).small());
                                        r
                                    })
                                    .inner;
                                (response, format!("gallery image {index}"))
                            };
                            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
                            let hover = format!(
                                "#{}: {:.1}% sure it is {}",
                                index + 1,
                                confidence * 100.0,
                                lens.class_name(predicted)
                            );
                            if response.on_hover_text(hover).clicked() {
                                navigate = Some(Navigate::Sample {
                                    room: "feature-maps",
                                    index,
                                });
                            }
                        }
                    });
                }
                if members.len() > self.shown
                    && ui
                        .button(format!("Show more ({} left)", members.len() - self.shown))
                        .clicked()
                {
                    self.shown += GALLERY_PAGE;
                }
            });
        if self.thumbs.len() > 2048 {
            self.thumbs.clear();
        }
        navigate
    }
}

/// The off-diagonal cell with the most images.
fn most_confused(confusion: &[Vec<usize>]) -> Option<(usize, usize)> {
    let mut best = None;
    for (t, row) in confusion.iter().enumerate() {
        for (p, &n) in row.iter().enumerate() {
            if t != p && n > 0 && best.is_none_or(|(_, _, m)| n > m) {
                best = Some((t, p, n));
            }
        }
    }
    best.map(|(t, p, _)| (t, p))
}

/// Draws the heat map; returns the clicked cell.
fn matrix_ui(ui: &mut Ui, lens: &Lens, scored: &Scored, open: Option<(usize, usize)>) -> Option<(usize, usize)> {
    let confusion = &scored.evaluation.confusion;
    let k = confusion.len();
    let cell = (420.0 / k.max(1) as f32).clamp(22.0, 46.0);
    let name_w = 110.0;
    let acc_w = 92.0;
    let header = 34.0;
    let scale = Scale {
        map: Map::Viridis,
        lo: 0.0,
        hi: 1.0,
    };
    let text_color = ui.visuals().text_color();
    ui.label(
        RichText::new("Rows: true class · columns: predicted class · colour: share of the row")
            .small()
            .weak(),
    );
    let size = vec2(name_w + k as f32 * cell + acc_w, header + k as f32 * cell + 20.0);
    let (rect, _) = ui.allocate_exact_size(size, Sense::hover());
    let origin = rect.min + vec2(name_w, header);
    let painter = ui.painter_at(rect);
    let small = FontId::proportional(11.0);
    painter.text(
        pos2(origin.x + k as f32 * cell / 2.0, rect.top()),
        Align2::CENTER_TOP,
        "predicted →",
        small.clone(),
        text_color,
    );
    for p in 0..k {
        painter.text(
            pos2(origin.x + (p as f32 + 0.5) * cell, origin.y - 3.0),
            Align2::CENTER_BOTTOM,
            fit_label(&painter, &lens.class_name(p), &small, cell - 2.0),
            small.clone(),
            text_color,
        );
    }
    painter.text(
        pos2(origin.x + k as f32 * cell + 8.0, origin.y - 3.0),
        Align2::LEFT_BOTTOM,
        "class accuracy",
        small.clone(),
        text_color,
    );
    let per_class = scored.evaluation.per_class_accuracy();
    let mut clicked = None;
    for (t, row) in confusion.iter().enumerate() {
        let total: usize = row.iter().sum();
        let y = origin.y + t as f32 * cell;
        painter.text(
            pos2(origin.x - 6.0, y + cell / 2.0),
            Align2::RIGHT_CENTER,
            fit_label(&painter, &lens.class_name(t), &small, name_w - 8.0),
            small.clone(),
            text_color,
        );
        for (p, &n) in row.iter().enumerate() {
            let r = Rect::from_min_size(pos2(origin.x + p as f32 * cell, y), vec2(cell, cell));
            let share = n as f32 / total.max(1) as f32;
            let fill = if n == 0 {
                ui.visuals().extreme_bg_color
            } else {
                scale.color(share.sqrt())
            };
            painter.rect_filled(r.shrink(0.5), 1.0, fill);
            if n > 0 {
                let ink = if fill.intensity() > 0.5 {
                    Color32::BLACK
                } else {
                    Color32::WHITE
                };
                painter.text(
                    r.center(),
                    Align2::CENTER_CENTER,
                    n.to_string(),
                    FontId::monospace(10.5),
                    ink,
                );
            }
            let response = ui.interact(r, egui::Id::unique(("confusion cell", t, p)), Sense::click());
            let label = format!("cell {} → {}", lens.class_name(t), lens.class_name(p));
            response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, &label));
            if open == Some((t, p)) {
                painter.rect_stroke(
                    r,
                    1.0,
                    Stroke::new(2.5, Color32::from_rgb(255, 80, 80)),
                    egui::StrokeKind::Inside,
                );
            } else if response.hovered() {
                painter.rect_stroke(r, 1.0, Stroke::new(1.5, text_color), egui::StrokeKind::Inside);
            }
            let response = response.on_hover_text(format!(
                "{n} {} image(s) predicted as {} ({:.1}% of the row)",
                lens.class_name(t),
                lens.class_name(p),
                share * 100.0
            ));
            if response.clicked() {
                clicked = Some((t, p));
            }
        }
        let bar_x = origin.x + k as f32 * cell + 8.0;
        if let Some(Some(acc)) = per_class.get(t) {
            let bar = Rect::from_min_size(pos2(bar_x, y + cell * 0.3), vec2(acc * (acc_w - 48.0), cell * 0.4));
            painter.rect_filled(bar, 1.0, scale.color(*acc));
            painter.text(
                pos2(bar_x + acc_w - 6.0, y + cell / 2.0),
                Align2::RIGHT_CENTER,
                format!("{:.0}%", acc * 100.0),
                FontId::monospace(10.5),
                text_color,
            );
        }
    }
    painter.text(
        pos2(rect.left(), origin.y + k as f32 * cell + 4.0),
        Align2::LEFT_TOP,
        "↑ true",
        small,
        text_color,
    );
    colormap::colorbar(
        ui,
        &scale,
        200.0,
        "share of the true class's images (colour uses √share)",
    );
    clicked
}

/// One sequence of the gallery: a signal's sparkline or a text's first tokens, with the
/// model's confidence under it.
fn sequence_tile(
    ui: &mut Ui,
    dataset: &Dataset,
    split: &crate::data::Split,
    index: usize,
    confidence: f32,
    heat: Option<&[f32]>,
) -> egui::Response {
    let (rect, response) = ui.allocate_exact_size(vec2(126.0, 56.0), Sense::click());
    let painter = ui.painter_at(rect);
    let plot = Rect::from_min_size(rect.min, vec2(rect.width(), 40.0));
    let values = split.sequence(index);
    match dataset.vocabulary() {
        Some(vocabulary) => {
            painter.rect_filled(plot, 2.0, ui.visuals().extreme_bg_color);
            // The first tokens, each on the colour of its evidence for the predicted class.
            let gap = if vocabulary.level == crate::data::TokenLevel::Words { " " } else { "" };
            let mut job = egui::text::LayoutJob::default();
            for (t, &id) in values.iter().enumerate().filter(|(_, id)| **id >= 1.0).take(40) {
                let h = heat.and_then(|h| h.get(t)).copied().unwrap_or(0.0);
                let background = if h > 0.05 {
                    Color32::from_rgba_unmultiplied(255, 150, 0, (h * 170.0) as u8)
                } else {
                    Color32::TRANSPARENT
                };
                job.append(
                    &format!("{}{gap}", vocabulary.token(id as u32)),
                    0.0,
                    egui::TextFormat {
                        font_id: FontId::proportional(10.0),
                        color: ui.visuals().text_color(),
                        background,
                        ..Default::default()
                    },
                );
            }
            job.wrap.max_width = plot.width() - 4.0;
            let galley = painter.layout_job(job);
            painter.galley(plot.min + vec2(2.0, 1.0), galley, ui.visuals().text_color());
        }
        None => {
            let series = super::sparkline::Series {
                values,
                channels: dataset.channels,
            };
            super::sparkline::draw(&painter, ui.visuals(), plot, &series, ui.visuals().strong_text_color(), None);
        }
    }
    if response.hovered() {
        painter.rect_stroke(plot, 2.0, Stroke::new(1.5, ui.visuals().text_color()), egui::StrokeKind::Outside);
    }
    painter.text(
        pos2(rect.left(), plot.bottom() + 2.0),
        Align2::LEFT_TOP,
        format!("{:.0}%", confidence * 100.0),
        FontId::proportional(10.0),
        ui.visuals().text_color(),
    );
    response
}

impl Room for MistakesView {
    fn busy(&self, showcase: bool) -> bool {
        MistakesView::busy(self, showcase)
    }

    fn ui(&mut self, ui: &mut Ui, at: RoomContext<'_>) -> Option<Navigate> {
        MistakesView::ui(self, ui, at.lens, at.dataset, at.showcase)
    }

    fn as_any(&self) -> &dyn std::any::Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn std::any::Any {
        self
    }
}
