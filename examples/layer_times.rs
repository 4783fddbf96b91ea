//! Per-layer forward/backward times of a reference model (for finding where a step goes).
use cnn_lab::cnn::layers::Mode;
use cnn_lab::cnn::{Model, Tensor, zoo};
use std::time::Instant;
fn main() {
    let which = std::env::args().nth(1).unwrap_or_else(|| "cifar".into());
    let (input, specs) = if which == "lenet" { zoo::lenet() } else { zoo::cifar() };
    let mut model = Model::build(input, &specs, Some(10), 1).expect("valid");
    let x = Tensor::from_vec(
        64,
        input,
        (0..64 * input.len()).map(|i| (i % 255) as f32 / 255.0).collect(),
    )
    .expect("sizes");
    let labels: Vec<u32> = (0..64).map(|i| i % 10).collect();
    for _ in 0..3 {
        model.compute_gradients(&x, &labels);
    }
    let reps = 20;
    let t = Instant::now();
    for _ in 0..reps {
        model.forward(&x, Mode::Train);
    }
    let fwd = t.elapsed().as_secs_f64() / reps as f64;
    let t = Instant::now();
    for _ in 0..reps {
        model.compute_gradients(&x, &labels);
    }
    let full = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "forward {:.2} ms, forward+backward {:.2} ms → {:.0} img/s",
        fwd * 1e3,
        full * 1e3,
        64.0 / full
    );
    for (i, (kind, f, b)) in model.layer_times(&x, &labels, reps).into_iter().enumerate() {
        println!("{i:2} {kind:22} fwd {:6.2} ms  bwd {:6.2} ms", f * 1e3, b * 1e3);
    }
}
