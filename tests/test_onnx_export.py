"""ONNX export: every layer type and every autoencoder, run in onnxruntime against predict.

Each model gets random weights (biases and batch-norm statistics included), is exported,
checked by onnx.checker (full_check) and run in onnxruntime on a batch size that no build
used (the batch axis is dynamic); outputs must equal ``model.predict`` to 1e-5.
"""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

import autoencoders as ae  # noqa: E402
import nn_core as nn  # noqa: E402
import nn_core.onnx as nn_onnx  # noqa: E402
from nn_core import layers as L  # noqa: E402
from nn_core._gradcheck_report import LAYER_EXAMPLES, discovered_layers  # noqa: E402
from nn_core.onnx._export_layers import LAYER_EMITTERS  # noqa: E402
from nn_core.onnx._transposes import remove_cancelling_transposes  # noqa: E402

RUN_BATCH = 3  # no model here is built on, or first called with, a batch of 3
TOLERANCE = {"atol": 1e-5, "rtol": 1e-5}


# ---------------------------------------------------------------------- helpers
def randomize(model, seed=0, scale=0.5):
    """Random weights everywhere (biases, gamma, beta, moving means); variances in [0.5, 2]."""
    rng = np.random.default_rng(seed)
    weights = [
        rng.uniform(0.5, 2.0, size=w.shape)
        if name.endswith("moving_variance")
        else scale * rng.standard_normal(w.shape)
        for name, w in zip(model.weight_names(), model.get_weights())
    ]
    model.set_weights(weights)
    return model


def sample_inputs(model, batch=RUN_BATCH, seed=1):
    rng = np.random.default_rng(seed)
    return [
        rng.standard_normal((batch, *shape)).astype(model.dtype)
        for _, shape in model._input_specs()
    ]


def run_onnx(path, feeds):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def export_and_compare(model, tmp_path, batch=RUN_BATCH, opset=None, name="model.onnx"):
    """Export, check, run in onnxruntime; assert == predict; return (max |diff|, proto)."""
    path = tmp_path / name
    nn_onnx.export(model, path, opset=opset)
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    xs = sample_inputs(model, batch)
    names = [name for name, _ in model._input_specs()]
    got = run_onnx(path, dict(zip(names, xs)))
    expected = model.predict(xs if len(xs) > 1 else xs[0])
    expected = expected if isinstance(expected, list) else [expected]
    assert len(got) == len(expected)
    for actual, wanted in zip(got, expected):
        assert actual.dtype == wanted.dtype and actual.shape == wanted.shape
        np.testing.assert_allclose(actual, wanted, **TOLERANCE)
    difference = max(float(np.max(np.abs(a - w), initial=0.0)) for a, w in zip(got, expected))
    print(f"max abs difference {model.name}: {difference:.3g}")
    return difference, proto


def as_model(layer, shape, name):
    """A one-layer model: Sequential for one input, a graph Model for a merge layer's list."""
    if isinstance(shape, list):
        inputs = [nn.Input(s[1:]) for s in shape]
        return nn.Model(inputs, layer(inputs), name=name)
    model = nn.Sequential([layer], name=name)
    model.build(shape[1:])
    return model


def op_types(proto):
    return [node.op_type for node in proto.graph.node]


