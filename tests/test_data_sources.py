"""Data larger than memory (issue 19): ``fit``, ``evaluate`` and ``predict`` read memory-
mapped arrays and ``nn.data.Dataset`` sources batch by batch, and training from them ends
with weights bit-identical to training from the same array in memory, same seed."""

import os
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from test_docs import run_markdown

import nn_core as nn
from autoencoders import Autoencoder, DenoisingAutoencoder, DenseAutoencoder
from autoencoders.cli import main, png_folder
from autoencoders.cli.common import CliError
from autoencoders.cli.png_folder import PNGFolder
from autoencoders.imageio import write_png
from nn_core import kernels

L = nn.layers


def memory_map(tmp_path, array, name="x.npy"):
    path = tmp_path / name
    np.save(path, array)
    mapped = np.load(path, mmap_mode="r")
    assert isinstance(mapped, np.memmap)
    return mapped


def images(count=100, features=12, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).random((count, features)).astype(dtype)


def classifier(seed=3):
    model = nn.Sequential(
        [L.Dense(8, activation="relu"), L.Dropout(0.2), L.Dense(3, activation="softmax")],
        seed=seed,
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def weights_equal(first, second):
    return all(np.array_equal(a, b) for a, b in zip(first.get_weights(), second.get_weights()))


class Batches(nn.data.Dataset):
    """A hand-written source: consecutive batches, counting its ``on_epoch_end`` calls."""

    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size
        self.epochs_ended = 0

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, index):
        part = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return self.x[part], self.y[part]

    def on_epoch_end(self):
        self.epochs_ended += 1


@pytest.mark.parametrize("stored", [np.float32, np.float64, np.uint8])
def test_sequential_from_a_memory_map_trains_to_identical_weights(tmp_path, stored):
    x = images(101) if stored != np.uint8 else (images(101) * 255).astype(np.uint8)
    x = x.astype(stored)
    labels = np.random.default_rng(1).integers(0, 3, 101)
    in_memory, mapped = classifier(), classifier()
    history = in_memory.fit(x, labels, epochs=3, batch_size=16, shuffle=True, verbose=0)
    mapped_history = mapped.fit(
        memory_map(tmp_path, x),
        memory_map(tmp_path, labels, "y.npy"),
        epochs=3,
        batch_size=16,
        shuffle=True,
        verbose=0,
    )
    assert weights_equal(in_memory, mapped)
    assert history.history == mapped_history.history
    untrained = classifier()
    untrained.build((12,))
    assert not weights_equal(in_memory, untrained)  # it trained


def test_autoencoder_from_a_memory_map_trains_to_identical_weights(tmp_path):
    x, x_val = images(90, 16), images(20, 16, seed=5)
    models = [DenoisingAutoencoder(16, code_size=4, seed=2).build() for _ in range(2)]
    for model in models:
        model.compile()
    histories = [
        models[0].fit(x, epochs=2, batch_size=32, validation_data=x_val, verbose=0),
        models[1].fit(
            memory_map(tmp_path, x),
            epochs=2,
            batch_size=32,
            validation_data=memory_map(tmp_path, x_val, "val.npy"),
            verbose=0,
        ),
    ]
    assert weights_equal(models[0].model, models[1].model)
    assert histories[0].history == histories[1].history
    assert "val_loss" in histories[1].history


@pytest.mark.parametrize("kind", ["sequential", "autoencoder"])
def test_array_dataset_with_the_models_generator_trains_to_identical_weights(kind):
    x = images(70, 10)
    if kind == "sequential":
        in_memory, streamed = classifier(), classifier()
        labels = np.random.default_rng(1).integers(0, 3, 70)
        in_memory.fit(x, labels, epochs=3, batch_size=16, verbose=0)
        dataset = nn.data.ArrayDataset(x, labels, batch_size=16, seed=streamed.rng)
        streamed.fit(dataset, epochs=3, verbose=0)
    else:
        in_memory, streamed = (DenseAutoencoder(10, code_size=3, seed=4).build() for _ in "ab")
        in_memory.compile(), streamed.compile()
        in_memory.fit(x, epochs=3, batch_size=16, verbose=0)
        streamed.fit(nn.data.ArrayDataset(x, batch_size=16, seed=streamed.model.rng), epochs=3)
        in_memory, streamed = in_memory.model, streamed.model
    assert weights_equal(in_memory, streamed)


