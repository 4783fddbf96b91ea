//! Undo / redo of experiment edits: snapshots of the experiment before each change, with the
//! heavy trained parts (weights, optimizer state, filter snapshots) shared between snapshots.

use crate::experiment::{Experiment, TrainedArrays};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Keep at most this many undo steps.
const MAX_STEPS: usize = 200;
/// Edits with the same key closer together than this merge into one step (a drag, typing).
const COALESCE: Duration = Duration::from_millis(1200);

/// One saved state: the experiment without its trained arrays, plus those, shared.
#[derive(Clone, Debug)]
struct Snapshot {
    light: Experiment,
    trained: Arc<TrainedArrays>,
}

#[derive(Default)]
pub struct UndoHistory {
    undo: Vec<Snapshot>,
    redo: Vec<Snapshot>,
    last_key: Option<(String, Instant)>,
}

impl UndoHistory {
    pub fn can_undo(&self) -> bool {
        !self.undo.is_empty()
    }

    pub fn can_redo(&self) -> bool {
        !self.redo.is_empty()
    }

    /// Records `before`, the experiment as it was before an edit. An edit with the same
    /// `key` as the previous one, soon after it, extends that step instead.
    pub fn record(&mut self, before: &Experiment, key: Option<String>) {
        let now = Instant::now();
        let merge = match (&key, &self.last_key) {
            (Some(key), Some((last, at))) => key == last && now.duration_since(*at) < COALESCE,
            _ => false,
        };
        self.last_key = key.map(|k| (k, now));
        self.redo.clear();
        if merge && !self.undo.is_empty() {
            return;
        }
        let snapshot = self.snapshot(before);
        self.undo.push(snapshot);
        if self.undo.len() > MAX_STEPS {
            self.undo.remove(0);
        }
    }

    /// Ends the current merge group, so the next edit is its own step.
    pub fn break_group(&mut self) {
        self.last_key = None;
    }

    /// Returns the experiment to go back to, given the current one (kept for redo).
    pub fn undo(&mut self, current: &Experiment) -> Option<Experiment> {
        let target = self.undo.pop()?;
        let snapshot = self.snapshot(current);
        self.redo.push(snapshot);
        self.last_key = None;
        Some(restore(target))
    }

    pub fn redo(&mut self, current: &Experiment) -> Option<Experiment> {
        let target = self.redo.pop()?;
        let snapshot = self.snapshot(current);
        self.undo.push(snapshot);
        self.last_key = None;
        Some(restore(target))
    }

    /// Splits off the trained arrays, sharing them with a neighbouring snapshot when equal
    /// (they rarely change between edits, and they can be megabytes).
    fn snapshot(&self, experiment: &Experiment) -> Snapshot {
        let mut light = experiment.clone();
        let trained = light.take_trained_arrays();
        let shared = self
            .undo
            .last()
            .into_iter()
            .chain(self.redo.last())
            .find(|s| *s.trained == trained)
            .map(|s| s.trained.clone());
        Snapshot {
            light,
            trained: shared.unwrap_or_else(|| Arc::new(trained)),
        }
    }
}

fn restore(snapshot: Snapshot) -> Experiment {
    let mut experiment = snapshot.light;
    experiment.put_trained_arrays(Arc::unwrap_or_clone(snapshot.trained));
    experiment
}
