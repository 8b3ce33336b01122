"""``python -m nn_core.gradcheck``: gradient checks of every layer, loss and regularizer.

Layers, losses and regularizers are discovered from ``nn_core.layers``,
``nn_core.losses`` and ``nn_core.regularizers``; each needs at least one example
configuration in ``LAYER_EXAMPLES`` / ``LOSS_EXAMPLES`` / ``REGULARIZER_EXAMPLES``
below. A class without one is reported as MISSING and fails the run, so a new layer
cannot be forgotten. Every example runs on every available kernel backend.
"""

from __future__ import annotations

import argparse
import inspect
import sys
from typing import Any

import numpy as np

from . import kernels, layers, losses, regularizers
from .gradcheck import DEFAULT_TOLERANCE, check_layer, check_loss, check_regularizer
from .sequential import Sequential

L = layers
R = regularizers

# class name -> list of (description, factory, input shape including the batch axis);
# a merge layer's examples give a list of input shapes.
LAYER_EXAMPLES = {
    "Add": [
        ("two inputs", lambda: L.Add(), [(3, 4), (3, 4)]),
        ("three NHWC maps", lambda: L.Add(), [(2, 3, 3, 2)] * 3),
    ],
    "Subtract": [("two inputs", lambda: L.Subtract(), [(3, 5), (3, 5)])],
    "Multiply": [
        ("two inputs", lambda: L.Multiply(), [(3, 4), (3, 4)]),
        ("three inputs", lambda: L.Multiply(), [(2, 5)] * 3),
    ],
    "Average": [("three inputs", lambda: L.Average(), [(3, 4)] * 3)],
    "Concatenate": [
        ("features, axis -1", lambda: L.Concatenate(), [(3, 2), (3, 4)]),
        ("NHWC channels", lambda: L.Concatenate(axis=-1), [(2, 3, 3, 1), (2, 3, 3, 2)]),
        (
            "NHWC rows, axis 1, three inputs",
            lambda: L.Concatenate(axis=1),
            [(2, 1, 3, 2), (2, 2, 3, 2), (2, 3, 3, 2)],
        ),
    ],
    "Dense": [
        ("4 units, tanh", lambda: L.Dense(4, activation="tanh"), (3, 5)),
        (
            "3 units, sigmoid, L1L2 kernel + L2 activity",
            lambda: L.Dense(
                3,
                activation="sigmoid",
                kernel_regularizer=R.L1L2(0.01, 0.02),
                activity_regularizer=R.L2(0.03),
            ),
            (2, 4),
        ),
        ("2 units, no bias, batch 1", lambda: L.Dense(2, use_bias=False), (1, 3)),
    ],
    "Conv2D": [
        (
            "3 filters 3x3, stride 1, valid, relu",
            lambda: L.Conv2D(3, 3, activation="relu"),
            (2, 5, 6, 2),
        ),
        (
            "2 filters 3x3, stride 2, same",
            lambda: L.Conv2D(2, 3, strides=2, padding="same"),
            (2, 7, 5, 3),
        ),
        (
            "2 filters 2x3, strides (2,1), same, batch 1",
            lambda: L.Conv2D(2, (2, 3), strides=(2, 1), padding="same"),
            (1, 5, 4, 1),
        ),
        (
            "1 filter 3x3, L2 kernel + L1 activity",
            lambda: L.Conv2D(1, 3, kernel_regularizer=R.L2(0.1), activity_regularizer=R.L1(0.05)),
            (2, 4, 4, 2),
        ),
    ],
    "Conv2DTranspose": [
        (
            "2 filters 3x3, stride 2, valid",
            lambda: L.Conv2DTranspose(2, 3, strides=2),
            (2, 3, 4, 2),
        ),
        (
            "3 filters 3x3, stride 2, same, sigmoid",
            lambda: L.Conv2DTranspose(3, 3, strides=2, padding="same", activation="sigmoid"),
            (1, 3, 3, 2),
        ),
        ("1 filter 2x2, stride 1, valid", lambda: L.Conv2DTranspose(1, 2), (2, 3, 3, 3)),
    ],
    "MaxPooling2D": [
        ("2x2, valid", lambda: L.MaxPooling2D(2), (2, 4, 6, 2)),
        ("2x2, same, odd input", lambda: L.MaxPooling2D(2, padding="same"), (2, 5, 3, 2)),
        ("3x3 stride 2, valid, batch 1", lambda: L.MaxPooling2D(3, strides=2), (1, 7, 7, 1)),
    ],
    "AveragePooling2D": [
        ("2x2, valid", lambda: L.AveragePooling2D(2), (2, 4, 6, 2)),
        ("2x2, same, odd input", lambda: L.AveragePooling2D(2, padding="same"), (2, 5, 3, 2)),
        ("3x3 stride 2, valid, batch 1", lambda: L.AveragePooling2D(3, strides=2), (1, 7, 7, 1)),
    ],
    "UpSampling2D": [
        ("2x2", lambda: L.UpSampling2D(2), (2, 3, 2, 2)),
        ("(3, 1), batch 1", lambda: L.UpSampling2D((3, 1)), (1, 2, 3, 1)),
    ],
    "Flatten": [("NHWC", lambda: L.Flatten(), (2, 3, 2, 2))],
    "Reshape": [("to (-1, 2)", lambda: L.Reshape((-1, 2)), (2, 6))],
    "Linear": [("identity", lambda: L.Linear(), (3, 4))],
    "ReLU": [("relu", lambda: L.ReLU(), (3, 6))],
    "LeakyReLU": [("alpha 0.2", lambda: L.LeakyReLU(0.2), (3, 6))],
    "Sigmoid": [("sigmoid", lambda: L.Sigmoid(), (3, 6))],
    "Tanh": [("tanh", lambda: L.Tanh(), (3, 6))],
    "Softplus": [("softplus", lambda: L.Softplus(), (3, 6))],
    "ELU": [("alpha 1.0", lambda: L.ELU(), (3, 6))],
    "Softmax": [("last axis", lambda: L.Softmax(), (3, 5))],
    "Dropout": [("rate 0.3, training", lambda: L.Dropout(0.3), (4, 5))],
    "GaussianNoise": [("stddev 0.5, training", lambda: L.GaussianNoise(0.5), (4, 5))],
    "BatchNormalization": [
        ("(N, F), training", lambda: L.BatchNormalization(), (4, 3)),
        ("NHWC, training", lambda: L.BatchNormalization(), (2, 3, 3, 2)),
    ],
    "DenseTransposed": [
        (
            "Dense(4) tanh -> DenseTransposed sigmoid, tied",
            lambda: _tied_pair(L.Dense(4, activation="tanh"), 5, activation="sigmoid"),
            (3, 5),
        ),
        (
            "Dense(3) relu -> DenseTransposed linear, no bias, L2 activity, batch 1",
            lambda: _tied_pair(
                L.Dense(3, activation="relu"), 4, use_bias=False, activity_regularizer=R.L2(0.1)
            ),
            (1, 4),
        ),
    ],
    "ContractiveDense": [
        (
            "4 units, sigmoid, weight 0.3",
            lambda: L.ContractiveDense(4, activation="sigmoid", contractive_weight=0.3),
            (3, 5),
        ),
        (
            "3 units, relu, weight 0.3",
            lambda: L.ContractiveDense(3, activation="relu", contractive_weight=0.3),
            (4, 5),
        ),
    ],
    "ClippedGaussianNoise": [
        ("stddev 0.5, clip [0, 1], training", lambda: L.ClippedGaussianNoise(0.5), (4, 5))
    ],
    "MaskingNoise": [("fraction 0.3, training", lambda: L.MaskingNoise(0.3), (4, 5))],
    "GaussianSampling": [
        ("latent 2, training", lambda: L.GaussianSampling(), (3, 4)),
        ("latent 3, kl_weight 0.5, training", lambda: L.GaussianSampling(0.5), (2, 6)),
    ],
    "Sequential": [
        (
            "Dense relu -> Dense sigmoid",
            lambda: Sequential([L.Dense(4, activation="relu"), L.Dense(3, activation="sigmoid")]),
            (3, 5),
        )
    ],
}

