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

Above ``SAMPLE_FROM`` points (10 M means took 12-16 s exactly, on the GUI thread) the quantiles -- the
central box and each class's bulk -- come from a seeded sample of ``SAMPLE`` points (a class the sample
holds fewer than ``CLASS_MIN`` points of is taken whole); the outliers are still found among all the
points beyond the central box (O(N) comparisons, then a sort of the 1 % beyond it), so the box's edges are
the data's own extreme points, not the sample's.
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
SAMPLE_FROM = 400_000  # points: above this, quantiles come from a seeded sample of SAMPLE points
SAMPLE = 200_000
CLASS_MIN = 2_000  # a class with fewer points than this in the sample: its quantiles from all its points
SEED = 0

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


def _as_points(points: np.ndarray) -> np.ndarray:
    """(N, 2) floats: float32 / float64 as given (no float64 copy of 10 M means), anything else as float64."""
    pts = np.asarray(points)
    return (pts if pts.dtype in (np.float32, np.float64) else pts.astype(np.float64)).reshape(-1, 2)


def _finite(pts: np.ndarray) -> np.ndarray:
    """(N,) bool: rows whose both coordinates are finite (one flat pass when all are: 6 ms at 10 M, not 190)."""
    if np.isfinite(pts.reshape(-1)).all():
        return np.ones(len(pts), bool)
    return np.isfinite(pts).all(axis=1)


def outliers(points: np.ndarray) -> np.ndarray:
    """(N,) bool: the extreme outliers of ``points`` (N, 2), which the first view may leave out (NaN and
    infinite points are outliers too)."""
    pts = _as_points(points)
    finite = _finite(pts)
    out = ~finite
    if not finite.any():
        return out
    good = pts if finite.all() else pts[finite]
    lo, hi = np.quantile(good[sample_rows(len(good))].astype(np.float64), [CORE_Q, 1.0 - CORE_Q], axis=0)
    span = np.maximum(hi - lo, max(float((hi - lo).max()), 1e-9) * 0.05)  # a flat axis still has some reach
    handful = max(HANDFUL, int(HANDFUL_SHARE * len(good)))
    far = np.zeros(len(good), bool)
    for ax in range(2):
        col = good[:, ax]
        for rows, sign, edge in ((np.flatnonzero(col < lo[ax]), -1.0, lo[ax]), (np.flatnonzero(col > hi[ax]), 1.0, hi[ax])):
            beyond = sign * (col[rows].astype(np.float64) - edge)  # > 0: the distances past this edge
            rows = rows[beyond > 0]
            beyond = beyond[beyond > 0]
            far[rows[beyond >= _cut(beyond, span[ax], handful)]] = True
    out[far if good is pts else np.flatnonzero(finite)[far]] = True
    return out


def frame_box(points: np.ndarray, labels: np.ndarray | None = None) -> Box | None:
    """(x0, x1, y0, y1) framing every point of ``points`` (N, 2) but the extreme :func:`outliers`, and
    every class's bulk (``labels``, (N,), optional), with a margin; None when there is no finite point."""
    pts = _as_points(points)
    kept = ~outliers(pts)
    if not kept.any():
        return None
    lo = np.array([pts[:, ax].min(where=kept, initial=np.inf) for ax in range(2)], np.float64)
    hi = np.array([pts[:, ax].max(where=kept, initial=-np.inf) for ax in range(2)], np.float64)
    if labels is not None:
        c_lo, c_hi = class_bulk(pts, np.asarray(labels).reshape(-1))
        lo, hi = np.minimum(lo, c_lo), np.maximum(hi, c_hi)
    side = float((hi - lo).max())
    pad = MARGIN * side if side > 0 else 1.0  # one point (or all on one spot): a unit around it
    return float(lo[0] - pad), float(hi[0] + pad), float(lo[1] - pad), float(hi[1] + pad)


def sample_rows(n: int) -> np.ndarray | slice:
    """The rows whose quantiles stand for all ``n``: every row up to ``SAMPLE_FROM``, else a seeded sample."""
    if n <= SAMPLE_FROM:
        return slice(None)
    return np.sort(np.random.default_rng(SEED).choice(n, SAMPLE, replace=False))


def class_bulk(pts: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The lowest and highest (x, y) of every class's ``CLASS_Q``..1-``CLASS_Q`` quantiles (finite points)."""
    finite = _finite(pts)
    all_finite = bool(finite.all())
    rows = sample_rows(len(pts))
    s_pts, s_lab, s_fin = pts[rows], labels[rows], finite[rows]
    values, counts = np.unique(s_lab[s_fin], return_counts=True)
    whole = set()  # classes too thin in the sample (or missing from it): all their points
    if not isinstance(rows, slice):
        lab = labels if all_finite else labels[finite]
        if lab.dtype.kind in "iu" and len(lab) and lab.min() >= 0 and lab.max() < 2**20:
            every = np.flatnonzero(np.bincount(lab.astype(np.int64, copy=False)))  # 11 ms at 10 M; np.unique sorts
        else:
            every = np.unique(lab)
        got = dict(zip(values.tolist(), counts.tolist()))
        whole = {k for k in every.tolist() if got.get(k, 0) < CLASS_MIN}
    lo, hi = np.full(2, np.inf), np.full(2, -np.inf)
    for k in values.tolist() + sorted(whole - set(values.tolist())):
        mine = (labels == k if all_finite else finite & (labels == k)) if k in whole else None
        cls = pts[mine] if mine is not None else s_pts[s_fin & (s_lab == k)]
        c_lo, c_hi = np.quantile(cls.astype(np.float64), [CLASS_Q, 1.0 - CLASS_Q], axis=0)
        lo, hi = np.minimum(lo, c_lo), np.maximum(hi, c_hi)
    return lo, hi


def union(boxes: Iterable[Box | None]) -> Box | None:
    """The smallest box holding every box given (None ones are skipped); None if there is none."""
    boxes = [b for b in boxes if b is not None]
    if not boxes:
        return None
    a = np.asarray(boxes, np.float64)
    return float(a[:, 0].min()), float(a[:, 1].max()), float(a[:, 2].min()), float(a[:, 3].max())
