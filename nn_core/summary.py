"""``model.summary()``: a table of layers, output shapes, parameter counts and FLOPs."""

from __future__ import annotations


def _rows(model, depth=0):
    from .sequential import Sequential

    for layer in model.layers:
        shape = "(None, " + ", ".join(str(d) for d in layer.output_shape) + ")"
        label = "  " * depth + f"{layer.name} ({type(layer).__name__})"
        yield label, shape, layer.count_params(), layer.flops()
        if isinstance(layer, Sequential):
            yield from _rows(layer, depth + 1)


def format_flops(flops: int) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if flops >= scale:
            return f"{flops / scale:.2f}{unit}"
    return str(flops)


def format_summary(model) -> str:
    """The summary table of a built ``Sequential``; FLOPs are per sample, forward pass."""
    header = ("Layer (type)", "Output shape", "Params", "FLOPs/sample")
    rows = [
        (label, shape, f"{params:,}", format_flops(flops))
        for label, shape, params, flops in _rows(model)
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    rule = "-" * (sum(widths) + 3 * 3)

    def line(cells):
        return " | ".join(
            str(cell).ljust(width) if i < 2 else str(cell).rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths))
        )

    trainable = sum(l.count_params() for l in model.leaf_layers() if l.trainable)
    buffers = sum(b.size for l in model.leaf_layers() for b in l.buffers.values())
    input_dims = ", ".join(map(str, model.input_shape))
    lines = [
        f'Model: "{model.name}"  input (None, {input_dims}) {model.dtype}',
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
