"""Posterior spread (explorer/core/spread.py): log-variances of real models, their cache, the samples
and the ellipse geometry, each checked against the model's own encode or the formula."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch

from explorer.core.means_cache import MeansCache
from explorer.core.session import Cancelled, open_session
from explorer.core.spread import (
    ELLIPSE_SEGMENTS,
    SAMPLE_SEED,
    Deterministic,
    compute_logvars,
    deterministic_reason,
    ellipse_curve,
    ellipse_geometry,
    encode_logvars,
    logvar_key,
    posterior_samples,
)
from training.data import load_dataset


def own_encode(model, images, labels=None):
    with torch.inference_mode():
        y = None if labels is None else torch.from_numpy(np.asarray(labels, np.int64))
        mean, logvar = model.encode(torch.from_numpy(np.asarray(images, np.float32)), y)
    return mean.numpy(), None if logvar is None else logvar.numpy()


# ---------------------------------------------------------------- pure maths


def test_samples_are_mean_plus_sigma_times_seeded_noise():
    rng = np.random.default_rng(3)
    means = rng.normal(size=(500, 2)).astype(np.float32)
    logvars = rng.uniform(-6, 1, size=(500, 2)).astype(np.float32)
    z = posterior_samples(means, logvars)
    eps = np.random.default_rng(SAMPLE_SEED).standard_normal((500, 2))
    assert z.dtype == np.float32 and z.shape == (500, 2)
    np.testing.assert_array_equal(z, (means.astype(np.float64) + np.exp(logvars.astype(np.float64) / 2) * eps)
                                  .astype(np.float32))
    np.testing.assert_array_equal(z, posterior_samples(means, logvars))  # the same picture every time
    assert not np.array_equal(z, posterior_samples(means, logvars, seed=SAMPLE_SEED + 1))
    # the spread is the posterior's: (z - mean) / sigma is standard normal
    u = (z - means) / np.exp(logvars / 2)
    assert abs(u.mean()) < 0.1 and abs(u.std() - 1) < 0.1


def test_samples_refuse_mismatched_shapes():
    with pytest.raises(ValueError, match="must both be"):
        posterior_samples(np.zeros((3, 2)), np.zeros((4, 2)))


def test_ellipse_geometry_is_exp_half_logvar_around_the_mean():
    means = np.array([[0.0, 1.0], [2.0, -1.0], [5.0, 5.0]], np.float32)
    logvars = np.array([[0.0, -2.0], [np.log(4.0), np.log(0.25)], [1.0, 1.0]], np.float32)
    ells = ellipse_geometry(means, logvars, [1, 0, 7, -1])  # out-of-range indices are skipped
    assert [e.index for e in ells] == [1, 0]
    np.testing.assert_allclose(ells[0].centre, [2.0, -1.0])
    np.testing.assert_allclose(ells[0].radii, [2.0, 0.5], rtol=1e-6)
    np.testing.assert_allclose(ells[1].radii, [1.0, np.exp(-1.0)], rtol=1e-6)


@pytest.mark.parametrize("k", [1.0, 2.0])
def test_ellipse_curve_points_lie_on_the_k_sigma_ellipse(k):
    means = np.array([[0.5, -0.5], [3.0, 1.0]], np.float32)
    logvars = np.array([[np.log(0.09), np.log(1.0)], [np.log(4.0), np.log(0.01)]], np.float32)
    ells = ellipse_geometry(means, logvars, [0, 1])
    x, y = ellipse_curve(ells, k)
    assert len(x) == len(y) == 2 * (ELLIPSE_SEGMENTS + 2)
    gaps = np.flatnonzero(np.isnan(x))
    assert list(gaps) == [ELLIPSE_SEGMENTS + 1, 2 * ELLIPSE_SEGMENTS + 3]  # one NaN after each ellipse
    for j, e in enumerate(ells):
        seg = slice(j * (ELLIPSE_SEGMENTS + 2), j * (ELLIPSE_SEGMENTS + 2) + ELLIPSE_SEGMENTS + 1)
        px, py = x[seg], y[seg]
        r = ((px - e.centre[0]) / e.radii[0]) ** 2 + ((py - e.centre[1]) / e.radii[1]) ** 2
        np.testing.assert_allclose(r, k * k, rtol=1e-9)
        np.testing.assert_allclose([px[0], py[0]], [px[-1], py[-1]], atol=1e-12)  # closed
        np.testing.assert_allclose([px.max() - px.min(), py.max() - py.min()], 2 * k * e.radii, rtol=1e-9)
    assert ellipse_curve([], 1.0)[0].shape == (0,)


# ---------------------------------------------------------------- real models


@pytest.fixture
def vae_session(save_checkpoint, tmp_path):
    path = save_checkpoint("vae.safetensors", channels=(4, 8), arch="conv")
    return open_session(path, dataset="synthetic", cache=MeansCache(tmp_path / "c1"))


def test_logvars_are_the_models_own_and_cached_under_their_own_key(vae_session, tmp_path):
    s = vae_session
    cache = MeansCache(tmp_path / "cache")
    seen = []
    lv, cached = compute_logvars(s, cache, progress=lambda d, t: seen.append((d, t)), batch_size=256)
    ds = load_dataset("synthetic", "test")
    mean, logvar = own_encode(s.model, ds.images)
    np.testing.assert_allclose(lv, logvar, atol=1e-5)
    np.testing.assert_allclose(s.means, mean, atol=1e-5)
    assert lv.dtype == np.float32 and not cached and cache.writes == 1
    assert seen == [(256, 600), (512, 600), (600, 600)]
    assert cache.path(logvar_key(s)).is_file()
    # a second time: from the cache, and the model is not asked
    real = s.model.encode
    s.model.encode = lambda *a, **k: pytest.fail("encoded again despite the cache")
    try:
        again, cached = compute_logvars(s, cache)
    finally:
        s.model.encode = real
    assert cached and cache.hits == 1
    np.testing.assert_array_equal(again, lv)


def test_logvar_key_differs_from_the_means_key_and_per_snapshot(vae_session):
    from explorer.core.means_cache import cache_key

    s = vae_session
    means_key = cache_key(s.sha256, s.dataset_name, s.split, s.images, s.labels)
    final = logvar_key(s)
    assert final != means_key and len(final) == 64
    s.snapshot = 0
    assert logvar_key(s) != final  # a training snapshot's spread is its own


def test_a_conditional_model_is_encoded_with_the_true_labels(save_checkpoint, tmp_path):
    path = save_checkpoint("cvae.safetensors", kind="cvae", num_classes=10)
    s = open_session(path, dataset="synthetic", cache=MeansCache(tmp_path / "c"))
    lv, _ = compute_logvars(s, MeansCache(tmp_path / "c"))
    ds = load_dataset("synthetic", "test")
    np.testing.assert_allclose(lv, own_encode(s.model, ds.images, ds.labels)[1], atol=1e-5)
    assert not np.allclose(lv, own_encode(s.model, ds.images)[1], atol=1e-4)


@pytest.mark.parametrize(("config", "words"), [({"kind": "ae"}, "kind ae"), ({"kind": "vae", "beta": 0.0},
                                           "kind vae with beta = 0"), ({"kind": "aae"}, "kind aae")])
def test_deterministic_models_say_so_in_one_sentence(save_checkpoint, tmp_path, config, words):
    path = save_checkpoint("det.safetensors", **config)
    s = open_session(path, dataset="synthetic", cache=MeansCache(tmp_path / "c"))
    assert own_encode(s.model, load_dataset("synthetic", "test").images[:2])[1] is None  # really no logvar
    want = f"det.safetensors: is deterministic ({words}): it has no posterior spread."
    assert deterministic_reason(s) == want
    with pytest.raises(Deterministic) as e:
        compute_logvars(s, MeansCache(tmp_path / "c"))
    assert str(e.value) == want
    with pytest.raises(Deterministic, match="is deterministic .*no posterior spread"):  # the encoder's own answer
        encode_logvars(s.model, s.images[:4], name="det.safetensors")


def test_computing_logvars_can_be_cancelled(vae_session, tmp_path):
    cancel = threading.Event()

    def progress(done, total):
        cancel.set()

    with pytest.raises(Cancelled):
        compute_logvars(vae_session, MeansCache(tmp_path / "c"), progress=progress, cancel=cancel, batch_size=100)
    assert not list((tmp_path / "c").glob("*.npy"))  # nothing half-done is cached
