//! `Augmentation`: random per-sample shifts and flips applied to training images.

use serde::{Deserialize, Serialize};

use super::rng::DataRng;

/// Training-time augmentation, stored in experiment files.
///
/// The default does nothing, so old experiment files without this section
/// load unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Augmentation {
    /// Maximum shift in pixels, drawn independently for x and y from
    /// `-random_shift..=random_shift`; uncovered pixels become 0 (black).
    pub random_shift: usize,
    /// Mirror left-right with probability 1/2. Off by default: it is wrong
    /// for digits and text (a mirrored "2" is not a "2").
    pub horizontal_flip: bool,
}

impl Augmentation {
    /// True when `apply` would always return the image unchanged.
    pub fn is_identity(&self) -> bool {
        self.random_shift == 0 && !self.horizontal_flip
    }

    /// Writes an augmented copy of the CHW image `src` (`channels` planes of
    /// `height x width`) into `dst`. All channels get the same transform.
    /// Draws from `rng` only for enabled transforms, so turning one off does
    /// not change the random choices of the other.
    ///
    /// # Panics
    /// If `src` or `dst` is shorter than `channels * height * width`
    /// ([`super::Batcher`] guarantees the sizes).
    pub fn apply(&self, src: &[u8], channels: usize, height: usize, width: usize, rng: &mut DataRng, dst: &mut [u8]) {
        let (dx, dy) = if self.random_shift > 0 {
            (rng.symmetric(self.random_shift), rng.symmetric(self.random_shift))
        } else {
            (0, 0)
        };
        let flip = self.horizontal_flip && rng.coin();
        if dx == 0 && dy == 0 && !flip {
            dst.copy_from_slice(src);
            return;
        }
        let (h, w) = (height as isize, width as isize);
        for c in 0..channels {
            let plane = c * height * width;
            for y in 0..h {
                let sy = y - dy;
                let row = &mut dst[plane + y as usize * width..plane + (y as usize + 1) * width];
                if !(0..h).contains(&sy) {
                    row.fill(0);
                    continue;
                }
                let src_row = &src[plane + sy as usize * width..plane + (sy as usize + 1) * width];
                for (x, out) in row.iter_mut().enumerate() {
                    // Flip first, then shift: output x shows source x - dx,
                    // mirrored when flipping.
                    let sx = x as isize - dx;
                    let sx = if flip { w - 1 - sx } else { sx };
                    *out = if (0..w).contains(&sx) { src_row[sx as usize] } else { 0 };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 1 channel, 3x3 image 1..=9.
    const IMG: [u8; 9] = [1, 2, 3, 4, 5, 6, 7, 8, 9];

    #[test]
    fn identity_copies() {
        let mut out = [0u8; 9];
        Augmentation::default().apply(&IMG, 1, 3, 3, &mut DataRng::new(0), &mut out);
        assert_eq!(out, IMG);
        assert!(Augmentation::default().is_identity());
    }

    #[test]
    fn flip_mirrors_every_row_and_channel() {
        let aug = Augmentation {
            random_shift: 0,
            horizontal_flip: true,
        };
        let two = [IMG, IMG].concat();
        let mut seen_flip = false;
        let mut seen_plain = false;
        let mut rng = DataRng::new(1);
        for _ in 0..32 {
            let mut out = [0u8; 18];
            aug.apply(&two, 2, 3, 3, &mut rng, &mut out);
            if out[..9] == [3, 2, 1, 6, 5, 4, 9, 8, 7] {
                seen_flip = true;
                assert_eq!(out[..9], out[9..], "channels transformed together");
            } else {
                assert_eq!(out[..9], IMG);
                seen_plain = true;
            }
        }
        assert!(seen_flip && seen_plain);
    }

    #[test]
    fn shifts_move_content_and_zero_fill() {
        let aug = Augmentation {
            random_shift: 1,
            horizontal_flip: false,
        };
        let mut rng = DataRng::new(2);
        let mut shifts = std::collections::HashSet::new();
        for _ in 0..200 {
            let mut out = [0u8; 9];
            aug.apply(&IMG, 1, 3, 3, &mut rng, &mut out);
            // The centre pixel 5 lands somewhere in the 3x3 window.
            let pos = out.iter().position(|&v| v == 5).unwrap();
            let (dx, dy) = (pos as isize % 3 - 1, pos as isize / 3 - 1);
            shifts.insert((dx, dy));
            // Every pixel is either zero fill or the source pixel it came from.
            for (i, &v) in out.iter().enumerate() {
                let (x, y) = (i as isize % 3 - dx, i as isize / 3 - dy);
                let want = if (0..3).contains(&x) && (0..3).contains(&y) {
                    IMG[(y * 3 + x) as usize]
                } else {
                    0
                };
                assert_eq!(v, want);
            }
        }
        assert_eq!(shifts.len(), 9, "all 9 shifts occur");
    }

    #[test]
    fn serde_defaults_fill_missing_fields() {
        let a: Augmentation = serde_json::from_str(r#"{"random_shift":2}"#).unwrap();
        assert_eq!(
            a,
            Augmentation {
                random_shift: 2,
                horizontal_flip: false
            }
        );
        let b: Augmentation = serde_json::from_str("{}").unwrap();
        assert_eq!(b, Augmentation::default());
        let s = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Augmentation>(&s).unwrap(), a);
    }
}
