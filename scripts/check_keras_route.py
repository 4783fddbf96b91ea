#!/usr/bin/env python3
"""The Keras route checked with a real Keras 3 (by hand, not in CI; README "Models in and out").

1. exports the trained projects/pretrained/mnist_lenet.ron with `cnn-lab export --format keras`,
2. loads weights.npz through train.py's build_model() / load_weights() and compares Keras's
   probabilities with `cnn-lab predict --json` on the first 100 MNIST test digits,
3. trains 1 epoch with `python train.py --epochs 1`, brings trained_weights.npz back with
   `cnn-lab import-weights`, and compares again on the same digits.

    pip install keras torch numpy          # or tensorflow-cpu / jax instead of torch
    KERAS_BACKEND=torch scripts/check_keras_route.py
    KERAS_BACKEND=torch scripts/check_keras_route.py --projects   # also: every bundled project's
        # Keras export against its ONNX export run by ONNX Runtime (pip install onnxruntime)
    CNN_LAB=target/release/cnn-lab ...     # a built binary (default: cargo run -q --)
"""
import gzip
import importlib.util
import json
import os
import pathlib
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
N = 100


def cnn_lab(*args):
    command = os.environ.get("CNN_LAB")
    prefix = [command] if command else ["cargo", "run", "-q", "--"]
    out = subprocess.run(prefix + list(args), cwd=ROOT, check=True, capture_output=True, text=True)
    return out.stdout


def png(path, image):
    """A grayscale PNG, written without any imaging library."""
    h, w = image.shape
    raw = b"".join(b"\0" + image[y].tobytes() for y in range(h))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def lab_probabilities(experiment, images):
    result = json.loads(cnn_lab("predict", str(experiment), *map(str, images), "--json"))
    return np.array([p["probabilities"] for p in result["predictions"]], dtype=np.float64)


def keras_probabilities(train, weights, x):
    model = train.build_model()
    train.load_weights(model, weights)
    out = np.asarray(model.predict(train.normalize(x), verbose=0), dtype=np.float64)
    return out if train.ENDS_IN_SOFTMAX else softmax(out)


def compare_projects(work):
    """Each bundled project's train.py model (its weights.npz) against ONNX Runtime running the
    same project's ONNX export, on 16 test images of its own data."""
    import onnxruntime as ort

    worst = 0.0
    for project in sorted((ROOT / "projects").glob("*.ron")):
        if "transfer" in project.name:
            continue  # its Keras export trains all layers from the transferred start alike
        out = work / project.stem
        cnn_lab("export", str(project), "--format", "keras", "--out", str(out))
        cnn_lab("export", str(project), "--out", str(out / "model.onnx"))
        spec = importlib.util.spec_from_file_location(f"train_{project.stem}", out / "train.py")
        train = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(train)
        (_, _), (x_test, _) = train.load_data()
        x = train.normalize(x_test[:16])
        keras_probs = keras_probabilities(train, out / "weights.npz", x_test[:16])
        session = ort.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
        onnx_probs = session.run(None, {"input": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})[0]
        diff = np.abs(keras_probs - onnx_probs).max()
        worst = max(worst, diff)
        print(f"{project.name}: Keras vs ONNX Runtime, 16 images: max |difference| {diff:.2e}")
    return worst <= 1e-4


def main():
    work = pathlib.Path(tempfile.mkdtemp(prefix="keras-route-"))
    lenet = work / "mnist_lenet.ron"
    shutil.copy(ROOT / "projects" / "pretrained" / "mnist_lenet.ron", lenet)
    out = work / "keras"
    cnn_lab("export", str(lenet), "--format", "keras", "--out", str(out))
    spec = importlib.util.spec_from_file_location("train", out / "train.py")
    train = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(train)
    import keras

    with gzip.open(ROOT / "assets" / "mnist" / "test-images-idx3-ubyte.gz") as f:
        digits = np.frombuffer(f.read(), dtype=np.uint8, offset=16)[: N * 784].reshape(N, 28, 28)
    images = []
    for i, d in enumerate(digits):
        images.append(work / f"digit{i:03}.png")
        png(images[-1], d)
    x = digits.reshape(N, 28, 28, 1)

    lab = lab_probabilities(lenet, images)
    ker = keras_probabilities(train, out / "weights.npz", x)
    before = np.abs(lab - ker).max()
    agree = (lab.argmax(1) == ker.argmax(1)).mean()
    print(f"Keras {keras.__version__} ({keras.backend.backend()}): exported weights, {N} digits: "
          f"max |difference| {before:.2e}, same top class {agree:.0%}")

    start = time.time()
    subprocess.run([sys.executable, str(out / "train.py"), "--epochs", "1"], check=True, cwd=out)
    seconds = time.time() - start
    back = work / "back.ron"
    cnn_lab("import-weights", str(lenet), str(out / "trained_weights.npz"), "--out", str(back))
    lab2 = lab_probabilities(back, images)
    ker2 = keras_probabilities(train, out / "trained_weights.npz", x)
    after = np.abs(lab2 - ker2).max()
    accuracy = json.loads(cnn_lab("eval", str(back), "--json"))["accuracy"]
    print(f"1 epoch in Keras ({seconds:.0f} s), imported back: max |difference| {after:.2e}, "
          f"cnn-lab eval accuracy {accuracy:.4f}")
    ok = before <= 1e-4 and after <= 1e-4
    if "--projects" in sys.argv:
        ok = compare_projects(work) and ok
    print("OK" if ok else "FAILED: differences above 1e-4")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
