//! Compare runs: several experiments' loss and accuracy curves in one figure (one colour per
//! run, the legend naming each run and the settings that set it apart), with a table of settings
//! and final metrics side by side, exportable as CSV. How a student sees "too many filters
//! overfit": `filters: 8` against `filters: 256` on the same data.

use super::commands::{AppCommand, CommandQueue};
use super::rooms::colormap::series_color;
use crate::experiment::Experiment;
use egui::{RichText, Ui};
use egui_plot::{Corner, Legend, Line, MarkerShape, Plot, PlotPoints, Points};
use std::path::{Path, PathBuf};

/// Points of the screen's height the window leaves to the menu bar, the status bar and its own
/// title bar.
const WINDOW_MARGIN: f32 = 140.0;

/// A run on the figure: an experiment's file (or the one being edited) and its history.
#[derive(Clone, Debug)]
pub struct Run {
    pub name: String,
    pub path: Option<PathBuf>,
    pub experiment: Experiment,
    /// Counted once, when the run is added (the table is drawn every frame).
    pub params: u64,
}

#[derive(Default)]
pub struct Compare {
    pub open: bool,
    runs: Vec<Run>,
    /// What sets each run apart, recomputed when the runs change.
    differences: Vec<String>,
    log_loss: bool,
    /// Where the figure (both plots) was drawn last frame, for the PNG export.
    figure: Option<egui::Rect>,
}

impl Compare {
    pub fn runs(&self) -> &[Run] {
        &self.runs
    }

    /// Adds `experiment` (replacing a run of the same file or name).
    pub fn add(&mut self, experiment: Experiment, path: Option<&Path>) {
        let name = experiment.name.clone();
        // The same file, or (for the experiment being edited) the same name, is replaced.
        let same = |r: &Run| match path {
            Some(path) => r.path.as_deref() == Some(path),
            None => r.path.is_none() && r.name == name,
        };
        self.runs.retain(|r| !same(r));
        self.runs.push(Run {
            name,
            path: path.map(Path::to_path_buf),
            params: parameters(&experiment),
            experiment,
        });
        self.open = true;
        self.runs_changed();
    }

    /// Where the figure is on screen, while the window is open.
    pub fn figure_area(&self) -> Option<egui::Rect> {
        self.figure.filter(|_| self.open)
    }

    /// For each run, the settings in which it differs from the others (layers by number).
    pub fn differences(&self) -> &[String] {
        &self.differences
    }

