//! Training the cifar reference model at batch 64 stays under 1 GiB resident (the process's
//! peak RSS from /proc, so everything the engine allocates counts).

use cnn_lab::cnn::{Model, Optimizer, OptimizerKind, Tensor, zoo};

fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

#[test]
fn cifar_training_at_batch_64_stays_under_one_gib() {
    const GIB: u64 = 1 << 30;
    let (input, specs) = zoo::cifar();
    let mut model = Model::build(input, &specs, Some(10), 0).unwrap();
    let estimate = model.summary().training_memory_bytes(64);
    assert!(estimate < GIB, "estimated {estimate} bytes");
    let x = Tensor::from_vec(
        64,
        input,
        (0..64 * input.len()).map(|i| (i % 251) as f32 / 251.0).collect(),
    )
    .unwrap();
    let labels: Vec<u32> = (0..64).map(|i| i % 10).collect();
    let mut opt = Optimizer::new(OptimizerKind::sgd(0.9), 0.0);
    let first = model.train_step(&x, &labels, &mut opt, 0.01).loss;
    for _ in 0..3 {
        model.train_step(&x, &labels, &mut opt, 0.01);
    }
    let last = model.evaluate(&x, &labels).loss;
    assert!(last < first, "training on one batch lowers its loss: {first} → {last}");
    let peak = peak_rss_bytes().expect("Linux /proc/self/status");
    assert!(peak < GIB, "peak resident memory {} MiB", peak >> 20);
    // The estimate shown to users is in the right ballpark of what was really used.
    assert!(estimate > peak / 8, "estimate {estimate} vs peak {peak}");
}
