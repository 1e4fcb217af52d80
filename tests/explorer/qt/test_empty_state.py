"""The empty state: with no model open the window says so over the plane, not a fake plane."""

from __future__ import annotations

import pytest
from PIL import Image
from PySide6.QtCore import QPoint

from explorer.qt.empty_state import NO_MODEL
from tests.explorer.qt.conftest import OPEN_TIMEOUT_MS


def _covers(card, target) -> bool:
    return card.isVisible() and card.geometry() == target.geometry() and card.parentWidget() is target.parentWidget()


@pytest.fixture
def png(tmp_path):
    path = tmp_path / "cat.safetensors"
    Image.new("RGB", (8, 8), "red").save(path, format="PNG")
    return path


def test_a_failed_open_leaves_the_empty_state(qtbot, png):
    from explorer.qt.main_window import MainWindow

    win = MainWindow(png)
    qtbot.addWidget(win)
    win.resize(1100, 700)
    win.show()
    card = win.empty_state
    assert card.message == f"Opening {png.name} \u2026" and _covers(card, win.planes.parentWidget())
    with qtbot.waitSignal(win.errorShown, timeout=OPEN_TIMEOUT_MS) as sig:
        pass
    assert sig.args == [f"{png}: is not a latent-explorer model (this is a PNG image)."]
    assert card.message == NO_MODEL and _covers(card, win.planes.parentWidget())
    assert win.centralWidget().layout().indexOf(card) == -1, "the card floats over the plane, outside the layout"
    before = card.geometry()
    win.resize(900, 640)  # the card follows the plane and the pane
    qtbot.waitUntil(lambda: card.geometry() != before)
    assert _covers(card, win.planes.parentWidget())
    grabbed, r = win.grab().toImage(), card.geometry()
    samples = [grabbed.pixelColor(win.centralWidget().mapTo(win, r.topLeft() + QPoint(x, y))).lightness()
               for x in range(5, r.width() - 5, 15) for y in range(5, r.height() - 5, 15)]
    assert sum(v > 245 for v in samples) > 0.9 * len(samples), "the plane's axes and the pane show through"
    win.close()


def test_the_card_goes_when_a_model_opens_and_stays_away_on_a_later_failure(qtbot, checkpoint, png):
    from explorer.qt.main_window import MainWindow

    win = MainWindow(open_default=False)
    qtbot.addWidget(win)
    win.show()
    card = win.empty_state
    assert card.message == NO_MODEL and _covers(card, win.planes.parentWidget())
    with qtbot.waitSignals([win.sessionChanged, win.decodeShown], timeout=OPEN_TIMEOUT_MS):
        win.open_model(checkpoint, dataset="synthetic")
    assert not card.isVisible() and card.message == ""
    with qtbot.waitSignal(win.errorShown, timeout=OPEN_TIMEOUT_MS):
        win.open_model(png)  # fails; the open model stays, and so does its plane
    assert not card.isVisible() and win.session is not None
    win.close()
