"""Time and GFLOP/s of every kernel, NumPy backend against Numba backend against PyTorch.

    python -m benchmarks.kernels                    # every kernel, every shape (a few minutes)
    python -m benchmarks.kernels --quick            # the autoencoders' shapes, 3 repeats
    python -m benchmarks.kernels --families conv2d dense --out results/benchmarks

Kernels: dense forward (product + bias + relu) and backward (relu gradient, dL/dW, dL/db,
dL/dx); Conv2D forward (+ bias + relu), backward-input and backward-kernel; Conv2DTranspose
forward; max and average pooling forward and backward; nearest upsampling forward and
backward; relu, sigmoid and tanh forward and backward; binary cross-entropy (on
probabilities and on logits) and mean squared error, value and gradient; the fused
Adadelta and Adam updates. Shapes: those of the Keras-blog models (the dense autoencoder
at batch 256, the conv autoencoder's seven layers at batch 128) plus larger ones.

Implementations: ``numpy`` and ``numba`` are nn_core's two kernel backends, called
directly (``nn_core.kernels.numpy_backend`` / ``numba_backend``), so both run in this one
process; ``torch`` is the same operation in PyTorch on the CPU (NCHW tensors, as a PyTorch
model holds them; backward maps through the ATen backward ops that autograd calls), with
``torch.set_num_threads(<cores>)``. Without PyTorch, ours only.

Reference line: the machine's float32 GEMM peak, a 2048^3 ``np.matmul`` on one BLAS
thread and on every core. FLOPs: 2 x multiply-adds for products and convolutions; for the
memory-bound kernels (pooling, upsampling, element-wise, losses, optimizer updates) one
"FLOP" per element processed, so their GFLOP/s compare implementations with each other,
not with the GEMM peak.

Writes ``kernels.md`` (the table), ``kernels.json`` and ``kernels.png`` (the chart) to
``--out`` (default results/benchmarks).
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nn_core.kernels import numpy_backend

from . import _timing

EPSILON = 1e-7  # Keras's clip of binary cross-entropy


@dataclass
class Case:
    """One kernel at one shape. ``setup()`` makes the arrays (once per case);
    ``make(implementation, arrays)`` returns the zero-argument call to time, or None."""

    family: str
    kernel: str
    shape: str
    flops: float
    setup: Callable[[], dict]
    make: Callable[[str, dict], Callable[[], object] | None]


def our_backends() -> dict:
    """name -> kernel module: 'numpy' always, 'numba' when Numba is importable."""
    backends = {"numpy": numpy_backend}
    try:
        from nn_core.kernels import numba_backend
    except ImportError:
        return backends
    backends["numba"] = numba_backend
    return backends


def _random(rng, shape, low=-1.0, high=1.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def _nchw(torch, array):
    """A PyTorch NCHW tensor with the values of an NHWC array."""
    return torch.from_numpy(np.ascontiguousarray(array.transpose(0, 3, 1, 2)))


# ---------------------------------------------------------------------------- dense
def dense_cases(shapes, rng, backends, torch):
    """(N, in, out): forward = relu(x @ W + b); backward = relu', dW, db and dx."""
    cases = []
    for n, d_in, d_out in shapes:

        def setup(n=n, d_in=d_in, d_out=d_out):
            x, kernel = _random(rng, (n, d_in)), _random(rng, (d_in, d_out), -0.1, 0.1)
            z = x @ kernel
            return {
                "x": x,
                "kernel": kernel,
                "bias": _random(rng, (d_out,)),
                "z": z,
                "grad_y": _random(rng, (n, d_out)),
                "grad_kernel": np.empty_like(kernel),
                "grad_bias": np.empty(d_out, np.float32),
            }

        def forward(impl, a):
            if impl == "torch":
                x, w = torch.from_numpy(a["x"]), torch.from_numpy(a["kernel"].T.copy())
                b = torch.from_numpy(a["bias"])
                return lambda: torch.relu(torch.nn.functional.linear(x, w, b))
            ops = backends[impl]
            return lambda: ops.relu(ops.dense_forward(a["x"], a["kernel"], a["bias"]))

        def backward(impl, a):
            if impl == "torch":
                x, w = torch.from_numpy(a["x"]), torch.from_numpy(a["kernel"].T.copy())
                z, grad_y = torch.from_numpy(a["z"]), torch.from_numpy(a["grad_y"])

                def run():  # what autograd runs for relu(linear(x)): three kernels
                    grad_z = torch.ops.aten.threshold_backward(grad_y, z, 0)
                    return grad_z.t().mm(x), grad_z.sum(0), grad_z.mm(w)

                return run
            ops = backends[impl]

            def run():
                grad_z = ops.relu_backward(a["z"], a["grad_y"])
                return ops.dense_backward(
                    a["x"], a["kernel"], grad_z, a["grad_kernel"], a["grad_bias"]
                )

            return run

        label = f"{n}x{d_in} @ {d_in}x{d_out}"
        flops = 2.0 * n * d_in * d_out
        cases.append(Case("dense", "dense forward +bias+relu", label, flops, setup, forward))
        cases.append(
            Case("dense", "dense backward (relu', dW, db, dx)", label, 2 * flops, setup, backward)
        )
    return cases


