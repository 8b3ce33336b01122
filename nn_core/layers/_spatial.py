"""Argument checks and shape arithmetic shared by the 2-D (NHWC image) layers.

Conv2D, Conv2DTranspose, MaxPooling2D, AveragePooling2D and UpSampling2D take sizes as
an int or a pair of ints (height, width) and a padding mode "valid" or "same", like
Keras; these helpers turn them into canonical tuples and raise ValueError in the
user's terms, naming the layer and the argument.
"""

from __future__ import annotations

import numpy as np

from .. import kernels

PADDING_MODES = ("valid", "same")


def describe(layer) -> str:
    """``"layer 'conv2d_3' (Conv2D)"``, the prefix of every error message."""
    return f"layer {layer.name!r} ({type(layer).__name__})"


def as_pair(layer, arg_name: str, value) -> tuple[int, int]:
    """An int ``k`` or a pair ``(kh, kw)`` of positive ints -> ``(kh, kw)``."""
    items = (value, value) if _is_int(value) else value
    if (
        not isinstance(items, (tuple, list))
        or len(items) != 2
        or not all(_is_int(item) and item >= 1 for item in items)
    ):
        raise ValueError(
            f"{describe(layer)}: {arg_name} must be a positive integer or a pair of positive "
            f"integers (height, width), got {value!r}"
        )
    return int(items[0]), int(items[1])


def as_positive_int(layer, arg_name: str, value) -> int:
    if not _is_int(value) or value < 1:
        raise ValueError(f"{describe(layer)}: {arg_name} must be a positive integer, got {value!r}")
    return int(value)


def as_padding_mode(layer, value) -> str:
    """'valid' or 'same' (any case) -> lower case."""
    if not isinstance(value, str) or value.lower() not in PADDING_MODES:
        raise ValueError(f"{describe(layer)}: padding must be 'valid' or 'same', got {value!r}")
    return value.lower()


def check_image_shape(layer, input_shape) -> None:
    """Raise unless one sample is an image (H, W, C) with positive sizes."""
    if len(input_shape) != 3 or any(int(d) < 1 for d in input_shape):
        raise ValueError(
            f"{describe(layer)} expects inputs of shape (N, height, width, channels), got "
            f"samples of shape {tuple(input_shape)}; add a Reshape layer before it"
        )


def check_window_fits(layer, input_shape, window, padding_mode, window_name="kernel") -> None:
    """Raise when a ``window`` (kh, kw) is larger than the input (H, W, C) can hold.

    With "same" padding every window fits (the input is padded to at least its size).
    """
    height, width = input_shape[:2]
    if padding_mode == "valid" and (window[0] > height or window[1] > width):
        raise ValueError(
            f"{describe(layer)}: a {window[0]}x{window[1]} {window_name} does not fit a "
            f"{height}x{width} input with padding='valid'"
        )


def explicit_padding(input_hw, window, strides, padding_mode) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) zero padding of a "valid" or "same" window over (H, W)."""
    if padding_mode == "valid":
        return (0, 0, 0, 0)
    top, bottom = kernels.same_padding(input_hw[0], window[0], strides[0])
    left, right = kernels.same_padding(input_hw[1], window[1], strides[1])
    return (top, bottom, left, right)


def window_output_hw(input_hw, window, strides, padding_mode) -> tuple[int, int]:
    """(OH, OW) of a convolution or pooling window sliding over (H, W), as TensorFlow."""
    return (
        kernels.conv_output_size(input_hw[0], window[0], strides[0], padding_mode),
        kernels.conv_output_size(input_hw[1], window[1], strides[1], padding_mode),
    )


def _is_int(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)
