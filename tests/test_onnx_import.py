"""nn_core.onnx.load: PyTorch exports and hand-built graphs give the same predictions, train
on like the original, round-trip through nn_core's own files, and untrusted or unsupported
files raise OnnxImportError naming what is wrong.

PyTorch is the reference for its exports (NCHW data transposed to NHWC for nn_core),
onnxruntime for the hand-built NHWC graph.
"""

import random
import signal
import tracemalloc

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
torch = pytest.importorskip("torch")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

import nn_core as nn  # noqa: E402
from nn_core.onnx import OnnxImportError  # noqa: E402

torch.set_num_threads(1)
nn_torch = torch.nn
TOLERANCE = 1e-5


def export(module, x, path, **options):
    """torch.onnx.export with a dynamic batch axis (the TorchScript exporter)."""
    module.eval()
    torch.onnx.export(
        module,
        x,
        str(path),
        **options,
        dynamo=False,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
    )
    return path


def nhwc(array):
    return array.transpose(0, 2, 3, 1) if array.ndim == 4 else array


def imported_difference(module, x, tmp_path):
    """(model, max |nn_core - torch|) for ``module`` exported and loaded back."""
    model = nn.onnx.load(export(module, x, tmp_path / "model.onnx"))
    with torch.no_grad():
        expected = nhwc(module(x).numpy())
    got = model.predict(nhwc(x.numpy()), batch_size=len(x))
    assert got.shape == expected.shape
    return model, float(np.max(np.abs(got - expected)))


def layer_names(model):
    return [type(layer).__name__ for layer in model.leaf_layers()]


def dense_autoencoder():
    return nn_torch.Sequential(
        nn_torch.Linear(784, 32), nn_torch.ReLU(), nn_torch.Linear(32, 784), nn_torch.Sigmoid()
    )


def deep_autoencoder():
    sizes = [784, 128, 64, 32, 64, 128]
    modules = []
    for size_in, size_out in zip(sizes, sizes[1:]):
        modules += [nn_torch.Linear(size_in, size_out), nn_torch.ReLU()]
    return nn_torch.Sequential(*modules, nn_torch.Linear(128, 784), nn_torch.Sigmoid())


def conv_autoencoder():
    """The Keras blog's convolutional autoencoder in PyTorch (7 -> 4 by ceil_mode pooling)."""
    t = nn_torch
    return t.Sequential(
        t.Conv2d(1, 16, 3, padding=1), t.ReLU(), t.MaxPool2d(2),
        t.Conv2d(16, 8, 3, padding=1), t.ReLU(), t.MaxPool2d(2),
        t.Conv2d(8, 8, 3, padding=1), t.ReLU(), t.MaxPool2d(2, ceil_mode=True),
        t.Conv2d(8, 8, 3, padding=1), t.ReLU(), t.Upsample(scale_factor=2, mode="nearest"),
        t.Conv2d(8, 8, 3, padding=1), t.ReLU(), t.Upsample(scale_factor=2),
        t.Conv2d(8, 16, 3), t.ReLU(), t.Upsample(scale_factor=2),
        t.Conv2d(16, 1, 3, padding=1), t.Sigmoid(),
    )  # fmt: skip


def flatten_then_linear():
    """Conv maps flattened in C, H, W order feed a Linear: its rows must be permuted."""
    t = nn_torch
    return t.Sequential(
        t.Conv2d(2, 3, 3, padding=1), t.ReLU(), t.MaxPool2d(2), t.Flatten(), t.Linear(3 * 4 * 5, 6)
    )


def linear_then_unflatten():
    """A Linear's outputs reshaped to (C, H, W) feed a conv: its columns must be permuted."""
    t = nn_torch
    return t.Sequential(
        t.Linear(5, 3 * 4 * 2), t.Tanh(), t.Unflatten(1, (3, 4, 2)),
        t.Conv2d(3, 2, 3, padding=1), t.Sigmoid(),
    )  # fmt: skip


@pytest.fixture(autouse=True)
def seeded():
    torch.manual_seed(0)


