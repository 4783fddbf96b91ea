#!/usr/bin/env python3
"""Compare the matrix-multiply paths on this machine in one interleaved run.

    python3 scripts/compare_isa.py [--binary target/release/cnn-lab] [--seconds 2] [--rounds 3]

Runs `cnn-lab bench --json` once per path (`CNN_LAB_ISA=avx512|avx2|portable`) per round,
alternating, and prints the median of each figure as a Markdown table with the CPU, the FMA
peak at each path's width and the load average. Paths the CPU cannot run are left out (the
binary would fall back and say so). The machine may be shared: compare ratios within one run.
"""

import argparse
import json
import os
import statistics
import subprocess

PATHS = ["avx512", "avx2", "portable"]
FIGURES = [
    ("lenet train img/s", "lenet_train_img_s", "{:,.0f}"),
    ("lenet infer img/s", "lenet_infer_img_s", "{:,.0f}"),
    ("cifar train img/s", "cifar_train_img_s", "{:,.0f}"),
    ("cifar infer img/s", "cifar_infer_img_s", "{:,.0f}"),
    ("cifar train GFLOP/s", "cifar_train_gflops", "{:.1f}"),
    ("conv fwd+bwd GFLOP/s", "conv_fwd_bwd_gflops", "{:.1f}"),
    ("conv share of peak", "conv_fwd_bwd_peak_share", "{:.0%}"),
    ("FMA peak GFLOP/s", "fma_peak_gflops", "{:.0f}"),
]


def bench(binary, path, seconds):
    env = dict(os.environ, CNN_LAB_ISA=path)
    out = subprocess.run(
        [binary, "bench", "--seconds", str(seconds), "--json"],
        env=env, check=True, capture_output=True, text=True,
    )
    report = json.loads(out.stdout)
    if report["isa"] != path:
        return None  # the CPU cannot run this path; the binary fell back
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--binary", default="target/release/cnn-lab")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    runs = {path: [] for path in PATHS}
    loads = []
    cpu = "unknown"
    for round_ in range(args.rounds):
        for path in PATHS:
            report = bench(args.binary, path, args.seconds)
            if report is None:
                continue
            runs[path].append(report)
            cpu = report.get("cpu") or cpu
            if report.get("load_average"):
                loads.append(report["load_average"][0])
            print(f"round {round_ + 1} {path}: cifar train {report['cifar_train_img_s']:.0f} img/s")
    paths = [p for p in PATHS if runs[p]]
    print()
    print(f"CPU: {cpu}; medians of {args.rounds} interleaved rounds, {args.seconds} s each; "
          f"1-minute load average {min(loads, default=0):.1f}–{max(loads, default=0):.1f}")
    print()
    print("| | " + " | ".join(paths) + " |")
    print("|---|" + "---:|" * len(paths))
    for label, key, fmt in FIGURES:
        cells = [fmt.format(statistics.median(r[key] for r in runs[p])) for p in paths]
        print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
