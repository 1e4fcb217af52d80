"""The explorer state's fields and their checks: bounds, choices and the per-field functions. Qt-free.

The simple fields are declared with explorer.core.fields (a state face that clamps, a scene face that
refuses: the scene parser checks a file with the same declarations); the others have a function here
``check(state, value) -> value`` that normalises a value or raises one StateError sentence.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from explorer.core.fields import Check, Choice, Flag, Range
from explorer.core.marks import class_index
from explorer.core.palettes import PALETTES
from explorer.core.values import StateError, opt_point

METHODS = ("linear", "spherical")
T_MIN, T_MAX = -0.5, 1.5  # interpolation t: 0 = A, 1 = B; beyond is overshoot
FRAMES_MIN, FRAMES_MAX = 2, 32
DENSITY_MIN, DENSITY_MAX = 4, 60  # manifold underlay: cells across the longer side of the view
POINT_SIZE_MIN, POINT_SIZE_MAX = 1.0, 20.0
UI_SCALE_MIN, UI_SCALE_MAX = 0.5, 4.0
MAX_COMPARED = 3  # models beside the main one
GROUP_TAGS = ("A", "B")  # the lasso groups a vector is made from (state.groups)

# the checks of the simple fields, declared once
INTERPOLATION_FIELDS: dict[str, Check] = {
    "t": Range(T_MIN, T_MAX, "interpolation t"),
    "method": Choice(METHODS, "interpolation method"),
    "frames": Range(FRAMES_MIN, FRAMES_MAX, "filmstrip frames", integer=True),
    "playing": Flag("playing"),
}
STATE_FIELDS: dict[str, Check] = {
    **{name: Flag(name) for name in ("hover", "underlay", "snap", "presentation", "dim", "link_views",
                                     "plot_samples", "ellipses", "fade", "off_manifold")},
    "density": Range(DENSITY_MIN, DENSITY_MAX, "underlay density", integer=True),
    "point_size": Range(POINT_SIZE_MIN, POINT_SIZE_MAX, "point size"),
    "opacity": Range(0.05, 1.0, "opacity"),
    "palette": Choice(tuple(PALETTES), "palette"),
    "ui_scale": Range(UI_SCALE_MIN, UI_SCALE_MAX, "ui scale"),
}


def _class_number(v: Any, session: Any) -> int:
    """A class index (or name) of the open dataset."""
    if session is not None:
        return class_index(list(session.label_names), v)
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v >= 0:
        return int(v)
    raise StateError(f"the class must be a class number, not {v!r}.")


def _snapshot_number(v: Any, session: Any) -> int:
    n = len(getattr(session, "snapshots", None) or [])
    if not (isinstance(v, (int, np.integer)) and not isinstance(v, bool) and 0 <= v < n):
        raise StateError(f"there is no training snapshot {v!r}; this model has {n}."
                         if n else "this model file holds no training snapshots (latent-train --snapshots N).")
    return int(v)


def _base(_st: Any, v: Any) -> str:
    if v not in ("point", "interpolation"):
        raise StateError(f"base must be 'point' or 'interpolation', not {v!r}.")
    return v


def _view(_st: Any, v: Any) -> tuple[float, float, float, float] | None:
    if v is None:
        return None
    x0, x1, y0, y1 = (float(x) for x in v)
    if not all(map(math.isfinite, (x0, x1, y0, y1))) or not (x1 > x0 and y1 > y0):
        raise StateError(f"view must be increasing finite ranges (x0, x1, y0, y1), not {v!r}.")
    return (x0, x1, y0, y1)


def _groups(_st: Any, v: Any) -> dict[str, tuple[int, ...]]:
    """{"A": indices, "B": indices}: each sorted, without repeats; an empty group is left out."""
    v = dict(v or {})
    bad = [k for k in v if k not in GROUP_TAGS]
    if bad:
        raise StateError(f"groups are named 'A' and 'B', not {bad[0]!r}.")
    out = {}
    for tag in GROUP_TAGS:
        idx = np.asarray(v.get(tag, ()), np.int64).ravel()
        if len(idx) and idx.min() < 0:
            raise StateError(f"group {tag} must list dataset indices (0 or more), not {int(idx.min())}.")
        if len(idx):
            out[tag] = tuple(sorted({int(i) for i in idx}))
    return out


def _compared(_st: Any, v: Any) -> tuple:
    v = tuple(v)
    if len(v) > MAX_COMPARED:
        raise StateError(f"at most {MAX_COMPARED + 1} models can be compared side by side.")
    return v


SPECIAL_FIELDS: dict[str, Any] = {  # field -> check(state, value) -> value
    "point": lambda _st, v: opt_point(v, "point"),
    "drawn": lambda st, v: None if v is None else st.as_z(v, "drawn"),
    "base": _base,
    "hidden_classes": lambda _st, v: tuple(sorted({int(k) for k in v})),
    "view": _view,
    "compared": _compared,
    "groups": _groups,
    "selection": lambda _st, v: tuple(sorted({int(i) for i in np.asarray(v, np.int64).ravel()})),
    "condition": lambda st, v: _class_number(v, st.session),
    "snapshot": lambda st, v: None if v is None else _snapshot_number(v, st.session),
}