# ---------------------------------------------------------------------------- conv2d
def _conv_padding(height, kernel_size, mode):
    if mode == "valid":
        return (0, 0, 0, 0)
    before, after = numpy_backend.same_padding(height, kernel_size, 1)
    return (before, after, before, after)


def conv2d_cases(shapes, rng, backends, torch):
    """(N, H, W, C, F, padding) with 3x3 kernels, stride 1: forward (+bias+relu),
    backward-input and backward-kernel."""
    cases = []
    for n, height, width, channels, filters, mode in shapes:
        padding = _conv_padding(height, 3, mode)
        out_h, out_w = height + padding[0] + padding[1] - 2, width + padding[2] + padding[3] - 2

        def setup(n=n, h=height, w=width, c=channels, f=filters, oh=out_h, ow=out_w):
            return {
                "x": _random(rng, (n, h, w, c)),
                "kernel": _random(rng, (3, 3, c, f), -0.2, 0.2),
                "bias": _random(rng, (f,)),
                "grad_z": _random(rng, (n, oh, ow, f)),
            }

        def make(impl, a, which, padding=padding):
            if impl == "torch":
                x, grad_z = _nchw(torch, a["x"]), _nchw(torch, a["grad_z"])
                weight = torch.from_numpy(a["kernel"].transpose(3, 2, 0, 1).copy())
                bias = torch.from_numpy(a["bias"])
                pad = padding[0]  # symmetric for 3x3 stride 1
                if which == "forward":
                    return lambda: torch.relu(torch.nn.functional.conv2d(x, weight, bias, 1, pad))
                mask = [which == "input", which == "kernel", False]
                return lambda: torch.ops.aten.convolution_backward(
                    grad_z, x, weight, None, [1, 1], [pad, pad], [1, 1], False, [0, 0], 1, mask
                )
            ops, x, kernel = backends[impl], a["x"], a["kernel"]
            if which == "forward":
                return lambda: ops.relu(ops.conv2d_forward(x, kernel, a["bias"], (1, 1), padding))
            if which == "input":
                return lambda: ops.conv2d_backward_input(
                    a["grad_z"], kernel, x.shape, (1, 1), padding
                )
            return lambda: ops.conv2d_backward_kernel(x, a["grad_z"], kernel.shape, (1, 1), padding)

        label = f"{n}x{height}x{width}x{channels}->{filters} {mode}"
        flops = 2.0 * n * out_h * out_w * 9 * channels * filters
        for which, name in (
            ("forward", "conv2d forward +bias+relu"),
            ("input", "conv2d backward-input"),
            ("kernel", "conv2d backward-kernel"),
        ):
            cases.append(
                Case(
                    "conv2d",
                    name,
                    label,
                    flops,
                    setup,
                    lambda impl, a, which=which, make=make: make(impl, a, which),
                )
            )
    return cases


