"""Numerical gradient checks: the proof that every backward pass is right.

Each check compares an analytic gradient (from ``backward`` or ``gradient``) with
centred finite differences in float64,

    df/dx_i ~ (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),

and reports the relative error  ||analytic - numeric|| / (||analytic|| + ||numeric||)
(Euclidean norms over all elements; 0 when both are zero). With eps = 1e-6 a correct
smooth gradient gives about 1e-9 or less; a wrong one gives 1e-2 or more.

* ``check_layer(layer, x)``: gradients of  f = sum(layer.forward(x) * R) + layer.penalty()
  for a fixed random R, with respect to the input and every parameter.
* ``check_loss(loss, y_true, y_pred)``: ``loss.gradient`` against ``loss(y_true, y_pred)``.
* ``check_regularizer(regularizer, weights)``.
* ``check_model(model, x, y)``: ``model.loss_and_gradients`` for every weight.

Run ``python -m nn_core.gradcheck`` for a table over every layer, loss and regularizer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ..layers.base import Layer
    from ..losses import Loss
    from ..regularizers import Regularizer
    from ..training import TrainableModel

DEFAULT_EPSILON = 1e-6
DEFAULT_TOLERANCE = 1e-6


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||), the size of the disagreement relative to the gradients."""
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if scale == 0:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / scale)


def numerical_gradient(
    function: Callable[[], float], array: np.ndarray, epsilon: float = DEFAULT_EPSILON
) -> np.ndarray:
    """Centred differences of the scalar ``function()`` with respect to ``array``.

    ``array`` (float64) is perturbed in place one element at a time and restored.
    """
    if array.dtype != np.float64:
        raise ValueError(f"gradient checks need float64 arrays, got {array.dtype}")
    gradient = np.zeros_like(array)
    flat_array = array.reshape(-1)  # a view: writing to it writes to ``array``
    flat_gradient = gradient.reshape(-1)
    for i in range(flat_array.size):
        original = flat_array[i]
        flat_array[i] = original + epsilon
        f_plus = function()
        flat_array[i] = original - epsilon
        f_minus = function()
        flat_array[i] = original
        flat_gradient[i] = (f_plus - f_minus) / (2 * epsilon)
    return gradient


def check_layer(
    layer: Layer,
    x: np.ndarray | Sequence[np.ndarray],
    training: bool = True,
    seed: int | None = 0,
    epsilon: float = DEFAULT_EPSILON,
) -> dict[str, float]:
    """Relative errors of dL/dx and of each dL/dparam for one layer (built in float64).

    x: (N, ...) input batch (a list of batches for a merge layer, whose input errors are
    keyed "input_0", "input_1", ...). Random layers (Dropout, GaussianNoise) replay the same
    random draws at every evaluation, so f is a deterministic function of x and params.
    Returns ``{"input": err, "<param>": err, ...}``.
    """
    several = getattr(layer, "takes_multiple_inputs", False)
    inputs = [np.array(a, dtype=np.float64) for a in x] if several else [np.array(x, np.float64)]
    # A merge layer (takes_multiple_inputs) takes a list of arrays, and a list of shapes.
    layer_input: Any = inputs if several else inputs[0]
    shapes = [a.shape[1:] for a in inputs]
    input_shape: Any = shapes if several else shapes[0]
    if not layer.built:
        layer.build(input_shape, dtype="float64")
    if layer.dtype != np.float64:
        raise ValueError(f"layer {layer.name!r} must be built in float64 for a gradient check")
    rng_state = layer.rng.bit_generator.state
    projection = np.random.default_rng(seed).standard_normal(
        (len(inputs[0]), *layer.compute_output_shape(input_shape))
    )

    def objective():
        layer.rng.bit_generator.state = rng_state
        outputs = layer.forward(layer_input, training=training)
        return float(np.sum(outputs * projection)) + layer.penalty()

    objective()
    grad_input = layer.backward(projection)
    if several:  # a merge layer: one dL/dx per input, keyed input_0, input_1, ...
        analytic = {f"input_{i}": g for i, g in enumerate(grad_input)}
        numeric = {
            f"input_{i}": numerical_gradient(objective, a, epsilon) for i, a in enumerate(inputs)
        }
    else:
        analytic = {"input": grad_input}
        numeric = {"input": numerical_gradient(objective, layer_input, epsilon)}
    analytic.update({key: grad.copy() for key, grad in layer.grads.items()})
    for key, param in layer.params.items():
        numeric[key] = numerical_gradient(objective, param, epsilon)
    return {key: relative_error(analytic[key], numeric[key]) for key in analytic}


def check_loss(
    loss: Loss, y_true: np.ndarray, y_pred: np.ndarray, epsilon: float = DEFAULT_EPSILON
) -> float:
    """Relative error of ``loss.gradient(y_true, y_pred)`` (d loss / d y_pred)."""
    y_true = np.array(y_true, dtype=np.float64)
    y_pred = np.array(y_pred, dtype=np.float64)
    analytic = loss.gradient(y_true, y_pred)
    numeric = numerical_gradient(lambda: loss(y_true, y_pred), y_pred, epsilon)
    return relative_error(analytic, numeric)


def check_regularizer(
    regularizer: Regularizer, weights: np.ndarray, epsilon: float = DEFAULT_EPSILON
) -> float:
    """Relative error of ``regularizer.gradient(w)`` against ``regularizer(w)``."""
    weights = np.array(weights, dtype=np.float64)
    analytic = regularizer.gradient(weights)
    numeric = numerical_gradient(lambda: regularizer(weights), weights, epsilon)
    return relative_error(analytic, numeric)


def check_model(
    model: TrainableModel, x: Any, y: Any, epsilon: float = DEFAULT_EPSILON
) -> list[float]:
    """Relative error of each gradient from ``model.loss_and_gradients(x, y)``.

    The model must be built in float64; one error per array of ``get_weights()``.
    Training-mode randomness (dropout, noise) is replayed identically at every
    evaluation when the model offers ``rng_state``/``set_rng_state``.
    """
    weights = model.get_weights()
    if any(w.dtype != np.float64 for w in weights):
        raise ValueError("the model must be built in float64 for a gradient check")
    saved_state = model.rng_state()

    def objective():
        model.set_rng_state(saved_state)
        return model.loss_and_gradients(x, y)[0]

    model.set_rng_state(saved_state)
    _, analytic = model.loss_and_gradients(x, y)
    analytic = [g.copy() for g in analytic]
    live_weights = model.weight_arrays()
    return [
        relative_error(grad, numerical_gradient(objective, weight, epsilon))
        for grad, weight in zip(analytic, live_weights)
    ]
