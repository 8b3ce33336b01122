"""Validation at the boundary: bad constructor arguments, bad names and bad data are refused
with a ValueError in the user's terms (issue 6, "Validation at the boundary").

Policy under test (see ``nn_core.validation``): float inputs are used as they are,
integer inputs are converted value for value (255 -> 255.0, never wrapped), booleans,
complex numbers, strings and objects are refused; NaN and Inf are refused.
"""

import math

import numpy as np
import pytest

import autoencoders
import nn_core as nn
from nn_core import initializers, losses, regularizers

L = nn.layers
O = nn.optimizers


# ---------------------------------------------------------------------- constructors
# (constructor, kwargs, words the message must contain). Every public layer and
# optimizer appears, each with several bad arguments.
BAD_LAYER_ARGUMENTS = [
    (L.Dense, dict(units=0), ["Dense", "units", "0"]),
    (L.Dense, dict(units=-3), ["Dense", "units", "-3"]),
    (L.Dense, dict(units=2.5), ["Dense", "units", "2.5"]),
    (L.Dense, dict(units=True), ["Dense", "units", "True"]),
    (L.Dense, dict(units="32"), ["Dense", "units", "'32'"]),
    (L.Dense, dict(units=4, activation="relux"), ["activation", "relux", "did you mean", "relu"]),
    (L.Dense, dict(units=4, kernel_initializer="glorot_unifrom"), ["glorot_uniform"]),
    (L.Dense, dict(units=4, bias_initializer="zeroes"), ["initializer", "zeros"]),
    (L.Dense, dict(units=4, kernel_regularizer="l3"), ["regularizer", "l3"]),
    (L.Dense, dict(units=4, activity_regularizer=3), ["regularizer"]),
    (regularizers.L2, dict(l2=-1.0), ["L2", "l2", "-1"]),
    (regularizers.L1, dict(l1=math.nan), ["L1", "l1"]),
    (regularizers.KLSparsity, dict(target=1.0), ["KLSparsity", "target"]),
    (L.Dense, dict(units=4, name=""), ["name"]),
    (L.Concatenate, dict(axis=0), ["Concatenate", "axis 0", "batch"]),
    (L.Concatenate, dict(axis=1.5), ["Concatenate", "axis", "1.5"]),
    (L.Conv2D, dict(filters=0, kernel_size=3), ["Conv2D", "filters", "0"]),
    (L.Conv2D, dict(filters=4, kernel_size=0), ["Conv2D", "kernel_size", "0"]),
    (L.Conv2D, dict(filters=4, kernel_size=(3, -1)), ["kernel_size", "(3, -1)"]),
    (L.Conv2D, dict(filters=4, kernel_size=(3, 3, 3)), ["kernel_size"]),
    (L.Conv2D, dict(filters=4, kernel_size=3, strides=0), ["Conv2D", "strides", "0"]),
    (L.Conv2D, dict(filters=4, kernel_size=3, strides=(1, -2)), ["strides"]),
    (L.Conv2D, dict(filters=4, kernel_size=3, padding="full"), ["padding", "'full'", "same"]),
    (L.Conv2D, dict(filters=4, kernel_size=3, padding=1), ["padding", "1"]),
    (L.Conv2D, dict(filters=4, kernel_size=3, activation="sigmoud"), ["sigmoid"]),
    (L.Conv2DTranspose, dict(filters=-1, kernel_size=3), ["Conv2DTranspose", "filters"]),
    (L.Conv2DTranspose, dict(filters=4, kernel_size=3, strides=0), ["strides", "0"]),
    (L.Conv2DTranspose, dict(filters=4, kernel_size=3, padding="causal"), ["padding"]),
    (L.MaxPooling2D, dict(pool_size=0), ["MaxPooling2D", "pool_size", "0"]),
    (L.MaxPooling2D, dict(pool_size=2, strides=0), ["strides", "0"]),
    (L.MaxPooling2D, dict(padding="SAME!"), ["padding"]),
    (L.AveragePooling2D, dict(pool_size=(2, 0)), ["AveragePooling2D", "pool_size"]),
    (L.AveragePooling2D, dict(strides=-1), ["strides"]),
    (L.UpSampling2D, dict(size=0), ["UpSampling2D", "size", "0"]),
    (L.UpSampling2D, dict(size=(2, 2.0)), ["size"]),
    (L.Reshape, dict(target_shape=(0, 4)), ["Reshape", "target_shape"]),
    (L.Reshape, dict(target_shape=(-1, -1)), ["Reshape", "only one"]),
    (L.Reshape, dict(target_shape=()), ["Reshape"]),
    (L.Dropout, dict(rate=1.0), ["Dropout", "rate", "1.0"]),
    (L.Dropout, dict(rate=-0.1), ["Dropout", "rate"]),
    (L.Dropout, dict(rate=math.nan), ["Dropout", "rate"]),
    (L.Dropout, dict(rate="0.5"), ["Dropout", "rate"]),
    (L.GaussianNoise, dict(stddev=-1.0), ["GaussianNoise", "stddev"]),
    (L.GaussianNoise, dict(stddev=math.inf), ["GaussianNoise", "stddev"]),
    (L.ClippedGaussianNoise, dict(stddev=0.5, clip_min=1.0, clip_max=0.0), ["clip_min"]),
    (L.ClippedGaussianNoise, dict(stddev=0.5, clip_min="a"), ["clip_min"]),
    (L.MaskingNoise, dict(fraction=1.5), ["MaskingNoise", "fraction"]),
    (L.BatchNormalization, dict(momentum=1.5), ["BatchNormalization", "momentum"]),
    (L.BatchNormalization, dict(epsilon=0.0), ["BatchNormalization", "epsilon"]),
    (L.BatchNormalization, dict(center="yes"), ["BatchNormalization", "center"]),
    (L.LeakyReLU, dict(alpha=-0.1), ["LeakyReLU", "alpha"]),
    (L.LeakyReLU, dict(alpha="big"), ["LeakyReLU", "alpha"]),
    (L.ELU, dict(alpha=math.nan), ["ELU", "alpha"]),
    (L.Softmax, dict(name=3), ["name"]),
    (L.ContractiveDense, dict(units=0), ["units"]),
    (L.ContractiveDense, dict(units=4, activation="tanh"), ["ContractiveDense", "activation"]),
    (L.ContractiveDense, dict(units=4, contractive_weight=-1), ["contractive_weight"]),
    (L.DenseTransposed, dict(tied_to=3), ["DenseTransposed", "tied_to"]),
    (L.GaussianSampling, dict(kl_weight=-1), ["GaussianSampling", "kl_weight"]),
]

