//! Names that must fit a narrow place (a confusion-matrix column, a probability bar) without
//! becoming alike: the middle gives way, so "diagonal /" and "diagonal \" stay apart.

use egui::{FontId, Painter};

/// `name` as it fits `width` points in `font`: whole if it fits, else its start, "…", and its
/// last two characters (where names that share a start differ).
pub fn fit_label(painter: &Painter, name: &str, font: &FontId, width: f32) -> String {
    let fits = |text: &str| {
        painter
            .layout_no_wrap(text.to_string(), font.clone(), egui::Color32::WHITE)
            .size()
            .x
            <= width
    };
    if fits(name) {
        return name.to_string();
    }
    let chars: Vec<char> = name.chars().collect();
    let tail: String = chars[chars.len().saturating_sub(2)..].iter().collect();
    for head in (1..chars.len().saturating_sub(2)).rev() {
        let candidate: String = chars[..head].iter().collect::<String>() + "…" + &tail;
        if fits(&candidate) {
            return candidate;
        }
    }
    chars.first().map_or_else(String::new, |c| format!("{c}…"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_differ_at_the_end_stay_apart_and_fitting_names_stay_whole() {
        let ctx = egui::Context::default();
        let mut output = ctx.run_ui(Default::default(), |ui| {
            let painter = ui.painter();
            let font = FontId::proportional(12.0);
            let a = fit_label(painter, "diagonal /", &font, 40.0);
            let b = fit_label(painter, "diagonal \\", &font, 40.0);
            assert_ne!(a, b);
            assert!(a.ends_with(" /") && a.contains('…'), "{a}");
            assert_eq!(fit_label(painter, "circle", &font, 200.0), "circle");
            let long = fit_label(painter, "horizontal line", &font, 60.0);
            assert!(long.ends_with("ne") && long.chars().count() < 15, "{long}");
        });
        output.textures_delta.clear();
    }
}
