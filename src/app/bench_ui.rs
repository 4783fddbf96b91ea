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
    /// Each round trains headless, then in the window.
    pub rounds: usize,
    /// Add a phase per round in which the window redraws continuously, as while the user moves
    /// the mouse or drags a slider without pause.
    pub interact: bool,
}

/// Training speed over one measured stretch.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Throughput {
    pub batches: usize,
    pub images: usize,
    pub seconds: f64,
    pub images_per_sec: f64,
    /// CPU used meanwhile by the training threads (the trainer and the rayon pool), in cores.
    pub training_cpu_cores: Option<f64>,
    /// CPU used meanwhile by the process's other threads (the UI thread, Mesa's llvmpipe
    /// rasterizer threads, eframe's helpers), in cores. The X server is not counted.
    pub other_cpu_cores: Option<f64>,
}

/// CPU time so far of each of this process's threads (Linux `/proc/self/task/*/schedstat`),
/// and whether the thread trains.
#[derive(Clone, Debug, Default)]
struct CpuSnapshot {
    threads: Vec<(u64, bool, Duration)>,
}

impl CpuSnapshot {
    fn take() -> Option<CpuSnapshot> {
        let mut threads = Vec::new();
        for entry in std::fs::read_dir("/proc/self/task").ok()?.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse::<u64>().ok()) else {
                continue;
            };
            let path = entry.path();
            let (Ok(comm), Ok(stat)) = (
                std::fs::read_to_string(path.join("comm")),
                std::fs::read_to_string(path.join("schedstat")),
            ) else {
                continue;
            };
            let Some(ns) = stat.split_whitespace().next().and_then(|v| v.parse::<u64>().ok()) else {
                continue;
            };
            let comm = comm.trim();
            let training = comm.starts_with(TRAINER_THREAD) || comm.starts_with(POOL_THREAD);
            threads.push((tid, training, Duration::from_nanos(ns)));
        }
        Some(CpuSnapshot { threads })
    }

    /// (training, other) CPU seconds from `self` to `later`, over threads alive at both ends.
    fn until(&self, later: &CpuSnapshot) -> (f64, f64) {
        let (mut training, mut other) = (0.0, 0.0);
        for &(tid, trains, after) in &later.threads {
            let before = self.threads.iter().find(|t| t.0 == tid).map_or(Duration::ZERO, |t| t.2);
            let used = after.saturating_sub(before).as_secs_f64();
            if trains {
                training += used;
            } else {
                other += used;
            }
        }
        (training, other)
    }
}

/// The training worker's thread name (`training::Trainer`), and the prefix `name_pool_threads`
/// gives rayon's threads.
const TRAINER_THREAD: &str = "cnn-lab-trainer";
const POOL_THREAD: &str = "rayon-";

/// Names rayon's threads, so the benchmark can tell training CPU time from the window's. Call
/// before anything uses rayon; does nothing if the pool already exists.
pub fn name_pool_threads() {
    let _ = rayon::ThreadPoolBuilder::new()
        .thread_name(|i| format!("{POOL_THREAD}{i}"))
        .build_global();
}

/// One phase of the benchmark.
#[derive(Clone, Debug, Serialize)]
pub struct PhaseReport {
    /// "headless", "window" (open, nobody touching it) or "input" (redrawing continuously).
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
    pub input_shape: String,
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
    /// The same, round by round (each window phase against the headless phase before it): the
    /// spread shows how much the machine's load changed during the run.
    pub round_loss_percent: Vec<f64>,
    /// All window phases' frames together.
    pub frames: FrameSummary,
    /// CPU used by the window's threads (UI thread, llvmpipe, …) per frame drawn, in ms.
    pub window_cpu_ms_per_frame: Option<f64>,
    /// The same for the phases with continuous redrawing (`--interact`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<WindowSummary>,
    /// `/proc/loadavg` (1, 5 and 15 minutes) before and after, where the system has it.
    pub load_average_before: Option<[f64; 3]>,
    pub load_average_after: Option<[f64; 3]>,
}

/// Training speed and frames over the phases of one window mode.
#[derive(Clone, Debug, Serialize)]
pub struct WindowSummary {
    pub img_s: f64,
    /// In % of the headless images/s.
    pub loss_percent: f64,
    pub frames: FrameSummary,
    pub cpu_ms_per_frame: Option<f64>,
}

impl WindowSummary {
    /// Over the phases of `mode` (`None` if there were none), against `headless_img_s`.
    fn of(phases: &[(PhaseReport, FrameStats)], mode: &str, headless_img_s: f64) -> Option<WindowSummary> {
        let phases: Vec<_> = phases.iter().filter(|(p, _)| p.mode == mode).collect();
        if phases.is_empty() {
            return None;
        }
        let img_s = phases.iter().map(|(p, _)| p.training.images_per_sec).sum::<f64>() / phases.len() as f64;
        let mut all = FrameStats::default();
        for (_, frames) in &phases {
            all.append(frames);
        }
        let frames = all.summary();
        let cpu: Option<f64> = phases
            .iter()
            .map(|(p, _)| p.training.other_cpu_cores.map(|c| c * p.training.seconds))
            .sum();
        Some(WindowSummary {
            img_s,
            loss_percent: 100.0 * (1.0 - img_s / headless_img_s.max(1e-9)),
            cpu_ms_per_frame: cpu.map(|c| 1e3 * c / frames.frames.max(1) as f64),
            frames,
        })
    }
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
    cpu_start: Option<CpuSnapshot>,
}

