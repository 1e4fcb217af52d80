"""One class's points on the plane: a pyqtgraph ScatterPlotItem that paints only what is exposed.

Moving the marker (a click, every drag or hover step) repaints a few dozen pixels of the plane. The
class scatters' bounding rects cover the whole plot, so Qt asks every one of them to paint, and
``ScatterPlotItem.paint`` maps and draws every point of its class inside the visible range, for Qt to
clip nearly all of them away. Here each scatter asks Qt for the exposed rectangle
(``ItemUsesExtendedStyleOption``) and pyqtgraph's own culling (``viewRect``, padded by the point size
in ``_maskAt``) keeps only the points that touch it. A full repaint (pan, zoom, resize) exposes the
whole view and draws what it drew before.

``boundingRect`` is cached as well: pyqtgraph's scene asks for it dozens of times per mouse event
(``itemsNearEvent``), and each answer costs a device-transform look-up (``pixelVectors``). The cache
is keyed by the data bounds, the largest point size, and a counter of view-transform changes.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsItem


class ClassScatter(pg.ScatterPlotItem):
    def __init__(self, *args, **kwargs) -> None:
        self._exposed = None  # the exposed rect (item coordinates) while painting
        self._view_version = 0
        self._br_key = None
        self._br = None
        super().__init__(*args, **kwargs)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def paint(self, p, option, widget) -> None:
        self._exposed = option.exposedRect
        try:
            super().paint(p, option, widget)
        finally:
            self._exposed = None

    def viewRect(self):
        """The visible range; while painting, only its exposed part (pyqtgraph culls points by it)."""
        r = super().viewRect()
        if self._exposed is None or r is None:
            return r
        return r.intersected(self._exposed)

    def viewTransformChanged(self) -> None:
        self._view_version += 1
        super().viewTransformChanged()

    def boundingRect(self):
        key = (self._view_version, self._maxSpotPxWidth, self.bounds[0], self.bounds[1])
        if key == self._br_key and None not in key:
            return QRectF(self._br)  # a copy: the caller may change it
        br = super().boundingRect()
        # a pixel size not known yet (not shown): the padding is 0 and must not be remembered
        shown = self.pixelPadding() == 0 or self.pixelVectors()[0] is not None
        self._br_key = (self._view_version, self._maxSpotPxWidth, self.bounds[0], self.bounds[1]) if shown else None
        self._br = br
        return br