# ---------------------------------------------------------------------- every layer type
def _export_cases():
    """Beyond the gradient-check examples: what the ONNX translation could get wrong."""
    images = (7, 6, 2)
    cases = {
        "Conv2D": [
            (
                "3x2 kernel, stride (2, 1), same, softmax",
                L.Conv2D(3, (3, 2), (2, 1), "same", "softmax"),
                images,
            ),
            (
                "1x3 kernel, stride 3, valid, no bias, elu",
                L.Conv2D(2, (1, 3), 3, activation="elu", use_bias=False),
                images,
            ),
        ],
        "Conv2DTranspose": [
            ("kernel 2 < stride 3, valid", L.Conv2DTranspose(2, 2, strides=3), (3, 2, 2)),
            (
                "kernel 1 < stride 2, same",
                L.Conv2DTranspose(2, 1, strides=2, padding="same"),
                (3, 2, 2),
            ),
            (
                "3x2 kernel, strides (2, 3), same, leaky",
                L.Conv2DTranspose(3, (3, 2), (2, 3), "same", "leaky_relu"),
                (3, 4, 2),
            ),
            (
                "4x1 kernel, stride 2, same, no bias",
                L.Conv2DTranspose(1, (4, 1), 2, "same", use_bias=False),
                (3, 4, 2),
            ),
        ],
        "MaxPooling2D": [
            ("3x3 stride 2, same (padded cells)", L.MaxPooling2D(3, 2, "same"), images)
        ],
        "AveragePooling2D": [
            (
                "3x3 stride 2, same: padded cells do not count",
                L.AveragePooling2D(3, 2, "same"),
                images,
            ),
            ("2x3 stride (1, 2), same", L.AveragePooling2D((2, 3), (1, 2), "same"), images),
        ],
        "UpSampling2D": [("(2, 3)", L.UpSampling2D((2, 3)), (3, 2, 2))],
        "BatchNormalization": [
            ("NHWC, no scale, no center", L.BatchNormalization(center=False, scale=False), images),
            ("(N, L, C), eps 0.1", L.BatchNormalization(epsilon=0.1), (4, 3)),
        ],
        "Softmax": [("NHWC, last axis", L.Softmax(), images)],
        "Reshape": [("to an image", L.Reshape((3, 2, 2)), (12,))],
        "ClippedGaussianNoise": [("inference: no clip", L.ClippedGaussianNoise(0.5), (5,))],
    }
    for activation in ("relu", "leaky_relu", "sigmoid", "tanh", "softplus", "elu", "softmax", None):
        cases.setdefault("Dense", []).append(
            (f"fused {activation}", L.Dense(4, activation=activation), (5,))
        )
    return cases


def _layer_params():
    params = []
    for name, examples in LAYER_EXAMPLES.items():
        for description, factory, shape in examples:
            params.append(pytest.param(factory, shape, id=f"{name}: {description}"))
    for name, examples in _export_cases().items():
        for description, layer, shape in examples:
            params.append(
                pytest.param(lambda layer=layer: layer, (1, *shape), id=f"{name}: {description}")
            )
    return params


def test_every_layer_class_has_a_translation_and_a_case():
    classes = set(discovered_layers()) - {"Sequential"}
    assert classes == {kind.__name__ for kind in LAYER_EMITTERS}
    assert classes <= set(LAYER_EXAMPLES)


@pytest.mark.parametrize("factory, shape", _layer_params())
def test_layer_exports_and_matches_predict(factory, shape, tmp_path, request):
    layer = factory()
    model = as_model(layer, shape, name=request.node.callspec.id.split(":")[0])
    randomize(model)
    difference, _ = export_and_compare(model, tmp_path)
    assert difference < 1e-5


def test_conv_kernel_layout_is_checked_by_non_symmetric_random_kernels(tmp_path):
    """A transposed, flipped or channel-swapped kernel would change these outputs."""
    model = nn.Sequential([L.Conv2D(3, (3, 2), strides=(1, 2), padding="same")], name="conv")
    model.build((5, 6, 2))
    randomize(model, seed=3)
    kernel, bias = model.get_weights()
    assert np.all(bias != 0) and not np.allclose(kernel, kernel[::-1, ::-1])
    x = sample_inputs(model)[0]
    original = model.predict(x)
    model.set_weights([kernel[::-1, ::-1].copy(), bias])  # a convolution, not a correlation
    assert np.max(np.abs(model.predict(x) - original)) > 0.1  # so the comparison can fail
    model.set_weights([kernel, bias])
    export_and_compare(model, tmp_path)


def test_batch_normalization_uses_the_moving_statistics(tmp_path):
    model = nn.Sequential([L.BatchNormalization(epsilon=0.01)], name="bn")
    model.build((4, 3, 2))
    gamma, beta = np.array([1.5, -0.5]), np.array([0.3, -2.0])
    mean, variance = np.array([0.7, -1.2]), np.array([0.25, 3.0])
    model.set_weights([gamma, beta, mean, variance])
    _, proto = export_and_compare(model, tmp_path)
    (node,) = [node for node in proto.graph.node if node.op_type == "BatchNormalization"]
    assert onnx.helper.get_attribute_value(node.attribute[0]) == pytest.approx(0.01)
    stored = {init.name: onnx.numpy_helper.to_array(init) for init in proto.graph.initializer}
    np.testing.assert_array_equal(stored[node.input[3]], mean.astype(np.float32))
    np.testing.assert_array_equal(stored[node.input[4]], variance.astype(np.float32))


