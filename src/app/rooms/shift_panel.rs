//! The shift test in the Mistakes room: the test split's accuracy with every image moved by
//! 0…K pixels (every sequence by 0…K units of steps), scored in the background, one curve per
//! model looked at in this session, so a dense model and a CNN sit side by side with their
//! parameter counts.

use super::jobs::Job;
use super::lens::{Lens, browse_split, prepare};
use super::{colormap, sparkline};
use crate::cnn::summary::group_digits;
use crate::data::Dataset;
use crate::inspect::{shift_accuracy, shift_work, shifted};
use egui::{RichText, TextureHandle, TextureOptions, Ui, vec2};
use egui_plot::{Corner, Legend, Line, MarkerShape, Plot, PlotPoints, Points};
use std::path::PathBuf;
use std::sync::Arc;

/// Shifts 0…MAX_SHIFT units: pixels of an image, [`Units::step`] steps of a sequence.
const MAX_SHIFT: usize = 4;
/// Curves kept (the newest per model name).
const MAX_CURVES: usize = 6;

/// What one unit of shift is on a dataset.
struct Units {
    /// Pixels (or steps) per unit: 1 pixel, or 1/32 of a sequence (4 steps of 128), so the
    /// largest shift moves both about as far for their size (4 of 28 pixels, 16 of 128 steps).
    step: usize,
    /// "px" or "steps" in the table, "pixels" or "steps" on the axis.
    short: &'static str,
    long: &'static str,
}

impl Units {
    fn of(dataset: &Dataset) -> Self {
        if dataset.is_sequence() {
            Units {
                step: (dataset.width / 32).max(1),
                short: "steps",
                long: "steps",
            }
        } else {
            Units {
                step: 1,
                short: "px",
                long: "pixels",
            }
        }
    }
}

/// One model's accuracy at each shift.
#[derive(Clone, Debug, PartialEq)]
pub struct ShiftCurve {
    pub name: String,
    pub params: u64,
    /// The weights scored, in words.
    pub weights: String,
    pub accuracy: Vec<f32>,
}

#[derive(Default)]
pub struct ShiftPanel {
    curves: Vec<ShiftCurve>,
    /// The lens the newest curve was scored on.
    scored_lens: Option<u64>,
    /// The running scoring: of a lens (its id), or of an experiment file (`None`).
    job: Option<(Option<u64>, Job<ShiftCurve>)>,
    /// Experiment files waiting to be scored, one after the other.
    queue: Vec<PathBuf>,
    /// Score the model on show without waiting for a click (`--view shift-test`).
    auto_start: bool,
    /// The section should be unfolded once.
    unfold: bool,
    /// "➕ Add a model from a file…" was clicked: the app shows a file dialog.
    wants_file: bool,
    error: Option<String>,
    /// The moved image's pictures, for the dataset (by identity) they were drawn from.
    strip: Option<(usize, Vec<TextureHandle>)>,
}

impl ShiftPanel {
    pub fn busy(&self) -> bool {
        self.job.is_some() || !self.queue.is_empty() || self.auto_start
    }

    /// Scores the model on show as soon as it is ready, then each of `files`.
    pub fn request(&mut self, files: &[PathBuf]) {
        self.auto_start = true;
        self.unfold = true;
        self.queue.extend(files.iter().cloned());
    }

    /// Adds an experiment file's model (scored on its own data) to the curves.
    pub fn add_file(&mut self, path: PathBuf) {
        self.unfold = true;
        self.queue.push(path);
    }

    /// Whether the section should be shown unfolded (once, after a request).
    pub fn take_unfold(&mut self) -> bool {
        std::mem::take(&mut self.unfold)
    }

    /// Whether the user asked for a file to add (once).
    pub fn take_file_request(&mut self) -> bool {
        std::mem::take(&mut self.wants_file)
    }

    pub fn curves(&self) -> &[ShiftCurve] {
        &self.curves
    }

    fn start(&mut self, ctx: &egui::Context, lens: &Arc<Lens>, dataset: &Arc<Dataset>) {
        let (lens, dataset) = (lens.clone(), dataset.clone());
        let id = lens.id;
        let (_, split) = browse_split(&dataset);
        let total = shift_work(split, MAX_SHIFT);
        let job = Job::spawn("shifting the test samples", total, Some(ctx.clone()), move |handle| {
            score(&lens, &dataset, &mut |done| handle.progress(done))
        });
        self.job = Some((Some(id), job));
    }

    /// Loads an experiment file and its data, then scores it like the model on show.
    fn start_file(&mut self, ctx: &egui::Context, path: PathBuf, total: usize) {
        let label = format!(
            "shifting the test samples for {}",
            path.file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
        );
        let job = Job::spawn(label, total, Some(ctx.clone()), move |handle| {
            let experiment = crate::experiment::load(&path)?;
            let base_dir = path.parent().map(PathBuf::from).unwrap_or_default();
            let prepared = prepare(experiment, base_dir, None)?;
            score(&Arc::new(prepared.lens), &prepared.dataset, &mut |done| {
                handle.progress(done)
            })
        });
        self.job = Some((None, job));
    }

