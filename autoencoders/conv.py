"""ConvAutoencoder: convolutions and max-pooling down to a small code image, and back up.

The Keras blog's convolutional autoencoder (input 28x28x1):

    encoder  Conv2D(16, 3, relu, same)  MaxPooling2D(2, same)     28x28x16 -> 14x14x16
             Conv2D(8, 3, relu, same)   MaxPooling2D(2, same)     14x14x8  -> 7x7x8
             Conv2D(8, 3, relu, same)   MaxPooling2D(2, same)     7x7x8    -> 4x4x8 (code)
    decoder  Conv2D(8, 3, relu, same)   UpSampling2D(2)           4x4x8    -> 8x8x8
             Conv2D(8, 3, relu, same)   UpSampling2D(2)           8x8x8    -> 16x16x8
             Conv2D(16, 3, relu, valid) UpSampling2D(2)           14x14x16 -> 28x28x16
             Conv2D(1, 3, sigmoid, same)                          28x28x1

The 'same' poolings round 7 up to 4, so upsampling gives 32, not 28: the one 'valid'
convolution trims 2 rows and columns before the last upsampling. For other input sizes
and depths ``conv_layers`` puts 'valid' convolutions where they make the output land on
the input size, or refuses the shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import nn_core as nn

from .base import Autoencoder, as_shape, check_positive_int

L = nn.layers


class ConvAutoencoder(Autoencoder):
    """x (N, H, W, C) -> code (N, ceil(H / 2^k), ceil(W / 2^k), filters[-1]) -> x_hat (N, H, W, C).

    ``filters``: the encoder's convolutions, one per pooling level (k = len(filters)); the
    decoder mirrors them in reverse, then a last ``kernel_size`` convolution with C
    filters and ``output_activation``. Defaults: the Keras blog's model (module docstring),
    trained there with Adadelta(learning_rate=1.0), batch 128, binary cross-entropy.
    ``output_channels`` (default C) makes it an image-to-image model, x (N, H, W, C) ->
    (N, H, W, output_channels): grey to colour, for instance.
    """

    def __init__(
        self,
        input_shape: Sequence[int] = (28, 28, 1),
        filters: Sequence[int] = (16, 8, 8),
        kernel_size: int = 3,
        activation: str | None = "relu",
        output_activation: str | None = "sigmoid",
        seed: int | None = None,
        output_channels: int | None = None,
    ):
        self.filters = tuple(filters)
        self.kernel_size = kernel_size
        self.activation, self.output_activation = activation, output_activation
        shape = as_shape(input_shape)
        self.output_channels: int | None
        if output_channels is not None and len(shape) == 3:
            check_positive_int(output_channels, "output_channels", "ConvAutoencoder")
            self.output_channels = output_channels
        else:
            self.output_channels = None
        output_shape = shape if self.output_channels is None else (*shape[:2], self.output_channels)
        encoder_layers, decoder_layers = conv_layers(
            output_shape, self.filters, kernel_size, activation, output_activation
        )
        super().__init__(input_shape, encoder_layers, decoder_layers, seed=seed)

    def get_config(self) -> dict[str, Any]:
        return {
            "input_shape": list(self.input_shape),
            "filters": list(self.filters),
            "kernel_size": self.kernel_size,
            "activation": self.activation,
            "output_activation": self.output_activation,
            "seed": self.seed,
            "output_channels": self.output_channels,
        }


def conv_layers(
    input_shape: Sequence[int],
    filters: Sequence[int],
    kernel_size: int = 3,
    activation: str | None = "relu",
    output_activation: str | None = "sigmoid",
) -> tuple[list[nn.layers.Layer], list[nn.layers.Layer]]:
    """(encoder layers, decoder layers) of a conv/max-pool autoencoder for ``input_shape``.

    Encoder: per entry f of ``filters``, Conv2D(f, same) then MaxPooling2D(2, same).
    Decoder: per entry of reversed ``filters``, Conv2D(f, same or valid) then
    UpSampling2D(2); then Conv2D(channels, same, output_activation).
    """
    shape = as_shape(input_shape)
    if len(shape) != 3:
        raise ValueError(
            f"ConvAutoencoder: input_shape must be (height, width, channels), got {shape}"
        )
    if not filters:
        raise ValueError("ConvAutoencoder: filters must list at least one convolution")
    filters = [check_positive_int(f, "each entry of filters", "ConvAutoencoder") for f in filters]
    kernel_size = check_positive_int(kernel_size, "kernel_size", "ConvAutoencoder")
    height, width, channels = shape
    valid = _valid_decoder_stages(height, len(filters), kernel_size - 1)
    if _valid_decoder_stages(width, len(filters), kernel_size - 1) != valid:
        raise ValueError(
            f"ConvAutoencoder: input_shape {shape} needs different decoder paddings for its "
            "height and width; use a square input or pad the images"
        )
    encoder: list[L.Layer] = []
    for count in filters:
        encoder.append(L.Conv2D(count, kernel_size, activation=activation, padding="same"))
        encoder.append(L.MaxPooling2D(2, padding="same"))
    decoder: list[L.Layer] = []
    for stage, count in enumerate(reversed(filters)):
        padding = "valid" if stage in valid else "same"
        decoder.append(L.Conv2D(count, kernel_size, activation=activation, padding=padding))
        decoder.append(L.UpSampling2D(2))
    decoder.append(L.Conv2D(channels, kernel_size, activation=output_activation, padding="same"))
    return encoder, decoder


def _valid_decoder_stages(size, depth, trim):
    """Decoder stages (0 = next to the code) whose convolution must be 'valid' for ``size``.

    The code has c = size halved ``depth`` times, rounding up; upsampling it gives
    c * 2^depth >= size. A 'valid' convolution at stage k removes ``trim`` (kernel - 1)
    rows before k's upsampling, i.e. trim * 2^(depth - k) rows of the output.
    """
    code = size
    for _ in range(depth):
        code = math.ceil(code / 2)
    excess = code * 2**depth - size
    stages = set()
    for stage in range(depth):
        removed = trim * 2 ** (depth - stage)
        if removed and excess >= removed:
            stages.add(stage)
            excess -= removed
    if excess:
        raise ValueError(
            f"ConvAutoencoder: an input of size {size} cannot be rebuilt by {depth} upsamplings "
            f"of 2 and {trim + 1}x{trim + 1} convolutions; choose a size that halves evenly "
            f"(e.g. a multiple of {2**depth}) or another number of filters"
        )
    return stages
