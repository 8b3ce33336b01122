"""What the applications share: data slices, training with progress, tables and figures."""

from __future__ import annotations

import functools
import os
import time
from pathlib import Path

import numpy as np

import nn_core as nn

from ..conv import ConvAutoencoder

FIGURE_DPI = 90  # small PNGs for the README gallery
BATCH_SIZE = 128
OPTIMIZER = "Adam(learning_rate=1e-3)"


def command(name) -> str:
    return f"python -m autoencoders report --only {name}"


# ---------------------------------------------------------------------------------- data
@functools.lru_cache(maxsize=2)
def _load(dataset):
    if dataset == "mnist":
        from nn_core.datasets import mnist

        return mnist.load_data()
    from nn_core.datasets import fashion_mnist

    return fashion_mnist.load_data(download=False)


def load_images(dataset, split, count=None):
    """(images (N, 28, 28) float32 in [0, 1], labels (N,) int64): the first ``count`` of a split.

    dataset: "mnist" or "fashion-mnist"; split: "train" or "test". The first images of
    each split are used, so quick and full runs see nested slices.
    """
    (x_train, y_train), (x_test, y_test) = _load(dataset)
    images, labels = (x_train, y_train) if split == "train" else (x_test, y_test)
    count = len(images) if count is None else min(count, len(images))
    return (images[:count] / np.float32(255)).astype(np.float32), labels[:count].astype(np.int64)


def fashion_available() -> bool:
    """Whether Fashion-MNIST's files are found locally (no download is attempted)."""
    try:
        _load("fashion-mnist")
    except (OSError, ValueError):  # FileNotFoundError, DatasetFileError
        return False
    return True


FASHION_MISSING_NOTE = (
    "Fashion-MNIST was not found locally (install Debian's dataset-fashion-mnist or put "
    "the files in $NN_CORE_DATA/fashion-mnist/), so its part was skipped."
)


# ---------------------------------------------------------------------------------- progress
class Tracker:
    """Turns the work of one application into calls progress(stage, fraction of the whole).

    ``total``: the planned work in arbitrary units; ``stage(name, units)`` starts the next
    piece (closing the previous one) and returns update(fraction_of_this_piece).
    Fractions only grow and reach 1.0 at ``finish``. ``progress`` may be None.
    """

    def __init__(self, progress, total):
        self.progress, self.total = progress, float(total)
        self.done, self.current = 0.0, 0.0
        self.started = time.perf_counter()

    def _report(self, stage, fraction):
        if self.progress is not None:
            self.progress(stage, min(1.0, fraction))

    def stage(self, name, units=1.0):
        self.done += self.current
        self.current = float(units)
        base = self.done
        self._report(name, base / self.total)

        def update(fraction):
            self._report(name, (base + fraction * self.current) / self.total)

        return update

    def finish(self) -> float:
        """Report completion; returns the seconds since the tracker was made."""
        self._report("done", 1.0)
        return time.perf_counter() - self.started


class _ProgressCallback(nn.callbacks.Callback):
    """Reports the fraction of a training's batches done, after each batch."""

    def __init__(self, update, epochs, steps, first_epoch=0):
        super().__init__()
        self.update, self.epochs, self.steps = update, epochs, steps
        self.first_epoch = self.epoch = first_epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = self.first_epoch + epoch

    def on_batch_end(self, batch, logs=None):
        self.update((self.epoch * self.steps + batch + 1) / (self.epochs * self.steps))