# ---------------------------------------------------------------------- models
def test_graph_model_with_two_inputs_and_two_outputs(tmp_path):
    image = nn.Input((6, 5, 2), name="image")
    features = nn.Input((4,), name="features")
    h = L.Conv2D(3, 3, padding="same", activation="relu")(image)
    h = L.Flatten()(L.MaxPooling2D(2)(h))
    joined = L.Concatenate()([L.Dense(4, activation="tanh")(h), features])
    code = L.Dense(3, name="code")(joined)
    reconstruction = L.Dense(4, activation="sigmoid", name="reconstruction")(code)
    model = nn.Model([image, features], [code, reconstruction], name="two_by_two")
    randomize(model)
    _, proto = export_and_compare(model, tmp_path)
    assert [i.name for i in proto.graph.input] == ["image", "features"]
    assert [o.name for o in proto.graph.output] == ["code", "reconstruction"]
    for value in [*proto.graph.input, *proto.graph.output]:
        assert value.type.tensor_type.shape.dim[0].dim_param == "batch"


def test_dynamic_batch_runs_batch_sizes_1_and_7(tmp_path):
    model = randomize(ae.ConvAutoencoder((8, 8, 1), filters=(3, 2), seed=0).build().model)
    export_and_compare(model, tmp_path, batch=1, name="one.onnx")
    export_and_compare(model, tmp_path, batch=7, name="seven.onnx")


def test_nested_models_export_inline(tmp_path):
    inner_input = nn.Input((4,))
    inner = nn.Model(inner_input, L.Dense(3, activation="elu")(inner_input), name="inner_graph")
    stack = nn.Sequential([L.Dense(4, activation="relu"), L.Dropout(0.5)], name="inner_stack")
    x = nn.Input((5,), name="x")
    h = stack(x)
    y = L.Add()([inner(h), L.Dense(3)(h)])
    outer = nn.Model(x, y, name="outer")
    model = nn.Sequential([outer, L.Dense(2, activation="sigmoid")], name="nested")
    model.build((5,))
    randomize(model)
    export_and_compare(model, tmp_path)


def test_nested_graph_with_two_outputs(tmp_path):
    inner_input = nn.Input((4,))
    h = L.Dense(3, activation="relu")(inner_input)
    inner = nn.Model(inner_input, [h, L.Dense(3, activation="sigmoid")(h)], name="two_heads")
    x = nn.Input((4,), name="x")
    first, second = inner(x)
    model = randomize(nn.Model(x, L.Multiply()([first, second]), name="outer"))
    export_and_compare(model, tmp_path)


def test_outputs_that_are_inputs_or_returned_twice(tmp_path):
    a, b = nn.Input((3,), name="a"), nn.Input((3,), name="b")
    code = L.Dense(2, name="code")(b)
    model = randomize(nn.Model([a, b], [a, code, code], name="passthrough"))
    _, proto = export_and_compare(model, tmp_path)
    assert [o.name for o in proto.graph.output] == ["a", "code_0", "code_1"]


def test_an_output_named_as_a_different_input_is_refused():
    x = nn.Input((3,), name="x")
    model = nn.Model({"same": x}, {"same": L.Dense(2)(x)}, name="clash")
    with pytest.raises(nn_onnx.ExportError, match=r"model 'clash' has an input and a different"):
        nn_onnx.to_onnx(model)


def test_a_layer_used_twice_is_one_set_of_initializers(tmp_path):
    shared = L.Dense(3, activation="tanh", name="shared")
    a, b = nn.Input((4,), name="a"), nn.Input((4,), name="b")
    model = nn.Model([a, b], L.Subtract()([shared(a), shared(b)]), name="siamese")
    randomize(model)
    _, proto = export_and_compare(model, tmp_path)
    assert sorted(init.name for init in proto.graph.initializer) == ["shared/bias", "shared/kernel"]
    assert op_types(proto).count("Gemm") == 2


def test_tied_decoder_reads_the_encoder_kernel_once(tmp_path):
    deep = ae.DeepAutoencoder(6, hidden_sizes=(5,), code_size=3, tied_weights=True, seed=0)
    model = randomize(deep.build().model)
    _, proto = export_and_compare(model, tmp_path)
    kernels = [init.name for init in proto.graph.initializer if init.name.endswith("kernel")]
    assert len(kernels) == 2  # two encoder kernels, each read again (transB=1) by the decoder


def test_float64_model_exports_in_float64(tmp_path):
    x = nn.Input((3, 4, 2), dtype="float64", name="x")
    h = L.BatchNormalization()(L.MaxPooling2D(2, padding="same")(x))
    h = L.Dense(4, activation="leaky_relu")(L.Flatten()(h))
    y = L.Dense(3, activation="softmax")(L.BatchNormalization()(h))
    model = randomize(nn.Model(x, y, name="double"))
    _, proto = export_and_compare(model, tmp_path)
    assert proto.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    assert all(init.data_type == onnx.TensorProto.DOUBLE for init in proto.graph.initializer)


