#!/usr/bin/env python3
"""ONNX models from other tools, for tests/onnx_import.rs (run by hand; `cargo test` needs no
Python). Writes into tests/fixtures/onnx_import/:

- torch_cnn.onnx: a sequential PyTorch CNN exported by torch.onnx.export (the TorchScript
  exporter, dynamo=False, as the new one needs onnxscript; opset 17): Conv with symmetric pads (= 'same' at stride 1), BatchNormalization with real
  running statistics, a stride-2 Conv, MaxPool, AveragePool, global average pooling, Flatten,
  Gemm (transB=1), Relu nodes.
- tf_style.onnx: the spellings tf2onnx uses, written with onnx.helper: Conv with TensorFlow's
  asymmetric 'same' pads (odd pixel bottom/right) at stride 2, MaxPool with such pads, Reshape
  to (N, -1), MatMul + Add, a standalone Softmax node; normalization and class names in the
  metadata.
- each with <name>.json: the input images (the first 4 MNIST test digits, / 255), and the
  outputs of PyTorch (for torch_cnn) and of ONNX Runtime.

    pip install torch==2.15.0 onnx onnxruntime numpy
    scripts/make_onnx_fixtures.py
"""
import gzip
import json
import pathlib

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import TensorProto, helper, numpy_helper

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "fixtures" / "onnx_import"


def mnist_digits(n: int) -> np.ndarray:
    with gzip.open(ROOT / "assets" / "mnist" / "test-images-idx3-ubyte.gz") as f:
        data = f.read()
    images = np.frombuffer(data, dtype=np.uint8, offset=16)[: n * 784]
    return (images.reshape(n, 1, 28, 28).astype(np.float32) / 255.0)


def ort_run(path: pathlib.Path, x: np.ndarray) -> np.ndarray:
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def rows(a: np.ndarray):
    return [[float(v) for v in row.reshape(-1)] for row in a]


def torch_cnn(x: np.ndarray) -> None:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.BatchNorm2d(6),  # after the ReLU, so the exporter cannot fold it into the Conv
        torch.nn.Conv2d(6, 8, 3, stride=2, padding=1),  # 28 → 14
        torch.nn.ReLU(),
        torch.nn.MaxPool2d(2),  # 14 → 7
        torch.nn.Conv2d(8, 8, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AvgPool2d(2),  # 7 → 3
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 10),
    )
    bn = model[2]
    with torch.no_grad():
        bn.running_mean.uniform_(-0.3, 0.3)
        bn.running_var.uniform_(0.5, 1.5)
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.uniform_(-0.2, 0.2)
    model.eval()
    path = OUT / "torch_cnn.onnx"
    torch.onnx.export(
        model, torch.from_numpy(x), str(path), input_names=["input"], output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=17, dynamo=False,
    )
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    got = ort_run(path, x)
    assert np.allclose(expected, got, atol=1e-5)
    record = {"input": rows(x), "shape": list(x.shape), "torch": rows(expected), "onnxruntime": rows(got),
              "torch_version": torch.__version__, "onnxruntime_version": ort.__version__}
    (OUT / "torch_cnn.json").write_text(json.dumps(record) + "\n")
    print("torch_cnn", [n.op_type for n in onnx.load(str(path)).graph.node])


def tf_style(x: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    w1 = rng.normal(0, 0.3, (4, 1, 3, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, (4,)).astype(np.float32)
    w2 = rng.normal(0, 0.1, (4 * 7 * 7, 10)).astype(np.float32)
    b2 = rng.normal(0, 0.1, (10,)).astype(np.float32)
    nodes = [
        # 28 → 14 with TensorFlow 'same' at stride 2: one padding row/column, at the bottom/right.
        helper.make_node("Conv", ["input", "w1", "b1"], ["c1"], name="conv", kernel_shape=[3, 3],
                         strides=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu"),
        # 14 → 7, 'same' with a 3×3 window at stride 2: pads (0, 1) again.
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool", kernel_shape=[3, 3], strides=[2, 2],
                         pads=[0, 0, 1, 1]),
        helper.make_node("Reshape", ["p1", "shape"], ["flat"], name="flatten"),
        helper.make_node("MatMul", ["flat", "w2"], ["mm"], name="dense"),
        helper.make_node("Add", ["mm", "b2"], ["scores"], name="dense_bias"),
        helper.make_node("Softmax", ["scores"], ["probabilities"], name="softmax", axis=-1),
    ]
    graph = helper.make_graph(
        nodes, "tf_style",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        initializer=[numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(b1, "b1"),
                     numpy_helper.from_array(w2, "w2"), numpy_helper.from_array(b2, "b2"),
                     numpy_helper.from_array(np.array([-1, 196], dtype=np.int64), "shape")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="tf2onnx-style")
    model.ir_version = 8
    helper.set_model_props(model, {"normalization": "ZeroOne",
                                   "class_names": json.dumps([f"digit {i}" for i in range(10)])})
    path = OUT / "tf_style.onnx"
    onnx.save(model, str(path))
    got = ort_run(path, x)
    record = {"input": rows(x), "shape": list(x.shape), "onnxruntime": rows(got),
              "onnxruntime_version": ort.__version__}
    (OUT / "tf_style.json").write_text(json.dumps(record) + "\n")
    print("tf_style", [n.op_type for n in model.graph.node])


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    x = mnist_digits(4)
    torch_cnn(x)
    tf_style(x)


if __name__ == "__main__":
    main()
