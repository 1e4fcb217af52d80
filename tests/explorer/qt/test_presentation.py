"""Talk-ready layout and presentation mode, measured through the scripting API and the real command."""

from __future__ import annotations

import os
import subprocess

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from explorer.core.state import Bookmark


@pytest.fixture
def ex720(qapp, checkpoint):
    from explorer.api import Explorer

    e = Explorer(checkpoint, dataset="synthetic", size=(1280, 720))
    yield e
    e.close()


def test_the_plane_gets_the_screen_at_720p(ex720):
    w = ex720.window
    assert w.width() == 1280
    plane = w.view.width()
    assert plane >= 0.60 * w.width(), f"the plane is {plane} px of {w.width()}"
    # the nearest real image is beside the decoded one, at least half its size, its caption right under it
    pane = w.pane
    dec, near = pane.decoded.pixmap().size(), pane.nearest.pixmap().size()
    assert near.width() >= 0.5 * dec.width() and near.height() >= 0.5 * dec.height()
    assert pane.nearest.geometry().left() >= pane.decoded.geometry().right()
    pix_bottom = pane.nearest.geometry().bottom()  # the pixmap is bottom-aligned in its view
    assert 0 <= pane.nearest_title.geometry().top() - pix_bottom <= 12  # "nearest real image", then its label
    assert pane.nearest_title.geometry().bottom() < pane.nearest_caption.geometry().top()
    # the side tab a presenter uses is in front, not static metadata
    assert not w.interpolation_dock.visibleRegion().isEmpty() and w.info_dock.visibleRegion().isEmpty()
    # no auto-range "A" button, no SI prefix on the axes
    assert not w.view.plot_item.autoBtn.isVisible()
    assert not w.view.plot_item.getAxis("bottom").autoSIPrefix


def test_f11_presents_scales_the_plot_and_esc_restores_the_exact_layout(ex720, qtbot):
    w = ex720.window
    ip = ex720.state.interpolation
    ip.a, ip.b = (-0.5, 0.0), (0.5, 0.2)
    v = ex720.state.vectors
    from explorer.core.state import Vector

    v.append(Vector("Ankle boot \u2212 Sneaker", (0.3, 0.0), strength=1.0))  # a name as long as a talk's
    ex720.wait_idle()
    w.present_fullscreen = False  # the offscreen platform's "full screen" is not a real screen size
    qtbot.wait(100)  # the layout settles
    before = (w.geometry(), w.pane_dock.width(), w.interpolation_dock.height(), w.font().pointSizeF(),
              w.view.marker.scale)
    tick_before = w.view.plot_item.getAxis("bottom").style["tickFont"]
    qtbot.keyClick(w, Qt.Key.Key_F11)
    assert ex720.state.presentation
    qtbot.wait(50)
    assert not any(d.isVisible() for d in w.panel_docks) and w.pane_dock.isVisible()
    assert not w.menuBar().isVisible() and not w.toolbar.isVisible()
    # everything on the plot scaled together
    assert w.font().pointSizeF() == pytest.approx(before[3] * 1.6)
    tick = w.view.plot_item.getAxis("bottom").style["tickFont"]
    assert tick is not None and tick.pointSizeF() == pytest.approx(before[3] * 1.6)
    assert tick_before is None or tick_before.pointSizeF() < tick.pointSizeF()
    assert w.view.marker.scale == pytest.approx(before[4] * 1.6)
    assert w.view.overlays.t_item.opts["size"] == pytest.approx(16 * 1.6)
    assert w.view.scatters[0].opts["size"] == pytest.approx(ex720.state.point_size * 1.6)
    # the control strip keeps t and the enabled vector's strength on screen, bound to the state
    strip = w.strip
    assert strip.isVisible() and strip.t_box.isVisible() and len(strip.sliders) == 1
    from PySide6.QtWidgets import QLabel

    shown = QLabel.text(strip.names[0])  # what is painted (the eliding label's own cut)
    assert shown == v[0].name, f"the vector's name reads {shown!r} on the strip at 720p"
    strip.t.setValue(0.75)
    assert ip.t == pytest.approx(0.75)
    strip.sliders[0][1].setValue(-1.5)
    assert v[0].strength == pytest.approx(-1.5)
    # plane and pane share the screen
    assert 0.35 <= w.pane_dock.width() / w.width() <= 0.6
    qtbot.keyClick(w, Qt.Key.Key_Escape)
    assert not ex720.state.presentation and not strip.isVisible()
    qtbot.wait(50)
    after = (w.geometry(), w.pane_dock.width(), w.interpolation_dock.height(), w.font().pointSizeF(),
             w.view.marker.scale)
    assert after[0] == before[0] and after[1] == before[1], "Esc must restore the window and the plane's width exactly"
    assert abs(after[2] - before[2]) <= 6, "the pane / panel split comes back (within a few pixels)"
    assert after[3:] == before[3:], "fonts and markers come back to their desktop size"
    assert w.menuBar().isVisible() and w.toolbar.isVisible() and w.interpolation_dock.isVisible()