def test_a_hand_written_dataset_trains_like_unshuffled_arrays_and_ends_each_epoch():
    x, y = images(50, 6), images(50, 2, seed=9)
    models = []
    for _ in range(2):
        model = nn.Sequential([L.Dense(5, activation="tanh"), L.Dense(2)], seed=0)
        models.append(model.compile(optimizer="sgd", loss="mse"))
    models[0].fit(x, y, epochs=4, batch_size=8, shuffle=False, verbose=0)
    source = Batches(x, y, 8)
    models[1].fit(source, epochs=4, verbose=0, validation_data=Batches(x[:9], y[:9], 4))
    assert weights_equal(*models)
    assert source.epochs_ended == 4


def test_unbuilt_model_builds_from_a_dataset_without_drawing_its_order():
    x = images(40, 6)
    first, second = (nn.Sequential([L.Dense(6, activation="sigmoid")], seed=1) for _ in "ab")
    first.compile(optimizer="adam", loss="mse").fit(x, x, epochs=2, batch_size=8, verbose=0)
    second.compile(optimizer="adam", loss="mse")
    second.fit(nn.data.ArrayDataset(x, batch_size=8, seed=second.rng), epochs=2, verbose=0)
    assert weights_equal(first, second)


def test_evaluate_and_predict_from_a_memory_map_and_a_dataset_equal_the_arrays(tmp_path):
    x, labels = images(45, 12), np.random.default_rng(1).integers(0, 3, 45)
    model = classifier()
    model.fit(x, labels, epochs=1, batch_size=16, verbose=0)
    expected = model.evaluate(x, labels, batch_size=10)
    mapped_x, mapped_y = memory_map(tmp_path, x), memory_map(tmp_path, labels, "y.npy")
    assert model.evaluate(mapped_x, mapped_y, batch_size=10) == expected
    source = nn.data.ArrayDataset(x, labels, batch_size=10, shuffle=False)
    assert model.evaluate(source) == expected
    predictions = model.predict(x, batch_size=10)
    assert np.array_equal(model.predict(mapped_x, batch_size=10), predictions)
    assert np.array_equal(model.predict(source), predictions)
    only_inputs = nn.data.ArrayDataset(x, batch_size=10, shuffle=False)
    assert np.array_equal(model.predict(only_inputs), predictions)


def test_array_dataset_shuffles_deterministically_and_anew_each_epoch():
    x = np.arange(20)[:, None]
    orders = []
    for _ in range(2):
        dataset = nn.data.ArrayDataset(x, batch_size=6, seed=11)
        epochs = []
        for _ in range(2):
            epochs.append(np.concatenate([dataset[i][0][:, 0] for i in range(len(dataset))]))
            dataset.on_epoch_end()
        orders.append(epochs)
    assert len(dataset) == 4
    assert np.array_equal(orders[0][0], orders[1][0]) and np.array_equal(*[o[1] for o in orders])
    assert not np.array_equal(orders[0][0], orders[0][1])
    assert sorted(orders[0][0]) == list(range(20))
    batch_x, batch_y = dataset[0]
    assert batch_x is batch_y  # y=None: the targets are the inputs


def test_fit_on_a_memory_map_does_not_copy_it_whole(tmp_path):
    previous = kernels.backend_name()
    kernels.set_backend("numpy")  # NumPy kernels allocate through NumPy: tracemalloc sees all
    try:
        x = np.lib.format.open_memmap(
            tmp_path / "big.npy", mode="w+", dtype=np.uint8, shape=(25000, 784)
        )
        x[:] = np.random.default_rng(0).integers(0, 256, x.shape, dtype=np.uint8)
        x.flush()
        x = np.load(tmp_path / "big.npy", mmap_mode="r")
        model = nn.Sequential([L.Dense(4, activation="relu"), L.Dense(784)], seed=0)
        model.compile(optimizer="sgd", loss="mse")
        tracemalloc.start()
        model.fit(x, x, epochs=1, batch_size=512, verbose=0)
        model.evaluate(x, x, batch_size=512)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    finally:
        kernels.set_backend(previous)
    # The float32 copy would be 78 MB; one batch and its temporaries are a few MB.
    assert peak < 0.15 * x.size * 4, f"peak {peak / 2**20:.1f} MiB"


