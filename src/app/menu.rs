//! The menu bar (File, Edit, Training, View, the theme switch) and the keyboard shortcuts.

use super::commands::AppCommand;
use super::context::LabContext;
use super::file_dialog::DialogStyle;
use super::rooms::View;
use crate::experiment::Edit;
use egui::{Button, Key, KeyboardShortcut, Modifiers, Ui};

const CMD_SHIFT: Modifiers = Modifiers::COMMAND.plus(Modifiers::SHIFT);
pub const NEW: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::N);
pub const OPEN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::O);
pub const SAVE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::S);
pub const SAVE_AS: KeyboardShortcut = KeyboardShortcut::new(CMD_SHIFT, Key::S);
pub const QUIT: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Q);
pub const UNDO: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Z);
pub const REDO: KeyboardShortcut = KeyboardShortcut::new(CMD_SHIFT, Key::Z);
pub const REDO_Y: KeyboardShortcut = KeyboardShortcut::new(Modifiers::COMMAND, Key::Y);
pub const TRAIN: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F5);
pub const STOP: KeyboardShortcut = KeyboardShortcut::new(Modifiers::SHIFT, Key::F5);
pub const PAUSE: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F6);
pub const STEP: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F10);
pub const HELP_KEYS: KeyboardShortcut = KeyboardShortcut::new(Modifiers::NONE, Key::F1);
/// Ctrl+1 … Ctrl+4: the model, filters, feature maps and mistakes rooms.
/// Turns this frame's shortcut key presses into commands.
pub fn shortcuts(ui: &Ui, lab: &LabContext) {
    let typing = ui.ctx().egui_wants_keyboard_input();
    ui.ctx().input_mut(|input| {
        // Most specific first: Ctrl+Shift+S must not also count as Ctrl+S.
        if input.consume_shortcut(&SAVE_AS) {
            lab.commands.send(AppCommand::SaveAsDialog);
        }
        if input.consume_shortcut(&SAVE) {
            lab.commands.send(AppCommand::Save);
        }
        if input.consume_shortcut(&NEW) {
            lab.commands.send(AppCommand::New);
        }
        if input.consume_shortcut(&OPEN) {
            lab.commands.send(AppCommand::OpenDialog);
        }
        if input.consume_shortcut(&QUIT) {
            lab.commands.send(AppCommand::Quit);
        }
        // While a text field has focus, Ctrl+Z belongs to it.
        if !typing {
            if input.consume_shortcut(&REDO) || input.consume_shortcut(&REDO_Y) {
                lab.commands.send(AppCommand::Redo);
            }
            if input.consume_shortcut(&UNDO) {
                lab.commands.send(AppCommand::Undo);
            }
        }
        if input.consume_shortcut(&STOP) {
            lab.commands.send(AppCommand::Stop);
        }
        if input.consume_shortcut(&TRAIN) {
            match lab.run {
                Some(run) if run.is_paused() => lab.commands.send(AppCommand::Resume),
                Some(_) => {}
                None => lab.commands.send(AppCommand::StartTraining),
            }
        }
        if input.consume_shortcut(&PAUSE) {
            lab.commands.send(match lab.run {
                Some(run) if run.is_paused() => AppCommand::Resume,
                _ => AppCommand::Pause,
            });
        }
        if input.consume_shortcut(&STEP) {
            lab.commands.send(AppCommand::Step);
        }
        if input.consume_shortcut(&HELP_KEYS) {
            lab.commands.send(AppCommand::ShowShortcuts);
        }
        for view in View::all() {
            if let Some(shortcut) = view.shortcut()
                && input.consume_shortcut(&shortcut)
            {
                lab.commands.send(AppCommand::ShowView(view));
            }
        }
    });
}

fn item(ui: &mut Ui, enabled: bool, text: &str, shortcut: Option<&KeyboardShortcut>) -> bool {
    let mut button = Button::new(text);
    if let Some(shortcut) = shortcut {
        button = button.shortcut_text(ui.ctx().format_shortcut(shortcut));
    }
    ui.add_enabled(enabled, button).clicked()
}

