#!/usr/bin/env python3
"""PyTorch CPU float32 throughput, as the yardstick for ``cnn-lab bench``.

    python3 scripts/bench_pytorch.py [--seconds S] [--threads T] [--json]

Measures, at batch 64 on random data:

* ``lenet``: 1x28x28 -> Conv(8,3) relu -> MaxPool 2 -> Conv(16,3) relu -> MaxPool 2
  -> Flatten(400) -> Dense(64) relu -> Dense(10)
* ``cifar``: 3x32x32 -> Conv(32,3,pad 1) relu -> Conv(32,3,pad 1) relu -> MaxPool 2
  -> Conv(64,3,pad 1) relu -> Conv(64,3,pad 1) relu -> MaxPool 2 -> Flatten(4096)
  -> Dense(128) relu -> Dense(10)

For each: training images/s (forward, cross-entropy, backward, SGD momentum 0.9
lr 0.01 step) and inference images/s (torch.inference_mode). Plus the
forward+backward GFLOP/s of one conv layer (32->64, 3x3, pad 1, on a 64x32x32x32
input; FLOPs = 2*MACs, fwd MACs = 64*64*32*32*32*9, fwd+bwd = 3x forward for dx and dw).

Each measurement: a few warm-up iterations, then S seconds of timed chunks; the
reported figure is the median chunk. With --json, prints one JSON object with the
keys lenet_train_img_s, lenet_infer_img_s, cifar_train_img_s, cifar_infer_img_s,
conv_fwd_bwd_gflops, threads, torch_version (progress goes to stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH = 64
WARMUP_ITERS = 3
CHUNKS = 7  # the S seconds are split into about this many timed chunks


def lenet() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )


def cifar() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(),
        nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(4096, 128), nn.ReLU(),
        nn.Linear(128, 10),
    )


MODELS = {"lenet": (lenet, (1, 28, 28)), "cifar": (cifar, (3, 32, 32))}


def timed(fn, seconds: float) -> float:
    """Median seconds per call of fn(), over chunks filling about `seconds`."""
    for _ in range(WARMUP_ITERS):
        fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-6)
    per_chunk = max(1, int(seconds / CHUNKS / one))
    samples = []
    deadline = time.perf_counter() + seconds
    while len(samples) < 3 or time.perf_counter() < deadline:
        t0 = time.perf_counter()
        for _ in range(per_chunk):
            fn()
        samples.append((time.perf_counter() - t0) / per_chunk)
    return statistics.median(samples)


def bench_model(name: str, seconds: float) -> tuple[float, float]:
    make, shape = MODELS[name]
    torch.manual_seed(0)
    model = make()
    x = torch.randn(BATCH, *shape)
    y = torch.randint(0, 10, (BATCH,))
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def train_step():
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()

    model.train()
    train_s = timed(train_step, seconds)

    model.eval()

    def infer():
        with torch.inference_mode():
            model(x)

    infer_s = timed(infer, seconds)
    return BATCH / train_s, BATCH / infer_s


def bench_conv(seconds: float) -> float:
    torch.manual_seed(0)
    conv = nn.Conv2d(32, 64, 3, padding=1)
    x = torch.randn(64, 32, 32, 32, requires_grad=True)
    dy = torch.randn(64, 64, 32, 32)
    params = [x, conv.weight, conv.bias]

    def fwd_bwd():
        torch.autograd.grad(conv(x), params, dy)

    t = timed(fwd_bwd, seconds)
    fwd_flops = 2 * 64 * 64 * 32 * 32 * 32 * 9
    return 3 * fwd_flops / t / 1e9


def run(seconds: float, threads: int) -> dict:
    torch.set_num_threads(threads)
    out = {}
    for name in MODELS:
        print(f"[bench_pytorch] {name} ...", file=sys.stderr, flush=True)
        train, infer = bench_model(name, seconds)
        out[f"{name}_train_img_s"] = round(train, 1)
        out[f"{name}_infer_img_s"] = round(infer, 1)
    print("[bench_pytorch] conv 32->64 3x3 fwd+bwd ...", file=sys.stderr, flush=True)
    out["conv_fwd_bwd_gflops"] = round(bench_conv(seconds), 2)
    out["threads"] = torch.get_num_threads()
    out["torch_version"] = torch.__version__
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement (default 3)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()
    r = run(args.seconds, args.threads)
    if args.json:
        print(json.dumps(r))
        return
    print(f"PyTorch {r['torch_version']} CPU float32, {r['threads']} threads, batch {BATCH}")
    print(f"{'model':<8} {'train img/s':>12} {'infer img/s':>12}")
    for name in MODELS:
        print(f"{name:<8} {r[f'{name}_train_img_s']:>12.1f} {r[f'{name}_infer_img_s']:>12.1f}")
    print(f"conv 32->64 3x3 on 64x32x32x32, fwd+bwd: {r['conv_fwd_bwd_gflops']:.2f} GFLOP/s")


if __name__ == "__main__":
    main()