def test_nan_in_a_memory_mapped_batch_names_the_batch_and_the_sample(tmp_path):
    x = images(40, 4)
    x[33, 2] = np.nan
    model = nn.Sequential([L.Dense(4)], seed=0).compile(optimizer="sgd", loss="mse")
    mapped = memory_map(tmp_path, x)
    with pytest.raises(ValueError, match=r"x contains NaN or Inf in batch 3 .*sample 33"):
        model.fit(mapped, mapped, batch_size=10, shuffle=False, verbose=0)
    with pytest.raises(ValueError, match=r"batch 3 .*sample 33"):
        model.predict(mapped, batch_size=10)


def test_bad_data_sources_give_clear_errors():
    x, y = images(20, 4), images(20, 2)
    model = nn.Sequential([L.Dense(2)], seed=0).compile(optimizer="sgd", loss="mse")

    class Empty(Batches):
        def __len__(self):
            return 0

    with pytest.raises(ValueError, match="at least one batch.*returned 0"):
        model.fit(Empty(x, y, 4), verbose=0)

    class ChangingShape(Batches):
        def __getitem__(self, index):
            x_batch, y_batch = super().__getitem__(index)
            return (x_batch[:, :3] if index == 2 else x_batch), y_batch

    with pytest.raises(ValueError, match=r"expects x of batch 2 of x of shape \(N, 4\)"):
        model.fit(ChangingShape(x, y, 4), verbose=0)

    class Poisoned(Batches):
        def __getitem__(self, index):
            x_batch, y_batch = super().__getitem__(index)
            return (x_batch + np.inf if index == 1 else x_batch), y_batch

    with pytest.raises(ValueError, match="x of batch 1 of x contains NaN or Inf"):
        model.fit(Poisoned(x, y, 4), verbose=0)

    class InputsOnly(Batches):
        def __getitem__(self, index):
            return super().__getitem__(index)[0]

    with pytest.raises(ValueError, match=r"must return \(x, y\) pairs, got ndarray"):
        model.fit(InputsOnly(x, y, 4), verbose=0)
    with pytest.raises(ValueError, match="y must be None when x is a data source"):
        model.fit(Batches(x, y, 4), y, verbose=0)
    with pytest.raises(ValueError, match="x_val and y_val must hold the same number"):
        model.fit(x, y, validation_data=(x, y[:5]), verbose=0)
    with pytest.raises(ValueError, match="ArrayDataset: y must hold 20 samples"):
        nn.data.ArrayDataset(x, y[:3])


