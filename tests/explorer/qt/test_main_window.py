"""The main window driven like a user: real mouse and key events, checked against what is on screen.

Every expected image is computed here, independently, with the checkpoint loaded through the
public API (``training.checkpoint.load``) and its decoder; the app itself never runs torch on the
GUI thread.
"""

from __future__ import annotations

import sys
import threading

import numpy as np
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QImage
from PySide6.QtWidgets import QApplication

from explorer.core import latent
from explorer.core.torch_fns import torch_decoder, torch_encoder

WAIT_MS = 10_000


def qimage_array(q: QImage) -> np.ndarray:
    """A Grayscale8 QImage as a (H, W) uint8 array (honouring the row stride)."""
    q = q.convertToFormat(QImage.Format.Format_Grayscale8)
    buf = np.frombuffer(q.constBits(), np.uint8, q.bytesPerLine() * q.height()).reshape(q.height(), q.bytesPerLine())
    return buf[:, : q.width()].copy()


def nearest_visible(session, z, visible: set[int]) -> int:
    """Brute-force nearest dataset point among the visible classes."""
    d = ((session.means - np.asarray(z, np.float32)) ** 2).sum(axis=1)
    d[~np.isin(session.labels, list(visible))] = np.inf
    return int(d.argmin())


def far_from_marker(window, mouse, min_px: float = 30.0):
    """A class mean (class 3 if it is far enough) whose pixel is at least ``min_px`` from the marker."""
    s = window.session
    mp = mouse.pixel(window.view.marker.pos().x(), window.view.marker.pos().y())
    order = [3] + [k for k in range(len(s.label_names)) if k != 3]
    for k in order:
        m = s.means[s.labels == k].mean(axis=0)
        p = mouse.pixel(*m)
        if np.hypot(p.x() - mp.x(), p.y() - mp.y()) >= min_px:
            return k, m.astype(np.float32), p
    left, top, right, bottom = mouse.plot_pixels()
    p = QPoint(left + 20, top + 20)
    return None, mouse.data_at(p), p


def assert_shows(window, decode, z_expected=None):
    """The pane shows exactly the decoder's output for the z it reports, on screen too."""
    pane = window.pane
    z = pane.z
    if z_expected is not None:
        np.testing.assert_allclose(z, z_expected, rtol=0, atol=1e-7)
    want = decode(z)[0]
    np.testing.assert_allclose(pane.decoded.image, want, rtol=0, atol=1e-5)
    px = qimage_array(pane.decoded.qimage())
    np.testing.assert_array_equal(px, np.round(255 * np.clip(want, 0, 1)).astype(np.uint8))
    # the pixmap on screen: nearest-neighbour upscaling, so each source pixel's centre keeps its value
    shown = qimage_array(pane.decoded.pixmap().toImage())
    h, w = px.shape
    sy = (np.arange(h) + 0.5) * shown.shape[0] / h
    sx = (np.arange(w) + 0.5) * shown.shape[1] / w
    np.testing.assert_array_equal(shown[sy.astype(int)][:, sx.astype(int)], px)


# ----------------------------------------------------------------------------- 0. the Qt binding


def test_qt_calls_keep_none_alive(qapp):
    """Every void Qt call must hand back a *new* reference to None.

    PySide6 6.12.0 on CPython 3.11 does not: each call like ``label.setText()`` drops one
    reference to None, so after some thousands of mouse moves the interpreter aborts with
    "Fatal Python error: none_dealloc" (mid-session or at exit). CPython >= 3.12 makes None
    immortal, which hides it there. Pin a PySide6 without the bug (6.11.3 is fine).
    """
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import QObject

    obj = QObject()
    before = sys.getrefcount(None)
    for _ in range(1000):
        obj.setObjectName("x")
    lost = before - sys.getrefcount(None)
    assert lost < 10, (f"PySide6 {pyside_version} on Python {sys.version.split()[0]} dropped {lost} references to None "
                       "in 1,000 void calls; the app will abort with 'Fatal Python error: none_dealloc'")


# ----------------------------------------------------------------------------- 1. click -> decode


