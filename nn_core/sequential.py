"""``Sequential``: a stack of layers that is itself a layer, and a trainable model.

As a layer it follows the layer contract (``build``, ``forward``, ``backward``,
``params``, ``grads``), so models nest: an autoencoder can be
``Sequential([encoder, decoder])`` and share the encoder's and decoder's layer
objects. As a model it has the Keras habits: ``compile``, ``fit``, ``evaluate``,
``predict``, ``summary``, ``get_weights`` / ``set_weights``, ``save``.

Training step (``loss_and_gradients``), for a batch (x, y):

    y_pred = forward(x)                       every layer, in order, training=True
    loss   = loss_fn(y, y_pred) + sum of layer penalties (regularisers)
    dL/dy_pred from the loss, then backward   every layer, in reverse order

When the model ends in a sigmoid and the loss is binary cross-entropy, the loss and
its gradient are computed from the logits (see ``nn_core.losses``).
"""

from __future__ import annotations

import math

import numpy as np

from . import losses as losses_module
from . import optimizers as optimizers_module
from .callbacks import Callback, History, ProgressBar
from .errors import ModelFileError, TrainingDivergedError
from .layers.activations import Sigmoid
from .layers.base import Layer, format_shape
from .saving import read_archive, write_archive
from .summary import format_summary
from .validation import (
    as_float_batch,
    check_batch_size,
    check_finite,
    check_same_length,
    checked_batch,
)


