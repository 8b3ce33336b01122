"""Symbolic tensors and nodes: how calling layers on ``Input`` tensors records a graph.

    x = nn.Input((784,))                    # a SymbolicTensor made by an InputLayer's node
    h = nn.layers.Dense(32)(x)              # Node(layer=dense, inputs=[x], outputs=[h])
    y = nn.layers.Dense(784)(h)             # Node(layer=dense_1, inputs=[h], outputs=[y])

A symbolic tensor holds no values: only the per-sample shape and dtype of what will
flow there, and the node that makes it. A node is one call of a layer: the layer, the
tensors it was called on and the tensors it returned. The graph is those nodes and
nothing more (Keras's design); ``Model(x, y)`` walks them back from ``y``. Nothing is
built or allocated by a symbolic call: the model builds its layers, in order, when it is
made, so that its seed decides their initial weights.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..layers.base import format_shape

if TYPE_CHECKING:
    from ..layers.base import Layer


class SymbolicTensor:
    """A placeholder for the batch of arrays that will flow along one edge of a graph.

    ``shape``: ``(None, *sample_shape)``, as Keras prints it; ``dtype``; ``node``: the
    node that makes it; ``index``: which of that node's outputs it is; ``name``: unique
    within the process, ``"<layer name>/<call index>"`` (``":<index>"`` appended for a
    node with several outputs).
    """

    def __init__(self, sample_shape: Sequence[int], dtype: Any, node: Node, index: int = 0):
        self.sample_shape = tuple(int(d) for d in sample_shape)
        self.dtype = np.dtype(dtype)
        self.node = node
        self.index = index

    @property
    def shape(self) -> tuple[int | None, ...]:
        return (None, *self.sample_shape)

    @property
    def name(self) -> str:
        base = f"{self.node.layer.name}/{self.node.call_index}"
        return base if len(self.node.outputs) <= 1 else f"{base}:{self.index}"

    def __repr__(self):
        return f"<SymbolicTensor {self.name!r} shape={self.shape} dtype={self.dtype.name}>"

    def describe(self) -> str:
        """``'dense_0/0' (N, 32) float32``, for error messages."""
        return f"{self.name!r} {format_shape(self.sample_shape)} {self.dtype.name}"

    def __array__(self, *args, **kwargs):
        raise TypeError(
            f"symbolic tensor {self.name!r} holds no values: it stands for data that will "
            "flow through a model; make an nn_core.Model from it and call model.predict(x)"
        )

    def _no_arithmetic(self, *args):
        raise TypeError(
            f"symbolic tensor {self.name!r}: arithmetic on symbolic tensors is not "
            "supported; use the merge layers, e.g. nn_core.layers.Add()([a, b])"
        )

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = _no_arithmetic
    __truediv__ = __rtruediv__ = __matmul__ = __neg__ = _no_arithmetic

    def __bool__(self):
        raise TypeError(f"symbolic tensor {self.name!r} has no truth value")


class Node:
    """One call of ``layer`` on ``inputs`` (symbolic tensors) that returned ``outputs``.

    ``call_index``: the position of this node among the layer's calls
    (``layer._inbound_nodes``), so the first call of a layer is node 0 of that layer.
    """

    def __init__(
        self,
        layer: Layer,
        inputs: Iterable[SymbolicTensor],
        output_shapes: Iterable[Sequence[int]],
        dtype: Any,
    ):
        self.layer = layer
        self.inputs = list(inputs)
        self.call_index = len(layer._inbound_nodes)
        layer._inbound_nodes.append(self)
        self.outputs = [
            SymbolicTensor(shape, dtype, self, index) for index, shape in enumerate(output_shapes)
        ]

    def __repr__(self):
        inputs = ", ".join(tensor.name for tensor in self.inputs)
        return f"<Node {self.layer.name} ({type(self.layer).__name__}) <- [{inputs}]>"


def is_symbolic(value: Any) -> bool:
    """True for a SymbolicTensor or a list/tuple holding one."""
    if isinstance(value, SymbolicTensor):
        return True
    return isinstance(value, (list, tuple)) and any(isinstance(v, SymbolicTensor) for v in value)
