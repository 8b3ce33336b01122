"""The command-line tool: every subcommand on 200 MNIST digits, checked against the
Python API; the report against fake applications; exit codes and the messages a user
sees for missing files, wrong image sizes, unknown names and corrupted model files; the
classic command kept as the default; one real ``python -m autoencoders --help``."""

import io
import os
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import nn_core as nn
from autoencoders import (
    Autoencoder,
    ConvAutoencoder,
    DeepAutoencoder,
    DenseAutoencoder,
    VariationalAutoencoder,
    build_classic_autoencoder,
)
from autoencoders.cli import main
from autoencoders.cli.common import ProgressBar, psnr
from autoencoders.cli.data import image_grid, load_dataset
from autoencoders.imageio import read_png, write_png

REPO_ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *arguments):
    """(exit code, stdout, stderr) of the tool run in this process."""
    code = main([str(a) for a in arguments])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder with 200 MNIST training digits as .npy and a dense and a VAE trained 1 epoch."""
    folder = tmp_path_factory.mktemp("cli")
    (x_train, _), _ = nn.datasets.mnist.load_data()
    np.save(folder / "digits.npy", x_train[:200])
    for model, name in (("dense", "dense.npz"), ("variational", "vae.npz")):
        code = main(
            ["train", "--model", model, "--dataset", str(folder / "digits.npy")]
            + ["--epochs", "1", "--quiet", "--out", str(folder / name)]
        )
        assert code == 0
    return folder


def digits(workspace):
    """The 200 digits as the CLI sees them: float32 (200, 28, 28, 1) in [0, 1]."""
    return np.load(workspace / "digits.npy")[..., None].astype(np.float32) / 255


# ---------------------------------------------------------------------------- train
@pytest.mark.parametrize(
    "model, options, cls, check",
    [
        ("dense", ["--code-size", "16"], DenseAutoencoder, lambda m: m.code_size == 16),
        (
            "deep",
            ["--layers", "2", "--nodes", "40", "--loss", "mse"],
            DeepAutoencoder,
            lambda m: m.hidden_sizes == (40, 40) and m.model.loss.name == "mean_squared_error",
        ),
        (
            "conv",
            ["--hidden-sizes", "4", "4", "--optimizer", "adadelta"],
            ConvAutoencoder,
            lambda m: m.filters == (4, 4) and m.input_shape == (28, 28, 1),
        ),
        ("variational", ["--code-size", "3"], VariationalAutoencoder, lambda m: m.latent_dim == 3),
    ],
)
def test_train_saves_the_model_asked_for(tmp_path, workspace, capsys, model, options, cls, check):
    out = tmp_path / "models" / "m.npz"
    code, stdout, _ = run(
        capsys,
        "train", "--model", model, "--dataset", workspace / "digits.npy", "--epochs", "1",
        "--batch-size", "64", "--validation-split", "0.25", "--out", out, *options,
    )  # fmt: skip
    assert code == 0
    loaded = Autoencoder.load(out)
    assert type(loaded) is cls and check(loaded)
    assert "validation metrics on 50 images after 1 epoch" in stdout and "PSNR" in stdout
    assert f"wrote {out}" in stdout
    assert (tmp_path / "models" / "m_loss.png").exists()


def test_train_reports_the_metrics_of_the_saved_model(tmp_path, workspace, capsys):
    out = tmp_path / "m.npz"
    _, stdout, _ = run(
        capsys, "train", "--dataset", workspace / "digits.npy", "--epochs", "1",
        "--learning-rate", "0.01", "--out", out,
    )  # fmt: skip
    model = Autoencoder.load(out)
    assert model.model.optimizer.get_config()["learning_rate"] == pytest.approx(0.01)
    x_val = digits(workspace)[180:].reshape(20, -1)
    expected = np.mean(per_image_psnr(x_val, model.predict(x_val)))
    assert f"PSNR {expected:.2f} dB" in stdout
    assert "epoch 1/1 loss" in stdout  # not a terminal: one line per epoch


# ---------------------------------------------------------------------------- inference
def per_image_psnr(clean, other):
    """10 log10(1 / MSE) of each image, in dB, computed here independently of the CLI."""
    mse = ((clean.reshape(len(clean), -1) - other.reshape(len(other), -1)) ** 2).mean(axis=1)
    return 10 * np.log10(1 / mse)


def test_psnr_against_hand_computed_values():
    clean = np.zeros((2, 4, 4, 1))
    other = np.stack([np.full((4, 4, 1), 0.1), np.full((4, 4, 1), 0.01)])
    np.testing.assert_allclose(psnr(clean, other), [20.0, 40.0])  # MSE 1e-2 and 1e-4
    assert psnr(clean, clean).tolist() == [100.0, 100.0]  # exact: capped, not infinite


def test_evaluate_prints_loss_mse_and_psnr(workspace, capsys):
    code, stdout, _ = run(
        capsys, "evaluate", workspace / "dense.npz", "--dataset", workspace / "digits.npy"
    )
    assert code == 0
    model = Autoencoder.load(workspace / "dense.npz")
    x = digits(workspace).reshape(200, -1)
    reconstructed = model.predict(x)
    assert f"loss (binary_crossentropy): {model.evaluate(x):.5f}" in stdout
    assert f"MSE:  {np.mean((x - reconstructed) ** 2):.5f}" in stdout
    assert f"PSNR: {np.mean(per_image_psnr(x, reconstructed)):.2f} dB" in stdout


def test_reconstruct_writes_originals_above_reconstructions(tmp_path, workspace, capsys):
    out = tmp_path / "grid.png"
    code, _, _ = run(
        capsys, "reconstruct", workspace / "dense.npz", "--dataset", workspace / "digits.npy",
        "--count", "4", "--start", "10", "--out", out,
    )  # fmt: skip
    assert code == 0
    grid = read_png(out)
    scale, gap = 2, 2  # 28-pixel digits are drawn twice as large
    cell = 28 * scale + gap
    assert grid.shape == (2 * cell + gap, 4 * cell + gap)
    model = Autoencoder.load(workspace / "dense.npz")
    x = digits(workspace)[10:14]
    top_left = grid[gap : gap + 56 : scale, gap : gap + 56 : scale]
    assert np.array_equal(top_left, np.rint(x[0, :, :, 0] * 255))
    below = grid[cell + gap : cell + gap + 56 : scale, gap : gap + 56 : scale]
    expected = np.rint(model.predict(x.reshape(4, -1))[0].reshape(28, 28) * 255)
    assert np.abs(below.astype(int) - expected).max() <= 1


def test_encode_writes_the_codes(tmp_path, workspace, capsys):
    out = tmp_path / "codes.npy"
    code, stdout, _ = run(
        capsys, "encode", workspace / "dense.npz", "--dataset", workspace / "digits.npy",
        "--out", out,
    )  # fmt: skip
    assert code == 0 and "(200, 32)" in stdout
    model = Autoencoder.load(workspace / "dense.npz")
    expected = model.encode(digits(workspace).reshape(200, -1))
    np.testing.assert_allclose(np.load(out), expected, rtol=1e-6, atol=1e-6)


def test_search_finds_the_nearest_codes_and_leaves_the_query_out(tmp_path, workspace, capsys):
    out = tmp_path / "search.png"
    code, stdout, _ = run(
        capsys, "search", workspace / "dense.npz", "--dataset", workspace / "digits.npy",
        "--query-index", "3", "7", "--top", "4", "--out", out,
    )  # fmt: skip
    assert code == 0
    codes = Autoencoder.load(workspace / "dense.npz").encode(digits(workspace).reshape(200, -1))
    lines = [line for line in stdout.splitlines() if line.startswith("query")]
    for line, query in zip(lines, (3, 7)):
        distances = np.linalg.norm(codes - codes[query], axis=1)
        distances[query] = np.inf
        expected = np.argsort(distances, kind="stable")[:4]
        found = [int(hit.split(" (")[0]) for hit in line.split(": ", 1)[1].split("), ")]
        assert found == expected.tolist(), line
        assert f"({distances[expected[0]]:.3f})" in line
    assert read_png(out).shape[:2] == (2 * 58 + 2, 5 * 58 + 2)


def test_search_with_query_files(tmp_path, workspace, capsys):
    write_png(tmp_path / "q.png", digits(workspace)[5])
    code, stdout, _ = run(
        capsys, "search", workspace / "dense.npz", "--dataset", workspace / "digits.npy",
        "--query", tmp_path / "q.png", "--top", "1", "--out", tmp_path / "s.png",
    )  # fmt: skip
    assert code == 0
    assert stdout.startswith("query q: 5 (0.000)")  # the same digit, as a PNG file


def test_denoise_adds_noise_and_writes_the_grid_and_images(tmp_path, workspace, capsys):
    code, stdout, _ = run(
        capsys, "denoise", workspace / "dense.npz", "--dataset", workspace / "digits.npy",
        "--count", "3", "--out", tmp_path / "d.png", "--out-dir", tmp_path / "clean",
    )  # fmt: skip
    assert code == 0 and "gaussian noise 0.5" in stdout
    assert sorted(os.listdir(tmp_path / "clean")) == ["00000.png", "00001.png", "00002.png"]
    assert read_png(tmp_path / "d.png").shape == (3 * 58 + 2, 3 * 58 + 2)  # clean/noisy/denoised


def test_denoise_given_noisy_images_from_a_folder(tmp_path, workspace, capsys):
    noisy = np.clip(digits(workspace)[:3] + 0.3, 0, 1)
    for i, image in enumerate(noisy):
        write_png(tmp_path / "noisy" / f"scan_{i}.png", image)
    code, _, _ = run(
        capsys, "denoise", workspace / "dense.npz", "--dataset", tmp_path / "noisy",
        "--noise", "none", "--out", tmp_path / "d.png", "--out-dir", tmp_path / "out",
    )  # fmt: skip
    assert code == 0
    model = Autoencoder.load(workspace / "dense.npz")
    read_back = np.stack([read_png(tmp_path / "noisy" / f"scan_{i}.png") for i in range(3)])
    expected = model.predict(read_back.reshape(3, -1).astype(np.float32) / 255)
    denoised = read_png(tmp_path / "out" / "scan_1.png")
    assert np.abs(denoised.astype(int) - np.rint(expected[1].reshape(28, 28) * 255)).max() <= 1


def test_sample_writes_a_grid_of_vae_samples(tmp_path, workspace, capsys):
    code, stdout, _ = run(
        capsys, "sample", workspace / "vae.npz", "--count", "6", "--columns", "3",
        "--out", tmp_path / "s.png", "--npy", tmp_path / "s.npy",
    )  # fmt: skip
    assert code == 0 and "6 images" in stdout
    assert read_png(tmp_path / "s.png").shape == (2 * 58 + 2, 3 * 58 + 2)
    expected = Autoencoder.load(workspace / "vae.npz").sample(6, seed=0)
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), expected, rtol=1e-6)
    assert run(capsys, "sample", workspace / "vae.npz", "--traversal", "--columns", "4",
               "--out", tmp_path / "t.png")[0] == 0  # fmt: skip
    assert read_png(tmp_path / "t.png").shape == (4 * 58 + 2, 4 * 58 + 2)


def test_the_classic_model_file_is_accepted_too(tmp_path, workspace, capsys):
    # `python -m autoencoders` saves a plain nn_core Sequential [encoder, decoder].
    autoencoder, encoder, _ = build_classic_autoencoder(code_size=8)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    autoencoder.save(tmp_path / "classic.npz")
    code, stdout, _ = run(
        capsys, "encode", tmp_path / "classic.npz", "--dataset", workspace / "digits.npy",
        "--out", tmp_path / "codes.npy",
    )  # fmt: skip
    assert code == 0
    expected = encoder.predict(digits(workspace).reshape(200, -1))
    np.testing.assert_allclose(np.load(tmp_path / "codes.npy"), expected, rtol=1e-6, atol=1e-6)


def test_sample_needs_a_variational_model(workspace, capsys):
    code, _, stderr = run(capsys, "sample", workspace / "dense.npz")
    assert code == 1
    assert "holds a DenseAutoencoder" in stderr and "--model variational" in stderr


# ---------------------------------------------------------------------------- errors
def test_a_missing_model_file(tmp_path, workspace, capsys):
    code, _, stderr = run(capsys, "evaluate", tmp_path / "nope.npz")
    assert code == 1
    assert "no model file at" in stderr and "autoencoders train" in stderr
    assert "Traceback" not in stderr


def test_a_missing_dataset_file(workspace, capsys):
    code, _, stderr = run(
        capsys, "evaluate", workspace / "dense.npz", "--dataset", workspace / "none.npy"
    )
    assert code == 1 and "no such file or folder" in stderr


def test_a_wrong_image_size_names_what_was_expected_and_what_came(tmp_path, workspace, capsys):
    np.save(tmp_path / "big.npy", np.zeros((2, 32, 32, 3), np.uint8))
    code, _, stderr = run(
        capsys, "reconstruct", workspace / "dense.npz", "--dataset", tmp_path / "big.npy"
    )
    assert code == 1
    assert "wrong image size" in stderr
    assert "expects flat vectors of 784 values" in stderr
    assert "got 32x32 RGB images (3072 values)" in stderr


def test_an_unknown_model_suggests_the_closest_name(workspace, capsys):
    code, _, stderr = run(capsys, "train", "--model", "convv", "--dataset", "digits.npy")
    assert code == 2
    assert "unknown model 'convv'" in stderr and "did you mean 'conv'" in stderr


def test_unknown_command_and_dataset_names_suggest_the_closest(capsys):
    code, _, stderr = run(capsys, "evalute", "m.npz")
    assert code == 2 and "did you mean 'evaluate'" in stderr
    code, _, stderr = run(capsys, "train", "--dataset", "fashion-mnst")
    assert code == 2 and "did you mean 'fashion-mnist'" in stderr


def test_a_corrupted_model_file(tmp_path, workspace, capsys):
    data = (workspace / "dense.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    code, _, stderr = run(capsys, "encode", tmp_path / "cut.npz", "--dataset", "digits.npy")
    assert code == 1
    assert "cannot read the model file" in stderr and "corrupted" in stderr
    assert "Traceback" not in stderr


def _graph_model(input_list=False, output_list=False, heads=1):
    """A compiled graph nn.Model from (784,) images to ``heads`` Dense(784) outputs, made
    with a list of its input / outputs when asked."""
    x = nn.Input((784,), name="pixels")
    code = nn.layers.Dense(8, activation="relu")(x)
    outputs = [nn.layers.Dense(784, activation="sigmoid")(code) for _ in range(heads)]
    model = nn.Model([x] if input_list else x, outputs if output_list else outputs[0], seed=0)
    model.compile(optimizer="adam", loss="mean_squared_error")
    return model


@pytest.mark.parametrize(
    "input_list, heads, described",
    [(False, 2, "1 input and a list of 2 outputs"), (True, 1, "a list of 1 input and a list")],
)
def test_a_graph_model_of_lists_is_refused_in_the_users_terms(
    tmp_path, capsys, input_list, heads, described
):
    # load_model wrapped any graph Model as an autoencoder: evaluate then died in a
    # traceback on the list its predict returns, reconstruct with a reshape error.
    _graph_model(input_list, output_list=True, heads=heads).save(tmp_path / "graph.npz")
    np.save(tmp_path / "digits.npy", np.zeros((3, 28, 28), np.uint8))
    for command, *out in (("evaluate",), ("reconstruct", "--out", tmp_path / "r.png")):
        code, _, err = run(
            capsys, command, tmp_path / "graph.npz", "--dataset", tmp_path / "digits.npy", *out
        )
        assert code == 1, err
        assert "holds a graph model (Model" in err and described in err
        assert "takes an autoencoder" in err and "Traceback" not in err


def test_a_graph_model_of_one_input_and_one_output_is_taken(tmp_path, capsys):
    # `autoencoders import` writes a graph Model for an ONNX graph that is not a chain.
    model = _graph_model()
    model.save(tmp_path / "graph.npz")
    np.save(tmp_path / "digits.npy", np.full((3, 28, 28), 128, np.uint8))
    code, out, err = run(
        capsys, "evaluate", tmp_path / "graph.npz", "--dataset", tmp_path / "digits.npy"
    )
    assert code == 0, err
    x = np.full((3, 784), 128 / 255, np.float32)
    assert f"loss (mean_squared_error): {model.evaluate(x, x):.5f}" in out


def test_a_sequential_compiled_with_metrics_is_evaluated(tmp_path, capsys):
    # Its evaluate returns [loss, metric]: the loss line failed to format a list.
    model = nn.Sequential([nn.layers.Dense(8), nn.layers.Dense(784, activation="sigmoid")])
    model.compile(optimizer="adam", loss="mean_squared_error", metrics=["mae"])
    model.build((784,))
    model.save(tmp_path / "sequential.npz")
    np.save(tmp_path / "digits.npy", np.full((3, 28, 28), 128, np.uint8))
    code, out, err = run(
        capsys, "evaluate", tmp_path / "sequential.npz", "--dataset", tmp_path / "digits.npy"
    )
    assert code == 0, err
    x = np.full((3, 784), 128 / 255, np.float32)
    assert f"loss (mean_squared_error): {model.evaluate(x, x)[0]:.5f}" in out


def test_usage_errors_exit_2(capsys):
    assert run(capsys, "train", "--epochs", "-1")[0] == 2
    assert run(capsys, "train", "--model", "dense", "--layers", "2")[0] == 2
    code, _, stderr = run(capsys, "search", "m.npz")
    assert code == 2 and "--query" in stderr


def test_dataset_files_are_checked(tmp_path):
    np.save(tmp_path / "floats.npy", np.full((2, 4, 4), 3.0))
    with pytest.raises(Exception, match=r"floats in \[0, 1\]"):
        load_dataset(str(tmp_path / "floats.npy"))
    write_png(tmp_path / "mixed" / "a.png", np.zeros((4, 4), np.uint8))
    write_png(tmp_path / "mixed" / "b.png", np.zeros((5, 4, 3), np.uint8))
    with pytest.raises(Exception, match="same size: a.png is 4x4, b.png is 4x5"):
        load_dataset(str(tmp_path / "mixed"))
    np.save(tmp_path / "flat.npy", np.zeros((3, 784), np.uint8))
    assert load_dataset(str(tmp_path / "flat.npy")).images.shape == (3, 28, 28, 1)


# ---------------------------------------------------------------------------- report
@pytest.fixture
def fake_applications(monkeypatch):
    """A fake autoencoders.applications with two applications; records run_all's calls."""
    calls = []

    def run_all(out_dir, *, only=None, quick=False, seed=0, progress=None):
        calls.append({"only": only, "quick": quick, "seed": seed})
        results = []
        for name in only or ["denoising", "generation"]:
            progress(name, 0.5)
            write_png(Path(out_dir) / "figures" / f"{name}.png", np.eye(4))
            results.append(
                {
                    "name": name,
                    "title": f"The {name} application",
                    "metrics": {"psnr_db": 21.234567, "by_level": {"0.5": 19.0}},
                    "table_markdown": "| method | PSNR |\n|---|---:|\n| `median` | 18.1 |",
                    "figures": [f"figures/{name}.png", "figures/absent.png"],
                    "command": f"autoencoders report --only {name}",
                }
            )
        return results

    module = types.ModuleType("autoencoders.applications")
    module.APPLICATIONS = {"denoising": None, "generation": None, "clustering": None}
    module.run_all = run_all
    monkeypatch.setitem(sys.modules, "autoencoders.applications", module)
    return calls


