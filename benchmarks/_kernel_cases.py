"""The cases of ``benchmarks.kernels``: for each kernel family, a function that builds one
``Case`` per shape, with the NumPy-backend, Numba-backend and PyTorch calls to time.

FLOPs: 2 x multiply-adds for products and convolutions; one "FLOP" per element processed
for the memory-bound kernels (see ``benchmarks.kernels``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nn_core.kernels import numpy_backend

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
                # what a Conv2D layer with a ReLU runs: the max inside the convolution
                return lambda: ops.conv2d_forward_relu(x, kernel, a["bias"], (1, 1), padding)
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
