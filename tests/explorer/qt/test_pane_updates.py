"""A decoded frame updates the pane without laying the window out again (issue 11).

The images paint their own pixmap and the captions stop their label's geometry requests
(explorer/qt/pane/image_view.py, explorer/qt/widgets.py Caption), so a frame repaints the pane but asks for no
layout pass, unless a caption really needs another line. What is on screen stays as before: the
window's pixels are compared with QLabel-based captions in test_main_window / test_presentation.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, QPoint, Qt
from PySide6.QtWidgets import QApplication, QLabel

from explorer.qt.widgets import Caption

WAIT_MS = 10_000


class LayoutSpy(QObject):
    """Counts LayoutRequest events sent to ``widget`` or any of its ancestors."""

    def __init__(self, widget) -> None:
        super().__init__()
        self.chain = set()
        w = widget
        while w is not None:
            self.chain.add(w)
            w = w.parentWidget()
        self.count = 0
        QApplication.instance().installEventFilter(self)

    def eventFilter(self, obj, ev) -> bool:
        if ev.type() == QEvent.Type.LayoutRequest and obj in self.chain:
            self.count += 1
        return False

    def close(self) -> None:
        QApplication.instance().removeEventFilter(self)


def test_a_new_image_or_caption_of_the_same_size_asks_for_no_layout_pass(window, qtbot):
    pane = window.pane
    z_texts = [f"clicked point \u00b7 z = ({x:+.3f}, {-x:+.3f})" for x in (0.101, 0.202, 0.303, 0.404)]
    pane.caption.setText(z_texts[0])
    pane.nearest_caption.setText("Dress\n#023, distance 0.042")
    qtbot.wait(50)
    spy = LayoutSpy(pane)
    try:
        img = np.linspace(0, 1, 28 * 28, dtype=np.float32).reshape(28, 28)
        for k, text in enumerate(z_texts[1:], 1):
            before = pane.decoded.pixmap().toImage()
            pane.decoded.set_image(img ** k)
            pane.nearest.set_image(1 - img ** k)
            pane.caption.setText(text)
            near = f"{('Bag', 'Coat', 'Shirt')[k - 1]}\n#{k}23, distance 0.{k}42"  # another class name
            pane.nearest_caption.setText(near)
            qtbot.wait(30)
            assert pane.caption.text() == text and pane.caption.label.text() == text
            assert pane.nearest_caption.text() == near
            assert pane.decoded.pixmap().toImage() != before, "the new image is not on screen"
        assert spy.count == 0, f"{spy.count} layout passes for {len(z_texts) - 1} new images and captions"
    finally:
        spy.close()


def test_the_pane_shows_each_decoded_frame(window, mouse, qtbot, decode):
    """Frames through the real path: image, caption and nearest caption all describe the new z."""
    pane = window.pane
    left, top, right, bottom = mouse.plot_pixels(margin=40)
    for f, g in ((0.3, 0.3), (0.6, 0.4), (0.4, 0.7)):
        z = mouse.data_at(QPoint(int(left + f * (right - left)), int(top + g * (bottom - top))))
        with qtbot.waitSignal(window.decodeShown, timeout=WAIT_MS):
            window.state.set_point(z, source="click")
        qtbot.wait(30)
        np.testing.assert_allclose(pane.z, z, rtol=0, atol=1e-6)
        np.testing.assert_allclose(pane.decoded.image, decode(z)[0], rtol=0, atol=1e-5)
        assert pane.caption.text().replace("\xa0", " ").endswith(f"z = ({z[0]:+.3f}, {z[1]:+.3f})")
        d = pane.displayed
        assert f"#{d.nearest_index}, distance {d.nearest_distance:.3f}" in pane.nearest_caption.text().replace("\xa0", " ")
        assert pane.caption.label.geometry() == pane.caption.rect() and pane.caption.label.isVisible()


def test_a_caption_lays_out_like_a_word_wrapped_label(qtbot):
    """The height for width of a centred word-wrapped plain-text QLabel, at the width its layout gives
    it (its own width hint is ignored); a longer text that needs another line asks the parent layout
    again (and only then)."""
    from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

    host = QWidget()
    lay = QVBoxLayout(host)
    cap = Caption("short")
    ref = QLabel("short")
    ref.setTextFormat(Qt.TextFormat.PlainText)
    ref.setWordWrap(True)
    lay.addWidget(cap)
    lay.addWidget(ref)
    qtbot.addWidget(host)
    host.resize(160, 300)
    host.show()
    qtbot.waitExposed(host)
    assert cap.sizePolicy().horizontalPolicy() == QSizePolicy.Policy.Ignored
    assert cap.minimumWidth() == cap.label.fontMetrics().horizontalAdvance("0" * Caption.MIN_CHARS) <= cap.width()
    for text in ("short", "Ankle boot\n#123, distance 0.042",
                 "Ankle boot\n#987, distance 1.111",  # digits only: not re-measured
                 "<b>not bold</b>",  # plain text: the tags are shown as they are
                 "clicked point \u00b7 z = (+0.123, -0.456)", "clicked point \u00b7 z = (+1.111, -0.000)",
                 "clicked point \u00b7 z = (-1.111, +0.000)",  # signs: measured again
                 "a much longer caption that cannot fit on one line of this narrow widget at all"):
        before = cap.height()
        cap.setText(text)
        ref.setText(text)
        qtbot.wait(30)
        assert cap.text() == text and cap.label.textFormat() == Qt.TextFormat.PlainText
        assert cap.heightForWidth(160) == ref.heightForWidth(160)
        assert cap.height() == ref.height() and cap.label.geometry() == cap.rect()
        if ref.heightForWidth(cap.width()) > before:
            assert cap.height() > before, "a caption that needs another line did not grow"


def test_the_status_bar_text_changes_without_a_layout_pass(window, qtbot):
    label = window.status_label
    label.setText("clicked point: z = (+0.101, -0.101)    nearest: Bag (#1234, distance 0.012)")
    qtbot.wait(50)
    spy = LayoutSpy(label.parentWidget())  # the status bar and up (the box itself has no layout to run)
    try:
        for k, name in ((2, "Bag"), (3, "Ankle boot"), (4, "T-shirt/top")):  # another class: another width
            text = f"clicked point: z = (+0.{k}01, -0.{k}01)    nearest: {name} (#{k}234, distance 0.0{k}2)"
            label.setText(text)
            qtbot.wait(20)
            assert label.text() == text and label.label.text() == text
        assert spy.count == 0, f"{spy.count} layout passes for 3 status texts"
    finally:
        spy.close()


def test_a_pane_result_already_superseded_when_it_arrives_is_not_rendered(window, qtbot, decode):
    """Two clicks decoded while the GUI thread is busy: when it gets to them, the older result is
    dropped unrendered (the newer one is queued behind it) and the pane shows the newer click's decode.
    Other channels (the filmstrip, exports, the grid) keep every result."""
    bridge = window.service
    svc = bridge.service
    shown = []
    window.decodeShown.connect(lambda s: shown.append(s))
    superseded = bridge.superseded
    z1, z2 = (0.3, -0.2), (-0.5, 0.4)
    window.state.set_point(z1, source="click")  # no event processing between the two: the GUI is busy
    assert svc.wait_idle(10)
    window.state.set_point(z2, source="click")
    assert svc.wait_idle(10)
    qtbot.waitUntil(lambda: len(shown) >= 1 and tuple(window.pane.z) == z2, timeout=WAIT_MS)
    qtbot.wait(50)
    assert bridge.superseded == superseded + 1
    assert [tuple(s.z) for s in shown] == [z2], "the older click's result was rendered"
    np.testing.assert_allclose(window.pane.decoded.image, decode(z2)[0], rtol=0, atol=1e-5)
    assert f"z = ({z2[0]:+.3f}, {z2[1]:+.3f})" in window.pane.caption.text().replace("\xa0", " ")


def test_only_interactive_channels_drop_superseded_results(window):
    channel = window.service.channel
    assert channel("pane").core.latest_wins and channel("pane", 2).core.latest_wins and channel("classes").core.latest_wins
    assert not any(channel(c).core.latest_wins for c in ("filmstrip", "export", "grid", "grid-coarse", "encode"))
