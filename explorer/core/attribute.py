"""An attribute vector: a named direction in the latent space, added ``strength`` times to the point shown.

The record only (evented, validated); the maths that makes one from two groups is explorer.core.vectors,
the list the state holds is explorer.core.marks.VectorList.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from psygnal import evented

from explorer.core.values import Vec, as_vec, clamp

STRENGTH_MIN, STRENGTH_MAX = -3.0, 3.0  # attribute-vector strengths: the vector panel's slider range
AUC_STRONG, AUC_WEAK = 0.9, 0.7  # >= strong; [weak, strong) weak; below: indistinguishable from noise


# --------------------------------------------------------------------------- vectors


@evented
@dataclass(eq=False)
class Vector:
    """An attribute direction: added ``strength`` times to the base point while ``enabled``."""

    name: str
    vector: Vec  # a D-vector in latent units (dx, dy for a 2-D model)
    strength: float = 1.0  # negative subtracts; clamped to [STRENGTH_MIN, STRENGTH_MAX]
    enabled: bool = True
    auc: float | None = None  # how well the direction separates its two groups (0.5 = noise)
    # the two groups' dataset masks (A, B) it was made from; a compared model computes the same
    # difference from its own means. None: a fixed (dx, dy), the same for every model.
    groups: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "groups" and value is not None:
            a, b = (np.asarray(m, bool) for m in value)
            value = (a, b)
        if name == "vector":
            value = as_vec(value, "a vector")
        elif name == "strength":
            value = clamp(value, STRENGTH_MIN, STRENGTH_MAX, "a vector's strength")
        elif name == "enabled":
            value = bool(value)
        elif name == "name":
            value = str(value)
        elif name == "auc" and value is not None:
            value = clamp(value, 0.0, 1.0, "a vector's AUC")
        super().__setattr__(name, value)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "vector": list(self.vector), "strength": self.strength, "enabled": self.enabled,
                "auc": self.auc}

    @property
    def hint(self) -> str:
        return auc_hint(self.auc)

    def for_session(self, session: Any, main: Any = None) -> np.ndarray:
        """(dx, dy) for ``session``'s plane: this vector on the main model's plane (``main``), else
        mean(means[A]) - mean(means[B]) from that session's own means when the groups are known."""
        g = self.groups
        if session is None or session is main or g is None or getattr(session, "means", None) is None:
            return np.asarray(self.vector, np.float64)
        means = session.means
        if len(g[0]) != len(means):
            return np.asarray(self.vector, np.float64)
        cache = self.__dict__.setdefault("_per_session", {})
        key = (id(session), id(means), id(g[0]), id(g[1]))
        if key not in cache:
            cache.clear() if len(cache) > 16 else None
            cache[key] = (means[g[0]].mean(0, dtype=np.float64) - means[g[1]].mean(0, dtype=np.float64))
        return cache[key]


def auc_hint(auc: float | None) -> str:
    """Plain words for a projection AUC: is this a real direction or noise?"""
    if auc is None:
        return "unknown"
    if auc >= AUC_STRONG:
        return "strong"
    if auc >= AUC_WEAK:
        return "weak"
    return "\u2248 noise"
