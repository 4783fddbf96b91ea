//! `cnn-lab bench --conv`: the three convolution algorithms on 3×3 stride-1 layers of several
//! widths, forward pass, input gradient and kernel gradient, so the rules that pick one
//! (`cnn::conv_algo`: `pays`, `direct_pays`, `kernel_gradient_pays`, `direct_kernel_gradient_pays`)
//! rest on measurements of this machine.

use super::engine::{BATCH, median_secs};
use crate::cnn::conv_algo::ConvAlgo;
use crate::cnn::gemm::Isa;
use crate::cnn::layers::{Conv2DLayer, Layer};
use crate::cnn::spec::Conv2D;
use crate::cnn::{Shape, Tensor};
use rand::SeedableRng;
use rand::rngs::StdRng;
use std::time::Duration;

/// (side, input channels, filters) of the measured layers: the cifar model's, and the input
/// channel counts around the crossover.
const LAYERS: [(usize, usize, usize); 17] = [
    (28, 1, 8),
    (14, 8, 16),
    (14, 16, 8),
    (28, 8, 8),
    (32, 3, 32),
    (32, 4, 32),
    (32, 8, 32),
    (32, 12, 32),
    (32, 16, 32),
    (32, 32, 32),
    (32, 32, 64),
    (16, 32, 64),
    (16, 16, 16),
    (16, 64, 64),
    (16, 64, 8),
    (8, 64, 64),
    (8, 128, 128),
];

/// The table: per layer, each algorithm's forward, input-gradient and kernel-gradient
/// milliseconds (batch 64), the algorithms measured one after another per layer so slow phases
/// of a shared machine hit them alike.
pub fn algorithm_table(seconds: f64) -> String {
    let budget = Duration::from_secs_f64(seconds.max(0.02) / 4.0);
    let isa = Isa::active();
    let mut out = format!(
        "Conv2D 3×3 same, batch {BATCH}, kernel path {isa}: median ms (im2col / winograd / direct)\n\
         layer          forward                       input gradient                kernel gradient\n"
    );
    for (side, c, f) in LAYERS {
        let input = Shape::image(side, side, c);
        let spec = Conv2D::new(f, 3).same().relu();
        let Some(mut layer) = Conv2DLayer::new(&spec, input, &mut StdRng::seed_from_u64(1)) else {
            continue;
        };
        // Image-like values: the timing does not depend on them, only on the shapes.
        let data = (0..BATCH * input.len()).map(|i| (i % 251) as f32 / 251.0).collect();
        let Some(x) = Tensor::from_vec(BATCH, input, data) else {
            continue;
        };
        let mut ms = [[0.0; 3]; ConvAlgo::ALL.len()];
        for (i, algo) in ConvAlgo::ALL.into_iter().enumerate() {
            let (mut y, mut dx) = (Tensor::default(), Tensor::default());
            ms[i][0] = 1e3 * median_secs(budget, || layer.forward_with(algo, isa, &x, &mut y));
            let mut dy = y.clone();
            // The input gradient alone (a frozen layer), then the kernel gradient alone.
            layer.set_trainable(false);
            ms[i][1] = 1e3
                * median_secs(budget, || {
                    layer.backward_with(algo, isa, &x, &y, &mut dy, Some(&mut dx))
                });
            layer.set_trainable(true);
            ms[i][2] = 1e3 * median_secs(budget, || layer.backward_with(algo, isa, &x, &y, &mut dy, None));
        }
        let cell = |j: usize| format!("{:7.2} / {:7.2} / {:7.2}", ms[0][j], ms[1][j], ms[2][j]);
        out += &format!(
            "{side:>2}×{side:<2} {c:>3}→{f:<3}   {}   {}   {}\n",
            cell(0),
            cell(1),
            cell(2)
        );
    }
    out
}
