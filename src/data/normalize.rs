//! `Normalization`: how u8 pixels become the f32 values a network sees, plus per-channel statistics.

use serde::{Deserialize, Serialize};

use super::dataset::Split;

/// Pixel-to-f32 mapping, stored in experiment files.
///
/// `Standardize` works on the 0..1 scale, like torchvision's
/// `Normalize` after `ToTensor`: `(x / 255 - mean[c]) / std[c]`, so the
/// familiar published constants (MNIST mean 0.1307, std 0.3081) fit as-is.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum Normalization {
    /// Raw 0..255 values as f32.
    None,
    /// `x / 255`, into 0..1. The default: safe for any network.
    #[default]
    ZeroOne,
    /// Per-channel standardization on the 0..1 scale. A single-entry vector
    /// applies to every channel; missing entries mean 0 / 1; a zero or
    /// non-finite std is treated as 1 (a constant channel must not divide by 0).
    Standardize {
        #[serde(default)]
        mean: Vec<f32>,
        #[serde(default)]
        std: Vec<f32>,
    },
}

impl Normalization {
    /// Standardization with the statistics of `split` (use the training
    /// split only, so no test information leaks into the model).
    pub fn standardize_from(split: &Split, channels: usize) -> Normalization {
        let (mean, std) = channel_stats(split, channels);
        Normalization::Standardize { mean, std }
    }

    /// A 256-entry lookup table per channel: converting a pixel is then a
    /// single indexed load, whatever the normalization.
    pub fn lookup_tables(&self, channels: usize) -> Vec<[f32; 256]> {
        (0..channels)
            .map(|c| {
                // f64 then one rounding to f32: 51 maps to exactly 0.2f32.
                let (mean, std) = match self {
                    Normalization::None => (0.0, 1.0 / 255.0),
                    Normalization::ZeroOne => (0.0, 1.0),
                    Normalization::Standardize { mean, std } => {
                        let pick = |v: &[f32], default: f32| {
                            let x = v.get(c).or(if v.len() == 1 { v.first() } else { None });
                            x.copied().filter(|x| x.is_finite()).unwrap_or(default)
                        };
                        let s = pick(std, 1.0);
                        (
                            f64::from(pick(mean, 0.0)),
                            f64::from(if s.abs() > 1e-8 { s } else { 1.0 }),
                        )
                    }
                };
                let mut t = [0f32; 256];
                for (v, slot) in t.iter_mut().enumerate() {
                    *slot = ((v as f64 / 255.0 - mean) / std) as f32;
                }
                t
            })
            .collect()
    }

    /// Per channel `(mean, std)` for real-valued sequences, applied as `(v - mean) / std` on
    /// the values' own scale (a signal has no 0..255): `None` and `ZeroOne` leave values as
    /// they are; `Standardize` follows the same rules for missing entries and zero std.
    pub fn sequence_affine(&self, channels: usize) -> Vec<(f32, f32)> {
        (0..channels)
            .map(|c| match self {
                Normalization::None | Normalization::ZeroOne => (0.0, 1.0),
                Normalization::Standardize { mean, std } => {
                    let pick = |v: &[f32], default: f32| {
                        let x = v.get(c).or(if v.len() == 1 { v.first() } else { None });
                        x.copied().filter(|x| x.is_finite()).unwrap_or(default)
                    };
                    let s = pick(std, 1.0);
                    (pick(mean, 0.0), if s.abs() > 1e-8 { s } else { 1.0 })
                }
            })
            .collect()
    }

    /// Normalizes one CHW image into `out` (same length; extra entries of
    /// the longer one are left alone).
    pub fn apply(&self, image: &[u8], channels: usize, out: &mut [f32]) {
        let tables = self.lookup_tables(channels);
        apply_tables(&tables, image, out);
    }
}

/// Applies per-channel tables to a CHW image (channel planes are equal
/// parts of `image`). Stops at the shorter of `image` and `out`.
pub(crate) fn apply_tables(tables: &[[f32; 256]], image: &[u8], out: &mut [f32]) {
    let plane = image.len() / tables.len().max(1);
    if plane == 0 {
        return;
    }
    let planes = out.chunks_mut(plane).zip(image.chunks(plane));
    for (table, (out_plane, in_plane)) in tables.iter().zip(planes) {
        for (o, &p) in out_plane.iter_mut().zip(in_plane) {
            *o = table[usize::from(p)];
        }
    }
}