class Sequential(Layer):
    """A linear stack of layers. ``seed`` fixes initialisation, shuffling, dropout and noise."""

    def __init__(self, layers=None, seed=None, name=None):
        super().__init__(name=name)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise ValueError(f"seed must be an integer or None, got {seed!r}")
        self.seed = None if seed is None else int(seed)
        self.layers: list[Layer] = []
        self.optimizer = None
        self.loss = None
        self.stop_training = False
        self.history = None
        self._resume_epoch = None
        self._step_backup = _ReusedCopies()  # train_on_batch's undo copies
        self.set_rng(np.random.default_rng(self.seed))
        for layer in layers or []:
            self.add(layer)

    # ------------------------------------------------------------------ structure
    def add(self, layer):
        """Append ``layer``; it gets a random generator derived from the model's seed."""
        if not isinstance(layer, Layer):
            raise ValueError(f"Sequential.add expects a Layer, got {type(layer).__name__}")
        if layer is self:
            raise ValueError("a Sequential cannot contain itself")
        layer.set_rng(self._child_rng())
        self.layers.append(layer)
        if self.built:
            self.build(self.input_shape, self.dtype)

    def _child_rng(self):
        return np.random.default_rng(self._seed_source.integers(2**63))

    def set_rng(self, rng):
        """Use ``rng`` for shuffling and derive every child layer's generator from it."""
        self.rng = rng
        self._seed_source = np.random.default_rng(rng.integers(2**63))
        for layer in getattr(self, "layers", []):
            layer.set_rng(self._child_rng())

    def leaf_layers(self) -> list[Layer]:
        """Every non-Sequential layer, depth first, each once (shared layers appear once)."""
        seen, leaves = set(), []
        for layer in self.layers:
            children = layer.leaf_layers() if isinstance(layer, Sequential) else [layer]
            for child in children:
                if id(child) not in seen:
                    seen.add(id(child))
                    leaves.append(child)
        return leaves

    def build(self, input_shape, dtype="float32"):
        """Build every layer in turn, each on the previous layer's output shape."""
        if not self.layers:
            raise ValueError(f"model {self.name!r} has no layers to build")
        Layer.build(self, input_shape, dtype)
        shape = self.input_shape
        for layer in self.layers:
            if not layer.built:
                layer.build(shape, self.dtype)
            elif layer.input_shape != shape or layer.dtype != self.dtype:
                raise ValueError(
                    f"layer {layer.name!r} is already built for inputs "
                    f"{format_shape(layer.input_shape)} {layer.dtype}, but model {self.name!r} "
                    f"feeds it {format_shape(shape)} {self.dtype}"
                )
            shape = layer.output_shape
        self.output_shape = tuple(shape)

    def compute_output_shape(self, input_shape):
        shape = tuple(input_shape)
        for layer in self.layers:
            shape = layer.compute_output_shape(shape)
        return shape

    # ------------------------------------------------------------------ the layer contract
    def forward(self, x, training=False):
        """Run every layer in order. x: (N, *input_shape) -> (N, *output_shape)."""
        x = self._prepare_input(x)
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, grad_output):
        """Run every layer's backward in reverse order; returns dL/dx."""
        for layer in reversed(self.layers):
            grad_output = layer.backward(grad_output)
        return grad_output

    @property
    def final_activation(self):
        return self.layers[-1].final_activation if self.layers else None

    def backward_from_logits(self, grad_logits):
        grad = self.layers[-1].backward_from_logits(grad_logits)
        for layer in reversed(self.layers[:-1]):
            grad = layer.backward(grad)
        return grad

    def penalty(self) -> float:
        return float(sum(layer.penalty() for layer in self.leaf_layers()))

    @property
    def params(self):
        return {f"{l.name}/{k}": v for l in self.leaf_layers() for k, v in l.params.items()}

    @params.setter
    def params(self, value):  # Layer.__init__ assigns {}; a Sequential derives its params
        pass

    @property
    def grads(self):
        return {f"{l.name}/{k}": v for l in self.leaf_layers() for k, v in l.grads.items()}

    @grads.setter
    def grads(self, value):
        pass

    def flops(self) -> int:
        return int(sum(layer.flops() for layer in self.layers))

    # ------------------------------------------------------------------ weights
    def weight_arrays(self) -> list[np.ndarray]:
        """The live weight arrays, in ``get_weights`` order: per layer, params then buffers."""
        arrays = []
        for layer in self.leaf_layers():
            arrays.extend(layer.params.values())
            arrays.extend(layer.buffers.values())
        return arrays

    def weight_names(self) -> list[str]:
        names = []
        for layer in self.leaf_layers():
            names.extend(f"{layer.name}/{key}" for key in layer.params)
            names.extend(f"{layer.name}/{key}" for key in layer.buffers)
        return names

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight in layer order (Dense: kernel (in, out), bias; Conv2D:
        kernel (kh, kw, in, filters), bias; BatchNormalization: gamma, beta, moving_mean,
        moving_variance)."""
        self._require_built("get_weights")
        return [array.copy() for array in self.weight_arrays()]

    def set_weights(self, weights):
        """Copy ``weights`` (same order, shapes as ``get_weights``) into the model's arrays."""
        self._require_built("set_weights")
        targets = self.weight_arrays()
        names = self.weight_names()
        weights = list(weights)
        if len(weights) != len(targets):
            raise ValueError(
                f"set_weights: model {self.name!r} has {len(targets)} weight arrays, "
                f"got {len(weights)}"
            )
        for name, target, value in zip(names, targets, weights):
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(f"set_weights: {name} has shape {target.shape}, got {value.shape}")
            if not np.isfinite(value).all():
                raise ValueError(f"set_weights: {name} contains NaN or Inf")
            np.copyto(target, value, casting="same_kind")

    def count_params(self) -> int:
        return int(sum(layer.count_params() for layer in self.leaf_layers()))

    def _trainable_pairs(self):
        """Names, params and grads of every trainable layer's parameters, for the optimizer."""
        names, params, grads = [], [], []
        for layer in self.leaf_layers():
            if layer.trainable:
                for key in layer.params:
                    names.append(f"{layer.name}/{key}")
                    params.append(layer.params[key])
                    grads.append(layer.grads[key])
        return names, params, grads

    # ------------------------------------------------------------------ random state
    def rng_state(self) -> dict:
        """States of the shuffling generator and of every layer's generator (JSON-able)."""
        return {
            "model": self.rng.bit_generator.state,
            "layers": [layer.rng.bit_generator.state for layer in self.leaf_layers()],
        }

    def set_rng_state(self, state: dict):
        self.rng.bit_generator.state = state["model"]
        for layer, layer_state in zip(self.leaf_layers(), state["layers"]):
            layer.rng.bit_generator.state = layer_state

    # ------------------------------------------------------------------ training
    def compile(self, optimizer="rmsprop", loss="binary_crossentropy"):
        """Choose the optimizer (instance or name, e.g. "adadelta") and loss (instance or name)."""
        self.optimizer = optimizers_module.get(optimizer)
        self.loss = losses_module.get(loss)
        return self

    def _require_built(self, what):
        if not self.built:
            raise ValueError(
                f"model {self.name!r} is not built yet; call model.build(input_shape) or pass "
                f"data through it before {what}"
            )

    def _require_compiled(self, what):
        if self.loss is None:
            raise ValueError(f"call model.compile(optimizer=..., loss=...) before {what}")

    def _uses_logits(self) -> bool:
        return (
            isinstance(self.loss, losses_module.BinaryCrossentropy)
            and not self.loss.from_logits
            and isinstance(self.final_activation, Sigmoid)
        )

    def _data_loss(self, y_true, y_pred):
        """The loss without penalties; from the logits for sigmoid + binary cross-entropy."""
        if self._uses_logits():
            return self.loss.logits_value(y_true, self.final_activation.inputs)
        return self.loss(y_true, y_pred)

    def loss_and_gradients(self, x, y):
        """Total loss (data loss + every penalty) of the batch and its gradients.

        Gradients come in ``get_weights()`` order (non-trainable weights such as
        batch-norm moving statistics get zero arrays). Nothing is updated.
        """
        self._require_compiled("loss_and_gradients")
        moving_statistics = self._snapshot_buffers()
        try:
            loss = self._forward_backward(x, y)
        finally:
            _restore_arrays(moving_statistics)  # a training forward moves them
        gradients = []
        for layer in self.leaf_layers():
            # Copies: the next forward/backward overwrites the layers' grads in place.
            gradients.extend(grad.copy() for grad in layer.grads.values())
            gradients.extend(np.zeros_like(b) for b in layer.buffers.values())
        return loss, gradients

    def _snapshot_buffers(self):
        """(array, copy) of every buffer (batch-norm moving statistics), to undo a forward."""
        return [(b, b.copy()) for layer in self.leaf_layers() for b in layer.buffers.values()]

    def _forward_backward(self, x, y):
        """Forward in training mode, loss, backward: fills every layer's ``grads``."""
        y_pred = self.forward(x, training=True)
        if y_pred.shape != np.shape(y):
            raise ValueError(
                f"targets y have shape {np.shape(y)}, "
                f"but model {self.name!r} outputs {y_pred.shape}"
            )
        first = self._first_layer_without_input_gradient()
        try:
            if self._uses_logits():
                logits = self.final_activation.inputs
                loss = self.loss.logits_value(y, logits)
                # y_pred is sigmoid(logits): dL/dlogits = (y_pred - y) / size.
                self.backward_from_logits(self.loss.logits_gradient(y, logits, y_pred))
            else:
                loss = self.loss(y, y_pred)
                self.backward(self.loss.gradient(y, y_pred))
        finally:
            if first is not None:
                del first.input_gradient_needed  # back to the class default, True
        self._last_loss = loss + self.penalty()
        return self._last_loss

    def _first_layer_without_input_gradient(self):
        """Tell the first leaf layer to skip dL/dx for this step, and return it (or None).

        A training step never reads the gradient of the model's input, and the first
        layer's dL/dx is a product as large as its dL/dW (Dense) or a whole convolution
        (Conv2D). Only layers that offer the skip (``input_gradient_needed``) and whose
        ``backward`` is not wrapped (``nn_core.trace`` reports dL/dx) are told.
        """
        leaves = self.leaf_layers()
        first = leaves[0] if leaves else None
        watched = first is not None and (
            "backward" in vars(first) or "backward_from_logits" in vars(first)
        )
        if first is None or watched or not getattr(first, "input_gradient_needed", False):
            return None
        first.input_gradient_needed = False
        return first

    def train_on_batch(self, x, y) -> float:
        """One optimizer step on the batch; returns its loss. Refuses a non-finite step."""
        self._require_compiled("train_on_batch")
        moving_statistics = self._snapshot_buffers()
        loss = self._forward_backward(x, y)
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

    def fit(
        self,
        x,
        y,
        epochs=1,
        batch_size=32,
        shuffle=True,
        validation_data=None,
        callbacks=None,
        verbose=1,
        initial_epoch=0,
    ) -> History:
        """Train for ``epochs`` passes over (x, y) in mini-batches; returns a ``History``.

        ``history.history["loss"][e]`` is epoch e's sample-weighted mean of the batch
        losses (as Keras reports it); ``"val_loss"`` is ``evaluate`` on
        ``validation_data=(x_val, y_val)`` at the epoch's end. ``verbose``: 0 silent,
        1 live progress bar, 2 one line per epoch. A NaN or infinite loss or gradient
        stops training with ``TrainingDivergedError`` before the bad step, so the
        weights stay at their last finite values.
        """
        self._require_compiled("fit")
        if isinstance(epochs, bool) or not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
        batch_size = check_batch_size(batch_size)
        x, y = self._prepare_data(x, y, "x", "y")
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("validation_data must be a pair (x_val, y_val)")
            x_val, y_val = self._prepare_data(*validation_data, "x_val", "y_val")
        steps = math.ceil(len(x) / batch_size)
        # An autoencoder's fit(x, x): gather each batch once and use it as its own targets
        # (layers never write into their inputs). Saves a copy of every batch: the classic
        # autoencoder's epoch took 0.406 s instead of 0.447 s (1 thread).
        targets_are_inputs = y is x
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
            order = self.rng.permutation(len(x)) if shuffle else np.arange(len(x))
            loss_sum, seen = 0.0, 0
            for batch, start in enumerate(range(0, len(x), batch_size)):
                for callback in callback_list:
                    callback.on_batch_begin(batch)
                indices = order[start : start + batch_size]
                x_batch = x[indices]
                y_batch = x_batch if targets_are_inputs else y[indices]
                try:
                    batch_loss = self.train_on_batch(x_batch, y_batch)
                except TrainingDivergedError as error:
                    raise TrainingDivergedError(
                        f"training diverged at epoch {epoch + 1}, batch {batch + 1}: {error}. "
                        "The weights were left at their last finite values; try a lower "
                        "learning rate or gradient clipping (clipnorm=...)"
                    ) from None
                loss_sum += batch_loss * len(indices)
                seen += len(indices)
                for callback in callback_list:
                    callback.on_batch_end(batch, {"loss": loss_sum / seen})
            logs = {"loss": loss_sum / seen}
            if validation_data is not None:
                logs["val_loss"] = self.evaluate(x_val, y_val, batch_size=batch_size)
            for callback in callback_list:
                callback.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for callback in callback_list:
            callback.on_train_end()
        return self.history

    def _prepare_data(self, x, y, x_name, y_name):
        dtype = self.dtype if self.built else np.float32
        x = as_float_batch(x, x_name, dtype)
        y = as_float_batch(y, y_name, dtype)
        check_same_length(x, y, x_name, y_name)
        if not self.built:
            self.build(x.shape[1:], dtype)
        if x.shape[1:] != self.input_shape:
            raise ValueError(
                f"model {self.name!r} expects {x_name} of shape {format_shape(self.input_shape)}, "
                f"got {x.shape}"
            )
        if y.shape[1:] != self.output_shape:
            raise ValueError(
                f"model {self.name!r} outputs {format_shape(self.output_shape)}, but {y_name} "
                f"has shape {y.shape}"
            )
        return x, y

    def evaluate(self, x, y, batch_size=32) -> float:
        """Mean loss over (x, y) in inference mode, penalties included (as Keras)."""
        self._require_compiled("evaluate")
        batch_size = check_batch_size(batch_size)
        x, y = self._prepare_data(x, y, "x", "y")
        total = 0.0
        for start in range(0, len(x), batch_size):
            x_batch, y_batch = x[start : start + batch_size], y[start : start + batch_size]
            y_pred = self.forward(x_batch, training=False)
            batch_loss = self._data_loss(y_batch, y_pred) + self.penalty()
            total += batch_loss * len(x_batch)
        return total / len(x)

    def predict(self, x, batch_size=32) -> np.ndarray:
        """Outputs for x in inference mode, computed batch by batch: (N, *output_shape).

        x is checked whole (dtype, shape, NaN/Inf) but converted to the model's dtype one
        batch at a time, so beyond the output array the memory used is that of one
        batch, whatever N (a uint8 (N, 784) input is never copied whole to float32).
        """
        return self._predict(x, batch_size, "x")

    def _predict(self, x, batch_size, argument):
        """``predict`` with ``argument`` as the input's name in error messages."""
        batch_size = check_batch_size(batch_size)
        x = checked_batch(x, argument)
        if not self.built:
            self.build(x.shape[1:], x.dtype if x.dtype in (np.float32, np.float64) else "float32")
        if x.shape[1:] != self.input_shape:
            raise ValueError(
                f"model {self.name!r} expects {argument} of shape "
                f"{format_shape(self.input_shape)}, got {x.shape}"
            )
        narrowing = x.dtype.kind == "f" and x.dtype.itemsize > self.dtype.itemsize
        outputs = np.empty((len(x), *self.output_shape), dtype=self.dtype)
        for start in range(0, len(x), batch_size):
            with np.errstate(over="ignore"):  # an overflow becomes Inf, reported below
                batch = np.ascontiguousarray(x[start : start + batch_size], dtype=self.dtype)
            if narrowing:  # 1e300 in float64 is Inf in float32
                check_finite(batch, f"{argument} (cast to {self.dtype})", first_index=start)
            outputs[start : start + batch_size] = self.forward(batch)
        return outputs

    # ------------------------------------------------------------------ description
    def summary(self, print_fn=print) -> str:
        """Print (and return) a table of layers, output shapes, parameters and FLOPs."""
        self._require_built("summary")
        text = format_summary(self)
        if print_fn is not None:
            print_fn(text)
        return text

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "seed": self.seed,
            "layers": [
                {"class_name": type(layer).__name__, "config": layer.get_config()}
                for layer in self.layers
            ],
        }

    @classmethod
    def from_config(cls, config: dict):
        from .layers import layer_class
        from .layers.dense_transposed import link_tied_layers

        layers = [
            layer_class(entry["class_name"]).from_config(entry["config"])
            for entry in config["layers"]
        ]
        model = cls(layers, seed=config.get("seed"), name=config.get("name"))
        link_tied_layers(model.leaf_layers())  # a config names the layer a tied layer reuses
        return model

    # ------------------------------------------------------------------ files
    def _file_contents(self, include_optimizer=True):
        self._require_built("save")
        config = {
            "model": self.get_config(),
            "input_shape": list(self.input_shape),
            "dtype": self.dtype.name,
            "compile": None,
        }
        arrays = {f"weight/{i}": array for i, array in enumerate(self.weight_arrays())}
        if self.loss is not None and self.optimizer is not None:
            config["compile"] = {
                "optimizer": self.optimizer.get_config(),
                "loss": self.loss.get_config(),
            }
            if include_optimizer:
                for key, value in self.optimizer.get_state().items():
                    arrays[f"optimizer/{key}"] = value
        return config, arrays

    def save(self, path, include_optimizer=True):
        """Write the model (architecture, weights, optimizer state) to one .npz file, atomically."""
        config, arrays = self._file_contents(include_optimizer)
        write_archive(path, config, arrays)

    def _save_training_state(self, path, epoch):
        """Everything ``BackupAndRestore`` needs to resume after ``epoch``."""
        config, arrays = self._file_contents()
        config["training_state"] = {
            "epoch": int(epoch),
            "rng": self.rng_state(),
            "history": self.history.history if self.history else {},
            "history_epochs": self.history.epoch if self.history else [],
        }
        write_archive(path, config, arrays)

    def _restore_training_state(self, path):
        config, arrays = read_archive(path)
        state = config.get("training_state")
        if state is None:
            raise ModelFileError(f"{path!r} is a model file, not a training backup")
        try:
            epoch = state["epoch"]
            if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
                raise ValueError(f"epoch must be an integer >= 0, got {epoch!r}")
            history = {str(k): [float(v) for v in values] for k, values in state["history"].items()}
            history_epochs = [int(e) for e in state["history_epochs"]]
            rng_state = state["rng"]
            if len(rng_state["layers"]) != len(self.leaf_layers()):
                raise ValueError("random-generator states do not match the model's layers")
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ModelFileError(f"{path!r}: invalid training state: {error!r}") from error
        _load_weights_and_optimizer(self, config, arrays, path)
        try:
            self.set_rng_state(rng_state)
        except (KeyError, TypeError, ValueError, AttributeError, OverflowError) as error:
            raise ModelFileError(f"{path!r}: invalid random-generator state: {error!r}") from error
        if self.history is not None:
            self.history.history = history
            self.history.epoch = history_epochs
        self._resume_epoch = epoch + 1


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


