#!/usr/bin/env python3
"""Keras 3 on TensorFlow, CPU float32 throughput, as a yardstick for ``cnn-lab bench``.

    KERAS_BACKEND=tensorflow python3 scripts/bench_keras.py [--seconds S] [--threads T]
        [--inter-op 1] [--train-batch 64] [--infer-batch 256] [--step keras|function] [--json]

The same measurements as scripts/bench_pytorch.py, with the same models (src/cnn/zoo.rs,
in TensorFlow's native NHWC / NWC layout), on random data:

* ``lenet``: 28x28x1 -> Conv2D(8,3) relu -> MaxPool 2 -> Conv2D(16,3) relu -> MaxPool 2
  -> Flatten(400) -> Dense(64) relu -> Dense(10)                        (27,562 parameters)
* ``cifar``: 32x32x3 -> Conv2D(32,3,same) relu -> Conv2D(32,3,same) relu -> MaxPool 2
  -> Conv2D(64,3,same) relu -> Conv2D(64,3,same) relu -> MaxPool 2 -> Flatten(4096)
  -> Dense(128) relu -> Dense(10)                                      (591,274 parameters)
* ``signals`` (1-D): 128x1 -> Conv1D(16,7,same) relu -> MaxPool 2 -> Conv1D(32,5,same) relu
  -> MaxPool 2 -> Conv1D(64,3,same,dilation 2) relu -> GlobalAvgPool -> Dense(10)  (9,578)

The parameter counts are asserted when each model is built.

Training: what a Keras user gets by default. ``model.compile(SGD(learning_rate=0.01,
momentum=0.9), SparseCategoricalCrossentropy(from_logits=True))`` with the default
``jit_compile="auto"`` (Keras resolves it to False, no XLA, on a machine without an
accelerator; the JSON key ``jit_compile`` says what it resolved to), then
``model.train_on_batch(x, y)`` on tensors already in memory: Keras's compiled
``tf.function`` train step (forward, loss, backward, SGD update) plus its per-call
Python bookkeeping. Before timing, a separate copy of each model trains 15 steps on one
fixed batch with the step to be timed, and the script asserts the loss fell by at least 1%
(off the timed path).

Inference: ``model.predict_on_batch(x)`` (Keras's compiled predict step, training=False).

``--step function`` times hand-written steps instead, without Keras's per-call bookkeeping:
a ``tf.function(jit_compile=False)`` train step (GradientTape, the compiled loss,
``optimizer.apply_gradients``) and ``tf.function(model(x, training=False))``. On a 2-core
EPYC (a noisy check run) it made LeNet training some 20-30% faster and changed the CIFAR
model's figures little.

Conv: Conv2D 32->64, 3x3, same, on an Nx32x32x32 NHWC input at the training batch:
forward, then the gradients of x, kernel and bias for a given dy (``tf.GradientTape`` in a
``tf.function``, no XLA); FLOPs = 2*MACs, fwd MACs = N*64*32*32*32*9, fwd+bwd = 3x.

Threads: ``tf.config.threading.set_intra_op_parallelism_threads(T)`` and
``set_inter_op_parallelism_threads(--inter-op, default 1: a sequential model has nothing
to run side by side)``, set before TensorFlow starts, and OMP_NUM_THREADS=T,
TF_NUM_INTRAOP_THREADS=T, TF_NUM_INTEROP_THREADS unless already set. TensorFlow's oneDNN
kernels are left as shipped (on for x86; TF_ENABLE_ONEDNN_OPTS=0 turns them off, the JSON
says which).

Each measurement: a few warm-up iterations, then S seconds of timed chunks; the reported
figure is the median chunk (the timing code of bench_pytorch.py). With --json, prints one
JSON object with the keys of bench_pytorch.py (lenet_train_img_s, lenet_infer_img_s,
cifar_train_img_s, cifar_infer_img_s, signals_train_samples_s, signals_infer_samples_s,
conv_fwd_bwd_gflops) plus framework ("keras"), version (Keras), tensorflow_version,
backend, threads, inter_op_threads, batch (training), infer_batch, step, train_step,
infer_step, jit_compile, onednn (progress goes to stderr).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from bench_timing import timed

BATCH = 64  # training batch, as `cnn-lab bench`
INFER_BATCH = 256  # the inference target is at batch 256
SANITY_STEPS = 15  # the loss on one random batch falls ~1-3% in 15 steps at lr 0.01


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="timed seconds per measurement (default 3)")
    ap.add_argument("--threads", type=int, default=os.cpu_count(), help="intra-op threads (default: all cores)")
    ap.add_argument("--inter-op", type=int, default=1, help="inter-op threads (default 1)")
    ap.add_argument("--train-batch", type=int, default=BATCH, help=f"training batch (default {BATCH})")
    ap.add_argument("--infer-batch", type=int, default=INFER_BATCH, help=f"inference batch (default {INFER_BATCH})")
    ap.add_argument("--step", choices=["keras", "function"], default="keras",
                    help="keras: train_on_batch / predict_on_batch (default); "
                         "function: hand-written tf.function steps")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    return ap.parse_args()


ARGS = parse_args() if __name__ == "__main__" else None

# Environment first: TensorFlow reads these when it loads.
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # no start-up banners on stderr
if ARGS is not None:
    os.environ.setdefault("OMP_NUM_THREADS", str(ARGS.threads))
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(ARGS.threads))
    os.environ.setdefault("TF_NUM_INTEROP_THREADS", str(ARGS.inter_op))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

if ARGS is not None:
    # Must happen before TensorFlow creates its thread pools (before the first op).
    tf.config.threading.set_intra_op_parallelism_threads(ARGS.threads)
    tf.config.threading.set_inter_op_parallelism_threads(ARGS.inter_op)

import keras  # noqa: E402
from keras import layers  # noqa: E402


def lenet() -> keras.Model:
    return keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(8, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(16, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(64, activation="relu"),
        layers.Dense(10),
    ])


def cifar() -> keras.Model:
    return keras.Sequential([
        keras.Input((32, 32, 3)),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(2),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10),
    ])


def signals() -> keras.Model:
    return keras.Sequential([
        keras.Input((128, 1)),
        layers.Conv1D(16, 7, padding="same", activation="relu"), layers.MaxPooling1D(2),
        layers.Conv1D(32, 5, padding="same", activation="relu"), layers.MaxPooling1D(2),
        layers.Conv1D(64, 3, padding="same", dilation_rate=2, activation="relu"),
        layers.GlobalAveragePooling1D(),
        layers.Dense(10),
    ])


# name -> (constructor, input shape (NHWC / NWC), parameters in CNN Lab's zoo, JSON key stem)
MODELS = {
    "lenet": (lenet, (28, 28, 1), 27_562, "img_s"),
    "cifar": (cifar, (32, 32, 3), 591_274, "img_s"),
    "signals": (signals, (128, 1), 9_578, "samples_s"),
}


def compiled(name: str) -> keras.Model:
    make, _, params, _ = MODELS[name]
    model = make()
    n = model.count_params()
    assert n == params, f"{name}: {n} parameters, CNN Lab's zoo has {params}"
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=0.01, momentum=0.9),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def random_batch(shape: tuple, batch: int, rng: np.random.Generator) -> tuple[tf.Tensor, tf.Tensor]:
    x = tf.constant(rng.random((batch, *shape), dtype=np.float32))
    y = tf.constant(rng.integers(0, 10, batch).astype(np.int32))
    return x, y


def sanity_check(name: str, batch: int, step: str) -> tuple[float, float]:
    """Train a separate copy SANITY_STEPS steps on one batch with the step to be timed;
    assert the loss fell. Untimed."""
    keras.utils.set_random_seed(1)
    model = compiled(name)
    train_step = function_steps(model)[0] if step == "function" else model.train_on_batch
    x, y = random_batch(MODELS[name][1], batch, np.random.default_rng(1))
    first = float(train_step(x, y))
    last = first
    for _ in range(SANITY_STEPS):
        last = float(train_step(x, y))
    assert np.isfinite(last) and last < 0.99 * first, (
        f"{name}: Keras training did not lower the loss ({first:.4f} -> {last:.4f})")
    return first, last


def function_steps(model: keras.Model):
    """Hand-written tf.function train and inference steps (no XLA) for a compiled model."""
    opt, loss_fn = model.optimizer, model.loss

    @tf.function(jit_compile=False)
    def train(x, y):
        with tf.GradientTape() as tape:
            loss = loss_fn(y, model(x, training=True))
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    @tf.function(jit_compile=False)
    def infer(x):
        return model(x, training=False)

    return (lambda x, y: train(x, y).numpy()), (lambda x: infer(x).numpy())


def bench_model(name: str, seconds: float, batch: int, infer_batch: int,
                step: str = "keras") -> tuple[float, float, bool]:
    first, last = sanity_check(name, batch, step)
    print(f"[bench_keras] {name}: sanity check, loss {first:.3f} -> {last:.3f} "
          f"in {SANITY_STEPS} steps", file=sys.stderr, flush=True)
    keras.utils.set_random_seed(0)
    model = compiled(name)
    rng = np.random.default_rng(2)
    shape = MODELS[name][1]
    x, y = random_batch(shape, batch, rng)
    x_infer, _ = random_batch(shape, infer_batch, rng)

    if step == "function":
        train_step, infer_step = function_steps(model)
    else:
        train_step, infer_step = model.train_on_batch, model.predict_on_batch
    train_s = timed(lambda: train_step(x, y), seconds)
    # After the first train_on_batch, model.jit_compile holds what "auto" resolved to.
    jit = step == "keras" and bool(getattr(model, "jit_compile", False))
    infer_s = timed(lambda: infer_step(x_infer), seconds)
    return batch / train_s, infer_batch / infer_s, jit


def bench_conv(seconds: float, batch: int) -> float:
    keras.utils.set_random_seed(0)
    conv = layers.Conv2D(64, 3, padding="same")
    conv.build((batch, 32, 32, 32))
    rng = np.random.default_rng(3)
    x = tf.constant(rng.standard_normal((batch, 32, 32, 32), dtype=np.float32))
    dy = tf.constant(rng.standard_normal((batch, 32, 32, 64), dtype=np.float32))
    variables = [conv.kernel, conv.bias]

    @tf.function(jit_compile=False)
    def fwd_bwd(x, dy):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = conv(x)
        return tape.gradient(y, [x] + variables, output_gradients=dy)

    def step():
        dx, dw, db = fwd_bwd(x, dy)
        return db.numpy()  # wait for the result

    t = timed(step, seconds)
    fwd_flops = 2 * batch * 64 * 32 * 32 * 32 * 9
    return 3 * fwd_flops / t / 1e9


def onednn_enabled() -> bool | None:
    flag = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if flag is not None:
        return flag.strip().lower() not in ("0", "false")
    try:
        from tensorflow.python.util import _pywrap_util_port
        return bool(_pywrap_util_port.IsMklEnabled())
    except Exception:  # noqa: BLE001 - private API, best effort
        return None


def run(seconds: float, threads: int, inter_op: int = 1, batch: int = BATCH,
        infer_batch: int = INFER_BATCH, step: str = "keras") -> dict:
    out = {}
    jit = False
    for name, (_, _, _, unit) in MODELS.items():
        print(f"[bench_keras] {name} ...", file=sys.stderr, flush=True)
        train, infer, jit_here = bench_model(name, seconds, batch, infer_batch, step)
        jit = jit or jit_here
        out[f"{name}_train_{unit}"] = round(train, 1)
        out[f"{name}_infer_{unit}"] = round(infer, 1)
    print("[bench_keras] conv 32->64 3x3 fwd+bwd ...", file=sys.stderr, flush=True)
    out["conv_fwd_bwd_gflops"] = round(bench_conv(seconds, batch), 2)
    out["framework"] = "keras"
    out["version"] = keras.__version__
    out["tensorflow_version"] = tf.__version__
    out["backend"] = keras.backend.backend()
    out["threads"] = tf.config.threading.get_intra_op_parallelism_threads() or threads
    out["inter_op_threads"] = tf.config.threading.get_inter_op_parallelism_threads() or inter_op
    out["batch"] = batch
    out["infer_batch"] = infer_batch
    out["seconds_per_measurement"] = seconds
    out["step"] = step
    out["train_step"] = "model.train_on_batch" if step == "keras" else "tf.function train step"
    out["infer_step"] = "model.predict_on_batch" if step == "keras" else "tf.function model(x, training=False)"
    out["jit_compile"] = jit
    out["onednn"] = onednn_enabled()
    return out


def main() -> None:
    args = ARGS
    if keras.backend.backend() != "tensorflow":
        sys.exit(f"Keras runs on {keras.backend.backend()}, not tensorflow")
    r = run(args.seconds, args.threads, args.inter_op, args.train_batch, args.infer_batch, args.step)
    if args.json:
        print(json.dumps(r))
        return
    print(f"Keras {r['version']} on TensorFlow {r['tensorflow_version']} CPU float32, "
          f"{r['threads']} intra-op + {r['inter_op_threads']} inter-op threads, "
          f"training batch {r['batch']}, inference batch {r['infer_batch']}, "
          f"jit_compile {r['jit_compile']}, oneDNN {r['onednn']}, steps: {r['train_step']}, "
          f"{r['infer_step']}")
    print(f"{'model':<8} {'train /s':>12} {'infer /s':>12}")
    for name, (_, _, _, unit) in MODELS.items():
        print(f"{name:<8} {r[f'{name}_train_{unit}']:>12.1f} {r[f'{name}_infer_{unit}']:>12.1f}")
    print(f"conv 32->64 3x3 on {r['batch']}x32x32x32, fwd+bwd: {r['conv_fwd_bwd_gflops']:.2f} GFLOP/s")


if __name__ == "__main__":
    main()
