//! `cnn-lab --screenshot OUT.png`: the window photographs itself (after a few frames, so fonts
//! and textures are uploaded, or after N epochs of training), saves a PNG and closes.

use egui::{ColorImage, Context};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Frames drawn before the picture is taken.
const SETTLE_FRAMES: usize = 6;

pub type Outcome = Arc<Mutex<Option<Result<(), String>>>>;

pub struct ScreenshotPlan {
    out: PathBuf,
    /// Take the picture once this many epochs of a run have finished.
    pub after_epochs: Option<usize>,
    settle: usize,
    requested: bool,
    outcome: Outcome,
}

impl ScreenshotPlan {
    pub fn new(out: PathBuf, after_epochs: Option<usize>) -> Self {
        ScreenshotPlan {
            out,
            after_epochs,
            settle: 0,
            requested: false,
            outcome: Arc::default(),
        }
    }

    /// Shared with `main`, which reports whether the PNG was written.
    pub fn outcome(&self) -> Outcome {
        self.outcome.clone()
    }

    /// Called every frame; `ready` says the window shows what should be photographed.
    /// Returns `true` once the PNG is written (or failed) and the window can close.
    pub fn frame(&mut self, ctx: &Context, ready: bool) -> bool {
        if self.requested {
            let done = self.outcome.lock().map(|o| o.is_some()).unwrap_or(true);
            if !done {
                ctx.request_repaint_after(std::time::Duration::from_millis(20));
            }
            return done;
        }
        ctx.request_repaint_after(std::time::Duration::from_millis(30));
        if !ready {
            self.settle = 0;
            return false;
        }
        self.settle += 1;
        if self.settle < SETTLE_FRAMES {
            return false;
        }
        self.requested = true;
        let out = self.out.clone();
        let outcome = self.outcome.clone();
        let repaint = ctx.clone();
        ctx.request_screenshot(move |image| {
            let result = save_png(&image, &out);
            if let Ok(mut slot) = outcome.lock() {
                *slot = Some(result);
            }
            repaint.request_repaint();
        });
        false
    }
}

fn save_png(image: &ColorImage, out: &std::path::Path) -> Result<(), String> {
    let [w, h] = image.size;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    let buffer = image::RgbaImage::from_raw(w as u32, h as u32, bytes)
        .ok_or_else(|| "the screenshot has the wrong number of pixels".to_string())?;
    buffer
        .save_with_format(out, image::ImageFormat::Png)
        .map_err(|e| format!("cannot write {}: {e}", out.display()))
}
