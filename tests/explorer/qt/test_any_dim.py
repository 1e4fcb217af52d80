"""A D-dim model in the app, through the public API: the plane is a slice, everything else works in D.

Every check compares what the app shows with the checkpoint's own decoder (loaded independently) at
z = origin + x u + y v, and what a plane plots with the projection of the means."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
import torch

from tests.explorer.qt.conftest import tool

D = 6


@pytest.fixture(scope="module")
def ckpt6(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("d6")
    out = tmp / "d6.safetensors"
    env = dict(os.environ, LATENT_EXPLORER_CACHE=str(tmp / "cache"))
    r = subprocess.run([tool("latent-train"), "--dataset", "synthetic", "--epochs", "1", "--limit", "512",
                        "--channels", "4,8", "--hidden", "8", "--latent-dim", str(D), "--threads", "1", "--quiet",
                        "--out", str(out)], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def decode6(ckpt6):
    from explorer.core.decode_service import to_display
    from training.checkpoint import load

    model = load(ckpt6)

    def run(z):
        with torch.inference_mode():
            return to_display(model.decode(torch.from_numpy(np.atleast_2d(np.asarray(z, np.float32)))).numpy())

    return run


@pytest.fixture
def ex6(qapp, ckpt6):
    from explorer.api import Explorer

    e = Explorer(ckpt6, dataset="synthetic", size=(1100, 750))
    yield e
    e.close()


def plane_of(ex):
    sl = ex.state.slice
    return np.asarray(sl.origin), np.asarray(sl.u), np.asarray(sl.v)


def test_a_d_dim_model_opens_on_its_pca_slice_and_plots_the_projection(ex6):
    assert ex6.means.shape[1] == D and ex6.state.ndim == D
    sl = ex6.state.slice
    assert sl.preset == "pca" and len(sl.rest) == D - 2
    o, u, v = plane_of(ex6)
    np.testing.assert_allclose(sl.centre, ex6.means.mean(0), atol=1e-5)  # "reset to the data" goes there
    # the first image is a typical mean itself: the plane slid (off-plane only) through it
    np.testing.assert_allclose(ex6.shown().z, sl.lift(ex6.state.point), atol=1e-5)
    assert ((ex6.means - ex6.shown().z) ** 2).sum(1).min() < 1e-8
    want = (ex6.means.astype(np.float64) - o) @ np.stack([u, v], 1)
    np.testing.assert_allclose(ex6.plotted(0), want, atol=1e-4)
    assert ex6.window.slice_dock.isVisible()  # the dims sliders are there for a D-dim model
    assert len(ex6.window.dims.sliders) == D - 2


def test_a_click_decodes_the_slice_point_in_d(ex6, decode6):
    o, u, v = plane_of(ex6)
    ex6.state.point = (0.4, -0.3)
    assert ex6.wait_idle(10)
    s = ex6.shown()
    z = o + 0.4 * u - 0.3 * v
    assert s.z.shape == (D,)
    np.testing.assert_allclose(s.z, z, atol=1e-5)
    np.testing.assert_allclose(s.image, decode6(s.z)[0], atol=1e-6)
    d = ((ex6.means.astype(np.float64) - s.z) ** 2).sum(1)  # nearest in D, not on the plane
    assert d[s.nearest_index] == pytest.approx(d.min())
    assert f"in {D}-D" in s.status or s.status.count(",") >= D - 1


def test_a_dims_slider_slides_the_plane_and_the_pane_follows(ex6, decode6, qtbot):
    ex6.window.dims.btn_reset.click()  # through the data's centre: every slider at 0
    assert all(s.slider.value() == pytest.approx(0, abs=1e-6) for s in ex6.window.dims.sliders)
    ex6.state.point = (0.2, 0.1)
    assert ex6.wait_idle(10)
    before = ex6.plotted(0).copy()
    slider = ex6.window.dims.sliders[1]
    val = round(slider.slider.maximum() / 2, 3)  # the slider spans +-3 standard deviations of the data there
    slider.slider.setValue(val)  # as a drag of the second slider does
    assert ex6.wait_idle(10)
    o, u, v = plane_of(ex6)
    rest1 = np.asarray(ex6.state.slice.rest[1])
    assert ex6.state.slice.offset(1) == pytest.approx(val, abs=1e-6)
    np.testing.assert_allclose(o, ex6.means.mean(0) + val * rest1, atol=1e-5)
    s = ex6.shown()
    np.testing.assert_allclose(s.z, o + 0.2 * u + 0.1 * v, atol=1e-5)
    np.testing.assert_allclose(s.image, decode6(s.z)[0], atol=1e-6)
    np.testing.assert_allclose(ex6.plotted(0), before, atol=1e-5)  # an off-plane move: the scatter stays
    ex6.window.dims.btn_reset.click()
    np.testing.assert_allclose(ex6.state.slice.origin, ex6.means.mean(0), atol=1e-5)


def test_two_axes_bookmarks_interpolation_and_vectors_in_d(ex6, decode6):
    st = ex6.state
    st.slice.use_axes(3, 1)
    assert ex6.wait_idle(10)
    o = np.asarray(st.slice.origin)
    np.testing.assert_allclose(ex6.plotted(0), (ex6.means[:, [3, 1]] - o[[3, 1]]), atol=1e-5)
    a, b = ex6.means[0].astype(np.float64), ex6.means[1].astype(np.float64)
    st.interpolation.a, st.interpolation.b, st.interpolation.t = a, b, 0.25
    assert ex6.wait_idle(10)
    np.testing.assert_allclose(ex6.shown().z, a + 0.25 * (b - a), atol=1e-5)  # the path runs in D
    mark = st.add_bookmark("seven", z=ex6.means[7])
    st.go_to_bookmark(0)
    assert ex6.wait_idle(10)
    np.testing.assert_allclose(ex6.shown().z, mark.z, atol=1e-5)  # the plane slid through it: exactly that z
    np.testing.assert_allclose(ex6.shown().image, decode6(ex6.shown().z)[0], atol=1e-6)
    vec = st.vectors.add_class_difference(0, 1)
    assert len(vec.vector) == D
    want = ex6.means[ex6.dataset.labels == 0].mean(0) - ex6.means[ex6.dataset.labels == 1].mean(0)
    np.testing.assert_allclose(vec.vector, want, atol=1e-4)
    vec.strength = 0.5
    assert ex6.wait_idle(10)
    s = ex6.shown()
    np.testing.assert_allclose(s.z, np.asarray(mark.z) + 0.5 * want, atol=1e-4)
    np.testing.assert_allclose(s.base_z, mark.z, atol=1e-5)


def test_fading_keeps_the_nearer_half_in_colour(ex6):
    view = ex6.view(0)
    ex6.state.fade = True
    assert ex6.wait_idle(10)
    means, labels, n = view.points_data
    far = labels == view.far_class
    assert view.far_class == len(ex6.dataset.label_names) and n == view.far_class + 1
    dist = ex6.state.slice.distance(ex6.means)
    assert 0.4 < far.mean() < 0.6 and dist[far].min() >= dist[~far].max() - 1e-9
    ex6.state.fade = False
    assert ex6.wait_idle(10)
    assert view.far_class is None and (view.points_data[1] == ex6.dataset.labels).all()


def test_a_d_dim_scene_round_trips_and_a_scene_of_another_d_is_refused(ex6, tmp_path):
    from explorer.core.scene import SceneError, apply_scene, load_scene, save_scene

    st = ex6.state
    st.slice.use_axes(0, 5)
    st.slice.set_offset(1, 0.3)
    st.interpolation.a, st.interpolation.b = ex6.means[3], ex6.means[4]
    st.add_bookmark("b", z=ex6.means[9])
    st.fade = True
    st.point = (0.25, -0.5)
    assert ex6.wait_idle(10)
    want = ex6.shown().z.copy()
    path = tmp_path / "d6.json"
    save_scene(st, path)
    saved = load_scene(path)
    assert saved.latent_dim == D and len(saved.a) == D and len(saved.bookmarks[0].z) == D
    st.slice.use_pca()
    st.bookmarks.clear()
    st.fade = False
    st.point = (1.0, 1.0)
    assert ex6.wait_idle(10)
    apply_scene(load_scene(path), st)
    assert ex6.wait_idle(10)
    np.testing.assert_allclose(ex6.shown().z, want, atol=1e-5)  # the same slice, the same plane point
    assert st.slice.u[0] == pytest.approx(1.0) and st.fade and len(st.bookmarks) == 1
    np.testing.assert_allclose(st.interpolation.a, ex6.means[3], atol=1e-6)
    two_d = tmp_path / "two.json"
    two_d.write_text(path.read_text().replace('"latent_dim": 6', '"latent_dim": 2'))
    before = (st.slice.plane, st.point, tuple(st.bookmarks))
    with pytest.raises(SceneError, match="2-D point|6-D latent space"):
        apply_scene(load_scene(two_d), st)
    assert (st.slice.plane, st.point, tuple(st.bookmarks)) == before  # nothing changed


def test_models_of_different_dimensions_side_by_side(qapp, checkpoint, ckpt6, decode, decode6):
    """A 2-D model beside a 6-D one over the same images: each plane plots its own projection; the same
    plane point is decoded by each model on its own slice."""
    from explorer.api import Explorer
    from explorer.core.pane import slice_of

    ex = Explorer([checkpoint, ckpt6], dataset="synthetic", size=(1200, 800))
    try:
        six = ex.state.sessions[1]
        assert six.means.shape[1] == D and ex.state.ndim == 2
        own = slice_of(ex.state, 1)
        assert own.preset == "pca" and own.dim == D
        np.testing.assert_allclose(ex.plotted(1), own.project(six.means), atol=1e-5)
        ex.state.point = (0.2, -0.1)
        assert ex.wait_idle(15)
        np.testing.assert_allclose(ex.shown(0).z, [0.2, -0.1], atol=1e-6)
        np.testing.assert_allclose(ex.shown(0).image, decode(ex.shown(0).z)[0], atol=1e-6)
        z1 = ex.shown(1).z
        np.testing.assert_allclose(z1, own.lift((0.2, -0.1)), atol=1e-5)
        np.testing.assert_allclose(ex.shown(1).image, decode6(z1)[0], atol=1e-6)
    finally:
        ex.close()


def test_posterior_spread_of_a_d_dim_model_is_projected(ex6):
    """Samples are drawn in D and plotted projected; the ellipse is the projected posterior's."""
    from explorer.core.spread import posterior_samples

    ex6.state.plot_samples = True
    assert ex6.wait_idle(60)
    s = ex6.state.session
    assert s.logvars.shape == (len(s.labels), D)
    np.testing.assert_allclose(ex6.plotted(0), ex6.state.slice.project(posterior_samples(s.means, s.logvars)),
                               atol=1e-4)
    ex6.state.ellipses = True
    ex6.state.point = (0.0, 0.0)
    assert ex6.wait_idle(60)
    i, centre, radii = ex6.ellipses(0)[0]
    p = np.stack([ex6.state.slice.u, ex6.state.slice.v])
    cov = (p * np.exp(s.logvars[i].astype(np.float64))) @ p.T
    np.testing.assert_allclose(centre, ex6.state.slice.project(s.means[i].astype(np.float64)), atol=1e-5)
    np.testing.assert_allclose(radii, np.sqrt(np.diag(cov)), rtol=1e-5)


