"""The vector panel with a real model: class vectors and their AUC, strengths (negative subtracts),
on/off, what the decode pane shows (checked against the model's own decoder), the arrow on the
plane, and lasso / rectangle selection driven by real mouse events on the plane."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from explorer.core import latent, vectors
from explorer.core.decode_service import to_display
from explorer.core.state import Vector


def decoded(model, z) -> np.ndarray:
    with torch.inference_mode():
        return to_display(model.decode(torch.from_numpy(np.asarray(z, np.float32)[None])).numpy())[0]


def wait_for_result(qtbot, window, want, timeout=10_000):
    """Until the pane shows point + vectors decoded at ``want``."""
    want = np.asarray(want, np.float32)
    qtbot.waitUntil(lambda: window.pane.z is not None and np.allclose(window.pane.z, want, atol=1e-6),
                    timeout=timeout)
    qtbot.wait(30)  # let anything queued behind it arrive, so the pane check below sees the final state


def check_pane(window, model, want, base):
    """The result and, beside it, the base image: each the model's own decode; caption and marker agree."""
    pane = window.pane
    np.testing.assert_allclose(pane.z, want, atol=1e-6)
    n = len(window.state.vectors.active())
    assert f" + {n} vector" in pane.caption.text().replace("\xa0", " ") and pane.caption.text().replace("\xa0", " ").endswith(f"z = ({want[0]:+.3f}, {want[1]:+.3f})")
    np.testing.assert_allclose(pane.decoded.image, decoded(model, want), atol=1e-5)
    assert pane.base.isVisible() and pane.base_title.isVisible() and pane.base_title.text() == "before vectors"
    assert pane.base_caption.text().replace("\xa0", " ") == f"z = ({base[0]:+.3f}, {base[1]:+.3f})"
    np.testing.assert_allclose(pane.base.image, decoded(model, base), atol=1e-5)
    mk = window.view.marker.pos()
    np.testing.assert_allclose([mk.x(), mk.y()], want, atol=1e-6)


def send_mouse(widget, kind, pos: QPoint, button, buttons, mods=Qt.KeyboardModifier.NoModifier):
    ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, mods)
    QApplication.sendEvent(widget, ev)


def drag(widget, points: list[QPoint], mods=Qt.KeyboardModifier.NoModifier):
    """A real left-button drag through ``points`` (press at the first, release at the last)."""
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send_mouse(widget, QEvent.Type.MouseMove, points[0], none, none, mods)
    send_mouse(widget, QEvent.Type.MouseButtonPress, points[0], left, left, mods)
    for p in points[1:]:
        send_mouse(widget, QEvent.Type.MouseMove, p, none, left, mods)
    send_mouse(widget, QEvent.Type.MouseButtonRelease, points[-1], left, none, mods)


def widget_to_data(view, p: QPoint) -> tuple[float, float]:
    d = view.vb.mapSceneToView(view.mapToScene(p))
    return d.x(), d.y()


def test_class_vector_auc_and_strength_decode_like_the_model(window, qtbot, model):
    panel, s = window.vectors, window.session
    panel.set_class("A", 3)
    panel.set_class("B", 2)
    assert (panel.combo_a.currentText(), panel.combo_b.currentText()) == (s.label_names[3], s.label_names[2])
    assert panel.name_edit.text() == f"{s.label_names[3]} \u2212 {s.label_names[2]}"
    panel.set_class("A", 1)
    panel.set_class("B", 0)
    assert panel.name_edit.text() == f"{s.label_names[1]} \u2212 {s.label_names[0]}"
    with qtbot.waitSignal(window.decodeShown):
        qtbot.mouseClick(panel.btn_add, Qt.MouseButton.LeftButton)
    [v] = window.state.vectors
    a, b = s.labels == 1, s.labels == 0
    want_v = latent.attribute_vector(s.means, a, b)
    np.testing.assert_allclose(v.vector, want_v, atol=1e-7)
    assert v.auc == pytest.approx(latent.projection_auc(s.means, a, b, want_v))
    assert v.name == f"{s.label_names[1]} \u2212 {s.label_names[0]}" and v.strength == 1.0 and v.enabled
    row = panel.rows[0]
    assert f"{v.auc:.2f}" in row.auc.text() and vectors.auc_hint(v.auc) in row.auc.text()

    row.slider.setValue(1.5)
    assert window.state.vectors[0].strength == pytest.approx(1.5)
    z0 = np.array([0.05, -0.1], np.float32)
    window.state.set_point(z0)
    want = z0 + 1.5 * want_v
    wait_for_result(qtbot, window, want)
    check_pane(window, model, want, z0)
    start, end = window.view.arrow()
    np.testing.assert_allclose(start, z0, atol=1e-6)
    np.testing.assert_allclose(end, want, atol=1e-6)


