"""The one training engine behind ``Sequential`` and ``Model``: compile, fit, evaluate, predict.

A model here is a layer (it has ``forward`` and ``backward``) that also knows its
inputs, outputs and losses. Internally every model has a list of inputs and a list of
outputs; a ``Sequential`` is the case of one of each. The training step, for a batch of
inputs xs and targets ys:

    predictions = forward(xs, training=True)                 one array per output
    loss        = sum_i loss_weight_i * loss_i(ys[i], predictions[i]) + sum of penalties
    dL/dpredictions[i] = loss_weight_i * loss_i.gradient(...)   then backward through the model

When an output ends in a sigmoid and its loss is binary cross-entropy, that output's
loss and gradient come from its logits instead (see ``nn_core.losses``). A subclass
provides the structure: ``_input_specs`` / ``_output_specs`` (names and per-sample
shapes), ``_forward_all(xs, training)``, ``_backward_all(grads, from_logits)`` and
``_output_final_activations``; this module does the rest, once, for both.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from . import losses as losses_module
from . import metrics as metrics_module
from . import optimizers as optimizers_module
from .callbacks import Callback, History, ProgressBar
from .data.prepare import element_names, predict_arrays, prepare_data
from .data.sources import ArrayBatches, DatasetBatches, is_data_source, predict_inputs
from .errors import TrainingDivergedError
from .layers.activations import Sigmoid, Softmax
from .layers.base import Layer
from .random import new_generator
from .summary import format_summary
from .validation import (
    check_batch_size,
)

if TYPE_CHECKING:
    import os

    from typing_extensions import Self

    from .losses import Loss
    from .optimizers import Optimizer

# The data arguments of fit, evaluate, predict, train_on_batch and loss_and_gradients are
# typed Any: an array (in memory or memory-mapped), for several inputs / outputs a list
# or a dict of them keyed by name, a nested list np.asarray accepts, or a data source
# (any object with __len__, __getitem__ and on_epoch_end): see _as_list, is_data_source.


class TrainableModel(Layer):
    """What ``Sequential`` and ``Model`` share. ``seed`` fixes initialisation, shuffling,
    dropout and noise."""

    layers: list[Layer]  # set by each subclass (Sequential, Model)

    def __init__(self, seed: int | None = None, name: str | None = None):
        super().__init__(name=name)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"seed must be an integer or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.optimizer: Any = None  # an Optimizer once compiled; only compiled models train
        # compile's loss: a Loss, or per output a list or dict of them as given (Any, as
        # callers that compile one loss read it as a Loss).
        self.loss: Any = None
        # compile's loss_weights, as given
        self.loss_weights: Sequence[float] | Mapping[str, float] | None = None
        # One Loss (or None: no loss) per output; Any, as compile() resets it to None until
        # the outputs are known (_resolve_losses).
        self._output_losses: Any = []
        self._output_loss_weights: list[float] = []
        # compile's ``metrics`` argument, as given
        self.metrics: Sequence[Any] | Mapping[str, Any] | None = None
        self._output_metrics: list = []  # per output, its list of Metric
        self.stop_training = False
        self.history: History | None = None
        self._resume_epoch: int | None = None
        self._step_backup = _ReusedCopies()  # train_on_batch's undo copies
        self.set_rng(new_generator(self.seed))

    # ------------------------------------------------------------------ random state
    def _child_rng(self) -> np.random.Generator:
        return np.random.default_rng(self._seed_source.integers(2**63))

    def set_rng(self, rng: np.random.Generator) -> None:
        """Use ``rng`` for shuffling and derive every child layer's generator from it."""
        self.rng = rng
        self._seed_source = np.random.default_rng(rng.integers(2**63))
        for layer in self._direct_layers():
            layer.set_rng(self._child_rng())

    def _direct_layers(self) -> list[Layer]:
        """The layers this model holds directly, in the order their generators are derived."""
        return []

    def rng_state(self) -> dict:
        """States of the shuffling generator and of every layer's generator (JSON-able)."""
        return {
            "model": self.rng.bit_generator.state,
            "layers": [layer.rng.bit_generator.state for layer in self.leaf_layers()],
        }

    def set_rng_state(self, state: dict) -> None:
        self.rng.bit_generator.state = state["model"]
        for layer, layer_state in zip(self.leaf_layers(), state["layers"]):
            layer.rng.bit_generator.state = layer_state

    # ------------------------------------------------------------------ layers and weights
    def leaf_layers(self) -> list[Layer]:  # pragma: no cover - every model overrides
        raise NotImplementedError

    def get_layer(self, name: str | None = None, index: int | None = None) -> Layer:
        """The layer called ``name``, or the one at ``index`` of ``model.layers`` (Keras)."""
        if (name is None) == (index is None):
            raise ValueError("get_layer: give exactly one of name= or index=")
        if index is not None:
            if not -len(self.layers) <= index < len(self.layers):
                raise ValueError(
                    f"get_layer: index {index} is out of range for model {self.name!r} "
                    f"with {len(self.layers)} layers"
                )
            return self.layers[index]
        for layer in self.layers:
            if layer.name == name:
                return layer
        names = [layer.name for layer in self.layers]
        raise ValueError(f"model {self.name!r} has no layer named {name!r}; its layers: {names}")

    def penalty(self) -> float:
        return float(sum(layer.penalty() for layer in self.leaf_layers()))

    @property
    def params(self) -> dict[str, np.ndarray]:
        return {f"{l.name}/{k}": v for l in self.leaf_layers() for k, v in l.params.items()}

    # Layer.__init__ assigns {}; a model derives its params
    @params.setter
    def params(self, value: dict[str, np.ndarray]) -> None:
        pass

    @property
    def grads(self) -> dict[str, np.ndarray]:
        return {f"{l.name}/{k}": v for l in self.leaf_layers() for k, v in l.grads.items()}

    @grads.setter
    def grads(self, value: dict[str, np.ndarray]) -> None:
        pass

    def weight_arrays(self) -> list[np.ndarray]:
        """The live weight arrays, in ``get_weights`` order: per layer, params then buffers."""
        arrays: list[np.ndarray] = []
        for layer in self.leaf_layers():
            arrays.extend(layer.params.values())
            arrays.extend(layer.buffers.values())
        return arrays

    def weight_names(self) -> list[str]:
        names: list[str] = []
        for layer in self.leaf_layers():
            names.extend(f"{layer.name}/{key}" for key in layer.params)
            names.extend(f"{layer.name}/{key}" for key in layer.buffers)
        return names

    def count_params(self) -> int:
        return int(sum(layer.count_params() for layer in self.leaf_layers()))

    @property
    def trainable_weights(self) -> list[np.ndarray]:
        """The live parameter arrays the optimizer updates (layers with ``trainable``)."""
        return self._trainable_pairs()[1]

    @property
    def non_trainable_weights(self) -> list[np.ndarray]:
        """Frozen layers' parameters and every buffer (batch-norm moving statistics)."""
        arrays: list[np.ndarray] = []
        for layer in self.leaf_layers():
            if not layer.trainable:
                arrays.extend(layer.params.values())
            arrays.extend(layer.buffers.values())
        return arrays

    def _trainable_pairs(self):
        """Names, params and grads of every trainable layer's parameters, for the optimizer.

        A layer is trained when it and every model holding it are ``trainable``: setting
        ``model.trainable = False`` freezes all its layers (as in Keras) while each layer
        keeps its own flag for when the model is unfrozen.
        """
        names, params, grads = [], [], []
        for layer in self._trained_leaf_layers():
            for key in layer.params:
                names.append(f"{layer.name}/{key}")
                params.append(layer.params[key])
                grads.append(layer.grads[key])
        return names, params, grads

    def _trained_leaf_layers(self) -> list[Layer]:
        """Leaf layers that are trainable, inside containers that are all trainable."""
        if not self.trainable:
            return []
        trained: set[int] = set()
        for layer in self._direct_layers():
            if isinstance(layer, TrainableModel):
                trained.update(id(child) for child in layer._trained_leaf_layers())
            elif layer.trainable:
                trained.add(id(layer))
        # In leaf_layers order: the optimizer's state is kept by position.
        return [layer for layer in self.leaf_layers() if id(layer) in trained]

    # ------------------------------------------------------------------ structure hooks
    def _input_specs(self) -> list[tuple[str, tuple]]:  # pragma: no cover - overridden
        """[(name, per-sample shape)] of the inputs, once built."""
        raise NotImplementedError

    def _output_specs(self) -> list[tuple[str, tuple]]:  # pragma: no cover - overridden
        raise NotImplementedError

    def _build_from_data(self, xs):
        """Build from the first data seen (``Sequential``); a graph is built already."""

    def _forward_all(self, xs, training):  # pragma: no cover - overridden
        raise NotImplementedError

    def _backward_all(self, grads, from_logits):  # pragma: no cover - overridden
        """Backward from dL/d(each output), or dL/d(its logits) where ``from_logits[i]``."""
        raise NotImplementedError

    def _output_final_activations(self) -> list:  # pragma: no cover - overridden
        """Per output, the activation it ends in when its logits may be used, else None."""
        raise NotImplementedError

    def _pack_outputs(self, outputs):
        """Outputs in the structure the model was given (array, list or dict)."""
        return outputs[0]

    # ------------------------------------------------------------------ compiling
    def compile(
        self,
        optimizer: str | dict[str, Any] | Optimizer = "rmsprop",
        loss: str | Loss | list[Any] | tuple[Any, ...] | dict[str, Any] = "binary_crossentropy",
        loss_weights: Sequence[float] | Mapping[str, float] | None = None,
        metrics: Sequence[Any] | Mapping[str, Any] | None = None,
    ) -> Self:
        """Choose the optimizer (instance or name, e.g. "adadelta"), the loss and metrics.

        ``loss``: a loss instance or name, used for every output; or, for a model with
        several outputs, a list (one per output, in order) or a dict keyed by output name
        (an output left out gets no loss). ``loss_weights``: a list or dict of floats
        (default 1.0 each); the training loss is the weighted sum, as in Keras.
        ``metrics``: e.g. ["accuracy"], reported by ``fit`` and ``evaluate`` beside the
        loss (see ``nn_core.metrics`` for the names and the forms for several outputs).
        """
        metrics_module.check_spec(metrics)
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = loss if isinstance(loss, (list, tuple, dict)) else losses_module.get(loss)
        self.loss_weights = loss_weights
        self.metrics = metrics
        self._output_losses = None  # resolved against the outputs once they are known
        self._resolve_losses()
        return self

    def _resolve_losses(self):
        """Per-output losses and weights from ``loss`` and ``loss_weights``."""
        if self.loss is None or not self.built and not self._structure_known():
            return
        names = [name for name, _ in self._output_specs()]
        self._output_losses = _per_output(self.loss, names, "loss", losses_module.get)
        if self.loss_weights is None:
            self._output_loss_weights = [1.0] * len(names)
        else:
            self._output_loss_weights = _per_output(
                self.loss_weights, names, "loss_weights", _as_loss_weight, missing=0.0
            )
        if all(loss is None for loss in self._output_losses):
            raise ValueError(f"compile: no output of model {self.name!r} has a loss")
        shapes = [shape for _, shape in self._output_specs()]
        self._output_metrics = metrics_module.resolve(
            self.metrics, names, self._output_losses, shapes
        )

    def _structure_known(self) -> bool:
        """True when the outputs are known before building (a graph model)."""
        return False

    def _require_built(self, what):
        if not self.built:
            raise ValueError(
                f"model {self.name!r} is not built yet; call model.build(input_shape) or pass "
                f"data through it before {what}"
            )

    def _require_compiled(self, what):
        if self.loss is None:
            raise ValueError(f"call model.compile(optimizer=..., loss=...) before {what}")
        if self._output_losses is None:
            self._resolve_losses()

    def _logits_flags(self) -> list[bool]:
        """Per output: is its loss computed from the logits of a final sigmoid or softmax?"""
        return [
            _fuses_with(loss, activation)
            for loss, activation in zip(self._output_losses, self._output_final_activations())
        ]

    def _data_losses(self, ys, predictions) -> list[float]:
        """Each output's loss without penalties or weights (0.0 for outputs without one)."""
        values = []
        activations = self._output_final_activations()
        for loss, flag, activation, y, prediction in zip(
            self._output_losses, self._logits_flags(), activations, ys, predictions
        ):
            if loss is None:
                values.append(0.0)
            elif flag:
                values.append(loss.logits_value(y, activation.inputs))
            else:
                values.append(loss(y, prediction))
        return values

    def _weighted_sum(self, values) -> float:
        return float(sum(w * v for w, v in zip(self._output_loss_weights, values)))

    # ------------------------------------------------------------------ one step
    def loss_and_gradients(self, x: Any, y: Any) -> tuple[float, list[np.ndarray]]:
        """Total loss (data loss + every penalty) of the batch and its gradients.

        Gradients come in ``get_weights()`` order (non-trainable weights such as
        batch-norm moving statistics get zero arrays). Nothing is updated.
        """
        self._require_compiled("loss_and_gradients")
        xs, ys = self._as_input_list(x, "x"), self._as_output_list(y, "y")
        moving_statistics = self._snapshot_buffers()
        try:
            loss = self._forward_backward(xs, ys)
        finally:
            _restore_arrays(moving_statistics)  # a training forward moves them
        gradients: list[np.ndarray] = []
        for layer in self.leaf_layers():
            # Copies: the next forward/backward overwrites the layers' grads in place.
            gradients.extend(grad.copy() for grad in layer.grads.values())
            gradients.extend(np.zeros_like(b) for b in layer.buffers.values())
        return loss, gradients

    def _snapshot_buffers(self):
        """(array, copy) of every buffer (batch-norm moving statistics), to undo a forward."""
        return [(b, b.copy()) for layer in self.leaf_layers() for b in layer.buffers.values()]

    def _sigmoids_with_their_loss(self) -> list[Sigmoid | None]:
        """Per output: its final Sigmoid when the step computes it with its cross-entropy.

        That is every output whose binary cross-entropy is taken from the logits of a
        final Sigmoid (``_logits_flags``), unless a layer is being watched
        (``nn_core.trace`` wraps ``forward`` and reports what it returns). Empty before the
        losses are resolved (the first step of a model built by its data).
        """
        if self._output_losses is None or any(
            "forward" in vars(leaf) for leaf in self.leaf_layers()
        ):
            return []
        return [
            activation
            if flag
            and isinstance(loss, losses_module.BinaryCrossentropy)
            and loss.fuses_with_its_sigmoid()
            else None
            for loss, flag, activation in zip(
                self._output_losses, self._logits_flags(), self._output_final_activations()
            )
        ]

    def _forward_backward(self, xs, ys):
        """Forward in training mode, loss, backward: fills every layer's ``grads``."""
        sigmoids = self._sigmoids_with_their_loss()
        for sigmoid in sigmoids:
            if sigmoid is not None:
                sigmoid.output_from_loss = True
        try:  # builds an unbuilt Sequential
            predictions = list(self._forward_all(xs, training=True))
        finally:
            for sigmoid in sigmoids:
                if sigmoid is not None:
                    del sigmoid.output_from_loss  # back to the class default, False
        if self._output_losses is None:
            self._resolve_losses()
        ys = list(ys)
        for i, ((name, _), prediction, loss) in enumerate(
            zip(self._output_specs(), predictions, self._output_losses)
        ):
            target = "targets y" if len(ys) == 1 else f"targets y[{name!r}]"
            expected = prediction.shape
            if loss is not None:  # sparse labels (N,) or (N, 1) for outputs (N, K)
                ys[i] = loss.check_targets(ys[i], prediction.shape[1:], target)
                expected = (len(prediction), *loss.target_shape(prediction.shape[1:]))
            if expected != np.shape(ys[i]):
                raise ValueError(
                    f"{target} have shape {np.shape(ys[i])}, "
                    f"but model {self.name!r} outputs {prediction.shape}"
                )
        flags = self._logits_flags()
        activations = self._output_final_activations()
        values: list[float] = []
        grads: list[np.ndarray | None] = []
        sigmoids = sigmoids or [None] * len(predictions)
        for i, (loss, weight, flag, activation, y, prediction) in enumerate(
            zip(self._output_losses, self._output_loss_weights, flags, activations, ys, predictions)
        ):
            if loss is None:
                values.append(0.0)
                grads.append(None)
            elif sigmoids[i] is not None:  # the forward returned the logits, not sigmoid(them)
                probabilities, value, gradient = loss.sigmoid_value_and_gradient(
                    y, activation.inputs
                )
                activation.set_outputs(probabilities)
                predictions[i] = probabilities
                values.append(value)
                grads.append(_scaled(gradient, weight))
            elif flag:
                logits = activation.inputs
                values.append(loss.logits_value(y, logits))
                # prediction is sigmoid(logits): dL/dlogits = (prediction - y) / size.
                grads.append(_scaled(loss.logits_gradient(y, logits, prediction), weight))
            else:
                values.append(loss(y, prediction))
                grads.append(_scaled(loss.gradient(y, prediction), weight))
        self._backward_all(grads, flags)
        self._last_predictions, self._last_targets = predictions, ys
        self._last_output_losses = values
        self._last_loss = self._weighted_sum(values) + self.penalty()
        return self._last_loss

    def train_on_batch(self, x: Any, y: Any) -> float:
        """One optimizer step on the batch; returns its loss. Refuses a non-finite step."""
        self._require_compiled("train_on_batch")
        xs, ys = self._as_input_list(x, "x"), self._as_output_list(y, "y")
        return self._train_step(xs, ys)

    def _train_step(self, xs, ys) -> float:
        moving_statistics = self._snapshot_buffers()
        loss = self._forward_backward(xs, ys)
        names, params, grads = self._trainable_pairs()
        problem = None if math.isfinite(loss) else f"the loss is {loss}"
        for name, grad in zip(names, grads):
            if problem is None and not np.isfinite(grad).all():
                problem = f"the gradient of {name} contains NaN or Inf"
        if problem is not None:
            # The forward already folded this batch into the moving statistics: undo that,
            # so that every weight stays at its last finite value.
            _restore_arrays(moving_statistics)
            raise TrainingDivergedError(problem)
        # Finite gradients can still overflow a weight (a huge learning rate): keep what
        # the step changes, to put it back when it does. One copy of the weights and the
        # optimizer state per step, into buffers kept from step to step (fresh arrays every
        # step cost the deep autoencoder with Adam 16% of its epoch: 1.30 against 1.08 s,
        # 1 thread). Peak memory is unchanged; between steps the model keeps the copies.
        optimizer_arrays = self.optimizer.state_arrays()
        saved = self._step_backup.save([*params, *optimizer_arrays])
        iterations_before = self.optimizer.iterations
        with np.errstate(over="ignore", invalid="ignore"):  # reported below, in our terms
            self.optimizer.step(params, grads)
        for name, param in zip(names, params):
            if not np.isfinite(param).all():
                _restore_arrays(saved)
                _restore_arrays(moving_statistics)
                self._rewind_optimizer(iterations_before, had_state=bool(optimizer_arrays))
                raise TrainingDivergedError(
                    f"the optimizer step made {name} NaN or Inf (the loss was {loss})"
                )
        return loss

    def _rewind_optimizer(self, iterations, had_state):
        """After its arrays were put back in place: the step count as before the step, and
        no state at all if the step was the one that created it."""
        if had_state:
            state = self.optimizer.get_state()
            state["iterations"] = np.array(iterations, dtype=np.int64)
        else:
            state = {"iterations": np.array(iterations, dtype=np.int64)}
        self.optimizer.set_state(state)

    # ------------------------------------------------------------------ data
    def _as_input_list(self, x, argument):
        return _as_list(x, [name for name, _ in self._input_specs_or_none()], argument, "input")

    def _as_output_list(self, y, argument):
        return _as_list(y, [name for name, _ in self._output_specs_or_none()], argument, "output")

    def _input_specs_or_none(self):
        return self._input_specs() if self.built or self._structure_known() else [(None, None)]

    def _output_specs_or_none(self):
        return self._output_specs() if self.built or self._structure_known() else [(None, None)]

    def _prepare_data(self, x, y, x_name, y_name):
        """Inputs and targets as lists of checked arrays (see ``data.prepare.prepare_data``)."""
        return prepare_data(self, x, y, x_name, y_name)

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        x: Any,
        y: Any = None,
        epochs: int = 1,
        batch_size: int = 32,
        shuffle: bool = True,
        validation_data: Any = None,
        callbacks: Sequence[Callback] | None = None,
        verbose: int = 1,
        initial_epoch: int = 0,
    ) -> History:
        """Train for ``epochs`` passes over (x, y) in mini-batches; returns a ``History``.

        ``x`` and ``y``: an array, or for several inputs / outputs a list (in order) or a
        dict keyed by input / output name. An array may be memory-mapped (``np.memmap``,
        ``np.load(path, mmap_mode="r")``): it is then read, converted and checked one
        batch at a time, never copied whole, with the same batches and the same weights
        at the end as from memory. ``x`` may also be a data source (``nn.data.Dataset``
        of (x, y) batches; ``y`` None): ``batch_size`` and ``shuffle`` are then its own.
        ``validation_data`` takes the same forms. ``history.history["loss"][e]`` is epoch e's
        sample-weighted mean of the batch losses (as Keras reports it); a model with several
        outputs also records ``"<output>_loss"`` for each. ``"val_loss"`` is ``evaluate``
        on ``validation_data=(x_val, y_val)`` at the epoch's end. Each compiled metric
        (e.g. "accuracy") is logged under its name, over all the epoch's samples as the
        batches' training-mode predictions scored it, and as "val_<name>" from
        ``evaluate``. ``verbose``: 0 silent,
        1 live progress bar, 2 one line per epoch. A NaN or infinite loss or gradient
        stops training with ``TrainingDivergedError`` before the bad step, so the
        weights stay at their last finite values.
        """
        self._require_compiled("fit")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        batch_size = check_batch_size(batch_size)
        train = self._batches(x, y, batch_size, shuffle, "x", "y")
        self._require_compiled("fit")  # the outputs are known now: resolve per-output losses
        validation = None
        if validation_data is not None:
            if is_data_source(validation_data):
                validation = DatasetBatches(self, validation_data, "validation_data")
            elif isinstance(validation_data, (tuple, list)) and len(validation_data) == 2:
                x_val, y_val = validation_data
                validation = self._batches(x_val, y_val, batch_size, False, "x_val", "y_val")
            else:
                raise ValueError(
                    "validation_data must be a pair (x_val, y_val) or a data source "
                    "(nn.data.Dataset)"
                )
        steps = len(train)
        output_names = [name for name, _ in self._output_specs()]
        self.history = History()
        callback_list = [self.history, *(callbacks or [])]
        if verbose:
            callback_list.append(ProgressBar(epochs, steps, verbose=verbose))
        for callback in callback_list:
            if not isinstance(callback, Callback):
                raise ValueError(f"callbacks must be Callback instances, got {callback!r}")
            callback.set_model(self)
        self.stop_training = False
        self._resume_epoch = None
        for callback in callback_list:
            callback.on_train_begin()
        first_epoch = initial_epoch if self._resume_epoch is None else self._resume_epoch
        for epoch in range(first_epoch, epochs):
            for callback in callback_list:
                callback.on_epoch_begin(epoch)
            loss_sum, seen = 0.0, 0
            output_sums = [0.0] * len(output_names)
            metric_totals = metrics_module.Totals(self._output_metrics, output_names)
            for batch in range(steps):
                for callback in callback_list:
                    callback.on_batch_begin(batch)
                x_batches, y_batches = train[batch]
                count = len(x_batches[0])
                try:
                    batch_loss = self._train_step(x_batches, y_batches)
                except TrainingDivergedError as error:
                    raise TrainingDivergedError(
                        f"training diverged at epoch {epoch + 1}, batch {batch + 1}: {error}. "
                        "The weights were left at their last finite values; try a lower "
                        "learning rate or gradient clipping (clipnorm=...)"
                    ) from None
                loss_sum += batch_loss * count
                seen += count
                if len(output_names) > 1:
                    for i, value in enumerate(self._last_output_losses):
                        output_sums[i] += value * count
                metric_totals.update(self._last_targets, self._last_predictions)
                for callback in callback_list:
                    callback.on_batch_end(
                        batch, {"loss": loss_sum / seen, **metric_totals.results()}
                    )
            train.end_epoch()
            logs = {"loss": loss_sum / seen}
            if len(output_names) > 1:
                for name, total in zip(output_names, output_sums):
                    logs[f"{name}_loss"] = total / seen
            logs.update(metric_totals.results())
            if validation is not None:
                values = self._evaluate_batches(validation)
                logs.update({f"val_{key}": value for key, value in values.items()})
            for callback in callback_list:
                callback.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for callback in callback_list:
            callback.on_train_end()
        return self.history

    def _batches(self, x, y, batch_size, shuffle, x_name, y_name):
        """The batches of (x, y): arrays (in memory or memory-mapped) or a data source."""
        if is_data_source(x):
            if y is not None:
                raise ValueError(
                    f"{y_name} must be None when {x_name} is a data source: its batches are "
                    f"(x, y) pairs, got {y_name} of type {type(y).__name__}"
                )
            return DatasetBatches(self, x, x_name)
        xs, ys = self._prepare_data(x, y, x_name, y_name)
        x_names = element_names(x_name, self._input_specs())
        y_names = element_names(y_name, self._output_specs())
        return ArrayBatches(xs, ys, batch_size, shuffle, self.rng, self.dtype, x_names, y_names)

    # ------------------------------------------------------------------ evaluate, predict
    # Any: a float, a list of floats or (return_dict) a dict, by return_dict and the model's
    # outputs and metrics.
    def evaluate(
        self, x: Any, y: Any = None, batch_size: int = 32, return_dict: bool = False
    ) -> Any:
        """Mean loss over (x, y) in inference mode, penalties included, and the metrics.

        x, y: as in ``fit`` (arrays, memory-mapped arrays, or a data source with y None).

        As Keras returns them: one output and no metrics: a float; otherwise a list
        [total loss, loss of each output (several outputs only), each metric].
        ``return_dict=True`` gives {"loss": ..., "<output>_loss": ..., "accuracy": ...}.
        """
        self._require_compiled("evaluate")
        batch_size = check_batch_size(batch_size)
        batches = self._batches(x, y, batch_size, False, "x", "y")
        self._require_compiled("evaluate")
        values = self._evaluate_batches(batches)
        if return_dict:
            return values
        return values["loss"] if len(values) == 1 else list(values.values())

    def _evaluate_batches(self, batches) -> dict[str, float]:
        """{"loss", "<output>_loss" (several outputs only), metric keys} over ``batches``
        (an ``ArrayBatches`` or ``DatasetBatches``), weighting each batch by its size."""
        names = [name for name, _ in self._output_specs()]
        total, per_output, size = 0.0, [0.0] * len(names), 0
        metric_totals = metrics_module.Totals(self._output_metrics, names)
        for batch in range(len(batches)):
            x_batches, y_batches = batches[batch]
            predictions = self._forward_all(x_batches, training=False)
            values = self._data_losses(y_batches, predictions)
            metric_totals.update(y_batches, predictions)
            count = len(x_batches[0])
            size += count
            total += (self._weighted_sum(values) + self.penalty()) * count
            for i, value in enumerate(values):
                per_output[i] += value * count
        result = {"loss": total / size}
        if len(names) > 1:
            result.update({f"{name}_loss": v / size for name, v in zip(names, per_output)})
        result.update(metric_totals.results())
        return result

    # Any: an array, or for a model with several outputs a list or dict of arrays (the
    # structure it was made with, _pack_outputs).
    def predict(self, x: Any, batch_size: int = 32) -> Any:
        """Outputs for x in inference mode, computed batch by batch: (N, *output_shape).

        A model with several outputs returns them in the structure it was made with (a
        list or a dict). x is checked whole (dtype, shape, NaN/Inf) but converted to the
        model's dtype one batch at a time, so beyond the output arrays the memory used is
        that of one batch, whatever N (a uint8 (N, 784) input is never copied whole). A
        memory-mapped x is checked batch by batch as it is read. x may also be a data
        source (``nn.data.Dataset``): its batches, x alone or (x, y) pairs, in order.
        """
        return self._predict(x, batch_size, "x")

    def _predict(self, x, batch_size, argument):
        """``predict`` with ``argument`` as the input's name in error messages."""
        batch_size = check_batch_size(batch_size)
        if not is_data_source(x):
            return self._pack_outputs(self._predict_arrays(x, batch_size, argument))
        count = DatasetBatches.checked_length(x, argument)
        parts = [
            self._predict_arrays(predict_inputs(x[i]), batch_size, f"{argument} of batch {i}")
            for i in range(count)
        ]
        return self._pack_outputs([np.concatenate(outputs) for outputs in zip(*parts)])

    def _predict_arrays(self, x, batch_size, argument) -> list[np.ndarray]:
        """One array per output for arrays x (see ``data.prepare.predict_arrays``)."""
        return predict_arrays(self, x, batch_size, argument)

    # ------------------------------------------------------------------ description
    def summary(self, print_fn: Callable[[str], object] | None = print) -> str:
        """Print (and return) a table of layers, output shapes, parameters and FLOPs."""
        self._require_built("summary")
        text = format_summary(self)
        if print_fn is not None:
            print_fn(text)
        return text

    def flops(self) -> int:
        return int(sum(layer.flops() for layer in self.leaf_layers()))

    # ------------------------------------------------------------------ files
    def _file_contents(self, include_optimizer=True):
        from .model_files import file_contents

        return file_contents(self, include_optimizer)

    def save(self, path: str | os.PathLike[str], include_optimizer: bool = True) -> None:
        """Write the model (architecture, weights, optimizer state) to one .npz file, atomically."""
        from .model_files import save_model

        save_model(self, path, include_optimizer)

    def save_weights(self, path: str | os.PathLike[str]) -> None:
        """Write the weights only, by name, to ``path``: ``.weights.npz`` / ``.npz`` (nn_core's
        archive) or ``.safetensors``; atomic. See ``nn_core.weights_files``."""
        from .weights_files import save_weights

        save_weights(self, path)

    def load_weights(self, path: str | os.PathLike[str]) -> None:
        """Load weights saved by ``save_weights`` (``.npz``, ``.safetensors``) or by Keras 3
        (``.weights.h5``, ``.keras``), checking every name, shape and dtype first."""
        from .weights_files import load_weights

        load_weights(self, path)

    def _save_training_state(self, path, epoch):
        from .model_files import save_training_state

        save_training_state(self, path, epoch)

    def _restore_training_state(self, path):
        from .model_files import restore_training_state

        restore_training_state(self, path)


