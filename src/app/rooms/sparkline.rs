//! Sequences drawn small: a sparkline (one line per channel over the steps, a zero line), or a
//! heat strip (channels × steps on a colour scale) when the channels are too many to tell apart
//! as lines. The 1-D views (filters, the input of the feature maps, galleries) draw with these.

use super::colormap::{Scale, series_color};
use egui::{Color32, Painter, Pos2, Rect, Shape, Stroke, pos2};

/// Up to this many channels are drawn as lines; more become a heat strip.
pub const MAX_LINES: usize = 8;

/// `values` holds `channels` runs of equal length (CL order).
pub struct Series<'a> {
    pub values: &'a [f32],
    pub channels: usize,
}

impl Series<'_> {
    pub fn steps(&self) -> usize {
        self.values.len().checked_div(self.channels).unwrap_or(0)
    }

    fn channel(&self, c: usize) -> &[f32] {
        let steps = self.steps();
        &self.values[c * steps..(c + 1) * steps]
    }

    /// (lowest, highest) finite value, widened to include 0 and never empty.
    pub fn range(&self) -> (f32, f32) {
        let (lo, hi) = self
            .values
            .iter()
            .filter(|v| v.is_finite())
            .fold((0.0f32, 0.0f32), |(lo, hi), &v| (lo.min(v), hi.max(v)));
        if hi > lo { (lo, hi) } else { (lo - 1.0, hi + 1.0) }
    }
}

/// The x position of step `t` (its centre) in `rect` for `steps` steps.
pub fn step_x(rect: Rect, steps: usize, t: f32) -> f32 {
    rect.left() + (t + 0.5) / steps.max(1) as f32 * rect.width()
}

/// Draws `series` in `rect`: lines (one colour per channel; `single` for a lone channel) with a
/// zero line, or a heat strip for many channels. `shade` marks a step range `[from, to)` (the
/// window a value sees) on it.
pub fn draw(
    painter: &Painter,
    visuals: &egui::Visuals,
    rect: Rect,
    series: &Series<'_>,
    single: Color32,
    shade: Option<(i64, i64)>,
) {
    let steps = series.steps();
    if steps == 0 {
        return;
    }
    painter.rect_filled(rect, 1.0, visuals.extreme_bg_color);
    if let Some((from, to)) = shade {
        let from = from.clamp(0, steps as i64) as f32;
        let to = to.clamp(0, steps as i64) as f32;
        let x0 = rect.left() + from / steps as f32 * rect.width();
        let x1 = rect.left() + to / steps as f32 * rect.width();
        painter.rect_filled(
            Rect::from_x_y_ranges(x0..=x1.max(x0 + 1.0), rect.y_range()),
            0.0,
            Color32::from_rgba_unmultiplied(255, 170, 0, 70),
        );
    }
    if series.channels > MAX_LINES {
        heat(painter, rect, series);
        return;
    }
    let (lo, hi) = series.range();
    let y = |v: f32| rect.bottom() - (v - lo) / (hi - lo) * rect.height();
    let zero = visuals.weak_text_color().gamma_multiply(0.6);
    painter.line_segment(
        [pos2(rect.left(), y(0.0)), pos2(rect.right(), y(0.0))],
        Stroke::new(0.8, zero),
    );
    for c in 0..series.channels {
        let color = if series.channels == 1 { single } else { series_color(c) };
        let points: Vec<Pos2> = series
            .channel(c)
            .iter()
            .enumerate()
            .map(|(t, &v)| pos2(step_x(rect, steps, t as f32), y(if v.is_finite() { v } else { 0.0 })))
            .collect();
        if steps <= 16 {
            for &p in &points {
                painter.circle_filled(p, 2.0, color);
            }
        }
        painter.add(Shape::line(points, Stroke::new(1.4, color)));
    }
}

/// Channels as rows, steps as columns, on a diverging scale.
fn heat(painter: &Painter, rect: Rect, series: &Series<'_>) {
    let steps = series.steps();
    let scale = Scale::symmetric(series.values.iter().copied());
    let (cw, ch) = (rect.width() / steps as f32, rect.height() / series.channels as f32);
    for c in 0..series.channels {
        for (t, &v) in series.channel(c).iter().enumerate() {
            let cell = Rect::from_min_size(
                pos2(rect.left() + t as f32 * cw, rect.top() + c as f32 * ch),
                egui::vec2(cw.max(1.0), ch.max(1.0)),
            );
            painter.rect_filled(cell, 0.0, scale.color(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_knows_its_steps_and_a_range_that_holds_zero() {
        let s = Series {
            values: &[1.0, 2.0, 3.0, -1.0, 0.5, 4.0],
            channels: 2,
        };
        assert_eq!(s.steps(), 3);
        assert_eq!(s.channel(1), &[-1.0, 0.5, 4.0]);
        assert_eq!(s.range(), (-1.0, 4.0));
        let flat = Series {
            values: &[0.0, 0.0],
            channels: 1,
        };
        assert_eq!(flat.range(), (-1.0, 1.0));
        let rect = Rect::from_min_size(pos2(0.0, 0.0), egui::vec2(100.0, 10.0));
        assert_eq!(step_x(rect, 4, 0.0), 12.5);
    }
}
