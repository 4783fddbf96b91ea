//! Batching: seeded per-epoch shuffling, normalization and augmentation into caller-owned NCHW f32 buffers
//! (NCL for sequence splits, whose values are copied through the normalization unaugmented).
//!
//! ```text
//! let batcher = Batcher::new(&ds.train, ds.shape(), 64)?
//!     .shuffle(seed)
//!     .normalization(&norm)
//!     .augmentation(aug); // training only
//! let (mut x, mut y) = (Vec::new(), Vec::new());
//! for epoch in 0..epochs {
//!     let mut it = batcher.epoch(epoch);
//!     while let Some(n) = it.next_batch(&mut x, &mut y) { /* x: n*C*H*W, y: n */ }
//! }
//! ```
//! The buffers are resized, never reallocated once big enough, so a
//! training loop allocates nothing per batch.

use super::augment::Augmentation;
use super::dataset::Split;
use super::error::DataError;
use super::normalize::{Normalization, apply_tables};
use super::rng::DataRng;

/// Turns a split into batches; cheap to keep for the whole training run.
#[derive(Debug, Clone)]
pub struct Batcher<'a> {
    split: &'a Split,
    channels: usize,
    height: usize,
    width: usize,
    batch_size: usize,
    shuffle: bool,
    seed: u64,
    tables: Vec<[f32; 256]>,
    /// Per channel `(mean, std)` for sequence values: `(v - mean) / std`.
    affine: Vec<(f32, f32)>,
    augmentation: Augmentation,
}

impl<'a> Batcher<'a> {
    /// Sequential batches of `split` (images of shape `(C, H, W)`, or sequences of `C` channels
    /// and `W` steps with `H` 1), normalized to 0..1 (sequences: as they are), no augmentation:
    /// what evaluation wants.
    pub fn new(
        split: &'a Split,
        (channels, height, width): (usize, usize, usize),
        batch_size: usize,
    ) -> Result<Self, DataError> {
        if batch_size == 0 {
            return Err(DataError::InvalidRequest("batch size must be at least 1".into()));
        }
        let image_len = channels * height * width;
        let stored = if split.holds_sequences() {
            split.values.len()
        } else {
            split.pixels.len()
        };
        if image_len == 0 || stored != split.len() * image_len {
            return Err(DataError::InvalidRequest(format!(
                "the split holds {stored} values for {} samples, which does not fit samples of shape {channels}x{height}x{width}",
                split.len()
            )));
        }
        Ok(Batcher {
            split,
            channels,
            height,
            width,
            batch_size,
            shuffle: false,
            seed: 0,
            tables: Normalization::ZeroOne.lookup_tables(channels),
            affine: Normalization::ZeroOne.sequence_affine(channels),
            augmentation: Augmentation::default(),
        })
    }

    /// Visit samples in a fresh random order each epoch. The order depends
    /// only on `seed` and the epoch index: reproducible runs, but no two
    /// epochs alike. `seed` also drives augmentation.
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.shuffle = true;
        self.seed = seed;
        self
    }

    /// Seed for augmentation when not shuffling (shuffle sets it too).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    pub fn normalization(mut self, normalization: &Normalization) -> Self {
        self.tables = normalization.lookup_tables(self.channels);
        self.affine = normalization.sequence_affine(self.channels);
        self
    }

    /// Random per-sample transforms; give this only to training batchers. Images only:
    /// sequences pass unchanged.
    pub fn augmentation(mut self, augmentation: Augmentation) -> Self {
        self.augmentation = augmentation;
        self
    }

    /// Number of samples per epoch.
    pub fn len(&self) -> usize {
        self.split.len()
    }

    pub fn is_empty(&self) -> bool {
        self.split.is_empty()
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Batches per epoch, counting the last partial one.
    pub fn num_batches(&self) -> usize {
        self.split.len().div_ceil(self.batch_size)
    }

    /// Values per image (`C * H * W`).
    pub fn image_len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// The batches of epoch `epoch` (0-based).
    pub fn epoch(&self, epoch: u64) -> BatchIter<'_, 'a> {
        // One seed per epoch, split into independent streams for the order
        // and for augmentation so each can change without moving the other.
        let epoch_seed = DataRng::derive(self.seed, epoch).next_u64();
        let mut order: Vec<usize> = (0..self.split.len()).collect();
        if self.shuffle {
            DataRng::derive(epoch_seed, 0).shuffle(&mut order);
        }
        BatchIter {
            batcher: self,
            order,
            pos: 0,
            rng: DataRng::derive(epoch_seed, 1),
            scratch: vec![0; self.image_len()],
        }
    }
}

