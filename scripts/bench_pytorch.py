#!/usr/bin/env python3
"""PyTorch CPU float32 throughput, as the yardstick for ``cnn-lab bench``.

    python3 scripts/bench_pytorch.py [--seconds S] [--threads T] [--train-batch 64]
                                     [--infer-batch 256] [--json]

Measures, on random data (training at batch 64, inference at batch 256 unless told):

* ``lenet``: 1x28x28 -> Conv(8,3) relu -> MaxPool 2 -> Conv(16,3) relu -> MaxPool 2
  -> Flatten(400) -> Dense(64) relu -> Dense(10)
* ``cifar``: 3x32x32 -> Conv(32,3,pad 1) relu -> Conv(32,3,pad 1) relu -> MaxPool 2
  -> Conv(64,3,pad 1) relu -> Conv(64,3,pad 1) relu -> MaxPool 2 -> Flatten(4096)
  -> Dense(128) relu -> Dense(10)
* ``signals`` (1-D): 1x128 -> Conv1D(16,7,same) relu -> MaxPool 2 -> Conv1D(32,5,same) relu
  -> MaxPool 2 -> Conv1D(64,3,same,dilation 2) relu -> GlobalAvgPool -> Dense(10)

(the models of src/cnn/zoo.rs: 27,562, 591,274 and 9,578 parameters, checked when built).

For each: training images/s (forward, cross-entropy, backward, SGD momentum 0.9
lr 0.01 step) and inference images/s (torch.inference_mode, eval mode). Plus the
forward+backward GFLOP/s of one conv layer (32->64, 3x3, pad 1, on an Nx32x32x32
input, N = the training batch; FLOPs = 2*MACs, fwd MACs = N*64*32*32*32*9, fwd+bwd =
3x forward for dx and dw).

Each measurement: a few warm-up iterations, then S seconds of timed chunks; the
reported figure is the median chunk. With --json, prints one JSON object with the
keys lenet_train_img_s, lenet_infer_img_s, cifar_train_img_s, cifar_infer_img_s,
signals_train_samples_s, signals_infer_samples_s, conv_fwd_bwd_gflops, framework
("pytorch"), version, torch_version, threads, batch (training), infer_batch
(progress goes to stderr). scripts/bench_keras.py measures the same with Keras/TensorFlow.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from bench_timing import timed

import torch
import torch.nn as nn
import torch.nn.functional as F

BATCH = 64  # training batch, as `cnn-lab bench`
INFER_BATCH = 256  # the inference target is at batch 256


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


def signals() -> nn.Module:
    return nn.Sequential(
        nn.Conv1d(1, 16, 7, padding="same"), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(16, 32, 5, padding="same"), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(32, 64, 3, padding="same", dilation=2), nn.ReLU(),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(),
        nn.Linear(64, 10),
    )


# name -> (constructor, input shape, parameters in CNN Lab's zoo, JSON key stem)
MODELS = {
    "lenet": (lenet, (1, 28, 28), 27_562, "img_s"),
    "cifar": (cifar, (3, 32, 32), 591_274, "img_s"),
    "signals": (signals, (1, 128), 9_578, "samples_s"),
}


def bench_model(name: str, seconds: float, batch: int, infer_batch: int) -> tuple[float, float]:
    make, shape, params, _ = MODELS[name]
    torch.manual_seed(0)
    model = make()
    n = sum(p.numel() for p in model.parameters())
    assert n == params, f"{name}: {n} parameters, CNN Lab's zoo has {params}"
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))
    x_infer = torch.randn(infer_batch, *shape)
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
            model(x_infer)

    infer_s = timed(infer, seconds)
    return batch / train_s, infer_batch / infer_s


def bench_conv(seconds: float, batch: int) -> float:
    torch.manual_seed(0)
    conv = nn.Conv2d(32, 64, 3, padding=1)
    x = torch.randn(batch, 32, 32, 32, requires_grad=True)
    dy = torch.randn(batch, 64, 32, 32)
    params = [x, conv.weight, conv.bias]

    def fwd_bwd():
        torch.autograd.grad(conv(x), params, dy)

    t = timed(fwd_bwd, seconds)
    fwd_flops = 2 * batch * 64 * 32 * 32 * 32 * 9
    return 3 * fwd_flops / t / 1e9


def run(seconds: float, threads: int, batch: int = BATCH, infer_batch: int = INFER_BATCH) -> dict:
    torch.set_num_threads(threads)
    out = {}
    for name, (_, _, _, unit) in MODELS.items():
        print(f"[bench_pytorch] {name} ...", file=sys.stderr, flush=True)
        train, infer = bench_model(name, seconds, batch, infer_batch)
        out[f"{name}_train_{unit}"] = round(train, 1)
        out[f"{name}_infer_{unit}"] = round(infer, 1)
    print("[bench_pytorch] conv 32->64 3x3 fwd+bwd ...", file=sys.stderr, flush=True)
    out["conv_fwd_bwd_gflops"] = round(bench_conv(seconds, batch), 2)
    out["framework"] = "pytorch"
    out["version"] = torch.__version__
    out["torch_version"] = torch.__version__
    out["threads"] = torch.get_num_threads()
    out["interop_threads"] = torch.get_num_interop_threads()
    out["batch"] = batch
    out["infer_batch"] = infer_batch
    out["seconds_per_measurement"] = seconds
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement (default 3)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="torch threads (default: all cores)")
    ap.add_argument("--train-batch", type=int, default=BATCH, help=f"training batch (default {BATCH})")
    ap.add_argument("--infer-batch", type=int, default=INFER_BATCH, help=f"inference batch (default {INFER_BATCH})")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = ap.parse_args()
    r = run(args.seconds, args.threads, args.train_batch, args.infer_batch)
    if args.json:
        print(json.dumps(r))
        return
    print(f"PyTorch {r['torch_version']} CPU float32, {r['threads']} threads, "
          f"training batch {r['batch']}, inference batch {r['infer_batch']}")
    print(f"{'model':<8} {'train /s':>12} {'infer /s':>12}")
    for name, (_, _, _, unit) in MODELS.items():
        print(f"{name:<8} {r[f'{name}_train_{unit}']:>12.1f} {r[f'{name}_infer_{unit}']:>12.1f}")
    print(f"conv 32->64 3x3 on 64x32x32x32, fwd+bwd: {r['conv_fwd_bwd_gflops']:.2f} GFLOP/s")


if __name__ == "__main__":
    main()
