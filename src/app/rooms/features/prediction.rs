//! The prediction bars of the feature-map view: the classes by probability, the true label
//! marked, and a click to explain a class instead of the prediction.

use super::super::labels::fit_label;
use super::super::lens::Lens;
use super::super::maps::{Attribution, argmax};
use super::{FeaturesView, InputSource, LEFT_WIDTH};
use crate::data::Dataset;
use egui::{Rect, RichText, Sense, Ui, pos2, vec2};
use std::sync::Arc;

impl FeaturesView {
    pub(super) fn prediction_ui(
        &mut self,
        ui: &mut Ui,
        lens: &Lens,
        dataset: Option<&Arc<Dataset>>,
        split: Option<&crate::data::Split>,
    ) {
        let Some(shown) = &self.shown else {
            return;
        };
        if self.source == InputSource::Canvas && self.canvas.is_empty() {
            // A prediction for an empty canvas would only be the model's bias.
            ui.label(RichText::new("Draw on the canvas: the prediction appears as you draw.").strong());
            return;
        }
        let probs = &shown.computed.probs;
        let Some(best) = argmax(probs) else {
            return;
        };
        let truth = match (self.source, split) {
            (InputSource::Dataset, Some(split)) if dataset.is_some() => {
                split.labels.get(self.index).map(|&l| l as usize)
            }
            _ => None,
        };
        ui.label(
            RichText::new(format!(
                "Prediction: {} ({:.1}%)",
                lens.class_name(best),
                probs[best] * 100.0
            ))
            .strong(),
        );
        ui.label(
            RichText::new("Click a class to explain it instead of the prediction.")
                .small()
                .weak(),
        );
        let mut order: Vec<usize> = (0..probs.len()).collect();
        if probs.len() > 12 {
            order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
            order.truncate(10);
        }
        let accent = ui.visuals().selection.bg_fill;
        let mut clicked = None;
        for &c in &order {
            let (rect, response) = ui.allocate_exact_size(vec2(LEFT_WIDTH - 16.0, 15.0), Sense::click());
            let name = lens.class_name(c);
            response
                .widget_info(|| egui::WidgetInfo::labeled(egui::Role::Button, true, format!("probability of {name}")));
            let response = response.on_hover_text(format!("{name}: {:.1}%", probs[c] * 100.0));
            let painter = ui.painter_at(rect);
            let name_w = 104.0;
            let bar_max = rect.width() - name_w - 52.0;
            let bar = Rect::from_min_size(
                pos2(rect.left() + name_w, rect.top() + 3.0),
                vec2((probs[c].clamp(0.0, 1.0) * bar_max).max(1.0), rect.height() - 6.0),
            );
            let explained = shown.computed.target == c && self.attribution != Attribution::None;
            if response.hovered() || explained {
                painter.rect_filled(rect, 2.0, ui.visuals().faint_bg_color);
            }
            let fill = if c == best {
                accent
            } else {
                ui.visuals().weak_text_color().gamma_multiply(0.6)
            };
            painter.rect_filled(bar, 1.0, fill);
            let font = egui::FontId::proportional(12.0);
            let mark = if truth == Some(c) { "✔ " } else { "" };
            let label = format!("{mark}{}", fit_label(&painter, &name, &font, name_w - 6.0));
            let text = ui.visuals().text_color();
            painter.text(
                pos2(rect.left() + 2.0, rect.center().y),
                egui::Align2::LEFT_CENTER,
                label,
                font,
                text,
            );
            painter.text(
                pos2(rect.right() - 2.0, rect.center().y),
                egui::Align2::RIGHT_CENTER,
                format!("{:.1}%", probs[c] * 100.0),
                egui::FontId::monospace(11.0),
                text,
            );
            if response.clicked() {
                clicked = Some(c);
            }
        }
        if truth.is_some() {
            ui.label(RichText::new("✔ marks the true label").small().weak());
        }
        if let Some(c) = clicked {
            self.target = if self.target == Some(c) { None } else { Some(c) };
            if self.attribution == Attribution::None {
                self.attribution = Attribution::GradCam;
            }
        }
    }
}
