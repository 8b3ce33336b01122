"""Denoising autoencoders (Vincent et al., ICML 2008): corrupted inputs, clean targets.

The corruption is the first layer of the encoder (``nn.layers.ClippedGaussianNoise`` or
``nn.layers.MaskingNoise``): active in training only, so ``fit`` corrupts every batch
afresh, each epoch with new noise from the layer's own seeded generator, while the
targets stay the clean inputs; ``predict``, ``encode`` and ``evaluate`` see the inputs
as given. (The Keras blog corrupted the training set once, before training.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import nn_core as nn

from .base import Autoencoder, check_positive_int, flat_input_size
from .conv import conv_layers

NOISE_KINDS = ("gaussian", "masking")


def corruption_layer(
    noise: str = "gaussian", noise_stddev: float = 0.5, masking_fraction: float = 0.25
) -> nn.layers.ClippedGaussianNoise | nn.layers.MaskingNoise:
    """The training-only corruption: Gaussian noise clipped to [0, 1] or masking noise.

    "gaussian": x + N(0, noise_stddev^2), clipped to the pixel range [0, 1] (the Keras
    blog: noise factor 0.5). "masking": a random ``masking_fraction`` of each image's
    pixels set to 0 (Vincent et al. 2008 used 10% to 50%; 0.25 by default).
    """
    if noise == "gaussian":
        return nn.layers.ClippedGaussianNoise(noise_stddev, clip_min=0.0, clip_max=1.0)
    if noise == "masking":
        return nn.layers.MaskingNoise(masking_fraction)
    raise ValueError(f"noise must be one of {NOISE_KINDS}, got {noise!r}")


class DenoisingAutoencoder(Autoencoder):
    """x (N, D) -> corruption (training only) -> Dense(code_size, activation) -> Dense(D, sigmoid).

    ``noise``: "gaussian" (``noise_stddev``, clipped to [0, 1]) or "masking"
    (``masking_fraction``); see ``corruption_layer``. Fit it with the clean images as
    both inputs and targets (the default): the corruption is inside the model.
    """

    def __init__(
        self,
        input_shape: int | Sequence[int],
        code_size: int = 32,
        noise_stddev: float = 0.5,
        noise: str = "gaussian",
        masking_fraction: float = 0.25,
        activation: str | None = "relu",
        output_activation: str | None = "sigmoid",
        seed: int | None = None,
    ):
        input_size = flat_input_size(input_shape, "DenoisingAutoencoder")
        self.code_size = check_positive_int(code_size, "code_size", "DenoisingAutoencoder")
        self.noise, self.noise_stddev, self.masking_fraction = noise, noise_stddev, masking_fraction
        self.activation, self.output_activation = activation, output_activation
        self.corruption = corruption_layer(noise, noise_stddev, masking_fraction)
        super().__init__(
            (input_size,),
            [self.corruption, nn.layers.Dense(self.code_size, activation=activation)],
            [nn.layers.Dense(input_size, activation=output_activation)],
            seed=seed,
        )

    def get_config(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "code_size": self.code_size,
            "noise_stddev": self.noise_stddev,
            "noise": self.noise,
            "masking_fraction": self.masking_fraction,
            "activation": self.activation,
            "output_activation": self.output_activation,
            "seed": self.seed,
        }


class ConvDenoisingAutoencoder(Autoencoder):
    """The convolutional autoencoder of ``conv_layers`` with a training-only corruption first.

    Defaults: the Keras blog's denoising model, Conv2D(32)-MaxPool-Conv2D(32)-MaxPool down
    to 7x7x32 and back up, noise factor 0.5 clipped to [0, 1] (the blog trained it 100
    epochs, batch 128, Adadelta(1.0)). Other arguments as in ``DenoisingAutoencoder`` and
    ``ConvAutoencoder``.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (28, 28, 1),
        filters: Sequence[int] = (32, 32),
        noise_stddev: float = 0.5,
        noise: str = "gaussian",
        masking_fraction: float = 0.25,
        kernel_size: int = 3,
        activation: str | None = "relu",
        output_activation: str | None = "sigmoid",
        seed: int | None = None,
    ):
        self.filters, self.kernel_size = tuple(filters), kernel_size
        self.noise, self.noise_stddev, self.masking_fraction = noise, noise_stddev, masking_fraction
        self.activation, self.output_activation = activation, output_activation
        self.corruption = corruption_layer(noise, noise_stddev, masking_fraction)
        encoder_layers, decoder_layers = conv_layers(
            input_shape, self.filters, kernel_size, activation, output_activation
        )
        super().__init__(input_shape, [self.corruption, *encoder_layers], decoder_layers, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "filters": list(self.filters),
            "noise_stddev": self.noise_stddev,
            "noise": self.noise,
            "masking_fraction": self.masking_fraction,
            "kernel_size": self.kernel_size,
            "activation": self.activation,
            "output_activation": self.output_activation,
            "seed": self.seed,
        }
