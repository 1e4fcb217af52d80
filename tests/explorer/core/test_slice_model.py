"""state.slice: presets, dims sliders, one event per change, and the identity for 2-D models."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core import slicing
from explorer.core.slice_model import Slice
from explorer.core.values import StateError


@pytest.fixture
def sl():
    s = Slice()
    rng = np.random.default_rng(0)
    means = rng.standard_normal((500, 6)) * [5, 4, 3, 2, 1, 0.5] + 1.0
    s._means = lambda: means
    s.means = means
    return s


def test_2d_identity_projects_and_lifts_exactly():
    s = Slice()
    assert s.is_identity and s.dim == 2 and s.rest == ()
    pts = np.array([[0.1, -2.5], [3.25, 7.0]], np.float32)
    out = s.project(pts)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, pts)
    np.testing.assert_array_equal(s.lift((0.1, -2.5)), [0.1, -2.5])


def test_use_pca_is_one_event_and_matches_direct_pca(sl):
    events = []
    sl.events.plane.connect(lambda new, old=None: events.append(new.preset))
    sl.use_pca()
    assert events == ["pca"]
    centre, dirs, _ = slicing.pca(sl.means)
    np.testing.assert_allclose(sl.origin, centre)
    np.testing.assert_allclose(np.abs(np.asarray(sl.u) @ dirs[0]), 1, atol=1e-9)
    assert len(sl.rest) == 4 and all(abs(sl.offset(k)) < 1e-9 for k in range(4))


def test_dims_slider_moves_the_origin_along_its_direction_only(sl):
    sl.use_pca()
    before = np.asarray(sl.origin)
    xy_before = sl.project(sl.means[:10])
    sl.set_offset(1, 2.0)
    moved = np.asarray(sl.origin) - before
    np.testing.assert_allclose(moved, 2.0 * np.asarray(sl.rest[1]), atol=1e-9)
    assert sl.offset(1) == pytest.approx(2.0) and sl.offset(0) == pytest.approx(0.0, abs=1e-9)
    # sliding along an off-plane direction does not move the projections
    np.testing.assert_allclose(sl.project(sl.means[:10]), xy_before, atol=1e-5)
    # but the plane's points are elsewhere in z
    np.testing.assert_allclose(sl.lift((0.5, 0.5)) - before - 0.5 * np.add(sl.u, sl.v), moved, atol=1e-9)
    sl.reset_origin()
    np.testing.assert_allclose(sl.origin, before)


def test_use_axes_keeps_the_origin_and_through_contains_the_points(sl):
    sl.use_pca()
    o = sl.origin
    sl.use_axes(4, 2)
    assert sl.origin == o and sl.u[4] == 1.0 and sl.v[2] == 1.0 and sl.preset == "axes 4,2"
    z = sl.lift((1.5, -0.5))
    assert z[4] == pytest.approx(o[4] + 1.5) and z[2] == pytest.approx(o[2] - 0.5)
    a, b, c = sl.means[:3]
    sl.through(a, b, c)
    np.testing.assert_allclose(sl.distance(np.stack([a, b, c])), 0, atol=1e-6)
    with pytest.raises(StateError, match="two different latent axes"):
        sl.use_axes(1, 1)
    with pytest.raises(StateError, match="6 finite numbers"):
        sl.through(a[:3], b, c)


def test_contain_slides_the_plane_through_a_point_and_returns_its_coordinates(sl):
    sl.use_pca()
    z = sl.means[7]
    xy = sl.contain(z)
    np.testing.assert_allclose(sl.lift(xy), z, atol=1e-9)


def test_along_a_vector(sl):
    sl.use_pca()
    vec = sl.means[:50].mean(0) - sl.means[50:100].mean(0)
    sl.along(vec, "A - B")
    np.testing.assert_allclose(sl.u, vec / np.linalg.norm(vec), atol=1e-12)
    assert sl.preset == "along A - B"
