//! The padding and stride playground (the course's output-size rules at work): n, f, p and s as
//! sliders over a drawn grid, the window's positions and the padded border, the output size by
//! the course formula ⌊(n + 2p − f)/s⌋ + 1 and by TensorFlow's `same` rule ⌈n/s⌉ (with where the
//! odd padding pixel goes), the parameters and MACs; "Apply to layer" writes the values back to
//! a Conv2D or pooling layer as one undo step. On a sequence layer (Conv1D, 1-D pooling) the
//! same rules along one row of steps, with Conv1D's dilation (taps d steps apart) and causal
//! padding (only the past is read), the chosen output step joined to the steps it reads.

use super::commands::CommandQueue;
use crate::cnn::spec::{Conv1D, Conv2D, MaxPooling1D, Pool2D};
use crate::cnn::summary::group_digits;
use crate::cnn::{Footprint, LayerSpec, Padding, Shape};
use crate::experiment::{Edit, Experiment};
use draw::{grid_ui, row_ui};
use egui::{RichText, Ui};

mod draw;

/// Largest n and f the sliders offer (a sequence's steps are one row, so more of them fit).
const MAX_N: usize = 64;
const MAX_STEPS: usize = 128;
const MAX_F: usize = 15;
const MAX_DILATION: usize = 8;

/// What the window slides over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dims {
    /// n × n pixels, an f × f window (Conv2D, 2-D pooling).
    Image,
    /// n steps, a window of f taps (Conv1D, 1-D pooling).
    Sequence,
}

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
    pub dims: Dims,
    pub n: usize,
    pub f: usize,
    pub padding: Padding,
    pub s: usize,
    /// Steps between two taps (Conv1D's `dilation_rate`); 1 on images.
    pub dilation: usize,
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
            dims: Dims::Image,
            n: 6,
            f: 3,
            padding: Padding::Valid,
            s: 1,
            dilation: 1,
            channels: 3,
            filters: 1,
            cell: (0, 0),
        }
    }
}

