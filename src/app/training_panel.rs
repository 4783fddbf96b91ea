//! Training: the run's buttons (Train, Pause / Resume, Step, Stop), its progress (epoch,
//! batch, images/s, ETA) and the settings stored in the experiment (optimizer, learning rate,
//! schedule, batch size, epochs, seed, validation split, augmentation).

use super::commands::AppCommand;
use super::context::LabContext;
use super::layer_fields::drag;
use super::training_run::{Phase, format_duration};
use crate::cnn::{LrSchedule, OptimizerKind};
use crate::experiment::Edit;
use crate::experiment::Training;
use egui::{Button, RichText, Ui};

#[derive(Default)]
pub struct TrainingPanel;

impl TrainingPanel {
    pub fn ui(&mut self, ui: &mut Ui, lab: &LabContext) {
        ui.horizontal(|ui| {
            ui.strong("Training");
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let tip = "hide the training panel";
                if ui
                    .small_button("⏵")
                    .on_hover_text(
                        "Hide the training panel: more room for the model and the rooms (View ▸ Training panel)",
                    )
                    .accessible_name(tip)
                    .clicked()
                {
                    lab.commands.send(AppCommand::ShowTrainingPanel(false));
                }
            });
        });
        controls_ui(ui, lab);
        ui.add_space(4.0);
        progress_ui(ui, lab);
        ui.add_space(4.0);
        // On a short screen the settings start folded, so the curves are in view.
        egui::CollapsingHeader::new(RichText::new("Training settings").strong())
            .default_open(ui.ctx().content_rect().height() >= 640.0)
            .show(ui, |ui| settings_ui(ui, lab));
    }
}

/// The hidden panel's strip: show it again, and train, pause or stop without it.
pub fn strip_ui(ui: &mut Ui, lab: &LabContext) {
    ui.vertical_centered(|ui| {
        ui.add_space(4.0);
        let icon = |ui: &mut Ui, enabled: bool, icon: &str, name: &str, tip: &str| {
            ui.add_enabled(enabled, Button::new(icon).min_size(egui::vec2(24.0, 24.0)))
                .on_hover_text(tip)
                .accessible_name(name)
                .clicked()
        };
        if icon(
            ui,
            true,
            "⏴",
            "show the training panel",
            "Show the training panel (View ▸ Training panel)",
        ) {
            lab.commands.send(AppCommand::ShowTrainingPanel(true));
        }
        ui.separator();
        let run = lab.run;
        let paused = run.is_some_and(|r| r.is_paused());
        match run {
            None => {
                if icon(ui, lab.blocker.is_none(), "▶", "Train", "Train (F5)") {
                    lab.commands.send(AppCommand::StartTraining);
                }
            }
            Some(_) if paused => {
                if icon(ui, true, "▶", "Resume", "Resume (F6)") {
                    lab.commands.send(AppCommand::Resume);
                }
            }
            Some(_) => {
                if icon(ui, true, "⏸", "Pause", "Pause (F6)") {
                    lab.commands.send(AppCommand::Pause);
                }
            }
        }
        if icon(
            ui,
            run.is_some(),
            "⏹",
            "Stop",
            "Stop and keep what was learned (Shift+F5)",
        ) {
            lab.commands.send(AppCommand::Stop);
        }
        if let Some(run) = run {
            ui.add_space(6.0);
            let percent = (run.fraction() * 100.0).round();
            ui.small(format!("{percent}%"))
                .on_hover_text(format!("Training: {percent}% of the run done"));
        }
    });
}