def test_click_shows_the_decoders_output_for_that_z(window, mouse, qtbot, decode):
    s = window.session
    k, target, pos = far_from_marker(window, mouse)
    with qtbot.waitSignal(window.decodeShown, timeout=WAIT_MS) as shown:
        mouse.click(pos)
    res = shown.args[0]  # what the pane controller says is shown
    z = window.pane.z
    np.testing.assert_array_equal(z, res.z)
    assert res.target.source == "click"
    np.testing.assert_allclose(window.state.point, z, rtol=0, atol=1e-6)  # the click went through the state
    # the z decoded is the one under the pointer: within a pixel of the point aimed at
    assert np.abs(z - target).max() <= mouse.pixel_size(), (z, target)
    np.testing.assert_allclose(z, mouse.data_at(pos), rtol=0, atol=1e-6)
    assert_shows(window, decode)
    # the marker moved there
    mk = window.view.marker.pos()
    np.testing.assert_allclose([mk.x(), mk.y()], z, rtol=0, atol=1e-6)
    assert window.view.marker.isVisible()
    # the status bar names z and the nearest dataset point's label
    i = nearest_visible(s, z, set(range(len(s.label_names))))
    text = window.status_label.text()
    assert f"z = ({z[0]:+.3f}, {z[1]:+.3f})" in text, text
    assert f"nearest: {s.label_name(i)} (#{i}," in text, text
    assert window.pane.caption.text().replace("\xa0", " ").endswith(f"z = ({z[0]:+.3f}, {z[1]:+.3f})")


# ----------------------------------------------------------------------------- 2. hover burst


