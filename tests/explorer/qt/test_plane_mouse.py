"""Clicks, pans, marker drags and wheel zooms on the plane, with real mouse events (issue 11).

Plain clicks and marker drags are handled before pyqtgraph's scene (explorer/qt/plane/plane_mouse.py); a
press that moves on is replayed to the scene and pans as before. These tests check the behaviour a
user sees, and that a click does not pay for the scene's item search. The class scatters paint only
the exposed part of the plane (explorer/qt/plane/class_scatter.py): a partial repaint must leave the same
pixels as a full one.
"""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QImage, QMouseEvent, QWheelEvent
from PySide6.QtWidgets import QApplication

WAIT_MS = 10_000
LEFT, NONE = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton


def send(vp, kind, pos, button, buttons) -> None:
    pos = QPointF(pos)
    ev = QMouseEvent(kind, pos, QPointF(vp.mapToGlobal(pos.toPoint())), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(vp, ev)


@pytest.fixture
def spy(window):
    """Counts pane decode requests and pyqtgraph's item searches (GraphicsScene.itemsNearEvent)."""
    counts = {"pane": 0, "search": 0}
    pane, scene = window.service.channel("pane"), window.view.scene()
    request, near = pane.request, scene.itemsNearEvent

    def counted_request(*a, **k):
        counts["pane"] += 1
        return request(*a, **k)

    def counted_near(*a, **k):
        counts["search"] += 1
        return near(*a, **k)

    pane.request = counted_request  # instance attributes: the window's own calls go through them
    scene.itemsNearEvent = counted_near
    yield counts
    pane.request = request
    del scene.itemsNearEvent


def away_from_marker(window, mouse, min_px: float = 40.0) -> QPoint:
    view = window.view
    mk = mouse.pixel(view.marker.pos().x(), view.marker.pos().y())
    left, top, right, bottom = mouse.plot_pixels(margin=30)
    for fx, fy in ((0.3, 0.3), (0.7, 0.7), (0.3, 0.7), (0.7, 0.3)):
        p = QPoint(int(left + fx * (right - left)), int(top + fy * (bottom - top)))
        if np.hypot(p.x() - mk.x(), p.y() - mk.y()) >= min_px:
            return p
    raise AssertionError("no point of the plot far from the marker")


def test_a_click_decodes_once_without_the_scenes_item_search(window, mouse, spy, qtbot, decode):
    vp = window.view.viewport()
    for _ in range(3):
        pos = away_from_marker(window, mouse)
        z = mouse.data_at(pos)
        spy["pane"] = spy["search"] = 0
        with qtbot.waitSignal(window.decodeShown, timeout=WAIT_MS,
                              check_params_cb=lambda s, z=z: np.allclose(s.z, z, rtol=0, atol=1e-6)):
            send(vp, QEvent.Type.MouseButtonPress, pos, LEFT, LEFT)
            send(vp, QEvent.Type.MouseButtonRelease, pos, LEFT, NONE)
            assert spy["pane"] == 1, f"{spy['pane']} pane requests for one click"
            assert spy["search"] == 0, "the click went through pyqtgraph's item search"
        assert window.state.point_source == "click"
        np.testing.assert_allclose(window.state.point, z, rtol=0, atol=1e-6)
        np.testing.assert_allclose(window.pane.decoded.image, decode(z)[0], rtol=0, atol=1e-5)
        mk = window.view.marker.pos()
        np.testing.assert_allclose([mk.x(), mk.y()], z, rtol=0, atol=1e-6)
        assert window.service.service.wait_idle(5)
        qtbot.wait(20)
        assert spy["pane"] == 1


def test_a_click_that_wobbles_a_few_pixels_is_still_a_click(window, mouse, spy, qtbot):
    vp, view = window.view.viewport(), window.view
    pos = away_from_marker(window, mouse)
    end = pos + QPoint(2, 1)
    before = view.view_rect()
    send(vp, QEvent.Type.MouseButtonPress, pos, LEFT, LEFT)
    send(vp, QEvent.Type.MouseMove, pos + QPoint(1, 1), NONE, LEFT)
    send(vp, QEvent.Type.MouseMove, end, NONE, LEFT)
    send(vp, QEvent.Type.MouseButtonRelease, end, LEFT, NONE)
    assert view.view_rect() == before, "a click panned the plane"
    assert spy["pane"] == 1
    np.testing.assert_allclose(window.state.point, mouse.data_at(end), rtol=0, atol=1e-6)


def test_a_drag_on_the_plane_pans_and_decodes_nothing(window, mouse, spy, qtbot):
    vp, view = window.view.viewport(), window.view
    pos = away_from_marker(window, mouse)
    point, (x0, x1, y0, y1) = window.state.point, view.view_rect()
    step, n = 6, 10
    send(vp, QEvent.Type.MouseButtonPress, pos, LEFT, LEFT)
    for i in range(1, n + 1):
        send(vp, QEvent.Type.MouseMove, pos + QPoint(step * i, 0), NONE, LEFT)
        qtbot.wait(12)  # pyqtgraph's scene drops moves closer than 10 ms (mouseRateLimit)
    send(vp, QEvent.Type.MouseButtonRelease, pos + QPoint(step * n, 0), LEFT, NONE)
    qtbot.wait(20)
    nx0, nx1, ny0, ny1 = view.view_rect()
    moved_px = (x0 - nx0) / mouse.pixel_size()
    assert moved_px == pytest.approx(step * n, abs=1.5), f"the plane panned {moved_px:.1f} px for a {step * n} px drag"
    assert (nx1 - nx0) == pytest.approx(x1 - x0) and (ny0, ny1) == pytest.approx((y0, y1))
    assert spy["pane"] == 0 and window.state.point == point, "a pan decoded"


def test_dragging_the_marker_moves_it_with_the_mouse_and_decodes_each_step(window, mouse, spy, qtbot, decode):
    vp, view = window.view.viewport(), window.view
    start = mouse.pixel(*away_from_marker_z(window, mouse))
    send(vp, QEvent.Type.MouseButtonPress, start, LEFT, LEFT)  # place the marker away from the edges first
    send(vp, QEvent.Type.MouseButtonRelease, start, LEFT, NONE)
    qtbot.waitUntil(lambda: window.pane.z is not None and np.allclose(window.pane.z, window.state.point), timeout=WAIT_MS)
    m0 = view.marker.pos()
    grab = mouse.pixel(m0.x(), m0.y()) + QPoint(2, -1)  # a little off its centre: the offset is kept
    before = view.view_rect()
    spy["pane"] = spy["search"] = 0
    send(vp, QEvent.Type.MouseButtonPress, grab, LEFT, LEFT)
    send(vp, QEvent.Type.MouseMove, grab + QPoint(3, 0), NONE, LEFT)  # under pyqtgraph's 5 px: not a drag yet
    assert view.marker.pos() == m0 and spy["pane"] == 0
    steps = [grab + QPoint(8 * i, 5 * i) for i in range(1, 6)]
    for p in steps:
        send(vp, QEvent.Type.MouseMove, p, NONE, LEFT)
        d = mouse.data_at(p) - mouse.data_at(grab)
        mk = view.marker.pos()
        np.testing.assert_allclose([mk.x(), mk.y()], [m0.x() + d[0], m0.y() + d[1]], rtol=0, atol=1e-5)
        np.testing.assert_allclose(window.state.point, [mk.x(), mk.y()], rtol=0, atol=1e-6)
        assert window.state.point_source == "drag"
    assert spy["pane"] == len(steps), f"{spy['pane']} requests for {len(steps)} drag steps"
    send(vp, QEvent.Type.MouseButtonRelease, steps[-1], LEFT, NONE)
    assert spy["search"] == 0, "the marker drag went through pyqtgraph's item search"
    assert view.view_rect() == before, "dragging the marker panned the plane"
    z = np.asarray(window.state.point, np.float32)
    qtbot.waitUntil(lambda: window.pane.z is not None and np.allclose(window.pane.z, z, rtol=0, atol=1e-7),
                    timeout=WAIT_MS)
    np.testing.assert_allclose(window.pane.decoded.image, decode(z)[0], rtol=0, atol=1e-5)


def away_from_marker_z(window, mouse) -> np.ndarray:
    return mouse.data_at(away_from_marker(window, mouse))


def test_the_wheel_still_zooms(window, mouse, spy):
    vp, view = window.view.viewport(), window.view
    pos = QPointF(away_from_marker(window, mouse))
    x0, x1, _, _ = view.view_rect()
    ev = QWheelEvent(pos, QPointF(vp.mapToGlobal(pos.toPoint())), QPoint(0, 0), QPoint(0, 120), NONE,
                     Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(vp, ev)
    nx0, nx1, _, _ = view.view_rect()
    assert nx1 - nx0 < 0.95 * (x1 - x0), "a wheel step up did not zoom in"
    assert spy["pane"] == 0


def test_a_partial_repaint_leaves_the_same_pixels_as_a_full_one(window, mouse, qtbot):
    """The scatters draw only their exposed part: after a click (the marker's small repaint) the
    window's pixels equal those of a full repaint."""
    win, vp = window, window.view.viewport()

    def pixels() -> np.ndarray:
        """The plane's pixels in the window's backing store, as last painted (not a fresh render)."""
        img = win.screen().grabWindow(win.winId()).toImage().convertToFormat(QImage.Format.Format_RGB32)
        a = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * img.height())
        a = a.reshape(img.height(), img.bytesPerLine() // 4, 4)
        o, size = vp.mapTo(win, QPoint(0, 0)), vp.size()
        return a[o.y() : o.y() + size.height(), o.x() : o.x() + size.width()].copy()

    scatters = window.view.scatters
    for fx, fy in ((0.35, 0.4), (0.6, 0.55), (0.45, 0.65)):
        left, top, right, bottom = mouse.plot_pixels(margin=30)
        pos = QPoint(int(left + fx * (right - left)), int(top + fy * (bottom - top)))
        z = mouse.data_at(pos)
        paints0 = sum(s.partial_paints for s in scatters)
        points0 = sum(s.partial_points for s in scatters)
        with qtbot.waitSignal(window.decodeShown, timeout=WAIT_MS,
                              check_params_cb=lambda s, z=z: np.allclose(s.z, z, rtol=0, atol=1e-6)):
            send(vp, QEvent.Type.MouseButtonPress, pos, LEFT, LEFT)
            send(vp, QEvent.Type.MouseButtonRelease, pos, LEFT, NONE)
        qtbot.wait(50)  # the marker's repaint
        partial = pixels()
        assert sum(s.partial_paints for s in scatters) > paints0, "the marker's repaint took no short path"
        drawn = sum(s.partial_points for s in scatters) - points0
        assert drawn < len(window.session.labels) / 2, f"a small repaint drew {drawn} points"
        vp.update()
        win.repaint()
        qtbot.wait(50)
        full = pixels()
        assert partial.shape[:2] == (vp.height(), vp.width())
        assert (partial != full).any(axis=2).sum() == 0, "a partial repaint differs from a full one"


def test_a_clicks_image_is_handled_before_the_planes_repaint(window, mouse, spy, qtbot, monkeypatch, decode, model):
    """A click's main-pane request gives the idle worker a head start (explorer.core.pane.CLICK_HEAD_START),
    so the result is queued before the GUI returns to its event loop and handled before the marker's
    (low-priority) repaint. Made generous here so a busy test machine cannot make it time out."""
    from PySide6.QtCore import QObject

    import explorer.core.pane as pane_mod

    monkeypatch.setattr(pane_mod, "CLICK_HEAD_START", 30.0)
    import time

    from explorer.core.torch_fns import torch_decoder, torch_encoder

    real = torch_decoder(model)

    def slow(z, labels=None):  # a model slower than a repaint: without the head start the paint comes first
        time.sleep(0.03)
        return real(z, labels)

    window.service.set_model(model, slow, torch_encoder(model))
    vp = window.view.viewport()
    order = []

    class Paints(QObject):
        def eventFilter(self, obj, ev):
            if ev.type() == QEvent.Type.Paint:
                order.append("paint")
            return False

    f = Paints()
    vp.installEventFilter(f)
    window.decodeShown.connect(lambda s: order.append(("shown", s.id)))
    try:
        for _ in range(3):
            pos = away_from_marker(window, mouse)
            z = mouse.data_at(pos)
            order.clear()
            spy["pane"] = 0
            send(vp, QEvent.Type.MouseButtonPress, pos, LEFT, LEFT)
            send(vp, QEvent.Type.MouseButtonRelease, pos, LEFT, NONE)
            assert spy["pane"] == 1
            qtbot.waitUntil(lambda: "paint" in order, timeout=WAIT_MS)
            first = order[0]
            assert isinstance(first, tuple) and first[0] == "shown", f"the repaint came first: {order}"
            np.testing.assert_allclose(window.pane.z, z, rtol=0, atol=1e-6)
            np.testing.assert_allclose(window.pane.decoded.image, decode(z)[0], rtol=0, atol=1e-5)
    finally:
        vp.removeEventFilter(f)


def test_only_a_click_or_the_start_on_the_main_pane_waits_for_its_decode():
    from explorer.core.pane import CLICK_HEAD_START, PaneTarget

    def target(source, slot=0):
        return PaneTarget(base=(0.0, 0.0), z=(0.0, 0.0), source=source, n_vectors=0, slot=slot)

    assert target("click").head_start == CLICK_HEAD_START > 0
    assert target("start").head_start == CLICK_HEAD_START  # a model's first image, before its plane's first paint
    for t in (target("drag"), target("hover"), target("interpolation"), target("scene"), target("click", slot=1)):
        assert t.head_start == 0.0


def test_hover_moves_skip_the_item_search_and_light_the_marker_as_pyqtgraph_does(window, mouse, spy, qtbot):
    """Buttonless moves inside the plot do not go through pyqtgraph's scene; the marker still takes its
    hover pen exactly where pyqtgraph's own hover dispatch gives it (compared move by move)."""
    import pyqtgraph as pg

    view, vp = window.view, window.view.viewport()
    m = view.marker.pos()
    c = mouse.pixel(m.x(), m.y())
    offsets = [QPoint(dx, dy) for dx in (0, 5, 8, 9, 10, 11, 12, 14, 30) for dy in (0, 7, 10)]
    ours, theirs = [], []
    for off in offsets:
        send(vp, QEvent.Type.MouseMove, c + off, NONE, NONE)
        ours.append(view.marker.mouseHovering)
    assert spy["search"] == 0, "a hover move inside the plot went through pyqtgraph's item search"
    assert any(ours) and not all(ours)
    for off in offsets:  # the same moves, straight to pyqtgraph's own handler
        qtbot.wait(30)  # its scene drops moves closer than 10 ms
        pos = QPointF(c + off)
        ev = QMouseEvent(QEvent.Type.MouseMove, pos, QPointF(vp.mapToGlobal(pos.toPoint())), NONE, NONE,
                         Qt.KeyboardModifier.NoModifier)
        pg.GraphicsView.mouseMoveEvent(view, ev)
        theirs.append(view.marker.mouseHovering)
    assert ours == theirs
    # over an axis the scene still gets the move (and tells the marker the mouse left)
    left, top, right, bottom = mouse.plot_pixels(margin=0)
    before = spy["search"]
    qtbot.wait(30)
    send(vp, QEvent.Type.MouseMove, QPoint(left - 15, (top + bottom) // 2), NONE, NONE)
    assert spy["search"] > before and not view.marker.mouseHovering
    # onto the marker (the hover pen), then straight out over an axis or out of the plane: no hover pen
    for leave in ("axis", "window"):
        send(vp, QEvent.Type.MouseMove, c, NONE, NONE)
        assert view.marker.mouseHovering
        qtbot.wait(30)
        if leave == "axis":
            send(vp, QEvent.Type.MouseMove, QPoint(left - 15, (top + bottom) // 2), NONE, NONE)
        else:
            QApplication.sendEvent(view, QEvent(QEvent.Type.Leave))
        assert not view.marker.mouseHovering, f"the marker kept its hover pen after the mouse left ({leave})"
