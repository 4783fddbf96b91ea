//! File dialogs: the system's own where it can be shown, otherwise CNN Lab's in-window dialog
//! (`egui_file`). The choice is automatic or set in View ▸ File dialogs; every open, save,
//! import and export goes through one [`Purpose`].

use super::commands::{AppCommand, Pending};
pub use super::dialog_style::DialogStyle;
use crate::experiment::{DatasetSource, Edit};
use egui::{Align2, Id, RichText};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::time::{Duration, Instant};

/// A system dialog that answers "nothing chosen" sooner than this was never shown: nobody
/// closes a file dialog that fast.
const NEVER_SHOWN_WITHIN: Duration = Duration::from_millis(400);

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
    pub title: &'static str,
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
        title: "Open experiment",
        pick: Pick::ExistingFile,
        filter: Some(("CNN Lab experiment", "ron")),
        suggested_suffix: None,
        from_base_dir: true,
        command: AppCommand::OpenNow,
    };
    pub const SAVE_AS: Purpose = Purpose {
        title: "Save experiment as",
        pick: Pick::NewFile,
        filter: Some(("CNN Lab experiment", "ron")),
        suggested_suffix: Some(".ron"),
        from_base_dir: false,
        command: AppCommand::SaveAs,
    };
    pub const EXPORT_CSV: Purpose = Purpose {
        title: "Export the history as CSV",
        pick: Pick::NewFile,
        filter: Some(("CSV", "csv")),
        suggested_suffix: Some("_history.csv"),
        from_base_dir: false,
        command: AppCommand::ExportCsv,
    };
    pub const EXPORT_PLOT: Purpose = Purpose {
        title: "Export the curves as PNG",
        pick: Pick::NewFile,
        filter: Some(("PNG image", "png")),
        suggested_suffix: Some("_curves.png"),
        from_base_dir: false,
        command: AppCommand::ExportPlot,
    };
    pub const EXPORT_ONNX: Purpose = Purpose {
        title: "Export the model as ONNX",
        pick: Pick::NewFile,
        filter: Some(("ONNX model", "onnx")),
        suggested_suffix: Some(".onnx"),
        from_base_dir: false,
        command: AppCommand::ExportOnnx,
    };
    pub const EXPORT_KERAS: Purpose = Purpose {
        title: "Choose a folder for the Keras training script",
        pick: Pick::Folder,
        filter: None,
        suggested_suffix: None,
        from_base_dir: false,
        command: AppCommand::ExportKeras,
    };
    /// Import a model (the user has already been asked about unsaved changes).
    pub const IMPORT_ONNX: Purpose = Purpose {
        title: "Import an ONNX model",
        pick: Pick::ExistingFile,
        filter: Some(("ONNX model", "onnx")),
        suggested_suffix: None,
        from_base_dir: false,
        command: AppCommand::ImportOnnxNow,
    };
    pub const IMPORT_WEIGHTS: Purpose = Purpose {
        title: "Import weights trained elsewhere (.npz)",
        pick: Pick::ExistingFile,
        filter: Some(("NumPy weights", "npz")),
        suggested_suffix: None,
        from_base_dir: false,
        command: AppCommand::ImportWeights,
    };
    pub const COMPARE_ADD: Purpose = Purpose {
        title: "Add an experiment to the comparison",
        pick: Pick::ExistingFile,
        filter: Some(("CNN Lab experiment", "ron")),
        suggested_suffix: None,
        from_base_dir: true,
        command: AppCommand::CompareAdd,
    };
    pub const SHIFT_ADD: Purpose = Purpose {
        title: "Add a trained experiment to the shift test",
        pick: Pick::ExistingFile,
        filter: Some(("CNN Lab experiment", "ron")),
        suggested_suffix: None,
        from_base_dir: true,
        command: AppCommand::ShiftAdd,
    };
    pub const COMPARE_CSV: Purpose = Purpose {
        title: "Export the comparison as CSV",
        pick: Pick::NewFile,
        filter: Some(("CSV", "csv")),
        suggested_suffix: Some("_comparison.csv"),
        from_base_dir: false,
        command: AppCommand::CompareCsv,
    };
    pub const COMPARE_PNG: Purpose = Purpose {
        title: "Export the comparison's figure as PNG",
        pick: Pick::NewFile,
        filter: Some(("PNG image", "png")),
        suggested_suffix: Some("_comparison.png"),
        from_base_dir: false,
        command: AppCommand::ComparePng,
    };
    pub const DATA_FOLDER: Purpose = Purpose {
        title: "Choose a dataset folder",
        pick: Pick::Folder,
        filter: None,
        suggested_suffix: None,
        from_base_dir: false,
        command: |path| AppCommand::Edit(Edit::SetDataset(DatasetSource::Path(path))),
    };

    /// The path the user chose, with the filter's extension added when the name has none.
    pub fn completed(&self, path: PathBuf) -> PathBuf {
        match self.filter {
            Some((_, extension)) if self.pick != Pick::Folder && path.extension().is_none() => {
                path.with_extension(extension)
            }
            _ => path,
        }
    }

    /// The command for the path the user chose.
    pub fn command_for(&self, path: PathBuf) -> AppCommand {
        (self.command)(self.completed(path))
    }
}

/// Where a dialog starts and what it suggests.
#[derive(Clone, Debug)]
pub struct DialogRequest {
    pub purpose: Purpose,
    /// What waits for this dialog (Save As before quitting, opening or starting anew).
    pub then: Option<Pending>,
    pub dir: PathBuf,
    pub file_name: Option<String>,
}

/// How a dialog ended.
#[derive(Debug, PartialEq, Eq)]
pub enum DialogOutcome {
    Chosen(PathBuf),
    Cancelled,
    /// The system dialog could not be shown (it closed before anyone could have used it).
    NeverShown,
}

