"""The layer contract every layer in nn_core follows.

A layer is a plain object with

* ``build(input_shape, dtype="float32")``: create parameters for inputs of
  ``input_shape`` (without the batch axis) in ``dtype``;
* ``forward(x, training=False)``: compute the output and keep what ``backward``
  needs (the "cache");
* ``backward(grad_output) -> grad_input``: given dL/d(output) for the batch of the
  last ``forward``, store dL/d(param) in ``self.grads`` and return dL/d(input).
  Backward never changes a weight; the optimizer does that. A model's first Dense,
  Conv2D or Conv2DTranspose, whose dL/dx nobody reads, has ``input_gradient_needed``
  switched off and returns None instead (its type says ``np.ndarray | None``).
* ``params`` and ``grads``: dicts with the same keys and shapes.

A layer that is not built builds itself on its first ``forward`` from
``x.shape[1:]`` and ``x.dtype``.
"""

from __future__ import annotations

import collections
import itertools
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..validation import check_finite, check_numeric_dtype

if TYPE_CHECKING:
    from typing_extensions import Self

    from ..functional.tensor import Node

_FLOAT_DTYPES = (np.dtype("float32"), np.dtype("float64"))
# One counter per layer class, so default names read dense_0, dense_1, conv2d_0, ...
_name_counters: dict[str, itertools.count] = collections.defaultdict(itertools.count)


def as_float_dtype(dtype: Any) -> np.dtype:
    """Return ``dtype`` as a NumPy float32/float64 dtype, or raise ValueError."""
    try:
        resolved = np.dtype(dtype)
    except TypeError as error:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {dtype!r}") from error
    if resolved not in _FLOAT_DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64', got {resolved.name!r}")
    return resolved


def format_shape(shape: Sequence[int]) -> str:
    """``(784,)`` -> ``"(N, 784)"``: a shape with its batch axis, as users print it."""
    return "(N, " + ", ".join(str(d) for d in shape) + ")"


