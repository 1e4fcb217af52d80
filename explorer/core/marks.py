"""The user's marks on the plane: attribute vectors and bookmarks, as evented objects in evented lists.

The explorer state (:mod:`explorer.core.state`) holds one :class:`VectorList` and one
:class:`BookmarkList`; widgets edit them through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from psygnal import evented
from psygnal.containers import EventedList

from explorer.core.values import Point, StateError, as_point, clamp

STRENGTH_MIN, STRENGTH_MAX = -3.0, 3.0  # attribute-vector strengths: the vector panel's slider range
AUC_STRONG, AUC_WEAK = 0.9, 0.7  # >= strong; [weak, strong) weak; below: indistinguishable from noise


# --------------------------------------------------------------------------- vectors


@evented
@dataclass(eq=False)
class Vector:
    """An attribute direction: added ``strength`` times to the base point while ``enabled``."""

    name: str
    vector: Point  # (dx, dy) in latent units
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
            value = as_point(value, "a vector")
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


class VectorList(EventedList):
    """The attribute vectors, in list order. ``events.child_event`` fires when one of them changes.

    ``data()`` returns the plotted data (an object with ``means``, ``labels``, ``label_names``) the
    class and selection differences are computed from; it is the open session.
    """

    def __init__(self, data: Callable[[], Any] | None = None, items: Iterable[Vector] = ()):
        super().__init__(items)
        self._source = data or (lambda: None)

    def _pre_insert(self, value: Any) -> Vector:
        if not isinstance(value, Vector):
            raise StateError(f"the vector list holds Vector objects, not {type(value).__name__}.")
        return value

    def active(self) -> list[Vector]:
        return [v for v in self if v.enabled and v.strength != 0.0]

    def total(self, session: Any = None, main: Any = None) -> np.ndarray:
        """sum over enabled vectors of strength * vector; (2,) (zeros if none). With ``session`` (a
        compared model), each vector made from groups is that session's own group difference."""
        if session is None or session is main:
            from explorer.core import vectors as maths

            return maths.total(self).astype(np.float64)
        out = np.zeros(2, np.float64)
        for v in self:
            if v.enabled:
                out += v.strength * v.for_session(session, main)
        return out

    def add_difference(self, a_mask: np.ndarray, b_mask: np.ndarray, name: str | None = None,
                       strength: float = 1.0, enabled: bool = True, names: tuple[str, str] = ("A", "B")) -> Vector:
        """mean(means[A]) - mean(means[B]) with the AUC of the projection (A positive), appended."""
        from explorer.core import vectors as maths

        d = self._require_data()
        a, b = maths.Group(names[0], np.asarray(a_mask, bool)), maths.Group(names[1], np.asarray(b_mask, bool))
        try:
            vec = maths.make_vector(d.means, a, b, name=name, strength=strength)
        except ValueError as e:
            raise StateError(str(e)) from None
        vec.enabled = enabled
        vec.groups = (a.mask, b.mask)
        self.append(vec)
        return vec

    def add_class_difference(self, a: str | int, b: str | int, name: str | None = None, strength: float = 1.0,
                             enabled: bool = True) -> Vector:
        """mean of class ``a`` minus mean of class ``b`` (names or indices), appended to the list."""
        d = self._require_data()
        ka, kb = class_index(d.label_names, a), class_index(d.label_names, b)
        labels = np.asarray(d.labels)
        return self.add_difference(labels == ka, labels == kb, name, strength, enabled,
                                   names=(d.label_names[ka], d.label_names[kb]))

    def _require_data(self) -> Any:
        d = self._source()
        if d is None or getattr(d, "means", None) is None:
            raise StateError("open a model first: vectors are computed from its plotted means.")
        return d


def class_index(label_names: list[str], c: str | int) -> int:
    if isinstance(c, (int, np.integer)) and not isinstance(c, bool):
        if 0 <= int(c) < len(label_names):
            return int(c)
    elif c in label_names:
        return label_names.index(c)
    raise StateError(f"there is no class {c!r}; the classes are {', '.join(label_names)}.")


# --------------------------------------------------------------------------- bookmarks


@evented
@dataclass(eq=False)
class Bookmark:
    name: str
    z: Point

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "z":
            value = as_point(value, "a bookmark")
        elif name == "name":
            value = str(value)
        super().__setattr__(name, value)


class BookmarkList(EventedList):
    def _pre_insert(self, value: Any) -> Bookmark:
        if not isinstance(value, Bookmark):
            raise StateError(f"the bookmark list holds Bookmark objects, not {type(value).__name__}.")
        return value