/// One epoch's walk over a [`Batcher`].
#[derive(Debug)]
pub struct BatchIter<'b, 'a> {
    batcher: &'b Batcher<'a>,
    order: Vec<usize>,
    pos: usize,
    rng: DataRng,
    scratch: Vec<u8>,
}

impl BatchIter<'_, '_> {
    /// The sample order of this epoch (indices into the split).
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Batches not yet returned.
    pub fn remaining_batches(&self) -> usize {
        (self.order.len() - self.pos).div_ceil(self.batcher.batch_size)
    }

    /// Fills `images` (N*C*H*W, NCHW) and `labels` (N) with the next batch
    /// and returns N, or `None` when the epoch is over. The last batch may
    /// be smaller than the batch size; it is kept, not dropped.
    pub fn next_batch(&mut self, images: &mut Vec<f32>, labels: &mut Vec<u32>) -> Option<usize> {
        let b = self.batcher;
        let end = (self.pos + b.batch_size).min(self.order.len());
        if self.pos >= end {
            return None;
        }
        let indices = &self.order[self.pos..end];
        self.pos = end;
        let len = b.image_len();
        images.resize(indices.len() * len, 0.0);
        labels.clear();
        if b.split.holds_sequences() {
            let steps = len / b.affine.len().max(1);
            for (slot, &i) in images.chunks_exact_mut(len).zip(indices) {
                let src = b.split.sequence(i);
                for ((out, src), &(mean, std)) in slot.chunks_mut(steps).zip(src.chunks(steps)).zip(&b.affine) {
                    for (o, &v) in out.iter_mut().zip(src) {
                        *o = (v - mean) / std;
                    }
                }
                labels.push(b.split.labels[i]);
            }
            return Some(indices.len());
        }
        let augment = !b.augmentation.is_identity();
        for (slot, &i) in images.chunks_exact_mut(len).zip(indices) {
            let src = b.split.image(i);
            let pixels = if augment {
                b.augmentation
                    .apply(src, b.channels, b.height, b.width, &mut self.rng, &mut self.scratch);
                &self.scratch[..]
            } else {
                src
            };
            apply_tables(&b.tables, pixels, slot);
            labels.push(b.split.labels[i]);
        }
        Some(indices.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Image i is a 1x2x2 image filled with i (mod 256), label i.
    fn split(n: usize) -> Split {
        Split {
            pixels: (0..n).flat_map(|i| [i as u8; 4]).collect(),
            labels: (0..n as u32).collect(),
            ..Split::default()
        }
    }

    fn epoch_labels(b: &Batcher, epoch: u64) -> (Vec<u32>, Vec<usize>) {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let mut all = Vec::new();
        let mut sizes = Vec::new();
        let mut it = b.epoch(epoch);
        while let Some(n) = it.next_batch(&mut x, &mut y) {
            assert_eq!(x.len(), n * 4);
            assert_eq!(y.len(), n);
            // Pixels travel with their labels.
            for (img, &l) in x.chunks(4).zip(&y) {
                assert!(img.iter().all(|&v| v == l as f32 / 255.0));
            }
            all.extend_from_slice(&y);
            sizes.push(n);
        }
        (all, sizes)
    }

    #[test]
    fn every_sample_once_per_epoch_and_last_partial_batch_kept() {
        let s = split(103);
        let b = Batcher::new(&s, (1, 2, 2), 10).unwrap().shuffle(42);
        assert_eq!(b.num_batches(), 11);
        let (labels, sizes) = epoch_labels(&b, 0);
        assert_eq!(sizes.last(), Some(&3));
        assert_eq!(sizes.len(), 11);
        let mut sorted = labels.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..103).collect::<Vec<u32>>());
        assert_ne!(labels, sorted, "shuffled");
    }

