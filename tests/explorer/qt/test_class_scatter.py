"""ClassScatter draws exactly what pyqtgraph's ScatterPlotItem draws, for a full and a partial repaint."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, QRect
from PySide6.QtGui import QImage

from explorer.qt.plane.class_scatter import ClassScatter


def on_screen(plot) -> np.ndarray:
    """The plot's pixels as last painted: the window's backing store, not a fresh render."""
    img = plot.screen().grabWindow(plot.winId()).toImage().convertToFormat(QImage.Format.Format_RGB32)
    a = np.frombuffer(img.constBits(), np.uint8, img.bytesPerLine() * img.height())
    a = a.reshape(img.height(), img.bytesPerLine() // 4, 4)[:, : img.width()]
    o = plot.viewport().mapTo(plot, QPoint(0, 0))
    vp = plot.viewport()
    return a[o.y() : o.y() + vp.height(), o.x() : o.x() + vp.width()].copy()


class RegionPlot(pg.PlotWidget):
    """Records the repainted region's rects while painting, as LatentView does (ClassScatter uses them)."""

    paint_rects = None

    def paintEvent(self, ev):
        self.paint_rects = list(ev.region())
        try:
            super().paintEvent(ev)
        finally:
            self.paint_rects = None


@pytest.fixture
def plots(qtbot):
    """Two identical plots: pyqtgraph's ScatterPlotItem in one, ClassScatter in the other; dense,
    overlapping, translucent points (the order of drawing shows in the blended pixels)."""
    rng = np.random.default_rng(0)
    pts = np.concatenate([rng.normal(0, 0.3, (1500, 2)), rng.normal(2, 1.0, (1500, 2))]).astype(np.float32)
    out = []
    for cls in (pg.ScatterPlotItem, ClassScatter):
        w = RegionPlot(background="w")
        w.resize(500, 400)
        qtbot.addWidget(w)
        s = cls(pos=pts, pen=None, symbol="o", size=7, pxMode=True, antialias=False, brush=pg.mkBrush("#1f77b4"))
        s.setOpacity(0.6)
        w.getPlotItem().addItem(s)
        w.getPlotItem().getViewBox().setRange(xRange=(-1.5, 4.0), yRange=(-1.5, 4.0), padding=0)
        w.show()
        qtbot.waitExposed(w)
        out.append((w, s))
    for w, _s in out:  # let the axes settle their widths (the first paint measures the tick labels)
        w.viewport().repaint()
    qtbot.wait(100)
    return out


def test_a_full_repaint_is_pixel_identical(plots):
    (a, _), (b, cs) = plots
    for w in (a, b):
        w.viewport().repaint()
    np.testing.assert_array_equal(on_screen(a), on_screen(b))


def test_a_small_repaint_is_pixel_identical_and_draws_few_points(plots, qtbot):
    (a, _), (b, cs) = plots
    for x, y in ((120, 150), (250, 200), (60, 300)):  # the dense cluster, the spread one, near an edge
        a.viewport().repaint()
        full = on_screen(a)
        cs.setVisible(False)
        b.viewport().repaint()  # the plane without its points on screen ...
        cs.setVisible(True)  # ... and its points back, but only the small rect painted now (the rest is queued)
        before = cs.partial_points, cs.partial_paints
        b.viewport().repaint(QRect(x, y, 30, 20))
        shot = on_screen(b)
        assert cs.partial_paints == before[1] + 1, "a small repaint did not take the short path"
        assert cs.partial_points - before[0] < 300, "the short path drew most of the points"
        part, want = shot[y : y + 20, x : x + 30], full[y : y + 20, x : x + 30]
        assert (part != shot[5:25, 5:35]).any() or (want == part).all()
        np.testing.assert_array_equal(part, want)
        qtbot.wait(20)


def test_a_repaint_of_two_far_apart_rects_draws_only_near_them(plots, qtbot):
    """After a click the marker's old and new places are repainted: the region's two rects, not the
    whole rectangle between them, choose the points drawn."""
    from PySide6.QtGui import QRegion

    (a, _), (b, cs) = plots
    a.viewport().repaint()
    full = on_screen(a)
    r1, r2 = QRect(110, 140, 24, 24), QRect(330, 260, 24, 24)
    cs.setVisible(False)
    b.viewport().repaint()
    cs.setVisible(True)
    before = cs.partial_points
    b.viewport().repaint(QRegion(r1) + QRegion(r2))
    shot = on_screen(b)
    drawn = cs.partial_points - before
    for r in (r1, r2):
        ys, xs = slice(r.top(), r.bottom() + 1), slice(r.left(), r.right() + 1)
        np.testing.assert_array_equal(shot[ys, xs], full[ys, xs])
    assert 0 < drawn < 200, f"{drawn} points drawn for two 24-px squares"
    qtbot.wait(20)


def test_bounding_rect_follows_data_size_and_zoom(plots):
    (a, ref), (b, cs) = plots
    def same():
        r1, r2 = ref.boundingRect(), cs.boundingRect()
        assert (r1.x(), r1.y(), r1.width(), r1.height()) == pytest.approx((r2.x(), r2.y(), r2.width(), r2.height()))
    same()
    for w in (a, b):
        w.getPlotItem().getViewBox().setRange(xRange=(-0.5, 1.0), yRange=(-0.5, 1.0), padding=0)
    same()
    for s in (ref, cs):
        s.setSize(15)
    same()
    for s in (ref, cs):
        s.setData(pos=[QPointF(5, 5), QPointF(6, 7)])
    same()