BAD_OPTIMIZER_ARGUMENTS = [
    (O.SGD, dict(learning_rate=0), ["SGD", "learning_rate", "0"]),
    (O.SGD, dict(learning_rate=-0.1), ["SGD", "learning_rate"]),
    (O.SGD, dict(learning_rate=math.nan), ["SGD", "learning_rate"]),
    (O.SGD, dict(learning_rate="fast"), ["SGD", "learning_rate"]),
    (O.SGD, dict(momentum=1.5), ["SGD", "momentum"]),
    (O.SGD, dict(nesterov=True), ["SGD", "nesterov", "momentum"]),
    (O.SGD, dict(weight_decay=-1), ["SGD", "weight_decay"]),
    (O.SGD, dict(clipnorm=0), ["SGD", "clipnorm"]),
    (O.SGD, dict(clipnorm=1.0, global_clipnorm=1.0), ["clipnorm", "global_clipnorm"]),
    (O.Adagrad, dict(learning_rate=0), ["Adagrad", "learning_rate"]),
    (O.Adagrad, dict(initial_accumulator_value=-1), ["Adagrad", "initial_accumulator_value"]),
    (O.Adagrad, dict(epsilon=-1e-7), ["Adagrad", "epsilon"]),
    (O.Adadelta, dict(learning_rate=-1.0), ["Adadelta", "learning_rate"]),
    (O.Adadelta, dict(rho=1.5), ["Adadelta", "rho"]),
    (O.Adadelta, dict(epsilon=math.inf), ["Adadelta", "epsilon"]),
    (O.RMSprop, dict(rho=-0.1), ["RMSprop", "rho"]),
    (O.RMSprop, dict(momentum=2), ["RMSprop", "momentum"]),
    (O.RMSprop, dict(centered="no"), ["RMSprop", "centered"]),
    (O.Adam, dict(beta_1=1.5), ["Adam", "beta_1"]),
    (O.Adam, dict(beta_2=-0.5), ["Adam", "beta_2"]),
    (O.Adam, dict(amsgrad=1), ["Adam", "amsgrad"]),
    (O.AdamW, dict(weight_decay=-0.01), ["AdamW", "weight_decay"]),
    (O.AdamW, dict(learning_rate=0.0), ["AdamW", "learning_rate"]),
    (O.StepDecay, dict(initial_learning_rate=0.1, step_size=0), ["StepDecay", "step_size"]),
    (O.ExponentialDecay, dict(initial_learning_rate=-1, decay_steps=1, decay_rate=0.5), []),
    (O.CosineDecay, dict(initial_learning_rate=0.1, decay_steps=0), ["CosineDecay"]),
]


