"""``model.summary()``: a table of layers, output shapes, parameter counts and FLOPs.

For a graph ``Model`` each row also lists the tensors the layer was called on
("Connected to", as Keras prints it): ``dense_0/0`` is the first call of ``dense_0``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .training import TrainableModel


def _shape_text(shape) -> str:
    if shape and isinstance(shape[0], tuple):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(None, " + ", ".join(str(d) for d in shape) + ")"


def _connections(model, layer) -> str:
    nodes = [node for node in getattr(model, "nodes", []) if node.layer is layer]
    return "; ".join(", ".join(t.name for t in node.inputs) for node in nodes)


def _rows(model, depth=0):
    from .training import TrainableModel

    for layer in model.layers:
        label = "  " * depth + f"{layer.name} ({type(layer).__name__})"
        params = layer.count_params()
        yield (
            label,
            _shape_text(layer.output_shape),
            params,
            layer.flops(),
            _connections(model, layer),
        )
        if isinstance(layer, TrainableModel):
            yield from _rows(layer, depth + 1)


def format_flops(flops: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if flops >= scale:
            return f"{flops / scale:.2f}{unit}"
    return str(flops)


def format_summary(model: TrainableModel) -> str:
    """The summary table of a built model; FLOPs are per sample, forward pass."""
    graph = hasattr(model, "nodes")
    header: tuple[str, ...] = (
        "Layer (type)",
        "Output shape",
        "Params",
        "FLOPs/sample",
        "Connected to",
    )
    columns = 5 if graph else 4
    rows = [
        (label, shape, f"{params:,}", format_flops(flops), connected)[:columns]
        for label, shape, params, flops, connected in _rows(model)
    ]
    header = header[:columns]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(columns)]
    rule = "-" * (sum(widths) + 3 * (columns - 1))

    def line(cells):
        return " | ".join(
            str(cell).ljust(width) if i in (0, 1, 4) else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths))
        ).rstrip()

    leaves = model.leaf_layers()
    trained = {id(layer) for layer in model._trained_leaf_layers()}
    trainable = sum(l.count_params() for l in leaves if id(l) in trained)
    buffers = sum(b.size for l in leaves for b in l.buffers.values())
    if graph:
        # A graph Model (it has nodes) has inputs; mypy does not narrow through ``graph``.
        model_inputs = model.inputs  # type: ignore[attr-defined]
        inputs = ", ".join(
            f"{t.node.layer.name} {_shape_text(t.sample_shape)}" for t in model_inputs
        )
        title = f'Model: "{model.name}"  inputs {inputs} {model.dtype}'
    else:
        input_dims = ", ".join(map(str, model.input_shape))
        title = f'Model: "{model.name}"  input (None, {input_dims}) {model.dtype}'
    lines = [
        title,
        rule,
        line(header),
        rule,
        *(line(row) for row in rows),
        rule,
        f"Total params: {model.count_params() + buffers:,} (trainable {trainable:,}, "
        f"non-trainable {model.count_params() - trainable + buffers:,})",
        f"Forward FLOPs per sample: {format_flops(model.flops())}",
    ]
    return "\n".join(lines)
