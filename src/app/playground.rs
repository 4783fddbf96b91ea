//! The padding and stride playground (the course's output-size rules at work): n, f, p and s as
//! sliders over a drawn grid, the window's positions and the padded border, the output size by
//! the course formula ⌊(n + 2p − f)/s⌋ + 1 and by TensorFlow's `same` rule ⌈n/s⌉ (with where the
//! odd padding pixel goes), the parameters and MACs; "Apply to layer" writes the values back to
//! a Conv2D or pooling layer as one undo step.

use super::commands::CommandQueue;
use crate::cnn::spec::Pool2D;
use crate::cnn::summary::group_digits;
use crate::cnn::{Footprint, LayerSpec, Padding};
use crate::experiment::{Edit, Experiment};
use egui::{Rect, RichText, Sense, Stroke, Ui, pos2, vec2};

/// Largest n and f the sliders offer.
const MAX_N: usize = 64;
const MAX_F: usize = 15;

/// Where the window lands along one axis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Axis {
    /// Zeros before and after the input.
    pub pad_before: usize,
    pub pad_after: usize,
    /// Output size (0 when the window does not fit).
    pub out: usize,
    /// The window's first input index (in padded coordinates) for each output position.
    pub starts: Vec<usize>,
}

/// The course's rules along one axis of `n` pixels for a window `f` with stride `s`.
pub fn axis(n: usize, f: usize, s: usize, padding: Padding) -> Axis {
    let s = s.max(1);
    let (pad_before, pad_after) = match padding {
        Padding::Valid => (0, 0),
        Padding::Explicit(p) => (p, p),
        Padding::Causal => (f.saturating_sub(1), 0),
        Padding::Same => {
            // TensorFlow: total = max((⌈n/s⌉ − 1)·s + f − n, 0), the odd pixel after.
            let out = n.div_ceil(s);
            let total = ((out.saturating_sub(1)) * s + f).saturating_sub(n);
            (total / 2, total - total / 2)
        }
    };
    let padded = n + pad_before + pad_after;
    let out = if f == 0 || padded < f { 0 } else { (padded - f) / s + 1 };
    Axis {
        pad_before,
        pad_after,
        out,
        starts: (0..out).map(|i| i * s).collect(),
    }
}

/// The playground's settings and the layer it came from.
#[derive(Clone, Debug, PartialEq)]
pub struct Playground {
    pub open: bool,
    /// The layer "Apply" writes to (0-based), if opened from one.
    pub layer: Option<usize>,
    pub n: usize,
    pub f: usize,
    pub padding: Padding,
    pub s: usize,
    pub channels: usize,
    pub filters: usize,
    /// The output cell whose window is drawn.
    pub cell: (usize, usize),
}

impl Default for Playground {
    fn default() -> Self {
        // The course's first picture: a 6×6 input and a 3×3 filter.
        Playground {
            open: false,
            layer: None,
            n: 6,
            f: 3,
            padding: Padding::Valid,
            s: 1,
            channels: 3,
            filters: 1,
            cell: (0, 0),
        }
    }
}

impl Playground {
    /// Opens on `layer` of `experiment` (a Conv2D or pooling layer), or on the defaults.
    pub fn open_on(&mut self, experiment: &Experiment, layer: Option<usize>) {
        *self = Playground {
            open: true,
            ..Playground::default()
        };
        let Some(index) = layer else {
            return;
        };
        let summary = crate::cnn::analyze(experiment.input.shape(), &experiment.layers, None).summary;
        let input = summary.layers.get(index).map(|info| info.input);
        let (n, channels) = match input {
            Some(crate::cnn::Shape::Image { h, c, .. }) => (h, c),
            _ => return,
        };
        // The layer's sliding window, as its kind describes it (Conv2D or pooling).
        let window = experiment
            .layers
            .get(index)
            .and_then(|layer| match layer.config().footprint() {
                Footprint::Window {
                    kernel,
                    strides,
                    padding,
                } => {
                    let filters = if let LayerSpec::Conv2D(c) = layer { c.filters } else { 0 };
                    Some((kernel.0, strides.0, padding, filters))
                }
                _ => None,
            });
        if let Some((f, s, padding, filters)) = window {
            self.layer = Some(index);
            self.n = n.min(MAX_N);
            self.f = f.min(MAX_F);
            self.s = s;
            self.padding = padding;
            self.channels = channels;
            self.filters = filters;
        }
    }

