"""``trace_step``: one training step, laid open layer by layer.

For a compiled ``Sequential`` and one batch (x, y), ``trace_step`` runs exactly the
step that ``fit`` runs for a batch (``train_on_batch``: forward in training mode, loss,
backward, optimizer update) while watching every leaf layer, and reports, per layer
with input x_in (N, ...) and output a (N, ...):

    forward    shapes of x_in and a; mean, standard deviation and norm of a
    backward   ||dL/da|| (gradient at the output) and ||dL/dx_in|| (at the input)
    per parameter p of the layer:
               ||p|| before the step, ||dL/dp||, ||update|| = ||p_after - p_before||
               and the ratio ||update|| / ||p||

Every norm is the Euclidean (Frobenius) norm over all elements of the batch array,
computed in float64. These are the numbers a teacher draws on the board, and the
first thing to look at when training stalls or blows up:

* vanishing gradients: ||dL/dx_in|| shrinks by a large factor from each layer to the
  one before it (deep sigmoid or tanh stacks: sigmoid' <= 1/4);
* exploding gradients: it grows by a large factor instead;
* a healthy learning rate moves each weight array by about 1e-3 of its norm per step
  (the rule of thumb of the CS231n notes, "Babysitting the learning process"); far
  larger ratios mean a too-large step, far smaller ones a stalled layer.

By default (``apply=False``) the model is left exactly as it was: its weights and
buffers, its optimizer (the step runs on a deep copy of it) and its random generators
are restored afterwards, so a later ``fit`` gives bit-identical results. With
``apply=True`` the step is a real training step on the model and its optimizer.

How layers are watched: for the duration of the step, each leaf layer's ``forward``,
``backward`` and ``backward_from_logits`` are wrapped (instance attributes, removed
afterwards), so what is measured is the real ``train_on_batch``, not a copy of it. A
layer object used twice in one model is reported for its last call.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable

import numpy as np

from .errors import TrainingDivergedError
from .sequential import Sequential
from .validation import as_float_batch

_WATCHED_METHODS = ("forward", "backward", "backward_from_logits")


@dataclasses.dataclass
class ParameterTrace:
    """One parameter array of a layer: its norm, its gradient's and its update's."""

    name: str  # "<layer name>/<key>", as in ``model.weight_names()``
    shape: tuple[int, ...]
    norm: float  # ||p|| before the step
    grad_norm: float  # ||dL/dp|| (before any gradient clipping by the optimizer)
    update_norm: float  # ||p_after - p_before|| (0.0 when the step was not taken)
    update_ratio: float  # update_norm / norm (nan when norm is 0, e.g. a zero bias)


@dataclasses.dataclass
class LayerTrace:
    """One leaf layer during the step: activations, gradients and parameters."""

    name: str
    type_name: str
    input_shape: tuple[int, ...]  # of the batch, (N, ...)
    output_shape: tuple[int, ...]  # of the batch, (N, ...)
    output_mean: float
    output_std: float
    output_norm: float
    grad_output_norm: float  # ||dL/d(output)||
    grad_input_norm: float  # ||dL/d(input)||
    parameters: list[ParameterTrace]


@dataclasses.dataclass
class StepTrace:
    """What ``trace_step`` measured; ``str(trace)`` is the printed table."""

    loss: float  # the batch loss, penalties included (what train_on_batch returns)
    applied: bool  # whether the step was kept (apply=True and not diverged)
    optimizer: str
    layers: list[LayerTrace]
    diverged: str | None = None  # why train_on_batch refused the step, if it did

    @property
    def parameters(self) -> list[ParameterTrace]:
        """Every parameter of every layer, in ``get_weights`` order (buffers excluded)."""
        return [parameter for layer in self.layers for parameter in layer.parameters]

    def __str__(self) -> str:
        return format_trace(self)


def trace_step(
    model: Sequential,
    x: np.ndarray,
    y: np.ndarray,
    apply: bool = False,
    print_fn: Callable[[str], object] | None = print,
) -> StepTrace:
    """Run one training step of ``model`` on the batch (x, y) and report it per layer.

    Args:
        model: a compiled ``Sequential``; one not built yet is built from x in float32,
            as ``fit`` does.
        x: (N, *input_shape) inputs; y: (N, *output_shape) targets.
        apply: False (default): measure the step, then restore the model's weights,
            buffers, optimizer and random generators. True: keep the step.
        print_fn: called with the formatted table (``None``: print nothing).

    Returns a ``StepTrace``. A step that ``train_on_batch`` refuses because the loss
    or a gradient is NaN or infinite is still reported (forward and backward columns),
    with ``diverged`` saying why and every update 0; the model is not updated.
    """
    if not isinstance(model, Sequential):
        raise ValueError(f"trace_step expects a Sequential model, got {type(model).__name__}")
    if model.loss is None or model.optimizer is None:
        raise ValueError("call model.compile(optimizer=..., loss=...) before trace_step")
    dtype = model.dtype if model.built else np.float32  # as fit: float32 unless built
    x = as_float_batch(x, "x", dtype)
    y = as_float_batch(y, "y", dtype)
    if not model.built:
        model.build(x.shape[1:], dtype)

    leaves = model.leaf_layers()
    watches = [_Watch() for _ in leaves]
    params_before = [{key: value.copy() for key, value in layer.params.items()} for layer in leaves]
    weights_before = [array.copy() for array in model.weight_arrays()]
    rng_state = model.rng_state()
    original_optimizer = model.optimizer
    if not apply:
        model.optimizer = copy.deepcopy(original_optimizer)
    diverged = None
    try:
        for layer, watch in zip(leaves, watches):
            _install_watch(layer, watch, model.loss, y)
        try:
            loss = model.train_on_batch(x, y)
        except TrainingDivergedError as error:
            diverged = str(error)
            loss = model._last_loss
        finally:
            for layer in leaves:
                _remove_watch(layer)
        layer_traces = [
            _layer_trace(layer, watch, before)
            for layer, watch, before in zip(leaves, watches, params_before)
        ]
    finally:
        if not apply:
            model.optimizer = original_optimizer
            for array, saved in zip(model.weight_arrays(), weights_before):
                np.copyto(array, saved)
            model.set_rng_state(rng_state)
    trace = StepTrace(
        loss=float(loss),
        applied=apply and diverged is None,
        optimizer=repr(original_optimizer),
        layers=layer_traces,
        diverged=diverged,
    )
    if print_fn is not None:
        print_fn(format_trace(trace))
    return trace


def _norm(array) -> float:
    return float(np.linalg.norm(np.asarray(array, dtype=np.float64).ravel()))


class _Watch:
    """What one leaf layer saw during the step (nan until it is seen)."""

    def __init__(self):
        self.input_shape = self.output_shape = ()
        self.output_mean = self.output_std = self.output_norm = float("nan")
        self.grad_output_norm = self.grad_input_norm = float("nan")
        self.inside_backward = False

    def saw_forward(self, x, outputs):
        outputs64 = np.asarray(outputs, dtype=np.float64)
        self.input_shape, self.output_shape = tuple(np.shape(x)), outputs64.shape
        self.output_mean = float(outputs64.mean())
        self.output_std = float(outputs64.std())
        self.output_norm = _norm(outputs64)
        self.outputs = outputs

    def saw_backward(self, grad_output, grad_input):
        self.grad_output_norm = _norm(grad_output)
        self.grad_input_norm = _norm(grad_input)


def _install_watch(layer, watch, loss, y_true):
    """Wrap the layer's forward/backward so that ``watch`` records what passes through."""
    forward, backward = layer.forward, layer.backward
    backward_from_logits = layer.backward_from_logits

    def watched_forward(x, training=False):
        outputs = forward(x, training=training)
        watch.saw_forward(x, outputs)
        return outputs

    def watched_backward(grad_output):
        watch.inside_backward = True  # backward may call backward_from_logits itself
        try:
            grad_input = backward(grad_output)
        finally:
            watch.inside_backward = False
        watch.saw_backward(grad_output, grad_input)
        return grad_input

    def watched_backward_from_logits(grad_logits):
        grad_input = backward_from_logits(grad_logits)
        if not watch.inside_backward:
            # The model fused sigmoid + binary cross-entropy and started backward at the
            # logits (see nn_core.losses), so dL/d(output) was never formed: report the
            # gradient that the unfused path would have passed.
            watch.saw_backward(loss.gradient(y_true, watch.outputs), grad_input)
        return grad_input

    layer._trace_saved_methods = {
        name: layer.__dict__[name] for name in _WATCHED_METHODS if name in layer.__dict__
    }
    layer.forward = watched_forward
    layer.backward = watched_backward
    layer.backward_from_logits = watched_backward_from_logits


