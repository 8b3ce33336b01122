"""What autoencoders are for: ten applications, each measured, compared and pictured.

Each application is a module with ``run(out_dir, *, quick=False, seed=0, progress=None)``
that trains what it needs on MNIST (and Fashion-MNIST when installed), writes its
figures (PNG) into ``out_dir`` and returns::

    {"name": str, "title": str,
     "metrics": {str: float},              # JSON-serialisable, "seconds" included
     "table_markdown": str,                # a Markdown table with the settings used
     "figures": [str],                     # file names relative to out_dir
     "command": "python -m autoencoders report --only NAME"}

``quick=True`` uses small slices and few epochs (seconds; numbers for smoke tests only);
the default full mode trains on 10000-20000 images (minutes each). ``progress``, when
given, is called as progress(stage: str, fraction: float) with the fraction of the
application done, in [0, 1], never decreasing.

    from autoencoders.applications import run_all
    results = run_all("report/", only=["denoising"], quick=True)

The building blocks, all NumPy: ``metrics`` (PSNR, SSIM, purity, NMI, ROC AUC,
precision@k), ``filters`` (median, Gaussian), ``upsampling`` (nearest, bicubic, block
mean), ``noise``, ``kmeans``, ``colour_mnist``, ``watermark``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import (
    anomaly_detection,
    clustering,
    colourisation,
    denoising,
    dimensionality_reduction,
    generation,
    image_search,
    super_resolution,
    transfer_learning,
    watermark_removal,
)

if TYPE_CHECKING:
    import os
    from collections.abc import Callable, Iterable

_MODULES = (
    dimensionality_reduction,
    denoising,
    watermark_removal,
    colourisation,
    super_resolution,
    clustering,
    image_search,
    generation,
    anomaly_detection,
    transfer_learning,
)
#: name -> run(out_dir, *, quick=False, seed=0, progress=None) -> dict, in the issue's order
APPLICATIONS = {module.NAME: module.run for module in _MODULES}
TITLES = {module.NAME: module.TITLE for module in _MODULES}


def run_all(
    out_dir: str | os.PathLike[str],
    *,
    only: str | Iterable[str] | None = None,
    quick: bool = False,
    seed: int = 0,
    progress: Callable[[str, float], None] | None = None,
) -> list[dict[str, Any]]:
    """Run the applications named in ``only`` (a name or a list; default all), in order.

    Returns their result dicts. ``progress(stage, fraction)`` gets stages prefixed by
    the application's name and the fraction of the whole set done. Raises ValueError
    naming the known applications when ``only`` names another.
    """
    if only is None:
        names = list(APPLICATIONS)
    else:
        requested = [only] if isinstance(only, str) else list(only)
        unknown = [name for name in requested if name not in APPLICATIONS]
        if unknown:
            raise ValueError(
                f"unknown application(s) {', '.join(map(repr, unknown))}; choose from "
                f"{', '.join(APPLICATIONS)}"
            )
        names = [name for name in APPLICATIONS if name in requested]
    results = []
    for index, name in enumerate(names):
        report = None
        if progress is not None:

            def report(stage, fraction, index=index, name=name):
                progress(f"{name}: {stage}", (index + fraction) / len(names))

        results.append(APPLICATIONS[name](out_dir, quick=quick, seed=seed, progress=report))
    return results


__all__ = ["APPLICATIONS", "TITLES", "run_all"]
