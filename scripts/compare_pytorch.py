#!/usr/bin/env python3
"""Compare ``cnn-lab bench`` with PyTorch and Keras/TensorFlow on this machine; print a markdown table.

    python3 scripts/compare_pytorch.py [--seconds S] [--rounds R] [--threads T]   # all optional
        [--frameworks pytorch,keras] [--keras-step keras|function] [--inter-op 1]
        [--omp-wait-policy active|passive] [--binary target/release/cnn-lab] [--json OUT]

Runs ``<binary> bench --json --seconds S``, ``scripts/bench_pytorch.py --json`` and
``scripts/bench_keras.py --json`` (Keras 3 on the TensorFlow backend; its training step is
``model.train_on_batch``, what Keras users get, unless --keras-step function) one after the other,
alternating (CNN Lab, PyTorch, Keras, CNN Lab, PyTorch, ... for R rounds, default 3) because
the machine is noisy, and takes the median of each metric. Never two at once. Every
subprocess gets the same environment: OMP_NUM_THREADS, MKL_NUM_THREADS,
OPENBLAS_NUM_THREADS, RAYON_NUM_THREADS (CNN Lab) and TF_NUM_INTRAOP_THREADS = T,
TF_NUM_INTEROP_THREADS = --inter-op (default 1), KERAS_BACKEND=tensorflow; the Python
benches also get --threads T (torch.set_num_threads, TensorFlow's intra-op pool).

A busy machine: PyTorch's OpenMP threads spin at every barrier, so when another process
takes a core its figures collapse (one check on a shared 2-core machine at load average 5:
LeNet training at 2 threads 140 images/s, at 1 thread 5,500, at 2 threads with
OMP_WAIT_POLICY=PASSIVE 5,400), while CNN Lab (rayon) and TensorFlow (Eigen's pool) lose
far less. The caption warns when the load average at the start exceeds half the cores;
``--omp-wait-policy passive`` (OMP_WAIT_POLICY for every subprocess) makes PyTorch robust to
that (its cost on an idle machine is not measured). Compare on an idle machine.

Batch sizes: the Python benches are run at the batches CNN Lab's JSON reports (``batch`` for
training and the conv layer, ``infer_batch`` for inference). A CNN Lab binary whose JSON has
no ``infer_batch`` measures inference at its training batch (64); the Python benches then do
the same and the caption says so (the issue's cifar inference target is at batch 256).

Prints a machine line (CPU model, avx512f / avx2 / fma, CNN Lab's kernel path and measured
FMA peak, load average, framework versions), then a table with each metric's medians, the
ratios CNN Lab / PyTorch and CNN Lab / TF, and issue 16's targets with pass / miss:
cifar training >= 1.5x PyTorch and TF; cifar inference >= 1.0x TF (at batch 256); LeNet
training and inference >= 2x both; conv 32->64 fwd+bwd >= 1.3x both; cifar training >= 50%
of the measured FMA peak. Ready to paste into the README (it is one machine's figures).

A framework that cannot run (not installed, import fails, the binary is missing) gets "n/a"
with the reason under the table and the rest goes on; the exit status is then 1.
``--json OUT`` writes every round's raw JSON, the medians and the targets. The binary:
--binary, else $CNN_LAB, else target/release/cnn-lab under the repository.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = Path(__file__).resolve().parent

# key, label, required in every JSON (signals came later than the others)
METRICS = [
    ("lenet_train_img_s", "LeNet training (images/s)", True),
    ("lenet_infer_img_s", "LeNet inference (images/s)", True),
    ("cifar_train_img_s", "CIFAR CNN training (images/s)", True),
    ("cifar_infer_img_s", "CIFAR CNN inference (images/s)", True),
    ("signals_train_samples_s", "Signals 1-D training (sequences/s)", False),
    ("signals_infer_samples_s", "Signals 1-D inference (sequences/s)", False),
    ("conv_fwd_bwd_gflops", "Conv 32→64 3×3 fwd+bwd (GFLOP/s)", True),
]
PEAK_SHARE_KEY = "cifar_train_peak_share"
PEAK_SHARE_TARGET = 0.5

# framework id -> (column label, short name for the ratio column, script)
FRAMEWORKS = {
    "pytorch": ("PyTorch", "PyTorch", SCRIPTS / "bench_pytorch.py"),
    "keras": ("Keras/TF", "TF", SCRIPTS / "bench_keras.py"),
}
# Issue 16's targets: metric -> {framework: minimum ratio CNN Lab / framework}
TARGETS = {
    "lenet_train_img_s": {"pytorch": 2.0, "keras": 2.0},
    "lenet_infer_img_s": {"pytorch": 2.0, "keras": 2.0},
    "cifar_train_img_s": {"pytorch": 1.5, "keras": 1.5},
    "cifar_infer_img_s": {"keras": 1.0},
    "conv_fwd_bwd_gflops": {"pytorch": 1.3, "keras": 1.3},
}
DEFAULT_BATCH = 64
DEFAULT_INFER_BATCH = 256
TIMEOUT_S = 1800


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return " ".join(line.split(":", 1)[1].split())
    except OSError:
        pass
    return platform.processor() or platform.machine()


def cpu_flags() -> set[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def load_average() -> list[float] | None:
    try:
        return [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return None


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


def run_json(cmd: list[str], label: str, env: dict) -> tuple[dict | None, str]:
    """Run cmd to completion (nothing else runs meanwhile); (parsed JSON object or None, error)."""
    print(f"[compare] {label}: {' '.join(cmd)}", file=sys.stderr, flush=True)
    try:
        p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, env=env)
    except FileNotFoundError as e:
        return None, f"cannot run {cmd[0]}: {e}"
    except subprocess.TimeoutExpired:
        return None, f"did not finish within {TIMEOUT_S} s"
    if p.returncode != 0:
        lines = [ln for ln in (p.stderr or p.stdout).strip().splitlines() if ln.strip()]
        tail = "\n".join(lines[-8:])
        print(f"[compare] {label} failed (status {p.returncode}):\n{tail}", file=sys.stderr)
        reason = lines[-1].strip() if lines else ""
        return None, f"exited with status {p.returncode}" + (f": {reason}" if reason else "")
    try:
        obj = last_json_object(p.stdout)
    except (ValueError, json.JSONDecodeError):
        return None, f"printed no JSON object on stdout: {p.stdout.strip()[-300:]!r}"
    missing = [k for k, _, required in METRICS if required and not isinstance(obj.get(k), (int, float))]
    if missing:
        return None, f"JSON lacks numeric keys: {', '.join(missing)}"
    return obj, ""


def median_of(runs: list[dict], key: str) -> float | None:
    vals = [float(r[key]) for r in runs if isinstance(r.get(key), (int, float))]
    return statistics.median(vals) if vals else None


def fmt(v: float | None, key: str) -> str:
    if v is None:
        return "n/a"
    return f"{v:.1f}" if key == "conv_fwd_bwd_gflops" or v < 100 else f"{v:,.0f}"


def ratio(ours: float | None, theirs: float | None) -> float | None:
    return ours / theirs if ours is not None and theirs else None


def fmt_ratio(r: float | None) -> str:
    return f"{r:.2f}×" if r is not None else "n/a"


def judge(key: str, ratios: dict[str, float | None], shorts: dict[str, str]) -> tuple[str, str, dict]:
    """(target text, verdict, details) for one metric; ('', '', {}) when it has no target."""
    need = TARGETS.get(key)
    if not need:
        return "", "", {}
    levels = sorted(set(need.values()))
    names = [shorts[f] for f in need]
    target = " ".join(f"≥ {lv:g}×" for lv in levels) + " " + (
        "both" if len(need) == 2 else " and ".join(names))
    passed, missed, unknown = [], [], []
    for fw, level in need.items():
        r = ratios.get(fw)
        if r is None:
            unknown.append(shorts[fw])
        elif r >= level:
            passed.append(shorts[fw])
        else:
            missed.append(shorts[fw])
    if missed:
        verdict = "**miss** (" + ", ".join(f"vs {n}" for n in missed) + ")"
    elif not passed:
        verdict = "n/a"
    elif unknown:
        verdict = "pass vs " + ", ".join(passed) + " (" + ", ".join(unknown) + " n/a)"
    else:
        verdict = "pass"
    return target, verdict, {"target": need, "passed": passed, "missed": missed, "unknown": unknown}


# Environment variables that keep each framework to one instruction set (`--isa`).
ISA_LIMITS = {
    "avx2": {
        "CNN_LAB_ISA": "avx2",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "DNNL_MAX_CPU_ISA": "AVX2",
        "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_ENABLE_INSTRUCTIONS": "AVX2",
    },
}


def bench_env(threads: int, inter_op: int) -> dict:
    env = dict(os.environ)
    env.update({
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "OPENBLAS_NUM_THREADS": str(threads),
        "RAYON_NUM_THREADS": str(threads),
        "TF_NUM_INTRAOP_THREADS": str(threads),
        "TF_NUM_INTEROP_THREADS": str(inter_op),
        "KERAS_BACKEND": "tensorflow",
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONUNBUFFERED": "1",
    })
    return env


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement (default 3)")
    ap.add_argument("--binary", default=os.environ.get("CNN_LAB", "target/release/cnn-lab"),
                    help="CNN Lab binary, relative to the repo root (default: $CNN_LAB, else "
                         "target/release/cnn-lab)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of each (default 3)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(),
                    help="threads for every framework (default: all cores)")
    ap.add_argument("--inter-op", type=int, default=1, help="TensorFlow inter-op threads (default 1)")
    ap.add_argument("--keras-step", choices=["keras", "function"], default="keras",
                    help="bench_keras.py --step: keras = train_on_batch / predict_on_batch (default), "
                         "function = hand-written tf.function steps")
    ap.add_argument("--frameworks", default="pytorch,keras",
                    help="comma-separated, from: pytorch, keras (default: both)")
    ap.add_argument("--omp-wait-policy", choices=["active", "passive"],
                    help="set OMP_WAIT_POLICY for every subprocess (default: leave it unset)")
    ap.add_argument("--json", metavar="OUT", help="also write every round's numbers and the medians here")
    ap.add_argument("--isa", choices=sorted(ISA_LIMITS),
                    help="limit every framework to one instruction set, to stand in for a CPU "
                         "without AVX-512: CNN Lab via CNN_LAB_ISA, oneDNN (TensorFlow's and "
                         "PyTorch's convolutions) via ONEDNN_MAX_CPU_ISA, PyTorch's own kernels via "
                         "ATEN_CPU_CAPABILITY, MKL via MKL_ENABLE_INSTRUCTIONS (default: no limit)")
    args = ap.parse_args()

    frameworks = [f.strip().lower() for f in args.frameworks.split(",") if f.strip()]
    unknown = [f for f in frameworks if f not in FRAMEWORKS]
    if unknown:
        ap.error(f"unknown framework(s): {', '.join(unknown)} (choose from {', '.join(FRAMEWORKS)})")
    shorts = {f: FRAMEWORKS[f][1] for f in FRAMEWORKS}

    binary = Path(args.binary)
    if not binary.is_absolute():
        binary = ROOT / binary
    errors: dict[str, str] = {}
    if not binary.is_file() or not os.access(binary, os.X_OK):
        errors["cnnlab"] = (f"binary not found at {binary}; build it first: cargo build --release "
                            "(or pass --binary PATH)")

    env = bench_env(args.threads, args.inter_op)
    if args.omp_wait_policy:
        env["OMP_WAIT_POLICY"] = args.omp_wait_policy.upper()
    if args.isa:
        env.update(ISA_LIMITS[args.isa])
    load_start = load_average()
    runs: dict[str, list[dict]] = {"cnnlab": [], **{f: [] for f in frameworks}}
    loads: dict[str, list] = {"cnnlab": [], **{f: [] for f in frameworks}}
    batch, infer_batch, rust_has_infer_batch = DEFAULT_BATCH, DEFAULT_INFER_BATCH, None
    rust_cmd = [str(binary), "bench", "--json", "--seconds", str(args.seconds)]
    t_start = time.time()
    for r in range(args.rounds):
        tag = f"round {r + 1}/{args.rounds}"
        if "cnnlab" not in errors:
            loads["cnnlab"].append(load_average())
            obj, err = run_json(rust_cmd, f"CNN Lab ({tag})", env)
            if obj is None:
                errors["cnnlab"] = err
            else:
                runs["cnnlab"].append(obj)
                if rust_has_infer_batch is None:  # the first CNN Lab run sets the batches
                    batch = int(obj.get("batch", DEFAULT_BATCH))
                    rust_has_infer_batch = isinstance(obj.get("infer_batch"), int)
                    infer_batch = int(obj["infer_batch"]) if rust_has_infer_batch else batch
        for fw in frameworks:
            if fw in errors:
                continue
            label, _, script = FRAMEWORKS[fw]
            cmd = [sys.executable, str(script), "--json", "--seconds", str(args.seconds),
                   "--threads", str(args.threads), "--train-batch", str(batch),
                   "--infer-batch", str(infer_batch)]
            if fw == "keras":
                cmd += ["--inter-op", str(args.inter_op), "--step", args.keras_step]
            loads[fw].append(load_average())
            obj, err = run_json(cmd, f"{label} ({tag})", env)
            if obj is None:
                errors[fw] = err
            else:
                runs[fw].append(obj)
    elapsed = time.time() - t_start
    load_end = load_average()

    # ---- medians and ratios
    medians = {name: {k: median_of(rs, k) for k, _, _ in METRICS} for name, rs in runs.items()}
    medians["cnnlab"][PEAK_SHARE_KEY] = median_of(runs["cnnlab"], PEAK_SHARE_KEY)
    medians["cnnlab"]["fma_peak_gflops"] = median_of(runs["cnnlab"], "fma_peak_gflops")

    # ---- machine line
    flags = cpu_flags()
    rust0 = runs["cnnlab"][0] if runs["cnnlab"] else {}
    isa_bits = ", ".join(f"{f} {'yes' if f in flags else 'no'}" for f in ("avx512f", "avx2", "fma"))
    peak = medians["cnnlab"]["fma_peak_gflops"]
    rust_part = (f"CNN Lab kernel path {rust0.get('isa', '?')}, FMA peak {peak:.0f} GFLOP/s"
                 if rust0 and peak is not None else "CNN Lab n/a")
    versions = []
    if "pytorch" in frameworks:
        pt = runs["pytorch"][0] if runs["pytorch"] else None
        versions.append(f"PyTorch {pt.get('version', '?')}" if pt else "PyTorch n/a")
    if "keras" in frameworks:
        kr = runs["keras"][0] if runs["keras"] else None
        versions.append(
            f"TensorFlow {kr.get('tensorflow_version', '?')} / Keras {kr.get('version', '?')}"
            f" (oneDNN {'on' if kr.get('onednn') else 'off' if kr.get('onednn') is False else '?'},"
            f" jit_compile {kr.get('jit_compile')}, {kr.get('train_step')} / {kr.get('infer_step')})"
            if kr else "TensorFlow/Keras n/a")
    la = lambda v: " ".join(f"{x:.2f}" for x in v) if v else "?"  # noqa: E731
    print(f"Machine: {cpu_model()}, {os.cpu_count()} cores ({isa_bits}), {platform.system()} "
          f"{platform.machine()}; {rust_part}; load average {la(load_start)} at start, "
          f"{la(load_end)} at end; {', '.join(versions)}.  ")
    threads_seen = {
        name: rs[0].get("threads") for name, rs in runs.items() if rs and rs[0].get("threads") is not None
    }
    threads_note = ", ".join(
        f"{'CNN Lab' if n == 'cnnlab' else FRAMEWORKS[n][0]} {t}" for n, t in threads_seen.items())
    if rust_has_infer_batch is False:
        batch_note = (f"training batch {batch}, inference batch {infer_batch}: this CNN Lab binary's "
                      f"JSON has no `infer_batch`, so its inference is at batch {batch} and every "
                      f"framework's inference was measured at batch {batch} (the issue's cifar "
                      f"inference target is at batch {DEFAULT_INFER_BATCH})")
    elif rust_has_infer_batch is None:
        batch_note = (f"training batch {batch}, inference batch {infer_batch} (CNN Lab did not run; "
                      "the Python defaults)")
    else:
        batch_note = f"training batch {batch}, inference batch {infer_batch}"
    wait_note = f"; OMP_WAIT_POLICY={env['OMP_WAIT_POLICY']}" if args.omp_wait_policy else ""
    if args.isa:
        wait_note += (f"; every framework limited to {args.isa.upper()} ("
                      + ", ".join(f"{k}={v}" for k, v in ISA_LIMITS[args.isa].items()) + ")")
    print(f"Float32, {batch_note}; threads: {threads_note or args.threads}"
          f"{f' (TF inter-op {args.inter_op})' if 'keras' in frameworks else ''}; "
          f"median of {args.rounds} alternating rounds of {args.seconds:g} s per measurement "
          f"({elapsed / 60:.1f} min in all)"
          f"{wait_note}.")
    cores = os.cpu_count() or 1
    if load_start and load_start[0] > 0.5 * cores:
        spin = ("; PyTorch's OpenMP threads lose most from that (they spin at barriers"
                f"{'' if args.omp_wait_policy else '; see --omp-wait-policy passive'})"
                if "pytorch" in frameworks else "")
        print()
        print(f"**Busy machine**: load average {load_start[0]:.2f} on {cores} cores before the first "
              f"run: other processes took CPU time{spin}. Do not quote these figures; rerun on an "
              "idle machine.")
    print()

    # ---- table
    cols = ["metric", "CNN Lab"] + [FRAMEWORKS[f][0] for f in frameworks] + \
        [f"ratio vs {shorts[f]}" for f in frameworks] + ["target", "met?"]
    print("| " + " | ".join(cols) + " |")
    print("|---|" + "---:|" * (1 + 2 * len(frameworks)) + "---|---|")
    verdicts = {}
    for key, label, _ in METRICS:
        ours = medians["cnnlab"][key]
        theirs = {f: medians[f][key] for f in frameworks}
        ratios = {f: ratio(ours, theirs[f]) for f in frameworks}
        if all(v is None for v in [ours, *theirs.values()]):
            continue  # e.g. signals with binaries and benches that lack it
        target, verdict, detail = judge(key, {f: ratios.get(f) for f in FRAMEWORKS}, shorts)
        if detail:
            verdicts[key] = {"ratios": ratios, "verdict": verdict, **detail}
        if key == "cifar_infer_img_s" and rust_has_infer_batch is False:
            target += f" (at batch {DEFAULT_INFER_BATCH}; measured at {infer_batch})"
        cells = [label, fmt(ours, key)] + [fmt(theirs[f], key) for f in frameworks] + \
            [fmt_ratio(ratios[f]) for f in frameworks] + [target, verdict]
        print("| " + " | ".join(cells) + " |")
    share = medians["cnnlab"][PEAK_SHARE_KEY]
    if share is None:
        share_verdict = "n/a"
    else:
        share_verdict = "pass" if share >= PEAK_SHARE_TARGET else "**miss**"
    verdicts[PEAK_SHARE_KEY] = {"value": share, "target": PEAK_SHARE_TARGET, "verdict": share_verdict}
    cells = ["CIFAR CNN training, share of FMA peak", "n/a" if share is None else f"{share:.0%}"] + \
        [""] * (2 * len(frameworks)) + [f"≥ {PEAK_SHARE_TARGET:.0%}", share_verdict]
    print("| " + " | ".join(cells) + " |")
    print()
    print("Ratio = CNN Lab / framework (higher is better for CNN Lab).")
    for name, err in errors.items():
        label = "CNN Lab" if name == "cnnlab" else FRAMEWORKS[name][0]
        print(f"{label}: n/a, {err}")

    if args.json:
        out = {
            "machine": {
                "cpu": cpu_model(), "cores": os.cpu_count(),
                "flags": {f: f in flags for f in ("avx512f", "avx2", "fma")},
                "isa": rust0.get("isa"), "fma_peak_gflops": peak,
                "load_average_start": load_start, "load_average_end": load_end,
                "python": sys.version.split()[0], "platform": platform.platform(),
            },
            "args": vars(args),
            "env": {k: env.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                            "RAYON_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
                                            "TF_NUM_INTEROP_THREADS", "KERAS_BACKEND", "OMP_WAIT_POLICY",
                                            *ISA_LIMITS.get(args.isa or "", {}))},
            "batch": batch, "infer_batch": infer_batch,
            "cnnlab_reports_infer_batch": rust_has_infer_batch,
            "order": ["cnnlab", *frameworks],
            "runs": runs, "load_average_before_run": loads,
            "medians": medians, "targets": verdicts, "errors": errors,
            "elapsed_s": round(elapsed, 1),
        }
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
        print(f"[compare] wrote {args.json}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
