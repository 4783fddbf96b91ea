//! The filter room's timeline: the first convolution's kernels saved after every epoch
//! (decoded once per change), and the slider and ▶ that step through them.

use super::{FiltersView, PLAY_STEP, Snapshot};
use crate::experiment::{Experiment, FilterSnapshot};
use egui::Ui;
use std::hash::{Hash, Hasher};
use std::time::Instant;


impl FiltersView {
    /// The snapshots' (epoch, layer), decoded again when the experiment's changed.
    pub(super) fn snapshot_epochs(&mut self, experiment: &Experiment) -> Vec<(usize, usize)> {
        self.refresh_snapshots(experiment);
        self.snapshots
            .as_ref()
            .map(|(_, s)| s.iter().map(|s| (s.epoch, s.layer)).collect())
            .unwrap_or_default()
    }

    fn refresh_snapshots(&mut self, experiment: &Experiment) {
        let fingerprint = fingerprint(&experiment.filter_snapshots);
        if self.snapshots.as_ref().is_some_and(|(f, _)| *f == fingerprint) {
            return;
        }
        let decoded = experiment
            .filter_snapshots
            .iter()
            .filter_map(|s| {
                Some(Snapshot {
                    epoch: s.epoch,
                    layer: s.layer,
                    values: s.weights.decode().ok()?,
                })
            })
            .collect();
        self.snapshots = Some((fingerprint, decoded));
        self.timeline = None;
    }

    pub(super) fn timeline_ui(&mut self, ui: &mut Ui, snapshots: &[(usize, usize)]) {
        let last = snapshots.len() - 1;
        ui.horizontal(|ui| {
            ui.label("Timeline");
            let playing = self.playing.is_some();
            if ui
                .button(if playing { "⏸" } else { "▶" })
                .on_hover_text("Play the filters' history, epoch by epoch")
                .clicked()
            {
                if playing {
                    self.playing = None;
                } else {
                    if self.timeline.is_none_or(|t| t >= last) {
                        self.timeline = Some(0);
                    }
                    self.playing = Some(Instant::now());
                }
            }
            let mut position = self.timeline.unwrap_or(last + 1);
            let label = |p: usize| {
                if p > last {
                    "now".to_string()
                } else if snapshots[p].0 == 0 {
                    "before training".to_string()
                } else {
                    format!("after epoch {}", snapshots[p].0)
                }
            };
            let text = label(position);
            let slider = egui::Slider::new(&mut position, 0..=last + 1)
                .show_value(false)
                .text(text);
            if ui.add(slider).changed() {
                self.timeline = (position <= last).then_some(position);
                self.playing = None;
            }
        });
        if let Some(started) = self.playing {
            let due = started.elapsed() >= PLAY_STEP;
            if due {
                let next = self.timeline.map_or(0, |t| t + 1);
                if next > last {
                    self.timeline = None;
                    self.playing = None;
                } else {
                    self.timeline = Some(next);
                    self.playing = Some(Instant::now());
                }
            }
            ui.ctx().request_repaint_after(PLAY_STEP);
        }
    }
}

fn fingerprint(snapshots: &[FilterSnapshot]) -> u64 {
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    for s in snapshots {
        (s.epoch, s.layer, &s.weights.data).hash(&mut hasher);
    }
    hasher.finish()
}
