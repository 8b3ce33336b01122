"""GraphBuilder: the ONNX nodes and initializers of one export, as the layer emitters add them.

Every value in the graph has a unique name, made from the layer that computes it
(``dense_0/Gemm``, ``dense_0/Gemm_1`` for a second use). Weights become initializers
once per (layer, parameter), so a layer used twice, or a kernel reused transposed by a
``DenseTransposed``, is one tensor in the file as it is one array in the model.
"""

from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper, numpy_helper

ONNX_FLOAT_TYPES = {np.dtype("float32"): TensorProto.FLOAT, np.dtype("float64"): TensorProto.DOUBLE}


def channels_first_perm(rank: int) -> list[int]:
    """Transpose permutation (N, ..., C) -> (N, C, ...): [0, 3, 1, 2] for an NHWC image."""
    return [0, rank - 1, *range(1, rank - 1)]


def channels_last_perm(rank: int) -> list[int]:
    """Transpose permutation (N, C, ...) -> (N, ..., C): [0, 2, 3, 1] for an NCHW image."""
    return [0, *range(2, rank), 1]


class GraphBuilder:
    """Collects the nodes (in an order that runs) and initializers of a graph in ``dtype``.

    ``reserved``: names already taken (the graph's inputs and outputs), never reused.
    """

    def __init__(self, dtype, reserved=()):
        self.dtype = np.dtype(dtype)
        self.elem_type = ONNX_FLOAT_TYPES[self.dtype]
        self.nodes = []
        self.initializers = []
        self._taken = set(reserved)
        self._weights = {}

    def fresh_name(self, base: str) -> str:
        """``base``, or ``base_1``, ``base_2``, ... : a value name not used before."""
        name, count = base, 0
        while name in self._taken:
            count += 1
            name = f"{base}_{count}"
        self._taken.add(name)
        return name

    def node(self, op_type: str, inputs, owner: str, **attributes) -> str:
        """Append one ``op_type`` node reading ``inputs``; returns its (only) output's name.

        ``owner``: the layer name the node is named after (``<owner>/<op_type>``).
        """
        output = self.fresh_name(f"{owner}/{op_type}")
        self.nodes.append(
            helper.make_node(op_type, list(inputs), [output], name=output, **attributes)
        )
        return output

    def constant(self, owner: str, label: str, array: np.ndarray) -> str:
        """A new initializer holding ``array`` as it is (its own dtype); returns its name."""
        name = self.fresh_name(f"{owner}/{label}")
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def weight(self, layer, key: str, array: np.ndarray, layout=None) -> str:
        """The initializer of ``layer``'s ``key`` in the graph's dtype, made on first request.

        ``layout``: an axis permutation applied to ``array`` (Keras kernel -> ONNX kernel);
        the same (layer, key, layout) always returns the same initializer.
        """
        cache_key = (id(layer), key, None if layout is None else tuple(layout))
        if cache_key not in self._weights:
            values = np.asarray(array, dtype=self.dtype)
            if layout is not None:
                values = np.transpose(values, layout)
            self._weights[cache_key] = self.constant(layer.name, key, values)
        return self._weights[cache_key]

    def transpose(self, value: str, perm, owner: str) -> str:
        """A Transpose node: the layout changes of NHWC <-> NCHW are written here once."""
        return self.node("Transpose", [value], owner, perm=list(perm))