    /// Polls the job and draws the section; starts a scoring when `open` and the lens is new.
    pub fn ui(&mut self, ui: &mut Ui, lens: &Arc<Lens>, dataset: &Arc<Dataset>) {
        if let Some((id, job)) = &mut self.job
            && let Some(result) = job.poll()
        {
            let id = *id;
            self.job = None;
            match result {
                Ok(curve) => {
                    self.curves.retain(|c| c.name != curve.name);
                    self.curves.push(curve);
                    if self.curves.len() > MAX_CURVES {
                        self.curves.remove(0);
                    }
                    if id.is_some() {
                        self.scored_lens = id;
                    }
                    self.error = None;
                }
                Err(e) => self.error = Some(format!("{e:#}")),
            }
        }
        let stale = self.scored_lens != Some(lens.id);
        if self.job.is_none() {
            if self.auto_start && stale {
                self.start(ui.ctx(), lens, dataset);
            } else if !self.queue.is_empty() {
                let path = self.queue.remove(0);
                let total = shift_work(browse_split(dataset).1, MAX_SHIFT);
                self.start_file(ui.ctx(), path, total);
            }
            self.auto_start = false;
        }
        let units = Units::of(dataset);
        let step = units.step;
        let text = if dataset.is_sequence() {
            let fill = if dataset.vocabulary().is_some() {
                "padding moves"
            } else {
                "zeros move"
            };
            format!(
                "Why convolution: every test sequence moved {step}, {}, … steps (later and earlier; {fill} \
                 in). A network that learned at which step a pattern is falls fast; one that learned \
                 what it looks like, and pools over the steps, holds. Open another model trained on the \
                 same data (e.g. one with Flatten and Dense instead of the convolutions) to add its curve.",
                2 * step
            )
        } else {
            "Why convolution: every test image moved 1, 2, … pixels (left, right, up, down; zeros \
             move in). A network that learned where strokes are falls fast; one that learned what \
             they look like holds. Open another model (e.g. mnist_dense.ron and mnist_lenet.ron, \
             trained) to add its curve."
                .to_string()
        };
        ui.label(RichText::new(text).weak());
        ui.horizontal(|ui| {
            if let Some((_, job)) = &self.job {
                ui.spinner();
                ui.label(format!("{} · {:.0}%", job.label, job.fraction() * 100.0));
                if ui.button("Cancel").clicked() {
                    self.job = None;
                    self.queue.clear();
                }
            } else if stale
                && ui
                    .button(format!("▶ Run the shift test (0–{} {})", MAX_SHIFT * step, units.long))
                    .on_hover_text(if dataset.is_sequence() {
                        "Scores the test split 1 + 2·K times, in the background"
                    } else {
                        "Scores the test split 1 + 4·K times, in the background"
                    })
                    .clicked()
            {
                self.error = None;
                self.start(ui.ctx(), lens, dataset);
            }
            if self.job.is_none()
                && ui
                    .button("➕ Add a model from a file…")
                    .on_hover_text("Another trained experiment (e.g. mnist_dense.ron beside mnist_lenet.ron), scored on its own test split")
                    .clicked()
            {
                self.wants_file = true;
            }
        });
        if let Some(error) = &self.error {
            ui.colored_label(ui.visuals().error_fg_color, error);
        }
        if dataset.is_sequence() {
            sequence_strip_ui(ui, dataset, step);
        } else {
            self.strip_ui(ui, dataset);
        }
        if self.curves.is_empty() {
            return;
        }
        self.plot_ui(ui, &units);
        egui::Grid::new("shift table").striped(true).show(ui, |ui| {
            ui.strong("model");
            ui.strong("parameters");
            for k in 0..=MAX_SHIFT {
                ui.strong(format!("{} {}", k * step, units.short));
            }
            ui.end_row();
            for curve in &self.curves {
                ui.label(&curve.name).on_hover_text(&curve.weights);
                ui.monospace(group_digits(curve.params));
                for a in &curve.accuracy {
                    ui.monospace(format!("{:.1}%", a * 100.0));
                }
                ui.end_row();
            }
        });
    }

    /// Accuracy against the shift in pixels (or steps).
    fn plot_ui(&self, ui: &mut Ui, units: &Units) {
        let step = units.step;
        const MARKERS: [MarkerShape; 4] = [
            MarkerShape::Circle,
            MarkerShape::Square,
            MarkerShape::Diamond,
            MarkerShape::Up,
        ];
        Plot::new("shift test")
            .height(220.0)
            .width(ui.available_width().clamp(240.0, 520.0))
            .legend(Legend::default().position(Corner::LeftBottom))
            .x_axis_label(format!("shift ({})", units.long))
            .y_axis_label("accuracy %")
            .include_y(0.0)
            .include_y(100.0)
            .include_x(0.0)
            .include_x((MAX_SHIFT * step) as f64)
            .allow_drag(false)
            .allow_zoom(false)
            .allow_scroll(false)
            .show(ui, |plot| {
                for (n, curve) in self.curves.iter().enumerate() {
                    let name = format!("{} ({} parameters)", curve.name, group_digits(curve.params));
                    let points: Vec<[f64; 2]> = curve
                        .accuracy
                        .iter()
                        .enumerate()
                        .map(|(k, a)| [(k * step) as f64, *a as f64 * 100.0])
                        .collect();
                    let color = colormap::series_color(n);
                    plot.line(
                        Line::new(name.clone(), PlotPoints::from(points.clone()))
                            .color(color)
                            .width(1.8),
                    );
                    plot.points(
                        Points::new(name, PlotPoints::from(points))
                            .color(color)
                            .shape(MARKERS[n % MARKERS.len()])
                            .radius(4.0),
                    );
                }
            });
    }

