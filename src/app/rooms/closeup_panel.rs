//! The convolution close-up in the Feature maps room: click a map value to see the arithmetic
//! that produced it, on the real input and the weights on show; ◀ ▶ (or the arrow keys) move
//! the window by the layer's stride across the output, ▶ Play walks it.

use super::jobs::Job;
use super::lens::Lens;
use crate::cnn::{Activation, Shape};
use crate::inspect::closeup::{ChannelPart, ConvCloseUp, DenseCloseUp, PoolCloseUp, TOP_CONTRIBUTIONS};
use crate::inspect::{CloseUp, Target, close_up};
use egui::{Color32, Key, RichText, Ui};
use std::sync::Arc;

/// Input channels drawn in full; the others are summed in one line each.
const CHANNELS_SHOWN: usize = 4;
/// Seconds between steps while playing.
const PLAY_STEP: f64 = 0.5;

#[derive(Default)]
pub struct CloseUpPanel {
    target: Option<Target>,
    /// The close-up on show, for this target and lens.
    shown: Option<(Target, u64, Option<CloseUp>)>,
    job: Option<(Target, u64, Job<Option<CloseUp>>)>,
    playing: bool,
    next_step: f64,
    /// Open on the first convolution once the maps are shown (`--view closeup`).
    requested: bool,
}

impl CloseUpPanel {
    pub fn target(&self) -> Option<Target> {
        self.target
    }

    /// The close-up on show, when computed for the current target.
    pub fn shown(&self) -> Option<&CloseUp> {
        let (target, _, up) = self.shown.as_ref()?;
        (Some(*target) == self.target).then_some(up.as_ref()).flatten()
    }

    pub fn busy(&self) -> bool {
        self.job.is_some() || self.requested
    }

    /// Asks for the close-up of the middle of the first convolution's first map.
    pub fn request(&mut self) {
        self.requested = true;
    }

    /// Opens the requested close-up (the first layer with image filters), once.
    pub fn open_requested(&mut self, lens: &Lens) {
        if !std::mem::take(&mut self.requested) {
            return;
        }
        let Some(&layer) = lens.conv_layers().first() else {
            return;
        };
        if let Some(Shape::Image { h, w, .. }) = lens.infos.get(layer).map(|i| i.output) {
            self.open(Target {
                layer,
                channel: 0,
                row: (h - 1) / 2,
                col: (w - 1) / 2,
            });
        }
    }

    pub fn open(&mut self, target: Target) {
        self.target = Some(target);
        self.playing = false;
    }

    /// The output size (rows, columns, channels) of `layer`.
    fn output_dims(lens: &Lens, layer: usize) -> Option<(usize, usize, usize)> {
        match lens.infos.get(layer)?.output {
            Shape::Image { c, h, w } => Some((h, w, c)),
            flat => Some((1, flat.len(), 1)),
        }
    }

    /// Moves the window one output position forward (or back), row by row.
    fn step(&mut self, lens: &Lens, forward: bool) {
        let Some(mut t) = self.target else {
            return;
        };
        let Some((h, w, _)) = Self::output_dims(lens, t.layer) else {
            return;
        };
        let flat = matches!(lens.infos.get(t.layer).map(|i| i.output), Some(Shape::Flat { .. }));
        if flat {
            // A Dense layer: step through its units.
            let units = w;
            t.channel = if forward {
                (t.channel + 1) % units
            } else {
                (t.channel + units - 1) % units
            };
        } else {
            let i = t.row * w + t.col;
            let i = if forward {
                (i + 1) % (h * w)
            } else {
                (i + h * w - 1) % (h * w)
            };
            (t.row, t.col) = (i / w, i % w);
        }
        self.target = Some(t);
    }

