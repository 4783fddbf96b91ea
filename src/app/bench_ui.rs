//! `cnn-lab bench-ui`: does the window slow training down, and does it stay responsive while the
//! model trains? Trains the same experiment (by default `projects/cifar_shapes.ron`, the
//! benchmark's cifar model) with the same `Trainer` alternately headless and in the real window,
//! for a fixed time each, and reports the training images/s of both and the window's frame
//! times. Alternating (headless, window, headless, window, …) puts both conditions in one run on
//! a machine whose load changes.

use super::frame_stats::{FrameStats, FrameSummary};
use super::{LabApp, LaunchOptions, paths};
use crate::experiment::Experiment;
use crate::training::{Event, RunOptions, Trainer};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::mpsc::RecvTimeoutError;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The experiment measured when none is given.
pub const DEFAULT_FILE: &str = "cifar_shapes.ron";
/// Batches trained before the measurement starts (buffers allocated, caches and clocks warm).
const WARMUP_BATCHES: usize = 10;
/// Loading the data and reaching the warm-up may take this long before the phase fails.
const PREPARE_LIMIT: Duration = Duration::from_secs(300);

/// What the command was asked to do.
#[derive(Clone, Debug)]
pub struct BenchUiOptions {
    /// The experiment to train; `None` = `projects/cifar_shapes.ron`.
    pub file: Option<PathBuf>,
    /// Seconds measured in each phase (after the warm-up).
    pub seconds: f64,
    /// Pairs of phases: each round trains headless, then in the window.
    pub rounds: usize,
}

/// Training speed over one measured stretch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Throughput {
    pub batches: usize,
    pub images: usize,
    pub seconds: f64,
    pub images_per_sec: f64,
}

/// One phase of the benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseReport {
    /// "headless" or "window".
    pub mode: &'static str,
    #[serde(flatten)]
    pub training: Throughput,
    /// The window's frames during the phase (`None` headless).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<FrameSummary>,
}

/// Everything `bench-ui --json` prints.
#[derive(Clone, Debug, Serialize)]
pub struct BenchUiReport {
    pub file: PathBuf,
    pub input: String,
    pub batch_size: usize,
    pub threads: usize,
    pub seconds_per_phase: f64,
    pub phases: Vec<PhaseReport>,
    /// Mean over the headless phases.
    pub headless_img_s: f64,
    /// Mean over the window phases.
    pub window_img_s: f64,
    /// How much slower training is with the window open, in % of the headless images/s.
    pub loss_percent: f64,
    /// All window phases' frames together.
    pub frames: FrameSummary,
    /// `/proc/loadavg` (1, 5 and 15 minutes) before and after, where the system has it.
    pub load_average_before: Option<[f64; 3]>,
    pub load_average_after: Option<[f64; 3]>,
}

/// Counts batches as they arrive and measures `seconds` of them after a warm-up. Both ends of
/// the measurement are at a batch's arrival, so a listener that looks only now and then (the
/// window, once a frame) measures the same thing as one that waits for every event.
#[derive(Clone, Debug)]
struct Meter {
    seconds: Duration,
    warmup: usize,
    batch_size: usize,
    last_seen: usize,
    start: Option<(Instant, usize)>,
}

impl Meter {
    fn new(seconds: Duration, batch_size: usize) -> Self {
        Meter {
            seconds,
            warmup: WARMUP_BATCHES,
            batch_size,
            last_seen: 0,
            start: None,
        }
    }

    fn measuring(&self) -> bool {
        self.start.is_some()
    }

    /// `batches` have arrived by `now`; returns the result once `seconds` have been measured.
    fn observe(&mut self, now: Instant, batches: usize) -> Option<Throughput> {
        if batches == self.last_seen {
            return None;
        }
        self.last_seen = batches;
        match self.start {
            None if batches >= self.warmup => {
                self.start = Some((now, batches));
                None
            }
            Some((since, first)) if now.duration_since(since) >= self.seconds => {
                let seconds = now.duration_since(since).as_secs_f64();
                let batches = batches - first;
                let images = batches * self.batch_size;
                Some(Throughput {
                    batches,
                    images,
                    seconds,
                    images_per_sec: images as f64 / seconds,
                })
            }
            _ => None,
        }
    }
}

