"""What the subcommands share: user errors with exit codes, the progress bar, model files.

Exit codes: 0 success; 2 the command line is wrong (an unknown command, option, model
or application name, an invalid value); 1 the command was understood but could not be
done (a missing or corrupted file, images of the wrong size for the model, training
that diverged).
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TextIO

import numpy as np

import nn_core as nn

from ..base import Autoencoder

USAGE_ERROR = 2
RUNTIME_ERROR = 1
PREDICT_CHUNK = 1024  # images per predict call, so that long predictions show progress


class CliError(Exception):
    """An error in the user's terms: printed as ``error: message``, then exit ``exit_code``."""

    def __init__(self, message: str, exit_code: int = RUNTIME_ERROR):
        super().__init__(message)
        self.exit_code = exit_code


def did_you_mean(name: str, valid_names: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the close matches of ``name`` among ``valid_names``, or ''."""
    close = difflib.get_close_matches(str(name).lower(), [str(v) for v in valid_names], n=2)
    return f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else ""


def unknown_name(kind: str, name: str, valid_names: Sequence[str]) -> CliError:
    """A usage error for an unknown name, listing the valid ones and the close matches."""
    return CliError(
        f"unknown {kind} {name!r}{did_you_mean(name, valid_names)}; "
        f"choose from {', '.join(valid_names)}",
        USAGE_ERROR,
    )


# ---------------------------------------------------------------------------- progress
class ProgressBar:
    """A one-line text bar on stderr, redrawn at most 10 times a second.

    Disabled (draws nothing) when ``quiet`` or when the stream is not a terminal, so
    logs and pipes stay clean. Use as a context manager, or call ``close()``.
    """

    width = 30
    refresh_seconds = 0.1

    def __init__(
        self, total: float, label: str = "", quiet: bool = False, stream: TextIO | None = None
    ):
        self.stream = sys.stderr if stream is None else stream
        self.enabled = not quiet and _is_terminal(self.stream)
        self.total = max(float(total), 1e-12)
        self.label = label
        self.start = time.perf_counter()
        self.last_draw = -math.inf
        self.drawn = False

    def update(self, done: float, info: str = "", label: str | None = None) -> None:
        """Show ``done`` out of ``total`` with an optional ``info`` text after the bar."""
        if label is not None:
            self.label = label
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last_draw < self.refresh_seconds and done < self.total:
            return
        self.last_draw = now
        fraction = min(max(done / self.total, 0.0), 1.0)
        filled = int(self.width * fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = now - self.start
        eta = f" ETA {elapsed / fraction - elapsed:4.0f}s" if 0 < fraction < 1 else ""
        line = f"{self.label} [{bar}] {100 * fraction:3.0f}%{eta} {info}".rstrip()
        self.stream.write("\r" + line[: _terminal_width()] + "\x1b[K")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.enabled and self.drawn:
            self.stream.write("\n")
            self.stream.flush()
        self.drawn = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _terminal_width() -> int:
    try:
        return os.get_terminal_size(sys.stderr.fileno()).columns - 1
    except (OSError, ValueError):
        return 79


def in_chunks(
    function: Callable[[np.ndarray], np.ndarray], x: np.ndarray, label: str, quiet: bool
) -> np.ndarray:
    """``function(x)`` computed PREDICT_CHUNK rows at a time behind a progress bar."""
    if len(x) <= PREDICT_CHUNK:
        return function(x)
    parts = []
    with ProgressBar(len(x), label, quiet) as progress:
        for start in range(0, len(x), PREDICT_CHUNK):
            parts.append(function(x[start : start + PREDICT_CHUNK]))
            progress.update(start + len(parts[-1]))
    return np.concatenate(parts)


# ---------------------------------------------------------------------------- models
class SequentialAutoencoder:
    """A plain nn_core model file of an [encoder, decoder] Sequential, as an autoencoder.

    ``python -m autoencoders classic`` saves its model this way (``Sequential.save``), so
    the other subcommands accept it too. ``encode`` needs a first layer named "encoder".
    A graph ``nn.Model`` of one input and one output (``autoencoders import`` writes one
    for an ONNX graph that is not a chain) is taken the same way.
    """

    def __init__(self, model: nn.Sequential | nn.Model):
        self.model = model
        self.input_shape = tuple(model.input_shape)
        first = model.layers[0] if model.layers else None
        self.encoder = first if isinstance(first, nn.Sequential) else None

    def predict(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        return self.model.predict(x, batch_size=batch_size)

    def encode(self, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
        if self.encoder is None or self.encoder.name != "encoder":
            raise CliError("this model file has no encoder part: it cannot encode")
        return self.encoder.predict(x, batch_size=batch_size)

    def evaluate(self, x: np.ndarray, batch_size: int = 256) -> float:
        """The loss on (x, x), penalties included (also when compiled with metrics)."""
        return self.model.evaluate(x, x, batch_size=batch_size, return_dict=True)["loss"]


def load_model(path: str) -> Autoencoder | SequentialAutoencoder:
    """The autoencoder in ``path`` (an ``Autoencoder``, or a ``SequentialAutoencoder``).

    Raises CliError (exit 1) for a missing file, one that is not a model file, or a graph
    model made with a list or dict of inputs or outputs (no autoencoder of images).
    """
    if not os.path.exists(path):
        raise CliError(
            f"no model file at {path!r}; train one first, e.g. "
            f"`autoencoders train --model dense --out {path}`"
        )
    if os.path.isdir(path):
        raise CliError(f"{path!r} is a folder; give the model's .npz file")
    try:
        return Autoencoder.load(path)
    except nn.ModelFileError as error:
        if "not an autoencoder's" not in str(error):
            raise CliError(
                f"cannot read the model file: {error}. Retrain it or give another file"
            ) from None
    try:
        model = nn.load_model(path)
    except nn.ModelFileError as error:
        raise CliError(f"cannot read the model file: {error}") from None
    if isinstance(model, nn.Model):
        _check_graph_ends(model, path)
    return SequentialAutoencoder(model)


def _check_graph_ends(model: nn.Model, path: str) -> None:
    """CliError unless the graph ``model`` takes one array and gives one: made with a
    list or dict of inputs or outputs, its predict takes or gives a list or dict."""
    if (model._input_kind, model._output_kind) == ("single", "single"):
        return
    raise CliError(
        f"{path!r} holds a graph model ({type(model).__name__} {model.name!r}) with "
        f"{_structure(model.inputs, model._input_kind, 'input')} and "
        f"{_structure(model.outputs, model._output_kind, 'output')}; this command takes an "
        "autoencoder: one input of images, one output of their reconstructions"
    )


def _structure(tensors: Sequence[object], kind: str, what: str) -> str:
    """'1 input', or 'a list of 2 outputs' / 'a dict of 1 output': a graph's ends."""
    count = f"{len(tensors)} {what}{'' if len(tensors) == 1 else 's'}"
    return count if kind == "single" else f"a {kind} of {count}"


def model_kind(model: Autoencoder | SequentialAutoencoder) -> str:
    """A short description for messages, e.g. 'a DenseAutoencoder'."""
    return f"a {type(model.model if isinstance(model, SequentialAutoencoder) else model).__name__}"


def describe_shape(shape: Sequence[int]) -> str:
    """(28, 28, 1) -> '28x28 greyscale images'; (784,) -> 'flat vectors of 784 values'."""
    shape = tuple(shape)
    if len(shape) == 1:
        return f"flat vectors of {shape[0]} values"
    height, width, channels = shape
    kind = {1: "greyscale", 3: "RGB", 4: "RGBA"}.get(channels, f"{channels}-channel")
    return f"{height}x{width} {kind} images"


def fit_to_model(
    images: np.ndarray, model: Autoencoder | SequentialAutoencoder, model_path: str, source: str
) -> np.ndarray:
    """``images`` (N, H, W, C) reshaped to what ``model`` takes, or a CliError saying why not.

    A flat model (D,) takes any images of H * W * C = D values; an image model takes
    exactly (H, W, C).
    """
    expected = tuple(model.input_shape)
    image_shape = images.shape[1:]
    if len(expected) == 1:
        if math.prod(image_shape) == expected[0]:
            return images.reshape(len(images), -1)
    elif image_shape == expected:
        return images
    got = describe_shape(image_shape)
    if len(expected) == 1:
        got += f" ({math.prod(image_shape)} values)"
    raise CliError(
        f"wrong image size: {model_path} expects {describe_shape(expected)}, got {got} "
        f"from {source}; use images like those the model was trained on"
    )


def psnr(clean: np.ndarray, other: np.ndarray) -> np.ndarray:
    """Peak signal-to-noise ratio per image in dB, pixels in [0, 1]: 10 log10(1 / MSE).

    clean, other: (N, ...). Returns (N,); an exact match (MSE 0) counts as 100 dB.
    """
    difference = (clean.reshape(len(clean), -1) - other.reshape(len(other), -1)).astype(np.float64)
    mse = np.mean(difference**2, axis=1)
    return 10 * np.log10(1.0 / np.maximum(mse, 1e-10))


def reconstruction_metrics(clean: np.ndarray, reconstructed: np.ndarray) -> dict[str, float]:
    """{"mse", "psnr_db"}: the mean squared error and the mean per-image PSNR (dB)."""
    difference = clean.reshape(len(clean), -1) - reconstructed.reshape(len(clean), -1)
    return {
        "mse": float(np.mean(difference.astype(np.float64) ** 2)),
        "psnr_db": float(np.mean(psnr(clean, reconstructed))),
    }


def output_folder_ready(path: str) -> str:
    """Create the folder that ``path`` (a file) goes in; returns ``path``."""
    folder = os.path.dirname(os.fspath(path))
    if folder:
        try:
            os.makedirs(folder, exist_ok=True)
        except OSError as error:
            raise CliError(f"cannot create the output folder {folder!r}: {error}") from None
    return path


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


positive_int.__name__ = "positive integer"  # argparse names the type in its message


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


non_negative_int.__name__ = "non-negative integer"


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or not math.isfinite(value):
        raise ValueError(text)
    return value


positive_float.__name__ = "positive number"


def fraction(text: str) -> float:
    """argparse type: a number in [0, 1)."""
    value = float(text)
    if not 0 <= value < 1:
        raise ValueError(text)
    return value


fraction.__name__ = "fraction in [0, 1)"


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Wraps one-line texts (descriptions) to the terminal; keeps multi-line ones (epilogs
    with examples) exactly as written."""

    def _fill_text(self, text, width, indent):
        if "\n" in text:
            return super()._fill_text(text, width, indent)
        return argparse.HelpFormatter._fill_text(self, text, width, indent)
