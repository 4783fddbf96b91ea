//! The course's case for convolution, measured: accuracy when every test image is moved by
//! 0, 1, 2, … pixels (or every sequence by 0, 1, 2, … units of steps). A fully connected network
//! learns where strokes (or a waveform's jumps) are and falls fast; a convolutional one learns
//! what they look like and holds longer.

use crate::cnn::{Model, Shape};
use crate::data::{DataError, Normalization, Split};
use crate::training::evaluate_with;

/// The four directions an image is moved in: (rows down, columns right) per pixel of shift.
const DIRECTIONS: [(i64, i64); 4] = [(0, 1), (0, -1), (1, 0), (-1, 0)];
/// A sequence moves later or earlier along its steps.
const SEQUENCE_DIRECTIONS: [(i64, i64); 2] = [(0, 1), (0, -1)];

/// The directions a sample of `split` is moved in: four for images, two for sequences.
fn directions(split: &Split) -> &'static [(i64, i64)] {
    if split.values.is_empty() {
        &DIRECTIONS
    } else {
        &SEQUENCE_DIRECTIONS
    }
}

/// Samples scored by [`shift_accuracy`] up to `max_shift`: the split once unmoved, then once
/// per direction and shift.
pub fn shift_work(split: &Split, max_shift: usize) -> usize {
    split.len() * (1 + directions(split).len() * max_shift)
}

/// A copy of `split` (samples of `dims` = (channels, height, width), CHW; a sequence's are
/// (channels, 1, steps), CL) with every sample moved `dy` rows down and `dx` columns (steps)
/// right; what moves in from outside is 0 (the background of the bundled image sets, the
/// padding token of a text, the baseline of a signal).
pub fn shifted(split: &Split, (c, h, w): (usize, usize, usize), dy: i64, dx: i64) -> Split {
    if !split.values.is_empty() {
        return Split {
            pixels: Vec::new(),
            labels: split.labels.clone(),
            values: moved(&split.values, (c, h, w), dy, dx),
        };
    }
    Split {
        pixels: moved(&split.pixels, (c, h, w), dy, dx),
        labels: split.labels.clone(),
        values: Vec::new(),
    }
}

/// `samples` (each `c` planes of `h × w`) moved `dy` rows down and `dx` columns right, zero
/// where nothing moves in.
fn moved<T: Copy + Default>(samples: &[T], (c, h, w): (usize, usize, usize), dy: i64, dx: i64) -> Vec<T> {
    let mut pixels = vec![T::default(); samples.len()];
    let plane = h * w;
    for (source, target) in samples.chunks_exact(c * plane).zip(pixels.chunks_exact_mut(c * plane)) {
        for ch in 0..c {
            for y in 0..h {
                let sy = y as i64 - dy;
                if sy < 0 || sy >= h as i64 {
                    continue;
                }
                for x in 0..w {
                    let sx = x as i64 - dx;
                    if sx >= 0 && sx < w as i64 {
                        target[ch * plane + y * w + x] = source[ch * plane + sy as usize * w + sx as usize];
                    }
                }
            }
        }
    }
    pixels
}

/// Accuracy on `split` at shifts 0, `unit`, 2·`unit`, …, `max_shift`·`unit` pixels (or steps),
/// each the mean over moving the images left, right, up and down (a sequence later and
/// earlier); shift 0 is the plain accuracy. `keep_going(done, total)` hears the progress in
/// samples scored and may cancel (`Ok(None)`).
#[allow(clippy::too_many_arguments)]
pub fn shift_accuracy(
    model: &mut Model,
    split: &Split,
    dims: (usize, usize, usize),
    input: Shape,
    normalization: &Normalization,
    max_shift: usize,
    unit: usize,
    keep_going: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Option<Vec<f32>>, DataError> {
    let total = shift_work(split, max_shift);
    let mut done = 0;
    let mut score = |model: &mut Model, split: &Split, done: &mut usize| -> Result<Option<f32>, DataError> {
        let base = *done;
        let evaluation = evaluate_with(model, split, input, normalization, &mut |n, _| {
            keep_going(base + n, total)
        })?;
        *done += split.len();
        Ok(evaluation.map(|e| e.accuracy))
    };
    let Some(plain) = score(model, split, &mut done)? else {
        return Ok(None);
    };
    let mut accuracies = vec![plain];
    let unit = unit.max(1) as i64;
    for shift in 1..=max_shift as i64 {
        let mut sum = 0.0;
        for &(dy, dx) in directions(split) {
            let moved = shifted(split, dims, dy * shift * unit, dx * shift * unit);
            let Some(accuracy) = score(model, &moved, &mut done)? else {
                return Ok(None);
            };
            sum += accuracy;
        }
        accuracies.push(sum / directions(split).len() as f32);
    }
    Ok(Some(accuracies))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shift_moves_pixels_and_fills_with_zeros() {
        // One 1×3×3 image: 1..=9 row by row.
        let split = Split {
            pixels: (1..=9).collect(),
            labels: vec![0],
            values: Vec::new(),
        };
        let right = shifted(&split, (1, 3, 3), 0, 1);
        assert_eq!(right.pixels, vec![0, 1, 2, 0, 4, 5, 0, 7, 8]);
        let up = shifted(&split, (1, 3, 3), -1, 0);
        assert_eq!(up.pixels, vec![4, 5, 6, 7, 8, 9, 0, 0, 0]);
        let gone = shifted(&split, (1, 3, 3), 3, 0);
        assert!(gone.pixels.iter().all(|&p| p == 0));
        assert_eq!(shifted(&split, (1, 3, 3), 0, 0).pixels, split.pixels);
    }

    #[test]
    fn a_sequence_moves_along_its_steps_channel_by_channel() {
        // Two samples of 2 channels × 4 steps (CL).
        let split = Split {
            pixels: Vec::new(),
            labels: vec![0, 1],
            values: (1..=16).map(|v| v as f32).collect(),
        };
        let later = shifted(&split, (2, 1, 4), 0, 1);
        assert_eq!(
            later.values,
            [0., 1., 2., 3., 0., 5., 6., 7., 0., 9., 10., 11., 0., 13., 14., 15.]
        );
        let earlier = shifted(&split, (2, 1, 4), 0, -2);
        assert_eq!(
            earlier.values,
            [3., 4., 0., 0., 7., 8., 0., 0., 11., 12., 0., 0., 15., 16., 0., 0.]
        );
        assert!(later.pixels.is_empty() && later.labels == split.labels);
        // Scored once unmoved, then later and earlier at each shift.
        assert_eq!(shift_work(&split, 3), 2 * (1 + 2 * 3));
    }
}