def conv2d_transpose_cases(shapes, rng, backends, torch):
    """(N, H, W, C, F, k, stride): Keras Conv2DTranspose 'same', output (H*s, W*s, F)."""
    cases = []
    for n, height, width, channels, filters, size, stride in shapes:
        out_h, out_w = height * stride, width * stride
        before, after = numpy_backend.same_padding(out_h, size, stride)
        padding = (before, after, before, after)

        def setup(n=n, h=height, w=width, c=channels, f=filters, k=size):
            return {
                "x": _random(rng, (n, h, w, c)),
                "kernel": _random(rng, (k, k, f, c), -0.2, 0.2),
                "bias": _random(rng, (f,)),
            }

        def make(impl, a, padding=padding, stride=stride, output_hw=(out_h, out_w)):
            if impl == "torch":
                if padding[0] != padding[1]:
                    return None  # TensorFlow's odd padding has no PyTorch equivalent
                x, bias = _nchw(torch, a["x"]), torch.from_numpy(a["bias"])
                weight = torch.from_numpy(a["kernel"].transpose(3, 2, 0, 1).copy())
                return lambda: torch.nn.functional.conv_transpose2d(
                    x, weight, bias, stride, padding[0]
                )
            ops = backends[impl]
            return lambda: ops.conv2d_transpose_forward(
                a["x"], a["kernel"], a["bias"], (stride, stride), padding, output_hw
            )

        label = f"{n}x{height}x{width}x{channels}->{out_h}x{out_w}x{filters} k{size} s{stride}"
        flops = 2.0 * n * height * width * size * size * channels * filters
        cases.append(
            Case("conv2d_transpose", "conv2d_transpose forward +bias", label, flops, setup, make)
        )
    return cases


# ---------------------------------------------------------------------------- pooling
def pooling_cases(shapes, rng, backends, torch):
    """(N, H, W, C): 2x2 windows, stride 2, 'same' padding (odd sizes padded at the end)."""
    cases = []
    for n, height, width, channels in shapes:
        padding = (0, height % 2, 0, width % 2)
        out_h, out_w = (height + 1) // 2, (width + 1) // 2
        ceil_mode = bool(height % 2 or width % 2)

        def setup(n=n, h=height, w=width, c=channels, oh=out_h, ow=out_w, padding=padding):
            x = _random(rng, (n, h, w, c))
            _, argmax = numpy_backend.max_pool2d_forward(x, (2, 2), (2, 2), padding)
            return {"x": x, "argmax": argmax, "grad_y": _random(rng, (n, oh, ow, c))}

        def make(impl, a, which, padding=padding, ceil_mode=ceil_mode):
            if impl == "torch":
                aten = torch.ops.aten
                x, grad_y = _nchw(torch, a["x"]), _nchw(torch, a["grad_y"])
                window = ([2, 2], [2, 2], [0, 0])
                if which == "max forward":
                    return lambda: aten.max_pool2d_with_indices(x, *window, [1, 1], ceil_mode)
                if which == "max backward":
                    _, indices = aten.max_pool2d_with_indices(x, *window, [1, 1], ceil_mode)
                    return lambda: aten.max_pool2d_with_indices_backward(
                        grad_y, x, *window, [1, 1], ceil_mode, indices
                    )
                if which == "avg forward":
                    return lambda: aten.avg_pool2d(x, *window, ceil_mode)
                return lambda: aten.avg_pool2d_backward(grad_y, x, *window, ceil_mode, True, None)
            ops, x = backends[impl], a["x"]
            window = ((2, 2), (2, 2), padding)
            if which == "max forward":
                return lambda: ops.max_pool2d_forward(x, *window)
            if which == "max backward":
                return lambda: ops.max_pool2d_backward(a["grad_y"], a["argmax"], x.shape, *window)
            if which == "avg forward":
                return lambda: ops.avg_pool2d_forward(x, *window)
            return lambda: ops.avg_pool2d_backward(a["grad_y"], x.shape, *window)

        label = f"{n}x{height}x{width}x{channels} 2x2"
        flops = float(n * out_h * out_w * channels * 4)  # one per window cell
        for which in ("max forward", "max backward", "avg forward", "avg backward"):
            cases.append(
                Case(
                    "pooling",
                    f"{which.split()[0]}_pool2d {which.split()[1]}",
                    label,
                    flops,
                    setup,
                    lambda impl, a, which=which, make=make: make(impl, a, which),
                )
            )
    return cases