    /// The layer with the playground's window, strides and padding (square), if it has one.
    pub fn applied_to(&self, layer: &LayerSpec) -> Option<LayerSpec> {
        let mut layer = layer.clone();
        let (f, s) = ((self.f, self.f), (self.s, self.s));
        match &mut layer {
            LayerSpec::Conv2D(c) => {
                c.kernel_size = f;
                c.strides = s;
                c.padding = self.padding;
            }
            // Keras: strides default to pool_size; the file stays short when they agree.
            LayerSpec::MaxPooling2D(p) => *p = Pool2D::with(f, (s != f).then_some(s), self.padding),
            LayerSpec::AveragePooling2D(p) => *p = Pool2D::with(f, (s != f).then_some(s), self.padding),
            _ => return None,
        }
        Some(layer)
    }

    pub fn window_ui(&mut self, ctx: &egui::Context, experiment: &Experiment, commands: &CommandQueue) {
        let mut open = self.open;
        egui::Window::new("Padding and stride playground")
            .open(&mut open)
            .default_width(560.0)
            // Below the menu bar, over the editor's left side.
            .default_pos(ctx.content_rect().left_top() + egui::vec2(24.0, 64.0))
            .resizable(false)
            .show(ctx, |ui| {
                egui::ScrollArea::vertical()
                    .max_height(ctx.content_rect().height() - 140.0)
                    .min_scrolled_height((ctx.content_rect().height() - 140.0).min(560.0))
                    .show(ui, |ui| {
                        self.ui(ui, experiment, commands);
                    })
            });
        self.open = open;
    }

    fn ui(&mut self, ui: &mut Ui, experiment: &Experiment, commands: &CommandQueue) {
        self.settings_ui(ui);
        let a = axis(self.n, self.f, self.s, self.padding);
        ui.separator();
        self.numbers_ui(ui, &a);
        let target = self.layer.and_then(|i| experiment.layers.get(i).map(|l| (i, l)));
        if let Some((index, layer)) = target
            && let Some(applied) = self.applied_to(layer)
        {
            let label = format!("Apply to layer {} ({})", index + 1, layer.kind());
            if ui
                .add_enabled(applied != *layer, egui::Button::new(RichText::new(&label).strong()))
                .on_hover_text("Writes the kernel (or pool) size, strides and padding to the layer; Ctrl+Z undoes it")
                .accessible_name(label)
                .clicked()
            {
                commands.edit(Edit::SetLayer { index, layer: applied });
            }
        }
        if a.out > 0 {
            self.cell = (self.cell.0.min(a.out - 1), self.cell.1.min(a.out - 1));
            ui.horizontal_wrapped(|ui| {
                ui.label("the window of output row");
                ui.add(egui::DragValue::new(&mut self.cell.0).range(0..=a.out - 1))
                    .accessible_name("playground output row");
                ui.label("column");
                ui.add(egui::DragValue::new(&mut self.cell.1).range(0..=a.out - 1))
                    .accessible_name("playground output column");
                ui.weak("(grey: the input; 0: padding; dots: where each window starts)");
            });
            grid_ui(ui, self.n, self.f, &a, self.cell);
        }
    }

    fn settings_ui(&mut self, ui: &mut Ui) {
        egui::Grid::new("playground settings").num_columns(2).show(ui, |ui| {
            ui.label("input n");
            ui.add(egui::Slider::new(&mut self.n, 1..=MAX_N).text("pixels"))
                .accessible_name("playground n");
            ui.end_row();
            ui.label("window f");
            ui.add(egui::Slider::new(&mut self.f, 1..=MAX_F).text("f"))
                .accessible_name("playground f");
            ui.end_row();
            ui.label("stride s");
            ui.add(egui::Slider::new(&mut self.s, 1..=8).text("s"))
                .accessible_name("playground s");
            ui.end_row();
            ui.label("padding");
            ui.horizontal(|ui| {
                ui.radio_value(&mut self.padding, Padding::Valid, "valid");
                ui.radio_value(&mut self.padding, Padding::Same, "same");
                let explicit = matches!(self.padding, Padding::Explicit(_));
                if ui.radio(explicit, "explicit p").clicked() && !explicit {
                    self.padding = Padding::Explicit(1);
                }
                if let Padding::Explicit(p) = &mut self.padding {
                    ui.add(egui::Slider::new(p, 0..=8).text("p"))
                        .accessible_name("playground p");
                }
            });
            ui.end_row();
            ui.label("channels in");
            ui.add(egui::Slider::new(&mut self.channels, 1..=64).text("c"))
                .accessible_name("playground channels");
            ui.end_row();
            ui.label("filters");
            ui.add(egui::Slider::new(&mut self.filters, 0..=256).text("filters"))
                .accessible_name("playground filters")
                .on_hover_text("0 for a pooling layer: no parameters");
            ui.end_row();
        });
    }

