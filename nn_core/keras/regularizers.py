"""Keras's ``keras.regularizers``: the classes and the lowercase functions ``l1(0.01)``,
``l2(0.01)``, ``l1_l2(l1=0.01, l2=0.01)`` (Keras's defaults) that the blog calls."""

from __future__ import annotations

from ..regularizers import L1, L1L2, L2, get


def l1(l1: float = 0.01) -> L1:  # noqa: E741 - Keras's name
    """``L1(l1)``: l1 * sum |w|."""
    return L1(l1)


def l2(l2: float = 0.01) -> L2:
    """``L2(l2)``: l2 * sum w^2."""
    return L2(l2)


def l1_l2(l1: float = 0.01, l2: float = 0.01) -> L1L2:  # noqa: E741 - Keras's name
    """``L1L2(l1, l2)``: both penalties."""
    return L1L2(l1, l2)


__all__ = ["L1", "L1L2", "L2", "get", "l1", "l1_l2", "l2"]