impl Meter {
    fn new(seconds: Duration, batch_size: usize) -> Self {
        Meter {
            seconds,
            warmup: WARMUP_BATCHES,
            batch_size,
            last_seen: 0,
            start: None,
            cpu_start: None,
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
                self.cpu_start = CpuSnapshot::take();
                None
            }
            Some((since, first)) if now.duration_since(since) >= self.seconds => {
                let seconds = now.duration_since(since).as_secs_f64();
                let batches = batches - first;
                let images = batches * self.batch_size;
                let cpu = self
                    .cpu_start
                    .as_ref()
                    .zip(CpuSnapshot::take())
                    .map(|(start, end)| start.until(&end));
                Some(Throughput {
                    batches,
                    images,
                    seconds,
                    images_per_sec: images as f64 / seconds,
                    training_cpu_cores: cpu.map(|c| c.0 / seconds),
                    other_cpu_cores: cpu.map(|c| c.1 / seconds),
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
            Ok(Event::Finished(Err(error))) => return Err(error.to_string()),
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
                    if bench.input {
                        ctx.request_repaint();
                    }
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
fn window(file: &Path, seconds: Duration, batch_size: usize, input: bool) -> Result<(Throughput, FrameStats), String> {
    let bench = WindowBench::new(seconds, batch_size, input);
    let outcome = bench.outcome.clone();
    super::run_native(LaunchOptions {
        file: Some(file.to_path_buf()),
        bench: Some(bench),
        ..LaunchOptions::default()
    })
    .map_err(|e| e.to_string())?;
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
    let window = WindowSummary::of(&phases, "window", headless_img_s).ok_or("no window phase")?;
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

/// "12.3% lower" / "4.0% higher".
fn change(loss_percent: f64) -> String {
    format!(
        "{:.1}% {}",
        loss_percent.abs(),
        if loss_percent >= 0.0 { "lower" } else { "higher" }
    )
}

/// The frames of one window mode: count, rate, CPU per frame, and the three spreads.
fn frames_table(what: &str, f: &FrameSummary, cpu_ms_per_frame: Option<f64>) -> String {
    let mut out = format!(
        "{what}: {} frames in {:.1} s = {:.1} fps; the window's threads used {} ms of CPU per frame\n\
         {:<36}{:>8}{:>8}{:>8}\n",
        f.frames,
        f.seconds,
        f.fps,
        cpu_ms_per_frame.map_or_else(|| "?".into(), |ms| format!("{ms:.1}")),
        "  ms",
        "p50",
        "p95",
        "max",
    );
    for (what, s) in [
        ("  frame time in LabApp::show", &f.show),
        ("  frame CPU time (eframe, no swap)", &f.frame_cpu),
        ("  interval between frames", &f.interval),
    ] {
        out.push_str(&format!(
            "{what:<36}{:>8.1}{:>8.1}{:>8.1}\n",
            s.p50_ms, s.p95_ms, s.max_ms
        ));
    }
    out
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
        let cores = |c: Option<f64>| c.map_or_else(|| "?".into(), |c| format!("{c:.2}"));
        format!(
            "{number:>5}  {:<9} {:>11.0} {:>8} {:>8.1} {:>9} {:>9}{frames}",
            self.mode,
            t.images_per_sec,
            t.batches,
            t.seconds,
            cores(t.training_cpu_cores),
            cores(t.other_cpu_cores)
        )
    }

    /// The phase table's titles; CPU in cores.
    pub const HEADER: &'static str = "phase  mode      train img/s  batches  seconds cpu train cpu other";
}

impl BenchUiReport {
    /// The human-readable report.
    pub fn table(&self) -> String {
        let mut out = format!(
            "CNN Lab UI benchmark: {} ({}, batch {}, {} threads), {:.0} s measured per phase\n\
             load average before {}, after {}\n\n{}\n",
            self.file.display(),
            self.input_shape,
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
        out.push_str(&format!(
            "\ntraining images/s: {:.0} headless, {:.0} with the window open: {} (by round: {})\n",
            self.headless_img_s,
            self.window_img_s,
            change(self.loss_percent),
            self.round_loss_percent
                .iter()
                .map(|l| format!("{l:.1}%"))
                .collect::<Vec<_>>()
                .join(", "),
        ));
        out.push_str(&frames_table("window open", &self.frames, self.window_cpu_ms_per_frame));
        if let Some(input) = &self.input {
            out.push_str(&format!(
                "\nredrawing continuously (--interact): {:.0} images/s, {}\n",
                input.img_s,
                change(input.loss_percent)
            ));
            out.push_str(&frames_table("redrawing", &input.frames, input.cpu_ms_per_frame));
        }
        out
    }
}
