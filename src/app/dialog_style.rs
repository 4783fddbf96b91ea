//! Which file dialog the app shows: a setting of its own (View ▸ File dialogs), kept apart from
//! the dialogs so the commands can name it.

use serde::{Deserialize, Serialize};

/// Which file dialog the app shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DialogStyle {
    /// The system dialog, and the in-window one where the system cannot show its own.
    #[default]
    Automatic,
    System,
    InWindow,
}

impl DialogStyle {
    pub const ALL: [DialogStyle; 3] = [DialogStyle::Automatic, DialogStyle::System, DialogStyle::InWindow];

    pub fn label(self) -> &'static str {
        match self {
            DialogStyle::Automatic => "Automatic",
            DialogStyle::System => "System dialog",
            DialogStyle::InWindow => "In-window dialog",
        }
    }

    pub fn explanation(self) -> &'static str {
        match self {
            DialogStyle::Automatic => {
                "The system's file dialog, or CNN Lab's own where the system cannot show one \
                 (no desktop portal or GTK: minimal window managers, remote and virtual displays)"
            }
            DialogStyle::System => "Always the system's file dialog (through the desktop portal)",
            DialogStyle::InWindow => "Always CNN Lab's own file dialog, inside the window",
        }
    }
}