    fn numbers_ui(&self, ui: &mut Ui, a: &Axis) {
        let (n, f, s) = (self.n, self.f, self.s);
        let p = match self.padding {
            Padding::Explicit(p) => p,
            _ => 0,
        };
        match self.padding {
            Padding::Same => {
                let total = a.pad_before + a.pad_after;
                ui.label(
                    RichText::new(format!("same: output = ⌈n/s⌉ = ⌈{n}/{s}⌉ = {}", a.out))
                        .monospace()
                        .strong(),
                );
                ui.label(format!(
                    "TensorFlow pads max((⌈n/s⌉ − 1)·s + f − n, 0) = {total} zeros: {} before, {} after{}",
                    a.pad_before,
                    a.pad_after,
                    if total % 2 == 1 {
                        " (the odd one goes to the bottom/right)"
                    } else {
                        ""
                    }
                ));
            }
            _ => {
                let text = if a.out == 0 {
                    format!(
                        "⌊(n + 2p − f)/s⌋ + 1 = ⌊({n} + {} − {f})/{s}⌋ + 1: the window does not fit",
                        2 * p
                    )
                } else {
                    format!(
                        "output = ⌊(n + 2p − f)/s⌋ + 1 = ⌊({n} + {} − {f})/{s}⌋ + 1 = {}",
                        2 * p,
                        a.out
                    )
                };
                ui.label(RichText::new(text).monospace().strong());
            }
        }
        if self.filters > 0 {
            let params = (f * f * self.channels + 1) * self.filters;
            let macs = a.out * a.out * f * f * self.channels * self.filters;
            ui.label(
                RichText::new(format!(
                    "parameters = (f·f·c + 1)·filters = ({f}·{f}·{} + 1)·{} = {}   ·   MACs = {}",
                    self.channels,
                    self.filters,
                    group_digits(params as u64),
                    group_digits(macs as u64)
                ))
                .monospace(),
            );
        }
        ui.label(format!(
            "output {0}×{0}{1}",
            a.out,
            if self.filters > 0 {
                format!("×{}", self.filters)
            } else {
                format!("×{}", self.channels)
            }
        ));
    }
}

/// The padded input as a grid: zeros (padding) shaded, the window of `cell` outlined, and every
/// window's top-left corner dotted.
fn grid_ui(ui: &mut Ui, n: usize, f: usize, a: &Axis, cell: (usize, usize)) {
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
    let (pixel, zero) = if visuals.dark_mode {
        (egui::Color32::from_gray(88), egui::Color32::from_gray(40))
    } else {
        (egui::Color32::from_gray(205), egui::Color32::from_gray(245))
    };
    for y in 0..total {
        for x in 0..total {
            let real = inside(y) && inside(x);
            let r = cell_rect(y, x).shrink(0.5);
            painter.rect_filled(r, 1.0, if real { pixel } else { zero });
            if !real {
                painter.rect_stroke(
                    r,
                    1.0,
                    Stroke::new(0.5, visuals.weak_text_color()),
                    egui::StrokeKind::Inside,
                );
                if size >= 10.0 {
                    painter.text(
                        r.center(),
                        egui::Align2::CENTER_CENTER,
                        "0",
                        egui::FontId::monospace(size * 0.55),
                        visuals.weak_text_color(),
                    );
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cnn::spec::Conv2D;
    use crate::cnn::{Shape, infer};

    #[test]
    fn the_playground_agrees_with_shape_inference_for_every_size_up_to_64() {
        for n in 1..=64 {
            for f in 1..=9 {
                for s in 1..=4 {
                    for padding in [
                        Padding::Valid,
                        Padding::Same,
                        Padding::Explicit(1),
                        Padding::Explicit(3),
                    ] {
                        let a = axis(n, f, s, padding);
                        let layer = [LayerSpec::Conv2D(Conv2D {
                            kernel_size: (f, f),
                            strides: (s, s),
                            ..Conv2D::new(2, f).padding(padding)
                        })];
                        match infer(Shape::image(n, n, 1), &layer, None) {
                            Ok(summary) => {
                                assert_eq!(
                                    summary.layers[0].output,
                                    Shape::image(a.out, a.out, 2),
                                    "n {n} f {f} s {s} {padding:?}"
                                )
                            }
                            Err(_) => assert_eq!(a.out, 0, "n {n} f {f} s {s} {padding:?}: inference refuses"),
                        }
                        // Every window lies inside the padded input.
                        for &start in &a.starts {
                            assert!(start + f <= n + a.pad_before + a.pad_after);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn tensorflow_same_puts_the_odd_padding_pixel_after() {
        // n 5, f 4, s 1: total 3 → 1 before, 2 after.
        let a = axis(5, 4, 1, Padding::Same);
        assert_eq!((a.pad_before, a.pad_after, a.out), (1, 2, 5));
        // The course's quiz: 32, f 5, p 2 → 32.
        assert_eq!(axis(32, 5, 1, Padding::Explicit(2)).out, 32);
    }
}
