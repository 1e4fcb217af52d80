"""latent.py: interpolation, manifold grids and tiling, attribute vectors, nearest neighbours."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from explorer.core import latent
from explorer.core.latent import (
    Grid,
    NearestIndex,
    apply_vectors,
    attribute_vector,
    grid_for_view,
    interpolate,
    lerp,
    projection_auc,
    slerp,
    tile,
    typical_point,
)

coord = st.floats(-100, 100, allow_nan=False, width=32)
point = st.tuples(coord, coord).map(lambda p: np.array(p, np.float32))
SETTINGS = settings(max_examples=100, deadline=None)
# array draws cost ~10x more per example; a loaded CI machine must not turn that into a health-check failure
SLOW_SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def close(actual, expected, tol=1e-6):
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64), atol=tol, rtol=tol)


# ----------------------------------------------------------------------------- interpolation


@SETTINGS
@given(point, point, st.sampled_from(["linear", "spherical"]))
def test_end_points_are_exact(a, b, method):
    close(interpolate(a, b, 0.0, method), a)
    close(interpolate(a, b, 1.0, method), b)
    path = interpolate(a, b, np.array([0.0, 0.5, 1.0]), method)
    assert path.shape == (3, 2) and path.dtype == np.float32 and np.isfinite(path).all()
    close(path[0], a)
    close(path[-1], b)


@SETTINGS
@given(point, st.floats(0, 2 * math.pi), st.floats(-0.5, 1.5))
def test_slerp_preserves_the_norm(a, angle, t):
    r = float(np.linalg.norm(a.astype(np.float64)))
    assume(r > 1e-3)
    b = r * np.array([math.cos(angle), math.sin(angle)])
    z = slerp(a, b, t)
    assert z.shape == (2,)
    assert np.linalg.norm(z.astype(np.float64)) == pytest.approx(r, rel=1e-5)


@pytest.mark.parametrize("gap", [0.0, 1e-9, 3e-7, 2e-6, 1e-5, 1e-3, 0.1])
def test_slerp_near_antipodal_keeps_norm_and_end_points(gap):
    """Near-opposite points are where arccos(cos) loses precision; the path must still hold."""
    a = np.array([30.0, 40.0])
    angle = math.atan2(40, 30) + math.pi - gap
    b = 50.0 * np.array([math.cos(angle), math.sin(angle)])
    t = np.linspace(-0.5, 1.5, 41)
    path = slerp(a, b, t).astype(np.float64)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 50.0, rtol=1e-6)
    close(slerp(a, b, 0.0), a.astype(np.float32))
    close(slerp(a, b, 1.0), b.astype(np.float32))


def test_slerp_antipodal_is_finite_and_turns_through_a_perpendicular():
    a, b = np.array([2.0, 0.0]), np.array([-2.0, 0.0])
    path = slerp(a, b, np.linspace(0, 1, 11))
    assert np.isfinite(path).all()
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), 2.0, rtol=1e-6)
    mid = slerp(a, b, 0.5)
    assert abs(mid[0]) < 1e-6 and abs(abs(mid[1]) - 2.0) < 1e-6  # a quarter turn, not through 0


def test_slerp_with_the_origin_is_finite_and_linear():
    a, b = np.zeros(2), np.array([3.0, -1.0])
    t = np.array([-0.5, 0.0, 0.3, 1.0, 1.5])
    for x, y in [(a, b), (b, a), (a, a)]:
        out = slerp(x, y, t)
        assert np.isfinite(out).all()
        close(out, lerp(x, y, t))


def test_slerp_of_a_point_with_itself_stays_put():
    a = np.array([1.5, -2.5], np.float32)
    close(slerp(a, a, np.linspace(-0.5, 1.5, 5)), np.tile(a, (5, 1)))


def test_slerp_quarter_turn_midpoint():
    mid = slerp(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 0.5)
    close(mid, [math.sqrt(0.5), math.sqrt(0.5)])


def test_slerp_interpolates_the_norm_linearly():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 3.0])
    for t in (0.25, 0.5, 0.75):
        assert np.linalg.norm(slerp(a, b, t)) == pytest.approx(1 + 2 * t, rel=1e-6)


@pytest.mark.parametrize("t", [-0.5, 1.5, 0.25])
def test_lerp_overshoot_is_affine(t):
    a, b = np.array([1.0, -2.0]), np.array([4.0, 6.0])
    close(lerp(a, b, t), (1 - t) * a + t * b)
    close(lerp(a, b, np.array([t]))[0], (1 - t) * a + t * b)


def test_lerp_array_of_t():
    a, b = np.array([0.0, 0.0]), np.array([2.0, 4.0])
    out = lerp(a, b, np.array([-0.5, 0.0, 0.5, 1.0, 1.5]))
    assert out.shape == (5, 2) and out.dtype == np.float32
    close(out, [[-1, -2], [0, 0], [1, 2], [2, 4], [3, 6]])


def test_interpolate_dispatches_and_rejects_unknown_methods():
    a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
    close(interpolate(a, b, 0.5, "linear"), [0.5, 0.5])
    close(interpolate(a, b, 0.5, "spherical"), slerp(a, b, 0.5))
    with pytest.raises(ValueError, match="unknown interpolation 'cubic'"):
        interpolate(a, b, 0.5, "cubic")


# ----------------------------------------------------------------------------- grids and tiles


def test_grid_centres_count_order_and_extent():
    g = Grid(-2.0, 1.0, 4.0, 3.0, nx=3, ny=2)  # cells 2 wide, 1 high
    c = g.centres()
    assert c.shape == (6, 2) and c.dtype == np.float32
    close(c, [[-1, 1.5], [1, 1.5], [3, 1.5], [-1, 2.5], [1, 2.5], [3, 2.5]])  # bottom row first


@pytest.mark.parametrize(("view", "density", "cells"), [
    ((0, 4, 0, 2), 8, (8, 4)),     # wide
    ((0, 2, -3, 3), 9, (3, 9)),    # tall
    ((-1, 1, -1, 1), 5, (5, 5)),   # square
])
def test_grid_for_view_has_square_cells(view, density, cells):
    x0, x1, y0, y1 = view
    g = grid_for_view(x0, x1, y0, y1, density)
    assert (g.nx, g.ny) == cells and max(g.nx, g.ny) == density
    assert (g.x0, g.x1, g.y0, g.y1) == (x0, x1, y0, y1)
    assert (g.x1 - g.x0) / g.nx == pytest.approx((g.y1 - g.y0) / g.ny)


@pytest.mark.parametrize(("w", "h", "density"), [(3.0, 1.0, 10), (1.0, 7.3, 12), (5.0, 0.01, 4), (2.2, 2.0, 1)])
def test_grid_for_view_rounds_to_nearly_square_cells(w, h, density):
    g = grid_for_view(0.0, w, 10.0, 10.0 + h, density)
    assert max(g.nx, g.ny) == density and min(g.nx, g.ny) >= 1
    cell_w, cell_h = w / g.nx, h / g.ny
    short_cells = min(w, h) / (max(w, h) / density)  # ideal count along the short side
    if short_cells >= 1:  # rounding to whole cells changes the aspect by at most half a cell
        assert abs(cell_w / cell_h - 1) <= 0.5 / math.floor(short_cells + 0.5) + 1e-9


def encoded_cells(grid: Grid, h: int, w: int) -> np.ndarray:
    """Cell i's image is filled with i; its top image row holds the marker 100 + i."""
    n = grid.nx * grid.ny
    images = np.repeat(np.arange(n, dtype=np.float32), h * w).reshape(n, h, w)
    images[:, 0, :] = 100 + np.arange(n)[:, None]
    return images