# ---------------------------------------------------------------------- predictions
def test_dense_autoencoder_predictions_match_pytorch(tmp_path):
    model, difference = imported_difference(dense_autoencoder(), torch.rand(6, 784), tmp_path)
    assert isinstance(model, nn.Sequential)
    assert layer_names(model) == ["Dense", "ReLU", "Dense", "Sigmoid"]
    assert difference <= TOLERANCE


def test_deep_autoencoder_predictions_match_pytorch(tmp_path):
    model, difference = imported_difference(deep_autoencoder(), torch.rand(6, 784), tmp_path)
    assert layer_names(model).count("Dense") == 6
    assert difference <= TOLERANCE


def test_keras_blog_conv_autoencoder_predictions_match_pytorch(tmp_path):
    model, difference = imported_difference(conv_autoencoder(), torch.rand(3, 1, 28, 28), tmp_path)
    assert model.input_shape == (28, 28, 1) and model.output_shape == (28, 28, 1)
    assert layer_names(model).count("Conv2D") == 7
    assert layer_names(model).count("UpSampling2D") == 3
    assert difference <= TOLERANCE


@pytest.mark.parametrize("opset", [9, 11, 13])
def test_older_opsets_upsample_and_resize_import_too(tmp_path, opset):
    """Opset 9 writes Upsample, 10-12 Resize with a roi input, 13+ the current Resize."""
    module, x = conv_autoencoder(), torch.rand(2, 1, 28, 28)
    model = nn.onnx.load(export(module, x, tmp_path / "old.onnx", opset_version=opset))
    with torch.no_grad():
        expected = nhwc(module(x).numpy())
    assert np.max(np.abs(model.predict(nhwc(x.numpy())) - expected)) <= TOLERANCE


def test_a_float64_export_gives_a_float64_model(tmp_path):
    module, x = dense_autoencoder().double(), torch.rand(3, 784, dtype=torch.float64)
    model, difference = imported_difference(module, x, tmp_path)
    assert model.dtype == np.float64
    assert difference <= 1e-12


def test_flatten_of_nchw_maps_then_linear_matches_pytorch(tmp_path):
    model, difference = imported_difference(
        flatten_then_linear(), torch.rand(4, 2, 8, 10), tmp_path
    )
    assert "Flatten" in layer_names(model)
    assert difference <= TOLERANCE


def test_linear_then_unflatten_to_nchw_then_conv_matches_pytorch(tmp_path):
    model, difference = imported_difference(linear_then_unflatten(), torch.rand(4, 5), tmp_path)
    assert layer_names(model)[:3] == ["Dense", "Tanh", "Reshape"]
    assert difference <= TOLERANCE


def test_batch_norm_in_eval_mode_with_running_statistics_matches_pytorch(tmp_path):
    t = nn_torch
    # The exporter folds a BatchNorm2d right after a Conv into it; after the LeakyReLU it stays.
    module = t.Sequential(t.Conv2d(3, 4, 3), t.LeakyReLU(0.1), t.BatchNorm2d(4), t.Flatten(),
                          t.Linear(4 * 3 * 3, 5), t.BatchNorm1d(5), t.ELU())  # fmt: skip
    with torch.no_grad():
        for norm in (module[2], module[5]):
            norm.running_mean.uniform_(-1, 1)
            norm.running_var.uniform_(0.5, 2.0)
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.uniform_(-0.5, 0.5)
    model, difference = imported_difference(module, torch.rand(4, 3, 5, 5), tmp_path)
    assert layer_names(model).count("BatchNormalization") == 2
    norm = model.leaf_layers()[2]
    np.testing.assert_allclose(norm.buffers["moving_variance"], module[2].running_var.numpy())
    assert norm.epsilon == pytest.approx(1e-5)
    assert difference <= TOLERANCE


def test_transposed_conv_average_pool_and_channel_softmax_match_pytorch(tmp_path):
    t = nn_torch
    module = t.Sequential(t.ConvTranspose2d(2, 3, 4, stride=2, padding=1), t.Softplus(),
                          t.AvgPool2d(2), t.ConvTranspose2d(3, 4, 3), t.Softmax(dim=1))  # fmt: skip
    model, difference = imported_difference(module, torch.rand(3, 2, 5, 6), tmp_path)
    assert layer_names(model).count("Conv2DTranspose") == 2
    assert difference <= TOLERANCE


