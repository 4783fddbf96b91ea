//! What `cnn-lab bench-ui` reports: each phase, the summary over the phases of one window mode,
//! and the human-readable tables (`--json` prints the same structs).

use super::frames::{FrameStats, FrameSummary};
use super::meter::Throughput;
use serde::Serialize;
use std::path::PathBuf;

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
    pub(super) fn of(phases: &[(PhaseReport, FrameStats)], mode: &str, headless_img_s: f64) -> Option<WindowSummary> {
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