def _remove_watch(layer):
    for name in _WATCHED_METHODS:
        layer.__dict__.pop(name, None)
    layer.__dict__.update(layer.__dict__.pop("_trace_saved_methods", {}))


def _layer_trace(layer, watch, params_before) -> LayerTrace:
    parameters = []
    for key, before in params_before.items():
        norm = _norm(before)
        update_norm = _norm(layer.params[key].astype(np.float64) - before)
        parameters.append(
            ParameterTrace(
                name=f"{layer.name}/{key}",
                shape=tuple(before.shape),
                norm=norm,
                grad_norm=_norm(layer.grads[key]),
                update_norm=update_norm,
                update_ratio=update_norm / norm if norm > 0 else float("nan"),
            )
        )
    return LayerTrace(
        name=layer.name,
        type_name=type(layer).__name__,
        input_shape=watch.input_shape,
        output_shape=watch.output_shape,
        output_mean=watch.output_mean,
        output_std=watch.output_std,
        output_norm=watch.output_norm,
        grad_output_norm=watch.grad_output_norm,
        grad_input_norm=watch.grad_input_norm,
        parameters=parameters,
    )


def _number(value: float) -> str:
    return "-" if np.isnan(value) else f"{value:.3g}"


def _table(header, rows) -> list[str]:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells):
        return "  ".join(
            cell.ljust(width) if i == 0 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths))
        )

    return [line(header), "-" * len(line(header)), *(line(row) for row in rows)]