def test_report_writes_markdown_and_html_with_every_figure_and_table(
    tmp_path, capsys, fake_applications
):
    out = tmp_path / "report"
    code, stdout, _ = run(
        capsys, "report", "--only", "denoising", "generation", "--quick", "--out", out
    )
    assert code == 0
    assert fake_applications == [{"only": ["denoising", "generation"], "quick": True, "seed": 0}]
    markdown = (out / "report.md").read_text()
    assert "## 1. The denoising application" in markdown
    assert "## 2. The generation application" in markdown
    assert "| `median` | 18.1 |" in markdown and "| psnr_db | 21.23 |" in markdown
    assert (
        "(figures/generation.png)" in markdown and "figure missing: figures/absent.png" in markdown
    )
    page = (out / "report.html").read_text()
    assert '<img src="figures/denoising.png"' in page
    assert "<th>method</th>" in page and "<td><code>median</code></td>" in page
    assert "<td>by_level.0.5</td><td>19</td>" in page
    assert "denoising: psnr_db 21.23" in stdout


def test_report_can_embed_the_images(tmp_path, capsys, fake_applications):
    code, _, _ = run(capsys, "report", "--only", "generation", "--embed", "--out", tmp_path)
    assert code == 0
    page = (tmp_path / "report.html").read_text()
    assert 'src="data:image/png;base64,' in page and 'src="figures/' not in page