LOSS_EXAMPLES = {
    "BinaryCrossentropy": [
        ("probabilities", lambda: losses.BinaryCrossentropy(), "probabilities"),
        ("from_logits=True", lambda: losses.BinaryCrossentropy(from_logits=True), "logits"),
    ],
    "SummedBinaryCrossentropy": [
        ("probabilities", lambda: losses.SummedBinaryCrossentropy(), "probabilities"),
        ("from_logits=True", lambda: losses.SummedBinaryCrossentropy(from_logits=True), "logits"),
    ],
    "MeanSquaredError": [("mse", lambda: losses.MeanSquaredError(), "logits")],
    "MeanAbsoluteError": [("mae", lambda: losses.MeanAbsoluteError(), "logits")],
    # A fourth entry names the targets: rows of class probabilities, or integer labels.
    "CategoricalCrossentropy": [
        ("probabilities", lambda: losses.CategoricalCrossentropy(), "probabilities", "rows"),
        (
            "from_logits=True",
            lambda: losses.CategoricalCrossentropy(from_logits=True),
            "logits",
            "rows",
        ),
    ],
    "SparseCategoricalCrossentropy": [
        (
            "probabilities",
            lambda: losses.SparseCategoricalCrossentropy(),
            "probabilities",
            "labels",
        ),
        (
            "from_logits=True",
            lambda: losses.SparseCategoricalCrossentropy(from_logits=True),
            "logits",
            "labels",
        ),
    ],
}

REGULARIZER_EXAMPLES = {
    "L1": [("l1=0.01", lambda: R.L1(0.01))],
    "L2": [("l2=0.01", lambda: R.L2(0.01))],
    "L1L2": [("l1=0.01, l2=0.02", lambda: R.L1L2(0.01, 0.02))],
    # Activations of a sigmoid code: values in (0, 1).
    "KLSparsity": [("target 0.1, weight 3", lambda: R.KLSparsity(0.1, 3.0), "probabilities")],
}

