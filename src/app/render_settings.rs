//! Render settings that keep every frame cheap to paint. Without a GPU (a virtual machine, a
//! remote desktop, a headless server under Xvfb) Mesa's llvmpipe shades every pixel of every
//! frame on the CPU, on the cores training needs: measured with `cnn-lab bench-ui`, the
//! rasterizer threads used several times the CPU of the UI thread itself. Two settings that
//! change nothing visible cut that work:
//!
//! - The window's background is painted by the OpenGL clear (which is a plain memory fill)
//!   instead of by each panel's frame: the panels covered the whole window once per frame, about
//!   40% of the pixels shaded (Mesa's `ps-invocations`: 3.2 M → 1.9 M per frame).
//! - No dithering: it adds a noise function to every pixel shaded, for smoother gradients that a
//!   UI of flat colours does not have.

/// `NativeOptions::dithering`.
pub const DITHERING: bool = false;

/// Makes the panels transparent in both themes; `clear_color` paints their colour instead.
pub fn unfill_panels(ctx: &egui::Context) {
    for theme in [egui::Theme::Light, egui::Theme::Dark] {
        ctx.style_mut_of(theme, |style| style.visuals.panel_fill = egui::Color32::TRANSPARENT);
    }
}

/// The window's background: the colour the panels had (`eframe::App::clear_color`).
pub fn clear_color(visuals: &egui::Visuals) -> [f32; 4] {
    let theme = if visuals.dark_mode {
        egui::Visuals::dark()
    } else {
        egui::Visuals::light()
    };
    theme.panel_fill.to_normalized_gamma_f32()
}
