"""The first view of a plane: a box that frames all the data, robust to a handful of extreme outliers.

A percentile box alone (the 0.5..99.5 percentiles, the rule before issue 19) cut 1 % of the points off the
screen, and the dots at its edges in half. Here every point is framed except the extreme outliers, found
per axis and side beyond the central box (the ``CORE_Q``..1-``CORE_Q`` quantiles, span s): walking out from
its edge, the points past an empty gap wider than ``GAP`` x s, or farther out than ``FAR`` x s, are
outliers if there are only a handful of them (at most ``HANDFUL`` or ``HANDFUL_SHARE`` of all points).
A tail that thins out gradually is data and framed; one odd image or a broken encode far away cannot
shrink the data to a dot; a whole cluster out there is more than a handful, and kept. With labels, each
class's bulk (its ``CLASS_Q``..1-``CLASS_Q`` quantiles, however small the class) is framed too.
``MARGIN`` of the box's larger side goes around it, so no dot sits on the edge.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np

CORE_Q = 0.005  # the central box: the 0.5..99.5 percentiles of all points, per axis
GAP = 0.1  # an empty gap this wide (x the central box's span) cuts off the handful of points beyond it
FAR = 1.0  # beyond the central box by more than this (x its span): a handful of points there are outliers
HANDFUL, HANDFUL_SHARE = 5, 0.001  # at most max(HANDFUL, HANDFUL_SHARE x N) points are dropped per side
CLASS_Q = 0.01  # each class's bulk: its 1..99 percentiles, framed whatever the class's size
MARGIN = 0.05  # around the framed points, as a share of the box's larger side

Box = tuple[float, float, float, float]  # (x0, x1, y0, y1)


def _cut(dist: np.ndarray, span: float, handful: int) -> float:
    """Distances beyond a box edge (>= 0): the distance past which the points are outliers (inf: none)."""
    d = np.sort(dist)
    m = len(d)
    before = np.concatenate([[0.0], d[:-1]])  # the next point inwards (the box edge for the first)
    # a point past a wide empty gap, or the first point past FAR: a cut there drops it and all beyond it
    for i in np.flatnonzero((d - before > GAP * span) | ((d > FAR * span) & (before <= FAR * span))):
        if m - i <= handful:
            return float(d[i])
    return math.inf


def outliers(points: np.ndarray) -> np.ndarray:
    """(N,) bool: the extreme outliers of ``points`` (N, 2), which the first view may leave out (NaN and
    infinite points are outliers too)."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    finite = np.isfinite(pts).all(axis=1)
    out = ~finite
    if not finite.any():
        return out
    good = pts[finite]
    lo, hi = np.quantile(good, [CORE_Q, 1.0 - CORE_Q], axis=0)
    span = np.maximum(hi - lo, max(float((hi - lo).max()), 1e-9) * 0.05)  # a flat axis still has some reach
    handful = max(HANDFUL, int(HANDFUL_SHARE * len(good)))
    far = np.zeros(len(good), bool)
    for ax in range(2):
        for beyond in (lo[ax] - good[:, ax], good[:, ax] - hi[ax]):
            rows = np.flatnonzero(beyond > 0)
            far[rows[beyond[rows] >= _cut(beyond[rows], span[ax], handful)]] = True
    out[np.flatnonzero(finite)[far]] = True
    return out


def frame_box(points: np.ndarray, labels: np.ndarray | None = None) -> Box | None:
    """(x0, x1, y0, y1) framing every point of ``points`` (N, 2) but the extreme :func:`outliers`, and
    every class's bulk (``labels``, (N,), optional), with a margin; None when there is no finite point."""
    pts = np.asarray(points, np.float64).reshape(-1, 2)
    out = outliers(pts)
    kept = pts[~out]
    if not len(kept):
        return None
    lo, hi = kept.min(axis=0), kept.max(axis=0)
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        finite = np.isfinite(pts).all(axis=1)
        for k in np.unique(labels[finite]):
            cls = pts[finite & (labels == k)]
            c_lo, c_hi = np.quantile(cls, [CLASS_Q, 1.0 - CLASS_Q], axis=0)
            lo, hi = np.minimum(lo, c_lo), np.maximum(hi, c_hi)
    side = float((hi - lo).max())
    pad = MARGIN * side if side > 0 else 1.0  # one point (or all on one spot): a unit around it
    return float(lo[0] - pad), float(hi[0] + pad), float(lo[1] - pad), float(hi[1] + pad)


def union(boxes: Iterable[Box | None]) -> Box | None:
    """The smallest box holding every box given (None ones are skipped); None if there is none."""
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    a = np.asarray(boxes, np.float64)
    return float(a[:, 0].min()), float(a[:, 1].max()), float(a[:, 2].min()), float(a[:, 3].max())