def test_tile_places_each_cell_and_flips_it():
    grid, h, w = Grid(0.0, 0.0, 3.0, 2.0, nx=3, ny=2), 4, 5
    mosaic = tile(encoded_cells(grid, h, w), grid)
    assert mosaic.shape == (grid.ny * h, grid.nx * w) and mosaic.flags.c_contiguous
    centres = grid.centres()
    for r in range(grid.ny):  # r counts from the bottom (y0), like the mosaic's rows
        for c in range(grid.nx):
            i = r * grid.nx + c
            block = mosaic[r * h:(r + 1) * h, c * w:(c + 1) * w]
            assert np.all(block[:-1] == i), (r, c)
            assert np.all(block[-1] == 100 + i), "the tile's top row must be at its high-y end"
            # the decoded centre lies in the block that the mosaic puts there
            cx, cy = centres[i]
            assert c <= cx < c + 1 and r <= cy < r + 1


def test_tile_colour():
    grid, h, w = Grid(0.0, 0.0, 2.0, 3.0, nx=2, ny=3), 3, 2
    grey = encoded_cells(grid, h, w)
    colour = np.stack([grey, grey + 0.25, grey + 0.5], axis=-1)  # (n, h, w, 3)
    mosaic = tile(colour, grid)
    assert mosaic.shape == (grid.ny * h, grid.nx * w, 3)
    for r in range(grid.ny):
        for c in range(grid.nx):
            i = r * grid.nx + c
            block = mosaic[r * h:(r + 1) * h, c * w:(c + 1) * w]
            np.testing.assert_array_equal(block[:-1], np.broadcast_to([i, i + 0.25, i + 0.5], (h - 1, w, 3)))
            np.testing.assert_array_equal(block[-1], np.broadcast_to([100 + i, 100.25 + i, 100.5 + i], (w, 3)))