def test_float64_conv_model_is_valid_onnx():
    """onnxruntime's CPU Conv has no double kernel, so this one is only checked."""
    model = ae.ConvAutoencoder((8, 8, 1), filters=(2,), seed=0).build("float64").model
    proto = nn_onnx.to_onnx(model)
    onnx.checker.check_model(proto, full_check=True)
    assert proto.graph.output[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE


# ---------------------------------------------------------------------- autoencoders
AUTOENCODERS = {
    "DenseAutoencoder": lambda: ae.DenseAutoencoder(6, code_size=3),
    "DeepAutoencoder": lambda: ae.DeepAutoencoder(6, hidden_sizes=(5, 4), code_size=2),
    "DeepAutoencoder tied": lambda: ae.DeepAutoencoder(6, (5,), 3, tied_weights=True),
    "ConvAutoencoder": lambda: ae.ConvAutoencoder((8, 8, 1), filters=(3, 2)),
    "ConvAutoencoder 12x12 (a valid stage)": lambda: ae.ConvAutoencoder((12, 12, 2), (2, 2, 2)),
    "SparseAutoencoder l1": lambda: ae.SparseAutoencoder(6, code_size=3, l1=1e-4),
    "SparseAutoencoder KL": lambda: ae.SparseAutoencoder(6, code_size=3, sparsity_target=0.1),
    "DenoisingAutoencoder gaussian": lambda: ae.DenoisingAutoencoder(6, code_size=3),
    "DenoisingAutoencoder masking": lambda: ae.DenoisingAutoencoder(6, 3, noise="masking"),
    "ConvDenoisingAutoencoder": lambda: ae.ConvDenoisingAutoencoder((8, 8, 1), filters=(2, 2)),
    "ContractiveAutoencoder": lambda: ae.ContractiveAutoencoder(6, code_size=3),
    "ContractiveAutoencoder relu": lambda: ae.ContractiveAutoencoder(6, 3, activation="relu"),
    "VariationalAutoencoder": lambda: ae.VariationalAutoencoder(6, latent_dim=2, hidden_sizes=(4,)),
}


def test_every_autoencoder_class_is_covered():
    classes = {value for value in vars(ae).values() if isinstance(value, type)}
    covered = {type(factory()) for factory in AUTOENCODERS.values()}
    # PCA is NumPy's SVD, not an nn_core model: there is no graph to export.
    assert covered == {c for c in classes if issubclass(c, ae.Autoencoder)} - {ae.Autoencoder}


@pytest.mark.parametrize("part", ["model", "encoder", "decoder"])
@pytest.mark.parametrize("kind", list(AUTOENCODERS))
def test_autoencoder_exports_whole_encoder_and_decoder(kind, part, tmp_path):
    autoencoder = AUTOENCODERS[kind]()
    autoencoder.build()
    randomize(autoencoder.model)
    model = getattr(autoencoder, part)
    model.name = f"{kind} {part}".replace(" ", "_")
    export_and_compare(model, tmp_path)


def test_conv_stack_keeps_one_transpose_in_and_one_out(tmp_path):
    model = nn.Sequential(
        [L.Conv2D(4, 3, padding="same", activation="relu") for _ in range(3)], name="stack"
    )
    model.build((6, 6, 2))
    randomize(model)
    _, proto = export_and_compare(model, tmp_path)
    assert op_types(proto).count("Transpose") == 2
    assert op_types(proto) == ["Transpose", *["Conv", "Relu"] * 3, "Transpose"]


# ---------------------------------------------------------------------- the transpose pass
def _transpose(source, target, perm):
    return onnx.helper.make_node("Transpose", [source], [target], name=target, perm=perm)


def test_transpose_pass_removes_a_cancelling_pair_only():
    nodes = [
        _transpose("x", "a", [0, 2, 3, 1]),
        _transpose("a", "b", [0, 3, 1, 2]),  # cancels the first
        onnx.helper.make_node("Relu", ["b"], ["c"]),
        _transpose("c", "d", [0, 2, 3, 1]),
        _transpose("d", "e", [0, 2, 3, 1]),  # does not cancel
    ]
    kept = remove_cancelling_transposes(nodes, keep={"e"})
    assert [(n.op_type, list(n.input)) for n in kept] == [
        ("Relu", ["x"]),
        ("Transpose", ["c"]),
        ("Transpose", ["d"]),
    ]


def test_transpose_pass_keeps_a_first_transpose_with_other_readers_and_outputs():
    nodes = [
        _transpose("x", "a", [0, 2, 3, 1]),
        _transpose("a", "b", [0, 3, 1, 2]),
        onnx.helper.make_node("Add", ["a", "b"], ["c"]),
        _transpose("c", "d", [0, 3, 1, 2]),
        _transpose("d", "out", [0, 2, 3, 1]),  # a graph output: never removed
    ]
    kept = remove_cancelling_transposes(nodes, keep={"out"})
    assert [(n.output[0], list(n.input)) for n in kept] == [
        ("a", ["x"]),
        ("c", ["a", "x"]),
        ("d", ["c"]),
        ("out", ["d"]),
    ]


# ---------------------------------------------------------------------- errors, options
class Doubling(nn.layers.Layer):
    def forward(self, x, training=False):
        return 2 * self._prepare_input(x)


class MyDense(L.Dense):
    """A subclass may compute something else: it is not exported as a Dense."""


@pytest.mark.parametrize("layer", [Doubling(name="twice"), MyDense(3, name="twice")])
def test_unsupported_layer_is_named_with_its_class(layer, tmp_path):
    model = nn.Sequential([L.Dense(3), layer], name="custom")
    model.build((4,))
    with pytest.raises(nn_onnx.ExportError, match=rf"layer 'twice' \({type(layer).__name__}\)"):
        nn_onnx.export(model, tmp_path / "custom.onnx")
    assert not list(tmp_path.iterdir())  # nothing written, no temporary file left


def test_failed_export_leaves_the_old_file(tmp_path):
    path = tmp_path / "model.onnx"
    good = nn.Sequential([L.Dense(2)], name="good")
    good.build((3,))
    nn_onnx.export(good, path)
    before = path.read_bytes()
    bad = nn.Sequential([Doubling()], name="bad")
    bad.build((3,))
    with pytest.raises(nn_onnx.ExportError):
        nn_onnx.export(bad, path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["model.onnx"]


def test_unknown_activation_inside_a_dense_is_named():
    class Cube(L.Activation):
        def forward(self, x, training=False):
            return self._prepare_input(x) ** 3

    model = nn.Sequential([L.Dense(2, activation=Cube(name="cube"), name="dense_cube")])
    model.build((3,))
    with pytest.raises(nn_onnx.ExportError, match=r"'dense_cube'.*'cube' \(Cube\)"):
        nn_onnx.to_onnx(model)


def test_unbuilt_model_is_refused(tmp_path):
    model = nn.Sequential([L.Dense(2)], name="unbuilt")
    with pytest.raises(ValueError, match=r"model 'unbuilt' is not built yet"):
        nn_onnx.export(model, tmp_path / "x.onnx")


def test_not_a_model_is_refused():
    with pytest.raises(nn_onnx.ExportError, match=r"\.model, \.encoder or \.decoder"):
        nn_onnx.to_onnx(ae.DenseAutoencoder(4, 2).build())


@pytest.mark.parametrize("opset", [13, 17, onnx.defs.onnx_opset_version()])
def test_supported_opsets(opset, tmp_path):
    x = nn.Input((4, 4, 2))
    h = L.BatchNormalization()(L.Conv2D(3, 3, padding="same", activation="softmax")(x))
    h = L.UpSampling2D(2)(L.AveragePooling2D(3, 2, "same")(h))
    y = L.Softmax()(L.Reshape((3, 16))(L.Flatten()(h)))
    model = randomize(nn.Model(x, y, name=f"opset_{opset}"))
    _, proto = export_and_compare(model, tmp_path, opset=opset)
    assert [entry.version for entry in proto.opset_import] == [opset]


def test_default_opset_is_17():
    model = nn.Sequential([L.Dense(2)])
    model.build((3,))
    assert [entry.version for entry in nn_onnx.to_onnx(model).opset_import] == [17]


@pytest.mark.parametrize("opset", [12, onnx.defs.onnx_opset_version() + 1, "17", 17.0, True])
def test_unsupported_opset_is_refused(opset):
    model = nn.Sequential([L.Dense(2)])
    model.build((3,))
    with pytest.raises(ValueError, match=r"opset must be an integer from 13 to \d+.*got"):
        nn_onnx.to_onnx(model, opset=opset)


def test_missing_onnx_names_the_extra(monkeypatch):
    for name in [name for name in sys.modules if name.startswith("nn_core.onnx")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "onnx", None)  # "import onnx" now fails
    with pytest.raises(ImportError, match=r"pip install 'nn-core-autoencoders\[onnx\]'"):
        importlib.import_module("nn_core.onnx")
