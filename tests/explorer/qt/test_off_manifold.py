"""Off the data, in the app through the scripting API: the pane's density and warning are checked
against the aggregate posterior computed here from the model's own encode of the dataset, and the plane's
shading against the same density on the view's cells."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import logsumexp

from explorer.core.session import ASSETS
from explorer.qt.pane.decode_pane import OFF_DATA
from tests.explorer.qt.test_posterior_spread import own_encode

VAE = ASSETS / "fashion-mnist-vae.safetensors"
AE = ASSETS / "fashion-mnist-beta0.safetensors"


def log_q(z, mu, var):
    """log (1/N) sum_i N(z; mu_i, diag var_i), directly."""
    d = -0.5 * (((z - mu) ** 2) / var + np.log(2 * np.pi * var)).sum(axis=1)
    return logsumexp(d) - math.log(len(mu))


@pytest.fixture
def ex(qapp):
    from explorer.api import Explorer

    e = Explorer(VAE, size=(1280, 720), timeout=180)
    yield e
    e.close()


def click(ex, x, y):
    ex.state.point = (x, y)
    assert ex.wait_idle(60)
    return ex.shown()


def test_the_pane_warns_off_the_data_and_its_density_is_the_aggregate_posterior(ex):
    assert click(ex, 0.3, 0.2).density is None  # off until asked for
    errors: list[str] = []
    ex.state.error.connect(errors.append)
    ex.state.off_manifold = True
    assert ex.wait_idle(120)
    mu, logvar = own_encode(VAE, ex.dataset.images)
    var = np.exp(logvar.astype(np.float64))
    levels = np.array([log_q(m, mu, var) for m in mu[:: len(mu) // 300]])
    for xy in ((float(mu[7, 0]), float(mu[7, 1])), (3.6, 3.6), (0.0, -3.3)):
        shown = click(ex, *xy)
        want = log_q(np.array(xy), mu, var)
        assert shown.density == pytest.approx(math.exp(want), rel=1e-3, abs=1e-300)
        # the level is the 1st percentile of the data's own q: a z far below every level is off the data
        assert shown.off_manifold == (want < ex.state.session.manifold.log_level)
    assert not click(ex, float(mu[7, 0]), float(mu[7, 1])).off_manifold
    far = click(ex, 4.2, 4.2)
    assert far.off_manifold and far.density < math.exp(levels.min())
    badge = ex.window.pane.badge
    assert badge.isVisible() and badge.text() == OFF_DATA
    assert badge.width() == ex.window.pane.decoded.width() and badge.height() >= badge.fontMetrics().height()
    assert not click(ex, float(mu[7, 0]), float(mu[7, 1])).off_manifold and not badge.isVisible()
    ex.state.off_manifold = False
    assert ex.wait_idle(30)
    assert ex.shown().density is None and not badge.isVisible()
    assert errors == []


def check_cells(ex, layer) -> None:
    """The shaded cells are those of the visible view whose q is below the level (40 cells sampled)."""
    assert layer.image.isVisible()
    rgba = layer.image.image
    m = ex.state.session.manifold
    (x0, x1), (y0, y1) = ex.view().vb.viewRange()
    r = layer.image.mapRectToParent(layer.image.boundingRect())
    assert (r.left(), r.right(), r.top(), r.bottom()) == pytest.approx((x0, x1, y0, y1))
    ny, nx = rgba.shape[:2]
    rng = np.random.default_rng(0)
    for i, j in zip(rng.integers(0, ny, 40), rng.integers(0, nx, 40), strict=True):
        z = np.array([x0 + (j + 0.5) * (x1 - x0) / nx, y0 + (i + 0.5) * (y1 - y0) / ny])
        assert (rgba[i, j, 3] > 0) == bool(m.off(z)), (i, j, z)


def test_the_plane_is_shaded_where_q_is_below_the_level(ex):
    ex.state.view = (-4.5, 4.5, -4.5, 4.5)
    ex.state.off_manifold = True
    assert ex.wait_idle(120)
    layer = ex.view().off_data
    check_cells(ex, layer)
    assert 0.05 < layer.off_share < 0.95  # the corners of a 9 x 9 box are off the data, its middle is not
    wide = layer.off_share
    ex.state.view = (-1.0, 1.0, -1.0, 1.0)  # the view moves: the shading follows it
    assert ex.wait_idle(60)
    check_cells(ex, layer)
    assert layer.off_share < wide
    ex.state.off_manifold = False
    assert ex.wait_idle(30)
    assert not layer.image.isVisible()


def test_a_deterministic_model_gets_a_kernel_density_without_complaint(qapp):
    from explorer.api import Explorer

    with Explorer(AE, size=(1000, 700), timeout=180) as ex:
        errors: list[str] = []
        ex.state.error.connect(errors.append)
        ex.state.off_manifold = True
        assert ex.wait_idle(120)
        m = ex.state.session.manifold
        assert m is not None and m.kind == "kernel density"
        mu = ex.means.astype(np.float64)
        h = mu.std(axis=0) * len(mu) ** (-1 / 6)
        shown = click(ex, 1.0, -0.5)
        assert math.log(shown.density) == pytest.approx(log_q(np.array([1.0, -0.5]), mu, np.broadcast_to(h * h, mu.shape)),
                                                        abs=1e-3)
        assert errors == []


def test_a_scene_keeps_the_shading(ex, tmp_path):
    from explorer.core.scene import apply_scene, save_scene
    from explorer.core.scene_file import load_scene

    ex.state.off_manifold = True
    path = save_scene(ex.state, tmp_path / "s.json")
    assert '"off_manifold": true' in path.read_text()
    ex.state.off_manifold = False
    apply_scene(load_scene(path), ex.state)
    assert ex.state.off_manifold
    assert ex.wait_idle(120) and ex.state.session.manifold is not None