def _fuses_with(loss, activation) -> bool:
    """Whether ``loss`` is computed from the logits of ``activation`` (see ``losses``)."""
    if isinstance(loss, losses_module.BinaryCrossentropy):
        return not loss.from_logits and isinstance(activation, Sigmoid)
    if isinstance(
        loss, losses_module.CategoricalCrossentropy | losses_module.SparseCategoricalCrossentropy
    ):
        return not loss.from_logits and isinstance(activation, Softmax)
    return False


def _scaled(gradient, weight):
    return gradient if weight == 1.0 else gradient * gradient.dtype.type(weight)


def _as_loss_weight(value):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"loss weights must be numbers, got {value!r}")
    if not math.isfinite(float(value)) or value < 0:
        raise ValueError(f"loss weights must be finite and >= 0, got {value!r}")
    return float(value)


def _per_output(value, names, argument, convert, missing=None):
    """``value`` (one thing, a list or a dict keyed by output name) as one entry per output."""
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(
                f"compile: {argument} names outputs {unknown} that the model does not have; "
                f"its outputs: {names}"
            )
        return [convert(value[name]) if name in value else missing for name in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(
                f"compile: {argument} has {len(value)} entries but the model has "
                f"{len(names)} outputs {names}"
            )
        return [None if v is None else convert(v) for v in value]
    converted = convert(value) if argument == "loss_weights" else value
    return [converted] * len(names)


def _as_list(data, names, argument, kind):
    """An array, list or dict (keyed by ``names``) as a list of one entry per input/output."""
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(names))
        missing = [name for name in names if name not in data]
        if unknown or missing:
            raise ValueError(
                f"{argument}: a dict must have one entry per model {kind} {names}; "
                f"missing {missing}, unexpected {unknown}"
            )
        return [data[name] for name in names]
    if (
        isinstance(data, (list, tuple))
        and len(names) == 1
        and len(data) == 1
        and isinstance(data[0], np.ndarray)
    ):
        return [data[0]]  # Keras accepts [x] for a model with one input
    if isinstance(data, (list, tuple)) and len(names) > 1:
        if len(data) != len(names):
            raise ValueError(
                f"{argument}: the model has {len(names)} {kind}s {names}, got a list of "
                f"{len(data)} arrays"
            )
        return list(data)
    if len(names) > 1:
        raise ValueError(
            f"{argument}: the model has {len(names)} {kind}s {names}; pass a list or a dict "
            f"of arrays, got {type(data).__name__}"
        )
    return [data]


def _restore_arrays(snapshot):
    for array, saved in snapshot:
        np.copyto(array, saved)


class _ReusedCopies:
    """Copies of a list of arrays, written into the same buffers call after call while the
    arrays keep their shapes and dtypes (new buffers otherwise)."""

    def __init__(self):
        self._buffers = []

    def save(self, arrays):
        """Copy ``arrays`` into the buffers; returns [(array, its copy), ...] for
        ``_restore_arrays``."""
        same = len(self._buffers) == len(arrays) and all(
            buffer.shape == array.shape and buffer.dtype == array.dtype
            for buffer, array in zip(self._buffers, arrays)
        )
        if not same:
            self._buffers = [np.empty_like(array) for array in arrays]
        for buffer, array in zip(self._buffers, arrays):
            np.copyto(buffer, array)
        return list(zip(arrays, self._buffers))
