"""The grid index that answers while the k-d tree builds (explorer.core.cell_index), against brute force."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from explorer.core.cell_index import CellIndex
from explorer.core.latent import NearestIndex


def brute(pts: np.ndarray, q: np.ndarray, k: int, visible: np.ndarray | None = None) -> np.ndarray:
    """The k smallest squared distances (float64), over the finite, visible points."""
    d = ((pts.astype(np.float64) - q.astype(np.float64)) ** 2).sum(axis=1)
    d[~np.isfinite(d)] = np.inf
    if visible is not None:
        d[~visible] = np.inf
    d = np.sort(d)[:k]
    return d[np.isfinite(d)]


def clustered(rng, n: int, d: int) -> np.ndarray:
    """Tight clusters, exact duplicates and a sparse halo: cells of very different fullness."""
    centres = rng.normal(scale=3.0, size=(12, d))
    pts = centres[rng.integers(0, 12, n)] + rng.normal(scale=0.05, size=(n, d))
    pts[: n // 10] = pts[n // 10 : 2 * (n // 10)]  # duplicates
    pts[-n // 20 :] = rng.uniform(-12, 12, size=(n // 20, d))  # a halo
    return pts.astype(np.float32)


@pytest.mark.parametrize("d", [1, 2, 5])
def test_cell_index_is_exact_against_brute_force(d):
    rng = np.random.default_rng(d)
    pts = clustered(rng, 40_000, d)
    pts[7] = np.nan  # never an answer
    pts[8, 0] = np.inf
    index = CellIndex(pts)
    assert index.g > 8  # a real grid, not one cell
    visible = rng.random(len(pts)) < 0.2
    queries = np.concatenate([pts[rng.integers(0, len(pts), 60)],  # on the data (ties with duplicates)
                              rng.normal(scale=4.0, size=(60, d)),  # anywhere
                              rng.uniform(-80, 80, size=(10, d))]).astype(np.float32)  # far outside the grid
    for q in queries:
        for k in (1, 7):
            for vis in (None, visible):
                got = index.nearest(q, k, vis)
                assert len(set(got.tolist())) == len(got)
                if vis is not None:
                    assert vis[got].all()
                d2 = ((pts[got].astype(np.float64) - q.astype(np.float64)) ** 2).sum(axis=1)
                np.testing.assert_allclose(d2, brute(pts, q, k, vis), rtol=1e-12, atol=0)


def test_cell_index_returns_what_there_is_when_k_exceeds_the_points():
    pts = np.array([[0, 0], [1, 1], [np.nan, 0], [5, 5]], np.float32)
    got = CellIndex(pts).nearest(np.array([0.9, 0.9], np.float32), 10)
    assert got.tolist() == [1, 0, 3]


class HeldIndex(NearestIndex):
    """A NearestIndex whose k-d tree waits for ``release`` after the grid is built (the window between
    the two, which lasts seconds at 10,000,000 points)."""

    CELLS_FROM = 1_000

    def __init__(self, *args, **kwargs):
        self.release, self.cells_ready = threading.Event(), threading.Event()
        super().__init__(*args, **kwargs)

    def _build_tree(self) -> None:
        from explorer.core.cell_index import CellIndex as Cells

        self._cells = Cells(self.points)
        self.cells_ready.set()
        self.release.wait(30)
        super()._build_tree()


def test_nearest_index_answers_exactly_from_the_grid_until_the_tree_is_built():
    rng = np.random.default_rng(11)
    pts = clustered(rng, 30_000, 2)
    labels = rng.integers(0, 10, len(pts))
    index = HeldIndex(pts, labels)
    assert index.cells_ready.wait(30) and not index.wait_tree(0)
    queries = rng.normal(scale=4.0, size=(100, 2)).astype(np.float32)
    before = {}
    for hidden in (None, {0, 1, 2, 3, 4, 5, 6, 7}):
        index.set_visible_labels(None if hidden is None else set(range(10)) - hidden)
        mask = None if hidden is None else ~np.isin(labels, list(hidden))
        for i, q in enumerate(queries):
            t0 = time.perf_counter()
            got = index.nearest(q, 3)
            assert time.perf_counter() - t0 < 0.5
            assert index._cells is not None and index._tree is None  # the grid answered
            d2 = ((pts[got].astype(np.float64) - q.astype(np.float64)) ** 2).sum(axis=1)
            np.testing.assert_allclose(d2, brute(pts, q, 3, mask), rtol=1e-12, atol=0)
            before[hidden is None, i] = d2
    index.release.set()
    assert index.wait_tree(30) and index._cells is None  # the tree takes over; the grid is let go
    for hidden in (None, {0, 1, 2, 3, 4, 5, 6, 7}):
        index.set_visible_labels(None if hidden is None else set(range(10)) - hidden)
        for i, q in enumerate(queries):
            got = index.nearest(q, 3)
            d2 = ((pts[got].astype(np.float64) - q.astype(np.float64)) ** 2).sum(axis=1)
            np.testing.assert_allclose(d2, before[hidden is None, i], rtol=1e-12, atol=0)  # the same answer


def test_a_deferred_index_builds_on_its_first_query_and_answers_exactly_meanwhile():
    rng = np.random.default_rng(12)
    pts = rng.normal(size=(NearestIndex.TREE_FROM, 2)).astype(np.float32)
    index = NearestIndex(pts, defer=True)
    time.sleep(0.05)
    assert index._builder is None and index._tree is None  # nothing started yet
    q = np.array([0.1, 0.2], np.float32)
    got = index.nearest(q, 2)  # answered (brute force) and the build started
    assert index._builder is not None
    np.testing.assert_allclose(((pts[got].astype(np.float64) - q) ** 2).sum(axis=1), brute(pts, q, 2), rtol=1e-6)
    assert index.wait_tree(30)
    np.testing.assert_allclose(((pts[index.nearest(q, 2)].astype(np.float64) - q) ** 2).sum(axis=1),
                               brute(pts, q, 2), rtol=1e-12)
