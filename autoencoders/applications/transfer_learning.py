"""Transfer learning: an autoencoder's encoder as a head start, for few labels or a new data set.

(a) Semi-supervised. A dense autoencoder (784-256-64-256-784, relu, sigmoid output, BCE)
is pre-trained on all 60000 MNIST training images, labels unused. Its encoder, followed by
Dense(10, softmax), is then trained with sparse categorical cross-entropy on 10, 100 or
1000 labelled images per class, three ways:

* frozen: the encoder's ``trainable = False``; only the softmax layer learns (``E`` epochs);
* fine-tuned: the best frozen model, unfrozen and trained ``E`` more epochs;
* scratch: the same architecture from a random start, ``2 E`` epochs, the epochs of the
  two phases together, so it never gets fewer updates than fine-tuning.

``E`` is chosen per labelled-set size to give about the same number of updates (``steps``
batches of 32) whatever the size. Each way trains once per Adam learning rate of a small
grid (``RATES``; ``FINE_TUNE_RATES`` for fine-tuning) and keeps the model with the best
accuracy on ``validation`` held-out labelled training images (the last ones of the file,
never in a labelled set): a fixed rate would favour whichever way it happens to suit (at
Adam(1e-3) the frozen head is still far from converged after 500 steps). Picking rates on
thousands of labels flatters every way equally; it is the usual benchmark protocol, not a
realistic few-label setting (Oliver et al., "Realistic Evaluation of Deep Semi-Supervised
Learning Algorithms", NeurIPS 2018). Test accuracy is over the 10000 MNIST test images, as
the mean over ``repeats`` draws of the labelled images (a different draw each repeat, the
same draw for the three ways).

(b) Across data sets. A conv autoencoder (``_common.conv_image_model``, filters (16, 8):
a 7 x 7 x 8 code) pre-trained on Fashion-MNIST gives its weights as the starting point of
one trained on MNIST, and the other way round; each is compared with the same model from
a random start, by the test reconstruction error (mean per-pixel BCE) after 1, 2 and 5
epochs on the target data set. Without Fashion-MNIST, (b) is skipped and the table says so.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

import nn_core as nn
from nn_core import layers as L

from . import _common as common

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Mapping, Sequence

    from ..base import Autoencoder

NAME = "transfer_learning"
TITLE = "Transfer learning: pre-trained encoders for few labels and for a new data set"
METHODS = ("frozen", "fine-tuned", "scratch")
CLASS_BATCH = 32
#: Adam learning rates tried for the softmax head (frozen) and from scratch; for fine-tuning
#: the whole network (lower: the encoder's features should move, not be overwritten).
RATES = (1e-3, 3e-3, 1e-2, 3e-2)
FINE_TUNE_RATES = (1e-4, 3e-4, 1e-3, 3e-3)
QUICK: dict[str, Any] = {
    "pretrain_images": 2000,
    "pretrain_epochs": 2,
    "validation": 500,
    "labels_per_class": (10, 100),
    "steps": 60,
    "repeats": 1,
    "test": 1000,
    "source_images": 1000,
    "source_epochs": 2,
    "target_images": 500,
    "target_test": 300,
    "checkpoints": (1, 2),
}
FULL: dict[str, Any] = {
    "pretrain_images": 60000,
    "pretrain_epochs": 10,
    "validation": 5000,
    "labels_per_class": (10, 100, 1000),
    "steps": 500,
    "repeats": 3,
    "test": 10000,
    "source_images": 20000,
    "source_epochs": 3,
    "target_images": 5000,
    "target_test": 2000,
    "checkpoints": (1, 2, 5),
}
DATASET_NAMES = {"mnist": "MNIST", "fashion-mnist": "Fashion-MNIST"}


# ---------------------------------------------------------------------------- (a) few labels
def encoder_layers() -> list[L.Layer]:
    """The dense encoder 784 -> 256 -> 64 (relu), shared by the autoencoder and classifiers."""
    return [L.Dense(256, activation="relu"), L.Dense(64, activation="relu")]


def pretrained_autoencoder(
    images: np.ndarray,
    epochs: int,
    seed: int | None,
    update: Callable[[float], None] | None = None,
) -> Autoencoder:
    """A dense autoencoder 784-256-64-256-784 trained (BCE, Adam) on ``images`` (N, 784)."""
    from ..base import Autoencoder

    decoder = [L.Dense(256, activation="relu"), L.Dense(784, activation="sigmoid")]
    autoencoder = Autoencoder((784,), encoder_layers(), decoder, seed=seed)
    return common.train(autoencoder, images, epochs=epochs, update=update, batch_size=128)


def classifier(
    seed: int | None, encoder_weights: Sequence[np.ndarray] | None = None
) -> nn.Sequential:
    """Sequential([encoder, Dense(10, softmax)]); the encoder copies ``encoder_weights``."""
    encoder = nn.Sequential(encoder_layers(), name="encoder")
    model = nn.Sequential([encoder, L.Dense(10, activation="softmax")], seed=seed)
    model.build((784,))
    if encoder_weights is not None:
        encoder.set_weights(encoder_weights)
    return model


def labelled_subset(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of ``per_class`` images of each digit, drawn at random (sorted)."""
    chosen = [rng.permutation(np.flatnonzero(labels == digit))[:per_class] for digit in range(10)]
    return np.sort(np.concatenate(chosen))