class _SkipAndJoin(nn_torch.Module):
    """Two branches added and joined on the channels: not a chain, so an nn_core.Model."""

    def __init__(self):
        super().__init__()
        self.first = nn_torch.Conv2d(2, 3, 3, padding=1)
        self.second = nn_torch.Conv2d(3, 3, 3, padding=1)

    def forward(self, x):
        h = torch.relu(self.first(x))
        joined = torch.cat([h + self.second(h), h * h - h], dim=1)
        return torch.sigmoid(joined)


def test_a_graph_with_a_skip_connection_becomes_a_graph_model(tmp_path):
    model, difference = imported_difference(_SkipAndJoin(), torch.rand(3, 2, 6, 6), tmp_path)
    assert isinstance(model, nn.Model)
    assert {"Add", "Subtract", "Multiply", "Concatenate"} <= set(layer_names(model))
    assert difference <= TOLERANCE


def _nhwc_graph():
    """What an NHWC exporter writes: Transposes around an NCHW Conv, then Flatten + Gemm."""
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(4, 2, 3, 3)).astype(np.float32)
    dense = rng.normal(size=(3, 5 * 6 * 4)).astype(np.float32)
    nodes = [
        helper.make_node("Transpose", ["x"], ["x_nchw"], perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["x_nchw", "w", "b"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("Relu", ["c"], ["r"]),
        helper.make_node("Transpose", ["r"], ["r_nhwc"], perm=[0, 2, 3, 1]),
        helper.make_node("Flatten", ["r_nhwc"], ["f"]),
        helper.make_node("Gemm", ["f", "d"], ["y"], transB=1, alpha=0.5),
    ]
    initializers = [
        numpy_helper.from_array(weight, "w"),
        numpy_helper.from_array(rng.normal(size=4).astype(np.float32), "b"),
        numpy_helper.from_array(dense, "d"),
    ]
    graph = helper.make_graph(
        nodes,
        "nhwc",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5, 6, 2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])],
        initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_an_nhwc_graph_with_transposes_around_convs_matches_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    path = tmp_path / "nhwc.onnx"
    onnx.save(_nhwc_graph(), path)
    model = nn.onnx.load(path)
    assert model.input_shape == (5, 6, 2)
    assert layer_names(model) == ["Conv2D", "ReLU", "Flatten", "Dense"]
    x = np.random.default_rng(1).random((4, 5, 6, 2), dtype=np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (expected,) = session.run(None, {"x": x})
    np.testing.assert_allclose(model.predict(x), expected, rtol=0, atol=1e-4)


def test_matmul_then_add_becomes_one_dense_layer_matching_onnxruntime(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    rng = np.random.default_rng(2)
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["m"]),
        helper.make_node("Add", ["m", "b"], ["a"]),
        helper.make_node("Softmax", ["a"], ["y"], axis=-1),
    ]
    initializers = [
        numpy_helper.from_array(rng.normal(size=(6, 4)).astype(np.float32), "w"),
        numpy_helper.from_array(rng.normal(size=4).astype(np.float32), "b"),
    ]
    graph = helper.make_graph(
        nodes,
        "matmul",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 6])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
        initializers,
    )
    path = tmp_path / "matmul.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    model = nn.onnx.load(path)
    assert layer_names(model) == ["Dense", "Softmax"]
    x = rng.random((5, 6), dtype=np.float32)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(model.predict(x), session.run(None, {"x": x})[0], atol=1e-6)


# ---------------------------------------------------------------------- fine-tuning
def _torch_epoch(module, optimizer, x, batch_size):
    loss_function = nn_torch.BCELoss()
    total = 0.0
    module.train()
    for start in range(0, len(x), batch_size):
        batch = x[start : start + batch_size]
        optimizer.zero_grad()
        loss = loss_function(module(batch), batch)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    return total / len(x)