_ABSTRACT = {"Layer", "Activation", "Loss", "Regularizer", "_SoftmaxCrossentropy"}


def _tied_pair(dense, input_size, **kwargs):
    """Sequential([dense, DenseTransposed(dense)]) on (N, input_size): the whole is checked,
    so the tied kernel's gradient (both uses summed) is checked too."""
    return Sequential([dense, L.DenseTransposed(dense, output_size=input_size, **kwargs)])


def _discover(module, base) -> list[str]:
    return sorted(
        name
        for name, value in vars(module).items()
        if inspect.isclass(value) and issubclass(value, base) and name not in _ABSTRACT
    )


def discovered_layers() -> list[str]:
    return [*_discover(layers, layers.Layer), "Sequential"]


def discovered_losses() -> list[str]:
    return _discover(losses, losses.Loss)


def discovered_regularizers() -> list[str]:
    return _discover(regularizers, regularizers.Regularizer)


def _away_from_zero(rng, shape):
    """Random values with |v| in [0.1, 1.1]: no kink (relu, |.|, max ties) within eps."""
    values = rng.uniform(-1, 1, size=shape)
    return np.sign(values) * (0.1 + np.abs(values))


def example_inputs(rng, shape):
    """Inputs for an example: one batch, or one per shape for a merge layer's list."""
    if isinstance(shape, list):
        return [_away_from_zero(rng, s) for s in shape]
    return _away_from_zero(rng, shape)


def run_checks(only=None, tolerance=DEFAULT_TOLERANCE):
    """Yield (kind, name, description, backend, max relative error or None if missing)."""
    backends = [name for name in kernels.AVAILABLE_BACKENDS if _backend_usable(name)]
    original = kernels.backend_name()
    catalogue: list[tuple[str, list[str], dict[str, Any]]] = [
        ("layer", discovered_layers(), LAYER_EXAMPLES),
        ("loss", discovered_losses(), LOSS_EXAMPLES),
        ("regularizer", discovered_regularizers(), REGULARIZER_EXAMPLES),
    ]
    try:
        for backend in backends:
            kernels.set_backend(backend)
            for kind, names, examples in catalogue:
                for name in names:
                    if only and name.lower() != only.lower():
                        continue
                    if name not in examples:
                        yield kind, name, "(no example configuration)", backend, None
                        continue
                    for example in examples[name]:
                        yield kind, name, example[0], backend, _check(kind, example)
    finally:
        kernels.set_backend(original)


def _backend_usable(name):
    try:
        kernels._load_backend(name)
    except ValueError:
        return False
    return True


def _check(kind, example):
    rng = np.random.default_rng(0)
    if kind == "layer":
        _, factory, shape = example
        layer = factory()
        layer.set_rng(np.random.default_rng(1))
        return max(check_layer(layer, example_inputs(rng, shape)).values())
    if kind == "loss":
        _, factory, prediction_kind, *target_kind = example
        shape = (3, 4)
        if prediction_kind == "probabilities":
            y_pred = rng.uniform(0.05, 0.95, size=shape)
        else:
            y_pred = _away_from_zero(rng, shape)
        y_true: np.ndarray = rng.uniform(0, 1, size=shape)
        if isinstance(factory(), losses.MeanAbsoluteError):
            y_true = y_pred + np.sign(_away_from_zero(rng, shape)) * 0.3
        if target_kind == ["rows"]:
            y_true = y_true / y_true.sum(axis=1, keepdims=True)
        elif target_kind == ["labels"]:
            y_true = rng.integers(0, shape[1], size=shape[0])
        return check_loss(factory(), y_true, y_pred)
    _, factory, *input_kind = example
    if input_kind == ["probabilities"]:
        return check_regularizer(factory(), rng.uniform(0.05, 0.95, size=(4, 3)))
    return check_regularizer(factory(), _away_from_zero(rng, (4, 3)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nn_core.gradcheck",
        description="Check every layer, loss and regularizer against centred finite "
        "differences in float64 and print the relative errors.",
    )
    parser.add_argument("--layer", metavar="NAME", help="check only this class (e.g. Conv2D)")
    parser.add_argument("--tolerance", type=float, default=DEFAULT_TOLERANCE)
    args = parser.parse_args(argv)

    rows, failures = [], 0
    for kind, name, description, backend, error in run_checks(args.layer, args.tolerance):
        if error is None:
            status = "MISSING"
        else:
            status = "ok" if error < args.tolerance else "FAIL"
        failures += status != "ok"
        shown = "-" if error is None else f"{error:.2e}"
        rows.append((kind, name, description, backend, shown, status))
    if not rows:
        print(f"no layer, loss or regularizer is called {args.layer!r}", file=sys.stderr)
        return 2
    header = ("kind", "name", "configuration", "backend", "rel. error", "status")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)))
    print(f"\n{len(rows) - failures} of {len(rows)} checks passed (tolerance {args.tolerance:g})")
    return 1 if failures else 0
