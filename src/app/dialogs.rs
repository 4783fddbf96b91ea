//! Dialogs: "save changes?" before a destructive action, the error window for files that fail
//! to open, and native file pickers run on their own thread (the UI never waits for them).

use super::commands::{AppCommand, Pending};
use crate::experiment::{DatasetSource, Edit};
use egui::{Id, RichText, Ui};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, TryRecvError};

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

/// What the user picks in a file dialog.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    ExistingFile,
    NewFile,
    Folder,
}

/// What a file dialog is for, with everything it needs: one entry per purpose, so a new export
/// is one more constant here.
#[derive(Clone, Copy, Debug)]
pub struct Purpose {
    pub pick: Pick,
    /// The file type offered, (label, extension); the extension is added to a name without one.
    pub filter: Option<(&'static str, &'static str)>,
    /// The suggested file name: the experiment's file stem followed by this.
    pub suggested_suffix: Option<&'static str>,
    /// Start in the experiment's folder even without a file (else the file's folder, if any).
    pub from_base_dir: bool,
    /// What the chosen path becomes.
    pub command: fn(PathBuf) -> AppCommand,
}

impl Purpose {
    /// Open an experiment (the user has already been asked about unsaved changes).
    pub const OPEN: Purpose = Purpose {
        pick: Pick::ExistingFile,
        filter: Some(("CNN Lab experiment", "ron")),
        suggested_suffix: None,
        from_base_dir: true,
        command: AppCommand::OpenNow,
    };
    pub const SAVE_AS: Purpose = Purpose {
        pick: Pick::NewFile,
        filter: Some(("CNN Lab experiment", "ron")),
        suggested_suffix: Some(".ron"),
        from_base_dir: false,
        command: AppCommand::SaveAs,
    };
    pub const EXPORT_CSV: Purpose = Purpose {
        pick: Pick::NewFile,
        filter: Some(("CSV", "csv")),
        suggested_suffix: Some("_history.csv"),
        from_base_dir: false,
        command: AppCommand::ExportCsv,
    };
    pub const EXPORT_PLOT: Purpose = Purpose {
        pick: Pick::NewFile,
        filter: Some(("PNG image", "png")),
        suggested_suffix: Some("_curves.png"),
        from_base_dir: false,
        command: AppCommand::ExportPlot,
    };
    pub const DATA_FOLDER: Purpose = Purpose {
        pick: Pick::Folder,
        filter: None,
        suggested_suffix: None,
        from_base_dir: false,
        command: |path| AppCommand::Edit(Edit::SetDataset(DatasetSource::Path(path))),
    };

    /// The command for the path the user chose, with the filter's extension added when the
    /// name has none.
    pub fn command_for(&self, path: PathBuf) -> AppCommand {
        let path = match self.filter {
            Some((_, extension)) if path.extension().is_none() => path.with_extension(extension),
            _ => path,
        };
        (self.command)(path)
    }
}

/// A native dialog running on its own thread.
pub struct FileDialog {
    pub purpose: Purpose,
    /// What waits for this dialog (Save As before quitting, opening or starting anew).
    pub then: Option<Pending>,
    result: Receiver<Option<PathBuf>>,
}

impl FileDialog {
    /// Starts the dialog for `purpose`, beginning in `dir`.
    pub fn spawn(
        purpose: Purpose,
        then: Option<Pending>,
        dir: Option<PathBuf>,
        file_name: Option<String>,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let show = move || {
            let mut dialog = rfd::FileDialog::new();
            if let Some(dir) = &dir {
                dialog = dialog.set_directory(dir);
            }
            if let Some(name) = &file_name {
                dialog = dialog.set_file_name(name);
            }
            if let Some((label, extension)) = purpose.filter {
                dialog = dialog.add_filter(label, &[extension]);
            }
            let chosen = match purpose.pick {
                Pick::ExistingFile => dialog.pick_file(),
                Pick::NewFile => dialog.save_file(),
                Pick::Folder => dialog.pick_folder(),
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
        Ok(FileDialog {
            purpose,
            then,
            result: rx,
        })
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
