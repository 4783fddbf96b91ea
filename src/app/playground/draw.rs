//! Drawing the playground: the padded image as a grid, or the padded steps as a row with the
//! outputs below.

use super::{Axis, span_of};
use egui::{Rect, Sense, Stroke, Ui, pos2, vec2};

/// Cells of the step row narrower than this get a zoomed view around the chosen window.
const READABLE: f32 = 12.0;

/// The padded steps as a row, the outputs as a row below, each output under the middle of its
/// window: zeros (padding) shaded, every window's first step dotted, and the taps of output
/// step `cell` (f of them, `d` apart) joined to it. A long sequence gets a thin overview of
/// every step above a readable view around the chosen window. Clicking an output selects it.
pub(super) fn row_ui(ui: &mut Ui, n: usize, f: usize, d: usize, a: &Axis, cell: &mut usize) {
    let total = n + a.pad_before + a.pad_after;
    let width = ui.available_width().min(640.0);
    let span = span_of(f, d);
    let start = a.starts.get(*cell).copied().unwrap_or(0);
    let fit = width / total as f32;
    // The padded steps shown at readable size: all of them, or those around the window.
    let (size, lo, hi) = if fit >= READABLE {
        (fit.min(28.0), 0, total)
    } else {
        let shown = ((width / 16.0) as usize).clamp(span.min(total), total);
        let lo = (start + span / 2).saturating_sub(shown / 2).min(total - shown);
        (width / shown as f32, lo, lo + shown)
    };
    // A thin overview of every step above a zoomed view, and the space below it.
    let (overview, band) = if hi - lo < total { (10.0, 18.0) } else { (0.0, 0.0) };
    let gap = (size * 2.0).max(28.0);
    let height = band + 2.0 * size + gap;
    let (rect, response) = ui.allocate_exact_size(vec2(width, height), Sense::click());
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    let accent = visuals.selection.bg_fill;
    let (pixel, zero) = shades(visuals);
    let real = |i: usize| i >= a.pad_before && i < a.pad_before + n;
    if band > 0.0 {
        // Every padded step, thin; the shown part bracketed, the taps marked.
        let w = width / total as f32;
        let at = |i: usize| Rect::from_min_size(pos2(rect.left() + i as f32 * w, rect.top()), vec2(w, overview));
        for i in 0..total {
            painter.rect_filled(at(i), 0.0, if real(i) { pixel } else { zero });
        }
        for t in 0..f {
            painter.rect_filled(at(start + t * d), 0.0, accent);
        }
        painter.rect_stroke(
            at(lo).union(at(hi - 1)).expand(1.0),
            1.0,
            Stroke::new(1.0, visuals.strong_text_color()),
            egui::StrokeKind::Outside,
        );
    }
    let top = rect.top() + band;
    let x_of = |i: f32| rect.left() + (i - lo as f32) * size;
    let input_cell = |i: usize| Rect::from_min_size(pos2(x_of(i as f32), top), vec2(size, size));
    // Output o sits under the middle of its window.
    let output_x = |o: usize| x_of(a.starts[o] as f32 + (span as f32 - 1.0) / 2.0);
    let output_cell = |o: usize| Rect::from_min_size(pos2(output_x(o), top + size + gap), vec2(size, size));
    let shown = |r: Rect| r.right() > rect.left() && r.left() < rect.right();
    if let Some(pos) = response.interact_pointer_pos()
        && response.clicked()
        && pos.y >= top + size + gap * 0.5
        && let Some(o) = (0..a.out).min_by(|&p, &q| {
            let dist = |o: usize| (output_cell(o).center().x - pos.x).abs();
            dist(p).total_cmp(&dist(q))
        })
    {
        *cell = o;
    }
    for i in lo..hi {
        value_or_zero(&painter, visuals, input_cell(i), real(i));
    }
    let edge = input_cell(a.pad_before.max(lo)).union(input_cell((a.pad_before + n - 1).min(hi - 1)));
    painter.rect_stroke(
        edge,
        0.0,
        Stroke::new(1.5, visuals.strong_text_color()),
        egui::StrokeKind::Outside,
    );
    for &first in a.starts.iter().filter(|&&i| (lo..hi).contains(&i)) {
        painter.circle_filled(
            input_cell(first).center(),
            (size * 0.12).max(1.2),
            accent.gamma_multiply(0.6),
        );
    }
    for o in (0..a.out).filter(|&o| shown(output_cell(o))) {
        let r = output_cell(o).shrink(0.5);
        painter.rect_filled(r, 1.0, pixel);
        if o == *cell {
            painter.rect_filled(r, 1.0, accent.gamma_multiply(0.5));
            painter.rect_stroke(r, 1.0, Stroke::new(2.0, accent), egui::StrokeKind::Inside);
        }
    }
    if a.starts.get(*cell).is_some() {
        let target = output_cell(*cell).center_top();
        for t in 0..f {
            let r = input_cell(start + t * d).shrink(0.5);
            painter.rect_filled(r, 1.0, accent.gamma_multiply(0.35));
            painter.rect_stroke(r, 1.0, Stroke::new(2.0, accent), egui::StrokeKind::Inside);
            painter.line_segment(
                [r.center_bottom(), target],
                Stroke::new(1.0, accent.gamma_multiply(0.8)),
            );
        }
    }
}

