//! The drawing canvas of the feature-map view: a digit drawn with the mouse (round, soft brush),
//! turned into the model's input the way MNIST digits were made.

use super::colormap::{self, unit_rect};
use crate::cnn::Shape;
use crate::inspect::attribution::upsample_bilinear;
use crate::inspect::mnist_preprocess;
use egui::{Color32, Pos2, Sense, Stroke, TextureHandle, TextureOptions, Ui, pos2, vec2};

/// Side of the square ink grid behind the canvas.
pub const INK: usize = 112;
/// On-screen size of the canvas.
const CANVAS_PX: f32 = 196.0;

/// A digit drawn with the mouse.
pub struct Canvas {
    pub(super) ink: Vec<f32>,
    /// Brush radius in ink pixels.
    pub(super) brush: f32,
    pub(super) generation: u64,
    last: Option<Pos2>,
    texture: Option<(u64, TextureHandle)>,
}

impl Default for Canvas {
    fn default() -> Self {
        Canvas {
            ink: vec![0.0; INK * INK],
            brush: 4.5,
            generation: 0,
            last: None,
            texture: None,
        }
    }
}

impl Canvas {
    pub fn clear(&mut self) {
        self.ink.fill(0.0);
        self.generation += 1;
        self.last = None;
    }

    pub fn is_empty(&self) -> bool {
        self.ink.iter().all(|&v| v == 0.0)
    }

    /// Inks a round, soft-edged brush along the segment a → b (ink-grid coordinates).
    pub fn line(&mut self, a: Pos2, b: Pos2) {
        let steps = ((b - a).length() * 2.0).ceil().max(1.0) as usize;
        let r = self.brush;
        for s in 0..=steps {
            let p = a + (b - a) * (s as f32 / steps as f32);
            let (x0, x1) = (
                (p.x - r - 1.0).floor().max(0.0) as usize,
                (p.x + r + 1.0).ceil() as usize,
            );
            let (y0, y1) = (
                (p.y - r - 1.0).floor().max(0.0) as usize,
                (p.y + r + 1.0).ceil() as usize,
            );
            for y in y0..y1.min(INK) {
                for x in x0..x1.min(INK) {
                    let d = (pos2(x as f32 + 0.5, y as f32 + 0.5) - p).length();
                    let v = (r + 0.5 - d).clamp(0.0, 1.0);
                    let cell = &mut self.ink[y * INK + x];
                    *cell = cell.max(v);
                }
            }
        }
        self.generation += 1;
    }

    /// Draws the canvas; returns `true` when the ink changed.
    pub fn ui(&mut self, ui: &mut Ui) -> bool {
        let (rect, response) = ui.allocate_exact_size(vec2(CANVAS_PX, CANVAS_PX), Sense::drag());
        response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Canvas, true, "drawing canvas"));
        let before = self.generation;
        let to_ink = |p: Pos2| {
            let t = (p - rect.min) / rect.size();
            pos2(t.x * INK as f32, t.y * INK as f32)
        };
        if let Some(pointer) = response.interact_pointer_pos()
            && (response.dragged() || response.drag_started())
        {
            let p = to_ink(pointer);
            let from = self.last.unwrap_or(p);
            self.line(from, p);
            self.last = Some(p);
        }
        if response.drag_stopped() || !response.dragged() {
            self.last = None;
        }
        if self.texture.as_ref().is_none_or(|(g, _)| *g != self.generation) {
            let image = colormap::grey_image(&self.ink, INK, INK, 0.0, 1.0);
            let texture = ui.ctx().load_texture("canvas", image, TextureOptions::LINEAR);
            self.texture = Some((self.generation, texture));
        }
        let painter = ui.painter_at(rect);
        if let Some((_, texture)) = &self.texture {
            painter.image(texture.id(), rect, unit_rect(), Color32::WHITE);
        }
        painter.rect_stroke(
            rect,
            2.0,
            Stroke::new(1.0, ui.visuals().weak_text_color()),
            egui::StrokeKind::Inside,
        );
        if self.is_empty() {
            painter.text(
                rect.center(),
                egui::Align2::CENTER_CENTER,
                "draw a digit here",
                egui::FontId::proportional(14.0),
                Color32::from_gray(150),
            );
        }
        response.on_hover_cursor(egui::CursorIcon::Crosshair);
        self.generation != before
    }

    /// The drawing as the model's input: MNIST's centring and scaling to 28×28, then resized to
    /// the input (and repeated over its channels), as u8 pixels.
    pub fn to_pixels(&self, input: Shape) -> Vec<u8> {
        let digit = mnist_preprocess(&self.ink, INK, INK);
        let (h, w) = input.spatial();
        let plane = if (h, w) == (28, 28) {
            digit
        } else {
            upsample_bilinear(&digit, 28, 28, h, w)
        };
        let bytes: Vec<u8> = plane
            .iter()
            .map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect();
        bytes.repeat(input.channels())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stroke_inks_the_canvas_along_its_path_only() {
        let mut canvas = Canvas::default();
        canvas.line(pos2(10.0, 56.0), pos2(100.0, 56.0));
        assert!(canvas.ink[56 * INK + 50] > 0.9);
        assert_eq!(canvas.ink[10 * INK + 50], 0.0);
        let pixels = canvas.to_pixels(Shape::image(28, 28, 1));
        assert_eq!(pixels.len(), 784);
        assert!(pixels.iter().any(|&p| p > 200));
    }
}