def test_tile_rejects_the_wrong_count():
    with pytest.raises(AssertionError):
        tile(np.zeros((5, 2, 2), np.float32), Grid(0, 0, 1, 1, 2, 3))


# ----------------------------------------------------------------------------- attribute vectors


def test_attribute_vector_is_the_difference_of_means():
    pts = np.array([[0, 0], [2, 0], [10, 10], [12, 14], [99, 99]], np.float32)
    mask_a = np.array([False, False, True, True, False])
    close(attribute_vector(pts, mask_a, [0, 1]), [10, 12])
    close(attribute_vector(pts, [0, 1], mask_a), [-10, -12])
    with pytest.raises(ValueError, match="at least one point"):
        attribute_vector(pts, np.zeros(5, bool), [0])


def test_auc_perfect_reversed_and_swapped():
    rng = np.random.default_rng(0)
    a = rng.uniform(5, 6, size=(50, 2))
    b = rng.uniform(0, 1, size=(70, 2))
    pts = np.concatenate([a, b])
    ga, gb = np.arange(50), np.arange(50, 120)
    assert projection_auc(pts, ga, gb, [1.0, 0.0]) == 1.0
    assert projection_auc(pts, ga, gb, [-1.0, 0.0]) == 0.0
    assert projection_auc(pts, gb, ga, [1.0, 0.0]) == 0.0
    v = attribute_vector(pts, ga, gb)
    assert projection_auc(pts, ga, gb, v) == 1.0


def test_auc_of_identical_distributions_is_about_half():
    rng = np.random.default_rng(1)
    pts = rng.normal(size=(10_000, 2))
    ga = np.zeros(10_000, bool)
    ga[rng.permutation(10_000)[:5000]] = True
    assert abs(projection_auc(pts, ga, ~ga, [0.6, 0.8]) - 0.5) < 0.03