def test_fine_tuning_an_imported_dense_autoencoder_matches_pytorch(tmp_path):
    """One epoch, 512 random [0, 1] samples, batches of 128 in order, BCE, Adadelta(lr=1.0).

    Adadelta: nn_core's update is torch's (epsilon inside both square roots, lr scaling the
    step; see nn_core/optimizers/adadelta.py), so rho and epsilon are passed explicitly.
    """
    module = dense_autoencoder()
    x = torch.rand(512, 784)
    model = nn.onnx.load(export(module, x[:2], tmp_path / "dense.onnx"))
    model.compile(optimizer=nn.optimizers.Adadelta(1.0, rho=0.95, epsilon=1e-7), loss="bce")
    history = model.fit(x.numpy(), x.numpy(), epochs=1, batch_size=128, shuffle=False, verbose=0)
    optimizer = torch.optim.Adadelta(module.parameters(), lr=1.0, rho=0.95, eps=1e-7)
    torch_loss = _torch_epoch(module, optimizer, x, 128)

    assert abs(history.history["loss"][0] - torch_loss) <= 1e-4
    first, _, second, _ = model.leaf_layers()
    for layer, linear in ((first, module[0]), (second, module[2])):
        np.testing.assert_allclose(
            layer.params["kernel"], linear.weight.detach().numpy().T, atol=1e-4
        )
        np.testing.assert_allclose(layer.params["bias"], linear.bias.detach().numpy(), atol=1e-4)


def test_fine_tuning_through_the_layout_fix_ups_matches_pytorch(tmp_path):
    """Gradients flow through the permuted Flatten -> Linear rows like PyTorch's (SGD)."""
    t = nn_torch
    module = t.Sequential(t.Conv2d(1, 2, 3, padding=1), t.ReLU(), t.Flatten(),
                          t.Linear(2 * 4 * 4, 16), t.Sigmoid())  # fmt: skip
    x = torch.rand(64, 1, 4, 4)
    model = nn.onnx.load(export(module, x[:2], tmp_path / "fixup.onnx"))
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=0.5), loss="bce")
    x_nhwc = nhwc(x.numpy())
    history = model.fit(
        x_nhwc, x.reshape(64, 16).numpy(), epochs=1, batch_size=16, shuffle=False, verbose=0
    )
    optimizer = torch.optim.SGD(module.parameters(), lr=0.5)
    module.train()
    total = 0.0
    for start in range(0, 64, 16):
        optimizer.zero_grad()
        loss = t.BCELoss()(module(x[start : start + 16]), x[start : start + 16].reshape(16, 16))
        loss.backward()
        optimizer.step()
        total += loss.item() * 16
    assert abs(history.history["loss"][0] - total / 64) <= 1e-4
    conv = model.leaf_layers()[0]
    expected = module[0].weight.detach().numpy().transpose(2, 3, 1, 0)
    np.testing.assert_allclose(conv.params["kernel"], expected, atol=1e-4)
    # nn_core's Dense reads H, W, C order: torch's rows (C, H, W order) permuted, after training.
    rows = module[3].weight.detach().numpy().T.reshape(2, 4, 4, 16).transpose(1, 2, 0, 3)
    np.testing.assert_allclose(
        model.leaf_layers()[3].params["kernel"], rows.reshape(32, 16), atol=1e-4
    )


def test_an_imported_model_saves_and_loads_with_nn_core_files(tmp_path):
    module = conv_autoencoder()
    x = torch.rand(2, 1, 28, 28)
    model = nn.onnx.load(export(module, x, tmp_path / "conv.onnx"))
    path = tmp_path / "imported.npz"
    model.save(path)
    loaded = nn.load_model(path)
    np.testing.assert_array_equal(loaded.predict(nhwc(x.numpy())), model.predict(nhwc(x.numpy())))


# ---------------------------------------------------------------------- refusals
def _single_node_model(node, inputs, output, initializers=(), opset=17):
    graph = helper.make_graph([node], "g", inputs, [output], list(initializers))
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset)]
    ).SerializeToString()


def _image_input(channels=4):
    return helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", channels, 6, 6])


def test_an_unsupported_op_is_refused_naming_the_node_and_op():
    weight = numpy_helper.from_array(np.zeros((1, 12, 3), np.float32), "W")
    recurrent = numpy_helper.from_array(np.zeros((1, 12, 3), np.float32), "R")
    node = helper.make_node("LSTM", ["x", "W", "R"], ["y"], hidden_size=3, name="encoder_lstm")
    data = _single_node_model(
        node,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 5, 3])],
        helper.make_tensor_value_info("y", TensorProto.FLOAT, None),
        [weight, recurrent],
    )
    with pytest.raises(OnnxImportError, match=r"node 'encoder_lstm' \(LSTM\).*not supported.*Conv"):
        nn.onnx.load(data)