def test_a_lasso_on_a_d_dim_plane_selects_what_is_drawn_inside_and_makes_a_d_vector(ex6, qtbot):
    from PySide6.QtCore import Qt

    from explorer.core import latent
    from tests.explorer.qt.test_vector_panel import drag, widget_to_data

    panel, view = ex6.window.vectors, ex6.view(0)
    x0, x1, y0, y1 = view.view_rect()
    cx, cy = np.median(ex6.plotted(0), axis=0)
    t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
    px = [view.data_to_widget(cx + 0.25 * (x1 - x0) * np.cos(a), cy + 0.25 * (y1 - y0) * np.sin(a)) for a in t]
    qtbot.mouseClick(panel.btn_sel_a, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.selectionMade):
        drag(view.viewport(), px)
    poly = np.array([widget_to_data(view, p) for p in px])
    want = ex6.state.session.index.inside(poly, plane=ex6.plotted(0))  # by the projections drawn, not z1, z2
    assert 0 < want.sum() < len(want)
    np.testing.assert_array_equal(panel.group("A").mask, want)
    panel.set_class("B", 0)
    v = panel.add_from_groups()
    b = ex6.dataset.labels == 0
    assert len(v.vector) == D
    np.testing.assert_allclose(v.vector, latent.attribute_vector(ex6.means, want, b), atol=1e-6)


