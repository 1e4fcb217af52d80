"""Presentation mode gives the screen to the plane and a large decoded image (issue 19, item 4), measured on
the real window through the scripting API at 1280x720 and 1920x1080.

Before: the plane had 545 of 1280 px (the class list beside it took its share), the decoded image about
31 % of the height, the strip was empty until A and B were set and its t slider was ~100 px wide at 1280,
and the tick labels were ~14 px high at 1920x1080."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QFontMetrics

ROOT = Path(__file__).resolve().parents[3]


def _present(model, size):
    from explorer.api import Explorer

    ex = Explorer(None if model is None else ROOT / "assets" / f"{model}.safetensors", size=size)
    ex.window.present_fullscreen = False  # the offscreen platform's full screen is not the size asked for
    ex.state.presentation = True
    ex.wait_idle()
    for _ in range(10):
        ex.app.processEvents()
    return ex


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
@pytest.mark.parametrize("model", [None, "fashion-mnist-cvae"])
def test_the_plane_and_a_large_decoded_image_fill_the_screen(qapp, model, size):
    ex = _present(model, size)
    try:
        win = ex.window
        assert (win.width(), win.height()) == size, "the screen's size: nothing made the window grow"
        assert win.view.width() >= 0.5 * size[0], f"the plane is {win.view.width()} px of {size[0]}"
        image = win.pane.decoded.pixmap().height()
        assert image >= 0.4 * size[1], f"the decoded image is {image} px of {size[1]}"
        # the class list is under the decoded image, not beside the plane
        assert win.pane_dock.isAncestorOf(win.legend) and win.legend.isVisible()
        assert win.legend.columns >= 2
        assert win.pane_dock.geometry().contains(win.legend.mapTo(win, win.legend.rect().bottomRight()))
        if model:  # the CVAE's class row is on screen too
            dial = win.class_dial
            assert dial.isVisible() and win.rect().contains(dial.tiles.mapTo(win, dial.tiles.rect().bottomRight()))
        if size[1] == 1080:  # tick labels at least 20 px high
            font = win.view.plot_item.getAxis("bottom").style["tickFont"]
            assert QFontMetrics(font).tightBoundingRect("0123456789").height() >= 20
        ex.state.presentation = False  # Esc: the list goes back beside the plane
        ex.app.processEvents()
        assert not win.pane_dock.isAncestorOf(win.legend) and win.legend.columns == 1
    finally:
        ex.close()


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_the_strip_always_shows_what_can_be_played_with_a_wide_t_slider(qapp, size):
    ex = _present(None, size)
    try:
        strip = ex.window.strip
        # before A and B: the controls are there, greyed, with a hint
        assert strip.isVisible() and strip.t.isVisible() and strip.play.isVisible()
        assert not strip.t.isEnabled() and not strip.play.isEnabled() and strip.hint.isVisible()
        assert strip.t.slider.width() >= 0.35 * strip.width(), f"t slider {strip.t.slider.width()} px"
        ip = ex.state.interpolation
        ip.a, ip.b = (-1.0, 0.0), (1.0, 0.5)
        v = ex.state.vectors.add_class_difference("Ankle boot", "Sneaker")
        v.enabled = True
        ex.wait_idle()
        ex.app.processEvents()
        assert strip.t.isEnabled() and strip.play.isEnabled() and not strip.hint.isVisible()
        assert len(strip.sliders) == 1
        assert strip.t.slider.width() >= 0.3 * strip.width(), f"t slider {strip.t.slider.width()} px"
        assert strip.t.slider.width() >= 200
        strip.t.setValue(0.25)
        assert ip.t == pytest.approx(0.25)
    finally:
        ex.close()
