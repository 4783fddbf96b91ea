//! Training speed over a measured stretch of batches, after a warm-up: the number every phase of
//! `cnn-lab bench-ui` reports, whether it watches the trainer's events or the window's frames.

use super::system::CpuSnapshot;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Batches trained before the measurement starts (buffers allocated, caches and clocks warm).
const WARMUP_BATCHES: usize = 10;
/// Loading the data and reaching the warm-up may take this long before the phase fails.
pub(super) const PREPARE_LIMIT: Duration = Duration::from_secs(300);

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

/// Counts batches as they arrive and measures `seconds` of them after a warm-up. Both ends of
/// the measurement are at a batch's arrival, so a listener that looks only now and then (the
/// window, once a frame) measures the same thing as one that waits for every event.
#[derive(Clone, Debug)]
pub(super) struct Meter {
    seconds: Duration,
    warmup: usize,
    batch_size: usize,
    last_seen: usize,
    start: Option<(Instant, usize)>,
    cpu_start: Option<CpuSnapshot>,
}

impl Meter {
    pub(super) fn new(seconds: Duration, batch_size: usize) -> Self {
        Meter {
            seconds,
            warmup: WARMUP_BATCHES,
            batch_size,
            last_seen: 0,
            start: None,
            cpu_start: None,
        }
    }

    pub(super) fn measuring(&self) -> bool {
        self.start.is_some()
    }

    /// `batches` have arrived by `now`; returns the result once `seconds` have been measured.
    pub(super) fn observe(&mut self, now: Instant, batches: usize) -> Option<Throughput> {
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

/// The run ended before the meter did.
pub(super) fn ended_early() -> String {
    "the run ended before the measurement did: give the experiment more epochs or images, or measure fewer seconds"
        .into()
}

/// The warm-up was not reached within `PREPARE_LIMIT`.
pub(super) fn too_slow() -> String {
    format!(
        "training had not passed {WARMUP_BATCHES} batches after {} s",
        PREPARE_LIMIT.as_secs()
    )
}
