#!/usr/bin/env python3
"""ONNX Runtime references for tests/onnx_export_1d.rs (sequence models; run by hand).

Like scripts/onnx_reference.py (whose helpers it uses): has the Rust test write every exported
sequence model and its input, runs each with ONNX Runtime after onnx.checker, and writes
tests/fixtures/onnx/<name>.json.

    pip install onnx onnxruntime numpy
    scripts/onnx_reference_1d.py         # from the repository root
"""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import numpy as np
import onnxruntime as ort

from onnx_reference import OUT, ROOT, fnv, run


def main() -> None:
    work = pathlib.Path(tempfile.mkdtemp(prefix="onnx-ref-1d-"))
    env = dict(os.environ, ONNX_REF_DIR=str(work))
    subprocess.run(
        ["cargo", "test", "--locked", "--test", "onnx_export_1d", "--", "--ignored", "write_reference_inputs"],
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
        single = run(probs_path, x[:1])
        assert np.allclose(single[0], probs[0], atol=1e-6), name
        record = {
            "onnxruntime": ort.__version__,
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