def upsampling_cases(shapes, rng, backends, torch):
    """(N, H, W, C): nearest upsampling by 2, forward and backward."""
    cases = []
    for n, height, width, channels in shapes:

        def setup(n=n, h=height, w=width, c=channels):
            return {"x": _random(rng, (n, h, w, c)), "grad_y": _random(rng, (n, 2 * h, 2 * w, c))}

        def make(impl, a, which, height=height, width=width):
            if impl == "torch":
                x, grad_y = _nchw(torch, a["x"]), _nchw(torch, a["grad_y"])
                if which == "forward":
                    return lambda: torch.nn.functional.interpolate(
                        x, scale_factor=2, mode="nearest"
                    )
                input_size = list(x.shape)
                return lambda: torch.ops.aten.upsample_nearest2d_backward(
                    grad_y, [2 * height, 2 * width], input_size, 2.0, 2.0
                )
            ops = backends[impl]
            if which == "forward":
                return lambda: ops.upsample_nearest2d_forward(a["x"], 2, 2)
            return lambda: ops.upsample_nearest2d_backward(a["grad_y"], 2, 2)

        label = f"{n}x{height}x{width}x{channels} x2"
        flops = float(n * 4 * height * width * channels)  # one per output element
        for which in ("forward", "backward"):
            cases.append(
                Case(
                    "upsampling",
                    f"upsample_nearest2d {which}",
                    label,
                    flops,
                    setup,
                    lambda impl, a, which=which, make=make: make(impl, a, which),
                )
            )
    return cases


# ---------------------------------------------------------------------------- element-wise
ACTIVATIONS = ("relu", "sigmoid", "tanh")


def activation_cases(shapes, rng, backends, torch):
    """relu, sigmoid, tanh: forward y = f(x) and backward dL/dx from (x or y, dL/dy)."""
    cases = []
    for shape in shapes:

        def setup(shape=shape):
            x = _random(rng, shape, -4, 4)
            return {"x": x, "y": np.tanh(x), "grad_y": _random(rng, shape)}

        def make(impl, a, name, which):
            # relu's backward reads x; sigmoid's and tanh's read y
            saved = "x" if name == "relu" else "y"
            if impl == "torch":
                x, kept, grad_y = (torch.from_numpy(a[k]) for k in ("x", saved, "grad_y"))
                if which == "forward":
                    function = getattr(torch, name)
                    return lambda: function(x)
                if name == "relu":
                    return lambda: torch.ops.aten.threshold_backward(grad_y, kept, 0)
                backward = getattr(torch.ops.aten, f"{name}_backward")
                return lambda: backward(grad_y, kept)
            ops = backends[impl]
            if which == "forward":
                function = getattr(ops, name)
                return lambda: function(a["x"])
            backward = getattr(ops, f"{name}_backward")
            return lambda: backward(a[saved], a["grad_y"])

        label = "x".join(str(d) for d in shape)
        for name in ACTIVATIONS:
            for which in ("forward", "backward"):
                cases.append(
                    Case(
                        "activations",
                        f"{name} {which}",
                        label,
                        float(np.prod(shape)),
                        setup,
                        lambda impl, a, name=name, which=which, make=make: make(
                            impl, a, name, which
                        ),
                    )
                )
    return cases


def loss_cases(shapes, rng, backends, torch):
    """Binary cross-entropy (probabilities; logits) and MSE: value and dL/dprediction."""
    cases = []
    for shape in shapes:

        def setup(shape=shape):
            logits = _random(rng, shape, -4, 4)
            return {
                "y": rng.uniform(0, 1, size=shape).astype(np.float32),
                "p": (1 / (1 + np.exp(-logits))).astype(np.float32),
                "z": logits,
            }

        def make(impl, a, name, which):
            size = a["y"].size
            if impl == "torch":
                functional, aten = torch.nn.functional, torch.ops.aten
                y, p, z = (torch.from_numpy(a[k]) for k in ("y", "p", "z"))
                one = torch.tensor(1.0)
                calls = {
                    ("bce", "value"): lambda: functional.binary_cross_entropy(p, y).item(),
                    ("bce", "gradient"): lambda: aten.binary_cross_entropy_backward(
                        one, p, y, None, 1
                    ),
                    ("bce_logits", "value"): lambda: functional.binary_cross_entropy_with_logits(
                        z, y
                    ).item(),
                    # what autograd computes for it: (sigmoid(z) - y) / size
                    ("bce_logits", "gradient"): lambda: torch.sigmoid(z).sub_(y).div_(size),
                    ("mse", "value"): lambda: functional.mse_loss(p, y).item(),
                    ("mse", "gradient"): lambda: aten.mse_loss_backward(one, p, y, 1),
                }
                return calls[(name, which)]
            ops, y, p, z = backends[impl], a["y"], a["p"], a["z"]
            calls = {
                ("bce", "value"): lambda: ops.binary_crossentropy(y, p, EPSILON),
                ("bce", "gradient"): lambda: ops.binary_crossentropy_gradient(y, p, EPSILON),
                ("bce_logits", "value"): lambda: ops.binary_crossentropy_from_logits(y, z),
                ("bce_logits", "gradient"): lambda: ops.binary_crossentropy_from_logits_gradient(
                    y, z
                ),
                ("mse", "value"): lambda: ops.mean_squared_error(y, p),
                ("mse", "gradient"): lambda: ops.mean_squared_error_gradient(y, p),
            }
            return calls[(name, which)]

        label = "x".join(str(d) for d in shape)
        for name in ("bce", "bce_logits", "mse"):
            for which in ("value", "gradient"):
                cases.append(
                    Case(
                        "losses",
                        f"{name} {which}",
                        label,
                        float(np.prod(shape)),
                        setup,
                        lambda impl, a, name=name, which=which, make=make: make(
                            impl, a, name, which
                        ),
                    )
                )
    return cases