impl Playground {
    /// Opens on `layer` of `experiment` (a Conv2D, Conv1D or pooling layer), or on the defaults.
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
        let (dims, n, channels) = match input {
            Some(Shape::Image { h, c, .. }) => (Dims::Image, h.min(MAX_N), c),
            Some(Shape::Sequence { steps, c }) => (Dims::Sequence, steps.min(MAX_STEPS), c),
            _ => return,
        };
        // The layer's sliding window: Conv1D's taps and dilation from its config, the others'
        // as their kinds describe them (a sequence's window runs along the columns).
        let window = experiment.layers.get(index).and_then(|layer| match layer {
            LayerSpec::Conv1D(c) => Some((c.kernel_size, c.strides, c.padding, c.filters, c.dilation_rate)),
            _ => match layer.config().footprint() {
                Footprint::Window {
                    kernel,
                    strides,
                    padding,
                } => {
                    let filters = if let LayerSpec::Conv2D(c) = layer { c.filters } else { 0 };
                    let (f, s) = match dims {
                        Dims::Image => (kernel.0, strides.0),
                        Dims::Sequence => (kernel.1, strides.1),
                    };
                    Some((f, s, padding, filters, 1))
                }
                _ => None,
            },
        });
        if let Some((f, s, padding, filters, dilation)) = window {
            self.layer = Some(index);
            self.dims = dims;
            self.n = n;
            self.f = f.min(MAX_F);
            self.s = s;
            self.dilation = dilation.min(MAX_DILATION);
            self.padding = padding;
            self.channels = channels;
            self.filters = filters;
        }
    }

    /// Steps (or pixels) one window spans.
    pub fn span(&self) -> usize {
        span_of(self.f, self.dilation())
    }

    /// Steps between two taps: Conv1D's dilation; pools and images have none.
    fn dilation(&self) -> usize {
        if self.dims == Dims::Sequence && self.filters > 0 {
            self.dilation.max(1)
        } else {
            1
        }
    }

    /// Where the window lands, along each axis.
    pub fn axis(&self) -> Axis {
        axis(self.n, self.span(), self.s, self.padding)
    }

    /// The layer with the playground's window, strides and padding (square), if it has one.
    pub fn applied_to(&self, layer: &LayerSpec) -> Option<LayerSpec> {
        let mut layer = layer.clone();
        let (f, s) = (self.f, self.s);
        // Keras: pooling strides default to pool_size; the file stays short when they agree.
        let pool_strides = (s != f).then_some(s);
        match (&mut layer, self.dims) {
            (LayerSpec::Conv2D(c), Dims::Image) => {
                c.kernel_size = (f, f);
                c.strides = (s, s);
                c.padding = self.padding;
            }
            (LayerSpec::MaxPooling2D(p), Dims::Image) => {
                *p = Pool2D::with((f, f), pool_strides.map(|s| (s, s)), self.padding)
            }
            (LayerSpec::AveragePooling2D(p), Dims::Image) => {
                *p = Pool2D::with((f, f), pool_strides.map(|s| (s, s)), self.padding)
            }
            (LayerSpec::Conv1D(c), Dims::Sequence) => {
                c.kernel_size = f;
                c.strides = s;
                c.dilation_rate = self.dilation();
                c.padding = self.padding;
            }
            (LayerSpec::MaxPooling1D(p), Dims::Sequence) => {
                (p.pool_size, p.strides, p.padding) = (f, pool_strides, self.padding)
            }
            (LayerSpec::AveragePooling1D(p), Dims::Sequence) => {
                (p.pool_size, p.strides, p.padding) = (f, pool_strides, self.padding)
            }
            _ => return None,
        }
        Some(layer)
    }

    /// Why the engine would refuse a layer with these settings (a Conv layer when there are
    /// filters, else a max pool), in its own words, if it would.
    pub fn refusal(&self) -> Option<String> {
        let (f, s) = (self.f, self.s);
        let (input, layer) = match self.dims {
            Dims::Image => {
                let layer = match self.filters {
                    0 => LayerSpec::MaxPooling2D(Pool2D::with((f, f), Some((s, s)), self.padding)),
                    filters => LayerSpec::Conv2D(Conv2D {
                        kernel_size: (f, f),
                        strides: (s, s),
                        ..Conv2D::new(filters, f).padding(self.padding)
                    }),
                };
                (Shape::image(self.n, self.n, self.channels), layer)
            }
            Dims::Sequence => {
                let layer = match self.filters {
                    0 => {
                        let mut pool = MaxPooling1D::new(f).strides(s);
                        pool.padding = self.padding;
                        LayerSpec::MaxPooling1D(pool)
                    }
                    filters => LayerSpec::Conv1D(Conv1D {
                        kernel_size: f,
                        strides: s,
                        dilation_rate: self.dilation(),
                        padding: self.padding,
                        ..Conv1D::new(filters, f)
                    }),
                };
                let input = Shape::Sequence {
                    c: self.channels,
                    steps: self.n,
                };
                (input, layer)
            }
        };
        crate::cnn::infer(input, &[layer], None).err().map(|e| e.to_string())
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
        let a = self.axis();
        let refusal = self.refusal();
        ui.separator();
        self.numbers_ui(ui, &a);
        if let Some(refusal) = &refusal {
            ui.colored_label(
                ui.visuals().error_fg_color,
                format!("The engine refuses this: {refusal}"),
            );
        }
        let target = self.layer.and_then(|i| experiment.layers.get(i).map(|l| (i, l)));
        if let Some((index, layer)) = target
            && let Some(applied) = self.applied_to(layer)
        {
            let label = format!("Apply to layer {} ({})", index + 1, layer.kind());
            if ui
                .add_enabled(
                    applied != *layer && refusal.is_none(),
                    egui::Button::new(RichText::new(&label).strong()),
                )
                .on_hover_text("Writes the kernel (or pool) size, strides and padding to the layer; Ctrl+Z undoes it")
                .on_disabled_hover_text("Nothing to write, or settings the engine refuses (see above)")
                .accessible_name(label)
                .clicked()
            {
                commands.edit(Edit::SetLayer { index, layer: applied });
            }
        }
        if self.dims == Dims::Sequence {
            if a.out > 0 {
                self.cell.1 = self.cell.1.min(a.out - 1);
                ui.horizontal_wrapped(|ui| {
                    ui.label("the window of output step");
                    ui.add(egui::DragValue::new(&mut self.cell.1).range(0..=a.out - 1))
                        .accessible_name("playground output step");
                    ui.label(reads_text(&taps_of(self.n, self.f, self.dilation(), &a, self.cell.1)));
                });
                ui.weak(
                    "Click an output step to choose it. Grey: the input; 0: padding; dots: where each window starts.",
                );
                row_ui(ui, self.n, self.f, self.dilation(), &a, &mut self.cell.1);
            }
            return;
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
        let sequence = self.dims == Dims::Sequence;
        egui::Grid::new("playground settings").num_columns(2).show(ui, |ui| {
            if self.layer.is_none() {
                // Opened from the menu: either kind of input; from a layer, the layer's.
                ui.label("input");
                ui.horizontal(|ui| {
                    let before = self.dims;
                    ui.radio_value(&mut self.dims, Dims::Image, "image (2-D)");
                    ui.radio_value(&mut self.dims, Dims::Sequence, "sequence (1-D)");
                    if self.dims != before {
                        self.dilation = 1;
                        self.padding = Padding::Valid;
                        self.n = if self.dims == Dims::Sequence { 16 } else { 6 };
                    }
                });
                ui.end_row();
            }
            let (unit, max_n) = if sequence {
                ("steps", MAX_STEPS)
            } else {
                ("pixels", MAX_N)
            };
            ui.label("input n");
            ui.add(egui::Slider::new(&mut self.n, 1..=max_n).text(unit))
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
            if sequence && self.filters > 0 {
                ui.label("dilation d");
                ui.add(egui::Slider::new(&mut self.dilation, 1..=MAX_DILATION).text("d"))
                    .on_hover_text("Steps between two taps (dilation_rate); Keras needs strides 1 with it")
                    .accessible_name("playground d");
                ui.end_row();
            }
            ui.label("padding");
            ui.horizontal(|ui| {
                ui.radio_value(&mut self.padding, Padding::Valid, "valid");
                ui.radio_value(&mut self.padding, Padding::Same, "same");
                if sequence {
                    // Keras offers causal on Conv1D only; the 1-D pools have valid and same.
                    if self.filters > 0 {
                        ui.radio_value(&mut self.padding, Padding::Causal, "causal");
                    }
                    return;
                }
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
        let (n, f, s, span) = (self.n, self.f, self.s, self.span());
        let sequence = self.dims == Dims::Sequence;
        let p = match self.padding {
            Padding::Explicit(p) => p,
            _ => 0,
        };
        if span > f {
            ui.label(
                RichText::new(format!(
                    "a dilated window spans f′ = (f − 1)·d + 1 = ({f} − 1)·{} + 1 = {span} steps",
                    self.dilation()
                ))
                .monospace(),
            );
        }
        // Below, f is the window's span.
        let fs = if span > f { "f′" } else { "f" };
        match self.padding {
            Padding::Same => {
                let total = a.pad_before + a.pad_after;
                ui.label(
                    RichText::new(format!("same: output = ⌈n/s⌉ = ⌈{n}/{s}⌉ = {}", a.out))
                        .monospace()
                        .strong(),
                );
                let odd = match (total % 2 == 1, sequence) {
                    (false, _) => "",
                    (true, false) => " (the odd one goes to the bottom/right)",
                    (true, true) => " (the odd one goes after the last step)",
                };
                ui.label(format!(
                    "TensorFlow pads max((⌈n/s⌉ − 1)·s + {fs} − n, 0) = {total} zeros: {} before, {} after{odd}",
                    a.pad_before, a.pad_after,
                ));
            }
            Padding::Causal => {
                ui.label(
                    RichText::new(format!(
                        "causal: output = ⌊(n + {fs} − 1 − {fs})/s⌋ + 1 = ⌊({n} − 1)/{s}⌋ + 1 = {}",
                        a.out
                    ))
                    .monospace()
                    .strong(),
                );
                ui.label(format!(
                    "{} zeros before the first step, none after: each output step reads only its own step and the {} before it, never a later one",
                    a.pad_before, a.pad_before
                ));
            }
            _ => {
                let sum = if sequence {
                    format!("⌊(n − {fs})/s⌋ + 1 = ⌊({n} − {span})/{s}⌋ + 1")
                } else {
                    format!("⌊(n + 2p − f)/s⌋ + 1 = ⌊({n} + {} − {f})/{s}⌋ + 1", 2 * p)
                };
                let text = if a.out == 0 {
                    format!("{sum}: the window does not fit")
                } else {
                    format!("output = {sum} = {}", a.out)
                };
                ui.label(RichText::new(text).monospace().strong());
            }
        }
        if self.filters > 0 {
            // A filter spans every input channel: f·f·c weights (f·c along a sequence) + 1 bias.
            let (taps, taps_formula) = if sequence {
                (f, format!("(f·c + 1)·filters = ({f}·{}", self.channels))
            } else {
                (f * f, format!("(f·f·c + 1)·filters = ({f}·{f}·{}", self.channels))
            };
            let params = (taps * self.channels + 1) * self.filters;
            let positions = if sequence { a.out } else { a.out * a.out };
            let macs = positions * taps * self.channels * self.filters;
            ui.label(
                RichText::new(format!(
                    "parameters = {taps_formula} + 1)·{} = {}   ·   MACs = {}",
                    self.filters,
                    group_digits(params as u64),
                    group_digits(macs as u64)
                ))
                .monospace(),
            );
        }
        let depth = if self.filters > 0 { self.filters } else { self.channels };
        if sequence {
            ui.label(format!("output {}×{depth} (steps×channels)", a.out));
        } else {
            ui.label(format!("output {0}×{0}×{depth}", a.out));
        }
    }
}

/// Steps (or pixels) a window of `f` taps `d` apart spans: (f − 1)·d + 1.
fn span_of(f: usize, d: usize) -> usize {
    (f.max(1) - 1) * d.max(1) + 1
}

/// What output step `o` reads: each tap's input step, or `None` for a padding zero.
pub fn taps_of(n: usize, f: usize, d: usize, a: &Axis, o: usize) -> Vec<Option<usize>> {
    let Some(&start) = a.starts.get(o) else {
        return Vec::new();
    };
    (0..f)
        .map(|t| (start + t * d).checked_sub(a.pad_before).filter(|&i| i < n))
        .collect()
}

/// What a window reads, in words: "reads 4 padding zeros, then input steps 0, 1, 2, 3, 4".
pub fn reads_text(taps: &[Option<usize>]) -> String {
    let before = taps.iter().take_while(|t| t.is_none()).count();
    let after = taps
        .iter()
        .rev()
        .take_while(|t| t.is_none())
        .count()
        .min(taps.len() - before);
    let steps: Vec<String> = taps.iter().flatten().map(|i| i.to_string()).collect();
    let zeros = |k: usize| {
        if k == 1 {
            "1 padding zero".to_string()
        } else {
            format!("{k} padding zeros")
        }
    };
    let mut parts = Vec::new();
    if before > 0 {
        parts.push(zeros(before));
    }
    if !steps.is_empty() {
        let noun = if steps.len() == 1 { "step" } else { "steps" };
        parts.push(format!("input {noun} {}", steps.join(", ")));
    }
    if after > 0 {
        parts.push(zeros(after));
    }
    format!("reads {}", parts.join(", then "))
}

#[cfg(test)]
mod tests;
