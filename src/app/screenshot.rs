//! `cnn-lab --screenshot OUT.png`: the window photographs itself (after a few frames, so fonts
//! and textures are uploaded, or after N epochs of training), saves a PNG and closes.

use egui::{ColorImage, Context};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Frames drawn before the picture is taken.
const SETTLE_FRAMES: usize = 6;
/// And seconds, so a window that just opened has faded in (egui animates it).
const SETTLE_SECONDS: f64 = 0.5;

pub type Outcome = Arc<Mutex<Option<Result<(), String>>>>;

pub struct ScreenshotPlan {
    out: PathBuf,
    /// Take the picture once this many epochs of a run have finished.
    pub after_epochs: Option<usize>,
    settle: usize,
    /// When the window became ready (egui's clock).
    ready_since: Option<f64>,
    requested: bool,
    outcome: Outcome,
}

impl ScreenshotPlan {
    pub fn new(out: PathBuf, after_epochs: Option<usize>) -> Self {
        ScreenshotPlan {
            out,
            after_epochs,
            settle: 0,
            ready_since: None,
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
        let now = ctx.input(|i| i.time);
        if !ready {
            self.settle = 0;
            self.ready_since = None;
            return false;
        }
        self.settle += 1;
        let since = *self.ready_since.get_or_insert(now);
        if self.settle < SETTLE_FRAMES || now - since < SETTLE_SECONDS {
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

/// Writes `image` as a PNG, atomically (a temporary file, then a rename).
fn save_png(image: &ColorImage, out: &std::path::Path) -> Result<(), String> {
    let [w, h] = image.size;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    let buffer = image::RgbaImage::from_raw(w as u32, h as u32, bytes)
        .ok_or_else(|| "the screenshot has the wrong number of pixels".to_string())?;
    let mut png = Vec::new();
    buffer
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| format!("cannot encode the PNG: {e}"))?;
    crate::experiment::io::write_atomic(out, &png).map_err(|e| format!("cannot write {}: {e}", out.display()))
}

/// Saves the part of a window screenshot under `area` (in points) as a PNG.
pub fn save_region(
    image: &ColorImage,
    area: egui::Rect,
    pixels_per_point: f32,
    out: &std::path::Path,
) -> Result<(), String> {
    let region = image.region(&area, Some(pixels_per_point));
    if region.size[0] == 0 || region.size[1] == 0 {
        return Err("the plots were not visible in the window; show the training panel and try again".into());
    }
    save_png(&region, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use egui::Color32;

    #[test]
    fn a_region_of_the_window_is_saved_at_its_pixel_size() {
        // 100×50 pixels at 2 pixels per point: left half red, right half blue.
        let pixels = (0..50)
            .flat_map(|_| (0..100).map(|x| if x < 50 { Color32::RED } else { Color32::BLUE }))
            .collect();
        let window = ColorImage::new([100, 50], pixels);
        let out = std::env::temp_dir().join(format!("cnn-lab-region-{}.png", std::process::id()));
        let right_half = egui::Rect::from_min_max(egui::pos2(25.0, 0.0), egui::pos2(50.0, 25.0));
        save_region(&window, right_half, 2.0, &out).unwrap();
        let saved = image::open(&out).unwrap().to_rgba8();
        std::fs::remove_file(&out).unwrap();
        assert_eq!(saved.dimensions(), (50, 50));
        assert!(saved.pixels().all(|p| p.0 == [0, 0, 255, 255]));
    }
}
