//! `--view NAME`: a room (from the one list of rooms), or one of the course's panels opened in
//! its room or window. With `--screenshot`, the view also shows itself off.

use super::rooms::View;

/// A panel inside a room or a window of its own, opened by name from the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Panel {
    /// The convolution close-up (Feature maps), on the first convolution's middle value.
    CloseUp,
    /// The padding and stride playground, on the first convolution or pooling layer.
    Playground,
    /// The shift test (Mistakes), on the model and on each `--compare` file.
    ShiftTest,
    /// Compare runs: the experiment and each `--compare` file.
    Compare,
}

/// The panels, their names on the command line (first) and aliases, and the room they open in.
const PANELS: &[(Panel, &[&str], &str)] = &[
    (Panel::CloseUp, &["closeup", "close-up"], "feature-maps"),
    (Panel::Playground, &["playground", "padding"], "model"),
    (Panel::ShiftTest, &["shift-test", "shift"], "mistakes"),
    (Panel::Compare, &["compare", "compare-runs"], "model"),
];

/// What `--view` asked for: a room, and maybe a panel in it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ViewRequest {
    pub room: View,
    pub panel: Option<Panel>,
}

impl ViewRequest {
    /// A room's name or alias, or a panel's, in any case, with `-`, `_` or spaces.
    pub fn parse(name: &str) -> Option<ViewRequest> {
        if let Some(room) = View::parse(name) {
            return Some(ViewRequest { room, panel: None });
        }
        let plain = |s: &str| s.to_ascii_lowercase().replace(['-', '_', ' '], "");
        let wanted = plain(name);
        PANELS
            .iter()
            .find(|(_, names, _)| names.iter().any(|n| plain(n) == wanted))
            .and_then(|&(panel, _, room)| {
                Some(ViewRequest {
                    room: View::parse(room)?,
                    panel: Some(panel),
                })
            })
    }

    /// "model, filters, feature-maps, mistakes, closeup, playground, shift-test or compare".
    pub fn choices() -> String {
        let panels: Vec<_> = PANELS.iter().map(|(_, names, _)| names[0]).collect();
        match panels.split_last() {
            Some((last, rest)) if !rest.is_empty() => {
                let rooms = View::all().map(View::name).collect::<Vec<_>>().join(", ");
                format!("{rooms}, {} or {last}", rest.join(", "))
            }
            _ => View::choices(),
        }
    }
}

impl From<View> for ViewRequest {
    fn from(room: View) -> Self {
        ViewRequest { room, panel: None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rooms_and_panels_parse_by_name_and_alias() {
        assert_eq!(
            ViewRequest::choices(),
            "model, filters, feature-maps, mistakes, closeup, playground, shift-test or compare"
        );
        assert_eq!(ViewRequest::parse("Filters").map(|v| v.panel), Some(None));
        for (panel, names, room) in PANELS {
            for name in *names {
                let request = ViewRequest::parse(name).expect(name);
                assert_eq!(request.panel, Some(*panel));
                assert_eq!(request.room.name(), *room);
            }
        }
        assert_eq!(
            ViewRequest::parse("Close Up").and_then(|v| v.panel),
            Some(Panel::CloseUp)
        );
        assert_eq!(ViewRequest::parse("nowhere"), None);
    }
}
