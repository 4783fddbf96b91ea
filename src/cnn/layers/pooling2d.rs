//! What MaxPooling2D and AveragePooling2D share: the config (`pool_size`, `strides` that default
//! to `pool_size`, `padding` valid by default), the shape rule, and where each window lands.
//! With `same` padding, windows are clipped to the image (TensorFlow): max pooling never picks a
//! padded cell and average pooling divides by the number of real cells.

use super::Layer;
use super::kind::{Family, Field, Footprint, Incoming, Inferred, Init, LayerKind, pair};
use crate::cnn::error::{ArchError, QuickFix};
use crate::cnn::geometry::{Padding, Window};
use crate::cnn::shape::Shape;
use serde::{Deserialize, Serialize};
use std::fmt::Debug;
use std::marker::PhantomData;
use std::ops::Range;

/// What tells the two pooling kinds apart.
pub trait PoolKind: Clone + Copy + Debug + Default + PartialEq + Send + Sync + 'static {
    /// The Keras class name.
    const NAME: &'static str;
    /// The Keras class name of the 1-D twin (`MaxPooling1D`).
    const NAME_1D: &'static str;
    /// What it does, for messages: "keeps the largest value of each window".
    const DOES: &'static str;
    /// Bytes kept per output value for the backward pass.
    const CACHE_BYTES_PER_OUTPUT: u64;
    /// The runtime layer.
    fn build(geom: PoolGeom) -> Box<dyn Layer>;
}

/// `MaxPooling2D(pool_size, strides=None, padding='valid')` / `AveragePooling2D(…)`, as in
/// Keras: `strides` default to `pool_size`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, bound = "")]
pub struct Pool2D<K: PoolKind> {
    pub pool_size: (usize, usize),
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strides: Option<(usize, usize)>,
    #[serde(default)]
    pub padding: Padding,
    #[serde(skip)]
    kind: PhantomData<K>,
}

impl<K: PoolKind> Pool2D<K> {
    pub fn new(pool: usize) -> Self {
        Pool2D {
            pool_size: (pool, pool),
            strides: None,
            padding: Padding::Valid,
            kind: PhantomData,
        }
    }
    pub fn strides(mut self, s: usize) -> Self {
        self.strides = Some((s, s));
        self
    }
    pub fn padding(mut self, padding: Padding) -> Self {
        self.padding = padding;
        self
    }
    /// Sets every field at once: `strides: None` means "as pool_size".
    pub fn with(pool_size: (usize, usize), strides: Option<(usize, usize)>, padding: Padding) -> Self {
        Pool2D {
            pool_size,
            strides,
            padding,
            kind: PhantomData,
        }
    }
    pub fn effective_strides(&self) -> (usize, usize) {
        self.strides.unwrap_or(self.pool_size)
    }
}

impl<K: PoolKind> LayerKind for Pool2D<K> {
    fn describe(&self) -> String {
        format!(
            "{}({}, strides {}, padding {})",
            K::NAME,
            pair(self.pool_size),
            pair(self.effective_strides()),
            self.padding.keras_name()
        )
    }

    fn family(&self) -> Family {
        Family::Pooling
    }

    fn footprint(&self) -> Footprint {
        Footprint::Window {
            kernel: self.pool_size,
            strides: self.effective_strides(),
            padding: self.padding,
        }
    }

    fn infer(&self, at: &Incoming) -> Result<Inferred, ArchError> {
        if at.input.is_sequence() {
            return Err(at.wants_image());
        }
        let Shape::Image { c, h, w } = at.input else {
            return Err(at.error(
                format!(
                    "pooling needs an image, but its input is a flat vector of {}",
                    at.input.len()
                ),
                "move it before Flatten / Dense, or remove it",
                at.remove(),
            ));
        };
        if let Padding::Explicit(p) = self.padding {
            let smallest = self.pool_size.0.min(self.pool_size.1);
            if p > 0 && p >= smallest {
                return Err(at.error(
                    format!(
                        "padding {p} is as wide as the {smallest}-pixel window, so some windows would see only padding"
                    ),
                    format!("use padding 'same', or at most {}", smallest.saturating_sub(1)),
                    Some(QuickFix::UsePaddingSame { index: at.index }),
                ));
            }
        }
        let (ph, pw) = self.pool_size;
        let (max_h, max_w) = (h.saturating_mul(2), w.saturating_mul(2));
        if self.padding != Padding::Valid && (ph > max_h || pw > max_w) {
            // A window up to the input's size (plus padding) pools the whole map, like global
            // pooling; one more than twice its size is mostly padding wherever it lands (and
            // at u64::MAX trained to chance).
            return Err(at.error(
                format!(
                    "pool_size ({ph}, {pw}) is more than twice its {h}×{w} input, so the windows would see mostly padding"
                ),
                format!("use a pool_size of at most ({max_h}, {max_w}), such as (2, 2)"),
                None,
            ));
        }
        let win = at.window(
            "pool_size",
            self.pool_size,
            self.effective_strides(),
            self.padding,
            (h, w),
        )?;
        let (oh, ow) = win.out_hw();
        let output = Shape::image(oh, ow, c);
        Ok(Inferred {
            cache_bytes: output.len_saturating().saturating_mul(K::CACHE_BYTES_PER_OUTPUT),
            ..Inferred::shape(output)
        })
    }

