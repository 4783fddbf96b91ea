//! Keys more than one panel uses for its shortcuts.

use egui::Key;

/// The digit keys in keyboard order, 1 … 9 then 0: Ctrl+digit shows a room, Alt+digit adds a
/// palette layer.
pub const DIGIT_KEYS: [Key; 10] = [
    Key::Num1,
    Key::Num2,
    Key::Num3,
    Key::Num4,
    Key::Num5,
    Key::Num6,
    Key::Num7,
    Key::Num8,
    Key::Num9,
    Key::Num0,
];