/// Trains `experiment` with no window for `seconds` after the warm-up.
fn headless(experiment: &Experiment, base_dir: &Path, seconds: Duration) -> Result<Throughput, String> {
    let options = RunOptions {
        base_dir: base_dir.to_path_buf(),
        ..RunOptions::default()
    };
    let trainer = Trainer::spawn(experiment.clone(), options).map_err(|e| format!("cannot start the trainer: {e}"))?;
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
            Ok(Event::Finished(Err(message))) => return Err(message),
            Ok(Event::Finished(Ok(_))) => return Err(ended_early()),
            Ok(Event::Diverged(message)) => return Err(message),
            Ok(_) => {}
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err("the trainer stopped without a result".into()),
        }
        if !meter.measuring() && opened.elapsed() > PREPARE_LIMIT {
            return Err(too_slow());
        }
    }
}

fn ended_early() -> String {
    "the run ended before the measurement did: give the experiment more epochs or images, or measure fewer seconds"
        .into()
}

fn too_slow() -> String {
    format!(
        "training had not passed {WARMUP_BATCHES} batches after {} s",
        PREPARE_LIMIT.as_secs()
    )
}

type WindowOutcome = Arc<Mutex<Option<Result<(Throughput, FrameStats), String>>>>;

/// The window's part, handed to the app in `LaunchOptions::bench`: train at once, record the
/// frames while `seconds` of training are measured, then close.
#[derive(Clone, Debug)]
pub struct WindowBench {
    meter: Meter,
    frames: FrameStats,
    opened: Option<Instant>,
    outcome: WindowOutcome,
}

impl WindowBench {
    fn new(seconds: Duration, batch_size: usize) -> Self {
        WindowBench {
            meter: Meter::new(seconds, batch_size),
            frames: FrameStats::default(),
            opened: None,
            outcome: WindowOutcome::default(),
        }
    }

    /// Ends the phase with `result`: the window closes at the end of this frame.
    fn finish(&mut self, result: Result<(Throughput, FrameStats), String>) {
        if let Ok(mut slot) = self.outcome.lock() {
            slot.get_or_insert(result);
        }
    }

    fn finished(&self) -> bool {
        self.outcome.lock().map_or(true, |slot| slot.is_some())
    }
}

impl LabApp {
    /// Called after each frame's `show` (which started at `start`) in a benchmark window;
    /// `previous_cpu` is eframe's CPU time of the frame before.
    pub(super) fn bench_frame(&mut self, ctx: &egui::Context, start: Instant, previous_cpu: Option<f32>) {
        let show = start.elapsed();
        let Some(bench) = &mut self.bench else {
            return;
        };
        if bench.finished() {
            return;
        }
        let opened = *bench.opened.get_or_insert(start);
        match &self.run {
            Some(run) => {
                let was_measuring = bench.meter.measuring();
                let done = bench.meter.observe(start, run.batches_seen);
                if was_measuring || bench.meter.measuring() {
                    bench.frames.record(start, show, previous_cpu);
                }
                if let Some(training) = done {
                    let frames = std::mem::take(&mut bench.frames);
                    bench.finish(Ok((training, frames)));
                } else if !bench.meter.measuring() && start.duration_since(opened) > PREPARE_LIMIT {
                    bench.finish(Err(too_slow()));
                }
            }
            // Not started (the file cannot train) or already over.
            None => {
                let why = self
                    .status
                    .messages()
                    .iter()
                    .rev()
                    .find(|m| m.level == super::status::Level::Error)
                    .map_or_else(ended_early, |m| format!("training did not run: {}", m.text));
                bench.finish(Err(why));
            }
        }
        if bench.finished() {
            self.allow_close = true;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }
}

/// Opens the window on `file`, trains, and measures `seconds` of training and frames.
fn window(file: &Path, seconds: Duration, batch_size: usize) -> Result<(Throughput, FrameStats), String> {
    let bench = WindowBench::new(seconds, batch_size);
    let outcome = bench.outcome.clone();
    super::run_native(LaunchOptions {
        file: Some(file.to_path_buf()),
        bench: Some(bench),
        ..LaunchOptions::default()
    })?;
    let result = outcome.lock().map_err(|_| "the window crashed".to_string())?.take();
    result.unwrap_or_else(|| Err("the window closed before the measurement was over".into()))
}

/// `/proc/loadavg`'s three averages.
fn load_average() -> Option<[f64; 3]> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let mut values = text.split_whitespace().map(|v| v.parse::<f64>().ok());
    Some([values.next()??, values.next()??, values.next()??])
}

