//! Every state change the app can make, as data: panels push commands while they draw, and
//! `LabApp` applies them once per frame, after layout (so nothing changes under a widget).
//! Changes to the experiment itself are `experiment::Edit`s.

use crate::experiment::Edit;
use std::cell::RefCell;
use std::path::PathBuf;

/// What a user (or a test) can ask the app to do.
#[derive(Clone, Debug, PartialEq)]
pub enum AppCommand {
    Edit(Edit),
    Undo,
    Redo,
    /// A fresh experiment (asks about unsaved changes first).
    New,
    /// Shows the native file picker, then opens the file chosen.
    OpenDialog,
    /// Opens this file (asks about unsaved changes first).
    Open(PathBuf),
    /// Opens this file at once (the user has already been asked).
    OpenNow(PathBuf),
    /// Saves to the current file, or asks where if there is none.
    Save,
    /// Shows the native save dialog.
    SaveAsDialog,
    /// Saves to this file, which becomes the current file.
    SaveAs(PathBuf),
    /// After a Save As that an action waited for: go on with it if the save worked.
    ContinueAfterSave(Pending),
    ExportCsvDialog,
    /// Ask where to save the plots as a PNG, then save them.
    ExportPlotDialog,
    /// Save the plots, as drawn in the next frame, to this PNG.
    ExportPlot(PathBuf),
    /// Shows the native folder picker for the dataset.
    ChooseDataDialog,
    /// Writes the per-epoch history as CSV to this file.
    ExportCsv(PathBuf),
    /// Closes the window (asks about unsaved changes first).
    Quit,
    /// Answers to "Save changes?": save then continue, continue without saving, or stay.
    ConfirmSave,
    ConfirmDiscard,
    ConfirmCancel,
    DismissError,
    StartTraining,
    Pause,
    Resume,
    Stop,
    /// One batch, then pause (starts a paused run if none is active).
    Step,
    SetDarkMode(bool),
    /// File ▸ Export ▸ ONNX model… and where it goes.
    ExportOnnxDialog,
    ExportOnnx(PathBuf),
    /// File ▸ Export ▸ Keras training script… and the folder it goes into.
    ExportKerasDialog,
    ExportKeras(PathBuf),
    /// File ▸ Import ONNX model… (asks about unsaved changes first) and the file chosen.
    ImportOnnxDialog,
    ImportOnnxNow(PathBuf),
    /// File ▸ Import weights… and the `.npz` chosen.
    ImportWeightsDialog,
    ImportWeights(PathBuf),
    /// File ▸ Compare runs…, a file added to it (by dialog or path), the table as CSV.
    OpenCompare,
    CompareAddDialog,
    CompareAdd(PathBuf),
    CompareCsvDialog,
    CompareCsv(PathBuf),
    /// The comparison's figure (both plots and their legends) as PNG.
    ComparePngDialog,
    ComparePng(PathBuf),
    /// The shift test's "➕ Add a model from a file…" and the file chosen.
    ShiftAddDialog,
    ShiftAdd(PathBuf),
    /// Help ▸ Keyboard shortcuts.
    ShowShortcuts,
    /// The padding and stride playground, on a layer (0-based) or on the course's example.
    OpenPlayground(Option<usize>),
    /// Stop scoring the test split after a stopped run.
    CancelScoring,
    /// System or in-window file dialogs.
    SetFileDialogs(super::dialog_style::DialogStyle),
    /// Switch the central area to a room (model editor, filters, feature maps, mistakes).
    ShowView(super::rooms::View),
    ShowTrainingPanel(bool),
}

/// Commands pushed by panels during a frame; drained by `LabApp` after layout.
#[derive(Default)]
pub struct CommandQueue(RefCell<Vec<AppCommand>>);

impl CommandQueue {
    pub fn send(&self, command: AppCommand) {
        self.0.borrow_mut().push(command);
    }

    pub fn edit(&self, edit: Edit) {
        self.send(AppCommand::Edit(edit));
    }

    pub fn take(&self) -> Vec<AppCommand> {
        std::mem::take(&mut *self.0.borrow_mut())
    }
}

/// An action waiting for the user to decide about unsaved changes or an active run.
#[derive(Clone, Debug, PartialEq)]
pub enum Pending {
    New,
    Open(PathBuf),
    OpenDialog,
    ImportOnnxDialog,
    Quit,
}

impl Pending {
    pub fn verb(&self) -> &'static str {
        match self {
            Pending::New => "starting a new experiment",
            Pending::Open(_) | Pending::OpenDialog => "opening another file",
            Pending::ImportOnnxDialog => "importing a model",
            Pending::Quit => "quitting",
        }
    }
}
