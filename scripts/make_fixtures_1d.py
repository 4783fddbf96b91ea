#!/usr/bin/env python3
"""Make the PyTorch reference fixtures for CNN Lab's 1-D layers (issue 15).

Writes ``tests/fixtures/*_1d*.json`` in the format of ``make_fixtures.py`` (whose
helpers it imports; run it the same way):

    python3 scripts/make_fixtures_1d.py

The Rust tests in ``tests/reference_1d.rs`` load them and compare every stored
tensor with a relative error <= 1e-4.

Conventions, beyond those of ``make_fixtures.py``:

* Sequences are NCL (batch, channels, steps), as the engine stores them. Conv1D
  kernels ``w`` are (filters, in_channels, kernel_size), as in PyTorch.
* Padding follows Keras: ``valid`` none; ``same`` is TensorFlow's rule applied to
  the dilated span (k - 1)*d + 1, the odd step on the right; ``causal`` puts all
  (k - 1)*d zeros on the left. PyTorch's own ``padding='same'`` has no stride,
  so every case pads explicitly with ``F.pad`` and convolves unpadded.
* Keras refuses strides > 1 together with dilation_rate > 1, so those
  combinations have no fixture.
* Embedding: ``ids`` are (batch, 1, steps) token ids stored as floats; the
  output is (batch, output_dim, steps); ``w`` is (input_dim, output_dim), as in
  Keras, and only ``dw`` is stored (ids have no gradient).
* The model case trains Conv1D(same, relu) -> MaxPooling1D(2) ->
  Conv1D(causal, dilation 2, relu) -> GlobalAveragePooling1D -> Dense(softmax)
  for 3 steps of SGD with momentum and of Keras-style Adam.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from make_fixtures import (
    DT,
    OUT_DIR,
    ROOT,
    WRITTEN,
    KerasEpsAdam,
    grads_of,
    leaf,
    randn,
    tf_same_pads,
    write_case,
)


def pads_1d(n: int, k: int, s: int, d: int, padding: str) -> tuple[int, int, int]:
    """(out, pad_before, pad_after) of a Keras 1-D window of k taps d apart."""
    span = (k - 1) * d + 1
    if padding == "valid":
        return (n - span) // s + 1, 0, 0
    if padding == "same":
        return tf_same_pads(n, span, s)
    if padding == "causal":
        return (n - 1) // s + 1, span - 1, 0
    raise ValueError(padding)


assert pads_1d(8, 3, 2, 1, "same") == (4, 0, 1)
assert pads_1d(8, 3, 1, 2, "same") == (8, 2, 2)
assert pads_1d(7, 3, 1, 2, "causal") == (7, 4, 0)
assert pads_1d(9, 3, 1, 2, "valid") == (5, 0, 0)


def conv1d_forward(x, w, b, s, d, padding):
    n = x.shape[2]
    out, before, after = pads_1d(n, w.shape[2], s, d, padding)
    y = F.conv1d(F.pad(x, (before, after)), w, b, stride=s, dilation=d)
    assert y.shape[2] == out, (y.shape, out)
    if padding != "valid":
        assert out == math.ceil(n / s)
    return y


def make_conv1d():
    cases = []
    for padding in ("valid", "same", "causal"):
        for s in (1, 2):
            for d in (1, 2):
                if s > 1 and d > 1:
                    continue  # Keras refuses strides > 1 with dilation_rate > 1
                cases.append((f"conv1d_{padding}_s{s}_d{d}_n8", padding, s, d, 8, 3))
    # An odd length, and an even kernel whose 'same' padding is uneven.
    cases.append(("conv1d_same_s2_d1_n9", "same", 2, 1, 9, 3))
    cases.append(("conv1d_same_s1_d1_k4_n9", "same", 1, 1, 9, 4))
    for case, padding, s, d, n, k in cases:
        c, filters = 3, 4
        x = randn(2, c, n)
        w = randn(filters, c, k, scale=math.sqrt(2.0 / (c * k)))
        b = randn(filters, scale=0.1)
        xl, wl, bl = leaf(x), leaf(w), leaf(b)
        y = conv1d_forward(xl, wl, bl, s, d, padding)
        dy = randn(*y.shape)
        dx, dw, db = grads_of(y, dy, [xl, wl, bl])
        config = {"filters": filters, "kernel_size": k, "strides": s, "dilation_rate": d, "padding": padding}
        write_case(case, "conv1d", config, {"x": x, "w": w, "b": b, "y": y, "dy": dy, "dx": dx, "dw": dw, "db": db})


def pool1d_forward(kind, x, p, s, padding):
    n = x.shape[2]
    out, before, after = pads_1d(n, p, s, 1, padding)
    if kind == "max_pooling1d":
        y = F.max_pool1d(F.pad(x, (before, after), value=-math.inf), p, s)
    else:
        window_sum = F.avg_pool1d(F.pad(x, (before, after)), p, s) * p
        ones = torch.ones(1, 1, n, dtype=x.dtype)
        count = F.avg_pool1d(F.pad(ones, (before, after)), p, s) * p
        assert (count >= 1).all()
        y = window_sum / count
    assert y.shape[2] == out
    return y


def clear_max_1d(x, p, s, padding) -> bool:
    _, before, after = pads_1d(x.shape[2], p, s, 1, padding)
    win = F.pad(x, (before, after), value=-math.inf).unfold(2, p, s)
    top2 = win.topk(2, dim=-1).values
    return bool(((top2[..., 0] - top2[..., 1]) >= 1e-3).all())


def make_pooling_1d():
    settings = [(2, 2, "valid", 8), (3, 2, "valid", 7), (2, 2, "same", 7), (3, 2, "same", 8), (3, 1, "same", 6)]
    for kind in ("max_pooling1d", "average_pooling1d"):
        for p, s, padding, n in settings:
            while True:
                x = randn(2, 3, n)
                if kind != "max_pooling1d" or clear_max_1d(x, p, s, padding):
                    break
            xl = leaf(x)
            y = pool1d_forward(kind, xl, p, s, padding)
            dy = randn(*y.shape)
            (dx,) = grads_of(y, dy, [xl])
            config = {"pool_size": p, "strides": s, "padding": padding}
            write_case(f"{kind}_p{p}_s{s}_{padding}_n{n}", kind, config, {"x": x, "y": y, "dy": dy, "dx": dx})


def make_embedding():
    input_dim, output_dim, steps = 7, 4, 6
    ids = torch.randint(0, input_dim, (3, steps))
    w = randn(input_dim, output_dim, scale=0.5)
    wl = leaf(w)
    y = F.embedding(ids, wl).permute(0, 2, 1)  # (N, L, D) -> NCL
    dy = randn(*y.shape)
    (dw,) = grads_of(y, dy, [wl])
    config = {"input_dim": input_dim, "output_dim": output_dim}
    write_case(
        "embedding_1d", "embedding", config, {"ids": ids.to(DT).unsqueeze(1), "w": w, "y": y, "dy": dy, "dw": dw}
    )


def make_dense_per_step():
    """Dense on a sequence: Keras applies it to the last axis, the same kernel at every step."""
    x = randn(2, 3, 5)  # NCL
    w = randn(3, 4, scale=0.5)  # Keras (in, out)
    b = randn(4, scale=0.1)
    xl, wl, bl = leaf(x), leaf(w), leaf(b)
    y = (xl.permute(0, 2, 1) @ wl + bl).permute(0, 2, 1)  # (N, L, in) @ (in, out) -> NCL
    dy = randn(*y.shape)
    dx, dw, db = grads_of(y, dy, [xl, wl, bl])
    write_case("dense_1d", "dense", {"units": 4}, {"x": x, "w": w, "b": b, "y": y, "dy": dy, "dx": dx, "dw": dw, "db": db})


# ----------------------------------------------------------------------------
# A small sequence model after 3 optimizer steps

MODEL_ARCH = [
    {"layer": "input", "shape": [3, 16]},
    {"layer": "conv1d", "name": "conv1", "filters": 4, "kernel_size": 3, "strides": 1, "padding": "same",
     "dilation_rate": 1, "activation": "relu"},
    {"layer": "max_pooling1d", "pool_size": 2, "strides": 2, "padding": "valid"},
    {"layer": "conv1d", "name": "conv2", "filters": 6, "kernel_size": 3, "strides": 1, "padding": "causal",
     "dilation_rate": 2, "activation": "relu"},
    {"layer": "global_average_pooling1d"},
    {"layer": "dense", "name": "dense", "units": 5, "activation": "softmax"},
]
PARAM_NAMES = ["conv1_w", "conv1_b", "conv2_w", "conv2_b", "dense_w", "dense_b"]


def model_forward(x, params, trace=None):
    c1w, c1b, c2w, c2b, dw, db = params
    z1 = conv1d_forward(x, c1w, c1b, 1, 1, "same")  # (N,4,16)
    a1 = F.relu(z1)
    p1 = F.max_pool1d(a1, 2, 2)  # (N,4,8)
    z2 = conv1d_forward(p1, c2w, c2b, 1, 2, "causal")  # (N,6,8)
    a2 = F.relu(z2)
    g = a2.mean(dim=2)  # (N,6)
    logits = g @ dw + db  # Keras layout (in, out); softmax is in the loss
    if trace is not None:
        trace.append((z1.detach(), a1.detach(), z2.detach()))
    return logits


def model_margins(trace) -> tuple[float, float]:
    min_pre, min_gap = math.inf, math.inf
    for z1, a1, z2 in trace:
        min_pre = min(min_pre, z1.abs().min().item(), z2.abs().min().item())
        top2 = a1.unfold(2, 2, 2).topk(2, dim=-1).values
        live = top2[..., 0] > 0
        if live.any():
            min_gap = min(min_gap, (top2[..., 0] - top2[..., 1])[live].min().item())
    return min_pre, min_gap


def train_three_steps(x, labels, init, make_opt):
    params = [leaf(p) for p in init]
    opt = make_opt(params)
    losses, trace, first_grads, first_logits = [], [], None, None
    for step in range(3):
        opt.zero_grad()
        logits = model_forward(x, params, trace)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        if step == 0:
            first_grads = [p.grad.detach().clone() for p in params]
            first_logits = logits.detach().clone()
        losses.append(loss.item())
        opt.step()
    with torch.no_grad():
        losses.append(F.cross_entropy(model_forward(x, params, trace), labels).item())
    return losses, [p.detach().clone() for p in params], first_grads, first_logits, trace


def make_model():
    optimizers = {
        "model_1d_sgd_momentum": (
            {"name": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": False},
            lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=False),
        ),
        "model_1d_adam": (
            {"name": "adam", "learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
             "epsilon_placement": "keras"},
            lambda ps: KerasEpsAdam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-7),
        ),
    }
    for attempt in range(100):
        x = randn(8, 3, 16)
        labels = torch.randint(0, 5, (8,))
        init = [
            randn(4, 3, 3, scale=math.sqrt(1.0 / 9)),
            randn(4, scale=0.05),
            randn(6, 4, 3, scale=math.sqrt(1.0 / 12)),
            randn(6, scale=0.05),
            randn(6, 5, scale=0.3),
            randn(5, scale=0.05),
        ]
        results, ok = {}, True
        for case, (_, make_opt) in optimizers.items():
            res = train_three_steps(x, labels, init, make_opt)
            min_pre, min_gap = model_margins(res[4])
            if min_pre < 1e-4 or min_gap < 1e-4:
                ok = False
                break
            results[case] = res
        if ok:
            print(f"  model inputs: draw {attempt + 1} has no ReLU input or max-pool gap below 1e-4")
            break
    else:
        raise RuntimeError("could not draw a model case without near-ties")
    for case, (opt_cfg, _) in optimizers.items():
        losses, final, grads, logits, _ = results[case]
        tensors = {"x": x, "labels": labels.to(DT)}
        tensors.update(zip(PARAM_NAMES, init))
        tensors["logits"] = logits
        tensors.update((f"{n}_grad", g) for n, g in zip(PARAM_NAMES, grads))
        tensors["losses"] = torch.tensor(losses)
        tensors.update((f"{n}_final", p) for n, p in zip(PARAM_NAMES, final))
        config = {
            "architecture": MODEL_ARCH,
            "loss": "sparse_categorical_crossentropy_from_logits",
            "batch_size": 8,
            "steps": 3,
            "optimizer": opt_cfg,
        }
        write_case(case, "model", config, tensors)
        print(f"  {case}: losses {', '.join(f'{v:.5f}' for v in losses)}")


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(20261204)
    np.random.seed(20261204)
    torch.use_deterministic_algorithms(True)
    make_conv1d()
    make_pooling_1d()
    make_embedding()
    make_model()
    make_dense_per_step()  # last, so the cases before it keep their random draws
    total = sum((OUT_DIR / f"{c}.json").stat().st_size for c in WRITTEN)
    print(f"wrote {len(WRITTEN)} fixtures ({total / 1024:.0f} KiB) to {OUT_DIR.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
