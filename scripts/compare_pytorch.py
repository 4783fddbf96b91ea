#!/usr/bin/env python3
"""Compare ``cnn-lab bench`` with PyTorch on this machine; print a markdown table.

    python3 scripts/compare_pytorch.py [--seconds S] [--binary target/release/cnn-lab] [--rounds R]

Runs ``<binary> bench --json --seconds S`` and ``scripts/bench_pytorch.py --json
--seconds S`` alternately (Rust, PyTorch, Rust, PyTorch, ... R rounds), because
the machine is noisy, and takes the median of each metric. Both print one JSON
object with the keys lenet_train_img_s, lenet_infer_img_s, cifar_train_img_s,
cifar_infer_img_s and conv_fwd_bwd_gflops. The output (machine line + table)
is ready to paste into the README.

If the binary is missing or its ``bench`` command fails, says so, prints the
PyTorch column alone and exits with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH_PYTORCH = Path(__file__).resolve().parent / "bench_pytorch.py"

METRICS = [
    ("lenet_train_img_s", "LeNet training (images/s)"),
    ("lenet_infer_img_s", "LeNet inference (images/s)"),
    ("cifar_train_img_s", "CIFAR CNN training (images/s)"),
    ("cifar_infer_img_s", "CIFAR CNN inference (images/s)"),
    ("conv_fwd_bwd_gflops", "Conv 32→64 3×3 fwd+bwd (GFLOP/s)"),
]
TIMEOUT_S = 1800


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


def last_json_object(text: str) -> dict:
    """The last line of `text` that parses as a JSON object (or the whole text)."""
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                obj = json.loads(line)
                if isinstance(obj, dict):
                    return obj
            except json.JSONDecodeError:
                pass
    obj = json.loads(text)
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    return obj


def run_json(cmd: list[str], label: str) -> tuple[dict | None, str]:
    """Run cmd, return (parsed JSON object or None, error message)."""
    print(f"[compare] {label}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S)
    except FileNotFoundError as e:
        return None, f"cannot run {cmd[0]}: {e}"
    except subprocess.TimeoutExpired:
        return None, f"{label} did not finish within {TIMEOUT_S} s"
    if p.returncode != 0:
        tail = "\n".join((p.stderr or p.stdout).strip().splitlines()[-8:])
        return None, f"{label} exited with status {p.returncode}:\n{tail}"
    try:
        obj = last_json_object(p.stdout)
    except (ValueError, json.JSONDecodeError):
        return None, f"{label} printed no JSON object on stdout:\n{p.stdout.strip()[-800:]}"
    missing = [k for k, _ in METRICS if not isinstance(obj.get(k), (int, float))]
    if missing:
        return None, f"{label} JSON lacks numeric keys: {', '.join(missing)}"
    return obj, ""


def median_of(runs: list[dict], key: str) -> float | None:
    vals = [float(r[key]) for r in runs if isinstance(r.get(key), (int, float))]
    return statistics.median(vals) if vals else None


def fmt(v: float | None, key: str) -> str:
    if v is None:
        return "n/a"
    return f"{v:.1f}" if key == "conv_fwd_bwd_gflops" or v < 100 else f"{v:,.0f}"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement (default 3)")
    ap.add_argument("--binary", default="target/release/cnn-lab", help="CNN Lab binary (relative to the repo root)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds of each (default 2)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="PyTorch threads (default: all cores)")
    args = ap.parse_args()

    binary = Path(args.binary)
    if not binary.is_absolute():
        binary = ROOT / binary
    rust_error = ""
    if not binary.is_file() or not os.access(binary, os.X_OK):
        rust_error = (
            f"CNN Lab binary not found at {binary}.\n"
            "Build it first: cargo build --release (or pass --binary PATH)."
        )

    rust_runs: list[dict] = []
    torch_runs: list[dict] = []
    torch_cmd = [sys.executable, str(BENCH_PYTORCH), "--json", "--seconds", str(args.seconds),
                 "--threads", str(args.threads)]
    rust_cmd = [str(binary), "bench", "--json", "--seconds", str(args.seconds)]
    for r in range(args.rounds):
        if not rust_error:
            obj, err = run_json(rust_cmd, f"CNN Lab (round {r + 1}/{args.rounds})")
            if obj is None:
                rust_error = err
            else:
                rust_runs.append(obj)
        obj, err = run_json(torch_cmd, f"PyTorch (round {r + 1}/{args.rounds})")
        if obj is None:
            print(f"error: {err}", file=sys.stderr)
            return 2
        torch_runs.append(obj)

    if rust_error:
        print(f"\n*** {rust_error}\n*** Showing PyTorch only.\n", file=sys.stderr)

    cores = os.cpu_count()
    torch_version = torch_runs[0].get("torch_version", "?")
    torch_threads = torch_runs[0].get("threads", args.threads)
    rust_threads = rust_runs[0].get("threads") if rust_runs else None
    machine = f"{cpu_model()}, {cores} cores, {platform.system()} {platform.machine()}"
    print(f"Machine: {machine}  ")
    threads_note = f"CNN Lab {rust_threads} threads, " if rust_threads is not None else ""
    print(
        f"Float32, batch 64, {threads_note}PyTorch {torch_version} with {torch_threads} threads; "
        f"median of {args.rounds} alternating runs of {args.seconds:g} s per measurement."
    )
    print()
    print("| metric | CNN Lab | PyTorch | ratio |")
    print("|---|---:|---:|---:|")
    for key, label in METRICS:
        ours = median_of(rust_runs, key)
        theirs = median_of(torch_runs, key)
        ratio = f"{ours / theirs:.2f}×" if ours is not None and theirs else "n/a"
        print(f"| {label} | {fmt(ours, key)} | {fmt(theirs, key)} | {ratio} |")
    print()
    print("Ratio = CNN Lab / PyTorch (higher is better for CNN Lab).")
    return 1 if rust_error else 0


if __name__ == "__main__":
    sys.exit(main())