    #[test]
    fn epochs_differ_but_runs_repeat() {
        let s = split(50);
        let b = Batcher::new(&s, (1, 2, 2), 8).unwrap().shuffle(7);
        let e0 = epoch_labels(&b, 0).0;
        let e1 = epoch_labels(&b, 1).0;
        assert_ne!(e0, e1);
        let again = Batcher::new(&s, (1, 2, 2), 8).unwrap().shuffle(7);
        assert_eq!(epoch_labels(&again, 0).0, e0);
        assert_eq!(epoch_labels(&again, 1).0, e1);
        let other = Batcher::new(&s, (1, 2, 2), 8).unwrap().shuffle(8);
        assert_ne!(epoch_labels(&other, 0).0, e0);
        // Without shuffle: sequential.
        let seq = Batcher::new(&s, (1, 2, 2), 8).unwrap();
        assert_eq!(epoch_labels(&seq, 3).0, (0..50).collect::<Vec<u32>>());
    }

    #[test]
    fn buffers_are_reused_and_normalization_applied() {
        let s = split(5);
        let b = Batcher::new(&s, (1, 2, 2), 4)
            .unwrap()
            .normalization(&Normalization::None);
        let mut x = Vec::with_capacity(16);
        let mut y = Vec::with_capacity(4);
        let ptr = x.as_ptr();
        let mut it = b.epoch(0);
        assert_eq!(it.remaining_batches(), 2);
        assert_eq!(it.next_batch(&mut x, &mut y), Some(4));
        assert_eq!(x[4..8], [1.0; 4]);
        assert_eq!(it.next_batch(&mut x, &mut y), Some(1));
        assert_eq!((x.as_ptr(), x.len(), y.clone()), (ptr, 4, vec![4]));
        assert_eq!(it.next_batch(&mut x, &mut y), None);
    }

    #[test]
    fn augmentation_is_reproducible_and_changes_images() {
        // 1x3x3 images with a bright centre, so any shift shows.
        let s = Split {
            pixels: [0, 0, 0, 0, 255, 0, 0, 0, 0].repeat(20),
            labels: vec![0; 20],
            ..Split::default()
        };
        let aug = Augmentation {
            random_shift: 1,
            horizontal_flip: true,
        };
        let run = |seed| {
            let b = Batcher::new(&s, (1, 3, 3), 20)
                .unwrap()
                .shuffle(seed)
                .augmentation(aug.clone());
            let (mut x, mut y) = (Vec::new(), Vec::new());
            b.epoch(0).next_batch(&mut x, &mut y);
            x
        };
        let a = run(1);
        assert_eq!(a, run(1));
        assert_ne!(a, run(2));
        let moved = a.chunks(9).filter(|img| img[4] != 1.0).count();
        assert!(moved > 5, "most of 20 images should be shifted, got {moved}");
    }

    #[test]
    fn sequences_are_batched_as_values_standardized_per_channel() {
        // Two samples of 2 channels × 3 steps: channel 0 holds i, channel 1 holds 10 + i.
        let s = Split {
            values: vec![0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 1.0, 1.0, 1.0, 11.0, 11.0, 11.0],
            labels: vec![0, 1],
            ..Split::default()
        };
        let b = Batcher::new(&s, (2, 1, 3), 2).unwrap().augmentation(Augmentation {
            random_shift: 1,
            horizontal_flip: true,
        });
        let (mut x, mut y) = (Vec::new(), Vec::new());
        assert_eq!(b.epoch(0).next_batch(&mut x, &mut y), Some(2));
        assert_eq!(x, s.values, "ZeroOne leaves values as they are; no augmentation");
        let norm = Normalization::Standardize {
            mean: vec![0.5, 10.5],
            std: vec![0.5, 2.0],
        };
        let b = Batcher::new(&s, (2, 1, 3), 2).unwrap().normalization(&norm);
        b.epoch(0).next_batch(&mut x, &mut y);
        assert_eq!(&x[..6], &[-1.0, -1.0, -1.0, -0.25, -0.25, -0.25]);
        assert_eq!(y, vec![0, 1]);
        assert!(Batcher::new(&s, (2, 1, 4), 2).is_err());
    }

    #[test]
    fn bad_arguments_are_errors() {
        let s = split(3);
        assert!(Batcher::new(&s, (1, 2, 2), 0).is_err());
        assert!(Batcher::new(&s, (3, 2, 2), 1).is_err());
        let empty = Split::default();
        let b = Batcher::new(&empty, (1, 2, 2), 4).unwrap();
        assert_eq!(b.num_batches(), 0);
        assert_eq!(b.epoch(0).next_batch(&mut Vec::new(), &mut Vec::new()), None);
    }
}
