"""A flood of user events while the model raises on every call: the window shows the error, stays
usable, builds no queue, and works again as soon as the model does."""

from __future__ import annotations

import threading

import numpy as np
from PySide6.QtCore import QPoint

from explorer.core.torch_fns import torch_decoder, torch_encoder


def test_event_flood_while_the_worker_raises(window, mouse, qtbot, model, decode):
    real = torch_decoder(model)
    broken = threading.Event()
    broken.set()
    calls = {"n": 0}

    def flaky(z, labels=None):
        calls["n"] += 1
        if broken.is_set():
            raise RuntimeError("the decoder is broken right now")
        return real(z, labels)

    window.service.set_model(model, flaky, torch_encoder(model))
    window.set_hover(True)
    errors = []
    window.errorShown.connect(errors.append)
    left, top, right, bottom = mouse.plot_pixels()
    service = window.service.service
    d0 = service.decoded
    for i in range(2000):  # hover moves, t and vector changes, all while every decode fails
        mouse.move(QPoint(left + (7 * i) % (right - left), top + (3 * i) % (bottom - top)))
        if i % 100 == 0:
            qtbot.wait(1)
    assert service.pending() <= 2, "the single pending slots must collapse the flood"
    qtbot.waitUntil(lambda: service.wait_idle(0) and bool(errors), timeout=10_000)
    assert all("the decoder is broken right now" in e for e in errors)
    assert window.error_label.isVisible() and "\n" not in window.error_label.text()
    assert service.alive and calls["n"] < 2000, f"{calls['n']} decode calls for 2,000 events"
    # the model works again: the next user action shows the right pixels
    broken.clear()
    window.set_hover(False)
    z = np.median(window.session.means, axis=0) + 0.01
    with qtbot.waitSignal(window.decodeShown, timeout=10_000):
        window.state.point = z
    np.testing.assert_allclose(window.pane.z, z, atol=1e-6)
    np.testing.assert_allclose(window.pane.decoded.image, decode(window.pane.z)[0], atol=1e-6)
    assert service.decoded > d0


def test_closing_while_a_gif_write_hangs_does_not_freeze_the_window(window, qtbot, monkeypatch, tmp_path):
    """The old app joined the writer twice and blocked the GUI for 20 s; now closing waits a bounded moment."""
    from PySide6.QtCore import QThreadPool

    from explorer.core import export
    from explorer.qt import main_window

    started, release = threading.Event(), threading.Event()

    def hanging_save_gif(path, frames, **kw):
        started.set()
        release.wait(60)  # a stalled network drive
        return path

    monkeypatch.setitem(export.WRITERS, "gif", export.Writer(hanging_save_gif, ".gif", "GIF (*.gif)"))
    monkeypatch.setattr(main_window, "CLOSE_WAIT_MS", 200)
    st = window.state.interpolation
    st.a, st.b = (-0.2, 0.0), (0.2, 0.1)
    window.interp.export_gif(str(tmp_path / "a.gif"), n_frames=4)
    qtbot.waitUntil(started.is_set, timeout=10_000)
    try:
        window.close()  # must return although the writer still hangs
        assert not release.is_set() and not window.isVisible()
        assert not window.service.service.alive
    finally:
        release.set()
        assert QThreadPool.globalInstance().waitForDone(10_000)