def test_auc_counts_ties_as_half():
    pts = np.array([[0.0, 0.0], [0.0, 0.0]])
    assert projection_auc(pts, [0], [1], [1.0, 0.0]) == 0.5
    pts = np.array([[1.0, 5.0], [0.0, 7.0], [0.0, -3.0]])  # A = {1, 0}, B = {0} on the x axis
    assert projection_auc(pts, [0, 1], [2], [1.0, 0.0]) == 0.75
    assert projection_auc(np.ones((6, 2)), [0, 1, 2], [3, 4, 5], [1.0, 1.0]) == 0.5
    with pytest.raises(ValueError, match="both groups need at least one point"):
        projection_auc(pts, [0], [], [1.0, 0.0])


def brute_auc(points, ga, gb, v) -> float:
    sa = np.asarray(points, np.float64)[ga] @ np.asarray(v, np.float64)
    sb = np.asarray(points, np.float64)[gb] @ np.asarray(v, np.float64)
    wins = (sa[:, None] > sb[None, :]).sum() + 0.5 * (sa[:, None] == sb[None, :]).sum()
    return wins / (len(sa) * len(sb))


small_int = st.integers(-3, 3)  # few values, so many ties


@SLOW_SETTINGS
@given(st.data())
def test_auc_equals_brute_force(data):
    n = data.draw(st.integers(2, 40))
    pts = data.draw(hnp.arrays(np.float64, (n, 2), elements=small_int.map(float)))
    in_a = data.draw(hnp.arrays(bool, n))
    in_a[0], in_a[1] = True, False  # both groups non-empty
    v = data.draw(st.tuples(small_int, small_int).filter(lambda p: p != (0, 0)))
    assert projection_auc(pts, in_a, ~in_a, v) == pytest.approx(brute_auc(pts, in_a, ~in_a, v), abs=1e-12)
    ia, ib = np.flatnonzero(in_a), np.flatnonzero(~in_a)  # index arrays work like masks
    assert projection_auc(pts, ia, ib, v) == pytest.approx(brute_auc(pts, in_a, ~in_a, v), abs=1e-12)


def test_apply_vectors():
    z = np.array([1.0, 1.0], np.float32)
    out = apply_vectors(z, [np.array([1.0, 0.0]), np.array([0.0, 2.0])], [0.5, -1.5])
    assert out.dtype == np.float32
    close(out, [1.5, -2.0])
    close(apply_vectors(z, [], []), z)
    with pytest.raises(ValueError, match=r"zip\(\) argument 2 is longer than argument 1"):
        apply_vectors(z, [np.array([1.0, 0.0])], [1.0, 2.0])


# ----------------------------------------------------------------------------- nearest neighbours


def sq_dist32(points, z) -> np.ndarray:
    return ((np.asarray(points, np.float32) - np.asarray(z, np.float32)) ** 2).sum(axis=1)


@SLOW_SETTINGS
@given(st.data())
def test_nearest_equals_brute_force(data):
    """Exact on both paths, hidden classes included: brute force (small datasets) equals the float32
    distances; the k-d tree (big ones: oversampled, else brute force) the float64 ones."""
    tree = data.draw(st.booleans())
    n = data.draw(st.integers(1, 300 if tree else 60))
    pts = data.draw(hnp.arrays(np.float32, (n, 2), elements=coord))
    labels = data.draw(hnp.arrays(np.int64, n, elements=st.integers(0, 3)))
    z = data.draw(point)
    k = data.draw(st.integers(1, 5))
    visible = data.draw(st.none() | st.sets(st.integers(0, 4), max_size=4))
    index = NearestIndex(pts, labels, tree=tree)
    assert index.wait_tree(30) == tree
    index.set_visible_labels(visible)
    mask = np.ones(n, bool) if visible is None else np.isin(labels, list(visible))
    got = index.nearest(z, k)
    if not mask.any():
        assert len(got) == 0
        return
    assert len(got) == min(k, mask.sum()) and len(set(got.tolist())) == len(got)
    assert mask[got].all()  # only visible points
    if tree:
        d = ((pts.astype(np.float64) - z.astype(np.float64)) ** 2).sum(axis=1)
        np.testing.assert_allclose(d[got], np.sort(d[mask])[: len(got)], rtol=1e-9, atol=0)
    else:
        d = sq_dist32(pts, z)
        np.testing.assert_array_equal(d[got], np.sort(d[mask])[: len(got)])  # the k smallest, nearest first


