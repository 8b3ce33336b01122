"""From output tensors back to the nodes that compute them, in an order that can run.

``topological_nodes(inputs, outputs)`` walks back from every output through each node's
input tensors, depth first, and lists a node only after every node it reads from
(children before parents, as micrograd builds its order). Forward runs the list in order;
backward runs it reversed, so a tensor's gradient is complete, summed over every node
that reads it, before the node that made it is reached.

Refused, each with the tensor or layer at fault in the message:

* a model input that is not an ``Input`` tensor;
* an output that depends on an ``Input`` that is not among the model's inputs
  (a disconnected graph);
* a model input that no output uses;
* a cycle (possible only in a hand-edited config; calls can only use existing tensors).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .input_layer import InputLayer
from .tensor import SymbolicTensor

if TYPE_CHECKING:
    from .tensor import Node


def check_model_tensors(tensors: Sequence[Any], what: str, model_name: str) -> None:
    """Every entry must be a SymbolicTensor; model inputs must come from ``Input``."""
    for position, tensor in enumerate(tensors):
        if not isinstance(tensor, SymbolicTensor):
            raise TypeError(
                f"Model {model_name!r}: {what} {position} is a {type(tensor).__name__}, not a "
                "symbolic tensor; build the graph from nn_core.Input(shape) by calling layers"
            )
        if what == "input" and not isinstance(tensor.node.layer, InputLayer):
            layer = tensor.node.layer
            raise ValueError(
                f"Model {model_name!r}: input {position} is tensor {tensor.name!r}, made by "
                f"layer {layer.name!r} ({type(layer).__name__}); model inputs must be the "
                "tensors that nn_core.Input(...) returns"
            )
    seen = set()
    for tensor in tensors:
        if id(tensor) in seen and what == "input":
            raise ValueError(f"Model {model_name!r}: input {tensor.name!r} is given twice")
        seen.add(id(tensor))


def topological_nodes(
    inputs: Sequence[SymbolicTensor], outputs: Sequence[SymbolicTensor], model_name: str
) -> list[Node]:
    """The nodes between ``inputs`` and ``outputs``, each after the nodes it reads from.

    Input nodes are not listed (they run nothing). Raises ValueError for a disconnected
    graph, an unused input or a cycle.
    """
    input_ids = {id(tensor) for tensor in inputs}
    order, done, in_progress, used_inputs = [], set(), set(), set()

    def node_to_visit(tensor, output):
        """The node making ``tensor`` if it still has to be listed, else None."""
        if id(tensor) in input_ids:
            used_inputs.add(id(tensor))
            return None
        node = tensor.node
        if isinstance(node.layer, InputLayer):
            names = [t.name for t in inputs]
            raise ValueError(
                f"Model {model_name!r}: output {output.name!r} depends on input "
                f"{tensor.name!r}, which is not among the model's inputs {names} "
                "(the graph is disconnected)"
            )
        if id(node) in in_progress:
            raise ValueError(
                f"Model {model_name!r}: the graph has a cycle through layer "
                f"{node.layer.name!r} (tensor {tensor.name!r})"
            )
        return None if id(node) in done else node

    # Depth first without recursion (a deep stack must not hit Python's recursion limit):
    # each stack entry is [node, index of the next input tensor to visit].
    for output in outputs:
        first = node_to_visit(output, output)
        if first is None:
            continue
        stack = [[first, 0]]
        in_progress.add(id(first))
        while stack:
            node, position = stack[-1]
            if position < len(node.inputs):
                stack[-1][1] += 1
                parent = node_to_visit(node.inputs[position], output)
                if parent is not None:
                    in_progress.add(id(parent))
                    stack.append([parent, 0])
            else:
                stack.pop()
                in_progress.discard(id(node))
                done.add(id(node))
                order.append(node)
    unused = [tensor.name for tensor in inputs if id(tensor) not in used_inputs]
    if unused:
        raise ValueError(
            f"Model {model_name!r}: inputs {unused} are not used by any output; remove them "
            "or connect them"
        )
    return order
