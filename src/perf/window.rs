//! `cnn-lab bench-ui`: does the window slow training down, and does it stay responsive while the
//! model trains? Trains the same experiment (by default `projects/cifar_shapes.ron`, the
//! benchmark's cifar model) with the same `Trainer` alternately headless and in the real window,
//! for a fixed time each, and reports the training images/s of both and the window's frame
//! times. Alternating (headless, window, headless, window, …) puts both conditions in one run on
//! a machine whose load changes.

use super::frames::FrameStats;
use super::meter::{Meter, PREPARE_LIMIT, Throughput, ended_early, too_slow};
use super::system::{load_average, name_pool_threads};
use super::window_report::{BenchUiReport, PhaseReport, WindowSummary};
use crate::app::status::Level;
use crate::app::{self, AfterFrame, AppCommand, FrameObserver, FrameTiming, LabApp, LaunchOptions, paths};
use crate::experiment::Experiment;
use crate::training::{Event, RunOptions, Trainer};
use anyhow::anyhow;
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The experiment measured when none is given.
pub const DEFAULT_FILE: &str = "cifar_shapes.ron";

/// What the command was asked to do.
#[derive(Clone, Debug)]
pub struct BenchUiOptions {
    /// The experiment to train; `None` = `projects/cifar_shapes.ron`.
    pub file: Option<PathBuf>,
    /// Seconds measured in each phase (after the warm-up).
    pub seconds: f64,
    /// Each round trains headless, then in the window.
    pub rounds: usize,
    /// Add a phase per round in which the window redraws continuously, as while the user moves
    /// the mouse or drags a slider without pause.
    pub interact: bool,
}

/// Trains `experiment` with no window for `seconds` after the warm-up.
fn headless(experiment: &Experiment, base_dir: &Path, seconds: Duration) -> anyhow::Result<Throughput> {
    let options = RunOptions {
        base_dir: base_dir.to_path_buf(),
        ..RunOptions::default()
    };
    let trainer = Trainer::spawn(experiment.clone(), options).map_err(|e| anyhow!("cannot start the trainer: {e}"))?;
    let mut meter = Meter::new(seconds, experiment.training.batch_size);
    let opened = Instant::now();
    let mut batches = 0;
    loop {
        match trainer.recv_timeout(Duration::from_secs(1)) {
            Ok(Event::Batch { .. }) => {
                batches += 1;
                if let Some(result) = meter.observe(Instant::now(), batches) {
                    return Ok(result);
                }
            }
            Ok(Event::Finished(Err(message))) => return Err(message.into()),
            Ok(Event::Finished(Ok(_))) => return Err(anyhow!(ended_early())),
            Ok(Event::Diverged(message)) => return Err(anyhow!(message)),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err(anyhow!("the trainer stopped without a result")),
        }
        if !meter.measuring() && opened.elapsed() > PREPARE_LIMIT {
            return Err(anyhow!(too_slow()));
        }
    }
}

type WindowOutcome = Arc<Mutex<Option<anyhow::Result<(Throughput, FrameStats)>>>>;

/// The window's part, handed to the app as its `LaunchOptions::observer`: train at once, record
/// the frames while `seconds` of training are measured, then close.
#[derive(Debug)]
pub struct WindowBench {
    meter: Meter,
    /// Redraw continuously while measuring.
    input: bool,
    frames: FrameStats,
    opened: Option<Instant>,
    outcome: WindowOutcome,
}

impl WindowBench {
    fn new(seconds: Duration, batch_size: usize, input: bool) -> Self {
        WindowBench {
            meter: Meter::new(seconds, batch_size),
            input,
            frames: FrameStats::default(),
            opened: None,
            outcome: WindowOutcome::default(),
        }
    }

    /// Ends the phase with `result`: the window closes at the end of this frame.
    fn finish(&mut self, result: anyhow::Result<(Throughput, FrameStats)>) {
        if let Ok(mut slot) = self.outcome.lock() {
            slot.get_or_insert(result);
        }
    }

    fn finished(&self) -> bool {
        self.outcome.lock().map_or(true, |slot| slot.is_some())
    }
}

impl FrameObserver for WindowBench {
    fn started(&mut self, app: &LabApp) {
        app.send(AppCommand::StartTraining);
    }

