//! Background work for the inspection views. Each job runs on its own thread with a progress
//! counter and a cancel flag; the UI polls it once per frame and never waits. A job that panics
//! becomes an error, and dropping a job cancels it.
//!
//! Jobs fail with `anyhow::Error`: this is the app's edge, where a failure (a typed error from
//! the engine or the data, a panic, a thread that could not start) is only ever shown, by its
//! `Display` (the typed errors already quote their causes), in the view that asked.

use anyhow::anyhow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TryRecvError, channel};

/// What a job's work function sees: report progress, and learn whether to stop early.
#[derive(Clone)]
pub struct JobHandle {
    done: Arc<AtomicUsize>,
    cancel: Arc<AtomicBool>,
    repaint: Option<egui::Context>,
}

impl JobHandle {
    /// Records `done` units of work finished; returns `false` once the job has been cancelled.
    pub fn progress(&self, done: usize) -> bool {
        self.done.store(done, Ordering::Relaxed);
        if let Some(ctx) = &self.repaint {
            ctx.request_repaint();
        }
        !self.cancelled()
    }

    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }
}

pub struct Job<T> {
    rx: Receiver<anyhow::Result<T>>,
    done: Arc<AtomicUsize>,
    total: usize,
    cancel: Arc<AtomicBool>,
    /// What the job is doing, for progress labels.
    pub label: String,
}

impl<T: Send + 'static> Job<T> {
    /// Starts `work` on a new thread. `total` is the number of units `progress` counts up to;
    /// `repaint` (if given) is woken on progress and when the result is ready.
    pub fn spawn(
        label: impl Into<String>,
        total: usize,
        repaint: Option<egui::Context>,
        work: impl FnOnce(&JobHandle) -> anyhow::Result<T> + Send + 'static,
    ) -> Self {
        let label = label.into();
        let (tx, rx) = channel();
        let done = Arc::new(AtomicUsize::new(0));
        let cancel = Arc::new(AtomicBool::new(false));
        let handle = JobHandle {
            done: done.clone(),
            cancel: cancel.clone(),
            repaint: repaint.clone(),
        };
        let what = label.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("cnn-lab-view: {what}"))
            .spawn(move || {
                let result = catch_unwind(AssertUnwindSafe(|| work(&handle))).unwrap_or_else(|panic| {
                    let why = crate::training::panic_message(panic.as_ref());
                    Err(anyhow!(
                        "{what} crashed ({why}); the app is fine, try again or report it"
                    ))
                });
                // The receiver is gone when the job was replaced: nothing to deliver then.
                let _ = tx.send(result);
                if let Some(ctx) = repaint {
                    ctx.request_repaint();
                }
            });
        let rx = match spawned {
            Ok(_) => rx,
            Err(e) => {
                // No thread: deliver the failure through the normal path.
                let (tx, rx) = channel();
                let _ = tx.send(Err(anyhow!("cannot start a background thread: {e}")));
                rx
            }
        };
        Job {
            rx,
            done,
            total,
            cancel,
            label,
        }
    }

    /// The result, once: `None` while the job runs.
    pub fn poll(&mut self) -> Option<anyhow::Result<T>> {
        match self.rx.try_recv() {
            Ok(result) => Some(result),
            Err(TryRecvError::Empty) => None,
            Err(TryRecvError::Disconnected) => Some(Err(anyhow!("{} stopped without a result", self.label))),
        }
    }

    /// Units done and the total.
    pub fn progress(&self) -> (usize, usize) {
        (self.done.load(Ordering::Relaxed).min(self.total), self.total)
    }

    /// A progress bar ("looking: 3/16 filters") and Cancel; `true` once Cancel is clicked.
    pub fn progress_ui(&self, ui: &mut egui::Ui, things: &str) -> bool {
        let (done, total) = self.progress();
        ui.add(
            egui::ProgressBar::new(self.fraction())
                .desired_width(160.0)
                .text(format!("looking: {done}/{total} {things}")),
        );
        ui.ctx().request_repaint_after(std::time::Duration::from_millis(100));
        ui.button("Cancel").clicked()
    }

    pub fn fraction(&self) -> f32 {
        let (done, total) = self.progress();
        done as f32 / total.max(1) as f32
    }
}

impl<T> Drop for Job<T> {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

/// A job slot that keeps the newest request: while one job runs, a newer request waits (only the
/// latest is kept) and starts when the running one ends. Drawing on the canvas sends a request
/// per mouse move; this keeps exactly one computation in flight and always ends on the latest.
pub struct Latest<Req, T> {
    running: Option<Job<T>>,
    waiting: Option<Req>,
}

impl<Req, T> Default for Latest<Req, T> {
    fn default() -> Self {
        Latest {
            running: None,
            waiting: None,
        }
    }
}

impl<Req, T: Send + 'static> Latest<Req, T> {
    pub fn request(&mut self, request: Req) {
        self.waiting = Some(request);
    }

    /// Starts the waiting request if nothing runs, and returns a finished result if there is one.
    pub fn poll(&mut self, start: impl FnOnce(Req) -> Job<T>) -> Option<anyhow::Result<T>> {
        let finished = self.running.as_mut().and_then(Job::poll);
        if finished.is_some() {
            self.running = None;
        }
        if self.running.is_none()
            && let Some(request) = self.waiting.take()
        {
            self.running = Some(start(request));
        }
        finished
    }

    pub fn busy(&self) -> bool {
        self.running.is_some() || self.waiting.is_some()
    }
}
