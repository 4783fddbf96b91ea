//! AveragePooling2D: the mean of each window; with `same` padding, of its real cells only.
//!
//! # Shapes
//! x (N, C, H, W) → y (N, C, OH, OW).

use super::pooling2d::{Pool2D, PoolGeom, PoolKind};
use super::{Layer, Mode};
use crate::cnn::shape::Shape;
use crate::cnn::tensor::Tensor;
use rayon::prelude::*;

/// Marks a [`Pool2D`] as `AveragePooling2D`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Average;

pub type AveragePooling2D = Pool2D<Average>;

impl PoolKind for Average {
    const NAME: &'static str = "AveragePooling2D";
    const NAME_1D: &'static str = "AveragePooling1D";
    const DOES: &'static str = "averages each window";
    /// Nothing: the backward pass needs only the geometry.
    const CACHE_BYTES_PER_OUTPUT: u64 = 0;

    fn build(geom: PoolGeom) -> Box<dyn Layer> {
        Box::new(AvgPool { geom })
    }
}

pub struct AvgPool {
    geom: PoolGeom,
}

impl AvgPool {
    pub fn new(spec: &AveragePooling2D, input: Shape) -> Option<Self> {
        PoolGeom::new(spec, input).map(|geom| AvgPool { geom })
    }
}

impl Layer for AvgPool {
    fn kind(&self) -> &'static str {
        self.geom.name(Average::NAME, Average::NAME_1D)
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, _mode: Mode) {
        let g = &self.geom;
        let n = x.batch();
        let (oh, ow) = g.win.out_hw();
        let (in_len, out_len) = (g.c * g.h * g.w, g.c * oh * ow);
        y.resize(n, g.output());
        y.data_mut()
            .par_chunks_mut(out_len)
            .zip(x.data().par_chunks(in_len))
            .for_each(|(y, x)| {
                let mut o = 0;
                for ci in 0..g.c {
                    let plane = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
                    for oy in 0..oh {
                        let rows = g.rows(oy);
                        for ox in 0..ow {
                            let cols = g.cols(ox);
                            let count = (rows.len() * cols.len()).max(1) as f32;
                            let sum: f32 = rows
                                .clone()
                                .map(|iy| plane[iy * g.w + cols.start..iy * g.w + cols.end].iter().sum::<f32>())
                                .sum();
                            y[o] = sum / count;
                            o += 1;
                        }
                    }
                }
            });
    }

    fn backward(&mut self, x: &Tensor, _y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        let Some(dx) = dx else { return };
        let g = &self.geom;
        let n = x.batch();
        let (oh, ow) = g.win.out_hw();
        let (in_len, out_len) = (g.c * g.h * g.w, g.c * oh * ow);
        dx.resize(n, x.shape());
        dx.data_mut()
            .par_chunks_mut(in_len)
            .zip(dy.data().par_chunks(out_len))
            .for_each(|(dx, dy)| {
                dx.fill(0.0);
                let mut o = 0;
                for ci in 0..g.c {
                    let plane = &mut dx[ci * g.h * g.w..(ci + 1) * g.h * g.w];
                    for oy in 0..oh {
                        let rows = g.rows(oy);
                        for ox in 0..ow {
                            let cols = g.cols(ox);
                            let share = dy[o] / (rows.len() * cols.len()).max(1) as f32;
                            for iy in rows.clone() {
                                plane[iy * g.w + cols.start..iy * g.w + cols.end]
                                    .iter_mut()
                                    .for_each(|v| *v += share);
                            }
                            o += 1;
                        }
                    }
                }
            });
    }
}
