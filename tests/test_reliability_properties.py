"""Property tests (hypothesis) over random layer configurations and input shapes: the
forward output has the shape ``compute_output_shape`` promises, backward returns one
gradient per input and per parameter with their shapes, and the float64 gradient check
holds (issue 6, "Property and fuzz tests").
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nn_core as nn
from nn_core import gradcheck

L = nn.layers
TOLERANCE = 1e-6  # relative error of analytic vs centred finite differences, float64
PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

sizes = st.integers(1, 3)
pairs = st.one_of(sizes, st.tuples(sizes, sizes))
padding = st.sampled_from(["valid", "same"])
smooth_activation = st.sampled_from([None, "tanh", "sigmoid"])  # no kinks at random points


@st.composite
def image_batch_shape(draw, min_side=1, max_side=6):
    return (
        draw(st.integers(1, 2)),
        draw(st.integers(min_side, max_side)),
        draw(st.integers(min_side, max_side)),
        draw(st.integers(1, 3)),
    )


@st.composite
def layer_and_input(draw):
    kind = draw(
        st.sampled_from(
            [
                "Dense",
                "Conv2D",
                "Conv2DTranspose",
                "MaxPooling2D",
                "AveragePooling2D",
                "UpSampling2D",
                "Reshape",
                "Flatten",
            ]
        )
    )
    if kind == "Dense":
        shape = (draw(st.integers(1, 3)), draw(st.integers(1, 6)))
        layer = L.Dense(draw(st.integers(1, 5)), activation=draw(smooth_activation))
    elif kind == "Conv2D":
        kernel = draw(pairs)
        mode = draw(padding)
        kernel_hw = (kernel, kernel) if isinstance(kernel, int) else kernel
        shape = draw(image_batch_shape(min_side=max(kernel_hw) if mode == "valid" else 1))
        layer = L.Conv2D(
            draw(st.integers(1, 3)),
            kernel,
            strides=draw(pairs),
            padding=mode,
            activation=draw(smooth_activation),
        )
    elif kind == "Conv2DTranspose":
        shape = draw(image_batch_shape(max_side=4))
        layer = L.Conv2DTranspose(
            draw(st.integers(1, 3)),
            draw(pairs),
            strides=draw(pairs),
            padding=draw(padding),
            activation=draw(smooth_activation),
        )
    elif kind in ("MaxPooling2D", "AveragePooling2D"):
        pool = draw(pairs)
        mode = draw(padding)
        pool_hw = (pool, pool) if isinstance(pool, int) else pool
        shape = draw(image_batch_shape(min_side=max(pool_hw) if mode == "valid" else 1))
        strides = draw(st.one_of(st.none(), pairs))
        layer = getattr(L, kind)(pool, strides=strides, padding=mode)
    elif kind == "UpSampling2D":
        shape = draw(image_batch_shape(max_side=4))
        layer = L.UpSampling2D(draw(pairs))
    elif kind == "Reshape":
        shape = (draw(st.integers(1, 3)), draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        size = shape[1] * shape[2]
        target = draw(
            st.sampled_from([(size,), (-1,), (shape[2], shape[1]), (1, -1), (size, 1, 1)])
        )
        layer = L.Reshape(target)
    else:
        shape = draw(image_batch_shape(max_side=4))
        layer = L.Flatten()
    seed = draw(st.integers(0, 2**16))
    return layer, shape, seed


@PROPERTY_SETTINGS
@given(layer_and_input())
def test_forward_and_backward_shapes_match_the_promised_ones(case):
    layer, shape, seed = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    layer.set_rng(np.random.default_rng(seed))
    layer.build(shape[1:], dtype="float64")
    promised = layer.compute_output_shape(shape[1:])
    assert tuple(promised) == layer.output_shape
    y = layer.forward(x, training=True)
    assert y.shape == (shape[0], *promised)
    assert y.dtype == np.float64
    grad_input = layer.backward(rng.standard_normal(y.shape))
    assert grad_input.shape == x.shape
    assert layer.params.keys() == layer.grads.keys()
    for key, param in layer.params.items():
        assert layer.grads[key].shape == param.shape
        assert layer.grads[key].dtype == param.dtype


@PROPERTY_SETTINGS
@given(layer_and_input())
def test_gradient_check_holds_in_float64(case):
    layer, shape, seed = case
    layer.set_rng(np.random.default_rng(seed))
    x = np.random.default_rng(seed).standard_normal(shape)
    errors = gradcheck.check_layer(layer, x, seed=seed)
    assert set(errors) == {"input", *layer.params}
    for name, error in errors.items():
        assert error < TOLERANCE, f"{layer!r} {name}: relative error {error:.2e}"


@PROPERTY_SETTINGS
@given(layer_and_input())
def test_a_model_of_one_layer_predicts_in_batches_what_one_forward_gives(case):
    layer, shape, seed = case
    model = nn.Sequential([layer], seed=seed)
    model.build(shape[1:], dtype="float64")
    x = np.random.default_rng(seed).standard_normal((5, *shape[1:]))
    expected = model.forward(x)
    np.testing.assert_allclose(model.predict(x, batch_size=2), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("side", [1, 2, 7])
def test_conv_then_transpose_restores_the_spatial_size_with_same_padding(side):
    """A "same" Conv2D with stride s then a "same" Conv2DTranspose with stride s gives
    back ceil(side / s) * s, the size Keras gives."""
    model = nn.Sequential(
        [
            L.Conv2D(2, 3, strides=2, padding="same"),
            L.Conv2DTranspose(1, 3, strides=2, padding="same"),
        ]
    )
    model.build((side, side, 1))
    assert model.output_shape == (-(-side // 2) * 2, -(-side // 2) * 2, 1)