def test_the_plane_opens_framed_on_the_projections_it_plots(ex6):
    # "Reset view" frames the bulk of what the plane plots: for a D-dim model the projections, not the
    # first two latent coordinates of the means (which left most of a 16-D Fashion-MNIST plane outside)
    pts = ex6.plotted(0)
    lo, hi = np.percentile(pts, [0.5, 99.5], axis=0)
    x0, x1, y0, y1 = ex6.view(0).view_rect()
    assert x0 <= lo[0] and x1 >= hi[0] and y0 <= lo[1] and y1 >= hi[1], ((x0, x1, y0, y1), lo, hi)
    span = max(hi - lo)
    assert max(x1 - x0, y1 - y0) < 3 * span  # framed on them, not on something much larger


def test_dragging_the_marker_on_a_d_dim_plane_decodes_under_it(ex6, decode6, qtbot):
    """The marker's plane coordinates, with or without a vector on: the pane shows the z under the marker."""
    view = ex6.view(0)
    ex6.state.point = (0.1, 0.1)
    vec = ex6.state.vectors.add_class_difference(0, 1)
    vec.strength = 0.5
    assert ex6.wait_idle(10)
    view.marker.setPos(0.3, -0.2)  # as a drag of the marker does (pyqtgraph's TargetItem moves, then reports)
    assert ex6.wait_idle(10)
    s = ex6.shown()
    assert s.source == "drag"
    np.testing.assert_allclose(ex6.state.slice.project(s.z.astype(np.float64)), [0.3, -0.2], atol=1e-5)
    np.testing.assert_allclose(s.image, decode6(s.z)[0], atol=1e-6)