def _case_id(case):
    constructor, kwargs, _ = case
    return f"{constructor.__name__}-" + ",".join(f"{k}={v!r}" for k, v in kwargs.items())


def _call(constructor, kwargs):
    if constructor is L.Conv2DTranspose or constructor is L.Conv2D:
        kwargs = {"filters": 4, "kernel_size": 3, **kwargs}
    return constructor(**kwargs)


@pytest.mark.parametrize(
    "case",
    BAD_LAYER_ARGUMENTS + BAD_OPTIMIZER_ARGUMENTS,
    ids=map(_case_id, BAD_LAYER_ARGUMENTS + BAD_OPTIMIZER_ARGUMENTS),
)
def test_bad_constructor_arguments_are_refused_with_the_argument_named(case):
    constructor, kwargs, words = case
    with pytest.raises(ValueError) as caught:
        _call(constructor, kwargs)
    message = str(caught.value)
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"


PUBLIC_LAYERS = {
    name
    for name in L.__all__
    if isinstance(getattr(L, name), type)
    and issubclass(getattr(L, name), L.Layer)
    and name not in ("Layer", "Activation")
}
LAYERS_WITHOUT_ARGUMENTS = {
    "Flatten",
    "ReLU",
    "Sigmoid",
    "Tanh",
    "Softplus",
    "Linear",
    "Add",
    "Subtract",
    "Multiply",
    "Average",
}


def test_every_public_layer_and_optimizer_has_bad_argument_cases():
    covered = {constructor.__name__ for constructor, _, _ in BAD_LAYER_ARGUMENTS}
    # Layers whose only argument is ``name`` are covered by the name check below.
    assert PUBLIC_LAYERS - LAYERS_WITHOUT_ARGUMENTS <= covered | {"Softmax"}
    optimizers = {constructor.__name__ for constructor, _, _ in BAD_OPTIMIZER_ARGUMENTS}
    assert {"SGD", "Adagrad", "Adadelta", "RMSprop", "Adam", "AdamW"} <= optimizers


@pytest.mark.parametrize("name", sorted(LAYERS_WITHOUT_ARGUMENTS))
def test_argument_free_layers_refuse_a_bad_name(name):
    with pytest.raises(ValueError, match="name"):
        getattr(L, name)(name="")


@pytest.mark.parametrize(
    ("resolve", "typo", "suggestion"),
    [
        (L.get_activation, "sigmod", "sigmoid"),
        (L.get_activation, "leakyrelu", "leaky_relu"),
        (initializers.get, "he_normall", "he_normal"),
        (regularizers.get, "ll2", "l2"),
        (losses.get, "binary_crossentropie", "binary_crossentropy"),
        (losses.get, "mse2", "mse"),
        (O.get, "adadeltta", "adadelta"),
        (O.get, "Adamm", "adam"),
    ],
)
def test_unknown_names_list_the_valid_ones_and_suggest_the_closest(resolve, typo, suggestion):
    with pytest.raises(ValueError) as caught:
        resolve(typo)
    message = str(caught.value)
    assert repr(typo) in message
    assert "did you mean" in message and repr(suggestion) in message
    assert "valid names" in message


