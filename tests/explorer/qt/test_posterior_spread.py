"""Posterior spread in the app, through the scripting API, on the bundled models: the plotted samples
and the drawn ellipses are checked against each model's own ``encode`` on the dataset images,
computed here independently (explorer/core/spread.py documents the samples' seed)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from explorer.core.session import ASSETS
from explorer.core.spread import ELLIPSE_SEGMENTS, MAX_ELLIPSES, SAMPLE_SEED
from explorer.core.state import ExplorerState

VAE = ASSETS / "fashion-mnist-vae.safetensors"
_encoded: dict = {}


def own_encode(path, images) -> tuple[np.ndarray, np.ndarray | None]:
    """The model's own (mean, logvar) of the dataset images (uint8 0..255 -> [0, 1]), once per file."""
    if path not in _encoded:
        from training.checkpoint import load

        model = load(path)
        torch.set_num_threads(2)
        x = torch.from_numpy(np.asarray(images, np.float32) / 255)
        with torch.inference_mode():
            mean, logvar = model.encode(x)
        _encoded[path] = (mean.numpy(), None if logvar is None else logvar.numpy())
    return _encoded[path]


def open_explorer(path):
    from explorer.api import Explorer

    return Explorer(path, size=(1000, 700), timeout=180)


@pytest.fixture
def ex(qapp):
    e = open_explorer(VAE)
    yield e
    e.close()


def errors_of(ex) -> list[str]:
    seen: list[str] = []
    ex.state.error.connect(seen.append)
    return seen


def test_plotted_samples_are_mean_plus_sigma_times_seeded_noise(ex):
    assert ex.plotted() is ex.means
    progress: list[tuple] = []
    ex.window.spread.progress.connect(lambda *a: progress.append(a))
    t0 = time.perf_counter()
    ex.state.plot_samples = True
    assert time.perf_counter() - t0 < 0.5, "turning samples on must not encode on the GUI thread"
    assert not ex.window.spread.idle and ex.window.action_set["spread.samples"].isChecked()
    assert ex.wait_idle(120)
    mean, logvar = own_encode(VAE, ex.dataset.images)
    eps = np.random.default_rng(SAMPLE_SEED).standard_normal(mean.shape)
    want = mean.astype(np.float64) + np.exp(logvar.astype(np.float64) / 2) * eps
    got = ex.plotted()
    assert got.shape == (len(ex.dataset.labels), 2) and got is not ex.means
    np.testing.assert_allclose(got, want, atol=2e-4)
    np.testing.assert_allclose(ex.state.session.logvars, logvar, atol=2e-4)
    assert progress and progress[-1][1:] == (len(mean), len(mean))  # shown in the status bar as it went
    assert not ex.window.progress.isVisible() and ex.window.activity.idle  # and hidden once done
    # each class's scatter plots that class's samples
    labels = ex.dataset.labels
    sc = ex.window.view.scatters[3].getData()
    np.testing.assert_array_equal(np.c_[sc[0], sc[1]], got[labels == 3])
    # nearest-image lookups stay on the means
    z = got[17] + 0.01
    ex.state.point = z
    assert ex.wait_idle(30)
    d = ((ex.means - ex.shown().z) ** 2).sum(1)
    assert d[ex.shown().nearest_index] == d.min()
    # off: the means again, exactly
    ex.window.action_set["spread.samples"].trigger()
    assert not ex.state.plot_samples
    assert ex.plotted() is ex.means
    sc = ex.window.view.scatters[3].getData()
    np.testing.assert_array_equal(np.c_[sc[0], sc[1]], ex.means[labels == 3])


