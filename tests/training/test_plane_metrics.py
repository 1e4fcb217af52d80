"""The plane metrics of the comparison table: spread of the means, share of the box far from data."""

from __future__ import annotations

import numpy as np
import pytest

from training.models import ModelConfig, build_model
from training.pca import fit_pca
from training.plane_metrics import far_fraction, spread


def test_spread_is_the_rms_distance_from_the_centroid():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(20000, 2))
    assert spread(z) == pytest.approx(np.sqrt(2), rel=0.02)
    assert spread(3 * z + 7) == pytest.approx(3 * spread(z), rel=1e-9)  # scale, not position
    assert spread(np.array([[1.0, 1.0], [3.0, 1.0]])) == pytest.approx(1.0)


def _pca_on(images: np.ndarray):
    model = build_model(ModelConfig(kind="pca", image_shape=(1, 8, 8)))
    fit_pca(model, images)
    return model


def test_two_clusters_with_a_gap_decode_far_from_data_in_between():
    """Black and white images only: a linear plane decodes greys between them, far from any real image."""
    rng = np.random.default_rng(0)
    n = 400
    base = np.repeat([0.05, 0.95], n // 2)[:, None] + rng.normal(0, 0.02, (n, 64))
    images = np.clip(base, 0, 1).astype(np.float32).reshape(n, 1, 8, 8)
    labels = np.repeat([0, 1], n // 2)
    out = far_fraction(_pca_on(images), images, labels, grid=20)
    assert out["far_fraction"] > 0.6
    assert out["grid"] == 20 and out["far_threshold"] > 0


def test_a_plane_filled_with_data_decodes_near_data_everywhere():
    """Images that vary smoothly along two directions: every grid point decodes close to a real image."""
    rng = np.random.default_rng(1)
    n = 2000
    basis = np.linalg.qr(rng.normal(size=(64, 2)))[0].T
    codes = rng.uniform(-1, 1, (n, 2)) * [0.3, 0.2]
    images = np.clip(0.5 + codes @ basis + rng.normal(0, 0.01, (n, 64)), 0, 1).astype(np.float32).reshape(n, 1, 8, 8)
    out = far_fraction(_pca_on(images), images, np.zeros(n, np.int64), grid=20)
    assert out["far_fraction"] < 0.1