    fn build(&self, input: Shape, _init: &mut Init<'_>) -> Option<Box<dyn Layer>> {
        PoolGeom::new(self, input).map(K::build)
    }

    fn fields(&mut self) -> Vec<Field<'_>> {
        let default = self.pool_size;
        vec![
            Field::Pair {
                name: "pool",
                value: &mut self.pool_size,
                max: 256,
            },
            Field::DefaultedPair {
                name: "strides",
                value: &mut self.strides,
                default,
                max: 256,
            },
            Field::Padding(&mut self.padding),
        ]
    }

    fn apply_fix(&mut self, fix: &QuickFix) -> bool {
        match fix {
            QuickFix::UsePaddingSame { .. } => {
                self.padding = Padding::Same;
                true
            }
            QuickFix::FitWindow { size, .. } => {
                self.pool_size = *size;
                true
            }
            _ => false,
        }
    }

    fn palette_default() -> Self {
        Pool2D::new(2)
    }
}

/// The clipped input rows (or columns) seen by output position `o` along one axis.
fn span(o: usize, s: usize, k: usize, pad: usize, n: usize) -> Range<usize> {
    let start = (o * s) as isize - pad as isize;
    let lo = (start.max(0) as usize).min(n);
    let hi = ((start + k as isize).max(0) as usize).min(n);
    lo..hi.max(lo)
}

/// Where every window of a pooling layer lands on its input: an image, or a sequence seen as
/// one row of `steps` (the 1-D poolings, see `pooling1d.rs`).
pub struct PoolGeom {
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub win: Window,
    /// The input and output are sequences (C, steps) rather than images.
    pub sequence: bool,
}

impl PoolGeom {
    pub fn new<K: PoolKind>(spec: &Pool2D<K>, input: Shape) -> Option<Self> {
        let Shape::Image { c, h, w } = input else {
            return None;
        };
        let win = Window::new(h, w, spec.pool_size, spec.effective_strides(), spec.padding)?;
        Some(PoolGeom {
            c,
            h,
            w,
            win,
            sequence: false,
        })
    }

    /// A window of `pool` steps moving by `stride` along a (C, steps) sequence.
    pub fn line(input: Shape, pool: usize, stride: usize, padding: Padding) -> Option<Self> {
        let Shape::Sequence { c, steps } = input else {
            return None;
        };
        let win = Window::line(steps, pool, stride, 1, padding)?;
        Some(PoolGeom {
            c,
            h: 1,
            w: steps,
            win,
            sequence: true,
        })
    }

    pub fn output(&self) -> Shape {
        if self.sequence {
            Shape::sequence(self.win.cols.out, self.c)
        } else {
            Shape::image(self.win.rows.out, self.win.cols.out, self.c)
        }
    }

    /// The Keras class name of a pooling of `kind` (`MaxPooling2D` → `MaxPooling1D` on sequences).
    pub fn name(&self, kind_2d: &'static str, kind_1d: &'static str) -> &'static str {
        if self.sequence { kind_1d } else { kind_2d }
    }

    pub fn rows(&self, oy: usize) -> Range<usize> {
        span(oy, self.win.sh, self.win.kh, self.win.rows.pad_before, self.h)
    }

    pub fn cols(&self, ox: usize) -> Range<usize> {
        span(ox, self.win.sw, self.win.kw, self.win.cols.pad_before, self.w)
    }

    /// The common 2×2, stride 2, unpadded window, which has a branch-light fast path.
    pub fn is_plain_2x2(&self) -> bool {
        let w = &self.win;
        (w.kh, w.kw, w.sh, w.sw) == (2, 2, 2, 2) && self.unpadded()
    }

    /// The common 1-D window of 2 steps, stride 2, unpadded (one row high), which has a fast
    /// path too.
    pub fn is_plain_pair(&self) -> bool {
        let w = &self.win;
        self.h == 1 && (w.kh, w.kw, w.sh, w.sw, w.dw) == (1, 2, 1, 2, 1) && self.unpadded()
    }

    fn unpadded(&self) -> bool {
        let w = &self.win;
        [w.rows.pad_before, w.rows.pad_after, w.cols.pad_before, w.cols.pad_after] == [0; 4]
    }
}