def test_two_vectors_add_negative_subtracts_and_off_removes(window, qtbot, model):
    panel = window.vectors
    u, w = [0.8, 0.0], [0.0, 1.2]
    window.state.vectors.extend([Vector("right", u, 1.0), Vector("up", w, 1.0)])
    assert len(panel.rows) == 2
    z0 = np.array([0.2, 0.3], np.float32)
    n0 = window.pane_ctl.requests
    window.state.set_point(z0)
    assert window.pane_ctl.requests == n0 + 1, "one request for a click with vectors on (no double decode)"
    wait_for_result(qtbot, window, [1.0, 1.5])  # z0 + u + w, by hand
    check_pane(window, model, [1.0, 1.5], z0)

    panel.rows[1].slider.setValue(-0.5)  # subtract half of "up"
    assert "subtracts" in panel.rows[1].sign.text() and "\u2212" in panel.rows[1].sign.text()
    assert "adds" in panel.rows[0].sign.text()
    want = np.array([0.2 + 0.8, 0.3 - 0.6], np.float32)
    np.testing.assert_allclose(vectors.apply(z0, list(window.state.vectors)), want, atol=1e-6)  # core maths == shown
    wait_for_result(qtbot, window, want)
    check_pane(window, model, want, z0)
    start, end = window.view.arrow()
    np.testing.assert_allclose(start, z0, atol=1e-6)
    np.testing.assert_allclose(end, want, atol=1e-6)
    assert window.view.overlays.arrow_line.zValue() > max(sc.zValue() for sc in window.view.scatters)
    head = window.view.overlays.arrow_head.pos()
    assert (head.x(), head.y()) == pytest.approx(tuple(want), abs=1e-6)

    qtbot.mouseClick(panel.rows[0].check, Qt.MouseButton.LeftButton)  # "right" off
    assert [v.enabled for v in window.state.vectors] == [False, True]
    want = np.array([0.2, 0.3 - 0.6], np.float32)
    wait_for_result(qtbot, window, want)
    check_pane(window, model, want, z0)

    with qtbot.waitSignal(window.decodeShown, check_params_cb=lambda r: r.target.n_vectors == 0):
        panel.rows[1].check.setChecked(False)  # nothing on: the plain point comes back
    assert window.view.arrow() is None and not window.view.overlays.arrow_head.isVisible()
    qtbot.wait(100)
    np.testing.assert_allclose(window.pane.z, z0, atol=1e-6)
    assert window.pane.caption.text().replace("\xa0", " ").startswith("clicked point \u00b7 z =")
    assert not window.pane.base.isVisible()
    np.testing.assert_allclose(window.pane.decoded.image, decoded(model, z0), atol=1e-5)


def test_rows_follow_the_state_both_ways_and_clamp(window, qtbot):
    panel = window.vectors
    vs = [Vector("a", [0.1, 0.2], -2.0, True, 0.93), Vector("b", [0.3, -0.1], 9.0, False, None)]
    window.state.vectors.extend(vs)
    assert [v.strength for v in window.state.vectors] == [-2.0, 3.0]
    assert [r.slider.value() for r in panel.rows] == [pytest.approx(-2.0), pytest.approx(3.0)]
    assert "strong" in panel.rows[0].auc.text() and not panel.rows[1].check.isChecked()
    vs[1].strength = -1.25  # a script changes the state: the row follows
    assert panel.rows[1].slider.value() == pytest.approx(-1.25) and "off" in panel.rows[1].sign.text()
    vs[1].enabled = True
    assert panel.rows[1].check.isChecked() and "subtracts" in panel.rows[1].sign.text()
    panel.rows[0].name.setText("renamed")
    panel.rows[0].name.textEdited.emit("renamed")
    assert window.state.vectors[0].name == "renamed"
    qtbot.mouseClick(panel.rows[1].btn_remove, Qt.MouseButton.LeftButton)
    assert [v.name for v in window.state.vectors] == ["renamed"] and len(panel.rows) == 1
    qtbot.mouseClick(panel.btn_clear, Qt.MouseButton.LeftButton)
    assert len(window.state.vectors) == 0 and panel.rows == [] and panel.sum_label.text() == "no vectors"
    qtbot.wait(100)
    assert window.view.arrow() is None


