//! Dropout (inverted, as Keras): in training, zero each value with probability `rate` and scale
//! the survivors by 1/(1 − rate); at inference, pass everything through.

use super::{Layer, Mode};
use crate::cnn::tensor::Tensor;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

pub struct DropoutLayer {
    rate: f32,
    rng: StdRng,
    /// 0 or 1/(1 − rate) for each value of the last training batch; empty after inference.
    mask: Vec<f32>,
}

impl DropoutLayer {
    pub fn new(rate: f32, seed: u64) -> Self {
        DropoutLayer {
            rate,
            rng: StdRng::seed_from_u64(seed),
            mask: Vec::new(),
        }
    }
}

impl Layer for DropoutLayer {
    fn kind(&self) -> &'static str {
        "Dropout"
    }

    fn forward(&mut self, x: &Tensor, y: &mut Tensor, mode: Mode) {
        y.copy_from(x);
        if mode == Mode::Infer || self.rate == 0.0 {
            self.mask.clear();
            return;
        }
        let scale = 1.0 / (1.0 - self.rate);
        let rate = self.rate;
        let rng = &mut self.rng;
        self.mask.clear();
        self.mask
            .extend((0..x.data().len()).map(|_| if rng.random::<f32>() < rate { 0.0 } else { scale }));
        y.data_mut().iter_mut().zip(&self.mask).for_each(|(v, m)| *v *= m);
    }

    fn backward(&mut self, _x: &Tensor, _y: &Tensor, dy: &mut Tensor, dx: Option<&mut Tensor>) {
        let Some(dx) = dx else { return };
        dx.copy_from(dy);
        if self.mask.len() == dx.data().len() {
            dx.data_mut().iter_mut().zip(&self.mask).for_each(|(v, m)| *v *= m);
        }
    }
}