/// Per-channel mean and standard deviation of `split` on the 0..1 scale.
/// Returns `channels` entries each (0 / 1 for an empty split).
pub fn channel_stats(split: &Split, channels: usize) -> (Vec<f32>, Vec<f32>) {
    let channels = channels.max(1);
    // Histograms: exact, and one pass of integer adds over 47 MB is fast.
    let mut hist = vec![[0u64; 256]; channels];
    let plane = split.image_len() / channels;
    if plane > 0 {
        for img in split.pixels.chunks_exact(plane * channels) {
            for (c, h) in hist.iter_mut().enumerate() {
                for &p in &img[c * plane..(c + 1) * plane] {
                    h[usize::from(p)] += 1;
                }
            }
        }
    }
    hist.iter()
        .map(|h| {
            let n: u64 = h.iter().sum();
            if n == 0 {
                return (0.0, 1.0);
            }
            let (mut s, mut s2) = (0f64, 0f64);
            for (v, &k) in h.iter().enumerate() {
                let x = v as f64 / 255.0;
                s += x * k as f64;
                s2 += x * x * k as f64;
            }
            let mean = s / n as f64;
            let var = (s2 / n as f64 - mean * mean).max(0.0);
            (mean as f32, var.sqrt() as f32)
        })
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_map_pixels_as_documented() {
        let img = [0u8, 255, 51, 102];
        let mut out = [0f32; 4];
        Normalization::None.apply(&img, 1, &mut out);
        assert_eq!(out, [0.0, 255.0, 51.0, 102.0]);
        Normalization::ZeroOne.apply(&img, 1, &mut out);
        assert_eq!(out, [0.0, 1.0, 0.2, 0.4]);
        let std = Normalization::Standardize {
            mean: vec![0.5, 0.0],
            std: vec![0.25, 0.0],
        };
        std.apply(&img, 2, &mut out);
        assert_eq!(out[0], -2.0);
        assert!((out[1] - 2.0).abs() < 1e-6);
        // Channel 2 has std 0: treated as 1, no infinities.
        assert!((out[2] - 0.2).abs() < 1e-6);
        let broadcast = Normalization::Standardize {
            mean: vec![0.5],
            std: vec![0.5],
        };
        broadcast.apply(&img, 2, &mut out);
        assert_eq!((out[0], out[2]), (-1.0, -0.6));
    }

    #[test]
    fn stats_are_exact_per_channel() {
        // Two 2-channel 1x2 images: channel 0 all 0 / 255, channel 1 all 51.
        let split = Split {
            pixels: vec![0, 255, 51, 51, 255, 0, 51, 51],
            labels: vec![0, 1],
            ..Split::default()
        };
        let (mean, std) = channel_stats(&split, 2);
        assert!((mean[0] - 0.5).abs() < 1e-6 && (std[0] - 0.5).abs() < 1e-6);
        assert!((mean[1] - 0.2).abs() < 1e-6 && std[1].abs() < 1e-6);
        let n = Normalization::standardize_from(&split, 2);
        let mut out = [0f32; 4];
        n.apply(&split.pixels[..4], 2, &mut out);
        assert_eq!(out[..2], [-1.0, 1.0]);
        assert_eq!(channel_stats(&Split::default(), 3), (vec![0.0; 3], vec![1.0; 3]));
    }

    #[test]
    fn serde_round_trip_and_defaults() {
        for n in [
            Normalization::None,
            Normalization::ZeroOne,
            Normalization::Standardize {
                mean: vec![0.1307],
                std: vec![0.3081],
            },
        ] {
            let s = serde_json::to_string(&n).unwrap();
            assert_eq!(serde_json::from_str::<Normalization>(&s).unwrap(), n);
        }
        assert_eq!(Normalization::default(), Normalization::ZeroOne);
        let partial: Normalization = serde_json::from_str(r#"{"Standardize":{}}"#).unwrap();
        assert_eq!(
            partial,
            Normalization::Standardize {
                mean: vec![],
                std: vec![]
            }
        );
    }
}
