#!/usr/bin/env python3
"""ONNX Runtime references for tests/onnx_export.rs (run by hand; `cargo test` needs no Python).

Has the Rust test write every exported model (probabilities and logits) and its real input
images, runs each with ONNX Runtime, checks it with onnx.checker, and writes
tests/fixtures/onnx/<name>.json: the outputs, the fingerprints of the graphs it ran and the
FNV-1a of the inputs.

    pip install onnx onnxruntime numpy
    scripts/onnx_reference.py            # from the repository root
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import onnx
import onnxruntime as ort

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "onnx"


def fnv(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h ^= b
        h = (h * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def run(path: pathlib.Path, x: np.ndarray) -> np.ndarray:
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def main() -> None:
    work = pathlib.Path(tempfile.mkdtemp(prefix="onnx-ref-"))
    env = dict(os.environ, ONNX_REF_DIR=str(work))
    subprocess.run(
        ["cargo", "test", "--test", "onnx_export", "--", "--ignored", "write_reference_inputs"],
        cwd=ROOT, env=env, check=True,
    )
    OUT.mkdir(parents=True, exist_ok=True)
    for shape_file in sorted(work.glob("*.shape.json")):
        name = shape_file.name[: -len(".shape.json")]
        shape = json.loads(shape_file.read_text())
        raw = (work / f"{name}.input.f32").read_bytes()
        x = np.frombuffer(raw, dtype="<f4").reshape(shape)
        probs_path, logits_path = work / f"{name}.onnx", work / f"{name}_logits.onnx"
        probs, logits = run(probs_path, x), run(logits_path, x)
        # Each of the batch, run alone, gives the same (the batch dimension is dynamic).
        single = run(probs_path, x[:1])
        assert np.allclose(single[0], probs[0], atol=1e-6), name
        record = {
            "onnxruntime": ort.__version__,
            # The Rust side's fingerprint of the graph it wrote (metadata and version aside).
            "onnx_fingerprint": (work / f"{name}.fingerprint").read_text(),
            "logits_fingerprint": (work / f"{name}_logits.fingerprint").read_text(),
            "input_fnv": fnv(raw),
            "probabilities": [[float(v) for v in row] for row in probs],
            "logits": [[float(v) for v in row] for row in logits],
        }
        (OUT / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
        print(f"{name}: {probs.shape} probabilities, max {probs.max():.4f}")


if __name__ == "__main__":
    sys.exit(main())
