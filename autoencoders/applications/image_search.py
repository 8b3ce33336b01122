"""Image search: nearest neighbours in code space, against raw-pixel and PCA search.

The database is a slice of MNIST's training set, the queries test digits. Each image
is represented by its 784 raw pixels, its 32 PCA components, or the 32-d linear code of
a deep autoencoder (784-256-128-32) trained on the database; neighbours are the
database items at least Euclidean distance. Precision@10: the fraction of the 10
nearest items that show the query's digit (chance is about 0.1). Query time: seconds
per query to encode it and to scan the whole database (brute force, NumPy products).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import numpy as np

from ..deep import DeepAutoencoder
from ..pca import PCA
from . import _common as common
from .kmeans import squared_distances
from .metrics import precision_at_k

if TYPE_CHECKING:
    import os
    from collections.abc import Callable

NAME = "image_search"
TITLE = "Image search: nearest neighbours in code space"
CODE_SIZE = 32
K = 10
QUICK = {"batch": 32, "database": 1500, "queries": 300, "epochs": 4}
FULL = {"batch": 128, "database": 20000, "queries": 1000, "epochs": 20}


def nearest_neighbours(
    database: np.ndarray, queries: np.ndarray, k: int = K, batch_size: int = 256
) -> np.ndarray:
    """Indices (Q, k) of the k database rows (M, D) nearest to each query (Q, D), nearest first."""
    database = np.asarray(database, dtype=np.float64)
    result = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), batch_size):
        batch = np.asarray(queries[start : start + batch_size], dtype=np.float64)
        distances = squared_distances(batch, database)
        candidates = np.argpartition(distances, k - 1, axis=1)[:, :k]
        order = np.argsort(np.take_along_axis(distances, candidates, axis=1), axis=1)
        result[start : start + batch_size] = np.take_along_axis(candidates, order, axis=1)
    return result


def run(
    out_dir: str | os.PathLike[str],
    *,
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> dict[str, Any]:
    """Index the database three ways; measure precision@10 and query time; draw hits."""
    settings = QUICK if quick else FULL
    out = common.output_dir(out_dir)
    x_db, y_db = common.load_images("mnist", "train", settings["database"])
    x_query, y_query = common.load_images("mnist", "test", settings["queries"])
    flat_db, flat_query = x_db.reshape(len(x_db), -1), x_query.reshape(len(x_query), -1)
    tracker = common.Tracker(progress, settings["epochs"] + 3)
    deep = DeepAutoencoder(784, (256, 128), CODE_SIZE, code_activation="linear", seed=seed)
    common.train(
        deep,
        flat_db,
        epochs=settings["epochs"],
        update=tracker.stage("training the deep autoencoder", settings["epochs"]),
        batch_size=settings["batch"],
    )
    pca = PCA(CODE_SIZE).fit(flat_db)
    encoders = {
        "raw pixels (784)": lambda x: x,
        f"PCA ({CODE_SIZE})": pca.transform,
        f"autoencoder code ({CODE_SIZE})": deep.encode,
    }
    rows, metrics, hits = [], {}, {}
    for name, encode in encoders.items():
        tracker.stage(f"searching by {name}", 1)
        index = encode(flat_db)
        started = time.perf_counter()
        codes = encode(flat_query)
        encoded = time.perf_counter()
        neighbours = nearest_neighbours(index, codes)
        searched = time.perf_counter()
        precision = precision_at_k(y_query, y_db[neighbours], K)
        encode_ms = (encoded - started) / len(x_query) * 1e3
        search_ms = (searched - encoded) / len(x_query) * 1e3
        slug = name.split(" (")[0].replace(" ", "_").lower()
        metrics[f"{slug}_precision_at_10"] = precision
        metrics[f"{slug}_ms_per_query"] = encode_ms + search_ms
        rows.append(
            [name, common.fmt(precision), common.fmt(encode_ms, 4), common.fmt(search_ms, 4)]
        )
        hits[name] = neighbours
    chance = float(np.mean(y_db[None, :] == y_query[:, None]))
    metrics["chance_precision"] = chance
    table = common.markdown_table(
        ["search by", "precision@10", "encode ms/query", "search ms/query"], rows
    )
    table += f"\n\nChance precision (a random database item has the query's digit): {chance:.3f}."
    table += common.settings_line(
        database=f"{len(x_db)} MNIST training images",
        queries=f"{len(x_query)} test images",
        epochs=settings["epochs"],
        batch=settings["batch"],
        optimizer=common.OPTIMIZER,
        distance="Euclidean, brute force",
        seed=seed,
    )
    figure_name = plot(x_query, y_query, x_db, y_db, hits, out)
    return common.result(NAME, TITLE, metrics, table, [figure_name], tracker.finish())


def plot(
    x_query: np.ndarray,
    y_query: np.ndarray,
    x_db: np.ndarray,
    y_db: np.ndarray,
    hits: dict[str, np.ndarray],
    out: str | os.PathLike[str],
    count: int = 5,
    shown: int = 8,
) -> str:
    names = list(hits)
    rows, labels, frames = [], [], []
    for q in range(count):
        for name in (names[0], names[-1]):
            neighbours = hits[name][q, :shown]
            rows.append([x_query[q], *x_db[neighbours]])
            labels.append(("query\n" if name == names[0] else "") + name.split(" (")[0])
            frames.append(
                [
                    "tab:blue",
                    *("tab:green" if y_db[i] == y_query[q] else "tab:red" for i in neighbours),
                ]
            )
    titles = ["query", *(f"hit {i + 1}" for i in range(shown))]
    figure = common.image_rows_figure(rows, labels, titles, frames, cell=0.6)
    return common.save_figure(figure, out, f"{NAME}.png")
