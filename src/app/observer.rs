//! The hook through which a measurement watches the app frame by frame (`perf::window`, for
//! `cnn-lab bench-ui`, is one): the app calls it and knows nothing of benchmarks.

use super::LabApp;
use std::time::{Duration, Instant};

/// One frame's timing, as the observer hears it.
#[derive(Clone, Copy, Debug)]
pub struct FrameTiming {
    /// When the frame started, before `LabApp::show`.
    pub start: Instant,
    /// Time spent in `LabApp::show`.
    pub show: Duration,
    /// eframe's CPU time of the frame before (`Frame::info().cpu_usage`), in seconds.
    pub previous_cpu: Option<f32>,
}

/// What the app does once the observer has seen a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AfterFrame {
    Continue,
    /// Close the window at the end of this frame, without asking about unsaved changes.
    Close,
}

/// Watches the app, passed in `LaunchOptions::observer`.
pub trait FrameObserver {
    /// Called once, when the app has been created: the place to queue commands
    /// (`LabApp::send`), e.g. to start training at once.
    fn started(&mut self, _app: &LabApp) {}

    /// Called after each frame's `LabApp::show`.
    fn frame(&mut self, ctx: &egui::Context, app: &LabApp, timing: FrameTiming) -> AfterFrame;

    /// Whether the app loads and saves this machine's state (recent files, panel sizes, the
    /// window's size and place); a measurement wants the window a first-time user sees.
    fn persist(&self) -> bool {
        true
    }
}

impl std::fmt::Debug for dyn FrameObserver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FrameObserver")
    }
}

impl LabApp {
    /// Hands the frame that started at `start` (and has just run `show`) to the observer, if any.
    pub(super) fn observe_frame(&mut self, ctx: &egui::Context, start: Instant, previous_cpu: Option<f32>) {
        let show = start.elapsed();
        // Taken out for the call, so the observer can read the whole app.
        let Some(mut observer) = self.observer.take() else {
            return;
        };
        let timing = FrameTiming {
            start,
            show,
            previous_cpu,
        };
        if observer.frame(ctx, self, timing) == AfterFrame::Close {
            self.allow_close = true;
            ctx.send_viewport_cmd(egui::ViewportCommand::Close);
        }
        self.observer = Some(observer);
    }
}