@pytest.mark.parametrize(
    "attributes, message",
    [
        ({"group": 2}, r"group=2 is not supported"),
        ({"dilations": [2, 2]}, r"dilations \[2, 2\] are not supported"),
        ({"pads": [0, 0, 2, 2]}, r"pads \[0, 0, 2, 2\] .* neither 'valid' nor TensorFlow's 'same'"),
    ],
    ids=["group", "dilations", "asymmetric-pads"],
)
def test_unsupported_conv_attributes_are_refused_naming_the_node(attributes, message):
    channels_per_group = 4 // attributes.get("group", 1)
    weight = numpy_helper.from_array(np.zeros((4, channels_per_group, 3, 3), np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], name="grouped", **attributes)
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    with pytest.raises(OnnxImportError, match=r"node 'grouped' \(Conv\): " + message):
        nn.onnx.load(_single_node_model(node, [_image_input()], output, [weight]))


def test_linear_resize_is_refused():
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear", name="up")
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    with pytest.raises(OnnxImportError, match=r"node 'up' \(Resize\): mode='linear'"):
        nn.onnx.load(_single_node_model(node, [_image_input()], output, [scales]))


def _relu_graph_with(initializer):
    node = helper.make_node("Add", ["x", initializer.name], ["y"], name="add")
    output = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])]
    return _single_node_model(node, inputs, output, [initializer])


def test_a_tensor_with_external_data_is_refused_without_opening_a_file(tmp_path, monkeypatch):
    tensor = numpy_helper.from_array(np.zeros(4, np.float32), "bias")
    tensor.ClearField("raw_data")
    tensor.data_location = TensorProto.EXTERNAL
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "weights.bin"
    (tmp_path / "weights.bin").write_bytes(b"\0" * 16)
    path = tmp_path / "external.onnx"
    path.write_bytes(_relu_graph_with(tensor))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(OnnxImportError, match=r"initializer 'bias' keeps its data in an external"):
        nn.onnx.load(path)


def test_a_tensor_claiming_10_to_the_12_values_is_refused_without_allocating():
    tensor = TensorProto(
        name="bias", data_type=TensorProto.FLOAT, dims=[10**6] * 2, raw_data=b"\0" * 4
    )
    data = _relu_graph_with(tensor)
    tracemalloc.start()
    try:
        with pytest.raises(OnnxImportError, match=r"initializer 'bias' claims 1,000,000,000,000"):
            nn.onnx.load(data)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


def test_raw_data_shorter_than_the_claimed_dims_is_refused():
    tensor = TensorProto(name="bias", data_type=TensorProto.FLOAT, dims=[4], raw_data=b"\0" * 12)
    with pytest.raises(OnnxImportError, match=r"claims dims \[4\] \(16 bytes of float32\)"):
        nn.onnx.load(_relu_graph_with(tensor))