fn controls_ui(ui: &mut Ui, lab: &LabContext) {
    let run = lab.run;
    let paused = run.is_some_and(|r| r.is_paused());
    ui.horizontal_wrapped(|ui| {
        let can_start = run.is_none() && lab.blocker.is_none();
        let trained = lab.experiment.weights.is_some() && lab.weights_fit;
        let label = if trained && lab.experiment.resume.is_some() {
            "▶ Continue training"
        } else if trained {
            "▶ Train more"
        } else {
            "▶ Train"
        };
        // The one button a student looks for: accented while it can be pressed.
        let button = if can_start {
            Button::new(RichText::new(label).strong().color(egui::Color32::WHITE))
                .fill(egui::Color32::from_rgb(37, 99, 235))
        } else {
            Button::new(RichText::new(label).strong())
        };
        let train = ui
            .add_enabled(can_start, button.min_size(egui::vec2(96.0, 26.0)))
            .on_hover_text(if trained {
                "Train the epochs set below, starting from the current weights (F5)"
            } else {
                "Train from new weights (F5)"
            })
            .on_disabled_hover_text(match (&lab.blocker, run) {
                (_, Some(_)) => "A run is already active".to_string(),
                (Some(reason), None) => reason.to_string(),
                (None, None) => String::new(),
            })
            .accessible_name("Train");
        if train.clicked() {
            lab.commands.send(AppCommand::StartTraining);
        }
        if paused {
            if ui
                .button("▶ Resume")
                .on_hover_text("F6")
                .accessible_name("Resume")
                .clicked()
            {
                lab.commands.send(AppCommand::Resume);
            }
        } else if ui
            .add_enabled(run.is_some(), Button::new("⏸ Pause"))
            .on_hover_text("Pause after the current batch (F6)")
            .accessible_name("Pause")
            .clicked()
        {
            lab.commands.send(AppCommand::Pause);
        }
        if ui
            .add_enabled(paused || can_start, Button::new("⏭ Step"))
            .on_hover_text("Train exactly one batch, then pause (F10)")
            .accessible_name("Step")
            .clicked()
        {
            lab.commands.send(AppCommand::Step);
        }
        if ui
            .add_enabled(run.is_some(), Button::new("⏹ Stop"))
            .on_hover_text("Stop after the current batch and keep what was learned; Train continues later (Shift+F5)")
            .accessible_name("Stop")
            .clicked()
        {
            lab.commands.send(AppCommand::Stop);
        }
        if ui
            .add_enabled(
                run.is_none() && lab.experiment.weights.is_some(),
                Button::new("↺ Reset"),
            )
            .on_hover_text("Forget the trained weights and history: the next run starts from the seed")
            .accessible_name("Reset weights")
            .clicked()
        {
            lab.commands.edit(Edit::ResetWeights);
        }
    });
    if let (Some(reason), None) = (&lab.blocker, run) {
        ui.label(RichText::new(format!("Cannot train yet: {reason}")).color(ui.visuals().error_fg_color));
    }
}

fn progress_ui(ui: &mut Ui, lab: &LabContext) {
    let Some(run) = lab.run else {
        let epochs = lab.epochs;
        match epochs.last() {
            Some(last) => {
                let val = last
                    .val_accuracy
                    .map_or_else(String::new, |a| format!(", validation accuracy {:.1}%", a * 100.0));
                ui.label(format!(
                    "Trained {} epochs: loss {:.4}, accuracy {:.1}%{val}",
                    epochs.len(),
                    last.train_loss,
                    last.train_accuracy * 100.0
                ));
            }
            None if lab.experiment.weights.is_some() => {
                ui.label("Trained part of an epoch: no epoch has finished yet.");
            }
            None => {
                ui.weak("Not trained yet.");
            }
        }
        if let Some(summary) = lab.last_summary
            && let Some(test) = summary.test_accuracy
        {
            ui.label(RichText::new(format!("Test accuracy {:.2}%", test * 100.0)).strong());
        }
        if let Some((done, total)) = lab.scoring {
            ui.horizontal(|ui| {
                let fraction = if total == 0 { 0.0 } else { done as f32 / total as f32 };
                let text = format!("scoring the test split: {done} of {total} images");
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .text(&text)
                        .desired_width((ui.available_width() - 80.0).max(80.0)),
                )
                .accessible_name(text);
                if ui
                    .button("Cancel")
                    .on_hover_text("Stop scoring; the trained weights are kept, the test accuracy stays unknown")
                    .accessible_name("Cancel scoring")
                    .clicked()
                {
                    lab.commands.send(AppCommand::CancelScoring);
                }
            });
        }
        return;
    };
    let p = run.progress;
    let (text, spinner) = match &run.phase {
        Phase::Preparing(what) => (format!("{what}…"), true),
        Phase::Paused => (
            format!(
                "paused · epoch {}/{} · batch {}/{}",
                p.epoch, p.last_epoch, p.batch, p.batches
            ),
            false,
        ),
        Phase::Running => (
            format!("epoch {}/{} · batch {}/{}", p.epoch, p.last_epoch, p.batch, p.batches),
            false,
        ),
    };
    if spinner {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label(&text);
        });
    }
    let fraction = run.fraction();
    let label = if spinner {
        String::new()
    } else {
        format!("{text} · {:.0}%", fraction * 100.0)
    };
    // The bar's own track is barely visible in the light theme: give it an outline.
    egui::Frame::new()
        .stroke(egui::Stroke::new(
            1.0,
            ui.visuals().widgets.noninteractive.bg_stroke.color,
        ))
        .corner_radius(6)
        .show(ui, |ui| {
            // Sized inside the frame, so the frame does not widen the panel frame after frame.
            let bar = egui::ProgressBar::new(fraction)
                .text(label)
                .desired_width(ui.available_width());
            ui.add(bar).accessible_name(format!("training progress: {text}"));
        });
    if run.batches_seen > 0 {
        let eta = match run.eta() {
            _ if run.is_paused() => "— (paused)".into(),
            Some(eta) => format_duration(eta),
            None => "…".into(),
        };
        ui.horizontal_wrapped(|ui| {
            let per = lab.experiment.input.shape().sample_names().1;
            ui.label(RichText::new(format!("{:.0} {per}/s", run.images_per_sec)).monospace());
            ui.weak("·");
            ui.label(RichText::new(format!("ETA {eta}")).monospace());
            ui.weak("·");
            ui.label(RichText::new(format!("loss {:.4}", run.loss)).monospace());
            ui.weak("·");
            ui.label(RichText::new(format!("acc {:.1}%", run.accuracy * 100.0)).monospace());
            ui.weak("·");
            ui.label(RichText::new(format!("lr {}", short_float(run.learning_rate))).monospace());
        });
    }
    if run.fresh {
        ui.weak("Started from fresh weights: the saved ones did not fit the edited layers.");
    }
}

