//! One frame of the app: read the trainer, dialogs and dropped files, draw the panels, then
//! apply the commands they pushed.

use super::commands::AppCommand;
use super::dialogs;
use super::file_dialog::{DialogOutcome, FileDialog};
use super::training_run::{Curves, Notice};
use super::{EVENT_BUDGET, LabApp, LabContext, Pending, TRAINING_REPAINT, menu, training_panel};

/// The training panel is never narrower than this while shown.
const TRAINING_MIN_WIDTH: f32 = 260.0;
/// Nor wider than the window less this: the editor's rows and buttons keep their room.
const EDITOR_MIN_WIDTH: f32 = 380.0;
use crate::experiment::{EpochRecord, Experiment};
use crate::training::{RunSummary, TrainingError};

impl LabApp {
    /// Draws the whole window into `ui` and applies what the user did.
    pub fn show(&mut self, ui: &mut egui::Ui) {
        let ctx = ui.ctx().clone();
        // The first Tab goes to the model editor, not through the menus and the training panel.
        if self.inspector.view.is_editor()
            && ctx.memory(|m| m.focused().is_none())
            && ctx.input(|i| i.key_pressed(egui::Key::Tab) && !i.modifiers.any())
        {
            self.editor.focus_first = true;
        }
        self.apply_theme(&ctx);
        self.fit_window(&ctx);
        self.intercept_close(&ctx);
        self.drain_training();
        self.report_plot_export();
        self.take_dropped_files(&ctx);
        self.inspector.update(&ctx, &self.doc, self.run.as_ref());

        let epochs: &[EpochRecord] = if self.run.is_some() {
            &self.curves.epochs
        } else {
            &self.doc.experiment().history
        };
        let lab = LabContext {
            experiment: self.doc.experiment(),
            analysis: self.doc.analysis(),
            classes: self.doc.classes(),
            blocker: self.doc.training_blocker(),
            weights_fit: self.doc.weights_fit(),
            run: self.run.as_ref(),
            last_summary: self.last_summary.as_ref(),
            curves: &self.curves,
            epochs,
            commands: &self.commands,
            file: self.doc.path(),
            dirty: self.doc.is_dirty(),
            can_undo: self.doc.can_undo() && self.run.is_none(),
            can_redo: self.doc.can_redo() && self.run.is_none(),
            recent: &self.state.recent,
            examples: &self.examples,
            dark_mode: self.state.dark_mode,
            hide_training_panel: self.state.hide_training_panel,
            file_dialogs: self.state.file_dialogs,
            scoring: self.scoring.as_ref().map(|s| s.scoring.unwrap_or((0, 0))),
        };
        menu::shortcuts(ui, &lab);
        egui::Panel::top("menu").show(ui, |ui| menu::menu_bar_ui(ui, &lab));
        egui::Panel::bottom("status").show(ui, |ui| self.status.ui(ui, &lab));
        // Collapsible to a strip (its ⏵ button, the View menu, or dragging its edge to the
        // right); resizable, but the editor keeps room for its rows and buttons.
        let mut expanded = !self.state.hide_training_panel;
        let width = ctx.content_rect().width();
        let panel = egui::Panel::right("training")
            .resizable(true)
            .default_size((width * 0.36).clamp(300.0, 520.0))
            .min_size(TRAINING_MIN_WIDTH)
            .max_size((width - EDITOR_MIN_WIDTH).max(TRAINING_MIN_WIDTH));
        let strip = egui::Panel::right("training_strip").resizable(false).exact_size(34.0);
        egui::Panel::show_switched(ui, &mut expanded, strip, panel, |ui, expanded| {
            if expanded {
                ui.add_space(4.0);
                // Narrower than its settings rows, the panel scrolls sideways instead of
                // spilling over the editor.
                egui::ScrollArea::horizontal()
                    .auto_shrink([false, true])
                    .show(ui, |ui| {
                        self.training.ui(ui, &lab);
                        ui.separator();
                        self.state.plots.ui(ui, &lab);
                    });
            } else {
                training_panel::strip_ui(ui, &lab);
            }
        });
        self.state.hide_training_panel = !expanded;
        egui::CentralPanel::default().show(ui, |ui| {
            self.inspector.tabs_ui(ui);
            ui.separator();
            if self.inspector.view.is_editor() {
                self.editor.ui(ui, &lab);
            } else {
                self.inspector.ui(ui, lab.experiment);
            }
        });
        if self.inspector.take_shift_file_request() {
            self.commands.send(AppCommand::ShiftAddDialog);
        }

        let send = |c| self.commands.send(c);
        if let Some(pending) = &self.pending {
            dialogs::confirm_ui(ui, pending, &self.doc.file_label(), lab.dirty, lab.run.is_some(), &send);
        }
        if let Some((title, message)) = &self.error {
            dialogs::error_ui(ui, title, message, &send);
        }
        if ctx.input(|i| !i.raw.hovered_files.is_empty()) {
            drop_overlay(&ctx);
        }
        drop(lab);
        menu::shortcuts_window(&ctx, &mut self.show_shortcuts);
        if self.compare.open {
            self.compare.window_ui(
                &ctx,
                self.doc.experiment(),
                self.doc.path(),
                &self.state.recent,
                &self.commands,
            );
        }
        if self.playground.open {
            self.playground.window_ui(&ctx, self.doc.experiment(), &self.commands);
        }
        self.show_file_dialog(&ctx);

        let commands = self.commands.take();
        if !commands.is_empty() {
            // What changed is drawn at once, not at the next mouse move.
            ctx.request_repaint();
        }
        for command in commands {
            self.apply(&ctx, command);
        }
        if std::mem::take(&mut self.close_now) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.update_title(&ctx);
        if let Some(run) = self.run.as_ref().or(self.scoring.as_ref()) {
            ctx.request_repaint_after(run.next_repaint());
        } else if self.file_dialog.is_some() {
            ctx.request_repaint_after(TRAINING_REPAINT);
        }
        self.screenshot_frame(&ctx);
    }

