"""``autoencoders search``: nearest neighbours of query images in code space."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import numpy as np

from .common import (
    USAGE_ERROR,
    CliError,
    HelpFormatter,
    fit_to_model,
    in_chunks,
    load_model,
    output_folder_ready,
    positive_int,
)
from .data import Dataset, load_dataset, write_grid
from .evaluate import add_dataset_options

EPILOG = """\
Queries are image files (--query: .png files, folders of .png images or .npy files) or
images of the searched dataset itself (--query-index; the query is then left out of its
own results). Distances are Euclidean between the codes (flattened). The grid has one
row per query: the query, then its neighbours, nearest first.

examples:
  autoencoders search model.npz --query-index 0 1 2 --top 8
  autoencoders search model.npz --query my_digit.png --dataset mnist --split train
  autoencoders search model.npz --query queries/ --dataset photos/ --out hits.png
"""


def add_parser(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "search",
        parents=parents,
        help="find the nearest neighbours of query images in code space",
        description="Image search with a saved autoencoder: encode a dataset and the "
        "queries, print each query's nearest neighbours (index and distance) and write "
        "them as a PNG grid.",
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("model", help="a model file written by `autoencoders train`")
    queries = parser.add_mutually_exclusive_group(required=True)
    queries.add_argument("--query", nargs="+", metavar="PATH", help="query image files")
    queries.add_argument(
        "--query-index", type=int, nargs="+", metavar="I", help="query images of the dataset"
    )
    add_dataset_options(parser)
    parser.add_argument("--top", type=positive_int, default=5, help="neighbours (default 5)")
    parser.add_argument("--out", default="search.png", metavar="PNG", help="default search.png")
    parser.set_defaults(run=run)
    return parser


def nearest(
    query_codes: np.ndarray, codes: np.ndarray, top: int, exclude: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """(indices, distances), each (Q, top): the ``top`` nearest codes to each query.

    query_codes (Q, K), codes (N, K); exclude: for each query an index to leave out, or
    None. Squared distances via |q|^2 - 2 q.c + |c|^2, in float64.
    """
    query_codes = query_codes.astype(np.float64)
    codes = codes.astype(np.float64)
    squared = (
        np.sum(query_codes**2, axis=1)[:, None]
        - 2 * query_codes @ codes.T
        + np.sum(codes**2, axis=1)[None, :]
    )
    if exclude is not None:
        squared[np.arange(len(query_codes)), exclude] = np.inf
    top = min(top, codes.shape[0] - (exclude is not None))
    order = np.argsort(squared, axis=1, kind="stable")[:, :top]
    distances = np.sqrt(np.maximum(np.take_along_axis(squared, order, axis=1), 0))
    return order, distances


def load_queries(paths: Sequence[str]) -> Dataset:
    parts = [load_dataset(path) for path in paths]
    shapes = {part.image_shape for part in parts}
    if len(shapes) > 1:
        raise CliError(f"the query images differ in size: {sorted(shapes)}")
    return Dataset(
        np.concatenate([part.images for part in parts]),
        None,
        [name for part in parts for name in part.names],
        ", ".join(paths),
    )


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model)
    data = load_dataset(args.dataset, args.split, args.limit)
    exclude = None
    if args.query_index is not None:
        bad = [i for i in args.query_index if not 0 <= i < len(data.images)]
        if bad:
            raise CliError(
                f"--query-index {bad[0]} is outside the {len(data.images)} images of {data.source}",
                USAGE_ERROR,
            )
        queries = data.take(args.query_index)
        exclude = np.asarray(args.query_index)
    else:
        queries = load_queries(args.query)
    if len(data.images) - (exclude is not None) < 1:
        raise CliError(f"{data.source} has no images to search among")
    x = fit_to_model(data.images, model, args.model, data.source)
    q = fit_to_model(queries.images, model, args.model, queries.source)
    codes = in_chunks(model.encode, x, "encode", args.quiet)
    query_codes = model.encode(q)
    indices, distances = nearest(
        query_codes.reshape(len(q), -1), codes.reshape(len(x), -1), args.top, exclude
    )
    for row, name in enumerate(queries.names):
        hits = ", ".join(
            f"{i} ({d:.3f}{'' if data.labels is None else f', label {data.labels[i]}'})"
            for i, d in zip(indices[row], distances[row])
        )
        label = "" if queries.labels is None else f" label {queries.labels[row]}"
        print(f"query {name}{label}: {hits}")
    rows = [
        np.concatenate([queries.images[r : r + 1], data.images[indices[r]]]) for r in range(len(q))
    ]
    if queries.image_shape != data.image_shape:  # flat model: same size, other layout
        rows = [row.reshape(len(row), *data.image_shape) for row in rows]
    write_grid(output_folder_ready(args.out), rows)
    print(f"wrote {args.out}")
    return 0