fn settings_ui(ui: &mut Ui, lab: &LabContext) {
    let mut t = lab.experiment.training.clone();
    let mut seed = lab.experiment.seed;
    egui::Grid::new("training settings")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            optimizer_rows_ui(ui, &mut t);
            ui.label("Learning rate");
            ui.horizontal(|ui| {
                let speed = (t.learning_rate as f64 * 0.02).max(1e-6);
                ui.add(
                    drag(&mut t.learning_rate)
                        .range(1e-6..=10.0)
                        .speed(speed)
                        .max_decimals(6),
                )
                .on_hover_text("Step size of each update; during a run a change applies from the next batch")
                .accessible_name("learning rate");
                if ui.small_button("÷2").on_hover_text("Halve the learning rate").clicked() {
                    t.learning_rate /= 2.0;
                }
                if ui
                    .small_button("×2")
                    .on_hover_text("Double the learning rate")
                    .clicked()
                {
                    t.learning_rate *= 2.0;
                }
            });
            ui.end_row();
            schedule_rows_ui(ui, &mut t.schedule);
            ui.label("Batch size");
            ui.add(drag(&mut t.batch_size).range(1..=4096).speed(1))
                .accessible_name("batch size");
            ui.end_row();
            ui.label("Epochs");
            ui.add(drag(&mut t.epochs).range(1..=1000).speed(0.1))
                .on_hover_text("Epochs per run (a trained model trains this many more)")
                .accessible_name("epochs");
            ui.end_row();
            ui.label("Seed");
            ui.add(drag(&mut seed).speed(1))
                .on_hover_text("Seeds the weights, shuffling, dropout and augmentation: same seed, same run")
                .accessible_name("seed");
            ui.end_row();
            ui.label("Validation split");
            ui.add(
                drag(&mut t.validation_split)
                    .range(0.0..=0.9)
                    .speed(0.005)
                    .fixed_decimals(2),
            )
            .on_hover_text("Fraction of the training images held out to measure generalisation each epoch")
            .accessible_name("validation split");
            ui.end_row();
            ui.label("Weight decay");
            ui.add(drag(&mut t.weight_decay).range(0.0..=0.1).speed(0.0001).max_decimals(5))
                .on_hover_text("Decoupled weight decay on kernels (0 = off)")
                .accessible_name("weight decay");
            ui.end_row();
            ui.label("Augmentation");
            ui.horizontal(|ui| {
                ui.label("shift ±");
                ui.add(drag(&mut t.augmentation.random_shift).range(0..=8).speed(0.05))
                    .on_hover_text("Shift each training image by up to this many pixels")
                    .accessible_name("random shift");
                ui.checkbox(&mut t.augmentation.horizontal_flip, "flip")
                    .on_hover_text("Mirror left-right at random (wrong for digits and text)");
            });
            ui.end_row();
            ui.label("Train images");
            ui.horizontal(|ui| {
                let mut limited = t.max_train_samples.is_some();
                if ui
                    .checkbox(&mut limited, "at most")
                    .on_hover_text("Train on a subset, for quick experiments")
                    .changed()
                {
                    t.max_train_samples = limited.then_some(5000);
                }
                if let Some(max) = &mut t.max_train_samples {
                    ui.add(drag(max).range(1..=1_000_000).speed(50))
                        .accessible_name("max train images");
                } else {
                    ui.weak("all");
                }
            });
            ui.end_row();
        });
    if t != lab.experiment.training {
        lab.commands.edit(Edit::SetTraining(t));
    }
    if seed != lab.experiment.seed {
        lab.commands.edit(Edit::SetSeed(seed));
    }
}