def test_report_rejects_an_unknown_application(tmp_path, capsys, fake_applications):
    code, _, stderr = run(capsys, "report", "--only", "denoisng", "--out", tmp_path)
    assert code == 2 and "did you mean 'denoising'" in stderr
    assert fake_applications == []


def test_an_application_failing_mid_report_is_one_error_line_naming_it(
    tmp_path, capsys, monkeypatch
):
    # Issue 18: anything but ImportError from the applications ended in a traceback.
    def run_all(out_dir, *, only=None, quick=False, seed=0, progress=None):
        progress("clustering: k-means", 0.2)
        raise RuntimeError("k-means found an empty cluster")

    module = types.ModuleType("autoencoders.applications")
    module.APPLICATIONS, module.run_all = {"clustering": None}, run_all
    monkeypatch.setitem(sys.modules, "autoencoders.applications", module)
    monkeypatch.delenv("AUTOENCODERS_TRACEBACK", raising=False)
    code, _, stderr = run(capsys, "report", "--quick", "--out", tmp_path)
    assert code == 1
    assert stderr.strip().splitlines()[-1] == (
        "autoencoders report: error: clustering: k-means failed: RuntimeError: k-means found "
        "an empty cluster (AUTOENCODERS_TRACEBACK=1 shows where)"
    )
    assert "Traceback" not in stderr


