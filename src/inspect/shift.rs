//! The course's case for convolution, measured: accuracy when every test image is moved by
//! 0, 1, 2, … pixels. A fully connected network learns where strokes are and falls fast; a
//! convolutional one learns what they look like and holds longer.

use crate::cnn::{Model, Shape};
use crate::data::{DataError, Normalization, Split};
use crate::training::evaluate_with;

/// The four directions an image is moved in: (rows down, columns right) per pixel of shift.
const DIRECTIONS: [(i64, i64); 4] = [(0, 1), (0, -1), (1, 0), (-1, 0)];

/// A copy of `split` (images of `dims` = (channels, height, width), CHW) with every image moved
/// `dy` rows down and `dx` columns right; what moves in from outside is 0 (the background of
/// the bundled sets).
pub fn shifted(split: &Split, (c, h, w): (usize, usize, usize), dy: i64, dx: i64) -> Split {
    let mut pixels = vec![0u8; split.pixels.len()];
    let plane = h * w;
    for (source, target) in split
        .pixels
        .chunks_exact(c * plane)
        .zip(pixels.chunks_exact_mut(c * plane))
    {
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
    Split {
        pixels,
        labels: split.labels.clone(),
        values: Vec::new(),
    }
}

/// Accuracy on `split` at shifts 0, 1, …, `max_shift` pixels, each the mean over moving the
/// images left, right, up and down (shift 0 is the plain accuracy). `keep_going(done, total)`
/// hears the progress in images scored and may cancel (`Ok(None)`).
pub fn shift_accuracy(
    model: &mut Model,
    split: &Split,
    dims: (usize, usize, usize),
    input: Shape,
    normalization: &Normalization,
    max_shift: usize,
    keep_going: &mut dyn FnMut(usize, usize) -> bool,
) -> Result<Option<Vec<f32>>, DataError> {
    let total = split.len() * (1 + 4 * max_shift);
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
    for shift in 1..=max_shift as i64 {
        let mut sum = 0.0;
        for (dy, dx) in DIRECTIONS {
            let moved = shifted(split, dims, dy * shift, dx * shift);
            let Some(accuracy) = score(model, &moved, &mut done)? else {
                return Ok(None);
            };
            sum += accuracy;
        }
        accuracies.push(sum / DIRECTIONS.len() as f32);
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
}