def test_lasso_selects_exactly_the_points_inside_without_panning(window, qtbot):
    panel, view, s = window.vectors, window.view, window.session
    x0, x1, y0, y1 = view.view_rect()
    cx, cy = np.median(s.means, axis=0)
    rx, ry = 0.25 * (x1 - x0), 0.25 * (y1 - y0)
    t = np.linspace(0, 2 * np.pi, 14, endpoint=False)
    wobble = 1 + 0.3 * np.sin(3 * t)  # a non-convex freehand outline
    data_pts = [(cx + rx * wobble[i] * np.cos(t[i]), cy + ry * wobble[i] * np.sin(t[i])) for i in range(len(t))]
    px = [view.data_to_widget(x, y) for x, y in data_pts]
    before_range = view.view_rect()
    before_z = window.state.point

    qtbot.mouseClick(panel.btn_sel_a, Qt.MouseButton.LeftButton)
    assert panel.selector.armed and panel.btn_sel_a.isChecked()
    with qtbot.waitSignal(panel.selectionMade) as blocker:
        drag(view.viewport(), px)
    assert view.view_rect() == before_range, "the plane panned during the lasso"
    assert view.vb.mouseEnabled() == [True, True], "the ViewBox mouse interaction was not restored"
    assert window.state.point == before_z  # the press did not decode / move the marker
    assert not panel.selector.armed and not panel.btn_sel_a.isChecked()

    polygon = np.array([widget_to_data(view, p) for p in px])
    want = s.index.inside(polygon)
    n = int(want.sum())
    assert 0 < n < len(want)
    g = panel.group("A")
    np.testing.assert_array_equal(g.mask, want)
    assert blocker.args == ["A", n]
    assert panel.combo_a.currentText() == f"sel A ({n})"
    assert f"{n:,} points" in panel.status.text()

    # B: a rectangle with Shift held, over the lower-left part of the view
    corners = [view.data_to_widget(x0 + 0.05 * (x1 - x0), y0 + 0.05 * (y1 - y0)),
               view.data_to_widget(cx, cy)]
    mid = QPoint((corners[0].x() + corners[1].x()) // 2, (corners[0].y() + corners[1].y()) // 2)
    qtbot.mouseClick(panel.btn_sel_b, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(panel.selectionMade):
        drag(view.viewport(), [corners[0], mid, corners[1]], Qt.KeyboardModifier.ShiftModifier)
    assert view.view_rect() == before_range
    rect = vectors.rectangle(widget_to_data(view, corners[0]), widget_to_data(view, corners[1]))
    want_b = s.index.inside(rect)
    assert want_b.any()
    np.testing.assert_array_equal(panel.group("B").mask, want_b)

    v = panel.add_from_groups()
    assert v.name == f"sel A ({n}) \u2212 sel B ({int(want_b.sum())})"
    np.testing.assert_allclose(v.vector, latent.attribute_vector(s.means, want, want_b), atol=1e-7)


def test_escape_cancels_a_lasso_and_leaves_the_groups(window, qtbot):
    panel, view = window.vectors, window.view
    before_text = panel.combo_b.currentText()
    before_range = view.view_rect()
    x0, x1, y0, y1 = before_range
    pts = [view.data_to_widget(x0 + f * (x1 - x0), y0 + g * (y1 - y0)) for f, g in ((0.3, 0.3), (0.6, 0.3), (0.6, 0.7))]
    panel.start_selection("B")
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send_mouse(view.viewport(), QEvent.Type.MouseButtonPress, pts[0], left, left)
    for p in pts[1:]:
        send_mouse(view.viewport(), QEvent.Type.MouseMove, p, none, left)
    assert panel.selector.outline.isVisible()  # the lasso is drawn while dragging
    assert view.vb.mouseEnabled() == [False, False]
    with qtbot.waitSignal(panel.selector.cancelled):
        qtbot.keyClick(view.viewport(), Qt.Key.Key_Escape)
    assert not panel.selector.armed and not panel.selector.outline.isVisible()
    assert view.vb.mouseEnabled() == [True, True]
    send_mouse(view.viewport(), QEvent.Type.MouseButtonRelease, pts[-1], left, none)
    assert panel.combo_b.currentText() == before_text and panel.group("B").name == before_text
    assert "cancelled" in panel.status.text()
    assert view.view_rect() == before_range


def test_the_class_pickers_take_the_new_palette(window):
    """View > Colour-blind safe palette recolours the A / B class pickers as it does the plane and legend."""
    from PySide6.QtGui import QColor

    from explorer.core.palettes import colour

    def swatches(combo):
        out = []
        for i in range(combo.count()):
            img = combo.itemIcon(i).pixmap(12, 12).toImage()
            out.append(img.pixelColor(img.width() // 2, img.height() // 2).name())
        return out

    panel = window.vectors
    for _ in range(2):  # there and back
        window.action_set["view.palette"].trigger()
        n = len(window.state.session.label_names)
        want = [QColor(colour(window.state.palette, k)).name() for k in range(n)]
        assert swatches(panel.combo_a) == want and swatches(panel.combo_b) == want