    fn runs_changed(&mut self) {
        let depth = self.runs.first().map(|r| r.experiment.layers.len());
        let same_depth = self.runs.iter().all(|r| Some(r.experiment.layers.len()) == depth);
        let settings: Vec<Vec<(String, String)>> = self
            .runs
            .iter()
            .map(|r| settings_of(&r.experiment, same_depth))
            .collect();
        self.differences = settings
            .iter()
            .map(|mine| {
                mine.iter()
                    .filter(|(key, value)| {
                        settings
                            .iter()
                            .any(|other| other.iter().find(|(k, _)| k == key).is_none_or(|(_, v)| v != value))
                    })
                    .map(|(key, value)| format!("{key}: {value}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect();
    }

    /// The table as CSV: one row per run with its differing settings and final metrics.
    pub fn table_csv(&self) -> String {
        let mut csv = String::from(
            "run,file,differs_in,epochs,final_train_loss,final_train_accuracy,final_val_loss,final_val_accuracy,parameters\n",
        );
        let quote = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
        let opt = |v: Option<f32>| v.map_or_else(String::new, |v| v.to_string());
        for (run, differs) in self.runs.iter().zip(&self.differences) {
            let last = run.experiment.history.last();
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{},{}\n",
                quote(&run.name),
                quote(&run.path.as_ref().map_or_else(String::new, |p| p.display().to_string())),
                quote(differs),
                run.experiment.history.len(),
                opt(last.map(|r| r.train_loss)),
                opt(last.map(|r| r.train_accuracy)),
                opt(last.and_then(|r| r.val_loss)),
                opt(last.and_then(|r| r.val_accuracy)),
                run.params,
            ));
        }
        csv
    }

    pub fn window_ui(
        &mut self,
        ctx: &egui::Context,
        current: &Experiment,
        current_path: Option<&Path>,
        recent: &[PathBuf],
        commands: &CommandQueue,
    ) {
        let mut open = self.open;
        egui::Window::new("Compare runs")
            .open(&mut open)
            .default_width(760.0)
            .default_pos(ctx.content_rect().left_top() + egui::vec2(24.0, 64.0))
            .show(ctx, |ui| {
                egui::ScrollArea::vertical()
                    .max_height(ctx.content_rect().height() - WINDOW_MARGIN)
                    .min_scrolled_height((ctx.content_rect().height() - WINDOW_MARGIN).min(560.0))
                    .show(ui, |ui| {
                        self.ui(ui, current, current_path, recent, commands);
                    })
            });
        self.open = open;
    }

    fn ui(
        &mut self,
        ui: &mut Ui,
        current: &Experiment,
        current_path: Option<&Path>,
        recent: &[PathBuf],
        commands: &CommandQueue,
    ) {
        ui.horizontal_wrapped(|ui| {
            if ui.button("➕ This experiment").clicked() {
                self.add(current.clone(), current_path);
            }
            ui.menu_button("➕ A recent file", |ui| {
                if recent.is_empty() {
                    ui.weak("no recent files");
                }
                for path in recent {
                    if ui.button(path.display().to_string()).clicked() {
                        commands.send(AppCommand::CompareAdd(path.clone()));
                    }
                }
            });
            if ui.button("➕ A file…").clicked() {
                commands.send(AppCommand::CompareAddDialog);
            }
            ui.checkbox(&mut self.log_loss, "log loss");
            if ui
                .add_enabled(!self.runs.is_empty(), egui::Button::new("Export table CSV…"))
                .clicked()
            {
                commands.send(AppCommand::CompareCsvDialog);
            }
            if ui
                .add_enabled(!self.runs.is_empty(), egui::Button::new("Export figure PNG…"))
                .on_hover_text("Both plots with their legends, at the screen's resolution")
                .clicked()
            {
                commands.send(AppCommand::ComparePngDialog);
            }
            if ui
                .add_enabled(!self.runs.is_empty(), egui::Button::new("Clear"))
                .clicked()
            {
                self.runs.clear();
                self.runs_changed();
            }
        });
        if self.runs.is_empty() {
            self.figure = None;
            ui.label(
                RichText::new(
                    "Add two or more trained experiments (e.g. the same model with filters 8 and with \
                     filters 256) to see their curves together.",
                )
                .weak(),
            );
            return;
        }
        let differences = &self.differences;
        // One legend entry per run (its train and validation curves share it), kept short: the
        // table below has every difference in full.
        let label = |i: usize| {
            let run = &self.runs[i];
            if differences[i].is_empty() {
                run.name.clone()
            } else {
                shorten(&format!("{} ({})", run.name, differences[i]), LEGEND_CHARS)
            }
        };
        // The figure: the key, both plots with their axes and legends (what the PNG keeps).
        let figure = ui.vertical(|ui| {
            ui.label(
                RichText::new("solid line, ●: training · dashed line, ◆: validation")
                    .small()
                    .weak(),
            );
            let log = self.log_loss;
            let to_y = move |v: f32| if log { (v.max(1e-6) as f64).log10() } else { v as f64 };
            // Both plots in view without scrolling where the window allows (below them the
            // table scrolls): 200 points each, less on short screens (1280×720 at 150%).
            let room = ui.ctx().content_rect().height() - WINDOW_MARGIN - 90.0;
            let height = (room / 2.0).clamp(120.0, 200.0);
            let loss = Plot::new("compare loss");
            super::plots::with_y_axis(loss, if log { "loss (log scale)" } else { "loss" }, log)
                .height(height)
                .legend(Legend::default().position(Corner::RightTop))
                .x_axis_label("epoch")
                .include_x(0.0)
                .include_y(if log { to_y(1.0) } else { 0.0 })
                .show(ui, |plot| {
                    for (i, run) in self.runs.iter().enumerate() {
                        let color = series_color(i);
                        let h = &run.experiment.history;
                        let train: Vec<[f64; 2]> = h.iter().map(|r| [r.epoch as f64, to_y(r.train_loss)]).collect();
                        let val: Vec<[f64; 2]> = h
                            .iter()
                            .filter_map(|r| r.val_loss.map(|v| [r.epoch as f64, to_y(v)]))
                            .collect();
                        plot.line(
                            Line::new(label(i), PlotPoints::from(train.clone()))
                                .color(color)
                                .width(1.8),
                        );
                        plot.points(
                            Points::new(label(i), PlotPoints::from(train))
                                .color(color)
                                .shape(MarkerShape::Circle)
                                .radius(3.0),
                        );
                        if !val.is_empty() {
                            plot.line(
                                Line::new(label(i), PlotPoints::from(val.clone()))
                                    .color(color)
                                    .style(egui_plot::LineStyle::dashed_loose()),
                            );
                            plot.points(
                                Points::new(label(i), PlotPoints::from(val))
                                    .color(color)
                                    .shape(MarkerShape::Diamond)
                                    .radius(3.5),
                            );
                        }
                    }
                });
            super::plots::with_y_axis(Plot::new("compare accuracy"), "accuracy %", false)
                .height(height)
                .legend(Legend::default().position(Corner::RightBottom))
                .x_axis_label("epoch")
                .include_x(0.0)
                .include_y(0.0)
                .include_y(100.0)
                .show(ui, |plot| {
                    for (i, run) in self.runs.iter().enumerate() {
                        let color = series_color(i);
                        let h = &run.experiment.history;
                        let train: Vec<[f64; 2]> = h
                            .iter()
                            .map(|r| [r.epoch as f64, r.train_accuracy as f64 * 100.0])
                            .collect();
                        let val: Vec<[f64; 2]> = h
                            .iter()
                            .filter_map(|r| r.val_accuracy.map(|v| [r.epoch as f64, v as f64 * 100.0]))
                            .collect();
                        plot.line(Line::new(label(i), PlotPoints::from(train)).color(color).width(1.8));
                        if !val.is_empty() {
                            plot.line(
                                Line::new(label(i), PlotPoints::from(val))
                                    .color(color)
                                    .style(egui_plot::LineStyle::dashed_loose()),
                            );
                        }
                    }
                });
        });
        self.figure = Some(figure.response.rect);
        let mut remove = None;
        egui::Grid::new("compare table").striped(true).show(ui, |ui| {
            for title in [
                "run",
                "differs in",
                "epochs",
                "train loss",
                "train acc.",
                "val. acc.",
                "parameters",
                "",
            ] {
                ui.strong(title);
            }
            ui.end_row();
            for (i, run) in self.runs.iter().enumerate() {
                let last = run.experiment.history.last();
                ui.label(RichText::new(&run.name).color(series_color(i)).strong())
                    .on_hover_text(
                        run.path
                            .as_ref()
                            .map_or_else(|| "the experiment being edited".into(), |p| p.display().to_string()),
                    );
                ui.scope(|ui| {
                    ui.set_max_width(360.0);
                    ui.add(egui::Label::new(&differences[i]).wrap())
                        .on_hover_text(&differences[i]);
                });
                ui.monospace(run.experiment.history.len().to_string());
                ui.monospace(last.map_or("—".into(), |r| format!("{:.4}", r.train_loss)));
                ui.monospace(last.map_or("—".into(), |r| format!("{:.1}%", r.train_accuracy * 100.0)));
                ui.monospace(
                    last.and_then(|r| r.val_accuracy)
                        .map_or("—".into(), |a| format!("{:.1}%", a * 100.0)),
                );
                ui.monospace(crate::cnn::summary::group_digits(run.params));
                if ui
                    .small_button("✖")
                    .on_hover_text("Remove from the comparison")
                    .clicked()
                {
                    remove = Some(i);
                }
                ui.end_row();
            }
        });
        if let Some(i) = remove {
            self.runs.remove(i);
            self.runs_changed();
        }
    }
}

/// The settings a run is told apart by: each layer's description, and the training settings.
/// The settings compared. Layer by layer when every run has as many layers (`same_depth`);
/// otherwise the models differ as wholes and one line names each model's layers.
fn settings_of(e: &Experiment, same_depth: bool) -> Vec<(String, String)> {
    let t = &e.training;
    let mut settings: Vec<(String, String)> = if same_depth {
        e.layers
            .iter()
            .enumerate()
            .map(|(i, l)| (format!("layer {}", i + 1), l.describe()))
            .collect()
    } else {
        let kinds: Vec<&str> = e.layers.iter().map(|l| l.kind()).collect();
        vec![("layers".to_string(), format!("{} ({})", kinds.len(), kinds.join(" → ")))]
    };
    settings.extend([
        ("dataset".to_string(), e.dataset.label()),
        ("optimizer".to_string(), format!("{:?}", t.optimizer)),
        ("learning rate".to_string(), t.learning_rate.to_string()),
        ("batch".to_string(), t.batch_size.to_string()),
        ("shift".to_string(), t.augmentation.random_shift.to_string()),
        ("seed".to_string(), e.seed.to_string()),
    ]);
    settings
}

/// Characters of a legend entry.
const LEGEND_CHARS: usize = 60;

/// `text`, cut to `max` characters with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

fn parameters(e: &Experiment) -> u64 {
    crate::cnn::analyze(e.input.shape(), &e.layers, None)
        .summary
        .layers
        .iter()
        .map(|l| l.params())
        .sum()
}
