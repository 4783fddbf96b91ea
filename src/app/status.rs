//! The status bar: the latest message (info, warning or error) with its recent predecessors
//! on hover, and on the right the file, its unsaved marker and the run's state.

use super::context::LabContext;
use egui::{Color32, RichText, Ui};
use std::time::Instant;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Info,
    Warning,
    Error,
}

#[derive(Clone, Debug)]
pub struct Message {
    pub level: Level,
    pub text: String,
    pub at: Instant,
}

const KEEP: usize = 30;

#[derive(Default)]
pub struct StatusBar {
    messages: Vec<Message>,
}

impl StatusBar {
    pub fn info(&mut self, text: impl Into<String>) {
        self.push(Level::Info, text.into());
    }

    pub fn warn(&mut self, text: impl Into<String>) {
        self.push(Level::Warning, text.into());
    }

    pub fn error(&mut self, text: impl Into<String>) {
        self.push(Level::Error, text.into());
    }

    fn push(&mut self, level: Level, text: String) {
        self.messages.push(Message {
            level,
            text,
            at: Instant::now(),
        });
        if self.messages.len() > KEEP {
            self.messages.remove(0);
        }
    }

    pub fn latest(&self) -> Option<&Message> {
        self.messages.last()
    }

    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    pub fn ui(&mut self, ui: &mut Ui, ctx: &LabContext) {
        ui.horizontal(|ui| {
            let right_width = 330.0;
            let left_width = (ui.available_width() - right_width).max(100.0);
            ui.allocate_ui_with_layout(
                egui::vec2(left_width, ui.spacing().interact_size.y),
                egui::Layout::left_to_right(egui::Align::Center),
                |ui| {
                    ui.set_max_width(left_width);
                    match self.latest() {
                        Some(message) => {
                            let color = level_color(ui, message.level);
                            let icon = match message.level {
                                Level::Info => "ℹ",
                                Level::Warning => "⚠",
                                Level::Error => "❌",
                            };
                            ui.add(
                                egui::Label::new(RichText::new(format!("{icon} {}", message.text)).color(color))
                                    .truncate(),
                            )
                            .on_hover_ui(|ui| self.history_ui(ui));
                        }
                        None => {
                            ui.weak("Ready");
                        }
                    }
                },
            );
            ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                let file = ctx
                    .file
                    .map_or_else(|| "untitled (not saved yet)".to_string(), |p| p.display().to_string());
                if ctx.dirty {
                    ui.label(RichText::new("• unsaved").color(ui.visuals().warn_fg_color))
                        .on_hover_text("This experiment has changes that are not saved (Ctrl+S)");
                }
                ui.add(egui::Label::new(RichText::new(file).weak()).truncate());
            });
        });
    }

    fn history_ui(&self, ui: &mut Ui) {
        ui.set_max_width(600.0);
        for message in self.messages.iter().rev().take(12) {
            let ago = message.at.elapsed().as_secs();
            ui.horizontal_wrapped(|ui| {
                ui.weak(format!("{ago:>4} s ago"));
                ui.label(RichText::new(&message.text).color(level_color(ui, message.level)));
            });
        }
    }
}

pub fn level_color(ui: &Ui, level: Level) -> Color32 {
    match level {
        Level::Info => ui.visuals().text_color(),
        Level::Warning => ui.visuals().warn_fg_color,
        Level::Error => ui.visuals().error_fg_color,
    }
}
