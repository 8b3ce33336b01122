"""``Model(inputs, outputs)``: a graph of layers that is itself a layer, and a trainable model.

    x = nn.Input((784,))
    h = nn.layers.Dense(64, activation="relu")(x)
    y = nn.layers.Dense(784, activation="sigmoid")(nn.layers.Add()([h, nn.layers.Dense(64)(x)]))
    model = nn.Model(x, y, seed=0)          # builds every layer, in order, from the seed

Forward runs the nodes in topological order (``graph.topological_nodes``), keeping each
tensor's value. Backward runs them in reverse and *adds* into each tensor's gradient,

    dL/dt = sum over the nodes n that read t of  (dL/dt as n's backward returns it),

so a fork (a tensor read twice, a skip connection) needs no special case: its gradient
is complete before the node that made it is reached. Work nobody needs is skipped: nodes
no loss depends on, nodes with no weights anywhere below them, and the dL/dx of a layer
that reads only model inputs (as ``Sequential`` skips its first layer's).

One layer used at several nodes is one set of weights (weight sharing): each use adds its
share to dL/dW. A layer keeps the cache of its last forward only, so before the backward
of an earlier use the model reruns that use's forward on the same inputs with the same
random draws (and the moving statistics put back); this costs one forward per extra use.
A layer with a penalty (a regulariser) cannot be used twice in one graph, since the
penalty would be counted once but differentiated at every use.

Training, evaluation, prediction, saving and callbacks come from the engine shared with
``Sequential`` (``nn_core.training``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..layers.base import Layer, format_shape
from ..layers.weighted import WeightedLayer
from ..sequential import skip_input_gradient
from ..training import TrainableModel
from .graph import check_model_tensors, topological_nodes
from .input_layer import InputLayer
from .structure import flatten_structure, pack_structure

if TYPE_CHECKING:
    from typing_extensions import Self

    from .tensor import SymbolicTensor


class Model(TrainableModel):
    """A model made from ``Input`` tensors and the tensors layers return when called on them.

    ``inputs`` / ``outputs``: one symbolic tensor, a list, or a dict (its keys then name
    the inputs / outputs in ``fit`` and ``predict``; otherwise the input layers' names and
    the output layers' names do). ``seed`` fixes the initial weights, shuffling, dropout
    and noise (``nn_core.random.set_random_seed`` seeds models made without one).
    """

    def __init__(
        self,
        inputs: SymbolicTensor | Sequence[SymbolicTensor] | dict[str, SymbolicTensor],
        outputs: SymbolicTensor | Sequence[SymbolicTensor] | dict[str, SymbolicTensor],
        name: str | None = None,
        seed: int | None = None,
    ):
        model_name = name or "model"
        self._input_tensors, self._input_keys, self._input_kind = flatten_structure(
            inputs, "inputs", model_name
        )
        self._output_tensors, self._output_keys, self._output_kind = flatten_structure(
            outputs, "outputs", model_name
        )
        check_model_tensors(self._input_tensors, "input", model_name)
        check_model_tensors(self._output_tensors, "output", model_name)
        self.nodes = topological_nodes(self._input_tensors, self._output_tensors, model_name)
        self.layers = _layers_in_order(self._input_tensors, self.nodes)
        self._check_unique_names(model_name)
        self._check_shared_layers(model_name)
        super().__init__(seed=seed, name=name)
        self.takes_multiple_inputs = len(self._input_tensors) > 1
        self._build_graph()
        self._values: dict[int, np.ndarray] = {}  # id(tensor) -> its value in the last forward
        self._backward_plans: dict[
            tuple[tuple[bool, ...], tuple[bool, ...], bool], _BackwardPlan
        ] = {}

    # ------------------------------------------------------------------ structure
    @property
    def inputs(self) -> list[SymbolicTensor]:
        return list(self._input_tensors)

    @property
    def outputs(self) -> list[SymbolicTensor]:
        return list(self._output_tensors)

    def _direct_layers(self):
        return [layer for layer in getattr(self, "layers", []) if not isinstance(layer, InputLayer)]

    def leaf_layers(self) -> list[Layer]:
        """Every layer that is not a model, in topological order, each once."""
        seen, leaves = set(), []
        for layer in self._direct_layers():
            for child in _leaves_of(layer):
                if id(child) not in seen:
                    seen.add(id(child))
                    leaves.append(child)
        return leaves

    def _check_unique_names(self, model_name):
        by_name: dict[str, Layer] = {}
        for layer in [*self.layers, *self.leaf_layers()]:
            other = by_name.setdefault(layer.name, layer)
            if other is not layer:
                raise ValueError(
                    f"Model {model_name!r}: two different layers are named {layer.name!r} "
                    f"({type(other).__name__} and {type(layer).__name__}); layer names must be "
                    "unique in a model (they key its weights and its saved file)"
                )

    def _check_shared_layers(self, model_name):
        """A layer used at several nodes may not carry a penalty (see the module docstring)."""
        uses: dict[int, int] = {}
        for node in self.nodes:
            for leaf in _leaves_of(node.layer):
                uses[id(leaf)] = uses.get(id(leaf), 0) + 1
        self._reused = {key for key, count in uses.items() if count > 1}
        for leaf in self._leaves_in_nodes():
            if id(leaf) in self._reused and _has_penalty(leaf):
                raise ValueError(
                    f"Model {model_name!r}: layer {leaf.name!r} ({type(leaf).__name__}) is used "
                    f"{uses[id(leaf)]} times and has a penalty (a regulariser); its penalty "
                    "would be counted once but differentiated at every use. Use two layers "
                    "or drop the regulariser"
                )

    def _leaves_in_nodes(self):
        return [leaf for node in self.nodes for leaf in _leaves_of(node.layer)]

    def _build_graph(self):
        """Build every layer for the shapes and dtype flowing into it, in topological order."""
        dtypes = {tensor.dtype for tensor in self._input_tensors}
        if len(dtypes) > 1:
            found = ", ".join(tensor.describe() for tensor in self._input_tensors)
            raise ValueError(f"Model {self.name!r}: inputs of different dtypes: {found}")
        self.dtype = dtypes.pop()
        for node in self.nodes:
            layer = node.layer
            shapes = [tensor.sample_shape for tensor in node.inputs]
            # Any: one shape, or a tuple of shapes for a layer that takes several inputs
            shape: Any = (
                tuple(shapes) if getattr(layer, "takes_multiple_inputs", False) else shapes[0]
            )
            if not layer.built:
                layer.build(shape, self.dtype)
            elif tuple(layer.input_shape) != tuple(shape) or layer.dtype != self.dtype:
                raise ValueError(
                    f"layer {layer.name!r} is already built for inputs {layer.input_shape} "
                    f"{layer.dtype}, but model {self.name!r} feeds it {shape} {self.dtype}"
                )
            built_shapes = _built_output_shapes(layer)
            recorded = [tensor.sample_shape for tensor in node.outputs]
            if built_shapes != recorded:
                raise ValueError(
                    f"layer {layer.name!r} ({type(layer).__name__}) outputs {built_shapes} once "
                    f"built, but its call recorded {recorded}"
                )
        input_shapes = [tensor.sample_shape for tensor in self._input_tensors]
        output_shapes = [tensor.sample_shape for tensor in self._output_tensors]
        self.input_shape = input_shapes[0] if len(input_shapes) == 1 else tuple(input_shapes)
        self.output_shape = output_shapes[0] if len(output_shapes) == 1 else tuple(output_shapes)
        self.built = True

    def build(
        self, input_shape: Sequence[int] | Sequence[Sequence[int]], dtype: Any = "float32"
    ) -> None:
        """A graph is built when it is made; this only checks what a container asks for."""
        if tuple(input_shape) != tuple(self.input_shape) or np.dtype(dtype) != self.dtype:
            raise ValueError(
                f"model {self.name!r} takes inputs {self.input_shape} {self.dtype}, "
                f"not {tuple(input_shape)} {np.dtype(dtype)}"
            )

    def compute_output_shape(
        self, input_shape: Sequence[int] | Sequence[Sequence[int]]
    ) -> tuple[Any, ...]:
        return self.output_shape

    def flops(self) -> int:
        return int(sum(node.layer.flops() for node in self.nodes))

    # ------------------------------------------------------------------ forward
    def forward(  # type: ignore[override]  # a list of arrays for several outputs
        self,
        x: np.ndarray | Sequence[np.ndarray] | dict[str, np.ndarray],
        training: bool = False,
    ) -> np.ndarray | list[np.ndarray]:
        """Run the graph on x (an array, or a list / dict for several inputs); returns the
        outputs as an array (one output) or a list."""
        xs = self._checked_inputs(self._as_input_list(x, "x"))
        outputs = self._forward_all(xs, training)
        return outputs[0] if len(outputs) == 1 else outputs

    def _checked_inputs(self, xs):
        checked = []
        for tensor, array in zip(self._input_tensors, xs):
            array = np.asarray(array)
            if array.ndim < 1 or array.shape[1:] != tensor.sample_shape:
                raise ValueError(
                    f"model {self.name!r} expects input {tensor.node.layer.name!r} of shape "
                    f"{format_shape(tensor.sample_shape)}, got {array.shape}"
                )
            checked.append(tensor.node.layer._prepare_input(array).astype(self.dtype, copy=False))
        return checked

    def _forward_all(self, xs, training):
        """Every node in order; keeps every tensor's value and, for layers used at several
        nodes, the random state each use started from (to rerun it before its backward)."""
        values = {id(tensor): array for tensor, array in zip(self._input_tensors, xs)}
        self._rng_before = {}
        self._cache_owner = {}
        for node in self.nodes:
            arguments = [values[id(tensor)] for tensor in node.inputs]
            if self._has_reused_leaf(node):
                self._rng_before[id(node)] = _rng_states(node.layer)
                for leaf in _leaves_of(node.layer):
                    self._cache_owner[id(leaf)] = node
            results = node.layer.forward(_call_argument(node, arguments), training=training)
            for tensor, value in zip(node.outputs, _as_outputs(node, results)):
                values[id(tensor)] = value
        self._values = values
        self._training = training
        return [values[id(tensor)] for tensor in self._output_tensors]

    def _has_reused_leaf(self, node):
        return any(id(leaf) in self._reused for leaf in _leaves_of(node.layer))

    # ------------------------------------------------------------------ backward
    def backward(  # type: ignore[override]  # lists for several outputs / inputs
        self, grad_output: np.ndarray | Sequence[np.ndarray]
    ) -> np.ndarray | list[np.ndarray]:
        """dL/d(outputs) (an array, or a list for several outputs) -> dL/d(inputs)."""
        grads = grad_output if isinstance(grad_output, (list, tuple)) else [grad_output]
        if len(grads) != len(self._output_tensors):
            raise ValueError(
                f"model {self.name!r} has {len(self._output_tensors)} outputs, got "
                f"{len(grads)} output gradients"
            )
        input_grads = self._run_backward(list(grads), [False] * len(grads), inputs_needed=True)
        return input_grads[0] if len(input_grads) == 1 else input_grads

    @property
    def final_activation(self) -> Layer | None:
        if len(self._output_tensors) != 1:
            return None
        return self._output_final_activations()[0]

    def backward_from_logits(  # type: ignore[override]  # a list for several inputs
        self, grad_logits: np.ndarray
    ) -> np.ndarray | list[np.ndarray]:
        input_grads = self._run_backward([grad_logits], [True], inputs_needed=True)
        return input_grads[0] if len(input_grads) == 1 else input_grads

    def _backward_all(self, grads, from_logits):
        self._run_backward(grads, from_logits, inputs_needed=False)

    def _output_final_activations(self):
        """The final activation of each output whose logits a loss may use, else None.

        Only for an output read by no other node, listed once, whose layer is used once:
        then dL/d(logits) is all the gradient that layer receives.
        """
        readers: dict[int, int] = {}
        for node in self.nodes:
            for tensor in node.inputs:
                readers[id(tensor)] = readers.get(id(tensor), 0) + 1
        activations = []
        for tensor in self._output_tensors:
            node = tensor.node
            usable = (
                not isinstance(node.layer, InputLayer)
                and readers.get(id(tensor), 0) == 0
                and sum(t is tensor for t in self._output_tensors) == 1
                and len(node.outputs) == 1
                and not self._has_reused_leaf(node)
            )
            activations.append(node.layer.final_activation if usable else None)
        return activations

    def _run_backward(self, grads, from_logits, inputs_needed):
        """Reverse topological order, adding each node's input gradients into its inputs'."""
        plan = self._backward_plan(
            tuple(g is not None for g in grads), tuple(from_logits), inputs_needed
        )
        tensor_grads: dict[int, np.ndarray] = {}
        logits_grads: dict[int, np.ndarray] = {}
        for tensor, grad, flag in zip(self._output_tensors, grads, from_logits):
            if grad is None:
                continue
            if flag:
                logits_grads[id(tensor.node)] = grad
            else:
                _add_gradient(tensor_grads, tensor, grad)
        shared_sums: dict[int, Any] = {}
        ran: set[int] = set()
        self._rng_after: dict[int, tuple[Layer, dict]] = {}
        for node, skip_input in plan:
            if id(node) in logits_grads:
                grad, method = logits_grads[id(node)], node.layer.backward_from_logits
            else:
                output_grads = [tensor_grads.pop(id(tensor), None) for tensor in node.outputs]
                if all(g is None for g in output_grads):
                    continue  # nothing reached this node (e.g. an output without a loss)
                output_grads = [
                    np.zeros((len(self._values[id(t)]), *t.sample_shape), self.dtype)
                    if g is None
                    else g
                    for t, g in zip(node.outputs, output_grads)
                ]
                grad = output_grads[0] if len(output_grads) == 1 else output_grads
                method = node.layer.backward
            if self._has_reused_leaf(node):
                self._rerun_if_cache_is_not_this_use(node)
            skipped = _skip_input_gradient(node.layer) if skip_input else None
            try:
                input_grads = method(grad)
            finally:
                if skipped is not None:
                    del skipped.input_gradient_needed
            ran.update(id(leaf) for leaf in _leaves_of(node.layer))
            if self._has_reused_leaf(node):
                _sum_shared_gradients(node.layer, self._reused, shared_sums)
            if not skip_input:
                input_grads = input_grads if isinstance(input_grads, list) else [input_grads]
                for tensor, input_grad in zip(node.inputs, input_grads):
                    if input_grad is not None and plan.needs_gradient(tensor):
                        _add_gradient(tensor_grads, tensor, input_grad)
        # A rerun replayed earlier random draws; the next forward must continue after the
        # last use's draws, not repeat them.
        for leaf, state in self._rng_after.values():
            leaf.rng.bit_generator.state = state
        for leaf in self.leaf_layers():
            if id(leaf) in shared_sums:
                for key, total in shared_sums[id(leaf)].items():
                    np.copyto(leaf.grads[key], total)
            elif id(leaf) not in ran:
                for grad in leaf.grads.values():  # no loss reached it: no stale gradient
                    grad.fill(0)
        if not inputs_needed:
            return None
        return [
            tensor_grads.get(
                id(t), np.zeros((len(self._values[id(t)]), *t.sample_shape), self.dtype)
            )
            for t in self._input_tensors
        ]

    def _backward_plan(self, has_grad, from_logits, inputs_needed):
        key = (has_grad, from_logits, inputs_needed)
        if key not in self._backward_plans:
            self._backward_plans[key] = _BackwardPlan(self, has_grad, inputs_needed)
        return self._backward_plans[key]

    def _rerun_if_cache_is_not_this_use(self, node):
        """Rerun ``node``'s forward when its layer's caches belong to another of its uses."""
        if all(self._cache_owner.get(id(leaf)) is node for leaf in _leaves_of(node.layer)):
            return
        for leaf in _leaves_of(node.layer):  # put back after the backward pass (see there)
            self._rng_after.setdefault(id(leaf), (leaf, leaf.rng.bit_generator.state))
        buffers = [(b, b.copy()) for leaf in _leaves_of(node.layer) for b in leaf.buffers.values()]
        _set_rng_states(node.layer, self._rng_before[id(node)])
        arguments = [self._values[id(tensor)] for tensor in node.inputs]
        node.layer.forward(_call_argument(node, arguments), training=self._training)
        for array, saved in buffers:  # the rerun must not move the moving statistics again
            np.copyto(array, saved)
        for leaf in _leaves_of(node.layer):
            self._cache_owner[id(leaf)] = node

    # ------------------------------------------------------------------ training-engine hooks
    def _structure_known(self):
        return True

    def _input_specs(self):
        return [(key, t.sample_shape) for key, t in zip(self._input_names(), self._input_tensors)]

    def _output_specs(self):
        names = self._output_names()
        return [(key, t.sample_shape) for key, t in zip(names, self._output_tensors)]

    def _input_names(self):
        if self._input_keys is not None:
            return list(self._input_keys)
        return [tensor.node.layer.name for tensor in self._input_tensors]

    def _output_names(self):
        if self._output_keys is not None:
            return list(self._output_keys)
        names = [tensor.node.layer.name for tensor in self._output_tensors]
        # A layer with two outputs in the model (or used twice): keep the names unique.
        return [
            name if names.count(name) == 1 else f"{name}_{names[:i].count(name)}"
            for i, name in enumerate(names)
        ]

    def _pack_outputs(self, outputs):
        return pack_structure(outputs, self._output_keys, self._output_kind)

    # ------------------------------------------------------------------ config
    def get_config(self) -> dict:
        from .config import graph_config

        return graph_config(self)

    @classmethod
    def from_config(cls, config: dict) -> Self:
        from .config import graph_from_config

        return graph_from_config(cls, config)


class _BackwardPlan(list):
    """The nodes a backward pass runs, in reverse order, each with "skip its dL/dx".

    A tensor needs a gradient when weights lie at or below the node that makes it (or it
    is a model input whose gradient is wanted); a node runs when a loss can reach it and
    its output needs a gradient; it skips dL/dx when none of its inputs needs one.
    """

    def __init__(self, model, has_grad, inputs_needed):
        super().__init__()
        wanted: set[int] = set()
        if inputs_needed:
            wanted.update(id(tensor) for tensor in model._input_tensors)
        for node in model.nodes:
            below = any(id(tensor) in wanted for tensor in node.inputs)
            if below or any(leaf.params for leaf in _leaves_of(node.layer)):
                wanted.update(id(tensor) for tensor in node.outputs)
        reached = set()
        for tensor, flag in zip(model._output_tensors, has_grad):
            if flag:
                reached.add(id(tensor))
        for node in reversed(model.nodes):
            if not any(id(t) in reached for t in node.outputs):
                continue
            if not any(id(t) in wanted for t in node.outputs):
                continue
            needs_input = [id(tensor) in wanted for tensor in node.inputs]
            reached.update(id(tensor) for tensor in node.inputs)
            self.append((node, not any(needs_input)))
        self._wanted = wanted

    def needs_gradient(self, tensor: SymbolicTensor) -> bool:
        return id(tensor) in self._wanted


def _leaves_of(layer):
    return layer.leaf_layers() if isinstance(layer, TrainableModel) else [layer]


def _has_penalty(layer) -> bool:
    if isinstance(layer, WeightedLayer):
        return (
            layer.kernel_regularizer is not None
            or layer.activity_regularizer is not None
            or (type(layer).penalty is not WeightedLayer.penalty)
        )
    return type(layer).penalty is not Layer.penalty


def _layers_in_order(input_tensors, nodes):
    """Input layers first, then each node's layer once, in topological order (Keras)."""
    layers, seen = [], set()
    for layer in [t.node.layer for t in input_tensors] + [node.layer for node in nodes]:
        if id(layer) not in seen:
            seen.add(id(layer))
            layers.append(layer)
    return layers


def _built_output_shapes(layer):
    if isinstance(layer, TrainableModel):
        return [shape for _, shape in layer._output_specs()]
    return [tuple(layer.output_shape)]


def _call_argument(node, arguments):
    return arguments if getattr(node.layer, "takes_multiple_inputs", False) else arguments[0]


def _as_outputs(node, results):
    if len(node.outputs) == 1:
        return [results]
    return list(results)


def _add_gradient(tensor_grads, tensor, grad):
    """dL/dt accumulates over every node that reads t (a fork adds its branches)."""
    previous = tensor_grads.get(id(tensor))
    tensor_grads[id(tensor)] = grad if previous is None else previous + grad


def _skip_input_gradient(layer):
    """The first leaf that reads the input of ``layer``, told to skip its dL/dx (or None)."""
    while isinstance(layer, TrainableModel) and not isinstance(layer, Model):
        if not layer.layers:
            return None
        layer = layer.layers[0]
    if isinstance(layer, TrainableModel):
        return None
    return skip_input_gradient(layer)


def _rng_states(layer):
    return [leaf.rng.bit_generator.state for leaf in _leaves_of(layer)]


def _set_rng_states(layer, states):
    for leaf, state in zip(_leaves_of(layer), states):
        leaf.rng.bit_generator.state = state


def _sum_shared_gradients(layer, reused, sums):
    """Add this use's dL/dW of every reused leaf of ``layer`` into ``sums``."""
    for leaf in _leaves_of(layer):
        if id(leaf) not in reused:
            continue
        totals = sums.setdefault(id(leaf), {})
        for key, grad in leaf.grads.items():
            totals[key] = grad.copy() if key not in totals else totals[key] + grad
