"""One class's points on the plane: a pyqtgraph ScatterPlotItem that paints only what is exposed.

Moving the marker (a click, every drag or hover step) repaints a few dozen pixels of the plane. The
class scatters' bounding rects cover the whole plot, so Qt asks every one of them to paint, and
``ScatterPlotItem.paint`` maps and draws every point of its class inside the visible range, for Qt to
clip nearly all of them away: 0.3-0.5 ms per class, each time the marker moves (issue 11).

Here each scatter asks Qt for the exposed rectangle (``ItemUsesExtendedStyleOption``):

- pyqtgraph's own culling (``viewRect``, padded by the point size in ``_maskAt``) keeps only the
  points that touch the exposed rectangle;
- for a small repaint, the points near it are found in an x-sorted copy of the positions
  (``searchsorted``) and drawn as pyqtgraph draws them (its symbol atlas and pixmap fragments),
  without the rest of ``ScatterPlotItem.paint``, whose fixed cost was most of the time. A class with
  no point there draws nothing.

A full repaint (pan, zoom, resize) exposes the whole view and is painted by pyqtgraph as before.

``boundingRect`` is cached as well: pyqtgraph's scene asks for it dozens of times per mouse event
(``itemsNearEvent``), and each answer costs a device-transform look-up (``pixelVectors``). The cache
is keyed by the data bounds, the largest point size, and a counter of view-transform changes.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QGraphicsItem

SMALL = 0.25  # a repaint exposing less than this share of the visible range takes the short path


class ClassScatter(pg.ScatterPlotItem):
    def __init__(self, *args, **kwargs) -> None:
        self._exposed = None  # the exposed rect (item coordinates) while painting
        self._view_version = 0
        self._br_key = None
        self._br = None
        self._sorted_for = None  # the data array the x-sorted index below was made from
        self._order = self._xs = self._ys = None
        super().__init__(*args, **kwargs)
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)
        self.partial_paints = 0  # small repaints that took the short path, and the points they drew (tests)
        self.partial_points = 0

    def positions_changed(self) -> None:
        """The points' x / y were written in place (a training snapshot scrubbed): drop what was made
        from the old positions (the x-sorted index, the cached bounding rect)."""
        self._sorted_for = None
        self._br_key = None

    # ---------------------------------------------------------------- painting

    @pg.debug.warnOnException  # an exception escaping a paint() override aborts the process
    def paint(self, p, option, widget) -> None:
        exposed = option.exposedRect
        if self._short_path_ok(exposed, p.transform(), widget) and self._paint_few(p, exposed):
            self.partial_paints += 1
            return
        self._exposed = exposed
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

    def _short_path_ok(self, exposed: QRectF, tr, widget) -> bool:
        """A small exposed rect, drawn the plain way (pixel-sized symbols from the atlas, no rotation)."""
        view = super().viewRect()
        if (view is None or self._exportOpts is not False or not self.opts["pxMode"] or not self.opts["useCache"]
                or self.opts.get("compositionMode") is not None or not hasattr(self, "_pixmapFragments")
                or tr.m12() != 0 or tr.m21() != 0 or tr.m11() == 0 or tr.m22() == 0 or len(self.data) == 0):
            return False
        if exposed.width() * exposed.height() >= SMALL * view.width() * view.height():
            return False
        # pyqtgraph re-renders its symbol atlas in paint when the pixel ratio changed: let it
        return widget is None or widget.devicePixelRatioF() == self.fragmentAtlas.devicePixelRatio()

    def _sorted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(order, x, y): the positions sorted by x, made once per data array (setData makes a new one)."""
        if self._sorted_for is not self.data:
            order = np.argsort(self.data["x"], kind="stable")
            self._order = order
            self._xs = np.ascontiguousarray(self.data["x"][order])
            self._ys = np.ascontiguousarray(self.data["y"][order])
            self._sorted_for = self.data
        return self._order, self._xs, self._ys

    def _paint_few(self, p, exposed: QRectF) -> bool:
        """pyqtgraph's pxMode + symbol-atlas drawing (ScatterPlotItem.paint) of the points near ``exposed``
        only; False if it cannot (a symbol not rendered yet). Points a little outside the exposed rect
        are drawn too; Qt clips them to it. (Few numpy calls: this runs for every class on every
        repaint of the marker, and their fixed cost is most of its time.)"""
        order, xs, ys = self._sorted()
        tr = p.transform()
        m11, m22 = tr.m11(), tr.m22()
        pad = self._maxSpotPxWidth / 2 + 1.0  # device pixels: half the widest symbol, and one more
        px, py = pad / abs(m11), pad / abs(m22)
        i0 = int(xs.searchsorted(exposed.left() - px))
        i1 = int(xs.searchsorted(exposed.right() + px))
        if i0 == i1:
            return True  # nothing of this class is exposed
        y = ys[i0:i1]
        near = (y >= exposed.top() - py) & (y <= exposed.bottom() + py)
        idx = order[i0:i1][near]
        if len(idx) == 0:
            return True
        idx.sort()  # in data order, as pyqtgraph draws: overlapping translucent symbols blend alike
        data = self.data[idx]  # the few rows: x, y, visible, sourceRect ...
        data = data[data["visible"]]
        if len(data) == 0:
            return True
        sr = data["sourceRect"]
        if (sr["w"] == 0).any():
            return False
        self.partial_points += len(data)
        dpr = self.fragmentAtlas.devicePixelRatio()
        self._pixmapFragments.resize(len(data))
        frags = self._pixmapFragments.ndarray()
        # the centre of each target rect in device pixels: near the exposed rect, so never the huge values
        # pyqtgraph clips (they crash Qt)
        frags[:, 0] = m11 * data["x"] + tr.dx()
        frags[:, 1] = m22 * data["y"] + tr.dy()
        frags[:, 2:6] = np.frombuffer(np.ascontiguousarray(sr), dtype=int).reshape((-1, 4))  # sx, sy, sw, sh
        frags[:, 6:10] = (1 / dpr, 1 / dpr, 0.0, 1.0)  # scaleX, scaleY, rotation, opacity
        p.resetTransform()
        p.drawPixmapFragments(*self._pixmapFragments.drawargs(), self.fragmentAtlas.pixmap)
        return True

    # ---------------------------------------------------------------- geometry

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
