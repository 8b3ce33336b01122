"""2-D max and average pooling layers (channels-last, Keras semantics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import kernels
from . import _spatial
from .base import Layer

if TYPE_CHECKING:
    import numpy as np


class _Pooling2D(Layer):
    """Shared arguments and shapes of MaxPooling2D and AveragePooling2D.

    x: (N, H, W, C) -> y: (N, OH, OW, C), each channel pooled on its own over
    ``pool_size`` windows moved by ``strides`` (default: ``pool_size``, as Keras).
    ``padding`` "valid": OH = floor((H - ph) / sh) + 1; "same": OH = ceil(H / sh),
    padded as TensorFlow does, and padded cells never count (see the subclasses).
    """

    def __init__(
        self,
        pool_size: int | Sequence[int] = (2, 2),
        strides: int | Sequence[int] | None = None,
        padding: str = "valid",
        name: str | None = None,
    ):
        super().__init__(name=name)
        self.pool_size = _spatial.as_pair(self, "pool_size", pool_size)
        self.strides = (
            self.pool_size if strides is None else _spatial.as_pair(self, "strides", strides)
        )
        self.padding = _spatial.as_padding_mode(self, padding)

    def build(self, input_shape: Sequence[int], dtype: Any = "float32") -> None:
        super().build(input_shape, dtype)  # checks the shape through compute_output_shape
        self.padding_amounts = _spatial.explicit_padding(
            self.input_shape[:2], self.pool_size, self.strides, self.padding
        )

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        _spatial.check_image_shape(self, input_shape)
        _spatial.check_window_fits(self, input_shape, self.pool_size, self.padding, "pool window")
        output_hw = _spatial.window_output_hw(
            input_shape[:2], self.pool_size, self.strides, self.padding
        )
        return (*output_hw, input_shape[2])

    def flops(self) -> int:
        """One comparison or addition per window cell: OH*OW*C * ph*pw per sample."""
        out_h, out_w, channels = self.output_shape
        return out_h * out_w * channels * self.pool_size[0] * self.pool_size[1]

    def get_config(self) -> dict[str, Any]:
        # Lists, so that the config survives a JSON round trip unchanged.
        return {
            **super().get_config(),
            "pool_size": list(self.pool_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }


class MaxPooling2D(_Pooling2D):
    """y[n, oh, ow, c] = max of x over the window of (oh, ow) in channel c.

    With "same" padding the padded cells are -inf, so they never win. On ties the first
    maximum in row-major window order wins and alone receives the gradient.

    Backward: dL/dx[n, h, w, c] = sum of dL/dy[n, oh, ow, c] over the windows (oh, ow)
    whose winner is (h, w); dL/dy: (N, OH, OW, C) -> dL/dx: (N, H, W, C).
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x: (N, H, W, C) -> y: (N, OH, OW, C); keeps the winners' positions."""
        x = self._prepare_input(x)
        self.batch_input_shape = x.shape
        y, self.argmax = kernels.max_pool2d_forward(
            x, self.pool_size, self.strides, self.padding_amounts
        )
        return y

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """dL/dx (N, H, W, C): each dL/dy (N, OH, OW, C) is added to its window's winner."""
        return kernels.max_pool2d_backward(
            grad_output,
            self.argmax,
            self.batch_input_shape,
            self.pool_size,
            self.strides,
            self.padding_amounts,
        )


class AveragePooling2D(_Pooling2D):
    """y[n, oh, ow, c] = mean of x over the real cells of the window of (oh, ow).

    With "same" padding the mean divides by the number of non-padded cells in each
    window, as TensorFlow does (PyTorch's default ``count_include_pad=True`` differs).
    """

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x: (N, H, W, C) -> y: (N, OH, OW, C)."""
        x = self._prepare_input(x)
        self.batch_input_shape = x.shape
        return kernels.avg_pool2d_forward(x, self.pool_size, self.strides, self.padding_amounts)

    def backward(self, grad_output: np.ndarray) -> np.ndarray:
        """dL/dx (N, H, W, C): each dL/dy / count is added to every real cell of its window."""
        return kernels.avg_pool2d_backward(
            grad_output, self.batch_input_shape, self.pool_size, self.strides, self.padding_amounts
        )
