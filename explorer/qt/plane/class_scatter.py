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
        tr = p.transform()
        rects = self._exposed_rects(exposed, tr)
        if self._short_path_ok(rects, tr, widget) and self._paint_few(p, rects):
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

    def _exposed_rects(self, exposed: QRectF, tr) -> list[tuple[float, float, float, float]]:
        """The exposed area as (left, right, bottom, top) rects in item coordinates.

        Qt gives an item the bounding rect of what is repainted. When the view records the repainted
        region's own rects (LatentView.paintEvent: ``paint_rects``, viewport pixels), those are used:
        after a click, the marker's old and new places, not everything between them."""
        view = self.getViewWidget()
        dev = getattr(view, "paint_rects", None)
        if dev and tr.m11() and tr.m22() and not tr.m12() and not tr.m21():
            out = []
            for r in dev:  # viewport pixels -> item coordinates (the painter maps item -> viewport)
                x0, x1 = sorted(((r.left() - tr.dx()) / tr.m11(), (r.right() - tr.dx()) / tr.m11()))
                y0, y1 = sorted(((r.top() - tr.dy()) / tr.m22(), (r.bottom() - tr.dy()) / tr.m22()))
                x0, x1 = max(x0, exposed.left()), min(x1, exposed.right())
                y0, y1 = max(y0, exposed.top()), min(y1, exposed.bottom())
                if x0 <= x1 and y0 <= y1:
                    out.append((x0, x1, y0, y1))
            return out
        return [(exposed.left(), exposed.right(), exposed.top(), exposed.bottom())]

    def _short_path_ok(self, rects: list, tr, widget) -> bool:
        """A small exposed area, drawn the plain way (pixel-sized symbols from the atlas, no rotation)."""
        view = super().viewRect()
        if (view is None or self._exportOpts is not False or not self.opts["pxMode"] or not self.opts["useCache"]
                or self.opts.get("compositionMode") is not None or not hasattr(self, "_pixmapFragments")
                or tr.m12() != 0 or tr.m21() != 0 or tr.m11() == 0 or tr.m22() == 0 or len(self.data) == 0):
            return False
        if sum((x1 - x0) * (y1 - y0) for x0, x1, y0, y1 in rects) >= SMALL * view.width() * view.height():
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

    def _paint_few(self, p, rects: list) -> bool:
        """pyqtgraph's pxMode + symbol-atlas drawing (ScatterPlotItem.paint) of the points near the
        exposed ``rects`` only; False if it cannot (a symbol not rendered yet). Points a little outside
        them are drawn too; Qt clips them. (Few numpy calls: this runs for every class on every
        repaint of the marker, and their fixed cost is most of its time.)"""
        order, xs, ys = self._sorted()
        tr = p.transform()
        m11, m22 = tr.m11(), tr.m22()
        pad = self._maxSpotPxWidth / 2 + 1.0  # device pixels: half the widest symbol, and one more
        px, py = pad / abs(m11), pad / abs(m22)
        parts = []
        for x0, x1, y0, y1 in rects:
            i0 = int(xs.searchsorted(x0 - px))
            i1 = int(xs.searchsorted(x1 + px))
            if i0 == i1:
                continue
            y = ys[i0:i1]
            near = order[i0:i1][(y >= y0 - py) & (y <= y1 + py)]
            if len(near):
                parts.append(near)
        if not parts:
            return True  # nothing of this class is exposed
        # in data order, as pyqtgraph draws: overlapping translucent symbols blend alike (and once each)
        idx = np.unique(np.concatenate(parts)) if len(parts) > 1 else np.sort(parts[0])
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


def move_scatter(item: pg.ScatterPlotItem, pos: np.ndarray) -> None:
    """New positions for a ScatterPlotItem's points, keeping everything else (their count, the shared style).

    ``setData`` rebuilds the point records and looks each point's style up in the symbol atlas again (a
    Python loop over the points); here only x and y are written, then the item is told its bounds changed,
    as ``addPoints`` does. Falls back to ``setData`` when the count differs."""
    data = item.data
    if len(data) != len(pos) or not len(pos) or (data["sourceRect"]["w"] == 0).any():
        item.setData(pos=pos)
        return
    data["x"] = pos[:, 0]
    data["y"] = pos[:, 1]
    if isinstance(item, ClassScatter):
        item.positions_changed()  # its x-sorted index for partial repaints was made from the old positions
    item.prepareGeometryChange()
    item.informViewBoundsChanged()
    item.bounds = [None, None]
    item.invalidate()
    item.sigPlotChanged.emit(item)


class ClassSplit:
    """A plane's points split by class: row indices once per labels array, and each means array's
    per-class points once (scrubbing training snapshots back and forth then only writes them into the
    scatter items)."""

    KEPT = 128  # sets of per-class points kept (a file holds at most 100 snapshots)

    def __init__(self) -> None:
        self._rows: tuple = (None, [])  # (the labels array, [its row indices of class k for each k])
        self._points: dict = {}  # id(means) -> (means, [its float64 points of class k])

    def rows(self, labels: np.ndarray, n_classes: int) -> list[np.ndarray]:
        """Row indices of each class in ``labels``, computed once per labels array."""
        if self._rows[0] is not labels or len(self._rows[1]) != n_classes:
            self._rows = (labels, [np.flatnonzero(labels == k) for k in range(n_classes)])
            self._points = {}
        return self._rows[1]

    def points(self, means: np.ndarray, labels: np.ndarray, n_classes: int) -> list[np.ndarray]:
        """``means`` split by class, as (n_k, 2) float64 arrays, computed once per means array."""
        rows = self.rows(labels, n_classes)
        hit = self._points.get(id(means))
        if hit is None or hit[0] is not means:
            if len(self._points) >= self.KEPT:
                self._points.clear()
            hit = self._points[id(means)] = (means, [np.asarray(means[r], np.float64) for r in rows])
        return hit[1]