pub fn menu_bar_ui(ui: &mut Ui, lab: &LabContext) {
    let send = |c| lab.commands.send(c);
    egui::MenuBar::new().ui(ui, |ui| {
        ui.menu_button("File", |ui| {
            if item(ui, true, "New", Some(&NEW)) {
                send(AppCommand::New);
            }
            if item(ui, true, "Open…", Some(&OPEN)) {
                send(AppCommand::OpenDialog);
            }
            ui.menu_button("Open recent", |ui| {
                if lab.recent.is_empty() {
                    ui.weak("no recent files");
                }
                for path in lab.recent {
                    if ui.button(path.display().to_string()).clicked() {
                        send(AppCommand::Open(path.clone()));
                    }
                }
            });
            ui.menu_button("Examples", |ui| {
                if lab.examples.is_empty() {
                    ui.weak("no examples found (projects/ is missing)");
                }
                for path in lab.examples {
                    let name = path
                        .file_name()
                        .map_or_else(String::new, |n| n.to_string_lossy().into_owned());
                    if ui.button(name).on_hover_text(path.display().to_string()).clicked() {
                        send(AppCommand::Open(path.clone()));
                    }
                }
            });
            ui.separator();
            if item(ui, true, "Save", Some(&SAVE)) {
                send(AppCommand::Save);
            }
            if item(ui, true, "Save As…", Some(&SAVE_AS)) {
                send(AppCommand::SaveAsDialog);
            }
            ui.menu_button("Export", |ui| {
                if item(ui, lab.blocker.is_none(), "ONNX model…", None) {
                    send(AppCommand::ExportOnnxDialog);
                }
                if item(ui, lab.blocker.is_none(), "Keras training script…", None) {
                    send(AppCommand::ExportKerasDialog);
                }
                if item(ui, !lab.epochs.is_empty(), "History as CSV…", None) {
                    send(AppCommand::ExportCsvDialog);
                }
            });
            if item(ui, true, "Compare runs…", None) {
                send(AppCommand::OpenCompare);
            }
            if item(ui, true, "Import ONNX model…", None) {
                send(AppCommand::ImportOnnxDialog);
            }
            if item(ui, lab.blocker.is_none(), "Import weights (.npz)…", None) {
                send(AppCommand::ImportWeightsDialog);
            }
            ui.separator();
            if item(ui, true, "Quit", Some(&QUIT)) {
                send(AppCommand::Quit);
            }
        });
        ui.menu_button("Edit", |ui| {
            if item(ui, lab.can_undo, "Undo", Some(&UNDO)) {
                send(AppCommand::Undo);
            }
            if item(ui, lab.can_redo, "Redo", Some(&REDO)) {
                send(AppCommand::Redo);
            }
        });
        ui.menu_button("Training", |ui| {
            let running = lab.run.is_some();
            let paused = lab.run.is_some_and(|r| r.is_paused());
            if item(ui, !running && lab.blocker.is_none(), "Train", Some(&TRAIN)) {
                send(AppCommand::StartTraining);
            }
            if paused {
                if item(ui, true, "Resume", Some(&PAUSE)) {
                    send(AppCommand::Resume);
                }
            } else if item(ui, running, "Pause", Some(&PAUSE)) {
                send(AppCommand::Pause);
            }
            if item(
                ui,
                paused || (!running && lab.blocker.is_none()),
                "Step one batch",
                Some(&STEP),
            ) {
                send(AppCommand::Step);
            }
            if item(ui, running, "Stop", Some(&STOP)) {
                send(AppCommand::Stop);
            }
            ui.separator();
            if item(ui, !running && lab.experiment.weights.is_some(), "Reset weights", None) {
                send(AppCommand::Edit(Edit::ResetWeights));
            }
        });
        ui.menu_button("View", |ui| {
            for view in View::all() {
                if item(ui, true, view.title(), view.shortcut().as_ref()) {
                    send(AppCommand::ShowView(view));
                }
            }
            ui.separator();
            if item(ui, true, "Padding and stride playground", None) {
                send(AppCommand::OpenPlayground(None));
            }
            ui.separator();
            let mut shown = !lab.hide_training_panel;
            if ui.checkbox(&mut shown, "Training panel").changed() {
                send(AppCommand::ShowTrainingPanel(shown));
            }
            let mut dark = lab.dark_mode;
            if ui.checkbox(&mut dark, "Dark theme").changed() {
                send(AppCommand::SetDarkMode(dark));
            }
            ui.menu_button("File dialogs", |ui| {
                for style in DialogStyle::ALL {
                    if ui
                        .radio(lab.file_dialogs == style, style.label())
                        .on_hover_text(style.explanation())
                        .clicked()
                    {
                        send(AppCommand::SetFileDialogs(style));
                    }
                }
            });
        });
        ui.menu_button("Help", |ui| {
            if item(ui, true, "Keyboard shortcuts", Some(&HELP_KEYS)) {
                send(AppCommand::ShowShortcuts);
            }
        });
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            let (icon, tip, dark) = if lab.dark_mode {
                ("☀", "Switch to the light theme", false)
            } else {
                ("🌙", "Switch to the dark theme", true)
            };
            if ui.button(icon).on_hover_text(tip).accessible_name(tip).clicked() {
                send(AppCommand::SetDarkMode(dark));
            }
        });
    });
}