def optimizer_cases(shapes, rng, backends, torch):
    """One Adadelta (lr 1.0, rho 0.95) or Adam (lr 1e-3) step on one parameter array."""
    cases = []
    for shape in shapes:

        def setup(shape=shape):
            param, grad = _random(rng, shape), _random(rng, shape, -1e-2, 1e-2)
            states = {name: np.zeros(shape, np.float32) for name in ("s1", "s2")}
            return {"param": param, "grad": grad, **states}

        def make(impl, a, name):
            if impl == "torch":
                parameter = torch.nn.Parameter(torch.from_numpy(a["param"].copy()))
                parameter.grad = torch.from_numpy(a["grad"])
                if name == "adadelta":
                    optimizer = torch.optim.Adadelta([parameter], lr=1.0, rho=0.95, eps=1e-7)
                else:
                    optimizer = torch.optim.Adam([parameter], lr=1e-3, eps=1e-7)
                return optimizer.step
            ops = backends[impl]
            param, grad, s1, s2 = (a[k] for k in ("param", "grad", "s1", "s2"))
            if name == "adadelta":
                return lambda: ops.adadelta_update(param, grad, s1, s2, 1.0, 0.95, 1e-7)
            return lambda: ops.adam_update(param, grad, s1, s2, None, 1e-3, 0.9, 0.999, 1e-7, 10)

        label = "x".join(str(d) for d in shape)
        for name in ("adadelta", "adam"):
            cases.append(
                Case(
                    "optimizers",
                    f"{name} update",
                    label,
                    float(np.prod(shape)),
                    setup,
                    lambda impl, a, name=name, make=make: make(impl, a, name),
                )
            )
    return cases


# ---------------------------------------------------------------------------- shape tables
def shape_table(quick: bool, batch: int | None) -> dict:
    """family -> shapes. The Keras-blog models' shapes, plus larger ones unless ``quick``.
    ``batch`` replaces every batch size (tests use a tiny one)."""
    conv_layers = [  # the Keras-blog conv autoencoder at batch 128 (benchmarks.conv_strategies)
        (128, 28, 28, 1, 16, "same"),
        (128, 14, 14, 16, 8, "same"),
        (128, 7, 7, 8, 8, "same"),
        (128, 4, 4, 8, 8, "same"),
        (128, 8, 8, 8, 8, "same"),
        (128, 16, 16, 8, 16, "valid"),
        (128, 28, 28, 16, 1, "same"),
    ]
    table = {
        "dense": [(256, 784, 32), (256, 32, 784), (256, 784, 128)],
        "conv2d": conv_layers,
        "conv2d_transpose": [(128, 7, 7, 8, 8, 4, 2), (128, 14, 14, 16, 8, 3, 1)],
        "pooling": [(128, 28, 28, 16), (128, 14, 14, 8), (128, 7, 7, 8)],
        "upsampling": [(128, 4, 4, 8), (128, 8, 8, 8), (128, 14, 14, 16)],
        "activations": [(256, 784), (128, 28, 28, 16)],
        "losses": [(256, 784), (128, 28, 28, 1)],
        "optimizers": [(784, 32), (128, 784)],
    }
    if quick:
        table["dense"] = table["dense"][:2]
        table["conv2d"] = [conv_layers[0], conv_layers[5]]
        for family in ("conv2d_transpose", "pooling", "upsampling", "activations", "losses"):
            table[family] = table[family][:1]
    else:
        table["dense"] += [(1024, 1024, 1024), (2048, 2048, 2048)]
        table["conv2d"] += [(64, 32, 32, 64, 64, "same")]
        table["conv2d_transpose"] += [(64, 16, 16, 64, 32, 4, 2)]
        table["pooling"] += [(64, 32, 32, 64)]
        table["upsampling"] += [(64, 32, 32, 64)]
        table["activations"] += [(4096, 4096)]
        table["losses"] += [(1024, 4096)]
        table["optimizers"] += [(2048, 2048)]
    if batch is not None:
        for family in ("dense", "conv2d", "conv2d_transpose", "pooling", "upsampling"):
            table[family] = [(batch, *shape[1:]) for shape in table[family]]
        table["activations"] = [(batch, *shape[1:]) for shape in table["activations"]]
        table["losses"] = [(batch, *shape[1:]) for shape in table["losses"]]
    return table