def test_a_big_index_builds_its_tree_in_the_background_and_agrees_with_brute_force():
    rng = np.random.default_rng(3)
    pts = rng.normal(size=(NearestIndex.TREE_FROM, 2)).astype(np.float32)
    labels = rng.integers(0, 10, len(pts))
    index = NearestIndex(pts, labels)
    assert not NearestIndex(pts[:100]).wait_tree(0)  # small: brute force only, no tree
    early = rng.normal(size=(20, 2)).astype(np.float32)
    before = [index.nearest(q, 3) for q in early]  # answered at once, whether the tree is built yet or not
    assert index.wait_tree(30)
    for q, b in zip(early, before):
        np.testing.assert_array_equal(index.nearest(q, 3), b)
    qs = rng.normal(size=(200, 2)).astype(np.float32)
    for hidden in (None, {0, 1, 2, 3, 4, 5, 6, 7, 8}):
        index.set_visible_labels(None if hidden is None else set(range(10)) - hidden)
        mask = np.ones(len(pts), bool) if hidden is None else ~np.isin(labels, list(hidden))
        for q in qs:
            d = ((pts.astype(np.float64) - q.astype(np.float64)) ** 2).sum(axis=1)
            got = index.nearest(q, 4)
            assert mask[got].all()
            np.testing.assert_allclose(d[got], np.sort(d[mask])[:4], rtol=1e-9, atol=0)


def test_nearest_k_ordering_and_visible_labels():
    pts = np.array([[0, 0], [1, 0], [3, 0], [6, 0], [10, 0]], np.float32)
    labels = np.array([0, 1, 0, 1, 0])
    index = NearestIndex(pts, labels)
    assert index.nearest(np.array([2.9, 0.0])).tolist() == [2]
    assert index.nearest(np.array([2.9, 0.0]), k=3).tolist() == [2, 1, 0]  # d = 0.1, 1.9, 2.9
    assert index.nearest(np.array([2.9, 0.0]), k=99).tolist() == [2, 1, 0, 3, 4]
    index.set_visible_labels({1})
    assert index.nearest(np.array([2.9, 0.0])).tolist() == [1]
    assert index.nearest(np.array([2.9, 0.0]), k=3).tolist() == [1, 3]
    index.set_visible_labels(set())
    assert index.nearest(np.array([2.9, 0.0])).tolist() == []
    assert index.nearest(np.array([2.9, 0.0]), k=3).tolist() == []
    index.set_visible_labels(None)
    assert index.nearest(np.array([9.0, 0.0])).tolist() == [4]


def test_nearest_k_is_sorted_on_a_large_set():
    """Large k on many points: where a partial sort (argpartition) alone would leave them unordered."""
    rng = np.random.default_rng(5)
    pts = rng.normal(size=(2000, 2)).astype(np.float32)
    labels = rng.integers(0, 10, 2000)
    index = NearestIndex(pts, labels)
    z = np.array([0.1, -0.2], np.float32)
    d = sq_dist32(pts, z)
    got = index.nearest(z, k=200)
    np.testing.assert_array_equal(d[got], np.sort(d)[:200])
    index.set_visible_labels({2, 7})
    got = index.nearest(z, k=100)
    assert np.isin(labels[got], [2, 7]).all()
    np.testing.assert_array_equal(d[got], np.sort(d[np.isin(labels, [2, 7])])[:100])


def test_nearest_accepts_a_point_as_a_row():
    """A decode result's z is (1, 2); asking for its neighbour must work like the 1-D point."""
    index = NearestIndex(np.array([[0, 0], [5, 5], [9, 1]], np.float32))
    assert index.nearest(np.array([[8.0, 1.5]])).tolist() == [2]
    assert index.nearest(np.array([[4.0, 4.0]]), k=2).tolist() == [1, 0]


