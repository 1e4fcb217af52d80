"""Attribute vectors, Qt-free: groups of points, the vector between their means, how well it
separates them (AUC), and the sum of the enabled vectors applied to a point.

A vector is an evented :class:`explorer.core.state.Vector` (name, (dx, dy), strength, enabled, auc),
held in the state's vector list, which is exactly what a scene file holds. A "subtract" is a
negative strength.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from explorer.core import latent
from explorer.core.attribute import STRENGTH_MAX, STRENGTH_MIN, Vector, auc_hint

__all__ = ["STRENGTH_MAX", "STRENGTH_MIN", "Group", "Vector", "auc_hint"]


@dataclass
class Group:
    """A set of dataset points: a class, or a lasso / rectangle selection on the plane."""

    name: str  # "Sneaker" or "sel A (123)"
    mask: np.ndarray  # (N,) bool

    @property
    def count(self) -> int:
        return int(np.count_nonzero(self.mask))


def class_group(labels: np.ndarray, k: int, label_names: Sequence[str]) -> Group:
    name = label_names[k] if 0 <= k < len(label_names) else str(k)
    return Group(name, np.asarray(labels) == k)


def selection_group(mask: np.ndarray, tag: str) -> Group:
    """``tag`` is "A" or "B": named like "sel A (123)"."""
    mask = np.asarray(mask, bool)
    return Group(f"sel {tag} ({int(mask.sum())})", mask)


def default_name(a: Group, b: Group) -> str:
    return f"{a.name} \u2212 {b.name}"  # a real minus sign


def make_vector(points: np.ndarray, a: Group, b: Group, name: str | None = None, strength: float = 1.0) -> Vector:
    """mean(points[A]) - mean(points[B]), with the AUC of the projection (A positive).

    Raises ValueError (one sentence) if a group is empty or the two groups are the same points.
    """
    if a.count == 0 or b.count == 0:
        empty = a.name if a.count == 0 else b.name
        raise ValueError(f"group {empty} has no points; pick a class or select some points first.")
    if a.count == b.count and np.array_equal(a.mask, b.mask):
        raise ValueError("groups A and B are the same points; their difference is zero.")
    v = latent.attribute_vector(points, a.mask, b.mask)
    auc = latent.projection_auc(points, a.mask, b.mask, v) if np.any(v) else 0.5
    return Vector(name=name or default_name(a, b), vector=tuple(float(x) for x in v), strength=float(strength),
                  enabled=True, auc=float(auc))


def clamp_strength(s: float) -> float:
    return float(np.clip(s, STRENGTH_MIN, STRENGTH_MAX))


def active(vectors: Sequence[Vector]) -> list[Vector]:
    return [v for v in vectors if v.enabled]


def total(vectors: Sequence[Vector], d: int = 2) -> np.ndarray:
    """sum over enabled D-vectors of strength * vector; (d,) float32 (zeros if none). Vectors of another
    dimension (made for a model of another D) are left out."""
    on = [v for v in active(vectors) if len(v.vector) == d]
    return latent.apply_vectors(np.zeros(d, np.float32), [np.asarray(v.vector, np.float64) for v in on],
                                [v.strength for v in on])


def apply(z: np.ndarray, vectors: Sequence[Vector]) -> np.ndarray:
    """z + sum over enabled vectors of strength * vector; (2,) float32."""
    on = active(vectors)
    return latent.apply_vectors(np.asarray(z, np.float32), [np.asarray(v.vector, np.float64) for v in on],
                                [v.strength for v in on])


def rectangle(p0: Sequence[float], p1: Sequence[float]) -> np.ndarray:
    """The 4 corners (4, 2) of the axis-aligned rectangle with opposite corners p0 and p1."""
    (x0, y0), (x1, y1) = p0, p1
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float64)


def check_vector(v: Vector) -> Vector:
    """A copy with a finite D-vector and the strength clamped to the slider range."""
    vec = np.asarray(v.vector, np.float64).ravel()
    if vec.ndim != 1 or len(vec) < 2 or not np.all(np.isfinite(vec)):
        raise ValueError(f"vector {v.name!r} must be finite numbers, one per latent dimension.")
    return Vector(name=str(v.name), vector=tuple(float(x) for x in vec), strength=clamp_strength(v.strength),
                  enabled=bool(v.enabled), auc=None if v.auc is None else float(v.auc))
