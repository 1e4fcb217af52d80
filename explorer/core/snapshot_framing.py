"""Where the view goes when the training snapshot shown changes, and the views on the way there. Qt-free.

Watch it learn frames each snapshot as it is shown (:func:`snapshot_view`): the robust box of the plotted
means (0.5..99.5 percentiles: a handful of outliers do not shrink the shape), padded. A plane's spread grows
or shrinks by orders of magnitude over training (an initial model's means lie within a few hundredths; a
trained one's span several units; a collapsed one shrinks again), so no one fixed view shows every snapshot at
a readable size. The Training panel moves the view there smoothly (:func:`glide`, a few frames on the GUI
thread), so the audience sees the shape form and the axes' numbers tell the scale.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

View = tuple[float, float, float, float]  # x0, x1, y0, y1

PAD = 0.08  # of the box's longer side, on every edge (as Reset view pads)
LO, HI = 0.5, 99.5  # the percentiles a robust box spans
MIN_HALF = 1e-4  # half the side of a box around points that all coincide


def robust_box(xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(lo, hi): the 0.5 and 99.5 percentiles of (N, 2) plane points, per axis."""
    lo, hi = np.percentile(np.asarray(xy, np.float64), [LO, HI], axis=0)
    return lo, hi


def frame_boxes(boxes: Iterable[tuple[np.ndarray, np.ndarray]], pad: float = PAD, square: bool = False) -> View:
    """The view that holds every (lo, hi) box, padded by ``pad`` of its longer side; ``square``: as wide as
    high (a square image: the exported movie)."""
    boxes = list(boxes)
    lo = np.min([b[0] for b in boxes], axis=0)
    hi = np.max([b[1] for b in boxes], axis=0)
    c = (lo + hi) / 2
    half = np.maximum((hi - lo) / 2, MIN_HALF)
    if square:
        half = np.full(2, half.max())
    margin = pad * 2 * float(half.max())
    half = half + margin
    return float(c[0] - half[0]), float(c[0] + half[0]), float(c[1] - half[1]), float(c[1] + half[1])


def frame_points(xy: np.ndarray, pad: float = PAD) -> View:
    """The view that frames the bulk of the (N, 2) plane points ``xy``."""
    return frame_boxes([robust_box(xy)], pad)


def plotted_means(state: Any, session: Any) -> np.ndarray | None:
    """``session``'s means as the main plane plots them (projected on ``state.slice`` for a D-dim model)."""
    if session is None or session.means is None or not len(session.means):
        return None
    return np.asarray(state.slice.project(session.means))


def snapshot_view(state: Any, shown: Any) -> View | None:
    """The view that frames the main plane's points as shown now: ``shown`` is the training snapshot's
    session (or the final weights'), explorer.core.pane.shown_session(state). None without a model."""
    xy = plotted_means(state, shown)
    return None if xy is None else frame_points(xy)


def all_snapshots_view(state: Any) -> View | None:
    """One view that frames every computed snapshot's points and the final weights' (the movie's frame)."""
    main = state.session
    if main is None:
        return None
    sessions = [*getattr(main, "snapshot_sessions", {}).values(), main]
    boxes = [robust_box(xy) for xy in (plotted_means(state, s) for s in sessions) if xy is not None]
    return frame_boxes(boxes) if boxes else None


def glide(a: View, b: View, t: float) -> View:
    """The view a fraction ``t`` (0..1) of the way from ``a`` to ``b``, eased (slow, fast, slow): the centre
    moves in a straight line, the size changes geometrically, so a zoom by 100x looks as even as one by 2x."""
    t = float(np.clip(t, 0.0, 1.0))
    s = t * t * (3 - 2 * t)  # smoothstep
    out = []
    for (a0, a1), (b0, b1) in (((a[0], a[1]), (b[0], b[1])), ((a[2], a[3]), (b[2], b[3]))):
        ca, cb = (a0 + a1) / 2, (b0 + b1) / 2
        wa, wb = max(a1 - a0, 1e-12), max(b1 - b0, 1e-12)
        c = ca + (cb - ca) * s
        w = wa * (wb / wa) ** s
        out += [c - w / 2, c + w / 2]
    return float(out[0]), float(out[1]), float(out[2]), float(out[3])


def is_widened(view: View, of: View, rel: float = 1e-6) -> bool:
    """``view`` is ``of`` with one or both ranges widened about the same centre: what a plane with a locked
    aspect shows when asked for ``of`` (and again when it is resized), not a view anyone chose."""
    tol = rel * max(of[1] - of[0], of[3] - of[2])
    return all(abs((v0 + v1) - (o0 + o1)) / 2 <= tol and v0 <= o0 + tol and v1 >= o1 - tol
               for v0, v1, o0, o1 in ((view[0], view[1], of[0], of[1]), (view[2], view[3], of[2], of[3])))