def test_ellipses_are_one_and_two_sigma_of_the_nearest_point_and_the_selection(ex):
    view = ex.window.view
    info: list[str] = []
    ex.state.info.connect(info.append)
    ex.state.ellipses = True
    assert ex.window.action_set["spread.ellipses"].isChecked()
    assert ex.wait_idle(120)
    mean, logvar = own_encode(VAE, ex.dataset.images)
    sigma = np.exp(logvar.astype(np.float64) / 2)
    ex.state.point = mean[1234] + 0.002
    assert ex.wait_idle(30)
    nearest = ex.shown().nearest_index
    drawn = ex.ellipses()
    assert len(drawn) == 1 and drawn[0][0] == nearest
    np.testing.assert_allclose(drawn[0][1], mean[nearest], atol=2e-4)
    np.testing.assert_allclose(drawn[0][2], sigma[nearest], rtol=1e-3)
    # what is on screen: a solid 1-sigma and a dashed 2-sigma curve through those points
    for k, (_halo, line, *_rest) in enumerate(view.spread.items, start=1):
        assert line.isVisible()
        x, y = line.getData()
        pts = np.c_[x, y][: ELLIPSE_SEGMENTS + 1]
        r = (((pts - mean[nearest]) / sigma[nearest]) ** 2).sum(1)
        np.testing.assert_allclose(r, k * k, rtol=2e-3)
    from PySide6.QtCore import Qt

    assert view.spread.items[0][1].opts["pen"].style() == Qt.PenStyle.SolidLine
    assert view.spread.items[1][1].opts["pen"].style() == Qt.PenStyle.DashLine
    # a selection gets one each, after the nearest one
    sel = (5, 99, 4321)
    ex.state.selection = sel
    drawn = ex.ellipses()
    assert [d[0] for d in drawn] == [nearest, *sel]
    for i, centre, radii in drawn:
        np.testing.assert_allclose(centre, mean[i], atol=2e-4)
        np.testing.assert_allclose(radii, sigma[i], rtol=1e-3)
    x, _ = view.spread.items[1][1].getData()
    assert np.isnan(x).sum() == 4  # four ellipses in one NaN-separated curve per style
    # moving the point moves the nearest point's ellipse with it
    ex.state.point = mean[4321] + 0.001
    assert ex.wait_idle(30)
    assert ex.ellipses()[0][0] == ex.shown().nearest_index
    # a big selection is capped, and the status says so
    ex.state.selection = range(0, 2000, 2)
    drawn = ex.ellipses()
    near = drawn[0][0]
    assert [d[0] for d in drawn[1:]] == [i for i in range(0, 2 * MAX_ELLIPSES, 2) if i != near]
    assert any(f"{MAX_ELLIPSES} of the 1,000 selected" in m for m in info)
    # off: nothing drawn
    ex.state.ellipses = False
    assert ex.ellipses() == [] and not view.spread.items[0][1].isVisible()


@pytest.mark.parametrize(("name", "words"), [("fashion-mnist-beta0.safetensors", "kind vae with beta = 0"),
                                         ("fashion-mnist-aae.safetensors", "kind aae")])
def test_a_deterministic_model_says_so_once_and_keeps_its_means(qapp, name, words):
    ex = open_explorer(ASSETS / name)
    try:
        errors = errors_of(ex)
        assert own_encode(ASSETS / name, ex.dataset.images[:4])[1] is None  # its encoder has no logvar
        ex.state.plot_samples = True
        ex.state.ellipses = True
        ex.state.point = (0.1, 0.2)
        assert ex.wait_idle(30)
        assert errors == [f"{name}: is deterministic ({words}): it has no posterior spread."]
        assert ex.window.last_error == errors[0]
        assert ex.plotted() is ex.means and ex.ellipses() == []
        assert ex.state.session.logvars is None and ex.window.spread.idle
        ex.state.selection = (1, 2, 3)
        ex.state.plot_samples = False
        assert ex.wait_idle(30) and len(errors) == 1 and ex.plotted() is ex.means
    finally:
        ex.close()


def test_the_second_time_the_logvars_come_from_the_cache(qapp):
    ex = open_explorer(VAE)
    try:
        ex.state.plot_samples = True
        assert ex.wait_idle(120)
        first = ex.plotted().copy()
        assert ex.window.spread.computed_count == 1
    finally:
        ex.close()
    ex = open_explorer(VAE)
    try:
        cache = ex.window.spread.cache
        ex.state.plot_samples = True
        assert ex.wait_idle(10)
        assert ex.window.spread.computed_count == 0 and cache.hits == 1 and cache.misses == 0
        np.testing.assert_array_equal(ex.plotted(), first)
    finally:
        ex.close()