def test_divergence_and_resume_work_from_a_memory_map(tmp_path):
    x = images(64, 6)
    mapped = memory_map(tmp_path, x)
    model = nn.Sequential([L.Dense(6)], seed=0)
    model.compile(optimizer=nn.optimizers.SGD(learning_rate=1e30), loss="mse")
    with pytest.raises(nn.TrainingDivergedError, match="epoch 1, batch"):
        model.fit(mapped, mapped, epochs=2, batch_size=16, verbose=0)
    assert all(np.isfinite(w).all() for w in model.get_weights())

    def run(stop_after):
        model = nn.Sequential([L.Dense(6, activation="sigmoid"), L.Dropout(0.3)], seed=5)
        model.compile(optimizer="adam", loss="mse")

        class Stop(nn.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                if epoch == stop_after:
                    raise KeyboardInterrupt

        backup = nn.callbacks.BackupAndRestore(tmp_path / "backup")
        try:
            model.fit(
                mapped, mapped, epochs=4, batch_size=16, callbacks=[backup, Stop()], verbose=0
            )
        except KeyboardInterrupt:
            return None
        return model

    assert run(stop_after=1) is None
    resumed = run(stop_after=-1)
    assert os.path.exists(tmp_path / "backup") is False
    assert weights_equal(resumed, run(stop_after=-1))


# ---------------------------------------------------------------------------- CLI folders
@pytest.mark.parametrize("model", ["dense", "conv"])
def test_cli_streams_a_png_folder_and_trains_as_from_the_same_images_in_memory(
    tmp_path, monkeypatch, model
):
    pixels = np.random.default_rng(0).integers(0, 256, (37, 8, 8), dtype=np.uint8)
    for i, image in enumerate(pixels):
        write_png(tmp_path / "images" / f"{i:03d}.png", image)
    np.save(tmp_path / "images.npy", pixels)
    decoded = []
    real_read = png_folder._read_png
    monkeypatch.setattr(png_folder, "_read_png", lambda p: decoded.append(p) or real_read(p))
    common = ["--model", model, "--epochs", "2", "--batch-size", "8", "--quiet"]
    if model == "conv":
        common += ["--hidden-sizes", "2", "2"]
    for name in ("images", "images.npy"):
        arguments = ["train", "--dataset", tmp_path / name, "--out", tmp_path / f"{name}.npz"]
        assert main([str(a) for a in arguments + common]) == 0
    streamed = Autoencoder.load(tmp_path / "images.npz")
    in_memory = Autoencoder.load(tmp_path / "images.npy.npz")
    assert weights_equal(streamed.model, in_memory.model)
    # The 33 training images decoded once an epoch, the 4 validation images at each
    # epoch's end, for the final loss and for the final MSE and PSNR: batch by batch.
    assert len(decoded) == 2 * 33 + 2 * 4 + 4 + 4


def test_cli_trains_on_a_whole_png_folder_and_scores_it_when_nothing_is_held_out(tmp_path, capsys):
    pixels = np.random.default_rng(1).integers(0, 256, (12, 6, 6), dtype=np.uint8)
    for i, image in enumerate(pixels):
        write_png(tmp_path / "images" / f"{i:02d}.png", image)
    arguments = ["train", "--dataset", tmp_path / "images", "--out", tmp_path / "m.npz"]
    options = ["--model", "dense", "--epochs", "1", "--batch-size", "4", "--quiet"]
    assert main([str(a) for a in arguments + options + ["--validation-split", "0"]]) == 0
    assert "training metrics on 12 images" in capsys.readouterr().out


def test_cli_takes_a_folder_named_like_a_dataset_as_the_folder(tmp_path, monkeypatch, capsys):
    # ./mnist is the user's folder of PNGs: trained on and scored on, not MNIST's test set.
    pixels = np.random.default_rng(2).integers(0, 256, (20, 5, 5), dtype=np.uint8)
    for i, image in enumerate(pixels):
        write_png(tmp_path / "mnist" / f"{i:02d}.png", image)
    monkeypatch.chdir(tmp_path)
    options = ["--model", "dense", "--epochs", "1", "--batch-size", "4", "--quiet"]
    assert main(["train", "--dataset", "mnist", "--out", "m.npz", *options]) == 0
    assert "validation metrics on 2 images" in capsys.readouterr().out


def test_cli_says_one_image_for_one_held_out_image(tmp_path, capsys):
    pixels = np.random.default_rng(3).integers(0, 256, (10, 5, 5), dtype=np.uint8)
    for i, image in enumerate(pixels):
        write_png(tmp_path / "images" / f"{i:02d}.png", image)
    arguments = ["train", "--dataset", tmp_path / "images", "--out", tmp_path / "m.npz"]
    options = ["--model", "dense", "--epochs", "1", "--batch-size", "4", "--quiet"]
    assert main([str(a) for a in arguments + options]) == 0  # 10% of 10: one image
    assert "validation metrics on 1 image after 1 epoch" in capsys.readouterr().out


def test_png_folder_batches_decode_one_batch_and_check_sizes(tmp_path):
    write_png(tmp_path / "a.png", np.zeros((4, 5), np.uint8))
    write_png(tmp_path / "b.png", np.full((4, 5, 3), 255, np.uint8))
    folder = PNGFolder.scan(str(tmp_path))
    assert folder.image_shape == (4, 5, 3)  # RGB as soon as one image is
    x, targets = folder.batches(0, 2, 1, (60,), shuffle=False)[1]
    assert x is targets and x.shape == (1, 60) and x.dtype == np.float32 and x.min() == 1.0
    write_png(tmp_path / "c.png", np.zeros((5, 5), np.uint8))
    with pytest.raises(CliError, match="same size: a.png is 5x4, c.png is 5x5"):
        PNGFolder.scan(str(tmp_path))


def test_the_large_data_page_runs():
    namespace = run_markdown(Path(__file__).resolve().parents[1] / "docs" / "large_data.md")
    assert namespace["codes"].shape == (1000, 32) and np.isfinite(namespace["loss"])
