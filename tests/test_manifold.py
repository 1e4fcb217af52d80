"""The off-the-data density (explorer.core.manifold) against a direct numpy computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.core.manifold import build_manifold, scott_bandwidth


def direct_q(z, mu, var):
    """(1/N) sum_i prod_d N(z_d; mu_id, var_id), term by term."""
    total = 0.0
    for m, v in zip(mu, var, strict=True):
        total += math.prod(math.exp(-((zd - md) ** 2) / (2 * vd)) / math.sqrt(2 * math.pi * vd)
                           for zd, md, vd in zip(z, m, v, strict=True))
    return total / len(mu)


@pytest.fixture
def blobs():
    rng = np.random.default_rng(1)
    mu = np.concatenate([rng.normal(-2, 0.3, (60, 2)), rng.normal(2, 0.5, (40, 2))])
    logvar = rng.uniform(-3, -1, mu.shape)
    return mu, logvar


def test_aggregate_posterior_equals_the_direct_sum(blobs):
    mu, logvar = blobs
    m = build_manifold(mu, logvar)
    pts = np.array([[0.0, 0.0], [-2.0, -2.0], [2.1, 1.7], [5.0, -4.0]])
    for z in pts:
        want = direct_q(z, mu, np.exp(logvar))
        assert m.q(z) == pytest.approx(want, rel=1e-6, abs=1e-300)
    assert m.kind == "aggregate posterior"


def test_kernel_density_uses_scotts_rule(blobs):
    mu, _ = blobs
    m = build_manifold(mu)
    h = mu.std(axis=0) * len(mu) ** (-1 / 6)
    np.testing.assert_allclose(scott_bandwidth(mu), h)
    for z in ([0.0, 0.0], [-1.8, -2.2], [2.0, 2.0]):
        assert m.q(np.array(z)) == pytest.approx(direct_q(z, mu, np.broadcast_to(h * h, mu.shape)), rel=1e-6)
    assert m.kind == "kernel density" and "Scott" in m.note


def test_the_level_leaves_one_percent_of_the_data_below_it_each_without_its_own_component(blobs):
    mu, logvar = blobs
    m = build_manifold(mu, logvar)
    var = np.exp(logvar)
    loo = [math.log(direct_q(mu[i], np.delete(mu, i, 0), np.delete(var, i, 0))) for i in range(len(mu))]
    assert m.log_level == pytest.approx(np.quantile(loo, 0.01), rel=1e-6, abs=1e-6)
    assert not m.off(np.array([-2.0, -2.0]))  # the middle of a cluster
    assert m.off(np.array([0.0, 0.0]))  # the gap between the clusters
    assert m.off(np.array([8.0, 8.0]))


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 6), st.integers(2, 40), st.integers(0, 10_000))
def test_any_dimension_matches_the_direct_sum_far_and_near(d, n, seed):
    rng = np.random.default_rng(seed)
    mu = rng.normal(0, 2, (n, d))
    logvar = rng.uniform(-4, 1, (n, d))
    m = build_manifold(mu, logvar)
    z = np.concatenate([mu[:2] + 0.1, rng.normal(0, 6, (2, d))])
    got = m.log_q(z)
    want = [direct_q(p, mu, np.exp(logvar)) for p in z]
    for g, w in zip(got, want, strict=True):
        if w > 1e-250:  # the direct sum underflows where the log-space one does not
            assert g == pytest.approx(math.log(w), rel=1e-6, abs=1e-6)
    assert np.isfinite(got).all()


def test_a_big_set_uses_a_seeded_subset_and_says_so():
    rng = np.random.default_rng(0)
    mu = rng.normal(0, 1, (500, 2))
    a = build_manifold(mu, max_components=100, max_reference=50)
    b = build_manifold(mu, max_components=100, max_reference=50)
    assert len(a.centres) == 100 and "100 of the 500 images" in a.note
    assert a.log_level == b.log_level


def test_bad_shapes_are_one_sentence():
    with pytest.raises(ValueError, match="at least 2 codes"):
        build_manifold(np.zeros((1, 2)))
    with pytest.raises(ValueError, match="must match"):
        build_manifold(np.zeros((5, 2)), np.zeros((5, 3)))
    m = build_manifold(np.random.default_rng(0).normal(size=(10, 3)))
    with pytest.raises(ValueError, match="the density has 3"):
        m.q(np.zeros(2))
