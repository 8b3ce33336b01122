"""The CLI's bridges: export (onnx, safetensors, torch), import (ONNX), train --init-from."""

from __future__ import annotations

import numpy as np
import pytest
from test_cli import run

import nn_core as nn
from autoencoders import DenseAutoencoder
from autoencoders.cli import main


@pytest.fixture(scope="module")
def digits_and_model(tmp_path_factory):
    """200 MNIST digits as .npy and a dense autoencoder trained on them for 1 epoch."""
    folder = tmp_path_factory.mktemp("interop_cli")
    (x_train, _), _ = nn.datasets.mnist.load_data()
    np.save(folder / "digits.npy", x_train[:200])
    code = main(
        ["train", "--model", "dense", "--code-size", "8", "--dataset", str(folder / "digits.npy")]
        + ["--epochs", "1", "--quiet", "--out", str(folder / "dense.npz")]
    )
    assert code == 0
    return folder, x_train[:16].reshape(16, 784).astype(np.float32) / 255


@pytest.mark.parametrize("part", ["model", "encoder", "decoder"])
def test_export_onnx_runs_in_onnxruntime_as_predict(digits_and_model, capsys, part):
    ort = pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    folder, x = digits_and_model
    out = folder / f"dense_{part}.onnx"
    code, stdout, err = run(
        capsys, "export", folder / "dense.npz", "--format", "onnx", "--part", part, "--out", out
    )
    assert code == 0, err
    assert f"wrote {out}" in stdout
    autoencoder = DenseAutoencoder.load(folder / "dense.npz")
    model = autoencoder.model if part == "model" else getattr(autoencoder, part)
    inputs = x if part != "decoder" else autoencoder.encode(x)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    (result,) = session.run(None, {session.get_inputs()[0].name: inputs})
    np.testing.assert_allclose(result, model.predict(inputs), rtol=1e-5, atol=1e-5)


def test_export_default_paths_and_the_torch_format(digits_and_model, capsys):
    pytest.importorskip("safetensors")
    from safetensors.numpy import load_file

    folder, _ = digits_and_model
    code, stdout, err = run(capsys, "export", folder / "dense.npz", "--format", "torch")
    assert code == 0, err
    tensors = load_file(str(folder / "dense.torch.safetensors"))
    kernel = DenseAutoencoder.load(folder / "dense.npz").encoder.layers[0].params["kernel"]
    # torch's Linear keeps weight as (out, in): the transposed kernel, under torch's names.
    np.testing.assert_array_equal(tensors["0.0.weight"], kernel.T)
    code, _, err = run(capsys, "export", folder / "dense.npz", "--format", "safetensors")
    assert code == 0, err
    stored = load_file(str(folder / "dense.safetensors"))
    weights = DenseAutoencoder.load(folder / "dense.npz").model.get_weights()
    assert len(stored) == len(weights) == 4
    kernels = sorted((v for k, v in stored.items() if k.endswith("/kernel")), key=np.shape)
    np.testing.assert_array_equal(kernels[0], weights[2])  # the decoder's (8, 784) kernel


def test_export_refuses_opset_for_weights_and_a_missing_part(digits_and_model, capsys, tmp_path):
    folder, _ = digits_and_model
    code, _, err = run(capsys, "export", folder / "dense.npz", "--format", "torch", "--opset", "17")
    assert code == 2 and "--opset is for --format onnx" in err
    code, _, err = run(capsys, "export", tmp_path / "absent.npz", "--format", "onnx")
    assert code == 1 and "no model file" in err


def test_import_an_onnx_file_from_torch_and_evaluate_it(digits_and_model, capsys, tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("onnx")
    folder, x = digits_and_model
    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Linear(784, 16), torch.nn.ReLU(), torch.nn.Linear(16, 784), torch.nn.Sigmoid()
    ).eval()
    onnx_path = tmp_path / "torch_dense.onnx"
    torch.onnx.export(
        module,
        torch.zeros(1, 784),
        str(onnx_path),
        dynamo=False,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}},
    )
    out = tmp_path / "imported.npz"
    code, stdout, err = run(capsys, "import", onnx_path, "--out", out)
    assert code == 0, err
    assert f"wrote {out}" in stdout and "25,888 parameters" in stdout
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(nn.load_model(out).predict(x), expected, rtol=1e-5, atol=1e-5)
    code, stdout, err = run(capsys, "evaluate", out, "--dataset", folder / "digits.npy")
    assert code == 0, err


def test_import_refuses_weight_files_and_missing_files(capsys, tmp_path):
    weights = tmp_path / "w.safetensors"
    weights.write_bytes(b"\x00" * 16)
    code, _, err = run(capsys, "import", weights)
    assert code == 1 and "not an .onnx file" in err and "load_weights" in err
    code, _, err = run(capsys, "import", tmp_path / "absent.onnx")
    assert code == 1 and "no file at" in err


def test_train_init_from_copies_the_weights_and_freeze_encoder_keeps_them(
    digits_and_model, capsys, tmp_path
):
    folder, _ = digits_and_model
    source = DenseAutoencoder.load(folder / "dense.npz")
    out = tmp_path / "fine_tuned.npz"
    code, stdout, err = run(
        capsys, "train", "--model", "dense", "--code-size", "8",
        "--dataset", folder / "digits.npy", "--epochs", "1", "--init-from", folder / "dense.npz",
        "--freeze-encoder", "--out", out,
    )  # fmt: skip
    assert code == 0, err
    assert "initialised from" in stdout and "encoder frozen" in stdout
    tuned = DenseAutoencoder.load(out)
    for before, after in zip(source.encoder.get_weights(), tuned.encoder.get_weights()):
        np.testing.assert_array_equal(before, after)  # frozen: exactly the source's
    assert tuned.encoder.trainable is False
    assert not np.array_equal(source.decoder.get_weights()[0], tuned.decoder.get_weights()[0])


def test_train_init_from_refuses_another_architecture_and_freeze_without_init(
    digits_and_model, capsys, tmp_path
):
    folder, _ = digits_and_model
    code, _, err = run(
        capsys, "train", "--model", "dense", "--code-size", "4", "--dataset",
        folder / "digits.npy", "--epochs", "0", "--init-from", folder / "dense.npz",
        "--out", tmp_path / "m.npz",
    )  # fmt: skip
    assert code == 1 and "same architecture" in err and "(784, 4)" in err
    code, _, err = run(
        capsys, "train", "--dataset", folder / "digits.npy", "--freeze-encoder",
        "--out", tmp_path / "m.npz",
    )  # fmt: skip
    assert code == 2 and "--freeze-encoder needs --init-from" in err