FAMILIES = {
    "dense": dense_cases,
    "conv2d": conv2d_cases,
    "conv2d_transpose": conv2d_transpose_cases,
    "pooling": pooling_cases,
    "upsampling": upsampling_cases,
    "activations": activation_cases,
    "losses": loss_cases,
    "optimizers": optimizer_cases,
}


# ---------------------------------------------------------------------------- running
def run_case(case, implementations, backends, torch, repeats, target_seconds):
    """Result rows (one per implementation that has this op) for one case."""
    arrays = case.setup()
    functions, first_call = {}, {}
    for impl in implementations:
        function = case.make(impl, arrays)
        if function is None:
            continue
        start = time.perf_counter()
        function()  # Numba compiles (or loads from its cache) here
        first_call[impl] = time.perf_counter() - start
        function()
        functions[impl] = function
    samples = _timing.time_alternating(functions, repeats, target_seconds)
    rows = []
    for impl, values in samples.items():
        seconds = _timing.median(values)
        rows.append(
            {
                "family": case.family,
                "kernel": case.kernel,
                "shape": case.shape,
                "implementation": impl,
                "flops": case.flops,
                "median_s": seconds,
                "gflops": case.flops / seconds / 1e9,
                "samples": len(values),
                "first_call_s": first_call[impl],
            }
        )
    return rows


def format_table(results, peak) -> str:
    """Markdown: one row per kernel, shape and implementation."""
    single = peak["threads_1"]["gflops"]
    header = ["kernel", "shape", "implementation", "time (ms)", "GFLOP/s", "% of 1-thread GEMM"]
    rows = []
    for row in results:
        rows.append(
            [
                row["kernel"],
                row["shape"],
                row["implementation"],
                f"{row['median_s'] * 1e3:.4g}",
                f"{row['gflops']:.3g}",
                f"{100 * row['gflops'] / single:.1f}",
            ]
        )
    return _timing.markdown_table(header, rows)


