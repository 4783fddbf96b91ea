//! Dialogs: "save changes?" before a destructive action and the error window for files that
//! fail to open (file pickers: `file_dialog.rs`).

use super::commands::{AppCommand, Pending};
use egui::{Id, RichText, Ui};

/// Asks what to do with unsaved changes (and an active run) before `pending` goes ahead.
pub fn confirm_ui(ui: &Ui, pending: &Pending, file_label: &str, dirty: bool, running: bool, send: &dyn Fn(AppCommand)) {
    egui::Modal::new(Id::unique("confirm")).show(ui.ctx(), |ui| {
        ui.set_max_width(460.0);
        ui.heading(if dirty { "Save changes?" } else { "Stop training?" });
        ui.add_space(4.0);
        let mut text = String::new();
        if dirty {
            text += &format!("{file_label} has changes that are not saved. ");
        }
        if running {
            text += "A training run is active; it will be stopped. ";
        }
        text += &format!("Save before {}?", pending.verb());
        ui.label(text);
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if dirty && ui.button(RichText::new("Save").strong()).clicked() {
                send(AppCommand::ConfirmSave);
            }
            if ui
                .button(if dirty { "Don't save" } else { "Stop and continue" })
                .clicked()
            {
                send(AppCommand::ConfirmDiscard);
            }
            if ui.button("Cancel").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                send(AppCommand::ConfirmCancel);
            }
        });
    });
}

/// A window for an error that needs reading (a file that failed to open), not just a status line.
pub fn error_ui(ui: &Ui, title: &str, message: &str, send: &dyn Fn(AppCommand)) {
    egui::Modal::new(Id::unique("error")).show(ui.ctx(), |ui| {
        ui.set_max_width(560.0);
        ui.heading(RichText::new(title).color(ui.visuals().error_fg_color));
        ui.add_space(4.0);
        ui.label(message);
        ui.add_space(8.0);
        if ui.button("OK").clicked()
            || ui.input(|i| i.key_pressed(egui::Key::Escape) || i.key_pressed(egui::Key::Enter))
        {
            send(AppCommand::DismissError);
        }
    });
}
