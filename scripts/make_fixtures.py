#!/usr/bin/env python3
"""Make the PyTorch reference fixtures for CNN Lab's engine.

Writes one small JSON file per case into ``tests/fixtures/`` (resolved from this
script's location, so it can be run from anywhere):

    python3 scripts/make_fixtures.py

The Rust tests in ``tests/reference.rs`` load these files, run the same inputs
through the engine and compare every stored tensor with a relative error
<= 1e-4. Regenerating is deterministic (fixed torch / numpy seeds), so a re-run
only changes the files if this script changed.

File format (one case per file)::

    {"case": "<case>", "layer": "<kind>", "config": {...},
     "tensors": {"x": {"shape": [2, 3, 7, 7], "data": [...flat row-major...]}, ...}}

A scalar has ``"shape": []`` and ``"data": [value]``. Integer labels are stored as
floats.

Conventions (the engine follows Keras semantics in NCHW layout):

* Everything is computed in float64. Inputs are rounded to 9 significant digits
  *before* the reference is computed, so the stored inputs are exactly the ones
  the stored outputs came from; outputs are then rounded to 9 significant digits.
* Images are NCHW. Conv kernel ``w`` is (filters, in_channels, kh, kw), as in
  PyTorch; bias ``b`` is (filters,).
* Every layer case has a random upstream gradient ``dy`` shaped like ``y``; all
  gradients are of L = sum(y * dy), i.e. ``dx = dL/dx``, ``dw = dL/dw`` ...
* Padding ``same`` is TensorFlow's: for input n, window f, stride s:
  out = ceil(n/s), pad_total = max((out-1)*s + f - n, 0),
  pad_before = pad_total // 2, pad_after = pad_total - pad_before (the odd pixel
  goes to the bottom/right). ``valid``: no padding, out = floor((n-f)/s) + 1.
  ``explicit``: ``explicit_padding`` zeros on every side.
* Max pooling never picks padding (pads with -inf). Average pooling with
  ``same`` divides each window sum by the number of real (non-padded) cells in
  that window, as TensorFlow does.
* Dense kernel ``w`` (and ``dw``) is Keras-style (in_features, out_features), the
  transpose of ``torch.nn.Linear.weight``.
* Batch normalization: training mode normalizes with the batch mean and the
  *biased* batch variance; moving statistics follow Keras:
  moving = moving * momentum + batch_stat * (1 - momentum), with the biased
  variance. ``y_inference`` normalizes the same x with the initial moving stats.
* ``softmax_cross_entropy``: loss is the mean over the batch; ``dlogits`` is the
  gradient of that mean; ``accuracy`` is the fraction of argmax == label.
* Model cases (``layer: "model"``) train a small CNN for 3 optimizer steps on one
  batch with torch.optim. SGD with momentum / Nesterov (torch.optim.SGD) is
  algebraically Keras's form for a constant learning rate. Adam follows Keras's
  epsilon placement (epsilon is added to sqrt(v) before the bias correction is
  applied, see ``KerasEpsAdam``); plain torch.optim.Adam differs measurably. ``losses`` holds the loss before steps 1, 2, 3
  and after step 3. ``*_grad`` are the gradients at the initial parameters.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "tests" / "fixtures"
SIG_DIGITS = 9
DT = torch.float64

torch.set_default_dtype(DT)


# ----------------------------------------------------------------------------
# helpers


def r9(t: torch.Tensor) -> torch.Tensor:
    """Round a tensor to SIG_DIGITS significant digits (float64, detached)."""
    a = t.detach().to(DT).cpu().numpy().astype(np.float64)
    flat = np.array([float(f"{v:.{SIG_DIGITS}g}") for v in a.ravel()], dtype=np.float64)
    return torch.from_numpy(flat.reshape(a.shape))


def randn(*shape, scale: float = 1.0) -> torch.Tensor:
    return r9(torch.randn(*shape, dtype=DT) * scale)


def tensor_json(t) -> dict:
    t = torch.as_tensor(t, dtype=DT).detach()
    data = [float(f"{v:.{SIG_DIGITS}g}") for v in t.reshape(-1).tolist()]
    for v in data:
        assert math.isfinite(v), "non-finite value in a fixture"
    return {"shape": list(t.shape), "data": data}


def write_case(case: str, layer: str, config: dict, tensors: dict) -> None:
    """Write a case; one tensor per line so diffs stay readable."""
    lines = ["{", f'  "case": {json.dumps(case)},', f'  "layer": {json.dumps(layer)},']
    lines.append(f'  "config": {json.dumps(config)},')
    lines.append('  "tensors": {')
    items = list(tensors.items())
    for i, (name, t) in enumerate(items):
        comma = "," if i + 1 < len(items) else ""
        lines.append(f"    {json.dumps(name)}: {json.dumps(tensor_json(t), separators=(',', ':'))}{comma}")
    lines.append("  }")
    lines.append("}")
    path = OUT_DIR / f"{case}.json"
    path.write_text("\n".join(lines) + "\n")
    WRITTEN.append(case)


WRITTEN: list[str] = []


def leaf(t: torch.Tensor) -> torch.Tensor:
    return t.detach().clone().requires_grad_(True)


def grads_of(y: torch.Tensor, dy: torch.Tensor, inputs: list[torch.Tensor]) -> list[torch.Tensor]:
    """Gradients of L = sum(y * dy) with respect to inputs."""
    return list(torch.autograd.grad((y * dy).sum(), inputs))


def tf_same_pads(n: int, f: int, s: int) -> tuple[int, int, int]:
    """TensorFlow 'same': (out, pad_before, pad_after)."""
    out = -(-n // s)  # ceil(n / s)
    pad_total = max((out - 1) * s + f - n, 0)
    before = pad_total // 2
    return out, before, pad_total - before


def axis_geometry(n: int, f: int, s: int, padding: str, p: int = 0) -> tuple[int, int, int]:
    """(out, pad_before, pad_after) along one spatial axis."""
    if padding == "same":
        return tf_same_pads(n, f, s)
    if padding == "valid":
        return (n - f) // s + 1, 0, 0
    if padding == "explicit":
        return (n + 2 * p - f) // s + 1, p, p
    raise ValueError(padding)


# Hand-checked geometry (same rule as the engine's src/cnn/geometry.rs tests).
assert tf_same_pads(8, 3, 2) == (4, 0, 1)
assert tf_same_pads(7, 3, 2) == (4, 1, 1)
assert tf_same_pads(8, 4, 1) == (8, 1, 2)
assert tf_same_pads(8, 1, 2) == (4, 0, 0)
assert axis_geometry(7, 3, 2, "valid") == (3, 0, 0)
assert axis_geometry(32, 5, 1, "explicit", 2) == (32, 2, 2)


def pad2d(x: torch.Tensor, geo_h, geo_w, value: float = 0.0) -> torch.Tensor:
    # F.pad order for the last two dims: (left, right, top, bottom)
    return F.pad(x, (geo_w[1], geo_w[2], geo_h[1], geo_h[2]), value=value)


# ----------------------------------------------------------------------------
# 1. Conv2D


def conv2d_forward(x, w, b, strides, padding, p=0):
    n, c, h, wd = x.shape
    kh, kw = w.shape[2], w.shape[3]
    gh = axis_geometry(h, kh, strides[0], padding, p)
    gw = axis_geometry(wd, kw, strides[1], padding, p)
    y = F.conv2d(pad2d(x, gh, gw), w, b, stride=tuple(strides), padding=0)
    assert tuple(y.shape) == (n, w.shape[0], gh[0], gw[0]), (y.shape, gh, gw)
    # The rules themselves, restated independently:
    for size, k, s, o in ((h, kh, strides[0], gh[0]), (wd, kw, strides[1], gw[0])):
        if padding == "same":
            assert o == math.ceil(size / s)
        elif padding == "valid":
            assert o == math.floor((size - k) / s) + 1
        else:
            assert o == math.floor((size + 2 * p - k) / s) + 1
    return y


def conv2d_case(case, n, c, h, wd, filters, kernel, strides, padding, p=0):
    x = randn(n, c, h, wd)
    fan_in = c * kernel[0] * kernel[1]
    w = randn(filters, c, kernel[0], kernel[1], scale=math.sqrt(2.0 / fan_in))
    b = randn(filters, scale=0.1)
    xl, wl, bl = leaf(x), leaf(w), leaf(b)
    y = conv2d_forward(xl, wl, bl, strides, padding, p)
    dy = randn(*y.shape)
    dx, dw, db = grads_of(y, dy, [xl, wl, bl])
    config = {
        "filters": filters,
        "kernel_size": list(kernel),
        "strides": list(strides),
        "padding": padding,
        "explicit_padding": p,
    }
    write_case(case, "conv2d", config, {"x": x, "w": w, "b": b, "y": y, "dy": dy, "dx": dx, "dw": dw, "db": db})


def make_conv2d():
    for padding in ("valid", "same"):
        for s in (1, 2):
            for size in (7, 8):
                for c in (1, 3):
                    conv2d_case(f"conv2d_{padding}_s{s}_n{size}_c{c}", 2, c, size, size, 4, (3, 3), (s, s), padding)
    conv2d_case("conv2d_k5_explicit_p2", 2, 3, 9, 9, 4, (5, 5), (1, 1), "explicit", 2)
    conv2d_case("conv2d_k3x5_same_s2_rect", 2, 2, 8, 9, 3, (3, 5), (2, 2), "same")


# ----------------------------------------------------------------------------
# 2. Pooling


def pool_windows_have_clear_max(x: torch.Tensor, p: int, s: int, padding: str) -> bool:
    """True when, in every window, the max beats the runner-up by >= 1e-3 (no near-ties)."""
    h, w = x.shape[2], x.shape[3]
    gh, gw = axis_geometry(h, p, s, padding), axis_geometry(w, p, s, padding)
    xp = pad2d(x, gh, gw, value=-math.inf)
    win = xp.unfold(2, p, s).unfold(3, p, s)  # N, C, oh, ow, p, p
    win = win.reshape(*win.shape[:4], p * p)
    top2 = win.topk(2, dim=-1).values
    return bool(((top2[..., 0] - top2[..., 1]) >= 1e-3).all())


def pool_forward(kind, x, p, s, padding):
    h, w = x.shape[2], x.shape[3]
    gh, gw = axis_geometry(h, p, s, padding), axis_geometry(w, p, s, padding)
    if kind == "max_pooling2d":
        y = F.max_pool2d(pad2d(x, gh, gw, value=-math.inf), p, s)
    else:
        window_sum = F.avg_pool2d(pad2d(x, gh, gw), p, s, divisor_override=1)
        ones = torch.ones(1, 1, h, w, dtype=x.dtype)
        count = F.avg_pool2d(pad2d(ones, gh, gw), p, s, divisor_override=1)
        assert (count >= 1).all()
        y = window_sum / count
    assert tuple(y.shape[2:]) == (gh[0], gw[0])
    if padding == "same":
        assert y.shape[2] == math.ceil(h / s) and y.shape[3] == math.ceil(w / s)
    else:
        assert y.shape[2] == (h - p) // s + 1 and y.shape[3] == (w - p) // s + 1
    return y


def make_pooling():
    settings = [(2, 2, "valid", 8), (3, 2, "valid", 7), (2, 2, "same", 7), (3, 2, "same", 8)]
    for kind in ("max_pooling2d", "average_pooling2d"):
        for p, s, padding, size in settings:
            # Random normal input; for max pooling, redraw until no window has a near-tie.
            while True:
                x = randn(2, 3, size, size)
                if kind != "max_pooling2d" or pool_windows_have_clear_max(x, p, s, padding):
                    break
            xl = leaf(x)
            y = pool_forward(kind, xl, p, s, padding)
            dy = randn(*y.shape)
            (dx,) = grads_of(y, dy, [xl])
            config = {"pool_size": [p, p], "strides": [s, s], "padding": padding}
            write_case(f"{kind}_p{p}_s{s}_{padding}_n{size}", kind, config, {"x": x, "y": y, "dy": dy, "dx": dx})


# ----------------------------------------------------------------------------
# 3. Dense


def make_dense():
    x = randn(4, 6)
    w = randn(6, 5, scale=math.sqrt(1.0 / 6))  # Keras layout (in, out)
    b = randn(5, scale=0.1)
    xl, wl, bl = leaf(x), leaf(w), leaf(b)
    y = xl @ wl + bl
    # Cross-check against torch's Linear convention (weight = w.T).
    assert torch.allclose(y, F.linear(xl, wl.T, bl))
    dy = randn(*y.shape)
    dx, dw, db = grads_of(y, dy, [xl, wl, bl])
    assert dw.shape == (6, 5)
    write_case("dense", "dense", {"units": 5}, {"x": x, "w": w, "b": b, "y": y, "dy": dy, "dx": dx, "dw": dw, "db": db})


# ----------------------------------------------------------------------------
# 4. Batch normalization


def make_batch_normalization():
    momentum, eps = 0.99, 1e-3
    for case, shape in (("batch_normalization_4d", (4, 3, 5, 5)), ("batch_normalization_2d", (8, 6))):
        c = shape[1]
        x = r9(torch.randn(*shape) * 1.5 + 0.7)
        gamma = r9(1.0 + 0.3 * torch.randn(c))
        beta = randn(c, scale=0.5)
        moving_mean = randn(c, scale=0.5)
        moving_variance = r9(0.5 + torch.rand(c))  # in [0.5, 1.5)
        axes = [0] + list(range(2, len(shape)))
        bshape = [1, c] + [1] * (len(shape) - 2)

        xl, gl, bl = leaf(x), leaf(gamma), leaf(beta)
        mean = xl.mean(dim=axes)
        var = ((xl - mean.view(bshape)) ** 2).mean(dim=axes)  # biased
        y = gl.view(bshape) * (xl - mean.view(bshape)) / torch.sqrt(var.view(bshape) + eps) + bl.view(bshape)
        # Cross-check with torch (its training-mode normalization also uses the biased variance).
        y_torch = F.batch_norm(xl, None, None, gl, bl, training=True, momentum=0.0, eps=eps)
        assert torch.allclose(y, y_torch, rtol=1e-12, atol=1e-12)

        dy = randn(*y.shape)
        dx, dgamma, dbeta = grads_of(y, dy, [xl, gl, bl])
        mean_d, var_d = mean.detach(), var.detach()
        moving_mean_after = moving_mean * momentum + mean_d * (1 - momentum)
        moving_variance_after = moving_variance * momentum + var_d * (1 - momentum)
        y_inference = gamma.view(bshape) * (x - moving_mean.view(bshape)) / torch.sqrt(
            moving_variance.view(bshape) + eps
        ) + beta.view(bshape)
        write_case(
            case,
            "batch_normalization",
            {"momentum": momentum, "epsilon": eps},
            {
                "x": x,
                "gamma": gamma,
                "beta": beta,
                "moving_mean": moving_mean,
                "moving_variance": moving_variance,
                "y": y,
                "dy": dy,
                "dx": dx,
                "dgamma": dgamma,
                "dbeta": dbeta,
                "moving_mean_after": moving_mean_after,
                "moving_variance_after": moving_variance_after,
                "y_inference": y_inference,
            },
        )


# ----------------------------------------------------------------------------
# 5. Activations


def make_activations():
    slope = 0.2
    fns = {
        "relu": F.relu,
        "leaky_relu": lambda t: F.leaky_relu(t, negative_slope=slope),
        "sigmoid": torch.sigmoid,
        "tanh": torch.tanh,
        "softmax": lambda t: torch.softmax(t, dim=-1),
    }
    for name, fn in fns.items():
        if name == "softmax":
            x = randn(3, 7, scale=2.0)
        else:
            x = torch.randn(3, 4, 5, 5) * 1.5
            if name in ("relu", "leaky_relu"):
                x = x + 0.05 * torch.where(x >= 0, 1.0, -1.0)  # keep |x| >= 0.05
            x = r9(x)
            if name in ("relu", "leaky_relu"):
                assert (x.abs() >= 0.05).all()
        xl = leaf(x)
        y = fn(xl)
        dy = randn(*y.shape)
        (dx,) = grads_of(y, dy, [xl])
        write_case(
            f"activation_{name}",
            "activation",
            {"activation": name, "negative_slope": slope},
            {"x": x, "y": y, "dy": dy, "dx": dx},
        )


# ----------------------------------------------------------------------------
# 6. Global average pooling


def make_global_average_pooling():
    x = randn(2, 3, 5, 4)
    xl = leaf(x)
    y = xl.mean(dim=(2, 3))
    assert y.shape == (2, 3)
    dy = randn(*y.shape)
    (dx,) = grads_of(y, dy, [xl])
    write_case("global_average_pooling2d", "global_average_pooling2d", {}, {"x": x, "y": y, "dy": dy, "dx": dx})


def make_global_max_pooling():
    x = randn(2, 3, 5, 4)
    xl = leaf(x)
    y = xl.amax(dim=(2, 3))
    assert y.shape == (2, 3)
    # one clear winner per map: the gradient goes to a single position
    top2 = x.flatten(2).topk(2, dim=2).values
    assert ((top2[..., 0] - top2[..., 1]) > 1e-6).all()
    dy = randn(*y.shape)
    (dx,) = grads_of(y, dy, [xl])
    write_case("global_max_pooling2d", "global_max_pooling2d", {}, {"x": x, "y": y, "dy": dy, "dx": dx})


# ----------------------------------------------------------------------------
# 7. Softmax cross-entropy


def make_softmax_cross_entropy():
    logits = randn(6, 5, scale=2.0)
    # Stability rows: a naive float32 exp() overflows on row 2 (exp(88.7) > f32 max)
    # and underflows to 0 on row 4. Each row's spread is small, so every softmax
    # probability (and dlogits entry) stays a normal, well-conditioned number.
    logits[2] = torch.tensor([97.5, 95.0, 99.0, 100.0, 98.25])
    logits[4] = torch.tensor([-100.0, -104.5, -101.0, -99.5, -103.0])
    labels = torch.randint(0, 5, (6,))
    argmax = logits.argmax(dim=1)
    labels[0] = argmax[0]  # some right,
    labels[1] = (argmax[1] + 1) % 5  # some wrong,
    labels[2] = 4  # large row, label not the argmax (3): a sizeable loss term
    labels[4] = argmax[4]  # tiny row, label is the argmax
    # no ties in any row's argmax
    top2 = logits.topk(2, dim=1).values
    assert ((top2[:, 0] - top2[:, 1]) > 1e-3).all()

    ll = leaf(logits)
    loss = F.cross_entropy(ll, labels, reduction="mean")
    (dlogits,) = torch.autograd.grad(loss, [ll])
    # Independent check of the gradient: (softmax - onehot) / N.
    expect = (torch.softmax(logits, dim=1) - F.one_hot(labels, 5).to(DT)) / logits.shape[0]
    assert torch.allclose(dlogits, expect, rtol=1e-12, atol=1e-15)
    accuracy = (logits.argmax(dim=1) == labels).to(DT).mean()
    assert 0.0 < accuracy < 1.0
    write_case(
        "softmax_cross_entropy",
        "softmax_cross_entropy",
        {"reduction": "mean", "from_logits": True},
        {
            "logits": logits,
            "labels": labels.to(DT),
            "loss": loss.detach().reshape(()),
            "dlogits": dlogits,
            "accuracy": accuracy.reshape(()),
        },
    )


# ----------------------------------------------------------------------------
# 8. Full model, 3 optimizer steps

MODEL_ARCH = [
    {"layer": "input", "shape": [3, 8, 8]},
    {"layer": "conv2d", "name": "conv1", "filters": 4, "kernel_size": [3, 3], "strides": [1, 1],
     "padding": "same", "activation": "relu"},
    {"layer": "max_pooling2d", "pool_size": [2, 2], "strides": [2, 2], "padding": "valid"},
    {"layer": "conv2d", "name": "conv2", "filters": 6, "kernel_size": [3, 3], "strides": [1, 1],
     "padding": "valid", "activation": "relu"},
    {"layer": "flatten", "order": "nchw"},
    {"layer": "dense", "name": "dense", "units": 5, "activation": "linear"},
]
PARAM_NAMES = ["conv1_w", "conv1_b", "conv2_w", "conv2_b", "dense_w", "dense_b"]


def model_forward(x, params, trace=None):
    c1w, c1b, c2w, c2b, dw, db = params
    z1 = conv2d_forward(x, c1w, c1b, (1, 1), "same")  # (N,4,8,8)
    a1 = F.relu(z1)
    p1 = F.max_pool2d(a1, 2, 2)  # (N,4,4,4)
    z2 = conv2d_forward(p1, c2w, c2b, (1, 1), "valid")  # (N,6,2,2)
    a2 = F.relu(z2)
    flat = a2.flatten(1)  # NCHW order -> 24
    assert flat.shape[1] == 24
    logits = flat @ dw + db  # Keras layout (in, out)
    if trace is not None:
        trace.append((z1.detach(), a1.detach(), z2.detach()))
    return logits


def model_margins(trace) -> tuple[float, float]:
    """Smallest |pre-activation| and smallest max-pool top-2 gap (where the max is > 0)."""
    min_pre = math.inf
    min_gap = math.inf
    for z1, a1, z2 in trace:
        min_pre = min(min_pre, z1.abs().min().item(), z2.abs().min().item())
        win = a1.unfold(2, 2, 2).unfold(3, 2, 2).reshape(*a1.shape[:2], 4, 4, 4)
        top2 = win.topk(2, dim=-1).values
        live = top2[..., 0] > 0
        if live.any():
            min_gap = min(min_gap, (top2[..., 0] - top2[..., 1])[live].min().item())
    return min_pre, min_gap


def make_model_inputs():
    x = randn(8, 3, 8, 8)
    labels = torch.randint(0, 5, (8,))
    init = [
        # LeCun-normal-sized kernels and a small dense kernel keep the 3 steps of
        # lr=0.1 momentum SGD from blowing up (so float32 round-off stays small).
        randn(4, 3, 3, 3, scale=math.sqrt(1.0 / 27)),
        randn(4, scale=0.05),
        randn(6, 4, 3, 3, scale=math.sqrt(1.0 / 36)),
        randn(6, scale=0.05),
        randn(24, 5, scale=0.1),
        randn(5, scale=0.05),
    ]
    assert all((p != 0).all() for p in (init[1], init[3], init[5]))
    return x, labels, init


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
        logits = model_forward(x, params, trace)
        losses.append(F.cross_entropy(logits, labels).item())
    return losses, [p.detach().clone() for p in params], first_grads, first_logits, trace


class KerasEpsAdam(torch.optim.Adam):
    """torch.optim.Adam with Keras's epsilon placement.

    torch:  p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
    Keras:  p -= lr*sqrt(1-b2^t)/(1-b1^t) * m / (sqrt(v) + eps)
    They agree when torch's eps is eps/sqrt(1-b2^t) at step t, which is what this does.
    (With eps=1e-7 the two forms differ by up to ~3e-4 relative on weights with
    small gradients after 3 steps, more than the 1e-4 test tolerance.)
    """

    def __init__(self, params, lr, betas, eps):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=0.0)
        self.keras_eps = eps
        self.t = 0

    def step(self, closure=None):
        self.t += 1
        for group in self.param_groups:
            group["eps"] = self.keras_eps / math.sqrt(1 - group["betas"][1] ** self.t)
        return super().step(closure)


def keras_adam_three_steps(x, labels, init, lr, b1, b2, eps):
    """Keras's Adam written out by hand, as an independent check of KerasEpsAdam."""
    params = [leaf(p) for p in init]
    m = [torch.zeros_like(p) for p in params]
    v = [torch.zeros_like(p) for p in params]
    for t in range(1, 4):
        loss = F.cross_entropy(model_forward(x, params), labels)
        grads = torch.autograd.grad(loss, params)
        with torch.no_grad():
            alpha = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
            for p, g, mi, vi in zip(params, grads, m, v):
                mi.mul_(b1).add_((1 - b1) * g)
                vi.mul_(b2).add_((1 - b2) * g * g)
                p.sub_(alpha * mi / (vi.sqrt() + eps))
    return [p.detach() for p in params]