    /// Draws the close-up window (if a value was clicked) for the input `pixels`.
    pub fn ui(&mut self, ctx: &egui::Context, lens: &Arc<Lens>, pixels: Option<&Vec<u8>>) {
        let Some(target) = self.target else {
            return;
        };
        if let Some((t, id, job)) = &mut self.job
            && let Some(result) = job.poll()
        {
            let (t, id) = (*t, *id);
            self.job = None;
            self.shown = Some((t, id, result.ok().flatten()));
        }
        let fresh = self
            .shown
            .as_ref()
            .is_some_and(|(t, id, _)| *t == target && *id == lens.id);
        if !fresh
            && self
                .job
                .as_ref()
                .is_none_or(|(t, id, _)| *t != target || *id != lens.id)
            && let Some(pixels) = pixels
        {
            let id = lens.id;
            let (lens, pixels) = (lens.clone(), pixels.clone());
            let job = Job::spawn("computing the close-up", 1, Some(ctx.clone()), move |_| {
                let mut model = lens.model()?;
                let x = lens.input_from_pixels(&pixels);
                Ok(close_up(&mut model, &x, target))
            });
            self.job = Some((target, id, job));
        }
        let now = ctx.input(|i| i.time);
        if self.playing && now >= self.next_step && self.job.is_none() {
            self.step(lens, true);
            self.next_step = now + PLAY_STEP;
        }
        if self.playing {
            ctx.request_repaint_after_secs(PLAY_STEP as f32);
        }
        if !ctx.egui_wants_keyboard_input() {
            if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, Key::ArrowRight)) {
                self.step(lens, true);
            }
            if ctx.input_mut(|i| i.consume_key(egui::Modifiers::NONE, Key::ArrowLeft)) {
                self.step(lens, false);
            }
        }
        let kind = lens.specs.get(target.layer).map_or("", |s| s.kind());
        let title = match lens.infos.get(target.layer).map(|i| i.output) {
            Some(Shape::Image { .. }) => format!(
                "Close-up: layer {} {kind}, map {} at row {}, column {}",
                target.layer + 1,
                target.channel + 1,
                target.row,
                target.col
            ),
            _ => format!(
                "Close-up: layer {} {kind}, unit {}",
                target.layer + 1,
                target.channel + 1
            ),
        };
        let mut open = true;
        egui::Window::new("Close-up")
            .id(egui::Id::unique("close-up"))
            .open(&mut open)
            .default_width(760.0)
            // Beside the maps, not over them: the clicked value stays in view.
            .default_pos(ctx.content_rect().right_top() + egui::vec2(-800.0, 70.0))
            .show(ctx, |ui| {
                ui.label(RichText::new(&title).strong());
                ui.horizontal(|ui| {
                    if ui
                        .button("◀")
                        .on_hover_text("Previous output position (←)")
                        .accessible_name("close-up back")
                        .clicked()
                    {
                        self.step(lens, false);
                    }
                    let play = if self.playing { "⏸ Pause" } else { "▶ Play" };
                    if ui.button(play).accessible_name("close-up play").clicked() {
                        self.playing = !self.playing;
                        self.next_step = now + PLAY_STEP;
                    }
                    if ui
                        .button("▶")
                        .on_hover_text("Next output position (→)")
                        .accessible_name("close-up next")
                        .clicked()
                    {
                        self.step(lens, true);
                    }
                    if self.job.is_some() {
                        ui.spinner();
                    }
                });
                ui.separator();
                egui::ScrollArea::both()
                    .max_height(ctx.content_rect().height() * 0.55)
                    .show(ui, |ui| match self.shown() {
                        Some(CloseUp::Conv(up)) => conv_ui(ui, up),
                        Some(CloseUp::Pool(up)) => pool_ui(ui, up),
                        Some(CloseUp::Dense(up)) => dense_ui(ui, up),
                        None if self.job.is_some() => {
                            ui.label("computing…");
                        }
                        None => {
                            ui.label("This layer has no arithmetic of its own to show (it reshapes or drops values).");
                        }
                    });
                if let Some(CloseUp::Conv(up)) = self.shown() {
                    ui.separator();
                    conv_total_ui(ui, up);
                }
            });
        if !open {
            self.target = None;
            self.playing = false;
        }
    }
}

fn number(v: f32) -> String {
    if v == 0.0 { "0".into() } else { format!("{v:.2}") }
}

/// A small matrix of `rows × cols` cells; `cell(i)` gives the text and its colour.
fn matrix(
    ui: &mut Ui,
    id: impl std::hash::Hash + std::fmt::Debug,
    cols: usize,
    cells: usize,
    cell: impl Fn(usize) -> RichText,
) {
    egui::Grid::new(egui::Id::unique("close-up matrix").with(id))
        .spacing([4.0, 2.0])
        .show(ui, |ui| {
            for i in 0..cells {
                ui.label(cell(i));
                if (i + 1) % cols == 0 {
                    ui.end_row();
                }
            }
        });
}

fn channel_ui(ui: &mut Ui, n: usize, part: &ChannelPart, kw: usize) {
    let weak = ui.visuals().weak_text_color();
    ui.horizontal_top(|ui| {
        ui.vertical(|ui| {
            ui.small(format!("channel {} input", n + 1));
            matrix(ui, (n, 0), kw, part.inputs.len(), |i| match part.inputs[i] {
                Some(v) => RichText::new(number(v)).monospace(),
                None => RichText::new("0").monospace().italics().color(weak),
            });
        });
        ui.label(RichText::new("⊙").strong());
        ui.vertical(|ui| {
            ui.small("kernel");
            matrix(ui, (n, 1), kw, part.kernel.len(), |i| {
                RichText::new(number(part.kernel[i])).monospace()
            });
        });
        ui.label(RichText::new("=").strong());
        ui.vertical(|ui| {
            ui.small("products");
            matrix(ui, (n, 2), kw, part.products.len(), |i| {
                RichText::new(number(part.products[i])).monospace()
            });
        });
        ui.label(RichText::new(format!("Σ = {}", number(part.sum))).monospace().strong());
    });
}

