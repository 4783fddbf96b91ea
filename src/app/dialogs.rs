//! Dialogs: "save changes?" before a destructive action, the error window for files that fail
//! to open, and native file pickers run on their own thread (the UI never waits for them).

use super::commands::AppCommand;
use egui::{Id, RichText, Ui};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, TryRecvError};

/// An action waiting for the user to decide about unsaved changes or an active run.
#[derive(Clone, Debug, PartialEq)]
pub enum Pending {
    New,
    Open(PathBuf),
    OpenDialog,
    Quit,
}

impl Pending {
    fn verb(&self) -> &'static str {
        match self {
            Pending::New => "starting a new experiment",
            Pending::Open(_) | Pending::OpenDialog => "opening another file",
            Pending::Quit => "quitting",
        }
    }
}

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

/// What a file dialog is for.
#[derive(Clone, Debug, PartialEq)]
pub enum Purpose {
    Open,
    /// Save As; then continue with the action that asked for the save, if any.
    SaveAs(Option<Pending>),
    ExportCsv,
    ExportPlot,
    DataFolder,
}

/// A native dialog running on its own thread.
pub struct FileDialog {
    pub purpose: Purpose,
    result: Receiver<Option<PathBuf>>,
}

impl FileDialog {
    /// Starts the dialog for `purpose`, beginning in `dir`.
    pub fn spawn(purpose: Purpose, dir: Option<PathBuf>, file_name: Option<String>) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let what = purpose.clone();
        let show = move || {
            let mut dialog = rfd::FileDialog::new();
            if let Some(dir) = &dir {
                dialog = dialog.set_directory(dir);
            }
            if let Some(name) = &file_name {
                dialog = dialog.set_file_name(name);
            }
            let chosen = match what {
                Purpose::Open => dialog.add_filter("CNN Lab experiment", &["ron"]).pick_file(),
                Purpose::SaveAs(_) => dialog.add_filter("CNN Lab experiment", &["ron"]).save_file(),
                Purpose::ExportCsv => dialog.add_filter("CSV", &["csv"]).save_file(),
                Purpose::ExportPlot => dialog.add_filter("PNG image", &["png"]).save_file(),
                Purpose::DataFolder => dialog.pick_folder(),
            };
            let _ = tx.send(chosen);
        };
        // macOS wants its dialogs on the main thread; elsewhere they run beside the UI.
        if cfg!(target_os = "macos") {
            show();
        } else {
            std::thread::Builder::new()
                .name("cnn-lab-file-dialog".into())
                .spawn(show)?;
        }
        Ok(FileDialog { purpose, result: rx })
    }

    /// `Some(choice)` once the dialog closed (`None` inside = cancelled).
    pub fn poll(&self) -> Option<Option<PathBuf>> {
        match self.result.try_recv() {
            Ok(choice) => Some(choice),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(None),
        }
    }
}
