//! The layer palette under the editor: one button per layer kind, showing the shape it would
//! output where it would go ("at the end" means the last place the layer fits), with Alt+1 …
//! Alt+0 as shortcuts.

use super::context::LabContext;
use super::layer_fields::layer_color;
use crate::cnn::{LayerSpec, analyze, infer};
use crate::experiment::Edit;
use egui::{Key, KeyboardShortcut, Modifiers, Ui};

/// Alt+1 … Alt+9, Alt+0 add the palette's layers in order.
pub const PALETTE_KEYS: [Key; 10] = super::keys::DIGIT_KEYS;
/// Lower than this (in points), the palette keeps to one line.
const SHORT_SCREEN: f32 = 640.0;

pub fn palette_ui(ui: &mut Ui, lab: &LabContext, insert_at: &mut Option<usize>) {
    let layers = &lab.experiment.layers;
    let position = insert_at.unwrap_or(layers.len()).min(layers.len());
    ui.horizontal(|ui| {
        ui.strong("Add a layer");
        let where_text = |p: usize| -> String {
            match p {
                0 => "at the start (after the input)".into(),
                p if p == layers.len() => "at the end".into(),
                p => format!("after layer {p} ({})", layers[p - 1].kind()),
            }
        };
        egui::ComboBox::from_id_salt("insert position")
            .selected_text(where_text(position))
            .width(230.0)
            .show_ui(ui, |ui| {
                for p in 0..=layers.len() {
                    if ui.selectable_label(p == position, where_text(p)).clicked() {
                        *insert_at = (p < layers.len()).then_some(p);
                    }
                }
            })
            .response
            .accessible_name("insert position");
    });
    let chosen = insert_at.is_some();
    let mut buttons = |ui: &mut Ui| {
        for (n, layer) in palette_for(lab.experiment.input.sequence).into_iter().enumerate() {
            let name = format!("add {}", layer.kind());
            let shortcut = PALETTE_KEYS
                .get(n)
                .map(|&key| KeyboardShortcut::new(Modifiers::ALT, key));
            // "At the end" means the end of where the layer fits: a Conv2D added to a
            // model that ends in Dense goes before its Flatten, not after the Dense.
            let position = if chosen {
                position
            } else {
                fitting_position(lab, &layer)
            };
            let pressed = shortcut.is_some_and(|s| ui.input_mut(|i| i.consume_shortcut(&s)));
            let clicked = palette_button_ui(ui, lab, layer.clone(), position, name, shortcut);
            if let Some(layer) = clicked.or(pressed.then_some(layer)) {
                lab.commands.edit(Edit::Insert { index: position, layer });
                // Keep inserting below what was just added.
                *insert_at = insert_at.map(|_| position + 1);
            }
        }
    };
    // On a short screen the palette keeps to one line (scrolling sideways), leaving the
    // height to the layer rows.
    if ui.ctx().content_rect().height() < SHORT_SCREEN {
        egui::ScrollArea::horizontal()
            .id_salt("palette")
            .show(ui, |ui| ui.horizontal(|ui| buttons(ui)));
    } else {
        ui.horizontal_wrapped(|ui| buttons(ui));
    }
}

/// The palette, the kinds made for the model's input first: 1-D kinds (and Embedding) before
/// the 2-D ones for a sequence model, and after them for an image model.
fn palette_for(sequence: bool) -> Vec<LayerSpec> {
    let rank = |layer: &LayerSpec| {
        let kind = layer.kind();
        let one_d = kind.ends_with("1D") || kind == "Embedding";
        let two_d = kind.ends_with("2D");
        match (sequence, one_d, two_d) {
            (true, true, _) | (false, _, true) => 0,
            (_, false, false) => 1,
            _ => 2,
        }
    };
    let mut palette = LayerSpec::palette();
    palette.sort_by_key(rank);
    palette
}

/// The last position where `layer` fits (its input shape allows it): the end when it fits there.
/// Drawn every frame for every button: it reads the shapes the document's analysis already has
/// and infers only the one layer at each position.
fn fitting_position(lab: &LabContext, layer: &LayerSpec) -> usize {
    let layers = &lab.experiment.layers;
    let shapes = &lab.analysis.summary.layers;
    // What arrives at position p: the input, or the output of layer p (if the model is valid
    // that far).
    let arriving = |p: usize| match p {
        0 => Some(lab.experiment.input.shape()),
        p => shapes.get(p - 1).map(|info| info.output),
    };
    let fits = |p: usize| arriving(p).is_some_and(|shape| infer(shape, std::slice::from_ref(layer), None).is_ok());
    (0..=layers.len()).rev().find(|&p| fits(p)).unwrap_or(layers.len())
}

/// A button that inserts `layer` (a palette default) at `position`, showing the shape it would
/// output there (or why it does not fit). Returns the layer when clicked.
pub fn palette_button_ui(
    ui: &mut Ui,
    lab: &LabContext,
    layer: LayerSpec,
    position: usize,
    name: String,
    shortcut: Option<KeyboardShortcut>,
) -> Option<LayerSpec> {
    let kind = layer.kind();
    let layers = &lab.experiment.layers;
    let position = position.min(layers.len());
    let mut trial = layers[..position].to_vec();
    trial.push(layer.clone());
    let preview = analyze(lab.experiment.input.shape(), &trial, None);
    let (shape, problem) = match preview.summary.layers.get(position) {
        Some(info) => (info.output.hwc(), None),
        None => match preview.error {
            Some(e) if e.layer_index() == Some(position) => ("✖".to_string(), Some(e.to_string())),
            _ => (
                "?".to_string(),
                Some("the layers before this position are invalid".to_string()),
            ),
        },
    };
    let style = ui.style();
    let mut job = egui::text::LayoutJob::single_section(
        kind.to_string(),
        egui::TextFormat::simple(
            egui::TextStyle::Button.resolve(style),
            layer_color(&layer, ui.visuals().dark_mode),
        ),
    );
    let shape_color = if problem.is_some() {
        ui.visuals().error_fg_color
    } else {
        ui.visuals().weak_text_color()
    };
    job.append(
        &format!("  → {shape}"),
        0.0,
        egui::TextFormat::simple(egui::TextStyle::Monospace.resolve(style), shape_color),
    );
    let hover = match &problem {
        Some(problem) => format!("{} does not fit here: {problem}", layer.describe()),
        None if position == 0 && !layers.is_empty() => format!(
            "Insert {} at the start, after the input; it would output {shape}",
            layer.describe()
        ),
        None if position < layers.len() => format!(
            "Insert {} after layer {position} ({}); it would output {shape}",
            layer.describe(),
            layers[position - 1].kind()
        ),
        None => format!("Insert {} here; it would output {shape}", layer.describe()),
    };
    let hover = match shortcut {
        Some(shortcut) => format!("{hover} ({})", ui.ctx().format_shortcut(&shortcut)),
        None => hover,
    };
    ui.button(job)
        .on_hover_text(hover)
        .accessible_name(name)
        .clicked()
        .then_some(layer)
}
