//! Training steps of a reference model in a loop, for profilers, and where a step's time goes:
//! `target/release/examples/profile_step cifar 30` (`perf record` it), or `... cifar 20 layers`,
//! or `... cifar 20 infer [BATCH]` for each layer's share of an inference pass (batch 256),
//! or `... cifar 20 logits [BATCH]` for plain inference passes (conv + pool fused);
//! `lenet` and `signals` for the other reference models; `conv SECONDS` for `bench`'s Conv2D
//! 32→64 forward and backward (GFLOP/s), `conv N steps` for N of its steps, untimed.
use cnn_lab::cnn::{Mode, Model, Optimizer, OptimizerKind, Tensor, zoo};
use cnn_lab::perf::layers::{inference_layer_times, layer_times};
fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "cifar".into());
    let steps: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(30);
    let mode = args.next().unwrap_or_default();
    if which == "conv" && mode == "steps" {
        cnn_lab::perf::engine::conv_steps(steps);
        return;
    }
    if which == "conv" {
        let gflops = cnn_lab::perf::engine::conv_gflops(std::time::Duration::from_secs(steps as u64));
        println!("{gflops:.1} GFLOP/s");
        return;
    }
    let per_layer = mode == "layers";
    let (input, specs) = match which.as_str() {
        "lenet" => zoo::lenet(),
        "signals" => zoo::signals(),
        _ => zoo::cifar(),
    };
    let mut model = Model::build(input, &specs, Some(10), 1).expect("valid");
    let x = Tensor::from_vec(
        64,
        input,
        (0..64 * input.len()).map(|i| (i % 255) as f32 / 255.0).collect(),
    )
    .expect("sizes");
    let labels: Vec<u32> = (0..64).map(|i| i % 10).collect();
    if mode == "logits" {
        // Plain inference passes (conv + pool pairs fused), for profilers.
        let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(256);
        let data = (0..n * input.len()).map(|i| (i % 253) as f32 / 253.0).collect();
        let x = Tensor::from_vec(n, input, data).expect("sizes");
        model.logits(&x, Mode::Infer);
        let t = std::time::Instant::now();
        for _ in 0..steps {
            model.logits(&x, Mode::Infer);
        }
        println!("{:.0} images/s", (steps * n) as f64 / t.elapsed().as_secs_f64());
        return;
    }
    if mode == "infer" {
        let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(256);
        let data = (0..n * input.len()).map(|i| (i % 253) as f32 / 253.0).collect();
        let x = Tensor::from_vec(n, input, data).expect("sizes");
        let times = inference_layer_times(&mut model, &x, steps);
        let total: f64 = times.iter().map(|t| t.forward_secs).sum();
        for (i, t) in times.iter().enumerate() {
            let share = 100.0 * t.forward_secs / total;
            println!("{i:2} {:22} {:7.2} ms  {share:5.1}%", t.kind, t.forward_secs * 1e3);
        }
        println!("{:.0} images/s", n as f64 / total);
        return;
    }
    if per_layer {
        for (i, t) in layer_times(&mut model, &x, &labels, steps).into_iter().enumerate() {
            println!(
                "{i:2} {:22} forward {:6.2} ms  backward {:6.2} ms",
                t.kind,
                t.forward_secs * 1e3,
                t.backward_secs * 1e3
            );
        }
        return;
    }
    let mut opt = Optimizer::new(OptimizerKind::sgd(0.9), 0.0);
    let t = std::time::Instant::now();
    for _ in 0..steps {
        model.train_step(&x, &labels, &mut opt, 0.01);
    }
    println!("{:.0} images/s", (steps * 64) as f64 / t.elapsed().as_secs_f64());
}