def test_an_applications_package_that_fails_to_import_is_one_error_line(capsys, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def failing_import(name, *args, **kwargs):
        if name.endswith("applications") or (args and args[2] and "applications" in args[2]):
            raise AttributeError("module 'numpy' has no attribute 'float'")
        return real_import(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "autoencoders.applications", raising=False)
    monkeypatch.setattr(builtins, "__import__", failing_import)
    monkeypatch.delenv("AUTOENCODERS_TRACEBACK", raising=False)
    code, _, stderr = run(capsys, "report", "--quick")
    assert code == 1
    assert "the applications package failed to import: AttributeError" in stderr
    assert "Traceback" not in stderr


# ---------------------------------------------------------------------------- plumbing
def test_without_a_command_it_trains_the_classic_model(monkeypatch, capsys):
    calls = []

    def fake_train_classic(**options):
        calls.append(options)
        return {
            "epochs": options["epochs"], "test_binary_crossentropy": 0.1,
            "train_seconds": 1.0, "seconds_per_epoch": 1.0, "files": ["x/model.npz"],
        }  # fmt: skip

    monkeypatch.setattr("autoencoders.classic.train_classic", fake_train_classic)
    assert run(capsys)[0] == 0  # bare `python -m autoencoders`
    assert calls[-1] == {
        "epochs": 50, "code_size": 32, "batch_size": 256, "out": "results/classic",
        "seed": 0, "verbose": 1, "init_output_bias": False,
    }  # fmt: skip
    assert run(capsys, "--epochs", "3", "--code-size", "8", "--out", "o", "--quiet")[0] == 0
    assert calls[-1]["epochs"] == 3 and calls[-1]["code_size"] == 8
    assert calls[-1]["out"] == "o" and calls[-1]["verbose"] == 2
    assert run(capsys, "classic", "--init-output-bias")[0] == 0
    assert calls[-1]["init_output_bias"] is True


def test_progress_bar_draws_only_on_a_terminal():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    stream = Terminal()
    with ProgressBar(10, "work", stream=stream) as bar:
        bar.update(10, "done")
    assert "work [" + "#" * 30 + "] 100% done" in stream.getvalue()
    for quiet, pipe in ((True, Terminal()), (False, io.StringIO())):
        with ProgressBar(10, "work", quiet=quiet, stream=pipe) as bar:
            bar.update(5)
        assert pipe.getvalue() == ""


def test_image_grid_layout():
    rows = [np.zeros((2, 3, 3, 1)), np.ones((1, 3, 3, 1))]
    grid = image_grid(rows, scale=1, gap=1, background=0.5)
    assert grid.shape == (2 * 4 + 1, 2 * 4 + 1, 1)
    assert grid[5:8, 1:4].min() == 1 and grid[5:8, 5:8].max() == 0.5  # short row left blank


def test_python_dash_m_help_runs():
    result = subprocess.run(
        [sys.executable, "-m", "autoencoders", "--help"],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    for command in ("classic", "train", "evaluate", "reconstruct", "denoise", "report"):
        assert command in result.stdout
    assert "examples:" in result.stdout and "Exit codes" in result.stdout


def test_a_text_file_given_as_model_is_described_without_numpys_unpickling_advice(tmp_path, capsys):
    # Issue 18: `autoencoders reconstruct some.npz` on a text file printed NumPy's advice
    # to load it with allow_pickle, ending in a double full stop.
    path = tmp_path / "some.npz"
    path.write_text("not a model\n")
    code, _, err = run(capsys, "reconstruct", path)
    assert code == 1
    assert "is not an nn_core model file: it is a text file" in err
    assert "pickle" not in err and ".." not in err


def test_evaluating_on_a_named_test_split_reads_only_the_test_files(workspace, capsys, monkeypatch):
    # Issue 18: `evaluate --dataset fashion-mnist` loaded (and would download) the training
    # images to evaluate on the test set.
    import nn_core.datasets.mnist as mnist_module

    read = []
    real_load_idx = mnist_module.load_idx
    monkeypatch.setattr(
        mnist_module, "load_idx", lambda path: read.append(Path(path).name) or real_load_idx(path)
    )
    code, out, err = run(capsys, "evaluate", workspace / "dense.npz", "--dataset", "mnist")
    assert code == 0, err
    assert sorted(read) == ["t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"]
