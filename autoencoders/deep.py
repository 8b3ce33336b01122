"""DeepAutoencoder: a symmetric stack of Dense layers, optionally tied and pretrained."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import nn_core as nn
from nn_core.validation import as_float_batch

from .base import DEFAULT_BATCH_SIZE, Autoencoder, check_positive_int, flat_input_size


class DeepAutoencoder(Autoencoder):
    """x (N, D) -> Dense(h1) -> ... -> Dense(code_size) -> ... -> Dense(h1) -> Dense(D) -> x_hat.

    The decoder mirrors the encoder: decoder layer k maps encoder layer k's outputs back to
    its inputs. Defaults are the Keras blog's deep model, 784-128-64-32-64-128-784 with relu
    units and a sigmoid output. ``code_activation`` (default: ``activation``) is the code
    layer's; Hinton and Salakhutdinov (2006) used logistic hidden units and a linear code.

    ``tied_weights=True``: each decoder layer is an ``nn.layers.DenseTransposed`` reusing its
    mirror encoder layer's kernel, transposed, with a bias of its own; the kernel is one
    parameter (listed once by ``get_weights``) whose gradient sums both uses.
    ``pretrain`` offers greedy layer-wise pretraining before ``fit``.
    """

    def __init__(
        self,
        input_shape: int | Sequence[int],
        hidden_sizes: Sequence[int] = (128, 64),
        code_size: int = 32,
        tied_weights: bool = False,
        activation: str | None = "relu",
        code_activation: str | None = None,
        output_activation: str | None = "sigmoid",
        seed: int | None = None,
    ):
        input_size = flat_input_size(input_shape, "DeepAutoencoder")
        self.hidden_sizes = tuple(
            check_positive_int(size, "each hidden size", "DeepAutoencoder") for size in hidden_sizes
        )
        self.code_size = check_positive_int(code_size, "code_size", "DeepAutoencoder")
        self.tied_weights = bool(tied_weights)
        self.activation, self.code_activation = activation, code_activation
        self.output_activation = output_activation
        sizes = [input_size, *self.hidden_sizes, self.code_size]  # encoder layer k: k -> k + 1
        activations = [activation] * len(self.hidden_sizes)
        activations.append(activation if code_activation is None else code_activation)
        encoder = [nn.layers.Dense(n, activation=a) for n, a in zip(sizes[1:], activations)]
        decoder: list[nn.layers.Layer] = []
        for k in reversed(range(len(encoder))):
            unit_activation = output_activation if k == 0 else activation
            if self.tied_weights:
                decoder.append(
                    nn.layers.DenseTransposed(
                        encoder[k], activation=unit_activation, output_size=sizes[k]
                    )
                )
            else:
                decoder.append(nn.layers.Dense(sizes[k], activation=unit_activation))
        super().__init__((input_size,), encoder, decoder, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "hidden_sizes": list(self.hidden_sizes),
            "code_size": self.code_size,
            "tied_weights": self.tied_weights,
            "activation": self.activation,
            "code_activation": self.code_activation,
            "output_activation": self.output_activation,
            "seed": self.seed,
        }

    def pretrain(
        self, x: np.ndarray, epochs: int, batch_size: int = DEFAULT_BATCH_SIZE, verbose: int = 0
    ) -> list[float]:
        """Greedy layer-wise pretraining; returns each stage's last training loss.

        Stage k trains encoder layer k and its mirror decoder layer as a shallow
        autoencoder of h_{k-1} (the codes of the stages before, h_0 = x), for ``epochs``,
        then moves on: greedy autoencoder pretraining as in Bengio et al. (NIPS 2007), not
        the RBM pretraining of Hinton and Salakhutdinov (2006). The layers are the model's
        own, so ``fit`` then fine-tunes the pretrained weights. Stage 0 uses the compiled
        loss (binary cross-entropy on the pixels by default), later stages mean squared
        error (their targets are hidden activations); each stage gets a fresh optimizer
        configured as the compiled one (Adam(1e-3) when not compiled). Seeded by the model.
        """
        self._ensure_built()
        epochs = check_positive_int(epochs, "epochs", "DeepAutoencoder.pretrain")
        model = self.model
        optimizer_config = (
            model.optimizer.get_config() if model.optimizer is not None else {"class_name": "Adam"}
        )
        first_loss = model.loss if model.loss is not None else self.default_loss
        inputs = as_float_batch(x, "x", model.dtype)
        # Sequential() gives each layer it holds a new generator: put the model's back after.
        generators = [(layer, layer.rng) for layer in model.leaf_layers()]
        final_losses = []
        try:
            pairs = zip(self.encoder.layers, reversed(self.decoder.layers))
            for stage, (encoder_layer, decoder_layer) in enumerate(pairs):
                shallow = nn.Sequential(
                    [encoder_layer, decoder_layer],
                    seed=int(model.rng.integers(2**31)),
                    name=f"pretraining_stage_{stage}",
                )
                shallow.build(encoder_layer.input_shape, model.dtype)
                shallow.compile(
                    optimizer=nn.optimizers.get(optimizer_config),
                    loss=first_loss if stage == 0 else "mean_squared_error",
                )
                history = shallow.fit(
                    inputs, inputs, epochs=epochs, batch_size=batch_size, verbose=verbose
                )
                final_losses.append(float(history.history["loss"][-1]))
                inputs = np.concatenate(
                    [
                        encoder_layer.forward(inputs[start : start + batch_size])
                        for start in range(0, len(inputs), batch_size)
                    ]
                )
        finally:
            for layer, generator in generators:
                layer.set_rng(generator)
        return final_losses