def test_nearest_on_an_empty_index():
    assert NearestIndex(np.zeros((0, 2), np.float32)).nearest(np.zeros(2)).tolist() == []


SQUARE = np.array([[0, 0], [2, 0], [2, 2], [0, 2]], float)
L_SHAPE = np.array([[0, 0], [3, 0], [3, 1], [1, 1], [1, 3], [0, 3]], float)  # concave: notch at top right


@pytest.mark.parametrize(("polygon", "points", "expected"), [
    (SQUARE, [[1, 1], [0.5, 1.9], [1.99, 0.01], [3, 1], [-1, 1], [1, 3], [1, -0.5]],
     [True, True, True, False, False, False, False]),
    (L_SHAPE, [[0.5, 0.5], [2.5, 0.5], [0.5, 2.5], [2, 2], [1.5, 1.5], [2.9, 2.9], [4, 0.5], [0.5, 4], [-0.1, 2]],
     [True, True, True, False, False, False, False, False, False]),
])
def test_inside_square_and_concave(polygon, points, expected):
    index = NearestIndex(np.array(points, np.float32))
    assert index.inside(polygon).tolist() == expected
    assert index.inside(polygon[::-1]).tolist() == expected  # clockwise or not


def test_inside_respects_visible_labels_and_degenerate_polygons():
    index = NearestIndex(np.array([[1, 1], [1.5, 1.5], [5, 5]], np.float32), labels=np.array([0, 1, 1]))
    assert index.inside(SQUARE).tolist() == [True, True, False]
    index.set_visible_labels({1})
    assert index.inside(SQUARE).tolist() == [False, True, False]
    assert index.inside(SQUARE[:2]).tolist() == [False, False, False]


def test_typical_point_is_a_data_point_in_the_densest_spot_of_the_largest_class():
    rng = np.random.default_rng(0)
    big = np.concatenate([rng.normal((3.0, 3.0), 0.05, (300, 2)), rng.normal((-2.0, 0.0), 1.0, (300, 2))])
    small = rng.normal((0.0, 0.0), 0.01, (100, 2))  # denser, but a smaller class
    means = np.concatenate([big, small]).astype(np.float32)
    labels = np.array([1] * 600 + [0] * 100)
    z = latent.typical_point(means, labels)
    assert any(np.array_equal(z, m) for m in means[labels == 1])  # a real point of the largest class
    assert np.linalg.norm(z - np.array([3.0, 3.0])) < 0.2  # in its dense blob, not at its broad one
    np.testing.assert_array_equal(latent.typical_point(np.zeros((0, 2)), np.zeros(0)), [0, 0])


def test_typical_point_of_a_class_larger_than_its_sample_is_still_in_the_dense_spot(monkeypatch):
    """Above TYPICAL_SAMPLE points the class is sampled: the answer is still a real point of the class, in its
    densest blob, and the same every time (seeded)."""
    monkeypatch.setattr(latent, "TYPICAL_SAMPLE", 2_000)
    rng = np.random.default_rng(1)
    big = np.concatenate([rng.normal((3.0, 3.0), 0.05, (20_000, 2)), rng.normal((-2.0, 0.0), 1.0, (20_000, 2))])
    means = np.concatenate([big, rng.normal((0.0, 0.0), 0.01, (1_000, 2))]).astype(np.float32)
    labels = np.array([1] * 40_000 + [0] * 1_000)
    z = latent.typical_point(means, labels)
    assert any(np.array_equal(z, m) for m in means[labels == 1])
    assert np.linalg.norm(z - np.array([3.0, 3.0])) < 0.2
    np.testing.assert_array_equal(latent.typical_point(means, labels), z)


