"""Lasso / rectangle selection on a LatentView, attached from outside (the view knows nothing of it).

``start(tag)`` arms the selector: the next left-drag on the plane draws a freehand lasso (or, with
Shift held, a rectangle) instead of panning; on release the visible points inside are reported with
``selected(mask, polygon)``. Esc (or a right click) cancels. While armed, the selector eats the
viewport's left-button events, and during the drag the ViewBox's mouse interaction is switched off
too (restored afterwards), so the plane never pans under the lasso.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QObject, QPointF, Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QApplication

from explorer.core import vectors
from explorer.core.latent import NearestIndex

MIN_STEP_PX = 2.0  # lasso vertices closer than this (in pixels) are skipped


class LassoSelector(QObject):
    selected = Signal(object, object)  # mask (N,) bool of visible points inside; polygon (M, 2) in data coords
    cancelled = Signal()
    armedChanged = Signal(bool)

    def __init__(self, view, index: Callable[[], NearestIndex | None], parent: QObject | None = None):
        super().__init__(parent)
        self.view = view
        self._index = index
        self.tag = ""
        self.polygon: np.ndarray | None = None  # the last finished selection polygon (data coords)
        self._armed = False
        self._dragging = False
        self._rect = False
        self._start_px: QPointF | None = None
        self._last_px: QPointF | None = None
        self._points: list[tuple[float, float]] = []
        self._saved_mouse: list[bool] | None = None
        self.outline = pg.PlotCurveItem(pen=pg.mkPen("#111", width=1.5, style=Qt.PenStyle.DashLine),
                                        fillLevel="enclosed", brush=pg.mkBrush(QColor(255, 212, 0, 50)))
        self.outline.setZValue(30)
        self.outline.setVisible(False)
        view.plot_item.addItem(self.outline, ignoreBounds=True)
        view.viewport().installEventFilter(self)

    # ---------------------------------------------------------------- state

    @property
    def armed(self) -> bool:
        return self._armed

    def start(self, tag: str = "") -> None:
        """Arm: the next left-drag on the plane selects (Shift: rectangle). Esc cancels."""
        if self._armed:
            self._finish_drag()
        self.tag = tag
        self._armed = True
        self.view.viewport().setCursor(Qt.CursorShape.CrossCursor)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self)  # Esc wherever the focus is
        self.armedChanged.emit(True)

    def cancel(self) -> None:
        if not self._armed:
            return
        self._disarm()
        self.cancelled.emit()

    def _disarm(self) -> None:
        self._finish_drag()
        self._armed = False
        self.outline.setVisible(False)
        self.view.viewport().unsetCursor()
        app = QApplication.instance()
        if app is not None:
            app.removeEventFilter(self)
        self.armedChanged.emit(False)

    def shutdown(self) -> None:
        if self._armed:
            self._disarm()

    # ---------------------------------------------------------------- events

    def to_data(self, px: QPointF) -> tuple[float, float]:
        p = self.view.vb.mapSceneToView(self.view.mapToScene(px.toPoint()))
        return float(p.x()), float(p.y())

    def eventFilter(self, obj, ev) -> bool:
        if not self._armed:
            return False
        t = ev.type()
        if t in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and ev.key() == Qt.Key.Key_Escape:
            ev.accept()  # an accepted override keeps the window's own Esc action from firing
            self.cancel()
            return True
        if obj is not self.view.viewport():
            return False
        if t == QEvent.Type.MouseButtonPress:
            if ev.button() == Qt.MouseButton.RightButton:
                self.cancel()
                return True
            if ev.button() == Qt.MouseButton.LeftButton:
                self._press(ev.position(), bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier))
                return True
        elif t == QEvent.Type.MouseMove:
            if self._dragging:
                self._move(ev.position())
                return True
        elif t == QEvent.Type.MouseButtonRelease:
            if ev.button() == Qt.MouseButton.LeftButton and self._dragging:
                self._release(ev.position())
                return True
        elif t == QEvent.Type.MouseButtonDblClick:
            return True
        return False

    def _press(self, px: QPointF, rect: bool) -> None:
        self._dragging = True
        self._rect = rect
        self._start_px = self._last_px = QPointF(px)
        self._points = [self.to_data(px)]
        self._saved_mouse = self.view.vb.mouseEnabled()
        self.view.vb.setMouseEnabled(False, False)  # no pan / zoom while drawing
        self._redraw()

    def _move(self, px: QPointF) -> None:
        if self._rect:
            self._points = [self._points[0], self.to_data(px)]
        else:
            d = px - self._last_px
            if abs(d.x()) + abs(d.y()) < MIN_STEP_PX:
                return
            self._points.append(self.to_data(px))
        self._last_px = QPointF(px)
        self._redraw()

    def _release(self, px: QPointF) -> None:
        self._move(px)
        poly = self.current_polygon()
        self._disarm()
        idx = self._index()
        if poly is None or idx is None:
            self.cancelled.emit()
            return
        shown = self.view.points_data[0]  # what the plane draws: a D-dim model's projections
        mask = idx.inside(poly, plane=shown if len(shown) == len(idx.points) else None)
        self.polygon = poly
        self.selected.emit(mask, poly)

    def _finish_drag(self) -> None:
        if self._dragging and self._saved_mouse is not None:
            self.view.vb.setMouseEnabled(*self._saved_mouse)
        self._dragging = False
        self._saved_mouse = None

    def current_polygon(self) -> np.ndarray | None:
        """The polygon being drawn, in data coordinates; None if it has fewer than 3 distinct corners."""
        if self._rect:
            if len(self._points) < 2:
                return None
            (x0, y0), (x1, y1) = self._points
            if x0 == x1 or y0 == y1:
                return None
            return vectors.rectangle(self._points[0], self._points[1])
        if len(self._points) < 3:
            return None
        return np.asarray(self._points, np.float64)

    def _redraw(self) -> None:
        pts = vectors.rectangle(*self._points) if self._rect and len(self._points) == 2 else np.asarray(self._points)
        if len(pts) == 0:
            self.outline.setVisible(False)
            return
        closed = np.vstack([pts, pts[:1]])
        self.outline.setData(closed[:, 0], closed[:, 1])
        self.outline.setVisible(True)
