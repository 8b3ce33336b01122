"""2-D convolution layer (channels-last, Keras semantics)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import kernels
from . import _spatial
from .weighted import WeightedLayer

if TYPE_CHECKING:
    import numpy as np

    from .activations import Activation


class Conv2D(WeightedLayer):
    """y = activation(conv2d(x, kernel) + bias), a cross-correlation as in every framework.

    x: (N, H, W, C) -> y: (N, OH, OW, filters); kernel: (kh, kw, C, filters) (Keras
    layout), bias: (filters,).

    ``kernel_size`` and ``strides`` are an int or a pair (height, width). ``padding``:
    "valid" (no padding, OH = floor((H - kh) / sh) + 1) or "same" (OH = ceil(H / sh),
    zero padding split as TensorFlow does, the odd cell at the bottom/right; PyTorch's
    symmetric padding differs when the total is odd). Other keyword arguments as in
    Keras and ``Dense``: ``activation`` (default linear), ``use_bias``,
    ``kernel_initializer`` (Glorot-uniform with fan_in = kh*kw*C, fan_out = kh*kw*filters),
    ``bias_initializer`` (zeros), ``kernel_regularizer``, ``activity_regularizer``.
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
        height, width, channels = self.input_shape
        self.padding_amounts = _spatial.explicit_padding(
            (height, width), self.kernel_size, self.strides, self.padding
        )
        self._build_weights((*self.kernel_size, channels, self.filters), (self.filters,))

    def compute_output_shape(self, input_shape: Sequence[int]) -> tuple[int, ...]:
        _spatial.check_image_shape(self, input_shape)
        _spatial.check_window_fits(self, input_shape, self.kernel_size, self.padding)
        output_hw = _spatial.window_output_hw(
            input_shape[:2], self.kernel_size, self.strides, self.padding
        )
        return (*output_hw, self.filters)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """x: (N, H, W, C) -> y: (N, OH, OW, filters)."""
        x = self._prepare_input(x)
        self.inputs = x
        bias = self.params["bias"] if self.use_bias else None
        arguments = (x, self.params["kernel"], bias, self.strides, self.padding_amounts)
        relu = self._plain_relu()
        if relu is not None:  # y = max(z, 0) inside the convolution's last pass
            return self._activated_by_the_kernel(relu, kernels.conv2d_forward_relu(*arguments))
        return self._activate(kernels.conv2d_forward(*arguments), training)

    # None (no dL/dx) when input_gradient_needed is False: the contract's ndarray otherwise
    def backward(self, grad_output: np.ndarray) -> np.ndarray | None:  # type: ignore[override]
        """dL/dy -> dL/dx. With a ReLU and a bias, dL/dz = dL/dy * [y > 0] and dL/db =
        sum over N, OH, OW of dL/dz come from one pass (``relu_backward_bias_gradient``)."""
        relu = self._plain_relu()
        if relu is None or not self.use_bias:
            return super().backward(grad_output)
        grad_logits, grad_bias = kernels.relu_backward_bias_gradient(
            relu.inputs, self._with_activity_gradient(grad_output)
        )
        return self._backward_affine(grad_logits, grad_bias)

    # None (no dL/dx) when input_gradient_needed is False: the contract's ndarray otherwise
    def backward_from_logits(self, grad_logits: np.ndarray) -> np.ndarray | None:  # type: ignore[override]
        """Given dL/dz (N, OH, OW, F) for z = im2col(x) @ W + b (W = kernel as (kh*kw*C, F)):

        dL/dW = im2col(x).T @ dL/dz  (kh, kw, C, F);  dL/db = sum over N, OH, OW of dL/dz
        (F,);  dL/dx = col2im(dL/dz @ W.T)  (N, H, W, C), or None when
        ``input_gradient_needed`` is False.
        """
        grad_bias = kernels.bias_gradient(grad_logits) if self.use_bias else None
        return self._backward_affine(grad_logits, grad_bias)

    def _backward_affine(
        self, grad_logits: np.ndarray, grad_bias: np.ndarray | None
    ) -> np.ndarray | None:
        """dL/dW and dL/dx from dL/dz as in ``backward_from_logits``; dL/db given."""
        kernel = self.params["kernel"]
        self.grads["kernel"][...] = kernels.conv2d_backward_kernel(
            self.inputs, grad_logits, kernel.shape, self.strides, self.padding_amounts
        )
        if grad_bias is not None:
            self.grads["bias"][...] = grad_bias
        self._add_kernel_penalty_gradient()
        if not self.input_gradient_needed:
            return None
        return kernels.conv2d_backward_input(
            grad_logits, kernel, self.inputs.shape, self.strides, self.padding_amounts
        )

    def flops(self) -> int:
        """2 * multiply-adds per sample: 2 * OH*OW * kh*kw*C * filters, plus the activation."""
        out_h, out_w, _ = self.output_shape
        kernel_h, kernel_w = self.kernel_size
        multiply_adds = out_h * out_w * kernel_h * kernel_w * self.input_shape[2] * self.filters
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