fn optimizer_rows_ui(ui: &mut Ui, t: &mut Training) {
    ui.label("Optimizer");
    ui.horizontal(|ui| {
        egui::ComboBox::from_id_salt("optimizer")
            .selected_text(t.optimizer.name())
            .width(80.0)
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(matches!(t.optimizer, OptimizerKind::SGD { .. }), "SGD")
                    .clicked()
                    && !matches!(t.optimizer, OptimizerKind::SGD { .. })
                {
                    t.optimizer = OptimizerKind::sgd(0.9);
                }
                if ui
                    .selectable_label(matches!(t.optimizer, OptimizerKind::Adam { .. }), "Adam")
                    .clicked()
                    && !matches!(t.optimizer, OptimizerKind::Adam { .. })
                {
                    t.optimizer = OptimizerKind::adam();
                }
            })
            .response
            .accessible_name("optimizer");
        match &mut t.optimizer {
            OptimizerKind::SGD { momentum, nesterov } => {
                ui.label("momentum");
                ui.add(drag(momentum).range(0.0..=0.999).speed(0.005).fixed_decimals(2))
                    .accessible_name("momentum");
                ui.checkbox(nesterov, "Nesterov");
            }
            OptimizerKind::Adam { beta_1, beta_2, .. } => {
                ui.label("β₁");
                ui.add(drag(beta_1).range(0.0..=0.999).speed(0.001).fixed_decimals(3))
                    .accessible_name("beta 1");
                ui.label("β₂");
                ui.add(drag(beta_2).range(0.0..=0.9999).speed(0.0001).fixed_decimals(4))
                    .accessible_name("beta 2");
            }
        }
    });
    ui.end_row();
}

fn schedule_rows_ui(ui: &mut Ui, schedule: &mut LrSchedule) {
    ui.label("Schedule");
    ui.horizontal(|ui| {
        let name = match schedule {
            LrSchedule::Constant => "constant",
            LrSchedule::StepDecay { .. } => "step decay",
            LrSchedule::Cosine { .. } => "cosine",
        };
        egui::ComboBox::from_id_salt("schedule")
            .selected_text(name)
            .width(96.0)
            .show_ui(ui, |ui| {
                let choices = [
                    ("constant", LrSchedule::Constant),
                    (
                        "step decay",
                        LrSchedule::StepDecay {
                            every_epochs: 2,
                            factor: 0.5,
                        },
                    ),
                    ("cosine", LrSchedule::Cosine { final_fraction: 0.05 }),
                ];
                for (label, choice) in choices {
                    if ui.selectable_label(name == label, label).clicked() && name != label {
                        *schedule = choice;
                    }
                }
            })
            .response
            .accessible_name("schedule");
        match schedule {
            LrSchedule::Constant => {}
            LrSchedule::StepDecay { every_epochs, factor } => {
                ui.label("×");
                ui.add(drag(factor).range(0.01..=1.0).speed(0.01).fixed_decimals(2))
                    .accessible_name("decay factor");
                ui.label("every");
                ui.add(drag(every_epochs).range(1..=100).speed(0.05))
                    .accessible_name("decay every epochs");
                ui.label("epochs");
            }
            LrSchedule::Cosine { final_fraction } => {
                ui.label("down to");
                ui.add(drag(final_fraction).range(0.0..=1.0).speed(0.005).fixed_decimals(2))
                    .accessible_name("final fraction");
                ui.label("× the rate");
            }
        }
    });
    ui.end_row();
}

/// 0.001 → "0.001", 0.000123 → "1.23e-4".
pub fn short_float(x: f32) -> String {
    if x != 0.0 && x.abs() < 1e-3 {
        format!("{x:.2e}")
    } else {
        format!("{}", (x * 1e4).round() / 1e4)
    }
}
