"""What every autoencoder here shares: an encoder, a decoder and the whole that chains them.

An autoencoder is three ``nn_core.Sequential`` models built from one set of layer objects:

    encoder = Sequential(encoder layers)                    x (N, *input_shape) -> code
    decoder = Sequential(decoder layers)                    code -> x_hat (N, *input_shape)
    model   = Sequential([encoder, *between, decoder])      x -> x_hat, trained as a whole

so training ``model`` changes what ``encoder`` and ``decoder`` compute, as in Keras.
Every penalty (L1 or KL sparsity, the contractive term, the VAE's KL term) and every
corruption (denoising noise) is an ``nn_core`` layer or regularizer inside ``model``, so
``model.loss_and_gradients`` includes it and ``fit``, ``evaluate`` and the gradient checks
see it with nothing added here. A subclass only chooses the layers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

import nn_core as nn
from nn_core.data import is_data_source
from nn_core.model_files import apply_frozen_paths, frozen_paths
from nn_core.saving import read_archive, write_archive
from nn_core.validation import as_float_batch

if TYPE_CHECKING:
    from typing_extensions import Self

    from nn_core.callbacks import Callback, History
    from nn_core.layers.base import Layer
    from nn_core.losses import Loss
    from nn_core.optimizers import Optimizer

DEFAULT_BATCH_SIZE = 256  # the Keras blog's batch size for its dense autoencoders


class Autoencoder:
    """Base class. Subclasses pass their layers to ``__init__`` and define ``get_config``.

    Attributes: ``encoder``, ``decoder``, ``model`` (``nn_core.Sequential``, sharing layer
    objects), ``input_shape`` (one sample's shape, no batch axis).
    """

    #: loss used by ``compile()`` when none is given
    default_loss = "binary_crossentropy"
    _classes: dict[str, type] = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        Autoencoder._classes[cls.__name__] = cls  # for ``load``

    def __init__(
        self,
        input_shape: int | Sequence[int],
        encoder_layers: Iterable[Layer],
        decoder_layers: Iterable[Layer],
        between: Iterable[Layer] = (),
        seed: int | None = None,
        name: str | None = None,
    ):
        self.input_shape = as_shape(input_shape)
        self.seed = seed
        self.encoder = nn.Sequential(list(encoder_layers), name="encoder")
        self.decoder = nn.Sequential(list(decoder_layers), name="decoder")
        self.model = nn.Sequential(
            [self.encoder, *between, self.decoder], seed=seed, name=name or "autoencoder"
        )

    def get_config(self) -> dict:
        """JSON-serialisable constructor arguments: ``type(self)(**get_config())`` rebuilds it."""
        raise NotImplementedError

    # ------------------------------------------------------------------ building, training
    def build(self, dtype: Any = "float32") -> Self:
        """Create every weight, for inputs of ``input_shape``, in ``dtype``; returns self."""
        self.model.build(self.input_shape, dtype)
        return self

    def _ensure_built(self):
        if not self.model.built:
            self.build()

    def compile(
        self, optimizer: str | Optimizer | dict[str, Any] = "adam", loss: str | Loss | None = None
    ) -> Self:
        """Choose the optimizer and the reconstruction loss; returns self.

        optimizer: an ``nn_core.optimizers`` instance or name; default ``"adam"``, i.e.
        Adam(learning_rate=1e-3, Keras's and PyTorch's defaults), which trains every model
        here without tuning (the Keras blog used Adadelta(learning_rate=1.0) for most:
        pass ``nn.optimizers.Adadelta(learning_rate=1.0)`` for its recipe; tf.keras's
        Adadelta default of 0.001 does not converge). loss: a name or ``nn_core.losses``
        instance; default ``default_loss``: binary cross-entropy, a mean over pixels, for
        pixels in [0, 1] and a sigmoid output (the VAE: summed over pixels).
        """
        self.model.compile(optimizer=optimizer, loss=self.default_loss if loss is None else loss)
        return self

    def fit(
        self,
        x: Any,
        y: np.ndarray | None = None,
        epochs: int = 1,
        batch_size: int = DEFAULT_BATCH_SIZE,
        validation_data: Any = None,
        shuffle: bool = True,
        callbacks: Sequence[Callback] | None = None,
        verbose: int = 1,
    ) -> History:
        """Train on x (N, *input_shape) toward targets y (default: x itself); returns a History.

        x may be in memory, a ``np.memmap`` (read batch by batch) or a data source
        (``nn.data.Dataset`` of (x, y) batches, e.g. ``nn.data.ArrayDataset(x)``, whose
        targets are its inputs; y must then be None). ``validation_data``: x_val
        (targets x_val), a pair (x_val, y_val) or a data source. Other arguments as in
        ``Sequential.fit`` (``batch_size`` defaults to 256, the Keras blog's; a data
        source has its own). Corruption layers (denoising) corrupt each training batch
        afresh.
        """
        if y is None and not is_data_source(x):
            y = x
        if (
            validation_data is not None
            and not isinstance(validation_data, (tuple, list))
            and not is_data_source(validation_data)
        ):
            validation_data = (validation_data, validation_data)
        return self.model.fit(
            x,
            y,
            epochs=epochs,
            batch_size=batch_size,
            shuffle=shuffle,
            validation_data=validation_data,
            callbacks=callbacks,
            verbose=verbose,
        )

    def init_output_bias(self, targets: np.ndarray, epsilon: float = 1e-3) -> Self:
        """Start the output layer's bias at the mean target (its logit); returns self.

        A sigmoid output gets b = logit(clip(mean, epsilon, 1 - epsilon)), a linear one
        b = mean: the mean over samples of each output unit (Dense), or of all pixels of
        each channel (Conv2D). Training then starts from the best constant prediction
        instead of 0.5 everywhere, and does not spend its first epochs learning the mean
        image ("initialise well", A. Karpathy, "A Recipe for Training Neural Networks",
        2019). On the classic 784-32-784 recipe it lowered the median test BCE over seeds
        0-4 from 0.1036 to 0.1020 (README, Results). Call after ``build`` and before
        ``fit``; ``targets``: (N, *input_shape), what ``fit`` will reconstruct (the clean
        images for a denoising model).
        """
        self._ensure_built()
        layer = self.decoder.layers[-1]
        name = type(self).__name__
        if "bias" not in getattr(layer, "params", {}):  # no bias: use_bias=False or no weights
            raise ValueError(
                f"{name}.init_output_bias: the output layer {layer.name!r} "
                f"({type(layer).__name__}) has no bias"
            )
        epsilon = float(epsilon)
        if not 0.0 < epsilon < 0.5:
            raise ValueError(
                f"{name}.init_output_bias: epsilon must be in (0, 0.5), got {epsilon!r}"
            )
        targets = as_float_batch(targets, "targets", self.model.dtype)
        if targets.shape[1:] != self.input_shape:
            raise ValueError(
                f"{name}.init_output_bias: targets must have samples of shape "
                f"{self.input_shape}, got {targets.shape[1:]}"
            )
        bias = layer.params["bias"]
        mean = targets.reshape(-1, bias.size).mean(axis=0, dtype=np.float64)
        activation = getattr(layer, "activation", None)
        if isinstance(activation, nn.layers.Sigmoid):
            mean = np.clip(mean, epsilon, 1.0 - epsilon)
            bias[...] = np.log(mean / (1.0 - mean))
        elif isinstance(activation, nn.layers.Linear):
            bias[...] = mean
        else:
            raise ValueError(
                f"{name}.init_output_bias: needs a sigmoid or linear output, the output "
                f"layer {layer.name!r} has {type(activation).__name__}"
            )
        return self

    def evaluate(
        self, x: Any, y: np.ndarray | None = None, batch_size: int = DEFAULT_BATCH_SIZE
    ) -> float:
        """Mean loss over (x, y = x by default) in inference mode, penalties included.

        x: an array, a ``np.memmap`` or a data source of (x, y) batches (y None)."""
        if y is None and not is_data_source(x):
            y = x
        return self.model.evaluate(x, y, batch_size=batch_size)

    def loss_and_gradients(
        self, x: np.ndarray, y: np.ndarray | None = None
    ) -> tuple[float, list[np.ndarray]]:
        """(total loss of the batch, penalties included; gradients in ``get_weights()`` order)."""
        return self.model.loss_and_gradients(x, x if y is None else y)

    @property
    def history(self) -> History | None:
        """The ``History`` of the last ``fit``."""
        return self.model.history

    # ------------------------------------------------------------------ inference
    def predict(self, x: Any, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Reconstructions of x (N, *input_shape), in inference mode (no noise)."""
        self._ensure_built()
        return self.model.predict(x, batch_size=batch_size)

    def encode(self, x: Any, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Codes of x (N, *input_shape): the encoder's outputs, in inference mode."""
        self._ensure_built()
        return self.encoder._predict(x, batch_size, "x")

    def decode(self, codes: Any, batch_size: int = DEFAULT_BATCH_SIZE) -> np.ndarray:
        """Reconstructions (N, *input_shape) from codes (N, *code_shape)."""
        self._ensure_built()
        return self.decoder._predict(codes, batch_size, "codes")

    # ------------------------------------------------------------------ weights, state
    def get_weights(self) -> list[np.ndarray]:
        """Copies of every weight, encoder first (see ``Sequential.get_weights``)."""
        return self.model.get_weights()

    def set_weights(self, weights: Iterable[np.ndarray]) -> None:
        self.model.set_weights(weights)

    def weight_arrays(self) -> list[np.ndarray]:
        """The live weight arrays, in ``get_weights`` order (for gradient checks)."""
        return self.model.weight_arrays()

    def rng_state(self) -> dict:
        return self.model.rng_state()

    def set_rng_state(self, state: dict) -> None:
        self.model.set_rng_state(state)

    def count_params(self) -> int:
        return self.model.count_params()

    def summary(self, print_fn: Callable[[str], object] | None = print) -> str:
        self._ensure_built()
        return self.model.summary(print_fn=print_fn)

    # ------------------------------------------------------------------ files
    def save(self, path: str | os.PathLike[str], include_optimizer: bool = True) -> None:
        """Write the autoencoder to one .npz file, atomically (nn_core's model format).

        The file holds the class and its constructor arguments, the weights, the compile
        settings and (with ``include_optimizer``) the optimizer state. It is also a valid
        ``nn_core`` model file: ``nn.load_model(path)`` returns the whole as a Sequential.
        """
        model = self.model
        if not model.built:
            raise ValueError(f"{type(self).__name__} is not built yet: call build() before save")
        config = {
            "model": model.get_config(),
            "input_shape": list(model.input_shape),
            "dtype": model.dtype.name,
            "compile": None,
            "frozen": frozen_paths(model),
            "autoencoder": {"class_name": type(self).__name__, "config": self.get_config()},
        }
        arrays = {f"weight/{i}": array for i, array in enumerate(model.weight_arrays())}
        if model.optimizer is not None and model.loss is not None:
            config["compile"] = {
                "optimizer": model.optimizer.get_config(),
                "loss": model.loss.get_config(),
            }
            if include_optimizer:
                for key, value in model.optimizer.get_state().items():
                    arrays[f"optimizer/{key}"] = value
        write_archive(path, config, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Self:
        """Rebuild an autoencoder written by ``save``. Never unpickles.

        Raises ``nn.ModelFileError`` (a ValueError) naming the file when it is not an
        autoencoder file, holds another class than the one ``load`` is called on, or does
        not fit its own configuration.
        """
        config, arrays = read_archive(path)
        entry = config.get("autoencoder")
        if not isinstance(entry, dict) or entry.get("class_name") not in Autoencoder._classes:
            raise nn.ModelFileError(f"{path!r} is an nn_core model file, not an autoencoder's")
        target = Autoencoder._classes[entry["class_name"]]
        if not issubclass(target, cls):
            raise nn.ModelFileError(f"{path!r} holds a {target.__name__}, not a {cls.__name__}")
        try:
            autoencoder = target(**entry["config"]).build(config["dtype"])
            apply_frozen_paths(autoencoder.model, config.get("frozen", []))
            if config.get("compile"):
                autoencoder.compile(
                    optimizer=nn.optimizers.get(config["compile"]["optimizer"]),
                    loss=nn.losses.get(config["compile"]["loss"]),
                )
            count = len(autoencoder.weight_arrays())
            if {name for name in arrays if name.startswith("weight/")} != {
                f"weight/{i}" for i in range(count)
            }:
                raise ValueError(f"the file's weight arrays do not match the {count} it builds")
            autoencoder.set_weights([arrays[f"weight/{i}"] for i in range(count)])
            state = {
                name.split("/", 1)[1]: value
                for name, value in arrays.items()
                if name.startswith("optimizer/")
            }
            if state and autoencoder.model.optimizer is not None:
                autoencoder.model.optimizer.set_state(state)
        except (KeyError, TypeError, ValueError) as error:
            if isinstance(error, nn.ModelFileError):
                raise
            raise nn.ModelFileError(f"{path!r}: cannot rebuild the autoencoder: {error}") from error
        return autoencoder

    def __repr__(self):
        arguments = ", ".join(f"{key}={value!r}" for key, value in self.get_config().items())
        return f"{type(self).__name__}({arguments})"


def as_shape(input_shape: int | Sequence[int]) -> tuple[int, ...]:
    """``784`` or ``(784,)`` or ``[28, 28, 1]`` -> a tuple of positive ints (no batch axis)."""
    if isinstance(input_shape, (int, np.integer)) and not isinstance(input_shape, bool):
        input_shape = (input_shape,)
    try:
        # a bool (an int to mypy) is not iterable: the TypeError is the refusal below
        shape = tuple(input_shape)  # type: ignore[arg-type]
    except TypeError:
        shape = None
    if (
        not shape
        or any(isinstance(d, bool) or not isinstance(d, (int, np.integer)) for d in shape)
        or any(d < 1 for d in shape)
    ):
        raise ValueError(
            f"input_shape must be a positive int or a tuple of them (one sample's shape, "
            f"without the batch axis), got {input_shape!r}"
        )
    return tuple(int(d) for d in shape)


def flat_input_size(input_shape: int | Sequence[int], model_name: str) -> int:
    """The feature count of a flat ``input_shape`` (D,); ValueError for images."""
    shape = as_shape(input_shape)
    if len(shape) != 1:
        raise ValueError(
            f"{model_name} takes flat inputs (N, features), got input_shape {shape}; flatten "
            f"the images first (x.reshape(len(x), -1)) or use ConvAutoencoder"
        )
    return shape[0]


def check_positive_int(value: int | np.integer, argument: str, model_name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{model_name}: {argument} must be a positive integer, got {value!r}")
    return int(value)