    fn frame(&mut self, ctx: &egui::Context, app: &LabApp, timing: FrameTiming) -> AfterFrame {
        let FrameTiming {
            start,
            show,
            previous_cpu,
        } = timing;
        if self.finished() {
            return AfterFrame::Continue;
        }
        let opened = *self.opened.get_or_insert(start);
        match app.run() {
            Some(run) => {
                let was_measuring = self.meter.measuring();
                let done = self.meter.observe(start, run.batches_seen);
                if was_measuring || self.meter.measuring() {
                    self.frames.record(start, show, previous_cpu);
                    if self.input {
                        ctx.request_repaint();
                    }
                }
                if let Some(training) = done {
                    let frames = std::mem::take(&mut self.frames);
                    self.finish(Ok((training, frames)));
                } else if !self.meter.measuring() && start.duration_since(opened) > PREPARE_LIMIT {
                    self.finish(Err(anyhow!(too_slow())));
                }
            }
            // Not started (the file cannot train) or already over.
            None => {
                let why = app
                    .status()
                    .messages()
                    .iter()
                    .rev()
                    .find(|m| m.level == Level::Error)
                    .map_or_else(ended_early, |m| format!("training did not run: {}", m.text));
                self.finish(Err(anyhow!(why)));
            }
        }
        if self.finished() {
            AfterFrame::Close
        } else {
            AfterFrame::Continue
        }
    }

    /// The window as a first-time user sees it, leaving this machine's saved state alone.
    fn persist(&self) -> bool {
        false
    }
}

/// Opens the window on `file`, trains, and measures `seconds` of training and frames.
fn window(file: &Path, seconds: Duration, batch_size: usize, input: bool) -> anyhow::Result<(Throughput, FrameStats)> {
    let bench = WindowBench::new(seconds, batch_size, input);
    let outcome = bench.outcome.clone();
    app::run_native(LaunchOptions {
        file: Some(file.to_path_buf()),
        observer: Some(Box::new(bench)),
        ..LaunchOptions::default()
    })?;
    let result = outcome.lock().map_err(|_| anyhow!("the window crashed"))?.take();
    result.unwrap_or_else(|| Err(anyhow!("the window closed before the measurement was over")))
}

/// Runs the benchmark; `progress` hears about each phase as it ends.
pub fn run(options: &BenchUiOptions, mut progress: impl FnMut(&PhaseReport)) -> anyhow::Result<BenchUiReport> {
    let file = options
        .file
        .clone()
        .unwrap_or_else(|| paths::projects_dir().join(DEFAULT_FILE));
    let experiment = crate::experiment::load(&file)?;
    let base_dir = crate::experiment::base_dir(&file);
    name_pool_threads();
    let seconds = Duration::from_secs_f64(options.seconds.max(0.5));
    let batch_size = experiment.training.batch_size;
    let load_average_before = load_average();
    let mut phases: Vec<(PhaseReport, FrameStats)> = Vec::new();
    let modes: &[&'static str] = if options.interact {
        &["headless", "window", "input"]
    } else {
        &["headless", "window"]
    };
    for _ in 0..options.rounds.max(1) {
        for &mode in modes {
            let (training, frames) = match mode {
                "headless" => (headless(&experiment, &base_dir, seconds)?, None),
                _ => {
                    let (training, frames) = window(&file, seconds, batch_size, mode == "input")?;
                    (training, Some(frames))
                }
            };
            let phase = PhaseReport {
                mode,
                training,
                frames: frames.as_ref().map(FrameStats::summary),
            };
            progress(&phase);
            phases.push((phase, frames.unwrap_or_default()));
        }
    }
    let headless: Vec<f64> = phases
        .iter()
        .filter(|(p, _)| p.mode == "headless")
        .map(|(p, _)| p.training.images_per_sec)
        .collect();
    let headless_img_s = headless.iter().sum::<f64>() / headless.len().max(1) as f64;
    let mut round_loss_percent = Vec::new();
    let mut before = None;
    for (phase, _) in &phases {
        match phase.mode {
            "headless" => before = Some(phase.training.images_per_sec),
            "window" => {
                if let Some(headless) = before {
                    round_loss_percent.push(100.0 * (1.0 - phase.training.images_per_sec / headless.max(1e-9)));
                }
            }
            _ => {}
        }
    }
    let window = WindowSummary::of(&phases, "window", headless_img_s).ok_or_else(|| anyhow!("no window phase"))?;
    let input = WindowSummary::of(&phases, "input", headless_img_s);
    Ok(BenchUiReport {
        file,
        input_shape: format!(
            "{}×{}×{}",
            experiment.input.height, experiment.input.width, experiment.input.channels
        ),
        batch_size,
        threads: rayon::current_num_threads(),
        seconds_per_phase: seconds.as_secs_f64(),
        phases: phases.into_iter().map(|(p, _)| p).collect(),
        headless_img_s,
        window_img_s: window.img_s,
        loss_percent: window.loss_percent,
        round_loss_percent,
        frames: window.frames,
        window_cpu_ms_per_frame: window.cpu_ms_per_frame,
        input,
        load_average_before,
        load_average_after: load_average(),
    })
}