def test_the_underlay_decodes_the_slice_and_follows_a_dims_slider(ex6, decode6, qtbot):
    """Every tile of the manifold underlay is decode(origin + x u + y v) at its cell's centre, on the slice
    shown; after a dims slider's move, on the new slice."""
    from explorer.core import latent
    from explorer.core.underlay_cache import lattice_for_view

    window, view = ex6.window, ex6.view(0)
    ex6.state.density = 8
    with qtbot.waitSignal(window.underlayShown, timeout=30_000):
        ex6.state.underlay = True
    for step in range(2):
        grid = lattice_for_view(*view.view_rect(), ex6.state.density).grid()
        want = decode6(ex6.state.slice.lift(grid.centres()).astype(np.float32))
        np.testing.assert_allclose(view.underlay.image, latent.tile(want, grid), rtol=0, atol=1e-5)
        if step == 0:
            with qtbot.waitSignal(window.underlayShown, timeout=30_000):
                ex6.state.slice.set_offset(0, 1.0)


def test_presentation_mode_keeps_three_dims_sliders_within_reach(ex6, qtbot):
    """With every dock hidden, the strip holds the first three directions' sliders; they move the plane."""
    ex6.window.present_fullscreen = False
    ex6.state.presentation = True
    qtbot.waitUntil(lambda: ex6.window.strip.isVisible(), timeout=5000)
    strip = ex6.window.strip.dims
    assert strip.isVisible() and len(strip.sliders) == 3 and not ex6.window.slice_dock.isVisible()
    v = round(strip.sliders[2].slider.maximum() / 2, 3)
    strip.sliders[2].slider.setValue(v)
    assert ex6.state.slice.offset(2) == pytest.approx(v, abs=1e-6)
    assert ex6.window.dims.sliders[2].slider.value() == pytest.approx(v, abs=1e-6)  # the panel follows
    ex6.state.presentation = False


def test_the_dims_sliders_span_three_standard_deviations_of_the_data(ex6):
    """Each slider's range is +-3 standard deviations of the means along its direction (not a fixed +-3)."""
    sl = ex6.state.slice
    for k, s in enumerate(ex6.window.dims.sliders):
        sd = float((ex6.means.astype(np.float64) @ np.asarray(sl.rest[k])).std())
        assert s.slider.maximum() == pytest.approx(3 * max(sd, 0.05), abs=0.011)


def test_a_d_dim_model_opened_in_presentation_mode_is_framed(qtbot, ckpt6):
    """--presentation before the model opens: the strip's dims sliders appear without resizing the plane
    before it is framed (it showed pyqtgraph's default 0..1 range)."""
    from explorer.qt.main_window import MainWindow

    win = MainWindow(ckpt6, dataset="synthetic", remember=False)
    qtbot.addWidget(win)
    win.present_fullscreen = False
    win.resize(1280, 720)
    win.state.presentation = True
    with qtbot.waitSignal(win.decodeShown, timeout=60_000):
        win.show()
    qtbot.waitUntil(lambda: len(win.strip.dims.sliders) == 3, timeout=5000)
    qtbot.wait(200)
    x0, x1, y0, y1 = win.view.view_rect()
    xy = win.view.points_data[0]
    lo, hi = np.percentile(xy, [5, 95], axis=0)
    assert x0 <= lo[0] and x1 >= hi[0] and y0 <= lo[1] and y1 >= hi[1]  # the bulk of the points is in view
    win.close()
