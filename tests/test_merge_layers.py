"""Merge layers (Add, Subtract, Multiply, Average, Concatenate): values, gradients, errors,
and the layer contract for lists of inputs, over the gradient-check report's examples."""

import json

import numpy as np
import pytest

from nn_core import layers as L
from nn_core._gradcheck_report import LAYER_EXAMPLES
from nn_core.gradcheck import check_layer

MERGE_EXAMPLES = [
    pytest.param(factory, shapes, id=f"{name}: {description}")
    for name, examples in LAYER_EXAMPLES.items()
    for description, factory, shapes in examples
    if isinstance(shapes, list)
]


def inputs(shapes, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(0.1, 1.0, size=shape).astype(dtype) for shape in shapes]


def test_every_merge_layer_has_examples():
    names = {name for name, examples in LAYER_EXAMPLES.items() if isinstance(examples[0][2], list)}
    assert names == {"Add", "Subtract", "Multiply", "Average", "Concatenate"}


@pytest.mark.parametrize(
    "layer, expected",
    [
        (L.Add(), lambda a, b, c: a + b + c),
        (L.Multiply(), lambda a, b, c: a * b * c),
        (L.Average(), lambda a, b, c: (a + b + c) / 3),
        (L.Concatenate(), lambda a, b, c: np.concatenate([a, b, c], axis=-1)),
        (L.Concatenate(axis=1), lambda a, b, c: np.concatenate([a, b, c], axis=1)),
    ],
)
def test_forward_values_match_numpy(layer, expected):
    a, b, c = inputs([(2, 3, 4)] * 3)
    np.testing.assert_allclose(layer.forward([a, b, c]), expected(a, b, c), rtol=1e-15)


def test_subtract_takes_exactly_two_inputs():
    a, b = inputs([(2, 3)] * 2)
    np.testing.assert_array_equal(L.Subtract().forward([a, b]), a - b)
    with pytest.raises(ValueError, match=r"'minus' \(Subtract\) takes exactly 2 inputs, got 3"):
        L.Subtract(name="minus").forward(inputs([(2, 3)] * 3))


@pytest.mark.parametrize("factory, shapes", MERGE_EXAMPLES)
def test_gradient_check_in_float64(factory, shapes):
    errors = check_layer(factory(), inputs(shapes))
    assert set(errors) >= {f"input_{i}" for i in range(len(shapes))}
    assert max(errors.values()) < 1e-6


def test_multiply_gradient_is_exact_where_an_input_is_zero():
    a, b, c = inputs([(2, 3)] * 3)
    a[0, 0] = 0.0
    layer = L.Multiply()
    layer.forward([a, b, c])
    grads = layer.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(grads[0], b * c)
    np.testing.assert_array_equal(grads[1], a * c)  # 0 where a is 0, no 0/0
    np.testing.assert_array_equal(grads[2], a * b)


@pytest.mark.parametrize("factory, shapes", MERGE_EXAMPLES)
def test_builds_in_float32_on_first_forward_and_keeps_the_contract(factory, shapes):
    layer = factory()
    arrays = inputs(shapes, "float32")
    before = [a.copy() for a in arrays]
    y = layer.forward(arrays, training=True)
    assert layer.built and layer.dtype == np.float32 and y.dtype == np.float32
    assert layer.input_shape == tuple(s[1:] for s in shapes)
    assert y.shape == (shapes[0][0], *layer.output_shape)
    grad = np.random.default_rng(1).uniform(-1, 1, y.shape).astype(np.float32)
    grad_before = grad.copy()
    grads = layer.backward(grad)
    assert [g.shape for g in grads] == [a.shape for a in arrays]
    for array, saved in zip(arrays, before):
        np.testing.assert_array_equal(array, saved)
    np.testing.assert_array_equal(grad, grad_before)


@pytest.mark.parametrize("factory, shapes", MERGE_EXAMPLES)
def test_config_round_trips_through_json(factory, shapes):
    layer = factory()
    clone = type(layer).from_config(json.loads(json.dumps(layer.get_config())))
    arrays = inputs(shapes)
    np.testing.assert_array_equal(layer.forward(arrays), clone.forward(arrays))


@pytest.mark.parametrize("layer_class", [L.Add, L.Multiply, L.Average, L.Subtract])
def test_different_shapes_are_refused_naming_the_inputs(layer_class):
    layer = layer_class(name="joiner")
    with pytest.raises(ValueError, match=r"'joiner'.*input 0 is \(N, 3\), input 1 is \(N, 4\)"):
        layer.forward(inputs([(2, 3), (2, 4)]))


def test_concatenate_refuses_mismatches_off_its_axis_and_the_batch_axis():
    with pytest.raises(ValueError, match=r"every other axis must agree: input 0 is \(N, 3, 2\)"):
        L.Concatenate(axis=-1).forward(inputs([(2, 3, 2), (2, 4, 2)]))
    with pytest.raises(ValueError, match="axis 0 is the batch axis"):
        L.Concatenate(axis=0)
    with pytest.raises(ValueError, match="axis 3 is out of range"):
        L.Concatenate(axis=3).forward(inputs([(2, 3), (2, 3)]))


def test_bad_lists_are_refused():
    with pytest.raises(ValueError, match="takes a list of arrays"):
        L.Add().forward(inputs([(2, 3)])[0])
    with pytest.raises(ValueError, match="at least 2 inputs, got 1"):
        L.Add().forward(inputs([(2, 3)]))
    with pytest.raises(ValueError, match="different numbers of samples, 2 .* and 3"):
        L.Add().forward([inputs([(2, 3)])[0], inputs([(3, 3)])[0]])
    layer = L.Add(name="built")
    layer.forward(inputs([(2, 3)] * 2))
    with pytest.raises(ValueError, match="built for 2 inputs, got 3"):
        layer.forward(inputs([(2, 3)] * 3))
    with pytest.raises(ValueError, match="NaN or Inf"):
        L.Add().forward([np.full((2, 3), np.nan), np.ones((2, 3))])
