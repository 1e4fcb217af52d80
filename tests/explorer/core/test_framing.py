"""The first view's box (explorer.core.framing): all the data, but not a handful of extreme outliers."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core.framing import MARGIN, frame_box, outliers, union


def inside(points: np.ndarray, box) -> np.ndarray:
    x0, x1, y0, y1 = box
    return (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)


def blobs(n: int = 10_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = np.array([[-2.0, 0.0], [2.0, 0.5], [0.0, 2.5], [0.5, -2.0]])
    labels = rng.integers(0, len(centres), n)
    return centres[labels] + rng.normal(scale=0.6, size=(n, 2)), labels


def test_every_point_of_a_smooth_tail_is_framed_with_a_margin():
    """A percentile box (the old rule) left 1 % of the points out; this one frames them all."""
    rng = np.random.default_rng(1)
    pts = rng.uniform(-3, 3, size=(10_000, 2))
    box = frame_box(pts)
    assert inside(pts, box).all()
    x0, x1, y0, y1 = box
    assert x0 < pts[:, 0].min() and x1 > pts[:, 0].max() and y0 < pts[:, 1].min() and y1 > pts[:, 1].max()
    assert (pts[:, 0].min() - x0) == pytest.approx(MARGIN * 6, rel=0.05), "a margin so no dot sits on the edge"
    old = np.percentile(pts, [0.5, 99.5], axis=0)
    assert not inside(pts, (old[0, 0], old[1, 0], old[0, 1], old[1, 1])).all()


def test_a_handful_of_extreme_outliers_does_not_shrink_the_data():
    pts, labels = blobs()
    pts[:3] = [[400.0, 0.0], [0.0, -1e6], [25.0, 25.0]]
    labels[:3] = [0, 1, 2]
    out = outliers(pts)
    assert out[:3].all() and out.sum() <= 10
    box = frame_box(pts, labels)
    assert box[1] < 10 and box[2] > -10 and box[3] < 10
    assert inside(pts[3:], box).mean() >= 0.999


def test_a_small_far_cluster_is_data_not_an_outlier():
    """Forty points far away (0.4 % of the data) are a cluster: framed, unlabelled or as a class of their own."""
    pts, labels = blobs()
    rng = np.random.default_rng(2)
    pts[:40] = [12.0, -9.0] + rng.normal(scale=0.2, size=(40, 2))
    assert not outliers(pts)[:40].any()
    assert inside(pts[:40], frame_box(pts)).all()
    labels[:40] = 7
    assert inside(pts[:40], frame_box(pts, labels)).all()


def test_a_tiny_class_far_away_keeps_its_bulk():
    """Three points of a class of their own beyond a wide gap: not a handful of noise but a class's bulk."""
    pts, labels = blobs()
    pts[:3] = [[30.0, 30.0], [30.2, 30.1], [29.9, 30.3]]
    assert outliers(pts)[:3].all()  # without labels they are a handful of outliers
    labels[:3] = 9
    box = frame_box(pts, labels)
    assert box[1] > 30.0 and box[3] > 30.0


def test_nan_and_infinite_points_are_left_out_and_degenerate_data_gets_a_box():
    pts, _ = blobs(1000)
    pts[0] = [np.nan, 0.0]
    pts[1] = [np.inf, 1.0]
    box = frame_box(pts)
    assert all(np.isfinite(box)) and inside(pts[2:], box).all()
    assert frame_box(np.full((5, 2), np.nan)) is None
    assert frame_box(np.zeros((0, 2))) is None
    x0, x1, y0, y1 = frame_box(np.array([[1.0, 2.0]] * 4))
    assert x0 < 1.0 < x1 and y0 < 2.0 < y1
    x0, x1, y0, y1 = frame_box(np.c_[np.linspace(0, 4, 100), np.zeros(100)])  # a flat line: still a box
    assert x0 < 0 and x1 > 4 and y0 < 0 < y1


def test_union_of_boxes():
    assert union([(0, 1, 0, 1), None, (-1, 0.5, 0.5, 3)]) == (-1, 1, 0, 3)
    assert union([None]) is None


def exact_box(pts: np.ndarray, labels: np.ndarray, monkeypatch) -> tuple:
    import explorer.core.framing as framing

    with monkeypatch.context() as m:
        m.setattr(framing, "SAMPLE_FROM", len(pts) + 1)  # no sampling: every quantile over every point
        return frame_box(pts, labels)


def test_a_million_points_framed_from_a_sample_match_the_exact_box(monkeypatch):
    """Above SAMPLE_FROM the quantiles come from a seeded sample; the box stays within 1 % of its side of
    the exact one, outliers far out are still left out, and a class too small for the sample keeps its bulk."""
    rng = np.random.default_rng(5)
    n = 1_000_000
    centres = np.array([[-2.0, 0.0], [2.0, 0.5], [0.0, 2.5], [0.5, -2.0]])
    labels = rng.integers(0, len(centres), n)
    pts = (centres[labels] + rng.standard_t(5, size=(n, 2)) * 0.5).astype(np.float32)  # heavy-ish tails
    pts[:3] = [[400.0, 0.0], [0.0, -1e6], [np.nan, 1.0]]
    pts[3:200] = [9.0, 9.0] + rng.normal(scale=0.05, size=(197, 2))  # a class of 197 points far out
    labels[3:200] = 9
    box = frame_box(pts, labels)
    exact = exact_box(pts, labels, monkeypatch)
    side = max(exact[1] - exact[0], exact[3] - exact[2])
    assert np.allclose(box, exact, atol=0.01 * side), (box, exact)
    assert box[1] < 50 and box[2] > -50, "the far outliers are not framed"
    assert box[1] > 9.0 and box[3] > 9.0, "the small far class is framed"


def test_sampled_framing_is_quick_at_two_million_points():
    import time

    rng = np.random.default_rng(6)
    pts = rng.normal(size=(2_000_000, 2)).astype(np.float32)
    labels = rng.integers(0, 10, len(pts))
    t0 = time.perf_counter()
    box = frame_box(pts, labels)
    assert time.perf_counter() - t0 < 1.0  # 12-16 s at 10 M before sampling; ~0.15 s at 10 M now
    assert box[0] < pts[:, 0].min() and box[1] > pts[:, 0].max()
