//! Converting a whole dataset to another image shape: channel count (1 <-> 3) and size (H x W).
//!
//! Used when a model expects, say, 3x32x32 but the data is 1x28x28. The
//! resize is a separable triangle filter whose support widens when
//! shrinking, so downscaling averages neighbours instead of skipping them
//! (the same idea as `image`'s `FilterType::Triangle`, without the per-image
//! allocation of going through `image` buffers).

use super::budget::check_dataset_size;
use super::dataset::{Dataset, SampleKind, Split};
use super::error::DataError;

/// Per output index: the contributing source indices and their weights.
fn weights(src: usize, dst: usize) -> Vec<Vec<(usize, f32)>> {
    let scale = src as f32 / dst as f32;
    let support = scale.max(1.0);
    (0..dst)
        .map(|o| {
            let center = (o as f32 + 0.5) * scale - 0.5;
            let lo = (center - support).floor().max(0.0) as usize;
            let hi = ((center + support).ceil() as usize).min(src - 1);
            let mut taps: Vec<(usize, f32)> = (lo..=hi)
                .map(|i| (i, (1.0 - (i as f32 - center).abs() / support).max(0.0)))
                .filter(|&(_, w)| w > 0.0)
                .collect();
            if taps.is_empty() {
                taps.push((center.round().clamp(0.0, (src - 1) as f32) as usize, 1.0));
            }
            let total: f32 = taps.iter().map(|t| t.1).sum();
            taps.iter_mut().for_each(|t| t.1 /= total);
            taps
        })
        .collect()
}

/// Rec. 709 luma, matching `image`'s `to_luma8` used by the folder loader.
fn luma(r: u8, g: u8, b: u8) -> u8 {
    (0.2126 * f32::from(r) + 0.7152 * f32::from(g) + 0.0722 * f32::from(b)).round() as u8
}

impl Dataset {
    /// A copy with every image converted to `channels` x `height` x `width`
    /// (see [`resampled`]).
    pub fn resampled(&self, channels: usize, height: usize, width: usize) -> Result<Dataset, DataError> {
        resampled(self, channels, height, width)
    }
}

/// Returns a copy of `ds` with every image converted to `channels` x
/// `height` x `width`. A no-op clone when the shape already matches.
pub fn resampled(ds: &Dataset, channels: usize, height: usize, width: usize) -> Result<Dataset, DataError> {
    if !matches!(channels, 1 | 3) || height == 0 || width == 0 {
        return Err(DataError::InvalidRequest(format!(
            "cannot convert images to {channels}x{height}x{width}: use 1 or 3 channels and a non-zero size"
        )));
    }
    if ds.shape() == (channels, height, width) {
        return Ok(ds.clone());
    }
    if ds.is_sequence() {
        return Err(DataError::InvalidRequest(format!(
            "{} holds sequences of {} steps × {} channels, not images; set the experiment's input to (steps: {}, channels: {})",
            ds.name, ds.width, ds.channels, ds.width, ds.channels
        )));
    }
    let images = ds.train.len() + ds.test.as_ref().map_or(0, Split::len);
    check_dataset_size(
        images as u64,
        (channels, height, width),
        "use a smaller input size (the experiment's input height and width)",
    )?;
    // The pixel loops below index by shape; refuse inconsistent buffers.
    ds.validate(std::path::Path::new(&ds.name))?;
    let (c0, h0, w0) = ds.shape();
    let wy = weights(h0, height);
    let wx = weights(w0, width);
    let convert = |split: &Split| -> Split {
        let mut out = Split {
            pixels: Vec::with_capacity(split.len() * channels * height * width),
            labels: split.labels.clone(),
            values: Vec::new(),
        };
        let mut plane = vec![0u8; h0 * w0];
        let mut rows = vec![0f32; h0 * width];
        for i in 0..split.len() {
            let img = split.image(i);
            for c in 0..channels {
                // Channel conversion first, at the source size (cheaper).
                let hw = h0 * w0;
                match (c0, channels) {
                    (1, _) => plane.copy_from_slice(&img[..hw]),
                    (3, 3) => plane.copy_from_slice(&img[c * hw..(c + 1) * hw]),
                    _ => {
                        for (p, out) in plane.iter_mut().enumerate() {
                            *out = luma(img[p], img[hw + p], img[2 * hw + p]);
                        }
                    }
                }
                // Horizontal pass into f32 rows, then vertical pass to u8.
                for y in 0..h0 {
                    let src = &plane[y * w0..(y + 1) * w0];
                    for (x, taps) in wx.iter().enumerate() {
                        rows[y * width + x] = taps.iter().map(|&(i, w)| f32::from(src[i]) * w).sum();
                    }
                }
                for taps in &wy {
                    for x in 0..width {
                        let v: f32 = taps.iter().map(|&(i, w)| rows[i * width + x] * w).sum();
                        out.pixels.push(v.round().clamp(0.0, 255.0) as u8);
                    }
                }
            }
        }
        out
    };
    let mut out = Dataset {
        name: ds.name.clone(),
        class_names: ds.class_names.clone(),
        channels,
        height,
        width,
        kind: SampleKind::Image,
        train: convert(&ds.train),
        test: ds.test.as_ref().map(convert),
        warnings: ds.warnings.clone(),
    };
    out.warnings.push(format!(
        "images converted from {c0}x{h0}x{w0} to {channels}x{height}x{width}"
    ));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ds(c: usize, h: usize, w: usize, pixels: Vec<u8>) -> Dataset {
        Dataset {
            name: "t".into(),
            class_names: vec!["a".into()],
            channels: c,
            height: h,
            width: w,
            kind: SampleKind::Image,
            train: Split {
                pixels,
                labels: vec![0],
                values: Vec::new(),
            },
            test: None,
            warnings: vec![],
        }
    }

    #[test]
    fn gray_to_rgb_and_back_and_sizes() {
        let g = ds(1, 2, 2, vec![0, 100, 200, 255]);
        let rgb = resampled(&g, 3, 2, 2).unwrap();
        assert_eq!(rgb.train.pixels, [0, 100, 200, 255].repeat(3));
        let back = resampled(&rgb, 1, 2, 2).unwrap();
        assert_eq!(back.train.pixels, vec![0, 100, 200, 255]);
        // Constant images stay constant under any resize.
        let flat = ds(1, 5, 7, vec![77; 35]);
        let big = resampled(&flat, 1, 11, 3).unwrap();
        assert!(big.train.pixels.iter().all(|&p| p == 77));
        assert_eq!(big.train.pixels.len(), 33);
        // Downscaling 4 -> 2 averages pairs.
        let row = ds(1, 1, 4, vec![0, 100, 200, 200]);
        let half = resampled(&row, 1, 1, 2).unwrap();
        assert!(half.train.pixels[0] < 100 && half.train.pixels[1] > 150);
        assert!(resampled(&row, 2, 1, 1).is_err());
    }
}