    /// Once, when the screen's size is known: a window restored larger than the screen (saved
    /// on a bigger monitor or at a smaller scale) is shrunk to fit it and centred.
    fn fit_window(&mut self, ctx: &egui::Context) {
        if self.window_fitted {
            return;
        }
        let (monitor, inner) = ctx.input(|i| (i.viewport().monitor_size, i.viewport().inner_rect));
        let (Some(monitor), Some(inner)) = (monitor, inner) else {
            return;
        };
        self.window_fitted = true;
        if inner.width() <= monitor.x && inner.height() <= monitor.y {
            return;
        }
        // Leaves room for the title bar and a panel of the desktop.
        let size = egui::vec2(inner.width().min(monitor.x * 0.92), inner.height().min(monitor.y * 0.9));
        ctx.send_viewport_cmd(egui::ViewportCommand::InnerSize(size));
        ctx.send_viewport_cmd(egui::ViewportCommand::OuterPosition(((monitor - size) / 2.0).to_pos2()));
    }

    pub(super) fn apply_theme(&mut self, ctx: &egui::Context) {
        if self.applied_theme.is_none() {
            // Hack (the monospace font) covers arrows and symbols Ubuntu lacks, e.g. the "→"
            // users put in experiment names: let proportional text fall back to it.
            let mut fonts = egui::FontDefinitions::default();
            fonts
                .families
                .entry(egui::FontFamily::Proportional)
                .or_default()
                .push("Hack".into());
            ctx.set_fonts(fonts);
        }
        if self.applied_theme != Some(self.state.dark_mode) {
            ctx.set_theme(if self.state.dark_mode {
                egui::Theme::Dark
            } else {
                egui::Theme::Light
            });
            self.applied_theme = Some(self.state.dark_mode);
        }
    }

    /// Closing the window with unsaved changes or an active run asks first.
    fn intercept_close(&mut self, ctx: &egui::Context) {
        if !ctx.input(|i| i.viewport().close_requested()) || self.allow_close || self.screenshot.is_some() {
            return;
        }
        if self.doc.is_dirty() || self.run.is_some() {
            ctx.send_viewport_cmd(egui::ViewportCommand::CancelClose);
            self.pending = Some(Pending::Quit);
        }
    }

    fn drain_training(&mut self) {
        if let Some(scoring) = &mut self.scoring {
            for notice in scoring.drain(&mut Curves::default(), EVENT_BUDGET) {
                if let Notice::Finished(result) = notice {
                    self.scoring = None;
                    self.finish_scoring(result);
                }
            }
        }
        let Some(run) = &mut self.run else {
            return;
        };
        for notice in run.drain(&mut self.curves, EVENT_BUDGET) {
            match notice {
                Notice::Diverged(message) => self.status.error(message),
                Notice::Warning(message) => self.status.warn(message),
                Notice::Finished(result) => {
                    self.run = None;
                    self.finish_run(result);
                }
                Notice::Stopped(done) => {
                    // Stop returns at once: the result is taken now, and the run goes on
                    // scoring the test split beside the editor (with its own Cancel).
                    self.scoring = self.run.take();
                    self.finish_run(Ok(done));
                }
            }
        }
    }

    /// The test accuracy of a stopped run, scored after the stop.
    fn finish_scoring(&mut self, result: Result<Box<(Experiment, RunSummary)>, TrainingError>) {
        match result {
            Ok(done) => {
                let test = done.1.test_accuracy;
                if let (Some(summary), Some(test)) = (&mut self.last_summary, test) {
                    summary.test_accuracy = Some(test);
                    self.status
                        .info(format!("Test accuracy {:.2}% (scored after the stop)", test * 100.0));
                }
            }
            Err(error) => self.status.warn(format!("Scoring the test split failed: {error}")),
        }
    }