def train(model, x, y=None, *, epochs, update=None, batch_size=BATCH_SIZE, loss=None):
    """Compile ``model`` (an Autoencoder) with Adam(1e-3), fit it silently; returns it.

    x: the inputs (N, ...), or a callable epoch -> inputs (N, ...) giving fresh inputs
    each epoch (new noise, new watermark positions) for the same targets y.
    ``update``: a ``Tracker.stage`` callable told each batch's progress.
    """
    model.compile(optimizer="adam", loss=loss)
    fresh_inputs = x if callable(x) else None
    steps = -(-len(y if fresh_inputs else x) // batch_size)
    # Fresh inputs: one fit per epoch (the optimizer's state carries over between fits).
    runs = [(0, epochs)] if fresh_inputs is None else [(epoch, 1) for epoch in range(epochs)]
    for first_epoch, epochs_now in runs:
        callbacks = []
        if update is not None:
            callbacks.append(_ProgressCallback(update, epochs, steps, first_epoch))
        inputs = x if fresh_inputs is None else fresh_inputs(first_epoch)
        model.fit(
            inputs, y, epochs=epochs_now, batch_size=batch_size, callbacks=callbacks, verbose=0
        )
    return model


def conv_image_model(input_channels=1, output_channels=1, filters=(32, 32), seed=0):
    """A 28 x 28 image-to-image conv autoencoder (N, 28, 28, in) -> (N, 28, 28, out).

    ``ConvAutoencoder``'s layers (``conv_layers``: Conv2D 3x3 relu + MaxPooling2D per
    entry of ``filters``, mirrored with UpSampling2D) with a sigmoid output of
    ``output_channels``. filters (32, 32) is the Keras blog's denoiser: a 7 x 7 x 32 code.
    A ``ConvAutoencoder``, so it saves and loads like one.
    """
    return ConvAutoencoder(
        (28, 28, input_channels), filters, output_channels=output_channels, seed=seed
    )


def channels_last(images):
    """(N, H, W) -> (N, H, W, 1) float32, for the conv models."""
    images = np.asarray(images, dtype=np.float32)
    return images[..., None] if images.ndim == 3 else images


# ---------------------------------------------------------------------------------- output
def markdown_table(headers, rows) -> str:
    """A GitHub-flavoured Markdown table; numbers in ``rows`` are written as given (str)."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(["---"] * len(headers)) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def settings_line(**settings) -> str:
    """'*Settings:* a = 1, b = 2.' under a table: what produced its numbers."""
    return "\n\n*Settings:* " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in settings.items())


def result(name, title, metrics, table_markdown, figures, seconds):
    """The dict every ``run`` returns (see ``autoencoders.applications``)."""
    metrics = {key: float(value) for key, value in metrics.items()}
    metrics["seconds"] = round(float(seconds), 2)
    return {
        "name": name,
        "title": title,
        "metrics": metrics,
        "table_markdown": table_markdown + f"\n\n*Run time:* {seconds:.1f} s.",
        "figures": list(figures),
        "command": command(name),
    }


def output_dir(out_dir) -> Path:
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend (imported only when drawing)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, out_dir, filename) -> str:
    """Write ``figure`` as out_dir/filename (PNG, FIGURE_DPI); returns filename (relative)."""
    plt = pyplot()
    figure.savefig(os.path.join(out_dir, filename), dpi=FIGURE_DPI)
    plt.close(figure)
    return filename


def image_rows_figure(rows, row_labels, column_titles=None, frame_colours=None, cell=0.75):
    """A grid of images: rows[r][c] is an (H, W) grey or (H, W, 3) image; returns the figure.

    frame_colours: optional rows x columns of matplotlib colours (None: no frame).
    """
    plt = pyplot()
    n_rows, n_columns = len(rows), max(len(row) for row in rows)
    figure, axes = plt.subplots(
        n_rows,
        n_columns,
        figsize=(n_columns * cell + 0.9, n_rows * cell + (0.3 if column_titles else 0.1)),
        squeeze=False,
    )
    for r, row in enumerate(rows):
        for c in range(n_columns):
            axis = axes[r, c]
            axis.set_xticks([])
            axis.set_yticks([])
            if c >= len(row):
                axis.axis("off")
                continue
            image = np.clip(np.asarray(row[c]), 0, 1)
            axis.imshow(image, cmap=None if image.ndim == 3 else "gray", vmin=0, vmax=1)
            colour = None if frame_colours is None else frame_colours[r][c]
            for spine in axis.spines.values():
                spine.set_visible(colour is not None)
                if colour is not None:
                    spine.set_color(colour)
                    spine.set_linewidth(2.5)
        axes[r, 0].set_ylabel(row_labels[r], rotation=0, ha="right", va="center", fontsize=8)
    if column_titles:
        for c, title in enumerate(column_titles):
            axes[0, c].set_title(title, fontsize=7)
    figure.tight_layout(pad=0.2, h_pad=0.15, w_pad=0.15)
    return figure


def fmt(value, digits=3) -> str:
    return f"{value:.{digits}f}"