/// The padded input as a grid: zeros (padding) shaded, the window of `cell` outlined, and every
/// window's top-left corner dotted.
pub(super) fn grid_ui(ui: &mut Ui, n: usize, f: usize, a: &Axis, cell: (usize, usize)) {
    let total = n + a.pad_before + a.pad_after;
    let size = (ui.available_width().min(440.0) / total as f32).clamp(4.0, 28.0);
    let (rect, _) = ui.allocate_exact_size(vec2(size * total as f32, size * total as f32), Sense::hover());
    let painter = ui.painter_at(rect);
    let visuals = ui.visuals();
    let cell_rect = |y: usize, x: usize| {
        Rect::from_min_size(
            pos2(rect.left() + x as f32 * size, rect.top() + y as f32 * size),
            vec2(size, size),
        )
    };
    let inside = |i: usize| i >= a.pad_before && i < a.pad_before + n;
    for y in 0..total {
        for x in 0..total {
            value_or_zero(&painter, visuals, cell_rect(y, x), inside(y) && inside(x));
        }
    }
    // The input's edge, inside the padding.
    let input = cell_rect(a.pad_before, a.pad_before).union(cell_rect(a.pad_before + n - 1, a.pad_before + n - 1));
    painter.rect_stroke(
        input,
        0.0,
        Stroke::new(1.5, visuals.strong_text_color()),
        egui::StrokeKind::Outside,
    );
    let accent = visuals.selection.bg_fill;
    for &y in &a.starts {
        for &x in &a.starts {
            painter.circle_filled(
                cell_rect(y, x).center(),
                (size * 0.12).max(1.5),
                accent.gamma_multiply(0.6),
            );
        }
    }
    if let (Some(&y), Some(&x)) = (a.starts.get(cell.0), a.starts.get(cell.1)) {
        let window = cell_rect(y, x).union(cell_rect(y + f - 1, x + f - 1));
        painter.rect_filled(window, 2.0, accent.gamma_multiply(0.25));
        painter.rect_stroke(window, 2.0, Stroke::new(2.0, accent), egui::StrokeKind::Inside);
    }
}

/// The shades of an input value and of a padding zero.
fn shades(visuals: &egui::Visuals) -> (egui::Color32, egui::Color32) {
    if visuals.dark_mode {
        (egui::Color32::from_gray(88), egui::Color32::from_gray(40))
    } else {
        (egui::Color32::from_gray(205), egui::Color32::from_gray(245))
    }
}

/// One input cell: grey for a value of the input, light and outlined with a "0" (where there is
/// room) for a padding zero.
fn value_or_zero(painter: &egui::Painter, visuals: &egui::Visuals, cell: Rect, real: bool) {
    let (pixel, zero) = shades(visuals);
    let r = cell.shrink(0.5);
    painter.rect_filled(r, 1.0, if real { pixel } else { zero });
    if !real {
        painter.rect_stroke(
            r,
            1.0,
            Stroke::new(0.5, visuals.weak_text_color()),
            egui::StrokeKind::Inside,
        );
        if r.height() >= 9.0 {
            painter.text(
                r.center(),
                egui::Align2::CENTER_CENTER,
                "0",
                egui::FontId::monospace(r.height() * 0.55),
                visuals.weak_text_color(),
            );
        }
    }
}