/// A folder the in-window dialog offers in its "Places" list.
#[derive(Clone, Debug)]
pub struct Place {
    pub label: String,
    pub path: PathBuf,
}

/// An open file dialog, of either kind.
pub struct FileDialog {
    pub request: DialogRequest,
    backend: Backend,
}

enum Backend {
    System {
        result: Receiver<Option<PathBuf>>,
        started: Instant,
    },
    InWindow {
        dialog: Box<egui_file::FileDialog>,
        /// A chosen file that exists, waiting for "Replace?".
        replace: Option<PathBuf>,
    },
}

impl FileDialog {
    /// The system's dialog, on its own thread (the UI never waits for it).
    pub fn system(request: DialogRequest) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::channel();
        let (purpose, dir, file_name) = (request.purpose, request.dir.clone(), request.file_name.clone());
        let show = move || {
            let mut dialog = rfd::FileDialog::new().set_title(purpose.title).set_directory(&dir);
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
            request,
            backend: Backend::System {
                result: rx,
                started: Instant::now(),
            },
        })
    }

    /// CNN Lab's own dialog, drawn inside the window.
    pub fn in_window(request: DialogRequest) -> Self {
        let purpose = request.purpose;
        let mut dialog = match purpose.pick {
            Pick::ExistingFile => egui_file::FileDialog::open_file(),
            Pick::NewFile => egui_file::FileDialog::save_file(),
            Pick::Folder => egui_file::FileDialog::select_folder(),
        }
        .id(Id::unique("cnn-lab-file-dialog"))
        .title(purpose.title)
        .initial_path(&request.dir)
        .anchor(Align2::CENTER_CENTER, [90.0, 0.0])
        .show_rename(false)
        .keep_on_top(true);
        if let Some(name) = &request.file_name {
            dialog = dialog.default_filename(name);
        }
        if let Some((_, extension)) = purpose.filter {
            dialog = dialog.show_files_filter(Box::new(move |path: &Path| {
                path.extension().is_some_and(|e| e.eq_ignore_ascii_case(extension))
            }));
        }
        if purpose.pick == Pick::Folder {
            dialog = dialog.open_button_text("Use this folder".into());
        }
        dialog.open();
        FileDialog {
            request,
            backend: Backend::InWindow {
                dialog: Box::new(dialog),
                replace: None,
            },
        }
    }

    pub fn is_in_window(&self) -> bool {
        matches!(self.backend, Backend::InWindow { .. })
    }

    /// Shows the dialog (in-window) or looks for its answer (system); `Some` once it closed.
    pub fn show(&mut self, ctx: &egui::Context, places: &[Place]) -> Option<DialogOutcome> {
        match &mut self.backend {
            Backend::System { result, started } => match result.try_recv() {
                Ok(Some(path)) => Some(DialogOutcome::Chosen(path)),
                Ok(None) | Err(TryRecvError::Disconnected) if started.elapsed() < NEVER_SHOWN_WITHIN => {
                    Some(DialogOutcome::NeverShown)
                }
                Ok(None) | Err(TryRecvError::Disconnected) => Some(DialogOutcome::Cancelled),
                Err(TryRecvError::Empty) => None,
            },
            Backend::InWindow { dialog, replace } => {
                if let Some(path) = replace.clone() {
                    return match replace_ui(ctx, &path) {
                        Some(true) => Some(DialogOutcome::Chosen(path)),
                        Some(false) => {
                            *replace = None;
                            dialog.open();
                            None
                        }
                        None => None,
                    };
                }
                places_ui(ctx, dialog, places);
                dialog.show(ctx);
                match dialog.state() {
                    egui_file::State::Open => None,
                    egui_file::State::Selected => {
                        let chosen = dialog.path().map(Path::to_path_buf)?;
                        let chosen = self.request.purpose.completed(chosen);
                        if self.request.purpose.pick == Pick::NewFile && chosen.exists() {
                            *replace = Some(chosen);
                            return None;
                        }
                        Some(DialogOutcome::Chosen(chosen))
                    }
                    egui_file::State::Cancelled | egui_file::State::Closed => Some(DialogOutcome::Cancelled),
                }
            }
        }
    }
}

/// The folders to jump to, beside the in-window dialog.
fn places_ui(ctx: &egui::Context, dialog: &mut egui_file::FileDialog, places: &[Place]) {
    if places.is_empty() {
        return;
    }
    egui::Window::new("Places")
        .id(Id::unique("cnn-lab-file-dialog-places"))
        .anchor(Align2::CENTER_CENTER, [-270.0, -120.0])
        .collapsible(false)
        .resizable(false)
        .show(ctx, |ui| {
            ui.set_max_width(200.0);
            for place in places {
                let current = dialog.directory() == place.path;
                let response = ui
                    .selectable_label(current, &place.label)
                    .on_hover_text(place.path.display().to_string());
                if response.clicked() {
                    dialog.set_path(place.path.clone());
                }
            }
        });
}

/// "Replace it?" for a chosen file that exists: `Some(true)` replace, `Some(false)` choose again.
fn replace_ui(ctx: &egui::Context, path: &Path) -> Option<bool> {
    let mut answer = None;
    egui::Modal::new(Id::unique("cnn-lab-file-dialog-replace")).show(ctx, |ui| {
        ui.set_max_width(460.0);
        ui.heading("Replace the file?");
        ui.label(format!(
            "{} already exists. Replacing it loses what it holds now.",
            path.display()
        ));
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            if ui.button(RichText::new("Replace").strong()).clicked() {
                answer = Some(true);
            }
            if ui.button("Choose another name").clicked() || ui.input(|i| i.key_pressed(egui::Key::Escape)) {
                answer = Some(false);
            }
        });
    });
    answer
}