class Layer:
    """Base class: bookkeeping shared by all layers (names, building, shape checks)."""

    def __init__(self, name: str | None = None):
        if name is None:
            prefix = _snake_case(type(self).__name__)
            name = f"{prefix}_{next(_name_counters[prefix])}"
        if not isinstance(name, str) or not name:
            raise ValueError(f"layer name must be a non-empty string, got {name!r}")
        self.name = name
        self.built = False
        # Set by build(): one sample's shape, without the batch axis (a list of such
        # shapes for the merge layers). Typed Any: it is None only before build, and
        # layers read it only after, so an Optional would need a check at every use.
        self.input_shape: Any = None
        self.output_shape: Any = None
        self.dtype: Any = None  # np.dtype (float32 or float64) once built
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        # Non-trainable state saved with the weights (batch-norm moving statistics).
        self.buffers: dict[str, np.ndarray] = {}
        self.rng = np.random.default_rng()
        self.trainable = True
        # The calls of this layer on symbolic tensors (nn_core.functional.Node), in order.
        self._inbound_nodes: list[Node] = []

    #: True for layers whose ``forward`` takes a list of arrays (the merge layers).
    takes_multiple_inputs = False

    def __call__(self, inputs, training=None, **kwargs):
        """Keras's habit: ``layer(tensor)`` records a graph node, ``layer(array)`` computes.

        On symbolic tensors (``nn_core.Input`` and what layers return for it) this records
        the call and returns the output's symbolic tensor; on arrays it is
        ``forward(inputs, training=bool(training))``.
        """
        if kwargs:
            raise TypeError(
                f"layer {self.name!r} ({type(self).__name__}) was called with unsupported "
                f"keyword arguments {sorted(kwargs)}; nn_core layers take (inputs, training=)"
            )
        from ..functional.tensor import is_symbolic

        if is_symbolic(inputs):
            if training is not None:
                raise TypeError(
                    f"layer {self.name!r}: training= cannot be fixed on a symbolic call; "
                    "fit runs layers in training mode and predict in inference mode"
                )
            from ..functional.calls import call_symbolically

            return call_symbolically(self, inputs)
        return self.forward(inputs, training=bool(training))

    # ------------------------------------------------------------------ building
    def build(self, input_shape: Sequence[int], dtype: Any = "float32") -> None:
        """Create parameters for inputs of ``input_shape`` (no batch axis) in ``dtype``."""
        self.input_shape = tuple(int(d) for d in input_shape)
        self.dtype = as_float_dtype(dtype)
        self.output_shape = tuple(self.compute_output_shape(self.input_shape))
        self.built = True

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        """Shape of one output sample for one input sample of ``input_shape``."""
        return tuple(input_shape)

    def set_rng(self, rng: np.random.Generator) -> None:
        """Give this layer its own random generator (initialisation, dropout, noise)."""
        self.rng = rng

    def _init_params(self, **arrays):
        """Register parameters, with zeroed gradients of the same shapes."""
        self.params = {
            key: np.ascontiguousarray(value, dtype=self.dtype) for key, value in arrays.items()
        }
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def _prepare_input(self, x) -> np.ndarray:
        """Build on the first call, then check ``x`` against the built input shape.

        Every call: integer inputs are converted to the layer's float dtype; booleans,
        complex numbers, strings and objects are refused. The first call (the one that
        builds the layer) also refuses NaN and Inf; later calls skip that scan, which
        would cost a pass over every activation of every training step (``fit``,
        ``evaluate`` and ``predict`` check the model's inputs themselves).
        Raises ValueError naming this layer, the expected and the received value.
        """
        if not isinstance(x, np.ndarray):
            x = np.asarray(x)
        if x.dtype not in _FLOAT_DTYPES:
            check_numeric_dtype(x, f"layer {self.name!r} ({type(self).__name__}) input")
        if x.ndim < 1:
            raise ValueError(f"layer {self.name!r} expected a batch of inputs, got a scalar")
        if not self.built:
            check_finite(x, f"layer {self.name!r} ({type(self).__name__}) input")
            dtype = x.dtype if x.dtype in _FLOAT_DTYPES else np.dtype("float32")
            self.build(x.shape[1:], dtype=dtype)
        if x.shape[1:] != self.input_shape:
            raise ValueError(
                f"layer {self.name!r} ({type(self).__name__}) expected input of shape "
                f"{format_shape(self.input_shape)}, got {tuple(x.shape)}"
            )
        if x.dtype != self.dtype:
            x = x.astype(self.dtype)
        return x

    # ------------------------------------------------------------------ contract
    def forward(
        self, x: np.ndarray, training: bool = False
    ) -> np.ndarray:  # pragma: no cover - every layer overrides
        """x (N, ...) -> y (N, ...). Never writes into x: ``fit(x, x)`` passes one batch
        array as both the inputs and the targets."""
        raise NotImplementedError

    def backward(
        self, grad_output: np.ndarray
    ) -> np.ndarray:  # pragma: no cover - every layer overrides
        raise NotImplementedError

    def penalty(self) -> float:
        """Regularisation loss this layer adds to the objective (0.0 when none)."""
        return 0.0

    @property
    def final_activation(self) -> Layer | None:
        """The activation applied last by this layer, or None (see ``backward_from_logits``)."""
        return None

    def backward_from_logits(self, grad_logits: np.ndarray) -> np.ndarray:
        """Backward pass that starts below this layer's final activation.

        Used by models to fuse a sigmoid output with binary cross-entropy: the
        gradient at the logits is then computed directly and stably by the loss.
        """
        raise NotImplementedError(f"{type(self).__name__} has no final activation to skip")

    def flops(self) -> int:
        """Floating-point operations of one forward pass for one sample (approximate)."""
        return 0

    def get_config(self) -> dict:
        """JSON-serialisable constructor arguments; ``from_config`` inverts it."""
        return {"name": self.name}

    @classmethod
    def from_config(cls, config: dict) -> Self:
        return cls(**config)

    # ------------------------------------------------------------------ weights
    def weight_arrays(self) -> list[np.ndarray]:
        """The live weight arrays, in ``get_weights`` order: params, then buffers."""
        return [*self.params.values(), *self.buffers.values()]

    def weight_names(self) -> list[str]:
        return [f"{self.name}/{key}" for key in [*self.params, *self.buffers]]

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight in order (Dense: kernel (in, out), bias; Conv2D:
        kernel (kh, kw, in, filters), bias; BatchNormalization: gamma, beta, moving_mean,
        moving_variance). A model lists its layers' weights in layer order."""
        self._require_built("get_weights")
        return [array.copy() for array in self.weight_arrays()]

    def set_weights(self, weights: Iterable[np.ndarray]) -> None:
        """Copy ``weights`` (same order and shapes as ``get_weights``) into the live arrays."""
        self._require_built("set_weights")
        targets = self.weight_arrays()
        names = self.weight_names()
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(
                f"set_weights: {self.name!r} has {len(targets)} weight arrays, got {len(weights)}"
            )
        for name, target, value in zip(names, targets, weights):
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(f"set_weights: {name} has shape {target.shape}, got {value.shape}")
            if not np.isfinite(value).all():
                raise ValueError(f"set_weights: {name} contains NaN or Inf")
            np.copyto(target, value, casting="same_kind")

    def _require_built(self, what):
        if not self.built:
            raise ValueError(
                f"layer {self.name!r} ({type(self).__name__}) is not built yet; call it on "
                f"data or build it before {what}"
            )

    def count_params(self) -> int:
        return int(sum(value.size for value in self.params.values()))

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


def _snake_case(name: str) -> str:
    """``Conv2DTranspose`` -> ``conv2d_transpose``, ``ReLU`` -> ``re_lu`` (Keras's rule)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()