def test_burst_of_moves_decodes_only_the_latest(window, mouse, qtbot, model, decode):
    """1,000 hover moves while the worker is busy, events processed only at the end.

    The first decode is held (like a big model's slow decode) until the burst is over, so the
    count does not depend on this machine's speed: with one pending slot the worker can do that
    one and then only the newest position -- two decodes, not a queue of 1,000.
    """
    real = torch_decoder(model)
    busy = threading.Event()
    release = threading.Event()

    def held_first(z, labels=None):
        if not busy.is_set():
            busy.set()
            release.wait(300)  # held until the burst is over, however slow this machine is today
        return real(z, labels)

    window.service.set_model(model, held_first, torch_encoder(model))
    window.set_hover(True)
    assert window.action_set["view.hover"].isChecked()
    ids = []
    window.decodeShown.connect(lambda r: ids.append(r.id))
    left, top, right, bottom = mouse.plot_pixels()
    cols = 40
    positions = [QPoint(left + 3 * (i % cols), top + 3 * (i // cols)) for i in range(1000)]
    assert len({(p.x(), p.y()) for p in positions}) == 1000
    assert all(p.x() < right and p.y() < bottom for p in positions)

    service = window.service.service
    before = service.decoded
    try:
        mouse.move(positions[0])
        assert busy.wait(10), "the first hover did not reach the decode worker"
        for p in positions[1:]:
            mouse.move(p)
        assert ids == [] and service.pending() == 1
    finally:
        release.set()
    z_last = mouse.data_at(positions[-1])
    np.testing.assert_allclose(window.state.point, z_last, rtol=0, atol=1e-6)  # every move reached the state
    qtbot.waitUntil(lambda: window.pane.z is not None and np.allclose(window.pane.z, z_last, rtol=0, atol=1e-7),
                    timeout=WAIT_MS)
    assert service.wait_idle(5)
    qtbot.wait(50)  # a result still in flight would arrive now
    done = service.decoded - before
    assert done == 2, f"{done} decodes for 1,000 moves (the held one and the newest expected)"
    assert len(ids) <= 2 and all(a < b for a, b in zip(ids, ids[1:])), f"decodeShown ids not increasing: {ids}"
    np.testing.assert_allclose(window.pane.z, z_last, rtol=0, atol=1e-7)
    assert_shows(window, decode)
    mk = window.view.marker.pos()
    np.testing.assert_allclose([mk.x(), mk.y()], z_last, rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------- 3. worker errors


def test_worker_error_is_shown_and_the_next_click_works(window, mouse, qtbot, model, decode):
    real = torch_decoder(model)
    calls = {"n": 0}

    def flaky(z, labels=None):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("boom")
        return real(z, labels)

    window.service.set_model(model, flaky, torch_encoder(model))
    assert not window.error_label.isVisible()
    _, _, pos = far_from_marker(window, mouse)
    with qtbot.waitSignal(window.errorShown, timeout=WAIT_MS) as err:
        mouse.click(pos)
    assert "boom" in err.args[0]
    assert window.error_label.isVisible()
    assert "RuntimeError: boom" in window.error_label.text()
    assert window.service.service.alive
    # the next click (somewhere else: the marker now sits on the first point) decodes
    left, top, right, bottom = mouse.plot_pixels()
    pos2 = QPoint(left + 25 if pos.x() > (left + right) // 2 else right - 25, (top + bottom) // 2)
    with qtbot.waitSignal(window.decodeShown, timeout=WAIT_MS):
        mouse.click(pos2)
    np.testing.assert_allclose(window.pane.z, mouse.data_at(pos2), rtol=0, atol=1e-6)
    assert_shows(window, decode)
    assert calls["n"] == 2


# ----------------------------------------------------------------------------- 4. bad files


def _bad_files(folder, checkpoint):
    import torch

    data = checkpoint.read_bytes()
    truncated = folder / "truncated.safetensors"
    truncated.write_bytes(data[: len(data) // 2])
    pickled = folder / "pickled.safetensors"
    torch.save({"weight": torch.zeros(3)}, pickled)
    text = folder / "notes.safetensors"
    text.write_text("these are my notes, not a model\n")
    return [(truncated, "safetensors"), (pickled, "pickle"), (text, "safetensors")]


def test_bad_model_file_leaves_the_old_model_loaded(window, mouse, qtbot, decode, checkpoint, tmp_path):
    old = window.session
    title = window.windowTitle()
    for path, phrase in _bad_files(tmp_path, checkpoint):
        with qtbot.waitSignal(window.errorShown, timeout=WAIT_MS) as err:
            window.open_model(path)
        msg = err.args[0]
        assert str(path) in msg and phrase in msg, msg
        assert "\n" not in msg.strip() and "Traceback" not in msg, msg
        assert window.error_label.isVisible() and window.error_label.text() == msg
        assert window.session is old
        assert window.windowTitle() == title
        assert "current model is still loaded" in window.status_label.text()
        assert not window.progress.isVisible()
    # the old model still decodes
    _, _, pos = far_from_marker(window, mouse)
    with qtbot.waitSignal(window.decodeShown, timeout=WAIT_MS):
        mouse.click(pos)
    np.testing.assert_allclose(window.pane.z, mouse.data_at(pos), rtol=0, atol=1e-6)
    assert_shows(window, decode)


def test_dropping_a_text_file_says_what_is_accepted(window, qtbot, tmp_path):
    old = window.session
    path = tmp_path / "readme.txt"
    path.write_text("not a model")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(QPointF(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                      Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(QPoint(200, 200), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    assert QApplication.sendEvent(window, enter) and enter.isAccepted(), "the window refuses file drags"
    with qtbot.waitSignal(window.errorShown, timeout=WAIT_MS) as err:
        QApplication.sendEvent(window, drop)
    msg = err.args[0]
    assert str(path) in msg and "not a model (.safetensors)" in msg, msg
    assert window.error_label.isVisible()
    assert window.session is old
    # the same through the public entry point
    with qtbot.waitSignal(window.errorShown, timeout=WAIT_MS) as err2:
        window.open_path(str(path))
    assert err2.args[0] == msg


# ----------------------------------------------------------------------------- 6. manifold underlay


def _underlay_rect(view):
    r = view.underlay.mapRectToView(view.underlay.boundingRect())
    return np.array([r.left(), r.right(), r.top(), r.bottom()])  # y-up view: top() is the smaller y


def test_manifold_underlay_tiles_the_lattice_and_pans_decode_only_new_cells(window, qtbot, decode):
    from explorer.core.underlay_cache import lattice_for_view

    view, svc = window.view, window.service.service.lane("grid")
    requests = []
    for kind in ("grid", "grid-coarse"):  # record what the underlay's two channels are asked for
        ch = window.service.channel(kind)
        ch.request = lambda z, _orig=ch.request, _kind=kind, **k: requests.append((_kind, len(z))) or _orig(z, **k)
    with qtbot.waitSignal(window.underlayShown, timeout=WAIT_MS):
        window.set_underlay(True)
    lat = lattice_for_view(*view.view_rect(), window.density.value())
    grid = lat.grid()
    assert grid.nx * grid.ny > 1
    assert ("grid", grid.nx * grid.ny) in requests, requests  # every cell, in one batch
    assert view.underlay.isVisible()
    np.testing.assert_allclose(view.underlay.image, latent.tile(decode(grid.centres()), grid), rtol=0, atol=1e-5)
    x0, x1, y0, y1 = _underlay_rect(view)
    vx0, vx1, vy0, vy1 = view.view_rect()
    assert x0 <= vx0 and x1 >= vx1 and y0 <= vy0 and y1 >= vy1, "the mosaic covers the view"
    np.testing.assert_allclose([x0, x1, y0, y1], [grid.x0, grid.x1, grid.y0, grid.y1], atol=1e-9)

    # pan by 30 %: the cells already decoded are reused; only the new ones are requested, once
    requests.clear()
    with qtbot.waitSignal(window.underlayShown, timeout=WAIT_MS):
        view.vb.translateBy(x=0.3 * (vx1 - vx0))
    assert svc.wait_idle(5)
    qtbot.wait(200)  # longer than the re-render debounce: no second render may follow
    lat2 = lattice_for_view(*view.view_rect(), window.density.value())
    new = len(set(lat2.keys()) - set(lat.keys()))
    assert [r for r in requests if r[0] == "grid"] == [("grid", new)] and 0 < new < len(lat2.keys())
    grid2 = lat2.grid()
    np.testing.assert_allclose(view.underlay.image, latent.tile(decode(grid2.centres()), grid2), rtol=0, atol=1e-5)

    # and back: everything is cached, nothing is decoded
    requests.clear()
    with qtbot.waitSignal(window.underlayShown, timeout=WAIT_MS):
        view.vb.translateBy(x=-0.3 * (vx1 - vx0))
    qtbot.wait(200)
    assert [r for r in requests if r[0].startswith("grid")] == []

    # toggling off (the toolbar action) hides it
    window.action_set["view.underlay"].trigger()
    assert not window.action_set["view.underlay"].isChecked()
    assert not view.underlay.isVisible()


# ----------------------------------------------------------------------------- 7. info, help, quit


def test_info_panel_shows_the_models_metadata(window, model):
    rows = window.info.rows
    cfg, metrics = model.config, model.metadata["metrics"]
    assert rows["kind"].startswith(cfg.kind)
    assert rows["beta"] == f"{cfg.beta:g}"
    assert rows["trained on"] == "synthetic"
    assert rows["shown"].startswith("synthetic")
    assert rows["test -ELBO"] == f"{metrics['test_neg_elbo']:.2f} nats"
    # what is on screen: the form's labels, row by row
    form = window.info.form
    shown = {}
    for r in range(form.rowCount()):
        key = form.itemAt(r, form.ItemRole.LabelRole).widget().text()
        val = form.itemAt(r, form.ItemRole.FieldRole).widget().text()
        shown[key.replace("<b>", "").replace("</b>", "")] = val
    for key in ("kind", "beta", "trained on", "test -ELBO"):
        assert shown[key] == rows[key]
    assert window.info_dock.isVisible()


def test_f1_shows_help_without_blocking_and_ctrl_q_quits_cleanly(window, mouse, qtbot, decode):
    window.activateWindow()
    qtbot.waitActive(window)
    overlay = window.help_overlay
    assert not overlay.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert overlay.isVisible()
    assert "Ctrl+Q" in overlay.text() and "F1" in overlay.text()
    assert QApplication.activeModalWidget() is None
    # the plane still takes clicks beside the help card
    left, top, right, bottom = mouse.plot_pixels()
    vp = window.view.viewport()

    def free(p: QPoint) -> bool:
        under = window.childAt(window.mapFromGlobal(vp.mapToGlobal(p)))
        return under is vp or vp.isAncestorOf(under)

    spots = [QPoint(x, y) for y in (top + 10, (top + bottom) // 2, bottom - 10) for x in range(left + 10, right - 10, 20)]
    beside = [p for p in spots if free(p)]
    assert len(beside) >= len(spots) // 4, f"the help card covers most of the plane ({window.size()}, {window.help_overlay.geometry()}, {vp.mapTo(window, QPoint(left, top))})"
    pos = beside[0]
    if window.view.on_marker(window.view.mapToScene(pos)):
        pos = beside[-1]
    with qtbot.waitSignal(window.decodeShown, timeout=WAIT_MS):
        mouse.click(pos)
    np.testing.assert_allclose(window.pane.z, mouse.data_at(pos), rtol=0, atol=1e-6)
    assert_shows(window, decode)
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert not overlay.isVisible()
    # Ctrl+Q closes the window and joins every worker
    from PySide6.QtCore import QThreadPool

    service = window.service.service
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=WAIT_MS)
    assert not service.alive
    assert QThreadPool.globalInstance().activeThreadCount() == 0
    assert not [t.name for t in threading.enumerate() if t.name.startswith("model-")]
