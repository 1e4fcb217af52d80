"""Slices of a D-dim latent space (explorer.core.slicing): checked against direct linear algebra."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from explorer.core import slicing as sl

finite = st.floats(-5, 5, allow_nan=False, width=32)


def is_orthonormal(b: sl.Basis) -> bool:
    m = np.vstack([b.u, b.v, b.rest])
    return m.shape == (len(b.u), len(b.u)) and np.allclose(m @ m.T, np.eye(len(b.u)), atol=1e-8)


def test_identity_slice_is_plain_2d_coordinates():
    b = sl.identity(2)
    pts = np.array([[0.5, -1.25], [3.0, 2.0]], np.float32)
    np.testing.assert_array_equal(sl.project(pts, b.origin, b.u, b.v), pts)
    np.testing.assert_array_equal(sl.lift(np.array([0.5, -1.25]), b.origin, b.u, b.v), [0.5, -1.25])
    assert b.rest.shape == (0, 2)


@settings(max_examples=60, deadline=None)
@given(d=st.integers(2, 24), seed=st.integers(0, 2**31 - 1))
def test_pca_basis_is_orthonormal_centred_and_ordered(d, seed):
    rng = np.random.default_rng(seed)
    scales = np.sort(rng.uniform(0.1, 5, d))[::-1]
    x = rng.standard_normal((400, d)) * scales @ np.linalg.qr(rng.standard_normal((d, d)))[0]
    b = sl.pca_basis(x)
    assert is_orthonormal(b)
    np.testing.assert_allclose(b.origin, x.mean(0), atol=1e-9)
    xy = sl.project(x.astype(np.float32), b.origin, b.u, b.v)
    var = xy.var(0)
    rest_var = ((x - b.origin) @ b.rest.T).var(0) if d > 2 else np.zeros(0)
    assert var[0] >= var[1] - 1e-4 and (d == 2 or var[1] >= rest_var.max() - 1e-4)
    np.testing.assert_allclose(xy.mean(0), 0, atol=1e-4)


@settings(max_examples=80, deadline=None)
@given(d=st.integers(2, 16), data=st.data())
def test_lift_then_project_is_identity_and_distance_is_the_residual(d, data):
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31 - 1)))
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    origin = rng.standard_normal(d)
    u, v = q[:, 0], q[:, 1]
    xy = data.draw(arrays(np.float64, (5, 2), elements=finite))
    z = sl.lift(xy, origin, u, v)
    np.testing.assert_allclose(sl.project(z, origin, u, v), xy, atol=1e-4)
    np.testing.assert_allclose(sl.distance(z, origin, u, v), 0, atol=1e-5)
    off = rng.standard_normal(d)
    off -= (off @ u) * u + (off @ v) * v
    np.testing.assert_allclose(sl.distance(z + off, origin, u, v), np.linalg.norm(off), rtol=1e-6, atol=1e-6)


def test_axes_basis_and_its_errors():
    b = sl.axes_basis(3, 1, np.arange(5.0))
    assert is_orthonormal(b) and b.u[3] == 1 and b.v[1] == 1
    np.testing.assert_array_equal(sl.lift(np.array([2.0, -1.0]), *b[:3]), [0, 0, 2, 5, 4])
    with pytest.raises(sl.SliceError, match="two different latent axes in 0..4"):
        sl.axes_basis(2, 2, np.zeros(5))
    with pytest.raises(sl.SliceError):
        sl.axes_basis(0, 5, np.zeros(5))


def test_through_three_points_contains_them():
    rng = np.random.default_rng(1)
    a, b, c = rng.standard_normal((3, 8))
    basis = sl.through(a, b, c)
    assert is_orthonormal(basis)
    np.testing.assert_allclose(sl.distance(np.stack([a, b, c]), *basis[:3]), 0, atol=1e-6)
    with pytest.raises(sl.SliceError, match="one line"):
        sl.through(a, b, a + 2 * (b - a))


def test_along_a_vector_makes_it_the_x_axis():
    rng = np.random.default_rng(2)
    vec, hint = rng.standard_normal((2, 6))
    b = sl.along(vec, np.zeros(6), hint)
    assert is_orthonormal(b)
    np.testing.assert_allclose(b.u, vec / np.linalg.norm(vec))
    b2 = sl.along(vec, np.zeros(6), vec)  # a hint parallel to the vector still gives a plane
    assert is_orthonormal(b2)