    /// One test image moved right by 0…K pixels, as the model sees it.
    fn strip_ui(&mut self, ui: &mut Ui, dataset: &Arc<Dataset>) {
        let (_, split) = browse_split(dataset);
        if split.is_empty() {
            return;
        }
        let dims = (dataset.channels, dataset.height, dataset.width);
        let key = Arc::as_ptr(dataset) as usize;
        if self.strip.as_ref().is_none_or(|(k, _)| *k != key) {
            let one = crate::data::Split {
                pixels: split.image(0).to_vec(),
                labels: vec![split.labels[0]],
                values: Vec::new(),
            };
            let textures = (0..=MAX_SHIFT)
                .map(|k| {
                    let moved = shifted(&one, dims, 0, k as i64);
                    let image = colormap::pixels_image(&moved.pixels, dataset.channels, dataset.height, dataset.width);
                    ui.ctx()
                        .load_texture(format!("shift strip {k}"), image, TextureOptions::NEAREST)
                })
                .collect();
            self.strip = Some((key, textures));
        }
        if let Some((_, textures)) = &self.strip {
            ui.horizontal(|ui| {
                for (k, texture) in textures.iter().enumerate() {
                    ui.vertical(|ui| {
                        ui.image((texture.id(), vec2(42.0, 42.0)));
                        ui.small(format!("{k} px →"));
                    });
                }
            });
        }
    }
}

/// One test sequence moved later by 0…K units of `step` steps: a signal as sparklines, a text
/// as its first tokens (· for the padding that moves in).
fn sequence_strip_ui(ui: &mut Ui, dataset: &Dataset, step: usize) {
    let (_, split) = browse_split(dataset);
    if split.is_empty() {
        return;
    }
    let one = crate::data::Split {
        pixels: Vec::new(),
        labels: vec![split.labels[0]],
        values: split.sequence(0).to_vec(),
    };
    let dims = (dataset.channels, 1, dataset.width);
    if let Some(vocabulary) = dataset.vocabulary() {
        let gap = if vocabulary.level == crate::data::TokenLevel::Words {
            " "
        } else {
            ""
        };
        egui::Grid::new("shifted text").show(ui, |ui| {
            for k in 0..=MAX_SHIFT {
                let moved = shifted(&one, dims, 0, (k * step) as i64);
                let text: Vec<&str> = moved
                    .values
                    .iter()
                    .take(40)
                    .map(|&id| if id < 1.0 { "·" } else { vocabulary.token(id as u32) })
                    .collect();
                ui.small(format!("{} steps →", k * step));
                ui.label(RichText::new(text.join(gap)).monospace().small());
                ui.end_row();
            }
        });
        return;
    }
    ui.horizontal(|ui| {
        for k in 0..=MAX_SHIFT {
            let moved = shifted(&one, dims, 0, (k * step) as i64);
            ui.vertical(|ui| {
                let (rect, _) = ui.allocate_exact_size(vec2(96.0, 36.0), egui::Sense::hover());
                let series = sparkline::Series {
                    values: &moved.values,
                    channels: dataset.channels,
                };
                let color = ui.visuals().strong_text_color();
                sparkline::draw(&ui.painter_at(rect), ui.visuals(), rect, &series, color, None);
                ui.small(format!("{} steps →", k * step));
            });
        }
    });
}

/// The accuracy of `lens`'s model on `dataset`'s browsed split, shifted by 0…MAX_SHIFT units.
fn score(
    lens: &Arc<Lens>,
    dataset: &Arc<Dataset>,
    progress: &mut dyn FnMut(usize) -> bool,
) -> anyhow::Result<ShiftCurve> {
    let (_, split) = browse_split(dataset);
    let mut model = lens.model()?;
    let dims = (dataset.channels, dataset.height, dataset.width);
    let accuracy = shift_accuracy(
        &mut model,
        split,
        dims,
        lens.input,
        &lens.normalization,
        MAX_SHIFT,
        Units::of(dataset).step,
        &mut |done, _| progress(done),
    )?
    .ok_or_else(|| anyhow::anyhow!("cancelled"))?;
    Ok(ShiftCurve {
        name: lens.name.clone(),
        params: lens.infos.iter().map(|i| i.params()).sum(),
        weights: lens.describe(),
        accuracy,
    })
}