def save_chart(results, peak, path) -> None:
    """One panel per kernel family: GFLOP/s per kernel/shape (log scale), one bar per
    implementation, with the GEMM peak (1 thread, every core) as horizontal lines."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    families = list(dict.fromkeys(row["family"] for row in results))
    implementations = list(dict.fromkeys(row["implementation"] for row in results))
    colors = {"numpy": "#9aa5b1", "numba": "#1f77b4", "torch": "#ee4c2c"}
    figure, axes = plt.subplots(len(families), 1, figsize=(12, 3.2 * len(families)), squeeze=False)
    for axis, family in zip(axes[:, 0], families):
        rows = [row for row in results if row["family"] == family]
        groups = list(dict.fromkeys((row["kernel"], row["shape"]) for row in rows))
        width = 0.8 / len(implementations)
        for k, impl in enumerate(implementations):
            values = {
                (r["kernel"], r["shape"]): r["gflops"] for r in rows if r["implementation"] == impl
            }
            positions = [
                g + (k - (len(implementations) - 1) / 2) * width for g in range(len(groups))
            ]
            heights = [values.get(group, 0.0) for group in groups]
            axis.bar(positions, heights, width, label=impl, color=colors.get(impl))
        for name, style in (("threads_1", "--"), ("threads_all", ":")):
            axis.axhline(
                peak[name]["gflops"],
                color="black",
                linestyle=style,
                linewidth=1,
                label=f"GEMM peak, {'1 thread' if name == 'threads_1' else 'all cores'}",
            )
        axis.set_yscale("log")
        axis.set_ylabel("GFLOP/s")
        axis.set_title(family, loc="left", fontsize=10)
        axis.set_xticks(range(len(groups)))
        axis.set_xticklabels([f"{kernel}\n{shape}" for kernel, shape in groups], fontsize=6)
        axis.legend(fontsize=7, loc="upper right", ncol=5)
    figure.tight_layout()
    figure.savefig(path, dpi=70)
    plt.close(figure)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer shapes and repeats")
    parser.add_argument("--repeats", type=int, default=None, help="samples per kernel (7; quick 3)")
    parser.add_argument("--families", nargs="+", choices=list(FAMILIES), default=list(FAMILIES))
    parser.add_argument("--batch", type=int, default=None, help="replace every batch size")
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="threads of every pool (BLAS, Numba, PyTorch); default: every core",
    )
    parser.add_argument("--no-torch", action="store_true", help="ours only")
    parser.add_argument("--no-chart", action="store_true")
    parser.add_argument("--out", default=os.path.join("results", "benchmarks"))
    arguments = parser.parse_args(argv)
    thread_count = arguments.threads or os.cpu_count() or 1
    torch = None if arguments.no_torch else _timing.import_torch()
    numba_threads = thread_count if "numba" in our_backends() else None
    with _timing.thread_counts(torch, thread_count, numba_threads):
        return _run(arguments, torch, thread_count)


def _run(arguments, torch, thread_count):
    repeats = arguments.repeats or (3 if arguments.quick else 7)
    target_seconds = 0.002 if arguments.quick else 0.02
    backends = our_backends()
    implementations = [*backends, *(["torch"] if torch is not None else [])]
    rng = np.random.default_rng(0)
    peak = _timing.gemm_peak(
        _timing.GEMM_PEAK_SIZE if not arguments.quick else 512, repeats=repeats
    )
    print(
        f"float32 GEMM {peak['size']}^3: {peak['threads_1']['gflops']:.1f} GFLOP/s on 1 thread, "
        f"{peak['threads_all']['gflops']:.1f} on {peak['threads_all_count']}",
        flush=True,
    )
    shapes = shape_table(arguments.quick, arguments.batch)
    results = []
    for family in arguments.families:
        for case in FAMILIES[family](shapes[family], rng, backends, torch):
            rows = run_case(case, implementations, backends, torch, repeats, target_seconds)
            for row in rows:
                print(
                    f"{row['kernel']:38s} {row['shape']:28s} {row['implementation']:6s} "
                    f"{row['median_s'] * 1e3:9.4f} ms {row['gflops']:8.3f} GFLOP/s",
                    flush=True,
                )
            results.extend(rows)

    os.makedirs(arguments.out, exist_ok=True)
    table = format_table(results, peak)
    note = (
        f"float32 GEMM peak ({peak['size']}^3 np.matmul): "
        f"{peak['threads_1']['gflops']:.1f} GFLOP/s on 1 thread, "
        f"{peak['threads_all']['gflops']:.1f} GFLOP/s on {peak['threads_all_count']} threads. "
        f"Median of {repeats} samples, implementations alternated; {thread_count} thread(s) "
        "per pool (BLAS, Numba, PyTorch)."
    )
    print("\n" + table + "\n\n" + note)
    with open(os.path.join(arguments.out, "kernels.md"), "w", encoding="utf-8") as handle:
        handle.write(table + "\n\n" + note + "\n")
    _timing.write_json(
        os.path.join(arguments.out, "kernels.json"),
        {
            "benchmark": "kernels",
            "machine": _timing.machine_info(torch),
            "settings": {
                "quick": arguments.quick,
                "repeats": repeats,
                "target_sample_s": target_seconds,
                "families": arguments.families,
                "batch": arguments.batch,
                "implementations": implementations,
                "threads": thread_count,
            },
            "gemm_peak": peak,
            "results": results,
        },
    )
    if not arguments.no_chart:
        save_chart(results, peak, os.path.join(arguments.out, "kernels.png"))
    return results


if __name__ == "__main__":
    main()
