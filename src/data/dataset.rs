//! `Dataset` and `Split`: labelled u8 images in CHW order (or f32 sequences in CL order), the
//! common currency of every loader.

use std::collections::BTreeMap;
use std::path::Path;

use super::error::DataError;
use super::rng::DataRng;
use super::vocab::Vocabulary;
use crate::cnn::Shape;

/// What one sample of a dataset is, and where a [`Split`] keeps it.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum SampleKind {
    /// A `u8` image in [`Split::pixels`] (CHW).
    #[default]
    Image,
    /// A real-valued sequence in [`Split::values`] (CL: channel by channel): `width` steps of
    /// `channels` values each, `height` 1. Signals and CSV rows.
    Signal,
    /// Token ids in [`Split::values`] (one channel, `width` steps; 0 = padding, 1 = unknown),
    /// and the vocabulary that maps them back to words or characters. Never normalized.
    Tokens(Vocabulary),
}

/// A set of labelled images held as raw bytes, or of sequences held as `f32`.
///
/// Pixels stay `u8` (4x smaller than f32) until a batch is built; 60,000
/// Fashion-MNIST images then take 47 MB instead of 188 MB. Sequences are `f32` from the start:
/// a signal's real values (and token ids beyond 255) do not fit a byte without losing the
/// small differences a 1-D filter reads, and sequence datasets are small.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Short display name, e.g. "fashion-mnist" or the folder name.
    pub name: String,
    /// One name per class; labels index into this.
    pub class_names: Vec<String>,
    /// 1 (grayscale) or 3 (RGB); a sequence's channels.
    pub channels: usize,
    /// 1 for sequences.
    pub height: usize,
    /// A sequence's steps.
    pub width: usize,
    /// Images or sequences: see [`Dataset::sample_shape`].
    pub kind: SampleKind,
    pub train: Split,
    /// `None` when the source has no separate test data; use
    /// [`split_validation`] to carve one out of `train`.
    pub test: Option<Split>,
    /// Things the user should know that did not stop loading
    /// (skipped unreadable images, resizing, ...).
    pub warnings: Vec<String>,
}

/// Images and labels of one part of a dataset.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Split {
    /// `len() * C * H * W` bytes; each image is stored channel by channel
    /// (CHW), rows top to bottom. Empty in a sequence dataset.
    pub pixels: Vec<u8>,
    /// `len() * C * L` values of a sequence dataset, each sample channel by channel (CL, what a
    /// batch's NCL wants). Empty in an image dataset.
    pub values: Vec<f32>,
    /// One class index per image.
    pub labels: Vec<u32>,
}

impl Split {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Bytes per image (`C * H * W`), derived from the buffer sizes.
    pub fn image_len(&self) -> usize {
        self.pixels.len().checked_div(self.labels.len()).unwrap_or(0)
    }

    /// The CHW bytes of image `i`.
    ///
    /// # Panics
    /// If `i >= len()`, like slice indexing; use [`Split::get_image`] for a
    /// checked version.
    pub fn image(&self, i: usize) -> &[u8] {
        let n = self.image_len();
        &self.pixels[i * n..(i + 1) * n]
    }

    /// The CHW bytes of image `i`, or `None` if out of range.
    pub fn get_image(&self, i: usize) -> Option<&[u8]> {
        (i < self.len()).then(|| self.image(i))
    }