def test_a_file_that_is_not_onnx_or_is_truncated_is_refused(tmp_path):
    path = tmp_path / "not.onnx"
    path.write_bytes(b"PK\x03\x04 this is a zip, not a protobuf")
    with pytest.raises(OnnxImportError):
        nn.onnx.load(path)
    valid = export(dense_autoencoder(), torch.rand(2, 784), tmp_path / "dense.onnx").read_bytes()
    path.write_bytes(valid[: len(valid) // 2])
    with pytest.raises(OnnxImportError):
        nn.onnx.load(path)
    path.write_bytes(b"")
    with pytest.raises(OnnxImportError, match="not an ONNX model"):
        nn.onnx.load(path)


FUZZ_CASES = 400
SECONDS_FOR_FUZZ = 60


def test_fuzzed_onnx_files_raise_only_onnx_import_errors(tmp_path):
    """Bit flips, truncations, overwrites and random bytes of a small valid conv model."""
    t = nn_torch
    module = t.Sequential(t.Conv2d(1, 2, 3, padding=1), t.ReLU(), t.MaxPool2d(2), t.Flatten(),
                          t.Linear(18, 4), t.Unflatten(1, (1, 2, 2)), t.Sigmoid())  # fmt: skip
    valid = export(module, torch.rand(2, 1, 6, 6), tmp_path / "small.onnx").read_bytes()
    rng = random.Random(0)
    outcomes = {"loaded": 0, "refused": 0}

    def timeout(signum, frame):
        raise TimeoutError(f"fuzz ran past {SECONDS_FOR_FUZZ} s")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(SECONDS_FOR_FUZZ)
    try:
        for index in range(FUZZ_CASES):
            kind = index % 4
            data = bytearray(valid)
            if kind == 0:
                for _ in range(rng.randint(1, 8)):
                    data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
            elif kind == 1:
                data = data[: rng.randrange(len(data))]
            elif kind == 2:
                start = rng.randrange(len(data))
                data[start : start + 16] = rng.randbytes(16)
            else:
                data = rng.randbytes(rng.choice([0, 1, 7, 100, 2000]))
            try:
                nn.onnx.load(bytes(data))
                outcomes["loaded"] += 1
            except OnnxImportError:
                outcomes["refused"] += 1
            except Exception as error:  # noqa: BLE001 - the point: nothing else escapes
                pytest.fail(f"case {index} raised {type(error).__name__}: {error}")
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert sum(outcomes.values()) == FUZZ_CASES
    assert outcomes["refused"] > FUZZ_CASES // 2


GRAPH_FUZZ_CASES = 300


def test_fuzzed_graph_fields_raise_only_onnx_import_errors(tmp_path):
    """Well-formed protobufs with wrong contents: attribute values, dims, op types, inputs.

    Whatever loads must also predict (no error deferred to run time).
    """
    t = nn_torch
    module = t.Sequential(t.Conv2d(1, 2, 3, padding=1), t.ReLU(), t.MaxPool2d(2, ceil_mode=True),
                          t.Upsample(scale_factor=2), t.AvgPool2d(2), t.Flatten(),
                          t.Linear(18, 4), t.Unflatten(1, (1, 2, 2)), t.Softmax(1))  # fmt: skip
    valid = onnx.load(export(module, torch.rand(2, 1, 5, 5), tmp_path / "graph.onnx"))
    rng = random.Random(3)
    values = [-3, -1, 0, 1, 2, 3, 7, 10**12, -(2**62)]
    outcomes = {"loaded": 0, "refused": 0}
    for index in range(GRAPH_FUZZ_CASES):
        proto = onnx.ModelProto()
        proto.CopyFrom(valid)
        node = rng.choice(proto.graph.node)
        kind = index % 4
        if kind == 0 and len(node.attribute):
            attribute = rng.choice(node.attribute)
            if attribute.type == 2:
                attribute.i = rng.choice(values)
            elif attribute.type == 7 and len(attribute.ints):
                attribute.ints[rng.randrange(len(attribute.ints))] = rng.choice(values)
            elif attribute.type == 3:
                attribute.s = rng.choice([b"linear", b"", b"SAME_LOWER"])
        elif kind == 1 and len(node.input):
            names = [n.output[0] for n in proto.graph.node] + ["", "missing"]
            node.input[rng.randrange(len(node.input))] = rng.choice(names)
        elif kind == 2:
            initializer = rng.choice(proto.graph.initializer)
            if len(initializer.dims):
                initializer.dims[rng.randrange(len(initializer.dims))] = rng.choice(values)
        else:
            node.op_type = rng.choice(["Relu", "Conv", "Gemm", "Reshape", "Transpose", "Concat"])
        try:
            model = nn.onnx.load(proto.SerializeToString())
            model.predict(np.random.default_rng(0).random((2, *model.input_shape)))
            outcomes["loaded"] += 1
        except OnnxImportError:
            outcomes["refused"] += 1
        except Exception as error:  # noqa: BLE001 - the point: nothing else escapes
            pytest.fail(f"case {index} raised {type(error).__name__}: {error}")
    assert outcomes["refused"] > GRAPH_FUZZ_CASES // 4 and outcomes["loaded"] > 0