def test_clicker_keys_step_bookmarks_but_a_focused_slider_keeps_its_arrows(ex720, qtbot):
    w = ex720.window
    st = ex720.state
    st.bookmarks.extend([Bookmark("one", (0.1, 0.2)), Bookmark("two", (-0.3, 0.4))])
    st.tour.seconds_per_leg = st.tour.hold_seconds = 0.1  # each key glides one leg, then holds
    w.view.setFocus()
    glided = lambda: not w.bookmarks.player.running  # noqa: E731

    qtbot.keyClick(w.view, Qt.Key.Key_PageDown)
    assert w.bookmarks.player.running and st.point_source == "tour"  # on the way
    qtbot.waitUntil(glided, timeout=5000)
    assert st.point == pytest.approx((0.1, 0.2)) and st.point_source == "bookmark \u201cone\u201d"
    qtbot.keyClick(w.view, Qt.Key.Key_PageDown)
    qtbot.waitUntil(glided, timeout=5000)
    assert st.point == pytest.approx((-0.3, 0.4))
    qtbot.keyClick(w.view, Qt.Key.Key_PageUp)
    qtbot.waitUntil(glided, timeout=5000)
    assert st.point == pytest.approx((0.1, 0.2))
    # a focused slider takes Right: t moves by one step, the bookmark does not change
    st.interpolation.a, st.interpolation.b = (0.0, 0.0), (1.0, 1.0)
    st.interpolation.t = 0.5
    slider = w.interp.slider.slider
    slider.setFocus()
    qtbot.keyClick(slider, Qt.Key.Key_Right)
    assert st.interpolation.t == pytest.approx(0.51)
    assert w.interp.slider.label.text() == "0.51"
    st.set_point((0.1, 0.2))
    width = w.interp.slider.label.width()
    st.interpolation.t = -0.5
    assert w.interp.slider.label.width() == width, "the value label keeps its width, so the track never moves"


def test_first_point_is_a_typical_data_point(ex720):
    s = ex720.state.session
    start = np.asarray(ex720.shown().z)
    assert ex720.shown().source == "start"
    assert np.min(np.abs(s.means - start).sum(axis=1)) < 1e-6  # a real data point, not a blend between classes


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_presentation_screenshot_has_the_size_asked_for(checkpoint, tmp_path, size):
    from tests.explorer.qt.conftest import tool

    out = tmp_path / "talk.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([tool("latent-explorer"), str(checkpoint), "--dataset", "synthetic", "--presentation",
                        "--screenshot", str(out), "--size", f"{size[0]}x{size[1]}"], env=env, capture_output=True,
                       text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    img = Image.open(out)
    assert img.size == size
    # the plane and the pane share it: the right half is not an empty dock column
    a = np.asarray(img.convert("L"), np.float32)
    assert a[:, size[0] // 2 :].std() > 10