def test_compile_with_unknown_names_suggests():
    model = nn.Sequential([L.Dense(2)])
    with pytest.raises(ValueError, match="did you mean 'rmsprop'"):
        model.compile(optimizer="rmsprob", loss="mse")
    with pytest.raises(ValueError, match="did you mean 'binary_crossentropy'"):
        model.compile(optimizer="sgd", loss="binary_crosentropy")


# ---------------------------------------------------------------------- data at the model
@pytest.fixture(params=["sequential", "graph"])
def model_8_to_3(request):
    """A factory of the small model, as a Sequential and as a graph Model."""

    def make(dtype="float32"):
        if request.param == "sequential":
            model = nn.Sequential([L.Dense(3, activation="sigmoid")], seed=0, name="small")
            model.build((8,), dtype)
        else:
            x = nn.Input((8,), dtype=dtype)
            model = nn.Model(x, L.Dense(3, activation="sigmoid")(x), seed=0, name="small")
        model.compile(optimizer="sgd", loss="mse")
        return model

    return make


GOOD_X = np.full((5, 8), 0.5, dtype=np.float32)
GOOD_Y = np.full((5, 3), 0.5, dtype=np.float32)


def _bad_values():
    nan_x = GOOD_X.copy()
    nan_x[3, 2] = np.nan
    inf_x = GOOD_X.copy()
    inf_x[1, 0] = -np.inf
    return {
        "nan": (nan_x, ["x", "NaN or Inf", "sample 3"]),
        "inf": (inf_x, ["x", "NaN or Inf", "sample 1"]),
        "overflows float32": (
            np.full((5, 8), 1e300),
            ["x", "cast to float32", "NaN or Inf", "sample 0"],
        ),
        "bool": (GOOD_X > 0, ["x", "booleans"]),
        "complex": (GOOD_X.astype(complex), ["x", "complex"]),
        "strings": (GOOD_X.astype(str), ["x", "real numbers"]),
        "objects": (GOOD_X.astype(object), ["x", "object"]),
        "rank 1": (GOOD_X[0], ["x", "(N, ...)", "(8,)"]),
        "empty": (GOOD_X[:0], ["x", "empty"]),
        "wrong features": (np.zeros((5, 7), np.float32), ["small", "(N, 8)", "(5, 7)"]),
        "wrong rank": (np.zeros((5, 2, 4), np.float32), ["small", "(N, 8)", "(5, 2, 4)"]),
        "none": (None, ["x", "None"]),
    }


BAD_X = _bad_values()


@pytest.mark.parametrize("bad", sorted(BAD_X))
@pytest.mark.parametrize("method", ["fit", "evaluate", "predict"])
def test_bad_x_is_refused_by_fit_evaluate_and_predict(method, bad, model_8_to_3):
    x, words = BAD_X[bad]
    model = model_8_to_3()
    weights = model.get_weights()
    with pytest.raises(ValueError) as caught:
        if method == "fit":
            model.fit(x, GOOD_Y, epochs=1, verbose=0)
        elif method == "evaluate":
            model.evaluate(x, GOOD_Y)
        else:
            model.predict(x)
    message = str(caught.value)
    for word in words:
        assert word in message, f"{word!r} missing from: {message}"
    for before, after in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(before, after)


@pytest.mark.parametrize("bad", ["nan", "bool", "complex", "rank 1"])
def test_bad_targets_and_validation_data_are_refused_by_name(bad, model_8_to_3):
    x, _ = BAD_X[bad]
    y = x[:, :3] if x.ndim == 2 else x[:3]
    model = model_8_to_3()
    with pytest.raises(ValueError, match="y"):
        model.fit(GOOD_X, y, verbose=0)
    with pytest.raises(ValueError, match="x_val"):
        model.fit(GOOD_X, GOOD_Y, validation_data=(x, GOOD_Y), verbose=0)


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int64, np.uint64])
def test_integer_inputs_are_converted_value_for_value_never_wrapped(dtype, model_8_to_3):
    model = model_8_to_3()
    x = np.full((4, 8), 200, dtype=dtype)
    expected = model.predict(np.full((4, 8), 200.0, dtype=np.float32))
    np.testing.assert_array_equal(model.predict(x), expected)
    # 200 as int8 would wrap to -56: a conversion through the wrong type would show.
    assert model.evaluate(x, GOOD_Y[:4]) == model.evaluate(x.astype(np.float32), GOOD_Y[:4])


