//! A small recorder of frame timings, for `cnn-lab bench-ui`: how long each frame spent in
//! `LabApp::show` (building the UI), how long eframe says the whole frame took on the CPU
//! (the UI, tessellation and the OpenGL calls, without waiting for the buffer swap), and the
//! time between the starts of consecutive frames.

use serde::Serialize;
use std::time::{Duration, Instant};

/// One drawn frame.
#[derive(Clone, Copy, Debug)]
struct Sample {
    /// Time spent in `LabApp::show`.
    show: Duration,
    /// eframe's CPU time for the whole frame; known one frame later.
    cpu: Option<Duration>,
    /// From the start of the previous recorded frame.
    interval: Option<Duration>,
}

/// The frames recorded so far.
#[derive(Clone, Debug, Default)]
pub struct FrameStats {
    samples: Vec<Sample>,
    last_start: Option<Instant>,
    first_start: Option<Instant>,
}

/// Median, 95th percentile and maximum, in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Spread {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub max_ms: f64,
}

impl Spread {
    /// `None` for no values.
    pub fn of(values: impl IntoIterator<Item = Duration>) -> Option<Spread> {
        let mut ms: Vec<f64> = values.into_iter().map(|d| d.as_secs_f64() * 1e3).collect();
        if ms.is_empty() {
            return None;
        }
        ms.sort_by(f64::total_cmp);
        // Nearest rank: the smallest value with at least p% of the values at or below it.
        let rank = |p: f64| ms[((p * ms.len() as f64).ceil() as usize).clamp(1, ms.len()) - 1];
        Some(Spread {
            p50_ms: rank(0.50),
            p95_ms: rank(0.95),
            max_ms: ms[ms.len() - 1],
        })
    }
}

/// What `FrameStats` measured.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FrameSummary {
    pub frames: usize,
    /// From the first recorded frame's start to the last one's.
    pub seconds: f64,
    pub fps: f64,
    /// Time in `LabApp::show`.
    pub show: Spread,
    /// eframe's CPU time for the whole frame (UI, tessellation, painting; not the swap).
    pub frame_cpu: Spread,
    /// Between the starts of consecutive frames.
    pub interval: Spread,
}

impl FrameStats {
    /// Records a frame that started at `start` and spent `show` in `LabApp::show`;
    /// `previous_cpu` is eframe's CPU time of the frame before (`Frame::info().cpu_usage`).
    pub fn record(&mut self, start: Instant, show: Duration, previous_cpu: Option<f32>) {
        if let (Some(last), Some(cpu)) = (self.samples.last_mut(), previous_cpu) {
            last.cpu = Some(Duration::from_secs_f32(cpu.max(0.0)));
        }
        let interval = self.last_start.map(|last| start.saturating_duration_since(last));
        self.samples.push(Sample {
            show,
            cpu: None,
            interval,
        });
        self.last_start = Some(start);
        self.first_start.get_or_insert(start);
    }

    /// Adds another recording's frames (a later window), without an interval between the two.
    pub fn append(&mut self, other: &FrameStats) {
        self.samples.extend_from_slice(&other.samples);
    }

    pub fn len(&self) -> usize {
        self.samples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    pub fn summary(&self) -> FrameSummary {
        let intervals: Vec<Duration> = self.samples.iter().filter_map(|s| s.interval).collect();
        let seconds: f64 = intervals.iter().map(Duration::as_secs_f64).sum();
        FrameSummary {
            frames: self.samples.len(),
            seconds,
            fps: if seconds > 0.0 {
                intervals.len() as f64 / seconds
            } else {
                0.0
            },
            show: Spread::of(self.samples.iter().map(|s| s.show)).unwrap_or_default(),
            frame_cpu: Spread::of(self.samples.iter().filter_map(|s| s.cpu)).unwrap_or_default(),
            interval: Spread::of(intervals).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spread_uses_nearest_rank() {
        let ms = |v: u64| Duration::from_millis(v);
        let s = Spread::of((1..=100).map(ms)).unwrap();
        assert_eq!((s.p50_ms, s.p95_ms, s.max_ms), (50.0, 95.0, 100.0));
        let one = Spread::of([ms(7)]).unwrap();
        assert_eq!((one.p50_ms, one.p95_ms, one.max_ms), (7.0, 7.0, 7.0));
        assert!(Spread::of([]).is_none());
    }

    #[test]
    fn intervals_and_cpu_times_attach_to_the_right_frames() {
        let t0 = Instant::now();
        let mut stats = FrameStats::default();
        stats.record(t0, Duration::from_millis(2), None);
        stats.record(t0 + Duration::from_millis(50), Duration::from_millis(4), Some(0.010));
        stats.record(t0 + Duration::from_millis(150), Duration::from_millis(6), Some(0.030));
        let s = stats.summary();
        assert_eq!(s.frames, 3);
        assert!((s.seconds - 0.150).abs() < 1e-9);
        assert!((s.fps - 2.0 / 0.150).abs() < 1e-6);
        assert_eq!(s.interval.max_ms, 100.0);
        assert_eq!(s.show.max_ms, 6.0);
        // The last frame's CPU time is not known yet: two values, 10 and 30 ms.
        assert!((s.frame_cpu.p50_ms - 10.0).abs() < 1e-3);
        assert!((s.frame_cpu.max_ms - 30.0).abs() < 1e-3);
    }
}