/// Help ▸ Keyboard shortcuts: every shortcut the app knows, from the same constants the menus
/// and the key handling use.
pub fn shortcuts_window(ctx: &egui::Context, open: &mut bool) {
    let key = |s: &KeyboardShortcut| ctx.format_shortcut(s);
    let mut rows: Vec<(String, String)> = vec![
        (key(&NEW), "New experiment".into()),
        (key(&OPEN), "Open an experiment".into()),
        (key(&SAVE), "Save (an example or a new experiment asks where)".into()),
        (key(&SAVE_AS), "Save as".into()),
        (key(&UNDO), "Undo".into()),
        (format!("{} or {}", key(&REDO), key(&REDO_Y)), "Redo".into()),
        (key(&TRAIN), "Train, or resume a paused run".into()),
        (key(&PAUSE), "Pause or resume".into()),
        (key(&STEP), "Train one batch, then pause".into()),
        (key(&STOP), "Stop (keeps what was learned)".into()),
    ];
    for view in View::all() {
        if let Some(shortcut) = view.shortcut() {
            rows.push((key(&shortcut), format!("Show {}", view.title())));
        }
    }
    for (n, layer) in crate::cnn::LayerSpec::palette().into_iter().enumerate() {
        if let Some(&k) = super::palette::PALETTE_KEYS.get(n) {
            let shortcut = KeyboardShortcut::new(Modifiers::ALT, k);
            rows.push((key(&shortcut), format!("Add {} (model view)", layer.kind())));
        }
    }
    for (k, action) in super::editor::ROW_KEYS {
        rows.push((key(&KeyboardShortcut::new(Modifiers::ALT, k)), action.to_string()));
    }
    rows.extend([
        (
            "Tab / Shift+Tab".to_string(),
            "Next / previous field; the first Tab goes to the model editor".to_string(),
        ),
        (
            "Enter, Space".to_string(),
            "Press the focused button; Enter confirms a typed number".to_string(),
        ),
        ("Escape".to_string(), "Close a menu or dialog".to_string()),
        (key(&HELP_KEYS), "This list".to_string()),
        (key(&QUIT), "Quit".to_string()),
    ]);
    egui::Window::new("Keyboard shortcuts")
        .open(open)
        .collapsible(false)
        .resizable(false)
        .show(ctx, |ui| {
            egui::ScrollArea::vertical()
                .max_height(ctx.content_rect().height() * 0.7)
                .show(ui, |ui| {
                    egui::Grid::new("shortcuts")
                        .striped(true)
                        .num_columns(2)
                        .show(ui, |ui| {
                            for (keys, action) in rows {
                                ui.label(egui::RichText::new(keys).monospace().strong());
                                ui.label(action);
                                ui.end_row();
                            }
                        });
                });
        });
}
