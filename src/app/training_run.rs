//! A training run as the app sees it: the background `Trainer`, what it last reported
//! (phase, progress, speed, ETA) and the curves it has drawn so far.

use crate::experiment::{EpochRecord, Experiment};
use crate::training::{Control, Event, Progress, RunOptions, RunSummary, Trainer, TrainingError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// While a run reports, the window redraws when the next batch is due, but at most this often.
/// The numbers and curves change with every batch, yet five pictures a second are enough to
/// watch them, and without a GPU each frame is painted by the CPU cores training needs: about
/// 25–30 ms of CPU per frame under Mesa's llvmpipe (`cnn-lab bench-ui`). Input (mouse, keys)
/// still redraws at once.
pub const REPAINT_MIN: Duration = Duration::from_millis(200);
/// The longest the window waits between frames during a run: slow batches, validation, a pause.
pub const REPAINT_MAX: Duration = Duration::from_millis(250);

/// A model's parameter values (in `Model::params` order), shared without copying.
pub type SharedWeights = Arc<Vec<Vec<f32>>>;

#[derive(Clone, Debug, PartialEq)]
pub enum Phase {
    /// Loading data, building the model, or scoring the test split.
    Preparing(String),
    Running,
    Paused,
}

/// Per-batch and per-epoch points, x in epochs (batch b of B in epoch e is at e − 1 + b/B).
#[derive(Clone, Debug, Default)]
pub struct Curves {
    pub batch_loss: Vec<[f64; 2]>,
    pub batch_accuracy: Vec<[f64; 2]>,
    /// The per-epoch records: the experiment's history plus the epochs of the current run.
    pub epochs: Vec<EpochRecord>,
}

impl Curves {
    pub fn from_history(history: &[EpochRecord]) -> Self {
        Curves {
            epochs: history.to_vec(),
            ..Curves::default()
        }
    }
}

/// What the app must act on after draining events.
#[derive(Debug)]
pub enum Notice {
    Diverged(String),
    Warning(String),
    /// Stopped: the result is here; the test split is scored next, in the background.
    Stopped(Box<(Experiment, RunSummary)>),
    Finished(Result<Box<(Experiment, RunSummary)>, TrainingError>),
}

pub struct TrainingRun {
    trainer: Trainer,
    pub phase: Phase,
    pub first_epoch: usize,
    pub last_epoch: usize,
    pub progress: Progress,
    pub train_samples: usize,
    pub val_samples: usize,
    pub images_per_sec: f32,
    pub learning_rate: f32,
    pub loss: f32,
    pub accuracy: f32,
    /// Epochs finished in this run.
    pub epochs_completed: usize,
    /// Batch events received in this run.
    pub batches_seen: usize,
    /// The run started from fresh weights because the saved ones no longer fit.
    pub fresh: bool,
    secs_per_batch: Option<f64>,
    last_batch_at: Option<Instant>,
    /// The newest weights the worker sent (numbered from 1), for the inspection views.
    weights: Option<(u64, Progress, SharedWeights)>,
    /// Scoring the test split: samples done and in all.
    pub scoring: Option<(usize, usize)>,
}

impl TrainingRun {
    pub fn start(experiment: Experiment, options: RunOptions) -> std::io::Result<Self> {
        let fresh = options.fresh;
        let learning_rate = experiment.training.learning_rate;
        let trainer = Trainer::spawn(experiment, options)?;
        Ok(TrainingRun {
            trainer,
            phase: Phase::Preparing("starting".into()),
            first_epoch: 1,
            last_epoch: 1,
            progress: Progress::default(),
            train_samples: 0,
            val_samples: 0,
            images_per_sec: 0.0,
            learning_rate,
            loss: f32::NAN,
            accuracy: f32::NAN,
            epochs_completed: 0,
            batches_seen: 0,
            fresh,
            secs_per_batch: None,
            last_batch_at: None,
            weights: None,
            scoring: None,
        })
    }

    pub fn send(&self, command: Control) {
        self.trainer.send(command);
    }

    /// Reads the trainer's events for at most `budget`, updating the run and `curves`.
    pub fn drain(&mut self, curves: &mut Curves, budget: Duration) -> Vec<Notice> {
        let deadline = Instant::now() + budget;
        let mut notices = Vec::new();
        while let Some(event) = self.trainer.try_recv() {
            if let Some(notice) = self.on_event(event, curves) {
                let finished = matches!(notice, Notice::Finished(_) | Notice::Stopped(_));
                notices.push(notice);
                if finished {
                    break;
                }
            }
            if Instant::now() >= deadline {
                break;
            }
        }
        notices
    }

    fn on_event(&mut self, event: Event, curves: &mut Curves) -> Option<Notice> {
        match event {
            Event::Preparing(what) => self.phase = Phase::Preparing(what),
            Event::Started {
                first_epoch,
                last_epoch,
                batches_per_epoch,
                train_samples,
                val_samples,
                ..
            } => {
                self.phase = Phase::Running;
                self.first_epoch = first_epoch;
                self.last_epoch = last_epoch;
                self.train_samples = train_samples;
                self.val_samples = val_samples;
                self.progress = Progress {
                    epoch: first_epoch,
                    last_epoch,
                    batch: 0,
                    batches: batches_per_epoch,
                };
                // Curves continue the history the run starts from.
                curves.epochs.truncate(first_epoch.saturating_sub(1));
                let start = (first_epoch - 1) as f64;
                curves.batch_loss.retain(|p| p[0] <= start);
                curves.batch_accuracy.retain(|p| p[0] <= start);
                self.last_batch_at = Some(Instant::now());
            }
            Event::Batch {
                progress,
                loss,
                accuracy,
                images_per_sec,
                learning_rate,
            } => {
                if self.phase != Phase::Paused {
                    self.phase = Phase::Running;
                }
                let now = Instant::now();
                if let Some(last) = self.last_batch_at {
                    let secs = now.duration_since(last).as_secs_f64();
                    self.secs_per_batch = Some(match self.secs_per_batch {
                        Some(avg) => 0.9 * avg + 0.1 * secs,
                        None => secs,
                    });
                }
                self.last_batch_at = Some(now);
                self.progress = progress;
                self.loss = loss;
                self.accuracy = accuracy;
                self.learning_rate = learning_rate;
                self.images_per_sec = if self.images_per_sec > 0.0 {
                    0.9 * self.images_per_sec + 0.1 * images_per_sec
                } else {
                    images_per_sec
                };
                self.batches_seen += 1;
                let x = (progress.epoch - 1) as f64 + progress.batch as f64 / progress.batches.max(1) as f64;
                if loss.is_finite() {
                    curves.batch_loss.push([x, loss as f64]);
                }
                curves.batch_accuracy.push([x, accuracy as f64]);
            }
            Event::Epoch(record) => {
                self.epochs_completed += 1;
                curves.epochs.retain(|r| r.epoch != record.epoch);
                curves.epochs.push(record);
            }
            Event::Weights { progress, values } => {
                let number = self.weights.as_ref().map_or(1, |w| w.0 + 1);
                self.weights = Some((number, progress, Arc::new(values)));
            }
            Event::Paused(progress) => {
                self.phase = Phase::Paused;
                self.progress = progress;
                self.last_batch_at = None;
            }
            Event::Resumed => {
                self.phase = Phase::Running;
                self.last_batch_at = Some(Instant::now());
            }
            Event::Diverged(message) => return Some(Notice::Diverged(message)),
            Event::Warning(message) => return Some(Notice::Warning(message)),
            Event::Stopped(result) => return Some(Notice::Stopped(result)),
            Event::Scoring { done, total } => self.scoring = Some((done, total)),
            Event::Finished(result) => return Some(Notice::Finished(result)),
        }
        None
    }

    /// Fraction of this run done, 0..=1.
    pub fn fraction(&self) -> f32 {
        if self.progress.batches == 0 {
            return 0.0;
        }
        self.progress.fraction(self.first_epoch)
    }

    /// Estimated time left, from the recent seconds per batch.
    pub fn eta(&self) -> Option<Duration> {
        let per_batch = self.secs_per_batch?;
        let p = self.progress;
        let left = (p.last_epoch.saturating_sub(p.epoch)) * p.batches + p.batches.saturating_sub(p.batch);
        Some(Duration::from_secs_f64(per_batch * left as f64))
    }

    /// The newest weights the worker sent: their number (counting from 1), when, and values.
    pub fn latest_weights(&self) -> Option<(u64, Progress, &SharedWeights)> {
        self.weights.as_ref().map(|(n, p, w)| (*n, *p, w))
    }

    pub fn is_paused(&self) -> bool {
        self.phase == Phase::Paused
    }

    /// How long until the next frame is worth drawing: until the next batch is due (from the
    /// recent seconds per batch), within `REPAINT_MIN..=REPAINT_MAX`. Drawing only when there is
    /// something new leaves the cores to training.
    pub fn next_repaint(&self) -> Duration {
        let wait = match (&self.phase, self.last_batch_at, self.secs_per_batch) {
            (Phase::Running, Some(last), Some(per_batch)) => {
                // A little late rather than early: an early frame has nothing new to show.
                let due = last + Duration::from_secs_f64(per_batch * 1.05);
                let since = Instant::now().duration_since(last);
                if since > REPAINT_MAX && since.as_secs_f64() > 2.0 * per_batch {
                    // Overdue: validation between epochs, or the trainer is starved.
                    REPAINT_MAX
                } else {
                    due.saturating_duration_since(last + since)
                }
            }
            (Phase::Paused, ..) => REPAINT_MAX,
            // Preparing (its spinner asks for its own frames), or before the first batch.
            _ => REPAINT_MIN,
        };
        wait.clamp(REPAINT_MIN, REPAINT_MAX)
    }
}

/// `83 s` → `1:23`; `3725 s` → `1:02:05`.
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}
