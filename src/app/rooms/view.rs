//! Which room the central area shows, named from the one list of rooms ([`ROOMS`] in
//! `mod.rs`): the tabs, the View menu, the Ctrl+1… shortcuts, `--view` and its help text.

use super::ROOMS;
use super::room::RoomEntry;
use egui::{KeyboardShortcut, Modifiers};

/// Which room the central area shows: a position in [`ROOMS`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct View(usize);

impl View {
    /// The model editor.
    pub const MODEL: View = View(0);

    /// Every room, in tab order.
    pub fn all() -> impl Iterator<Item = View> {
        (0..ROOMS.len()).map(View)
    }

    pub(super) fn index(self) -> usize {
        self.0
    }

    fn entry(self) -> &'static RoomEntry {
        &ROOMS[self.0]
    }

    pub fn title(self) -> &'static str {
        self.entry().title
    }

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        self.entry().name
    }

    /// Whether this is the model editor (drawn by the app, not by the inspector).
    pub fn is_editor(self) -> bool {
        self.entry().make.is_none()
    }

    /// The room named `name` on the command line (`--view filters`), in any case, with `-`,
    /// `_` or spaces, or by an alias.
    pub fn parse(name: &str) -> Option<View> {
        let plain = |s: &str| s.to_ascii_lowercase().replace(['-', '_', ' '], "");
        let wanted = plain(name);
        View::all().find(|v| {
            let e = v.entry();
            plain(e.name) == wanted || e.aliases.iter().any(|a| plain(a) == wanted)
        })
    }

    /// "model, filters, feature-maps or mistakes", for help and error messages.
    pub fn choices() -> String {
        let names: Vec<_> = ROOMS.iter().map(|e| e.name).collect();
        match names.split_last() {
            Some((last, [])) => last.to_string(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// Ctrl+1, Ctrl+2, … in tab order (the first nine rooms).
    pub fn shortcut(self) -> Option<KeyboardShortcut> {
        super::super::keys::DIGIT_KEYS[..9]
            .get(self.0)
            .map(|&key| KeyboardShortcut::new(Modifiers::COMMAND, key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_room_has_a_name_a_shortcut_and_parses_back() {
        assert_eq!(View::choices(), "model, filters, feature-maps or mistakes");
        for view in View::all() {
            assert_eq!(View::parse(view.name()), Some(view));
            assert!(view.shortcut().is_some());
        }
        assert_eq!(View::parse("Feature_Maps"), View::parse("maps"));
        assert_eq!(View::parse("editor"), Some(View::MODEL));
        assert!(View::MODEL.is_editor() && View::all().filter(|v| v.is_editor()).count() == 1);
        assert_eq!(View::parse("gallery"), None);
    }
}
