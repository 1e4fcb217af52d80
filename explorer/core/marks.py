"""The user's marks on the plane: attribute vectors and bookmarks, as evented objects in evented lists.

The explorer state (:mod:`explorer.core.state`) holds one :class:`VectorList` and one
:class:`BookmarkList`; widgets edit them through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import evented
from psygnal.containers import EventedList

from explorer.core import vectors as maths
from explorer.core.attribute import (  # noqa: F401  (re-exported)
    AUC_STRONG,
    AUC_WEAK,
    STRENGTH_MAX,
    STRENGTH_MIN,
    Vector,
    auc_hint,
)
from explorer.core.values import StateError, Vec, as_vec


def latent_dim(session: Any) -> int:
    """A session's latent dimension D (2 when there is none)."""
    means = getattr(session, "means", None)
    if means is not None and np.ndim(means) == 2:
        return int(means.shape[1])
    cfg = getattr(session, "config", None)
    return int(cfg.get("latent_dim", 2)) if isinstance(cfg, dict) else 2


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

    def total(self, session: Any = None, main: Any = None, d: int | None = None) -> np.ndarray:
        """sum over enabled vectors of strength * vector; (D,) (zeros if none), D the session's latent
        dimension. With ``session`` (a compared model), each vector made from groups is that session's own
        group difference; a fixed vector of another dimension is left out."""
        d = d or latent_dim(session if session is not None else main)
        if session is None or session is main:
            return maths.total(self, d).astype(np.float64)
        out = np.zeros(d, np.float64)
        for v in self:
            if v.enabled:
                w = v.for_session(session, main)
                if len(w) == d:
                    out += v.strength * w
        return out

    def add_difference(self, a_mask: np.ndarray, b_mask: np.ndarray, name: str | None = None,
                       strength: float = 1.0, enabled: bool = True, names: tuple[str, str] = ("A", "B")) -> Vector:
        """mean(means[A]) - mean(means[B]) with the AUC of the projection (A positive), appended."""
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
    z: Vec  # a D-point (the plane shows its projection)

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "z":
            value = as_vec(value, "a bookmark")
        elif name == "name":
            value = str(value)
        super().__setattr__(name, value)


class BookmarkList(EventedList):
    def _pre_insert(self, value: Any) -> Bookmark:
        if not isinstance(value, Bookmark):
            raise StateError(f"the bookmark list holds Bookmark objects, not {type(value).__name__}.")
        return value