def epochs_for(count: int, steps: int) -> int:
    """Epochs of ``count`` images in batches of CLASS_BATCH that make about ``steps`` updates."""
    return max(1, math.ceil(steps * CLASS_BATCH / count))


def _fit(model, x, y, epochs, learning_rate):
    model.compile(
        optimizer=nn.optimizers.Adam(learning_rate=learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=epochs, batch_size=CLASS_BATCH, verbose=0)


def _accuracy(model, x, y) -> float:
    return model.evaluate(x, y, batch_size=1000, return_dict=True)["accuracy"]


def _best_of(rates, train, validation):
    """Train one model per learning rate with ``train(rate) -> model``; the model with the
    best validation accuracy and its rate (the first rate wins ties)."""
    best_score, best_model, best_rate = -math.inf, None, None
    for rate in rates:
        model = train(rate)
        score = _accuracy(model, *validation)
        if best_model is None or score > best_score:
            best_score, best_model, best_rate = score, model, rate
    return best_model, best_rate


def few_label_accuracies(
    x: np.ndarray,
    labels: np.ndarray,
    validation: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    encoder_weights: Sequence[np.ndarray],
    epochs: int,
    seed: int | None,
) -> tuple[dict[str, float], dict[str, float], float]:
    """Test accuracy of the three ways on one labelled set, each with the learning rate its
    validation accuracy picks; the rates; and the frozen encoder's largest weight change
    during its training (0.0: it did not move)."""

    def frozen(rate):
        model = classifier(seed, encoder_weights)
        model.layers[0].trainable = False
        _fit(model, x, labels, epochs, rate)
        return model

    def fine_tuned(rate):
        model = classifier(seed)
        model.set_weights(head_start.get_weights())
        _fit(model, x, labels, epochs, rate)
        return model

    def scratch(rate):
        model = classifier(seed)
        _fit(model, x, labels, 2 * epochs, rate)
        return model

    head_start, frozen_rate = _best_of(RATES, frozen, validation)
    change = max(
        float(np.max(np.abs(after - before)))
        for after, before in zip(head_start.layers[0].get_weights(), encoder_weights)
    )
    tuned, tuned_rate = _best_of(FINE_TUNE_RATES, fine_tuned, validation)
    from_scratch, scratch_rate = _best_of(RATES, scratch, validation)
    models = {"frozen": head_start, "fine-tuned": tuned, "scratch": from_scratch}
    rates = {"frozen": frozen_rate, "fine-tuned": tuned_rate, "scratch": scratch_rate}
    return {method: _accuracy(models[method], *test) for method in METHODS}, rates, change


def semi_supervised(
    settings: dict[str, Any], seed: int, tracker: common.Tracker
) -> tuple[dict[int, dict[str, list[float]]], dict[str, list[float]], float, float]:
    """Part (a): {per_class: {method: [accuracy per repeat]}}, {method: [chosen rates]},
    the frozen encoder's largest change, and the autoencoder's test BCE."""
    x_all, y_all = common.load_images("mnist", "train", settings["pretrain_images"])
    x_test, y_test = common.load_images("mnist", "test", settings["test"])
    x_all, x_test = x_all.reshape(len(x_all), -1), x_test.reshape(len(x_test), -1)
    autoencoder = pretrained_autoencoder(
        x_all,
        settings["pretrain_epochs"],
        seed,
        tracker.stage("pre-training the autoencoder", settings["pretrain_epochs"]),
    )
    reconstruction = autoencoder.model.evaluate(x_test, x_test, batch_size=1000)
    weights = autoencoder.encoder.get_weights()
    # The validation images (labels used only to pick learning rates) are the last ones of
    # the training file; the labelled sets are drawn from the others.
    held_out = len(x_all) - settings["validation"]
    validation = (x_all[held_out:], y_all[held_out:])
    results: dict[int, dict[str, list[float]]] = {}
    rates: dict[str, list[float]] = {method: [] for method in METHODS}
    largest_change = 0.0
    for per_class in settings["labels_per_class"]:
        results[per_class] = {method: [] for method in METHODS}
        for repeat in range(settings["repeats"]):
            tracker.stage(f"{per_class} labels per class, draw {repeat + 1}", 1)
            rng = np.random.default_rng(seed + 100 * repeat + per_class)
            chosen = labelled_subset(y_all[:held_out], per_class, rng)
            epochs = epochs_for(len(chosen), settings["steps"])
            accuracy, chosen_rates, change = few_label_accuracies(
                x_all[chosen],
                y_all[chosen],
                validation,
                (x_test, y_test),
                weights,
                epochs,
                seed + repeat,
            )
            largest_change = max(largest_change, change)
            for method in METHODS:
                results[per_class][method].append(accuracy[method])
                rates[method].append(chosen_rates[method])
    return results, rates, largest_change, reconstruction


# ---------------------------------------------------------------------------- (b) data sets
def reconstruction_curve(
    source_weights: Sequence[np.ndarray] | None,
    x_train: np.ndarray,
    x_test: np.ndarray,
    checkpoints: Sequence[int],
    seed: int | None,
    update: Callable[[float], None],
) -> dict[int, float]:
    """Test BCE of a conv autoencoder trained on x_train, after each epoch in ``checkpoints``;
    it starts from ``source_weights`` (or a random start for None)."""
    autoencoder = common.conv_image_model(filters=(16, 8), seed=seed)
    autoencoder.build()
    if source_weights is not None:
        autoencoder.model.set_weights(source_weights)
    autoencoder.compile(optimizer="adam", loss="binary_crossentropy")
    errors, done = {}, 0
    for checkpoint in checkpoints:
        autoencoder.model.fit(
            x_train, x_train, epochs=checkpoint - done, batch_size=common.BATCH_SIZE, verbose=0
        )
        done = checkpoint
        errors[checkpoint] = autoencoder.model.evaluate(x_test, x_test, batch_size=500)
        update(done / checkpoints[-1])
    return errors


def across_datasets(
    settings: dict[str, Any], seed: int, tracker: common.Tracker
) -> dict[tuple[str, str], dict[str, dict[int, float]]]:
    """Part (b): {(source, target): {"pre-trained" | "random": {epoch: test BCE}}}."""
    images = {}
    for dataset in ("mnist", "fashion-mnist"):
        train, _ = common.load_images(dataset, "train", settings["source_images"])
        test, _ = common.load_images(dataset, "test", settings["target_test"])
        images[dataset] = (common.channels_last(train), common.channels_last(test))
    curves: dict[tuple[str, str], Any] = {}
    for source, target in (("fashion-mnist", "mnist"), ("mnist", "fashion-mnist")):
        update = tracker.stage(f"pre-training on {source}", settings["source_epochs"])
        pretrained = common.conv_image_model(filters=(16, 8), seed=seed)
        common.train(pretrained, images[source][0], epochs=settings["source_epochs"], update=update)
        x_train = images[target][0][: settings["target_images"]]
        curves[(source, target)] = {}
        for label, weights in (("pre-trained", pretrained.model.get_weights()), ("random", None)):
            curves[(source, target)][label] = reconstruction_curve(
                weights,
                x_train,
                images[target][1],
                settings["checkpoints"],
                seed + 1,
                tracker.stage(f"{label} start on {target}", settings["checkpoints"][-1] / 2),
            )
    return curves


# ---------------------------------------------------------------------------- run
def run(
    out_dir: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Both parts; a table of accuracies and of reconstruction errors, and two figures."""
    settings = QUICK if quick else FULL
    out = common.output_dir(out_dir)
    fashion = common.fashion_available()
    sizes = settings["labels_per_class"]
    work = settings["pretrain_epochs"] + len(sizes) * settings["repeats"]
    if fashion:
        work += 2 * (settings["source_epochs"] + settings["checkpoints"][-1])
    tracker = common.Tracker(progress, work)
    accuracies, rates, frozen_change, reconstruction = semi_supervised(settings, seed, tracker)
    curves = across_datasets(settings, seed, tracker) if fashion else {}

    metrics = {"autoencoder_test_bce": reconstruction, "frozen_encoder_max_change": frozen_change}
    rows = []
    for per_class in sizes:
        means = {m: float(np.mean(accuracies[per_class][m])) for m in METHODS}
        spreads = {m: float(np.std(accuracies[per_class][m])) for m in METHODS}
        for method in METHODS:
            metrics[f"accuracy_{per_class}_{method.replace('-', '_')}"] = means[method]
        best_pretrained = max(means["frozen"], means["fine-tuned"])
        verdict = "yes" if best_pretrained > means["scratch"] else "no"
        rows.append(
            [f"{per_class} ({10 * per_class} images)"]
            + [f"{means[m]:.3f} ± {spreads[m]:.3f}" for m in METHODS]
            + [f"{best_pretrained - means['scratch']:+.3f} ({verdict})"]
        )
    table = common.markdown_table(
        [
            "(a) MNIST test accuracy, labels per class",
            *METHODS,
            "pre-training helps (best - scratch)",
        ],
        rows,
    )
    table += common.settings_line(
        autoencoder=f"784-256-64-256-784 relu, sigmoid output, BCE, "
        f"{settings['pretrain_images']} unlabelled images, {settings['pretrain_epochs']} epochs, "
        f"test BCE {reconstruction:.4f}",
        classifier="encoder + Dense(10, softmax), sparse categorical cross-entropy",
        epochs=f"E = ceil({settings['steps']} x {CLASS_BATCH} / labelled images) "
        "(frozen: E; fine-tuned: E more from the best frozen model; scratch: 2E)",
        learning_rates=f"Adam, picked per run by the accuracy on {settings['validation']} "
        f"held-out labelled training images from {_rates(RATES)} (frozen, scratch) and "
        f"{_rates(FINE_TUNE_RATES)} (fine-tuned); chosen: "
        + "; ".join(f"{m} {_rates(sorted(set(rates[m])))}" for m in METHODS),
        batch=CLASS_BATCH,
        test_images=settings["test"],
        accuracy=f"mean ± std over {settings['repeats']} draws of the labelled images",
        frozen_encoder_largest_weight_change=f"{frozen_change:g}",
        seed=seed,
    )
    figures = [plot_accuracies(accuracies, settings["pretrain_images"], out)]
    if fashion:
        rows = []
        for (source, target), runs in curves.items():
            for label, errors in runs.items():
                start = f"from {DATASET_NAMES[source]}" if label == "pre-trained" else "random"
                rows.append([DATASET_NAMES[target], start] + [f"{errors[e]:.4f}" for e in errors])
                kind = "pretrained" if label == "pre-trained" else "random"
                for epoch, error in errors.items():
                    metrics[f"bce_{target.split('-')[0]}_{kind}_{epoch}"] = error
        table += (
            "\n\n**(b) Across data sets: test reconstruction BCE per pixel**\n\n"
            + common.markdown_table(
                [
                    "target",
                    "start",
                    *[f"after {e} epoch{'s' * (e > 1)}" for e in settings["checkpoints"]],
                ],
                rows,
            )
        )
        table += common.settings_line(
            model="conv autoencoder, filters (16, 8), 7x7x8 code, BCE, Adam 1e-3",
            pre_training=f"{settings['source_images']} source images, "
            f"{settings['source_epochs']} epochs",
            target=f"{settings['target_images']} training images, "
            f"{settings['target_test']} test images",
            batch=common.BATCH_SIZE,
            seed=seed,
        )
        figures.append(plot_curves(curves, settings["checkpoints"], out))
    else:
        table += "\n\n**(b) Across data sets: skipped.** " + common.FASHION_MISSING_NOTE
    return common.result(NAME, TITLE, metrics, table, figures, tracker.finish())


def _rates(rates) -> str:
    return "{" + ", ".join(f"{rate:g}" for rate in rates) + "}"


def plot_accuracies(
    accuracies: Mapping[int, Mapping[str, Sequence[float]]],
    unlabelled: int,
    out: str | os.PathLike[str],
) -> str:
    plt = common.pyplot()
    figure, axis = plt.subplots(figsize=(4.6, 3.2))
    sizes = sorted(accuracies)
    for method, marker in zip(METHODS, "osd"):
        means = [np.mean(accuracies[s][method]) for s in sizes]
        spreads = [np.std(accuracies[s][method]) for s in sizes]
        axis.errorbar(sizes, means, yerr=spreads, marker=marker, capsize=3, label=method)
    axis.set_xscale("log")
    axis.set_xticks(sizes, [str(s) for s in sizes])
    axis.set_xlabel("labelled images per class")
    axis.set_ylabel("MNIST test accuracy")
    axis.set_title(f"Encoder pre-trained on {unlabelled} unlabelled images", fontsize=9)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    return common.save_figure(figure, out, "transfer_learning_labels.png")


def plot_curves(
    curves: Mapping[tuple[str, str], Mapping[str, Mapping[int, float]]],
    checkpoints: Sequence[int],
    out: str | os.PathLike[str],
) -> str:
    plt = common.pyplot()
    figure, axes = plt.subplots(1, len(curves), figsize=(7.2, 3.0), squeeze=False)
    for axis, ((source, target), runs) in zip(axes[0], curves.items()):
        for label, errors in runs.items():
            name = f"pre-trained on {DATASET_NAMES[source]}" if label == "pre-trained" else label
            axis.plot(list(errors), list(errors.values()), marker="o", label=name)
        axis.set_xticks(list(checkpoints))
        axis.set_xlabel(f"epochs on {DATASET_NAMES[target]}")
        axis.set_ylabel("test BCE per pixel")
        axis.set_title(f"{DATASET_NAMES[target]} autoencoder", fontsize=9)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.tight_layout()
    return common.save_figure(figure, out, "transfer_learning_datasets.png")
