//! `cnn-lab bench`: training and inference images/s (samples/s for the sequence model) and
//! GFLOP/s of the reference models, and the forward+backward GFLOP/s of one convolution layer,
//! each also as a share of the machine's FMA peak at the width of the kernel path taken.

use super::peak::fma_peak_gflops;
use super::system::{cpu_model, load_average};
use crate::cnn::conv_algo::ConvAlgo;
use crate::cnn::gemm::Isa;
use crate::cnn::layers::{Conv2DLayer, Layer, Mode};
use crate::cnn::spec::Conv2D;
use crate::cnn::{Model, Optimizer, OptimizerKind, Shape, Tensor, zoo};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The training batch (and the convolution layer's).
pub const BATCH: usize = 64;
/// The inference batch: scoring a test split or a shift test runs whole batches like this.
pub const INFER_BATCH: usize = 256;

/// Everything `bench --json` prints.
#[derive(Clone, Debug, Serialize)]
pub struct BenchReport {
    pub lenet_train_img_s: f64,
    pub lenet_infer_img_s: f64,
    pub cifar_train_img_s: f64,
    pub cifar_infer_img_s: f64,
    /// The 1-D signals model (`zoo::signals`): sequences per second.
    pub signals_train_samples_s: f64,
    pub signals_infer_samples_s: f64,
    pub conv_fwd_bwd_gflops: f64,
    pub lenet_train_gflops: f64,
    pub lenet_infer_gflops: f64,
    pub cifar_train_gflops: f64,
    pub cifar_infer_gflops: f64,
    pub signals_train_gflops: f64,
    pub signals_infer_gflops: f64,
    pub batch: usize,
    pub threads: usize,
    pub seconds_per_measurement: f64,
    /// The matrix-multiply path taken (`avx512`, `avx2`, `portable`; `CNN_LAB_ISA` forces one).
    pub isa: String,
    /// The convolution algorithm `CNN_LAB_CONV` forces (`im2col`, `winograd`), or `auto`:
    /// Winograd where it applies and pays, im2col elsewhere.
    pub conv: String,
    /// The CPU's model name, if the system says.
    pub cpu: Option<String>,
    /// `/proc/loadavg` at the start (1, 5, 15 minutes): other load makes every figure lower.
    pub load_average: Option<[f64; 3]>,
    /// GFLOP/s of a register-only FMA loop on all threads at the path's vector width.
    pub fma_peak_gflops: f64,
    /// Each GFLOP/s figure divided by `fma_peak_gflops`.
    pub conv_fwd_bwd_peak_share: f64,
    pub lenet_train_peak_share: f64,
    pub lenet_infer_peak_share: f64,
    pub cifar_train_peak_share: f64,
    pub cifar_infer_peak_share: f64,
    pub signals_train_peak_share: f64,
    pub signals_infer_peak_share: f64,
    /// The inference batch (training uses `batch`).
    pub infer_batch: usize,
    /// The cifar model on one image at a time, as the rooms run it (feature maps, the canvas).
    pub cifar_infer_single_img_s: f64,
}

/// Seconds of each of the three runs of the FMA peak loop.
const PEAK_RUN_SECS: f64 = 0.2;

/// Median seconds per call of `step`, calling it for about `budget` after a short warm-up.
pub(super) fn median_secs(budget: Duration, mut step: impl FnMut()) -> f64 {
    for _ in 0..2 {
        step();
    }
    let start = Instant::now();
    let mut times = Vec::new();
    while start.elapsed() < budget || times.len() < 3 {
        let t = Instant::now();
        step();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn random_batch(shape: Shape, classes: usize, seed: u64, batch: usize) -> (Tensor, Vec<u32>) {
    let mut rng = StdRng::seed_from_u64(seed);
    let data = (0..batch * shape.len())
        .map(|_| rng.random_range(0.0f32..1.0))
        .collect();
    let labels = (0..batch).map(|_| rng.random_range(0..classes as u32)).collect();
    (Tensor::from_vec(batch, shape, data).expect("sizes match"), labels)
}

/// What one model's measurement gives.
struct ModelSpeed {
    train: f64,
    /// Images/s at [`INFER_BATCH`].
    infer: f64,
    /// Images/s one image at a time.
    single: f64,
    macs: u64,
}

/// Training at [`BATCH`], inference at [`INFER_BATCH`] and one image at a time, and the forward
/// MACs per image of one model.
fn model_speed(input: Shape, specs: &[crate::cnn::LayerSpec], budget: Duration) -> ModelSpeed {
    let mut model = Model::build(input, specs, Some(10), 1).expect("reference models are valid");
    let (x, labels) = random_batch(input, 10, 2, BATCH);
    let mut opt = Optimizer::new(OptimizerKind::sgd(0.9), 0.0);
    let train = median_secs(budget, || {
        model.train_step(&x, &labels, &mut opt, 0.01);
    });
    let (x, _) = random_batch(input, 10, 3, INFER_BATCH);
    let infer = median_secs(budget, || {
        model.logits(&x, Mode::Infer);
    });
    let (one, _) = random_batch(input, 10, 4, 1);
    let single = median_secs(budget / 4, || {
        model.logits(&one, Mode::Infer);
    });
    ModelSpeed {
        train: BATCH as f64 / train,
        infer: INFER_BATCH as f64 / infer,
        single: 1.0 / single,
        macs: model.summary().macs_per_sample(),
    }
}

/// Conv2D 32→64, 3×3, same, on a 64×32×32×32 batch: forward, then both gradients, repeated
/// for about `budget`; GFLOP/s at the median time.
pub fn conv_gflops(budget: Duration) -> f64 {
    let secs = with_conv_step(|step| median_secs(budget, step));
    let macs = (BATCH * 32 * 32 * 64 * 32 * 9) as f64;
    3.0 * 2.0 * macs / secs / 1e9
}

/// [`conv_gflops`]'s step run `steps` times, untimed: a fixed amount of work for profilers
/// and CPU-time comparisons.
pub fn conv_steps(steps: usize) {
    with_conv_step(|step| (0..steps).for_each(|_| step()));
}

/// `run` given [`conv_gflops`]'s step (the layer and batch made once).
fn with_conv_step<R>(run: impl FnOnce(&mut dyn FnMut()) -> R) -> R {
    let input = Shape::image(32, 32, 32);
    let spec = Conv2D::new(64, 3).same();
    let mut rng = StdRng::seed_from_u64(3);
    let mut layer = Conv2DLayer::new(&spec, input, &mut rng).expect("valid layer");
    let (x, _) = random_batch(input, 10, 4, BATCH);
    let (mut y, mut dx) = (Tensor::default(), Tensor::default());
    let mut dy = Tensor::default();
    run(&mut || {
        layer.forward(&x, &mut y, Mode::Train);
        if dy.data().len() != y.data().len() {
            dy = y.clone();
        }
        layer.backward(&x, &y, &mut dy, Some(&mut dx));
    })
}

/// Measures everything `bench` reports, each measurement for about `seconds`.
pub fn run(seconds: f64) -> BenchReport {
    let budget = Duration::from_secs_f64(seconds.max(0.05));
    let load = load_average();
    let isa = Isa::active();
    let peak = fma_peak_gflops(isa, PEAK_RUN_SECS);
    let (li, ls) = zoo::lenet();
    let lenet = model_speed(li, &ls, budget);
    let (ci, cs) = zoo::cifar();
    let cifar = model_speed(ci, &cs, budget);
    let (si, ss) = zoo::signals();
    let signals = model_speed(si, &ss, budget);
    let conv = conv_gflops(budget);
    // Training costs about three forward passes (forward, input gradient, weight gradient).
    let gflops = |img_s: f64, macs: u64, passes: f64| img_s * macs as f64 * 2.0 * passes / 1e9;
    let (lenet_train_gflops, lenet_infer_gflops) = (
        gflops(lenet.train, lenet.macs, 3.0),
        gflops(lenet.infer, lenet.macs, 1.0),
    );
    let (cifar_train_gflops, cifar_infer_gflops) = (
        gflops(cifar.train, cifar.macs, 3.0),
        gflops(cifar.infer, cifar.macs, 1.0),
    );
    let (signals_train_gflops, signals_infer_gflops) = (
        gflops(signals.train, signals.macs, 3.0),
        gflops(signals.infer, signals.macs, 1.0),
    );
    let share = |gflops: f64| if peak > 0.0 { gflops / peak } else { 0.0 };
    BenchReport {
        lenet_train_img_s: lenet.train,
        lenet_infer_img_s: lenet.infer,
        cifar_train_img_s: cifar.train,
        cifar_infer_img_s: cifar.infer,
        signals_train_samples_s: signals.train,
        signals_infer_samples_s: signals.infer,
        conv_fwd_bwd_gflops: conv,
        lenet_train_gflops,
        lenet_infer_gflops,
        cifar_train_gflops,
        cifar_infer_gflops,
        signals_train_gflops,
        signals_infer_gflops,
        batch: BATCH,
        threads: rayon::current_num_threads(),
        seconds_per_measurement: budget.as_secs_f64(),
        isa: isa.name().to_string(),
        conv: ConvAlgo::forced().map_or("auto", ConvAlgo::name).to_string(),
        cpu: cpu_model(),
        load_average: load,
        fma_peak_gflops: peak,
        conv_fwd_bwd_peak_share: share(conv),
        lenet_train_peak_share: share(lenet_train_gflops),
        lenet_infer_peak_share: share(lenet_infer_gflops),
        cifar_train_peak_share: share(cifar_train_gflops),
        cifar_infer_peak_share: share(cifar_infer_gflops),
        signals_train_peak_share: share(signals_train_gflops),
        signals_infer_peak_share: share(signals_infer_gflops),
        infer_batch: INFER_BATCH,
        cifar_infer_single_img_s: cifar.single,
    }
}

impl BenchReport {
    /// The human-readable table.
    pub fn table(&self) -> String {
        let pct = |share: f64| share * 100.0;
        format!(
            "CNN Lab engine benchmark (training batch {}, inference batch {}, {} threads, median step)\n\
             CPU {}, kernel path {}, convolution {}, FMA peak {:.1} GFLOP/s\n\
             model   pass        images/s     GFLOP/s   of peak\n\
             lenet   train     {:>10.0}  {:>10.1}  {:>7.1}%\n\
             lenet   inference {:>10.0}  {:>10.1}  {:>7.1}%\n\
             cifar   train     {:>10.0}  {:>10.1}  {:>7.1}%\n\
             cifar   inference {:>10.0}  {:>10.1}  {:>7.1}%\n\
             signals train     {:>10.0}  {:>10.1}  {:>7.1}%   (1-D, 128 steps: sequences/s)\n\
             signals inference {:>10.0}  {:>10.1}  {:>7.1}%\n\
             cifar   one image at a time: {:.0} images/s\n\
             Conv2D 32→64 3×3 same on 64×32×32×32, forward + backward: {:.1} GFLOP/s ({:.1}% of peak)\n",
            self.batch,
            self.infer_batch,
            self.threads,
            self.cpu.as_deref().unwrap_or("unknown"),
            self.isa,
            self.conv,
            self.fma_peak_gflops,
            self.lenet_train_img_s,
            self.lenet_train_gflops,
            pct(self.lenet_train_peak_share),
            self.lenet_infer_img_s,
            self.lenet_infer_gflops,
            pct(self.lenet_infer_peak_share),
            self.cifar_train_img_s,
            self.cifar_train_gflops,
            pct(self.cifar_train_peak_share),
            self.cifar_infer_img_s,
            self.cifar_infer_gflops,
            pct(self.cifar_infer_peak_share),
            self.signals_train_samples_s,
            self.signals_train_gflops,
            pct(self.signals_train_peak_share),
            self.signals_infer_samples_s,
            self.signals_infer_gflops,
            pct(self.signals_infer_peak_share),
            self.cifar_infer_single_img_s,
            self.conv_fwd_bwd_gflops,
            pct(self.conv_fwd_bwd_peak_share),
        )
    }
}
