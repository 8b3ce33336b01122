"""Transposed 2-D convolution layer (channels-last, Keras semantics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import kernels
from . import _spatial
from .weighted import WeightedLayer

if TYPE_CHECKING:
    import numpy as np

    from .activations import Activation


class Conv2DTranspose(WeightedLayer):
    """y = activation(conv2d_transpose(x, kernel) + bias), the adjoint of a Conv2D.

    x: (N, H, W, C) -> y: (N, OH, OW, filters); kernel: (kh, kw, filters, C) (Keras
    layout: the kernel of the Conv2D (N, OH, OW, filters) -> (N, H, W, C) whose
    transpose this is), bias: (filters,). Each input pixel adds kernel @ x[n, h, w]
    into a kh x kw block of the output at (h*sh, w*sw); overlaps are summed.

    Output size as Keras (``output_padding=None``): padding "same": OH = H * sh;
    padding "valid": OH = H * sh + max(kh - sh, 0), which is (H - 1) * sh + kh whenever
    kh >= sh (PyTorch's size with padding=0); when kh < sh Keras keeps OH = H * sh, the
    last sh - kh rows holding only the bias. Which OH rows of the full (H - 1) * sh + kh
    are kept follows TensorFlow: those of a "same" Conv2D over (OH, OW), i.e.
    max(kh - sh, 0) rows cut, half at the top and the odd one at the bottom.
    Other keyword arguments as in ``Conv2D``; the Glorot fans of a (kh, kw, filters, C)
    kernel are kh*kw*filters (in) and kh*kw*C (out), as Keras computes them.
    """

    #: False while nobody reads dL/dx (set by ``Sequential`` for a model's first layer
    #: during a training step): backward then skips dL/dx and returns None.
    input_gradient_needed = True

    def __init__(
        self,
        filters: int,
        kernel_size: int | Sequence[int],
        strides: int | Sequence[int] = (1, 1),
        padding: str = "valid",
        activation: str | Activation | None = None,
        **kwargs: Any,
    ):
        super().__init__(activation=activation, **kwargs)
        self.filters = _spatial.as_positive_int(self, "filters", filters)
        self.kernel_size = _spatial.as_pair(self, "kernel_size", kernel_size)
        self.strides = _spatial.as_pair(self, "strides", strides)
        self.padding = _spatial.as_padding_mode(self, padding)

    def build(self, input_shape: Sequence[int], dtype: Any = "float32") -> None:
        super().build(input_shape, dtype)  # checks the shape through compute_output_shape
        channels = self.input_shape[2]
        self.output_hw = self.output_shape[:2]
        # The padding of the Conv2D this layer transposes, which runs over the output.
        self.padding_amounts = _spatial.explicit_padding(
            self.output_hw, self.kernel_size, self.strides, self.padding
        )
        self._build_weights((*self.kernel_size, self.filters, channels), (self.filters,))

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        _spatial.check_image_shape(self, input_shape)
        output_hw = [
            size * stride + (max(kernel - stride, 0) if self.padding == "valid" else 0)
            for size, kernel, stride in zip(
                input_shape[:2], self.kernel_size, self.strides, strict=True
            )
        ]
        return (*output_hw, self.filters)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x: (N, H, W, C) -> y: (N, OH, OW, filters)."""
        x = self._prepare_input(x)
        self.inputs = x
        bias = self.params["bias"] if self.use_bias else None
        z = kernels.conv2d_transpose_forward(
            x, self.params["kernel"], bias, self.strides, self.padding_amounts, self.output_hw
        )
        return self._activate(z, training)

    # None (no dL/dx) when input_gradient_needed is False: the contract's ndarray otherwise
    def backward_from_logits(self, grad_logits: np.ndarray) -> np.ndarray | None:  # type: ignore[override]
        """Given dL/dz (N, OH, OW, F) for z = A^T x + b, A the Conv2D with this kernel:

        dL/dx = A dL/dz = conv2d(dL/dz, kernel)  (N, H, W, C);
        dL/dkernel = conv2d_backward_kernel with dL/dz as the Conv2D input and x as the
        gradient of its output  (kh, kw, F, C);  dL/db = sum over N, OH, OW of dL/dz  (F,).
        dL/dx is None when ``input_gradient_needed`` is False.
        """
        kernel = self.params["kernel"]
        self.grads["kernel"][...] = kernels.conv2d_backward_kernel(
            grad_logits, self.inputs, kernel.shape, self.strides, self.padding_amounts
        )
        if self.use_bias:
            self.grads["bias"][...] = kernels.bias_gradient(grad_logits)
        self._add_kernel_penalty_gradient()
        if not self.input_gradient_needed:
            return None
        return kernels.conv2d_forward(grad_logits, kernel, None, self.strides, self.padding_amounts)

    def flops(self) -> int:
        """2 * multiply-adds per sample: 2 * H*W * kh*kw*C * filters, plus the activation."""
        height, width, channels = self.input_shape
        kernel_h, kernel_w = self.kernel_size
        multiply_adds = height * width * kernel_h * kernel_w * channels * self.filters
        return 2 * multiply_adds + self.activation.flops()

    def get_config(self) -> dict[str, Any]:
        # Lists, so that the config survives a JSON round trip unchanged.
        return {
            **super().get_config(),
            "filters": self.filters,
            "kernel_size": list(self.kernel_size),
            "strides": list(self.strides),
            "padding": self.padding,
        }
