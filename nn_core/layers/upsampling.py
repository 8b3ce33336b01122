"""Nearest-neighbour 2-D upsampling layer (channels-last, Keras semantics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import kernels
from . import _spatial
from .base import Layer

if TYPE_CHECKING:
    import numpy as np


class UpSampling2D(Layer):
    """Repeat every pixel into a size_h x size_w block (Keras's default "nearest").

    x: (N, H, W, C) -> y: (N, H*size_h, W*size_w, C); ``size`` is an int or a pair
    (size_h, size_w), default (2, 2).

    Forward: y[n, h, w, c] = x[n, h // size_h, w // size_w, c].
    Backward: dL/dx[n, i, j, c] = sum of dL/dy[n, h, w, c] over the block h // size_h = i,
    w // size_w = j; dL/dy: (N, H*size_h, W*size_w, C) -> dL/dx: (N, H, W, C).
    """

    def __init__(self, size: int | Sequence[int] = (2, 2), name: str | None = None):
        super().__init__(name=name)
        self.size = _spatial.as_pair(self, "size", size)

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        _spatial.check_image_shape(self, input_shape)
        height, width, channels = input_shape
        return (height * self.size[0], width * self.size[1], channels)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x: (N, H, W, C) -> y: (N, H*size_h, W*size_w, C)."""
        x = self._prepare_input(x)
        return kernels.upsample_nearest2d_forward(x, *self.size)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """dL/dx (N, H, W, C) = dL/dy (N, H*size_h, W*size_w, C) summed over each block."""
        return kernels.upsample_nearest2d_backward(grad_output, *self.size)

    def get_config(self) -> dict[str, Any]:
        # A list, so that the config survives a JSON round trip unchanged.
        return {**super().get_config(), "size": list(self.size)}
