"""Every side panel usable at 1280x720 (issue 19, item 3), and the filmstrip as large as its panel allows (8).

Measured on the real window through the scripting API: no side panel scrolls sideways, every button and
slider of a panel lies inside the part of it on screen, the tab names are whole. The bundled CVAE (its class dial takes the dock column's height) and a model with training
snapshots and a 3-D latent space (seven tabs) are the crowded cases."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QRegion
from PySide6.QtWidgets import QAbstractButton, QAbstractSlider, QScrollArea, QStyle, QStyleOptionTab, QTabBar

from tests.explorer.qt.conftest import train_tiny

ROOT = Path(__file__).resolve().parents[3]
CVAE = ROOT / "assets" / "fashion-mnist-cvae.safetensors"


@pytest.fixture(scope="module")
def crowded(tmp_path_factory) -> Path:
    """A 3-D model with training snapshots: the Training and Slice tabs join the five others."""
    return train_tiny(tmp_path_factory.mktemp("crowded"), "--arch", "mlp", "--latent-dim", "3", "--snapshots", "4")


def _open(model, size, **kw):
    from explorer.api import Explorer

    ex = Explorer(model, size=size, **kw)
    names = ex.state.session.label_names
    v = ex.state.vectors.add_class_difference(names[-1], names[-2])  # a vector row, shown subtracting
    v.strength, v.enabled = -0.72, True
    ex.snapshots_ready(60)
    ex.wait_idle()
    return ex


def _settle(ex, n: int = 10) -> None:
    for _ in range(n):
        ex.app.processEvents()


def panel_problems(ex) -> list[str]:
    """What is wrong with each side panel as shown: a sideways scroll bar, a button or slider outside the
    part of the panel on screen (at its scroll position 0), or a label cut (its text wider than it)."""
    win = ex.window
    problems = []
    for dock in win.panel_docks:
        if not dock.isVisible():
            continue
        dock.raise_()
        _settle(ex)
        area = dock.widget()
        assert isinstance(area, QScrollArea)
        title = dock.objectName()
        content = area.widget()
        for a in [area, *content.findChildren(QScrollArea)]:  # the panel, and a list inside it
            if a.horizontalScrollBar().isVisible():
                problems.append(f"{title}: a horizontal scroll bar")
        for w in content.findChildren(QAbstractButton) + content.findChildren(QAbstractSlider):
            if not w.isVisibleTo(content) or isinstance(w.parentWidget(), QAbstractSlider):
                continue
            # what of it is on screen: clipped by every scroll area and parent it is in
            cut = QRegion(w.rect()).subtracted(w.visibleRegion())
            if not cut.isEmpty():
                problems.append(f"{title}: {getattr(w, 'text', lambda: '')() or type(w).__name__} is not fully on screen")
    return problems


def tab_problems(win) -> list[str]:
    """Tabs of the panel column whose name does not fit its tab (Qt elides it: "Dr…")."""
    out = []
    for bar in win.findChildren(QTabBar):
        if not bar.isVisible() or not win.rect().intersects(bar.geometry()):  # Qt parks unused bars off the window
            continue
        for i in range(bar.count()):
            opt = QStyleOptionTab()
            opt.initFrom(bar)
            opt.shape, opt.text = bar.shape(), bar.tabText(i)
            fm, style = bar.fontMetrics(), bar.style()
            pad = style.pixelMetric(QStyle.PixelMetric.PM_TabBarTabHSpace, opt, bar)  # as QTabBar::tabSizeHint
            need = style.sizeFromContents(QStyle.ContentsType.CT_TabBarTab, opt,
                                          QSize(fm.horizontalAdvance(opt.text) + pad, fm.height()), bar)
            if bar.tabRect(i).width() < need.width() - 2:
                out.append(f"tab {opt.text!r} is {bar.tabRect(i).width()} px, needs {need.width()}")
    return out


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_every_side_panel_fits_on_the_cvae(qapp, size):
    ex = _open(CVAE, size)
    try:
        assert ex.window.class_dial.isVisible()
        assert panel_problems(ex) == []
        assert tab_problems(ex.window) == []
    finally:
        ex.close()


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_seven_tabs_are_readable_and_their_panels_fit(qapp, crowded, size):
    ex = _open(crowded, size, dataset="synthetic")
    try:
        win = ex.window
        assert win.training_dock.isVisible() and win.slice_dock.isVisible()
        assert tab_problems(win) == []
        assert panel_problems(ex) == []
    finally:
        ex.close()


def test_the_vector_strength_label_is_whole(qapp):
    ex = _open(None, (1280, 720))
    try:
        row = ex.window.vectors.rows[0]
        ex.window.vectors_dock.raise_()
        _settle(ex)
        assert row.sign.text() == "\u22120.72 \u00d7 subtracts"
        for s in (-3.0, 3.0, 0.0):
            row.vector.strength = s
            assert row.sign.fontMetrics().horizontalAdvance(row.sign.text()) <= row.sign.contentsRect().width()
    finally:
        ex.close()


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080)])
def test_the_filmstrip_frames_are_as_large_as_the_panel_allows(qapp, size):
    """Item 8: the frames were one row at 1x (28 px) at 1280x720; now in rows, twice that, still without scrolling."""
    from explorer.api import Explorer

    ex = Explorer(size=size)
    try:
        ip = ex.state.interpolation
        ip.a, ip.b = (-1.5, 0.3), (1.2, 0.8)
        assert ex.wait_idle(20)
        _settle(ex)
        panel = ex.window.interp
        strip, h = panel.strip, panel.filmstrip_images.shape[1]  # 8 frames of 28 px
        k = strip.pixmap().height() // strip.image.shape[0]  # the integer scale on screen
        assert strip.pixmap().height() == k * strip.image.shape[0] and strip.pixmap().width() == k * strip.image.shape[1]
        assert k * h >= (56 if size[1] == 720 else 100), f"frames of {k * h} px"
        assert strip.pixmap().width() <= panel.width(), "the whole strip across the panel"
        area = ex.window.interpolation_dock.widget()
        assert not area.verticalScrollBar().isVisible() and not area.horizontalScrollBar().isVisible()
    finally:
        ex.close()
