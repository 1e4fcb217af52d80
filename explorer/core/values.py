"""Checked values for the explorer state: the one error type and the checks every field uses (and
:func:`path_problem`, the check every user-given file name gets).

Kept apart from :mod:`explorer.core.state` so the marks (:mod:`explorer.core.marks`) and the state
share them without importing each other.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np

from training.errors import UserError

Point = tuple[float, float]


class StateError(UserError):
    """A value that no user action could produce (a point that is not two finite numbers, ...)."""


def as_point(v: Any, what: str = "point") -> Point:
    """Two finite floats as a tuple (what every z field holds); StateError otherwise."""
    try:
        a = np.asarray(v, np.float64).ravel()
    except (TypeError, ValueError):
        raise StateError(f"{what} must be two finite numbers, not {v!r}.") from None
    if a.shape != (2,) or not np.all(np.isfinite(a)):
        raise StateError(f"{what} must be two finite numbers, not {v!r}.")
    return float(a[0]), float(a[1])


MAX_LATENT_DIM = 512  # the largest latent space the explorer opens
Vec = tuple[float, ...]  # a D-point: a latent vector of any dimension 2..MAX_LATENT_DIM


def as_vec(v: Any, what: str = "point", d: int | None = None) -> Vec:
    """A finite D-vector as a tuple of floats (``d`` of them if given); StateError naming ``what`` otherwise."""
    try:
        a = np.asarray(v, np.float64).ravel()
    except (TypeError, ValueError):
        raise StateError(f"{what} must be a list of finite numbers, not {v!r}.") from None
    if (d is not None and a.shape != (d,)) or not 2 <= a.size <= MAX_LATENT_DIM or not np.all(np.isfinite(a)):
        n = f"{d}" if d is not None else f"2 to {MAX_LATENT_DIM}"
        raise StateError(f"{what} must be {n} finite numbers (one per latent dimension), not {a.size} values.")
    return tuple(float(x) for x in a)


def opt_point(v: Any, what: str) -> Point | None:
    return None if v is None else as_point(v, what)


def clamp(v: Any, lo: float, hi: float, what: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise StateError(f"{what} must be a number, not {v!r}.") from None
    if not math.isfinite(f):
        raise StateError(f"{what} must be finite, not {v!r}.")
    return min(max(f, lo), hi)


def path_problem(path: str | os.PathLike) -> str | None:
    """One sentence if ``path`` cannot name a file at all (it holds a NUL character, which the OS
    refuses with ``ValueError: embedded null byte``), else None."""
    text = os.fspath(path)
    text = text if isinstance(text, str) else os.fsdecode(text)
    if "\0" not in text:
        return None
    shown = text.replace("\0", "\\0")
    return f"{shown}: is not a usable file name (it contains a NUL character)."
