"""Argument checks shared by optimizers and learning-rate schedules.

Each check returns the value as a plain Python ``float``/``int``/``bool`` (so that NumPy
scalars never leak into the arithmetic, where they would upcast float32 parameters) or
raises a ValueError naming the owner, the argument, what was expected and what was given.
"""

import math
import numbers


def check_number(
    owner: str,
    name: str,
    value,
    *,
    minimum: float,
    maximum: float = math.inf,
    include_minimum: bool = True,
    include_maximum: bool = False,
) -> float:
    """``float(value)`` if it is a finite real number in the given interval, else ValueError."""
    if math.isinf(maximum):
        expected = f"a finite number {'>=' if include_minimum else '>'} {minimum:g}"
    else:
        low, high = ("[" if include_minimum else "("), ("]" if include_maximum else ")")
        expected = f"a number in {low}{minimum:g}, {maximum:g}{high}"
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        number = float(value)
        above = number >= minimum if include_minimum else number > minimum
        below = number <= maximum if include_maximum else number < maximum
        if math.isfinite(number) and above and below:
            return number
    raise ValueError(f"{owner}: {name} must be {expected}, got {value!r}")


def check_positive_int(owner: str, name: str, value) -> int:
    """``int(value)`` if it is an integer >= 1, else ValueError."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and int(value) >= 1:
        return int(value)
    raise ValueError(f"{owner}: {name} must be an integer >= 1, got {value!r}")


def check_bool(owner: str, name: str, value) -> bool:
    """``value`` if it is a bool, else ValueError."""
    if isinstance(value, bool):
        return value
    raise ValueError(f"{owner}: {name} must be True or False, got {value!r}")


def check_optional_positive(owner: str, name: str, value) -> float | None:
    """None, or ``float(value)`` if it is a finite number > 0, else ValueError."""
    if value is None:
        return None
    return check_number(owner, name, value, minimum=0.0, include_minimum=False)