# ---------------------------------------------------------------------- a layer's first call
LAYER_FACTORIES = {
    "Dense": (lambda: L.Dense(3), (4, 6)),
    "Conv2D": (lambda: L.Conv2D(2, 3, padding="same"), (2, 5, 5, 1)),
    "Conv2DTranspose": (lambda: L.Conv2DTranspose(2, 3, strides=2), (2, 3, 3, 1)),
    "MaxPooling2D": (lambda: L.MaxPooling2D(), (2, 4, 4, 1)),
    "AveragePooling2D": (lambda: L.AveragePooling2D(), (2, 4, 4, 1)),
    "UpSampling2D": (lambda: L.UpSampling2D(), (2, 2, 2, 1)),
    "Flatten": (lambda: L.Flatten(), (2, 3, 2)),
    "Reshape": (lambda: L.Reshape((3, 2)), (2, 6)),
    "ReLU": (lambda: L.ReLU(), (2, 4)),
    "Sigmoid": (lambda: L.Sigmoid(), (2, 4)),
    "Softmax": (lambda: L.Softmax(), (2, 4)),
    "Dropout": (lambda: L.Dropout(0.5), (2, 4)),
    "GaussianNoise": (lambda: L.GaussianNoise(0.1), (2, 4)),
    "BatchNormalization": (lambda: L.BatchNormalization(), (2, 4)),
}


@pytest.mark.parametrize("name", sorted(LAYER_FACTORIES))
def test_a_layers_first_call_refuses_bad_dtype_and_non_finite_values(name):
    factory, shape = LAYER_FACTORIES[name]
    good = np.full(shape, 0.25, dtype=np.float32)
    for bad, words in [
        (good > 0, ["booleans"]),
        (good.astype(np.complex64), ["complex64"]),
        (good.astype(str), ["real numbers"]),
        (np.where(np.arange(good.size).reshape(shape) == good.size - 1, np.nan, good), ["NaN"]),
    ]:
        layer = factory()
        with pytest.raises(ValueError) as caught:
            layer.forward(bad, training=True)
        message = str(caught.value)
        assert layer.name in message and type(layer).__name__ in message, message
        for word in words:
            assert word in message, message
        assert not layer.built  # nothing half-built is left behind
    layer = factory()
    integers = layer.forward(np.ones(shape, dtype=np.int32))  # converted, float32 built
    assert layer.dtype == np.float32 and integers.dtype == np.float32
    with pytest.raises(ValueError, match=f"{layer.name}.*expected input of shape"):
        layer.forward(np.ones((2, *[d + 1 for d in shape[1:]]), dtype=np.float32))
    with pytest.raises(ValueError, match="booleans"):  # later calls still check the dtype
        layer.forward(np.ones(shape, dtype=bool))


# ---------------------------------------------------------------------- autoencoders
def test_autoencoder_encode_and_decode_validate_their_inputs():
    model = autoencoders.DenseAutoencoder(input_shape=8, code_size=2, seed=0).build()
    with pytest.raises(ValueError, match=r"'encoder' expects x of shape \(N, 8\), got \(3, 7\)"):
        model.encode(np.zeros((3, 7), np.float32))
    with pytest.raises(
        ValueError, match=r"'decoder' expects codes of shape \(N, 2\), got \(3, 3\)"
    ):
        model.decode(np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="codes contains NaN or Inf"):
        model.decode(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match="x must hold numbers, got booleans"):
        model.encode(np.zeros((3, 8), bool))
    codes = model.encode(np.full((3, 8), 255, np.uint8))
    np.testing.assert_array_equal(codes, model.encode(np.full((3, 8), 255.0, np.float32)))
    assert model.decode(codes).shape == (3, 8)