    /// Number of images of each class (`num_classes` entries; labels beyond
    /// it are ignored).
    pub fn class_counts(&self, num_classes: usize) -> Vec<usize> {
        let mut counts = vec![0; num_classes];
        for &l in &self.labels {
            if let Some(c) = counts.get_mut(l as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// Values per sequence (`C * L`), derived from the buffer sizes; 0 in an image split.
    pub fn sequence_len(&self) -> usize {
        self.values.len().checked_div(self.labels.len()).unwrap_or(0)
    }

    /// The CL values of sequence `i`.
    ///
    /// # Panics
    /// If `i >= len()`, like slice indexing.
    pub fn sequence(&self, i: usize) -> &[f32] {
        let n = self.sequence_len();
        &self.values[i * n..(i + 1) * n]
    }

    /// Whether the samples are sequences (`values`) rather than images (`pixels`).
    pub fn holds_sequences(&self) -> bool {
        !self.values.is_empty()
    }

    /// A new split holding the samples at `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Split {
        let n = self.image_len();
        let m = self.sequence_len();
        let mut out = Split {
            pixels: Vec::with_capacity(indices.len() * n),
            values: Vec::with_capacity(indices.len() * m),
            labels: Vec::with_capacity(indices.len()),
        };
        for &i in indices {
            out.pixels.extend_from_slice(self.image(i));
            if m > 0 {
                out.values.extend_from_slice(self.sequence(i));
            }
            out.labels.push(self.labels[i]);
        }
        out
    }
}

impl Dataset {
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// `(channels, height, width)`.
    pub fn shape(&self) -> (usize, usize, usize) {
        (self.channels, self.height, self.width)
    }

    /// Bytes (and f32 values) per image: `C * H * W`; values per sequence (`C * L`).
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether samples are sequences (signals or tokens) held in [`Split::values`].
    pub fn is_sequence(&self) -> bool {
        !matches!(self.kind, SampleKind::Image)
    }

    /// The shape of one sample as the model reads it: an image `H×W×C`, or a sequence
    /// `steps×C` (tokens: one channel of ids).
    pub fn sample_shape(&self) -> Shape {
        if self.is_sequence() {
            Shape::sequence(self.width, self.channels)
        } else {
            Shape::image(self.height, self.width, self.channels)
        }
    }

    /// The vocabulary of a token dataset.
    pub fn vocabulary(&self) -> Option<&Vocabulary> {
        match &self.kind {
            SampleKind::Tokens(v) => Some(v),
            _ => None,
        }
    }

    /// Checks the invariants every loader promises: buffer sizes match the
    /// shape and every label names a class. `source` is only used in errors.
    pub fn validate(&self, source: &Path) -> Result<(), DataError> {
        if self.is_sequence() {
            if self.channels == 0 || self.height != 1 || self.width == 0 {
                return Err(DataError::InvalidRequest(format!(
                    "{} has sequences of {} steps × {} channels (height {}); sequences need at least one step and one channel",
                    source.display(),
                    self.width,
                    self.channels,
                    self.height
                )));
            }
        } else if !matches!(self.channels, 1 | 3) || self.height == 0 || self.width == 0 {
            return Err(DataError::InvalidRequest(format!(
                "{} has shape {}x{}x{}; images must have 1 or 3 channels and a non-zero size",
                source.display(),
                self.channels,
                self.height,
                self.width
            )));
        }
        let splits = std::iter::once(&self.train).chain(self.test.as_ref());
        for split in splits {
            let (stored, other) = if self.is_sequence() {
                (split.values.len(), split.pixels.len())
            } else {
                (split.pixels.len(), split.values.len())
            };
            if stored != split.len() * self.image_len() || other != 0 {
                return Err(DataError::Truncated {
                    path: source.to_path_buf(),
                    expected: (split.len() * self.image_len()) as u64,
                    got: (stored + other) as u64,
                });
            }
            if let Some((index, &label)) = split
                .labels
                .iter()
                .enumerate()
                .find(|&(_, &l)| l as usize >= self.class_names.len())
            {
                return Err(DataError::LabelOutOfRange {
                    path: source.to_path_buf(),
                    index,
                    label,
                    classes: self.class_names.len(),
                });
            }
        }
        Ok(())
    }
}

/// Splits `split` into `(train, validation)` with about `fraction` of each
/// class in validation.
///
/// Deterministic for a given `seed`; stratified so that small classes are
/// not left out of validation by chance; both parts keep the original order.
/// `fraction` is clamped to `[0, 1]` (NaN counts as 0).
pub fn split_validation(split: &Split, fraction: f32, seed: u64) -> (Split, Split) {
    let fraction = if fraction.is_nan() {
        0.0
    } else {
        fraction.clamp(0.0, 1.0)
    };
    // A map, not a Vec indexed by label: a stray huge label must not
    // allocate billions of empty classes.
    let mut by_class: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, &l) in split.labels.iter().enumerate() {
        by_class.entry(l).or_default().push(i);
    }
    let mut is_val = vec![false; split.len()];
    for (class, mut members) in by_class {
        // A separate stream per class keeps a class's selection unchanged
        // when other classes gain or lose images.
        DataRng::derive(seed, u64::from(class)).shuffle(&mut members);
        let take = (members.len() as f64 * f64::from(fraction)).round() as usize;
        for &i in &members[..take.min(members.len())] {
            is_val[i] = true;
        }
    }
    let (val, train): (Vec<usize>, Vec<usize>) = (0..split.len()).partition(|&i| is_val[i]);
    (split.subset(&train), split.subset(&val))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toy(n: usize) -> Split {
        Split {
            pixels: (0..n * 2).map(|i| (i / 2) as u8).collect(),
            values: Vec::new(),
            labels: (0..n).map(|i| (i % 3) as u32).collect(),
        }
    }

    #[test]
    fn split_accessors() {
        let s = toy(5);
        assert_eq!(s.len(), 5);
        assert_eq!(s.image_len(), 2);
        assert_eq!(s.image(3), &[3, 3]);
        assert_eq!(s.get_image(5), None);
        assert_eq!(s.class_counts(3), vec![2, 2, 1]);
        assert_eq!(Split::default().image_len(), 0);
    }

    #[test]
    fn validation_split_is_deterministic_stratified_and_disjoint() {
        let s = toy(300);
        let (tr, va) = split_validation(&s, 0.2, 9);
        assert_eq!((tr.len(), va.len()), (240, 60));
        assert_eq!(va.class_counts(3), vec![20, 20, 20]);
        let (tr2, va2) = split_validation(&s, 0.2, 9);
        assert_eq!((tr, va.clone()), (tr2, va2));
        let (_, va3) = split_validation(&s, 0.2, 10);
        assert_ne!(va, va3);
        // Every image ends up in exactly one part (image bytes are unique ids).
        let (tr, va) = split_validation(&s, 0.2, 9);
        let mut ids: Vec<u8> = tr.pixels.iter().chain(&va.pixels).step_by(2).copied().collect();
        ids.sort_unstable();
        let mut want: Vec<u8> = (0..300).map(|i| i as u8).collect();
        want.sort_unstable();
        assert_eq!(ids, want);
        // Degenerate fractions.
        assert_eq!(split_validation(&s, f32::NAN, 1).1.len(), 0);
        assert_eq!(split_validation(&s, 2.0, 1).0.len(), 0);
    }

    #[test]
    fn validate_catches_bad_labels_and_sizes() {
        let mut d = Dataset {
            name: "t".into(),
            class_names: vec!["a".into(), "b".into()],
            channels: 1,
            height: 1,
            width: 2,
            kind: SampleKind::Image,
            train: toy(4),
            test: None,
            warnings: vec![],
        };
        assert!(matches!(
            d.validate(Path::new("t")),
            Err(DataError::LabelOutOfRange { label: 2, index: 2, .. })
        ));
        d.class_names.push("c".into());
        assert!(d.validate(Path::new("t")).is_ok());
        d.train.pixels.pop();
        assert!(matches!(d.validate(Path::new("t")), Err(DataError::Truncated { .. })));
    }
}