def make_models():
    # Draw inputs/params; redraw (deterministically) until no ReLU input or max-pool
    # comparison is close enough to flip in float32 at any of the 4 forward passes.
    optimizers = {
        "model_sgd_momentum": (
            {"name": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": False},
            lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=False),
        ),
        "model_sgd_nesterov": (
            {"name": "sgd", "learning_rate": 0.1, "momentum": 0.9, "nesterov": True},
            lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True),
        ),
        "model_adam": (
            {"name": "adam", "learning_rate": 0.01, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
             "epsilon_placement": "keras"},
            lambda ps: KerasEpsAdam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-7),
        ),
    }
    for attempt in range(100):
        x, labels, init = make_model_inputs()
        results = {}
        ok = True
        for case, (opt_cfg, make_opt) in optimizers.items():
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
        if case == "model_adam":
            keras = keras_adam_three_steps(x, labels, init, 0.01, 0.9, 0.999, 1e-7)
            diff = max(((a - b).abs().max() / b.abs().max()).item() for a, b in zip(keras, final))
            assert diff < 1e-12, f"KerasEpsAdam vs hand-written Keras Adam differ by {diff}"
            plain = train_three_steps(
                x, labels, init, lambda ps: torch.optim.Adam(ps, lr=0.01, betas=(0.9, 0.999), eps=1e-7)
            )[1]
            torch_form = max(((a - b).abs().max() / b.abs().max()).item() for a, b in zip(plain, final))
            print(f"  model_adam: plain torch.optim.Adam would differ by {torch_form:.1e} (max abs diff / max abs param)")
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


# ----------------------------------------------------------------------------


def main() -> None:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(20240601)
    np.random.seed(20240601)
    torch.use_deterministic_algorithms(True)
    make_conv2d()
    make_pooling()
    make_dense()
    make_batch_normalization()
    make_activations()
    make_global_average_pooling()
    make_softmax_cross_entropy()
    make_models()
    make_global_max_pooling()  # last, so the cases before it keep their random draws
    total = sum((OUT_DIR / f"{c}.json").stat().st_size for c in WRITTEN)
    print(f"wrote {len(WRITTEN)} fixtures ({total / 1024:.0f} KiB) to {OUT_DIR.relative_to(ROOT)}/")


if __name__ == "__main__":
    main()