/// Runs the benchmark; `progress` hears about each phase as it ends.
pub fn run(options: &BenchUiOptions, mut progress: impl FnMut(&PhaseReport)) -> Result<BenchUiReport, String> {
    let file = options
        .file
        .clone()
        .unwrap_or_else(|| paths::projects_dir().join(DEFAULT_FILE));
    let experiment = crate::experiment::load(&file).map_err(|e| e.to_string())?;
    let base_dir = match file.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let seconds = Duration::from_secs_f64(options.seconds.max(0.5));
    let batch_size = experiment.training.batch_size;
    let load_average_before = load_average();
    let mut phases = Vec::new();
    let mut all_frames = FrameStats::default();
    for _ in 0..options.rounds.max(1) {
        let training = headless(&experiment, &base_dir, seconds)?;
        let phase = PhaseReport {
            mode: "headless",
            training,
            frames: None,
        };
        progress(&phase);
        phases.push(phase);
        let (training, frames) = window(&file, seconds, batch_size)?;
        all_frames.append(&frames);
        let phase = PhaseReport {
            mode: "window",
            training,
            frames: Some(frames.summary()),
        };
        progress(&phase);
        phases.push(phase);
    }
    let mean = |mode: &str| {
        let rates: Vec<f64> = phases
            .iter()
            .filter(|p| p.mode == mode)
            .map(|p| p.training.images_per_sec)
            .collect();
        rates.iter().sum::<f64>() / rates.len().max(1) as f64
    };
    let (headless_img_s, window_img_s) = (mean("headless"), mean("window"));
    Ok(BenchUiReport {
        file,
        input: format!(
            "{}×{}×{}",
            experiment.input.height, experiment.input.width, experiment.input.channels
        ),
        batch_size,
        threads: rayon::current_num_threads(),
        seconds_per_phase: seconds.as_secs_f64(),
        phases,
        headless_img_s,
        window_img_s,
        loss_percent: 100.0 * (1.0 - window_img_s / headless_img_s.max(1e-9)),
        frames: all_frames.summary(),
        load_average_before,
        load_average_after: load_average(),
    })
}

fn format_load(load: Option<[f64; 3]>) -> String {
    load.map_or_else(|| "?".into(), |[a, b, c]| format!("{a:.2} {b:.2} {c:.2}"))
}

impl PhaseReport {
    /// One line of the phase table.
    pub fn line(&self, number: usize) -> String {
        let t = &self.training;
        let frames = self.frames.as_ref().map_or_else(String::new, |f| {
            format!(
                "  {:>6} frames, {:>5.1} fps, show p95 {:>5.1} ms, interval p95 {:>6.1} ms",
                f.frames, f.fps, f.show.p95_ms, f.interval.p95_ms
            )
        });
        format!(
            "{number:>5}  {:<9} {:>9.0} {:>8} {:>8.1}{frames}",
            self.mode, t.images_per_sec, t.batches, t.seconds
        )
    }

    pub const HEADER: &'static str = "phase  mode      train img/s  batches  seconds";
}

impl BenchUiReport {
    /// The human-readable report.
    pub fn table(&self) -> String {
        let mut out = format!(
            "CNN Lab UI benchmark: {} ({}, batch {}, {} threads), {:.0} s measured per phase\n\
             load average before {}, after {}\n\n{}\n",
            self.file.display(),
            self.input,
            self.batch_size,
            self.threads,
            self.seconds_per_phase,
            format_load(self.load_average_before),
            format_load(self.load_average_after),
            PhaseReport::HEADER,
        );
        for (i, phase) in self.phases.iter().enumerate() {
            out.push_str(&phase.line(i + 1));
            out.push('\n');
        }
        let f = &self.frames;
        out.push_str(&format!(
            "\ntraining images/s: {:.0} headless, {:.0} with the window open: {:.1}% {}\n\
             window: {} frames in {:.1} s, {:.1} fps\n\
             {:<34}{:>8}{:>8}{:>8}\n",
            self.headless_img_s,
            self.window_img_s,
            self.loss_percent.abs(),
            if self.loss_percent >= 0.0 { "lower" } else { "higher" },
            f.frames,
            f.seconds,
            f.fps,
            "ms",
            "p50",
            "p95",
            "max",
        ));
        for (what, s) in [
            ("frame time in LabApp::show", &f.show),
            ("frame CPU time (eframe, no swap)", &f.frame_cpu),
            ("interval between frames", &f.interval),
        ] {
            out.push_str(&format!(
                "{what:<34}{:>8.1}{:>8.1}{:>8.1}\n",
                s.p50_ms, s.p95_ms, s.max_ms
            ));
        }
        out
    }
}
