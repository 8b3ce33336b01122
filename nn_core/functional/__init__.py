"""Graph models: ``Input``, layers called on symbolic tensors, and ``Model(inputs, outputs)``.

See ``model.py`` for how forward and backward run through a graph, ``tensor.py`` for
what a call on symbolic tensors records, and ``docs/08_backprop_through_a_graph.md``.
"""

from .input_layer import Input, InputLayer
from .model import Model
from .tensor import Node, SymbolicTensor

__all__ = ["Input", "InputLayer", "Model", "Node", "SymbolicTensor"]