fn activation_line(activation: Activation, pre: f32, value: f32) -> String {
    match activation {
        Activation::Linear => format!("no activation (linear): value {value:.4}"),
        a => format!("{}({pre:.4}) = {value:.4}", a.keras_name()),
    }
}

fn conv_ui(ui: &mut Ui, up: &ConvCloseUp) {
    ui.label(format!(
        "A {}×{}×{} filter over the window at input row {}, column {} (stride {}×{}; grey 0s are padding):",
        up.kernel.0,
        up.kernel.1,
        up.channels.len(),
        up.origin.0,
        up.origin.1,
        up.strides.0,
        up.strides.1
    ));
    for (n, part) in up.channels.iter().enumerate().take(CHANNELS_SHOWN) {
        channel_ui(ui, n, part, up.kernel.1);
        ui.add_space(4.0);
    }
    for (n, part) in up.channels.iter().enumerate().skip(CHANNELS_SHOWN) {
        ui.monospace(format!("channel {}: Σ = {}", n + 1, number(part.sum)));
    }
}

/// The sum of the channels, the bias and the activation: below the scrolled channels, always
/// in view.
fn conv_total_ui(ui: &mut Ui, up: &ConvCloseUp) {
    let sums: Vec<String> = up.channels.iter().map(|p| number(p.sum)).collect();
    let shown: String = if sums.len() > 8 {
        format!("{} + … ({} channels)", sums[..8].join(" + "), sums.len())
    } else {
        sums.join(" + ")
    };
    ui.monospace(format!("Σ channels = {shown} = {:.4}", up.pre_activation - up.bias));
    ui.monospace(format!(
        "+ bias {:.4} = {:.4} (pre-activation)",
        up.bias, up.pre_activation
    ));
    ui.label(
        RichText::new(format!(
            "→ {} : the value in the map",
            activation_line(up.activation, up.pre_activation, up.value)
        ))
        .monospace()
        .strong(),
    );
}

fn pool_ui(ui: &mut Ui, up: &PoolCloseUp) {
    let accent = ui.visuals().selection.bg_fill;
    let weak = ui.visuals().weak_text_color();
    ui.label(format!(
        "A {}×{} window at row {}, column {} (stride {}×{}){}:",
        up.size.0,
        up.size.1,
        up.origin.0,
        up.origin.1,
        up.strides.0,
        up.strides.1,
        if up.count < up.inputs.len() {
            "; — marks cells outside the input, which never count"
        } else {
            ""
        }
    ));
    matrix(ui, "pool", up.size.1, up.inputs.len(), |i| match up.inputs[i] {
        Some(v) if up.chosen == Some(i) => RichText::new(number(v))
            .monospace()
            .strong()
            .color(Color32::WHITE)
            .background_color(accent),
        Some(v) => RichText::new(number(v)).monospace(),
        None => RichText::new("—").monospace().color(weak),
    });
    let text = if up.average {
        format!("mean of the {} real cells = {:.4}", up.count, up.value)
    } else {
        format!("maximum = {:.4} (highlighted)", up.value)
    };
    ui.label(RichText::new(text).monospace().strong());
}

fn dense_ui(ui: &mut Ui, up: &DenseCloseUp) {
    ui.label(format!(
        "The unit's dot product over {} inputs; its {} largest terms:",
        up.inputs,
        up.top.len().min(TOP_CONTRIBUTIONS)
    ));
    egui::Grid::new("dense terms").striped(true).show(ui, |ui| {
        for title in ["input", "value", "× weight", "= product"] {
            ui.strong(title);
        }
        ui.end_row();
        for t in &up.top {
            ui.monospace(format!("#{}", t.input + 1));
            ui.monospace(number(t.value));
            ui.monospace(number(t.weight));
            ui.monospace(number(t.product));
            ui.end_row();
        }
    });
    ui.monospace(format!("Σ all {} products = {:.4}", up.inputs, up.dot));
    ui.monospace(format!("+ bias {:.4} = {:.4}", up.bias, up.pre_activation));
    ui.label(
        RichText::new(format!(
            "→ {}",
            activation_line(up.activation, up.pre_activation, up.value)
        ))
        .monospace()
        .strong(),
    );
}
