"""The F1 help at 1280x720 and 1920x1080, on the desktop and in presentation mode (issue 19, item 6): the card
lies inside the window and shows every row, its last one too, without scrolling (it was cut at 1280x720)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QScrollArea


@pytest.fixture
def ex(qapp, request):
    from explorer.api import Explorer

    e = Explorer(size=request.param)
    yield e
    e.close()


def _settle(ex, n: int = 10) -> None:
    for _ in range(n):
        ex.app.processEvents()


@pytest.mark.parametrize("ex", [(1280, 720), (1920, 1080)], indirect=True)
@pytest.mark.parametrize("present", [False, True])
def test_the_f1_help_shows_its_last_row(ex, present):
    win = ex.window
    win.present_fullscreen = False
    ex.state.presentation = present
    _settle(ex)
    win.help_overlay.toggle()
    _settle(ex)
    ov = win.help_overlay
    card = getattr(ov, "card", ov)  # the card with the rows (a scroll area's widget)
    view = ov.viewport() if isinstance(ov, QScrollArea) else ov
    assert win.rect().contains(ov.geometry()), "the card lies inside the window"
    assert ov.rows()[-1][1] in card.text()
    assert card.heightForWidth(view.width()) <= view.height(), "every row on the card without scrolling"
    if present:  # as large as fits: not the desktop's font when the presentation font fits
        assert card.font().pointSizeF() > 9
