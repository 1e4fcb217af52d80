"""The plane's grid: opaque light lines at the axes' tick values, under everything else.

pyqtgraph's own grid (``PlotItem.showGrid(alpha=...)``) is drawn by the axis items as translucent
lines across the whole view, on every repaint: at 1280x800 that cost about 12 ms of each repaint
here (a marker move, a drag, a snapshot scrub, a pan), against about 1 ms for opaque lines
(benchmarks/README.md, "The plane's grid").
So the grid is one ``PlotCurveItem`` per level in the colour that alpha gave on the white
background, rebuilt only when the view range changes. It sits under the manifold underlay, which
therefore hides it (as the scatter hides it under the points).
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

MAJOR = QColor(224, 224, 224)  # black at alpha 0.12 over white: the look of showGrid(alpha=0.12)
MINOR = QColor(238, 238, 238)


class GridLines:
    """Grid lines of ``plot_item`` at its bottom and left axes' tick values (major and minor)."""

    def __init__(self, plot_item: pg.PlotItem, z: float = -30) -> None:
        self.plot_item = plot_item
        self.curves = []
        for colour in (MAJOR, MINOR):
            c = pg.PlotCurveItem(pen=pg.mkPen(colour, width=1), connect="pairs", antialias=False)
            c.setZValue(z - (colour is MINOR))
            plot_item.addItem(c, ignoreBounds=True)
            self.curves.append(c)
        plot_item.getViewBox().sigRangeChanged.connect(self.update)
        self._key = None

    def levels(self) -> list[tuple[list[float], list[float]]]:
        """[(x values, y values)] per tick level, as the axes would draw their ticks now."""
        vb = self.plot_item.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        rect = vb.sceneBoundingRect()
        xt = self.plot_item.getAxis("bottom").tickValues(x0, x1, max(rect.width(), 1.0))
        yt = self.plot_item.getAxis("left").tickValues(y0, y1, max(rect.height(), 1.0))
        out = []
        for k in range(2):
            xs = list(xt[k][1]) if k < len(xt) else []
            ys = list(yt[k][1]) if k < len(yt) else []
            out.append((xs, ys))
        return out

    def update(self, *_a) -> None:
        vb = self.plot_item.getViewBox()
        (x0, x1), (y0, y1) = vb.viewRange()
        key = (x0, x1, y0, y1, vb.width(), vb.height())
        if key == self._key:
            return
        self._key = key
        seen_x: set[float] = set()
        seen_y: set[float] = set()
        for curve, (xs, ys) in zip(self.curves, self.levels(), strict=True):
            xs = [v for v in xs if v not in seen_x]  # a minor tick on a major one: drawn once, as major
            ys = [v for v in ys if v not in seen_y]
            seen_x.update(xs)
            seen_y.update(ys)
            n = len(xs) + len(ys)
            if n == 0:
                curve.setData([], [])
                continue
            px = np.empty(2 * n)
            py = np.empty(2 * n)
            px[: 2 * len(xs)] = np.repeat(xs, 2)
            py[: 2 * len(xs)] = np.tile([y0, y1], len(xs))
            px[2 * len(xs):] = np.tile([x0, x1], len(ys))
            py[2 * len(xs):] = np.repeat(ys, 2)
            curve.setData(px, py)
