"""A graph model's config (JSON) and its rebuilding, for ``save`` / ``load_model``.

    {"name": ..., "seed": ...,
     "layers": [{"class_name": "InputLayer", "config": {...}}, {"class_name": "Dense", ...}],
     "nodes":  [{"layer": "input_layer_0", "inputs": []},
                {"layer": "dense_0", "inputs": [[0, 0]]}, ...],
     "inputs":  [0, ...],                 node indices of the input layers' nodes
     "outputs": [[2, 0], ...],            [node index, output index] of each output
     "input_keys" / "output_keys": dict keys or null, "output_kind": "single" | "list" | "dict"}

Every layer appears once in "layers" (a shared layer is one entry, used by several
nodes). A node reads tensors by [node index, output index] of nodes listed before it,
so the list is a topological order and replaying it rebuilds the graph; a reference to a
node that is not earlier (a cycle or a dangling tensor), an unknown layer or class, or a
duplicate name is refused with the entry at fault named. ``load_model`` turns any of
these into ``ModelFileError``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from .input_layer import InputLayer

if TYPE_CHECKING:
    from ..layers.base import Layer
    from .model import Model
    from .tensor import SymbolicTensor

ModelT = TypeVar("ModelT", bound="Model")


def graph_config(model: Model) -> dict:
    nodes = [tensor.node for tensor in model.inputs] + list(model.nodes)
    index_of = {id(node): i for i, node in enumerate(nodes)}

    def reference(tensor):
        return [index_of[id(tensor.node)], tensor.index]

    return {
        "name": model.name,
        "seed": model.seed,
        "layers": [
            {"class_name": type(layer).__name__, "config": layer.get_config()}
            for layer in model.layers
        ],
        "nodes": [
            {"layer": node.layer.name, "inputs": [reference(t) for t in node.inputs]}
            for node in nodes
        ],
        "inputs": [index_of[id(tensor.node)] for tensor in model.inputs],
        "outputs": [reference(tensor) for tensor in model.outputs],
        "input_keys": model._input_keys,
        "output_keys": model._output_keys,
        "input_kind": model._input_kind,
        "output_kind": model._output_kind,
    }


def graph_from_config(model_class: type[ModelT], config: dict) -> ModelT:
    from ..layers import layer_class
    from ..layers.dense_transposed import link_tied_layers

    if not isinstance(config, dict):
        raise ValueError(f"a graph config must be a dict, got {type(config).__name__}")
    layers = {}
    for position, entry in enumerate(_list(config, "layers")):
        name = entry["class_name"]
        layer: Layer
        if name == "InputLayer":
            layer = InputLayer(**entry["config"])
        else:
            layer = layer_class(name).from_config(entry["config"])
        if layer.name in layers:
            raise ValueError(f"layers[{position}]: a second layer is named {layer.name!r}")
        layers[layer.name] = layer
    link_tied_layers(list(layers.values()))
    tensors: list[list[SymbolicTensor]] = []  # per node: its output tensors
    for position, entry in enumerate(_list(config, "nodes")):
        layer_name = entry["layer"]
        if layer_name not in layers:
            raise ValueError(
                f"nodes[{position}] calls layer {layer_name!r}, which is not among the "
                f"config's layers {sorted(layers)}"
            )
        layer = layers[layer_name]
        arguments = [
            _tensor(tensors, reference, f"nodes[{position}]") for reference in entry["inputs"]
        ]
        if isinstance(layer, InputLayer):
            if arguments:
                raise ValueError(f"nodes[{position}]: input layer {layer_name!r} reads tensors")
            tensors.append([layer.output])
            continue
        if not arguments:
            raise ValueError(f"nodes[{position}]: layer {layer_name!r} is called on no tensor")
        several = getattr(layer, "takes_multiple_inputs", False)
        result = layer(arguments if several else _single(arguments, position, layer_name))
        tensors.append(result if isinstance(result, list) else [result])
    inputs = []
    for position, index in enumerate(_list(config, "inputs")):
        if not isinstance(index, int) or not 0 <= index < len(tensors):
            raise ValueError(f"inputs[{position}] refers to node {index!r}, which does not exist")
        inputs.append(tensors[index][0])
    outputs = [
        _tensor(tensors, reference, f"outputs[{position}]")
        for position, reference in enumerate(_list(config, "outputs"))
    ]
    return model_class(
        _structure(inputs, config.get("input_keys"), config.get("input_kind", "list")),
        _structure(outputs, config.get("output_keys"), config.get("output_kind", "list")),
        name=config.get("name"),
        seed=config.get("seed"),
    )


def _list(config, key):
    value = config.get(key)
    if not isinstance(value, list):
        raise ValueError(f"the graph config's {key!r} must be a list, got {type(value).__name__}")
    return value


def _tensor(tensors, reference, where):
    """The tensor [node index, output index] of an earlier node."""
    if (
        not isinstance(reference, list)
        or len(reference) != 2
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in reference)
    ):
        raise ValueError(f"{where}: a tensor reference must be [node, output], got {reference!r}")
    node, output = reference
    if not 0 <= node < len(tensors):
        raise ValueError(
            f"{where} reads node {node}, which is not an earlier node (a cycle or a dangling "
            f"tensor: nodes may read only nodes listed before them)"
        )
    if not 0 <= output < len(tensors[node]):
        raise ValueError(f"{where} reads output {output} of node {node}, which has none")
    return tensors[node][output]


def _single(arguments, position, layer_name):
    if len(arguments) != 1:
        raise ValueError(
            f"nodes[{position}]: layer {layer_name!r} takes one input, the node gives "
            f"{len(arguments)}"
        )
    return arguments[0]


def _structure(tensors, keys, kind):
    if kind == "dict":
        if not isinstance(keys, list) or len(keys) != len(tensors):
            raise ValueError(f"dict keys {keys!r} do not match {len(tensors)} tensors")
        return dict(zip(keys, tensors))
    if kind == "single":
        if len(tensors) != 1:
            raise ValueError(f"a single tensor was expected, the config lists {len(tensors)}")
        return tensors[0]
    if kind != "list":
        raise ValueError(f"unknown structure kind {kind!r}")
    return list(tensors)
