#!/usr/bin/env python3
"""Train projects/gunpoint_conv1d.ron's model in PyTorch, on the same bundled data; print its test accuracy.

    python3 scripts/reference_1d.py [--seeds 1 2 3 4 5] [--epochs 100] [--json]

An independent reference for the lab's GunPoint result (README, "1-D data"): the same
layers (Conv1D 16×7 same + ReLU, MaxPool 2, Conv1D 32×5 same + ReLU, MaxPool 2,
Conv1D 32×3 same + ReLU, global average pooling, Dense 2), Keras's default
initialisation (Glorot-uniform kernels, zero biases), Adam at 0.003 with the lab's
cosine schedule (updated every batch, down to 5%), batches of 10, 100 epochs, no
validation split, the files assets/gunpoint/train.csv and test.csv as they are
(already z-normalised; the lab's ZeroOne normalization leaves sequences unchanged).

Each seed is one run; the lab's run is one seed too, so compare the lab's number
with the spread printed here. Needs torch (see scripts/requirements-reference.txt).
"""

import argparse
import csv
import json
import math
import os
import statistics

import torch
from torch import nn

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def read(name):
    with open(os.path.join(ROOT, "assets", "gunpoint", name), newline="") as f:
        rows = list(csv.reader(f))
    header, rows = rows[0], rows[1:]
    label = header.index("label")
    classes = sorted({r[label] for r in rows})
    x = torch.tensor([[float(v) for i, v in enumerate(r) if i != label] for r in rows])
    y = torch.tensor([classes.index(r[label]) for r in rows])
    return x.unsqueeze(1), y  # (N, C=1, L): the lab's NCL layout


def model():
    net = nn.Sequential(
        nn.Conv1d(1, 16, 7, padding="same"), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(16, 32, 5, padding="same"), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(32, 32, 3, padding="same"), nn.ReLU(),
        nn.AdaptiveAvgPool1d(1), nn.Flatten(),
        nn.Linear(32, 2),
    )
    for m in net:
        if isinstance(m, (nn.Conv1d, nn.Linear)):
            nn.init.xavier_uniform_(m.weight)
            nn.init.zeros_(m.bias)
    return net


def run(seed, epochs, train, test, lr=0.003, batch=10, final_fraction=0.05):
    torch.manual_seed(seed)
    net = model()
    opt = torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.999), eps=1e-7)
    (x, y), (xt, yt) = train, test
    batches = math.ceil(len(x) / batch)
    for epoch in range(epochs):
        order = torch.randperm(len(x))
        net.train()
        for b in range(batches):
            t = (epoch + (b + 1) / batches) / epochs
            low = lr * final_fraction
            for g in opt.param_groups:
                g["lr"] = low + (lr - low) * 0.5 * (1 + math.cos(math.pi * min(t, 1.0)))
            idx = order[b * batch:(b + 1) * batch]
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[idx]), y[idx]).backward()
            opt.step()
    net.eval()
    with torch.no_grad():
        return (net(xt).argmax(1) == yt).float().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(2)
    train, test = read("train.csv"), read("test.csv")
    accuracies = [run(s, args.epochs, train, test) for s in args.seeds]
    if args.json:
        print(json.dumps({"seeds": args.seeds, "test_accuracy": accuracies,
                          "mean": statistics.mean(accuracies)}))
        return
    for s, a in zip(args.seeds, accuracies):
        print("seed %d: test accuracy %.4f" % (s, a))
    print("mean %.4f, min %.4f, max %.4f over %d seeds"
          % (statistics.mean(accuracies), min(accuracies), max(accuracies), len(accuracies)))


if __name__ == "__main__":
    main()