def test_underlay_lattice_cells_are_stable_across_pans_and_the_cache_tiles_them():
    from explorer.core.underlay_cache import CellCache, centre, lattice_for_view

    a = lattice_for_view(-1.0, 1.0, -1.0, 1.0, 16)
    assert a.size == 0.125 and (a.i0, a.i1, a.j0, a.j1) == (-8, 8, -8, 8)
    b = lattice_for_view(-0.9, 1.1, -1.0, 1.0, 16)  # a small pan: the same cells, one more column
    assert b.size == a.size and set(a.keys()) - {k for k in a if k[1] == -8} <= set(b.keys())
    cache = CellCache(max_cells=1000)
    imgs = np.stack([np.full((2, 2), centre(k)[0], np.float32) for k in a])
    cache.put(a.keys(), imgs)
    assert cache.missing(a) == [] and len(cache.missing(b)) == b.j1 - b.j0  # only the new column
    mosaic = cache.mosaic(a)
    np.testing.assert_array_equal(mosaic, tile(imgs, a.grid()))
    assert cache.mosaic(b) is None
    small = CellCache(max_cells=10)
    small.put(a.keys(), imgs)
    assert len(small) == 10 and small.missing(a)[0] == a.keys()[0]  # the oldest cells went first


@pytest.mark.parametrize(("d", "tree"), [(8, True), (16, False), (40, False)])
def test_nearest_in_d_dimensions_is_exact(d, tree):
    """A D-dim model's nearest real image is nearest in D (k-d tree up to TREE_MAX_DIM, brute force beyond)."""
    rng = np.random.default_rng(d)
    pts = rng.normal(size=(3000, d)).astype(np.float32)
    labels = rng.integers(0, 4, len(pts))
    index = NearestIndex(pts, labels, tree=tree)
    assert index.wait_tree(30) == tree and index.dim == d
    index.set_visible_labels({0, 2})
    mask = np.isin(labels, [0, 2])
    for q in rng.normal(size=(30, d)).astype(np.float32):
        got = index.nearest(q, 3)
        dist = ((pts.astype(np.float64) - q) ** 2).sum(1)
        assert mask[got].all()
        np.testing.assert_allclose(dist[got], np.sort(dist[mask])[:3], rtol=1e-5)
    big = NearestIndex(rng.normal(size=(NearestIndex.TREE_FROM, 32)).astype(np.float32))
    assert not big.wait_tree(0)  # above TREE_MAX_DIM: brute force, no tree is built


def test_typical_point_of_d_dim_means_is_one_of_them():
    rng = np.random.default_rng(0)
    means = rng.normal(size=(500, 6)).astype(np.float32)
    labels = rng.integers(0, 3, 500)
    p = typical_point(means, labels, plane=means[:, 3:5])
    assert p.shape == (6,) and any(np.array_equal(p, m) for m in means)


@pytest.mark.parametrize("tree", [False, True])
def test_nearest_within_a_class_is_that_classs_nearest_visible_point(tree):
    """A conditional model decoding as class c shows the nearest image of class c (not of any class)."""
    rng = np.random.default_rng(3)
    pts = rng.normal(size=(3000, 2)).astype(np.float32)
    labels = rng.integers(0, 5, size=3000)
    index = NearestIndex(pts, labels, tree=tree)
    index.wait_tree(30)
    for q in rng.normal(size=(20, 2)).astype(np.float32):
        for c in range(5):
            got = index.nearest(q, label=c)
            rows = np.flatnonzero(labels == c)
            want = rows[((pts[rows] - q) ** 2).sum(1).argmin()]
            assert len(got) == 1 and got[0] == want and labels[got[0]] == c
    index.set_visible_labels({0, 1, 2, 3})  # class 4 hidden: none of it to offer
    assert len(index.nearest(pts[0], label=4)) == 0
    assert labels[index.nearest(pts[0], k=3, label=2)].tolist() == [2, 2, 2]