def format_trace(trace: StepTrace) -> str:
    """The two tables of a ``StepTrace``: layers (forward and backward), then parameters."""
    if trace.diverged:
        status = f"NOT applied: {trace.diverged}"
    elif trace.applied:
        status = "applied to the model"
    else:
        status = "not applied: the model is unchanged"
    lines = [f"one training step: loss {trace.loss:.6g}, {trace.optimizer}, {status}", ""]
    layer_rows = [
        (
            f"{layer.name} ({layer.type_name})",
            str(layer.input_shape),
            str(layer.output_shape),
            _number(layer.output_mean),
            _number(layer.output_std),
            _number(layer.output_norm),
            _number(layer.grad_output_norm),
            _number(layer.grad_input_norm),
        )
        for layer in trace.layers
    ]
    header = ("layer (type)", "input", "output", "mean a", "std a", "||a||", "||dL/da||")
    lines += _table((*header, "||dL/dx||"), layer_rows)
    parameter_rows = [
        (
            parameter.name,
            str(parameter.shape),
            _number(parameter.norm),
            _number(parameter.grad_norm),
            _number(parameter.update_norm),
            _number(parameter.update_ratio),
        )
        for parameter in trace.parameters
    ]
    if parameter_rows:
        parameter_header = (
            "parameter p",
            "shape",
            "||p||",
            "||dL/dp||",
            "||update||",
            "update/||p||",
        )
        lines += ["", *_table(parameter_header, parameter_rows)]
    lines += [
        "",
        "a: the layer's output, x: its input; norms are Euclidean over the whole batch array.",
    ]
    return "\n".join(lines)
