"""Latent-space maths, numpy only: interpolation, manifold grids, attribute vectors, neighbours."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

# ----------------------------------------------------------------------------- interpolation


def lerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """(1 - t) a + t b; t may be a scalar or an array (-> (len(t), D)); t outside [0, 1] overshoots."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t_arr = np.asarray(t, np.float64)
    if t_arr.ndim == 0:
        return ((1 - t_arr) * a + t_arr * b).astype(np.float32)
    return ((1 - t_arr)[:, None] * a + t_arr[:, None] * b).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t: float | np.ndarray) -> np.ndarray:
    """Spherical interpolation (Shoemake 1985; White 2016 for generative models).

    Moves along the great circle between the directions of a and b while the norm is interpolated
    linearly, so for |a| = |b| the norm is preserved all the way. Falls back to lerp when the angle
    is tiny or a point is at the origin; for opposite points it turns through a fixed perpendicular.

    Uses the rotation form cos(t w) u_a + sin(t w) u_perp with w = atan2(sin, cos): arccos of the dot
    product loses precision near 0 and pi, which bent the norm of nearly opposite paths.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    t_arr = np.atleast_1d(np.asarray(t, np.float64))
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-12 or nb < 1e-12:
        return lerp(a, b, t)
    ua, ub = a / na, b / nb
    cos = float(ua @ ub)
    perp = ub - cos * ua  # the part of ub at right angles to ua; its length is sin(omega)
    sin = float(np.linalg.norm(perp))
    if sin < 1e-9 and cos > 0:  # same direction
        return lerp(a, b, t)
    if sin < 1e-9:  # antipodal: the great circle is not unique; pick one perpendicular
        perp = np.zeros_like(ua)
        perp[np.argmin(np.abs(ua))] = 1.0
        omega = np.pi
    else:
        omega = np.arctan2(sin, cos)
    perp -= (perp @ ua) * ua  # (re-)orthogonalise, then normalise
    perp /= np.linalg.norm(perp)
    dirs = np.cos(omega * t_arr)[:, None] * ua + np.sin(omega * t_arr)[:, None] * perp
    norms = (1 - t_arr) * na + t_arr * nb
    out = (dirs * norms[:, None]).astype(np.float32)
    return out[0] if np.ndim(t) == 0 else out


def interpolate(a: np.ndarray, b: np.ndarray, t: float | np.ndarray, method: str = "linear") -> np.ndarray:
    if method == "linear":
        return lerp(a, b, t)
    if method == "spherical":
        return slerp(a, b, t)
    raise ValueError(f"unknown interpolation {method!r} (linear or spherical)")


# ----------------------------------------------------------------------------- manifold grid


@dataclass(frozen=True)
class Grid:
    """An n_x by n_y grid of cell centres covering a rectangle of the plane."""

    x0: float
    y0: float
    x1: float
    y1: float
    nx: int
    ny: int

    def centres(self) -> np.ndarray:
        """(ny * nx, 2) float32, row-major from the bottom row (y0) upwards."""
        xs = self.x0 + (np.arange(self.nx) + 0.5) * (self.x1 - self.x0) / self.nx
        ys = self.y0 + (np.arange(self.ny) + 0.5) * (self.y1 - self.y0) / self.ny
        gx, gy = np.meshgrid(xs, ys)
        return np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)


def grid_for_view(x0: float, x1: float, y0: float, y1: float, density: int) -> Grid:
    """Cells that are square in latent units, ``density`` across the longer side of the view."""
    w, h = max(x1 - x0, 1e-9), max(y1 - y0, 1e-9)
    density = max(int(density), 1)
    if w >= h:
        nx, ny = density, max(1, round(density * h / w))
    else:
        nx, ny = max(1, round(density * w / h)), density
    return Grid(x0, y0, x1, y1, nx, ny)


def tile(images: np.ndarray, grid: Grid) -> np.ndarray:
    """Decoded cells (ny*nx, h, w[, 3]) in centres() order -> one row-major mosaic, bottom row first.

    The mosaic's row 0 is at y0 (pyqtgraph's ImageItem with a y-up view draws row 0 at the bottom
    once it is given a transform whose y scale is positive).
    """
    n, h, w = images.shape[:3]
    rest = images.shape[3:]
    assert n == grid.nx * grid.ny, "one image per grid cell"
    imgs = images.reshape(grid.ny, grid.nx, h, w, *rest)
    imgs = imgs[:, :, ::-1]  # each tile's own rows: image row 0 is the top, the view's y grows upwards
    mosaic = imgs.transpose(0, 2, 1, 3, *range(4, 4 + len(rest))).reshape(grid.ny * h, grid.nx * w, *rest)
    return np.ascontiguousarray(mosaic)


# ----------------------------------------------------------------------------- attribute vectors


def attribute_vector(points: np.ndarray, group_a: np.ndarray, group_b: np.ndarray) -> np.ndarray:
    """mean(points[A]) - mean(points[B]); groups are boolean masks or index arrays."""
    pa, pb = np.asarray(points)[group_a], np.asarray(points)[group_b]
    if len(pa) == 0 or len(pb) == 0:
        raise ValueError("both groups need at least one point")
    return (pa.mean(axis=0) - pb.mean(axis=0)).astype(np.float32)


def projection_auc(points: np.ndarray, group_a: np.ndarray, group_b: np.ndarray, vector: np.ndarray) -> float:
    """AUC of the projection on ``vector`` separating A (positive) from B: P(proj a > proj b).

    1.0 = the direction separates the groups perfectly; 0.5 = no better than chance (noise).
    Mann-Whitney U statistic with ties counted as half.
    """
    v = np.asarray(vector, np.float64)
    sa = np.asarray(points, np.float64)[group_a] @ v
    sb = np.asarray(points, np.float64)[group_b] @ v
    if len(sa) == 0 or len(sb) == 0:
        raise ValueError("both groups need at least one point")
    both = np.concatenate([sa, sb])
    order = both.argsort(kind="mergesort")
    ranks = np.empty(len(both), np.float64)
    sorted_vals = both[order]
    # average ranks for ties
    _, first, counts = np.unique(sorted_vals, return_index=True, return_counts=True)
    avg = first + (counts - 1) / 2.0 + 1.0
    ranks[order] = np.repeat(avg, counts)
    u = ranks[: len(sa)].sum() - len(sa) * (len(sa) + 1) / 2.0
    return float(u / (len(sa) * len(sb)))


def apply_vectors(z: np.ndarray, vectors: list[np.ndarray], strengths: list[float]) -> np.ndarray:
    """z + sum_i strength_i * vector_i."""
    out = np.asarray(z, np.float64).copy()
    for v, s in zip(vectors, strengths, strict=True):
        out += float(s) * np.asarray(v, np.float64)
    return out.astype(np.float32)


# ----------------------------------------------------------------------------- neighbours


BRUTE_ROWS = 1 << 18  # rows a brute-force pass takes at a time (fewer GIL hand-overs than smaller blocks, small temporaries)


def sq_distances(points: np.ndarray, q: np.ndarray) -> np.ndarray:
    """(N,) float32 squared distances of ``points`` (N, D) float32 to ``q`` (D,), the same values as
    ``((points - q) ** 2).sum(axis=1)``, in blocks: 45 ms at 10,000,000 2-D points, not 250-450 ms."""
    d = np.empty(len(points), np.float32)
    for i in range(0, len(points), BRUTE_ROWS):
        c = points[i : i + BRUTE_ROWS] - q[None, :]
        c *= c
        if points.shape[1] == 2:
            np.add(c[:, 0], c[:, 1], out=d[i : i + BRUTE_ROWS])
        else:
            c.sum(axis=1, out=d[i : i + BRUTE_ROWS])
    return d


def label_mask(labels: np.ndarray, chosen) -> np.ndarray:
    """(N,) bool: ``labels`` in ``chosen``; a table look-up for small non-negative integer labels (5 ms at
    10,000,000, against 0.7 s for np.isin)."""
    chosen = [int(c) for c in chosen]
    if labels.dtype.kind in "iu" and len(labels):
        lo, hi = int(labels.min()), int(labels.max())
        if lo >= 0 and hi < 1 << 20:
            table = np.zeros(hi + 1, bool)
            table[[c for c in chosen if 0 <= c <= hi]] = True
            return table[labels]
    return np.isin(labels, chosen)


class NearestIndex:
    """Nearest dataset point to a query, exact, in the points' own dimension (the plane's 2, or a model's D).

    Brute force below ``TREE_FROM`` points (about 0.3 ms at 10,000). From there a k-d tree
    (``scipy.spatial.cKDTree``, about 35 us a query at any size, against 2.3 ms brute force at 70,000
    and 32 ms at 1,000,000) is built on a background thread, so neither the caller nor start-up waits for
    scipy's import (0.4 s) or the build; it is built unbalanced and without compact nodes (sliding-midpoint
    splits: ~3 s at 10,000,000 jittered tiled means, against 8.5 s for scipy's default build on the same
    busy machine; the same exact queries). From ``CELLS_FROM`` points the same thread first buckets
    the points in a coarse grid (explorer.core.cell_index, O(N) numpy: ~1.5 s at 10,000,000, then ~0.3 ms a
    query), which answers until the tree is ready; before that, brute force in blocks (``sq_distances``:
    ~50 ms at 10,000,000). Every one of these answers is exact. ``defer=True`` starts the build only on the
    first query, ``wait_tree`` or ``start_build`` (the app's open: not while the first image is made). In more than ``TREE_MAX_DIM`` dimensions a k-d tree prunes too little to beat brute force,
    which is then always used (exact either way). With classes hidden, the tree's nearest ``TREE_OVERSAMPLE * k`` points are filtered; if too
    few of them are visible, the query falls back to brute force over the visible points.
    """

    TREE_FROM = 20_000
    CELLS_FROM = 500_000
    TREE_MAX_DIM = 20
    TREE_OVERSAMPLE = 8

    def __init__(self, points: np.ndarray, labels: np.ndarray | None = None, tree: bool | None = None,
                 defer: bool = False):
        self.points = np.ascontiguousarray(points, np.float32)
        self.labels = labels
        self._visible = np.ones(len(self.points), bool)
        self._n_visible = len(self.points)  # kept with the mask: counting it is O(N) a query at 1,000,000 points
        self._all_visible = True
        self._class_rows: dict[int, np.ndarray] = {}  # label -> its rows (nearest within a class)
        self._tree = None  # a cKDTree once built
        self._cells = None  # a CellIndex once built (until the tree is)
        self._builder: threading.Thread | None = None  # the build's thread (None: brute force only)
        if self.points.ndim != 2:
            raise ValueError(f"points must be (N, D), not {self.points.shape}")
        self.dim = self.points.shape[1]
        self._build_wanted = bool(tree if tree is not None else
                                  (len(self.points) >= self.TREE_FROM and self.dim <= self.TREE_MAX_DIM))
        self._start_lock = threading.Lock()
        if not defer:
            self.start_build()

    def start_build(self) -> None:
        """Start building the grid / tree on its thread, if this index wants one and it has not started. An
        index made with ``defer=True`` (the app's open, so the build does not compete with the first image and
        paint) starts on its first query or ``wait_tree``, or when the window calls this."""
        if not self._build_wanted or self._builder is not None:
            return
        with self._start_lock:
            if self._builder is None:
                self._builder = threading.Thread(target=self._build_tree, name="nearest-index-build")
                self._builder.start()

    def _build_tree(self) -> None:
        if len(self.points) >= self.CELLS_FROM:
            from explorer.core.cell_index import CellIndex

            self._cells = CellIndex(self.points)
        from scipy.spatial import cKDTree

        self._tree = cKDTree(self.points, balanced_tree=False, compact_nodes=False)
        self._cells = None  # the tree answers from now on

    def wait_tree(self, timeout: float | None = None) -> bool:
        """Wait for the tree's build (tests, benchmarks); True when queries use it."""
        self.start_build()
        if self._builder is not None:
            self._builder.join(timeout)
        return self._tree is not None

    def set_visible_labels(self, visible: set[int] | None) -> None:
        if visible is None or self.labels is None:
            self._visible[:] = True
        else:
            self._visible = label_mask(np.asarray(self.labels), visible)
        self._n_visible = int(np.count_nonzero(self._visible))
        self._all_visible = self._n_visible == len(self.points)

    def nearest(self, z: np.ndarray, k: int = 1, label: int | None = None) -> np.ndarray:
        """Indices of the k nearest (visible) points, nearest first; empty if none is visible. ``label``: only
        among that class's points (a conditional model decoding as that class)."""
        if self._builder is None:
            self.start_build()
        if self._n_visible == 0:
            return np.zeros(0, np.int64)
        q = np.asarray(z, np.float32).reshape(-1)[: self.dim]  # a point (D,) or a row (1, D)
        if label is not None and self.labels is not None:
            return self._nearest_of(q, k, int(label))
        tree = self._tree
        if tree is not None and np.all(np.isfinite(q)):
            found = self._from_tree(tree, q, k)
            if found is not None:
                return found
        cells = self._cells
        if tree is None and cells is not None and np.all(np.isfinite(q)):
            return cells.nearest(q, min(k, self._n_visible), None if self._all_visible else self._visible)
        d = sq_distances(self.points, q)
        if not self._all_visible:
            d[~self._visible] = np.inf
        k = min(k, self._n_visible)
        if k == 1:
            return np.array([int(d.argmin())])
        idx = np.argpartition(d, k - 1)[:k]
        return idx[np.argsort(d[idx])]

    def _nearest_of(self, q: np.ndarray, k: int, label: int) -> np.ndarray:
        """Brute force over one class's visible points (its rows found once per class)."""
        rows = self._class_rows.get(label)
        if rows is None:
            rows = self._class_rows[label] = np.flatnonzero(np.asarray(self.labels) == label)
        rows = rows if self._all_visible else rows[self._visible[rows]]
        d = ((self.points[rows] - q[None, :]) ** 2).sum(axis=1)
        return rows[np.argsort(d, kind="stable")[:k]]

    def _from_tree(self, tree, q: np.ndarray, k: int) -> np.ndarray | None:
        n = len(self.points)
        want = min(k, n) if self._all_visible else min(k * self.TREE_OVERSAMPLE, n)
        _dist, idx = tree.query(q.astype(np.float64), k=want)
        idx = np.atleast_1d(np.asarray(idx, np.int64))
        if self._all_visible:
            return idx
        vis = idx[self._visible[idx]]
        # the k nearest visible points are among the ``want`` nearest points if k of those are visible
        return vis[:k] if len(vis) >= min(k, self._n_visible) else None

    def inside(self, polygon: np.ndarray, plane: np.ndarray | None = None) -> np.ndarray:
        """Boolean mask of (visible) points inside a polygon (M, 2) — lasso / rectangle selection.

        ``plane``: the points' plane coordinates (N, 2) (a D-dim model's projections); default: the points."""
        poly = np.asarray(polygon, np.float64)
        if len(poly) < 3:
            return np.zeros(len(self.points), bool)
        xy = self.points if plane is None else np.asarray(plane)
        x, y = xy[:, 0].astype(np.float64), xy[:, 1].astype(np.float64)
        inside = np.zeros(len(x), bool)
        j = len(poly) - 1
        for i in range(len(poly)):  # even-odd ray casting, vectorised over points
            xi, yi = poly[i]
            xj, yj = poly[j]
            crosses = (yi > y) != (yj > y)
            with np.errstate(divide="ignore", invalid="ignore"):
                x_at = (xj - xi) * (y - yi) / (yj - yi) + xi
            inside ^= crosses & (x < x_at)
            j = i
        return inside & self._visible


TYPICAL_SAMPLE = 200_000  # points of the largest class the typical point is looked for among


def typical_point(means: np.ndarray, labels: np.ndarray, bins: int = 32, plane: np.ndarray | None = None) -> np.ndarray:
    """A crisp, typical first point to show: the data mean nearest to the densest spot of the
    largest class (a 2-D histogram over that class's central 98 %), not the median of everything,
    which often falls between classes and decodes to a dim blend. A class of more than ``TYPICAL_SAMPLE``
    points is represented by a seeded sample of that many.

    ``plane``: the means' plane coordinates (N, 2) for a D-dim model (the histogram is drawn there); the
    answer is always one of the ``means`` (D,)."""
    means = np.asarray(means, np.float32)
    labels = np.asarray(labels)
    if len(means) == 0:
        return np.zeros(means.shape[1] if means.ndim == 2 else 2, np.float32)
    xy = means if plane is None else np.asarray(plane, np.float32)
    if labels.dtype.kind in "iu" and labels.min() >= 0 and labels.max() < 1 << 20:
        largest = int(np.argmax(np.bincount(labels.astype(np.int64, copy=False))))  # np.unique sorts: 0.15 s at 10 M
    else:
        values, counts = np.unique(labels, return_counts=True)
        largest = values[np.argmax(counts)]
    rows = np.flatnonzero(labels == largest)
    if len(rows) > TYPICAL_SAMPLE:  # a seeded sample of the class stands for it (0.7 s -> 0.1 s at 10 M points)
        rows = np.sort(np.random.default_rng(0).choice(rows, TYPICAL_SAMPLE, replace=False))
    pts = xy[rows, :2]
    lo, hi = np.percentile(pts, [1, 99], axis=0)
    if not np.all(hi > lo):
        return means[rows[0]].copy()
    h, xe, ye = np.histogram2d(pts[:, 0], pts[:, 1], bins=bins, range=[[lo[0], hi[0]], [lo[1], hi[1]]])
    i, j = np.unravel_index(np.argmax(h), h.shape)
    centre = np.array([(xe[i] + xe[i + 1]) / 2, (ye[j] + ye[j + 1]) / 2], np.float32)
    return means[rows[np.argmin(((pts - centre) ** 2).sum(axis=1))]].copy()