def test_scenes_keep_the_spread_toggles(ex, tmp_path):
    ex.state.plot_samples = True
    ex.state.ellipses = True
    assert ex.wait_idle(120)
    path = tmp_path / "spread.json"
    assert ex.window.save_scene(str(path))
    ex.state.plot_samples = ex.state.ellipses = False
    assert not ex.window.action_set["spread.samples"].isChecked()
    assert ex.window.open_scene(str(path))
    assert ex.state.plot_samples and ex.state.ellipses
    assert ex.window.action_set["spread.samples"].isChecked() and ex.window.action_set["spread.ellipses"].isChecked()
    assert ex.wait_idle(30)
    assert ex.plotted() is not ex.means and ex.ellipses()


def test_cancel_stops_the_job_and_turns_the_toggles_off(ex):
    ex.state.plot_samples = True
    assert not ex.window.spread.idle
    assert ex.window.btn_cancel.isVisible()
    ex.window.btn_cancel.click()
    assert not ex.state.plot_samples and not ex.state.ellipses
    assert ex.wait_idle(60)
    assert ex.state.session.logvars is None and ex.plotted() is ex.means


def test_a_plane_without_the_jobs_plots_means(qapp, qtbot):
    """A LatentView on its own (no main window, so no SpreadJobs): the toggles change nothing."""
    from explorer.core.pane import PaneController
    from explorer.qt.plane.latent_view import LatentView

    state = ExplorerState()
    view = LatentView(state, PaneController(state, lambda zs, meta: 0))
    qtbot.addWidget(view)
    state.plot_samples = state.ellipses = True
    assert view.spread.drawn == []


def test_a_compared_plane_plots_and_draws_its_own_models_spread(ex):
    """Every plane (any slot) shows its own model's samples and ellipses, from that model's encode."""
    other = ASSETS / "fashion-mnist-beta10.safetensors"
    ex.window.compare.add([other])  # File > Add model for comparison
    assert ex._wait(lambda: len(ex.state.compared) == 1, 120) and ex.wait_idle(60)
    s2 = ex.state.compared[0]
    assert ex.plotted(1) is s2.means
    ex.state.plot_samples = ex.state.ellipses = True
    ex.state.selection = (10, 20)
    assert ex.wait_idle(240)
    eps = np.random.default_rng(SAMPLE_SEED).standard_normal((len(s2.labels), 2))
    for i, path in ((0, VAE), (1, other)):
        mean, logvar = own_encode(path, ex.dataset.images)
        np.testing.assert_allclose(ex.plotted(i), mean + np.exp(logvar.astype(np.float64) / 2) * eps, atol=2e-4)
        drawn = ex.ellipses(i)
        assert [d[0] for d in drawn[-2:]] == [10, 20]
        for j, centre, radii in drawn:
            np.testing.assert_allclose(centre, mean[j], atol=2e-4)
            np.testing.assert_allclose(radii, np.exp(logvar[j].astype(np.float64) / 2), rtol=1e-3)
    assert not np.allclose(ex.ellipses(0)[-1][2], ex.ellipses(1)[-1][2], rtol=0.05)  # beta = 10: another spread
    ex.state.plot_samples = False
    assert ex.plotted(1) is s2.means and ex.plotted(0) is ex.means


def test_opening_a_deterministic_model_with_samples_on_shows_the_sentence(ex):
    ex.state.plot_samples = True
    assert ex.wait_idle(120) and ex.plotted() is not ex.means
    ex.window.open_model(ASSETS / "fashion-mnist-beta0.safetensors")
    assert ex._wait(lambda: ex.state.session.model_path.name == "fashion-mnist-beta0.safetensors", 180)
    assert ex.wait_idle(30)
    want = "fashion-mnist-beta0.safetensors: is deterministic (kind vae with beta = 0): it has no posterior spread."
    assert ex.window.error_label.isVisible() and ex.window.error_label.text() == want
    assert ex.plotted() is ex.means and ex.state.plot_samples  # the toggle stays, for the next VAE


def test_off_and_on_again_while_computing_still_ends_with_samples(ex):
    ex.state.plot_samples = True
    assert not ex.window.spread.idle
    ex.state.plot_samples = False  # cancels the running job
    ex.state.plot_samples = True  # before it has ended
    assert ex.wait_idle(120)
    assert ex.state.session.logvars is not None and ex.plotted() is not ex.means
