"""The draw panel with a real model: a stroke drawn with real mouse events is encoded off the GUI
thread (checked against the model's own encoder), shown as a star on the plane and as a
reconstruction; dropped image files work, and an unreadable one changes nothing."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QMouseEvent
from PySide6.QtWidgets import QApplication

from explorer.core import drawing
from explorer.core.decode_service import to_display

TIMEOUT = 10_000


def encode(model, x):
    with torch.inference_mode():
        mean, _ = model.encode(torch.from_numpy(np.asarray(x, np.float32)[None]))
        return mean.numpy()[0], model.decode(mean).numpy()[0]


def send_mouse(widget, kind, pos: QPoint, button, buttons):
    ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, ev)


def stroke(widget, points: list[QPoint]) -> None:
    left, none = Qt.MouseButton.LeftButton, Qt.MouseButton.NoButton
    send_mouse(widget, QEvent.Type.MouseButtonPress, points[0], left, left)
    for p in points[1:]:
        send_mouse(widget, QEvent.Type.MouseMove, p, none, left)
    send_mouse(widget, QEvent.Type.MouseButtonRelease, points[-1], left, none)


def drop_file(widget, path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    ev = QDropEvent(QPointF(20, 20), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                    Qt.KeyboardModifier.NoModifier)
    widget.dropEvent(ev)  # the handler itself: Qt delivers drop events only during a real drag
    assert ev.isAccepted()


def check_encoded(window, panel, model, result):
    """The signal's mean / reconstruction are the model's for the canvas as converted by drawing.py."""
    shape = window.session.image_shape
    x = drawing.to_model_input(panel.canvas.array(), shape)
    want_mean, want_recon = encode(model, x)
    mean, recon = result
    np.testing.assert_allclose(mean, want_mean, atol=1e-5)
    np.testing.assert_allclose(recon, to_display(want_recon[None])[0], atol=1e-5)
    assert recon.shape == tuple(shape[1:])
    star = window.view.overlays.star
    np.testing.assert_allclose(star.data["x"], [mean[0]], atol=1e-6)  # the star is on the plane, there
    np.testing.assert_allclose(star.data["y"], [mean[1]], atol=1e-6)
    assert star.isVisible() and window.state.drawn == tuple(float(v) for v in mean)
    assert star.zValue() > max(s.zValue() for s in window.view.scatters)
    np.testing.assert_allclose(window.state.point, mean, atol=1e-6)  # the drawn image is the pane's base now
    assert window.state.point_source == "drawing"
    m = window.view.marker.pos()
    np.testing.assert_allclose([m.x(), m.y()], mean, atol=1e-5)
    np.testing.assert_allclose(panel.recon_view.image, recon, atol=1e-6)


def test_stroke_with_the_mouse_is_encoded_like_the_model(window, qtbot, model):
    panel = window.draw
    window.draw_dock.raise_()
    canvas = panel.canvas
    assert canvas.is_blank()
    pts = [QPoint(60 + 10 * i, 50 + 12 * i) for i in range(11)]
    with qtbot.waitSignal(panel.encoded, timeout=TIMEOUT) as blocker:
        stroke(canvas, pts)
    a = canvas.array()
    assert a.shape == (224, 224, 3) and a.any()
    assert a[110, 110].tolist() == [255, 255, 255] and a[200, 20].tolist() == [0, 0, 0]  # on / off the stroke
    check_encoded(window, panel, model, blocker.args[0])
    first = canvas.array()

    panel.brush.setValue(5)  # a thicker second stroke adds to the drawing
    with qtbot.waitSignal(panel.encoded, timeout=TIMEOUT) as blocker:
        stroke(canvas, [QPoint(40, 180), QPoint(120, 180), QPoint(190, 180)])
    second = canvas.array()
    assert (second >= first).all() and (second > first).any()
    assert (second[:, :, 0] > 0)[160:200, 100].sum() >= 5 * canvas.scale - 2  # ~5 model pixels wide
    check_encoded(window, panel, model, blocker.args[0])

    qtbot.mouseClick(panel.btn_clear, Qt.MouseButton.LeftButton)
    assert canvas.is_blank() and not window.view.overlays.star.isVisible() and panel.mean is None


def test_dropped_png_is_resized_shown_and_encoded(window, qtbot, model, tmp_path):
    panel = window.draw
    img = np.zeros((90, 60, 3), np.uint8)  # colour, not the model's size
    img[20:70, 25:35] = (255, 200, 40)
    path = tmp_path / "bar.png"
    Image.fromarray(img).save(path)
    with qtbot.waitSignal(panel.encoded, timeout=TIMEOUT) as blocker:
        drop_file(panel.canvas, path)
    shape = window.session.image_shape
    x = drawing.to_model_input(drawing.load_image(path), shape)
    np.testing.assert_array_equal(panel.canvas.array(), drawing.to_canvas(x, panel.canvas.scale))
    check_encoded(window, panel, model, blocker.args[0])
    np.testing.assert_allclose(panel.last_input, x, atol=0.5 / 255 + 1e-6)
    assert "bar.png" in panel.status.text()


def test_unreadable_file_shows_one_sentence_and_keeps_the_drawing(window, qtbot, model, tmp_path):
    panel = window.draw
    with qtbot.waitSignal(panel.encoded, timeout=TIMEOUT):
        stroke(panel.canvas, [QPoint(100, 40), QPoint(100, 120), QPoint(100, 190)])
    canvas_before, mean_before = panel.canvas.array(), panel.mean.copy()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT) as blocker, \
            qtbot.assertNotEmitted(panel.encoded, wait=300):
        drop_file(panel.canvas, bad)
    msg = blocker.args[0]
    assert msg.startswith(str(bad)) and "\n" not in msg and msg.endswith(".")
    assert window.error_label.isVisible() and window.error_label.text() == msg
    np.testing.assert_array_equal(panel.canvas.array(), canvas_before)
    np.testing.assert_array_equal(panel.mean, mean_before)
    assert window.view.overlays.star.isVisible()

    assert panel.load_image(str(tmp_path / "missing.png")) is False
    assert "no such file" in window.last_error
    np.testing.assert_array_equal(panel.canvas.array(), canvas_before)
