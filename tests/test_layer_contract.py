"""One layer contract, enforced by one test over every layer.

The examples come from the gradient-check report, which discovers every layer class in
``nn_core.layers`` and refuses a class without an example, so a new layer is covered
here the moment it exists.
"""

import json

import numpy as np
import pytest

import nn_core as nn
from nn_core._gradcheck_report import LAYER_EXAMPLES, discovered_layers, run_checks

# Single-input layers; the merge layers (a list of input shapes) keep the same contract
# for lists, tested in test_merge_layers.py over the same examples.
EXAMPLES = [
    pytest.param(factory, shape, id=f"{name}: {description}")
    for name, examples in LAYER_EXAMPLES.items()
    for description, factory, shape in examples
    if not isinstance(shape, list)
]


def test_every_discovered_layer_has_an_example():
    assert set(discovered_layers()) <= set(LAYER_EXAMPLES)


def _inputs(shape, dtype="float32", seed=0):
    return np.random.default_rng(seed).uniform(0.1, 1.0, size=shape).astype(dtype)


@pytest.mark.parametrize("factory, shape", EXAMPLES)
def test_builds_itself_in_float32_on_first_forward(factory, shape):
    layer = factory()
    x = _inputs(shape)
    y = layer.forward(x, training=True)
    assert layer.built and layer.input_shape == shape[1:]
    assert layer.dtype == np.float32 and y.dtype == np.float32
    assert y.shape == (shape[0], *layer.compute_output_shape(shape[1:]))
    assert layer.output_shape == y.shape[1:]
    assert set(layer.params) == set(layer.grads)
    for key, value in layer.params.items():
        assert value.dtype == np.float32, key
        assert layer.grads[key].shape == value.shape, key


@pytest.mark.parametrize("factory, shape", EXAMPLES)
def test_backward_returns_input_gradient_and_never_updates_weights(factory, shape):
    layer = factory()
    layer.build(shape[1:], dtype="float64")
    x = _inputs(shape, "float64")
    y = layer.forward(x, training=True)
    before = {key: value.copy() for key, value in layer.params.items()}
    grad_input = layer.backward(np.ones_like(y))
    assert grad_input.shape == x.shape and grad_input.dtype == np.float64
    for key, value in layer.params.items():
        np.testing.assert_array_equal(value, before[key], err_msg=key)
        assert layer.grads[key].dtype == np.float64


@pytest.mark.parametrize("factory, shape", EXAMPLES)
def test_forward_and_backward_never_write_into_their_inputs(factory, shape):
    # Sequential.fit(x, x) passes one batch array as both the inputs and the targets.
    layer = factory()
    x = _inputs(shape)
    x_before = x.copy()
    y = layer.forward(x, training=True)
    grad = np.random.default_rng(1).uniform(-1.0, 1.0, size=y.shape).astype(y.dtype)
    grad_before = grad.copy()
    layer.backward(grad)
    np.testing.assert_array_equal(x, x_before)
    np.testing.assert_array_equal(grad, grad_before)


@pytest.mark.parametrize("factory, shape", EXAMPLES)
def test_wrong_input_shape_names_the_layer_and_both_shapes(factory, shape):
    layer = factory()
    layer.build(shape[1:])
    wrong = (shape[0], *(d + 1 for d in shape[1:]))
    with pytest.raises(ValueError) as error:
        layer.forward(_inputs(wrong))
    message = str(error.value)
    assert layer.name in message
    assert str(wrong) in message


@pytest.mark.parametrize("factory, shape", EXAMPLES)
def test_config_round_trips_through_json(factory, shape):
    layer = factory()
    config = json.loads(json.dumps(layer.get_config()))
    clone = type(layer).from_config(config)
    layer.build(shape[1:], "float64")
    clone.build(shape[1:], "float64")
    for key in layer.params:
        clone.params[key][...] = layer.params[key]
    x = _inputs(shape, "float64")
    random_layers = (
        nn.layers.Dropout,
        nn.layers.GaussianNoise,
        nn.layers.MaskingNoise,
        nn.layers.GaussianSampling,
    )
    if isinstance(layer, random_layers):
        training = False  # random layers: compare the deterministic inference path
    else:
        training = True
    np.testing.assert_array_equal(layer.forward(x, training), clone.forward(x, training))


def test_every_gradient_check_passes_on_every_backend():
    failures = [
        (name, description, backend, error)
        for _, name, description, backend, error in run_checks()
        if error is None or not error < 1e-6
    ]
    assert failures == []