def _load_weights_and_optimizer(model, config, arrays, path):
    expected = [f"weight/{i}" for i in range(len(model.weight_arrays()))]
    stored = {name for name in arrays if name.startswith("weight/")}
    if stored != set(expected):
        raise ModelFileError(
            f"{path!r} holds weight arrays {sorted(stored)}, but its model config builds "
            f"{len(expected)}: {expected}"
        )
    weights = [arrays[name] for name in expected]
    for name, stored_array, target in zip(expected, weights, model.weight_arrays()):
        if stored_array.dtype != target.dtype:
            raise ModelFileError(
                f"{path!r}: {name} has dtype {stored_array.dtype}, but the config builds a "
                f"{target.dtype} model"
            )
    try:
        model.set_weights(weights)
    except ValueError as error:
        raise ModelFileError(f"{path!r}: {error}") from error
    optimizer_state = {
        name.split("/", 1)[1]: array
        for name, array in arrays.items()
        if name.startswith("optimizer/")
    }
    if optimizer_state and model.optimizer is not None:
        try:
            model.optimizer.set_state(optimizer_state)
        except ValueError as error:
            raise ModelFileError(f"{path!r}: optimizer state does not fit: {error}") from error
        _check_optimizer_state_fits(model, path)


def _check_optimizer_state_fits(model, path):
    """A fresh optimizer checks state shapes only at its first step; check them at load."""
    names, params, _ = model._trainable_pairs()
    slots = {key: value for key, value in model.optimizer.get_state().items() if "/" in key}
    indices = {int(key.split("/", 1)[0]) for key in slots}
    if indices and indices != set(range(len(params))):
        raise ModelFileError(
            f"{path!r}: the optimizer state is for {len(indices)} parameter arrays, but the "
            f"model trains {len(params)}"
        )
    for key, value in slots.items():
        index = int(key.split("/", 1)[0])
        if value.shape != params[index].shape:
            raise ModelFileError(
                f"{path!r}: optimizer state {key!r} has shape {value.shape}, but "
                f"{names[index]} has shape {params[index].shape}"
            )


def load_model(path) -> Sequential:
    """Rebuild a model saved with ``model.save(path)``: architecture, weights, optimizer.

    Never unpickles. Raises ``ModelFileError`` (a ValueError) naming the file when it is
    truncated, corrupted, from another program, or inconsistent with its own config.
    """
    config, arrays = read_archive(path)
    try:
        model = Sequential.from_config(config["model"])
        model.build(tuple(config["input_shape"]), config["dtype"])
        if config.get("compile"):
            model.compile(
                optimizer=optimizers_module.get(config["compile"]["optimizer"]),
                loss=losses_module.get(config["compile"]["loss"]),
            )
    except ModelFileError:
        raise
    except Exception as error:  # noqa: BLE001 - the config is untrusted input: any failure
        # to rebuild a model from it is a problem of the file, reported as such.
        raise ModelFileError(
            f"{path!r}: cannot rebuild the model from its config: {type(error).__name__}: {error}"
        ) from error
    _load_weights_and_optimizer(model, config, arrays, path)
    return model