    fn finish_run(&mut self, result: Result<Box<(Experiment, RunSummary)>, TrainingError>) {
        match result {
            Ok(done) => {
                let (trained, summary) = *done;
                self.doc.absorb_run(trained);
                self.curves.epochs = self.doc.experiment().history.clone();
                let per = self.doc.experiment().input.shape().sample_names().1;
                let test = summary
                    .test_accuracy
                    .map_or_else(String::new, |a| format!(", test accuracy {:.2}%", a * 100.0));
                let how = if summary.diverged.is_some() {
                    "Training diverged"
                } else if summary.stopped {
                    "Stopped"
                } else {
                    "Trained"
                };
                let text = if summary.epochs_run == 0 {
                    // No epoch finished: there is no loss or accuracy of an epoch to report.
                    format!(
                        "{how} during the first epoch, before it finished{test}; the weights \
                         learned so far are kept, Train continues from them; not saved yet (Ctrl+S)"
                    )
                } else {
                    format!(
                        "{how} after {} epoch{}: loss {:.4}, accuracy {:.1}%{test}, {:.0} {per}/s; not saved yet (Ctrl+S)",
                        summary.epochs_run,
                        if summary.epochs_run == 1 { "" } else { "s" },
                        summary.train_loss,
                        summary.train_accuracy * 100.0,
                        summary.images_per_sec
                    )
                };
                let text = if self.scoring.is_some() {
                    format!("{text}; scoring the test split in the background")
                } else {
                    text
                };
                if summary.diverged.is_some() {
                    self.status.warn(text);
                } else {
                    self.status.info(text);
                }
                self.last_summary = Some(summary);
            }
            Err(error) => self.status.error(format!("Training failed: {error}")),
        }
    }

    fn report_plot_export(&mut self) {
        let done = self.plot_export.lock().ok().and_then(|mut slot| slot.take());
        match done {
            Some(Ok(message)) => self.status.info(message),
            Some(Err(message)) => self.status.error(message),
            None => {}
        }
    }

    fn show_file_dialog(&mut self, ctx: &egui::Context) {
        let places = self.places();
        let Some(dialog) = &mut self.file_dialog else {
            return;
        };
        let Some(outcome) = dialog.show(ctx, &places) else {
            return;
        };
        let request = dialog.request.clone();
        self.file_dialog = None;
        match outcome {
            DialogOutcome::Chosen(path) => {
                self.remember_folder(&path, request.purpose.pick);
                self.commands.send(request.purpose.command_for(path));
                if let Some(then) = request.then {
                    self.commands.send(AppCommand::ContinueAfterSave(then));
                }
            }
            DialogOutcome::Cancelled => self.status.info("Cancelled"),
            DialogOutcome::NeverShown => {
                // No portal or GTK: the same request again, in the window, for the session.
                self.system_dialog_failed = true;
                self.status.warn(
                    "The system file dialog cannot be shown here; using CNN Lab's own \
                     (View ▸ File dialogs)",
                );
                self.file_dialog = Some(FileDialog::in_window(request));
            }
        }
    }

    fn take_dropped_files(&mut self, ctx: &egui::Context) {
        let dropped = ctx.input(|i| i.raw.dropped_files.clone());
        if dropped.is_empty() {
            return;
        }
        let experiment = dropped
            .iter()
            .map(|f| f.path().to_path_buf())
            .find(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("ron")));
        match experiment {
            Some(path) => self.commands.send(AppCommand::Open(path)),
            None => self.status.warn("Drop a .ron experiment file to open it"),
        }
    }

    fn update_title(&mut self, ctx: &egui::Context) {
        let title = format!(
            "{}{} — {} · CNN Lab",
            if self.doc.is_dirty() { "● " } else { "" },
            self.doc.experiment().name,
            self.doc.file_label()
        );
        if title != self.title {
            ctx.send_viewport_cmd(egui::ViewportCommand::Title(title.clone()));
            self.title = title;
        }
    }

    fn screenshot_frame(&mut self, ctx: &egui::Context) {
        let Some(plan) = &mut self.screenshot else {
            return;
        };
        let ready = match plan.after_epochs {
            None => true,
            // Once the epochs are done, or the run ended early (an error shows in the picture).
            // If those were the run's last epochs, wait for it to finish (test score, weights kept).
            Some(n) => self
                .run
                .as_ref()
                .is_none_or(|r| r.epochs_completed >= n && r.first_epoch + r.epochs_completed <= r.last_epoch),
        };
        // Once trained far enough, the open view shows itself off; the picture waits for it.
        if ready && !self.inspector.showcase() {
            self.inspector.set_showcase(true);
        }
        let ready = ready && !self.inspector.busy();
        if plan.frame(ctx, ready) {
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

fn drop_overlay(ctx: &egui::Context) {
    let screen = ctx.content_rect();
    let painter = ctx.layer_painter(egui::LayerId::new(
        egui::Order::Foreground,
        egui::Id::unique("drop overlay"),
    ));
    painter.rect_filled(screen, 0.0, egui::Color32::from_black_alpha(160));
    painter.text(
        screen.center(),
        egui::Align2::CENTER_CENTER,
        "Drop a .ron experiment to open it",
        egui::FontId::proportional(24.0),
        egui::Color32::WHITE,
    );
}
