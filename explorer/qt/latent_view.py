"""The latent plane: scatter of encoded means by class, legend, prior circles, marker, manifold underlay."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor

# matplotlib's tab10: ten distinct, familiar class colours that hold up on a projector; cycled beyond ten.
PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf"]


def class_colour(i: int) -> QColor:
    return QColor(PALETTE[i % len(PALETTE)])


class LatentView(pg.PlotWidget):
    """Plot of the plane; emits z positions in data coordinates.

    ``clicked(x, y)``  a left click on the plane (not on the marker)
    ``hovered(x, y)``  the mouse moved over the plane
    ``markerMoved(x, y)``  the decode marker is being dragged
    ``classVisibilityChanged()``  a legend entry was clicked
    ``viewChanged()``  pan / zoom finished changing (debounced by the window)
    """

    clicked = Signal(float, float)
    hovered = Signal(float, float)
    markerMoved = Signal(float, float)
    classVisibilityChanged = Signal()
    viewChanged = Signal()

    def __init__(self, parent=None):
        super().__init__(parent, background="w")
        self.plot_item = self.getPlotItem()
        self.vb = self.plot_item.getViewBox()
        self.vb.setAspectLocked(True)
        self.plot_item.setLabel("bottom", "z1")
        self.plot_item.setLabel("left", "z2")
        self.plot_item.showGrid(x=True, y=True, alpha=0.12)
        self.plot_item.setMenuEnabled(False)
        self.setAntialiasing(False)
        self.scatters: list[pg.ScatterPlotItem] = []
        self.legend = self.plot_item.addLegend(offset=(-10, 10), labelTextSize="10pt", brush=pg.mkBrush(255, 255, 255, 210))
        self._point_size = 4.0
        self._circles = []
        for r, alpha in ((1.0, 130), (2.0, 80), (3.0, 50)):  # prior N(0, I): 1, 2, 3 sigma
            t = np.linspace(0, 2 * np.pi, 181)
            c = pg.PlotCurveItem(r * np.cos(t), r * np.sin(t), pen=pg.mkPen(QColor(60, 60, 60, alpha), width=1, style=Qt.PenStyle.DashLine))
            c.setZValue(-5)
            self.plot_item.addItem(c, ignoreBounds=True)
            self._circles.append(c)
        # manifold underlay: one ImageItem under everything, positioned in data coordinates
        self.underlay = pg.ImageItem(axisOrder="row-major")
        self.underlay.setZValue(-20)
        self.underlay.setOpacity(0.85)
        self.underlay.setVisible(False)
        self.plot_item.addItem(self.underlay, ignoreBounds=True)
        # decode marker
        self.marker = pg.TargetItem(pos=(0, 0), size=16, movable=True, pen=pg.mkPen("#111", width=2),
                                    brush=pg.mkBrush(255, 255, 255, 60))
        self.marker.setZValue(20)
        self.marker.setVisible(False)
        self.plot_item.addItem(self.marker, ignoreBounds=True)
        self.marker.sigPositionChanged.connect(self._on_marker)
        self._setting_marker = False
        self._press = None  # viewport position of a left press that may become a click
        self.vb.sigRangeChanged.connect(lambda *a: self.viewChanged.emit())

    # ---------------------------------------------------------------- data

    def set_points(self, means: np.ndarray, labels: np.ndarray, label_names: list[str]) -> None:
        """One ScatterPlotItem per class with one shared brush: 70,000 points build in ~0.2 s."""
        for s in self.scatters:
            self.plot_item.removeItem(s)
        self.legend.clear()
        self.scatters = []
        pen = None
        for k, name in enumerate(label_names):
            pts = means[labels == k]
            s = pg.ScatterPlotItem(pos=pts, size=self._point_size, pen=pen, brush=pg.mkBrush(class_colour(k)),
                                   symbol="o", pxMode=True, antialias=False)
            s.setZValue(0)
            self.plot_item.addItem(s)
            self.legend.addItem(s, name)
            s.visibleChanged.connect(self.classVisibilityChanged.emit)
            self.scatters.append(s)
        self.reset_view(means)

    def reset_view(self, means: np.ndarray | None = None) -> None:
        """Frame the bulk of the points (0.5..99.5 percentiles), or everything shown."""
        if means is not None and len(means):
            lo, hi = np.percentile(means, [0.5, 99.5], axis=0)
            pad = 0.08 * (hi - lo).max()
            self.vb.setRange(xRange=(lo[0] - pad, hi[0] + pad), yRange=(lo[1] - pad, hi[1] + pad), padding=0)
        else:
            self.vb.autoRange()

    def visible_classes(self) -> set[int]:
        return {k for k, s in enumerate(self.scatters) if s.isVisible()}

    def set_class_visible(self, k: int, visible: bool) -> None:
        self.scatters[k].setVisible(visible)

    def set_point_size(self, size: float) -> None:
        self._point_size = size
        for s in self.scatters:
            s.setSize(size)

    # ---------------------------------------------------------------- marker + underlay

    def set_marker(self, x: float, y: float) -> None:
        self._setting_marker = True
        try:
            self.marker.setPos(QPointF(float(x), float(y)))
            self.marker.setVisible(True)
        finally:
            self._setting_marker = False

    def set_marker_size(self, px: float) -> None:
        """Marker size in screen pixels (pyqtgraph's TargetItem has no setter; its shape is cached)."""
        self.marker.scale = float(px)
        self.marker.viewTransformChanged()  # drops the cached shape and repaints

    def set_underlay(self, mosaic: np.ndarray | None, rect: tuple[float, float, float, float] | None = None) -> None:
        """mosaic row 0 at y0 (see explorer.core.latent.tile); rect = (x0, y0, width, height)."""
        if mosaic is None:
            self.underlay.setVisible(False)
            return
        self.underlay.setImage(mosaic, levels=(0.0, 1.0), autoLevels=False)
        self.underlay.setRect(QRectF(*rect))
        self.underlay.setVisible(True)

    def view_rect(self) -> tuple[float, float, float, float]:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return x0, x1, y0, y1

    # ---------------------------------------------------------------- mouse

    def to_data(self, scene_pos) -> tuple[float, float] | None:
        if not self.vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.vb.mapSceneToView(scene_pos)
        return p.x(), p.y()

    CLICK_SLOP = 4  # px: a press and release closer than this is a click, farther is a pan

    def mousePressEvent(self, ev) -> None:
        left = ev.button() == Qt.MouseButton.LeftButton
        self._press = ev.position() if left else None
        super().mousePressEvent(ev)

    def mouseReleaseEvent(self, ev) -> None:
        """A click decodes at once, before pyqtgraph's own click dispatch (which costs milliseconds)."""
        press, self._press = self._press, None
        if press is not None and ev.button() == Qt.MouseButton.LeftButton:
            d = ev.position() - press
            if abs(d.x()) + abs(d.y()) <= self.CLICK_SLOP:
                self._on_click(self.mapToScene(ev.position().toPoint()))
        super().mouseReleaseEvent(ev)

    def _on_click(self, scene_pos) -> None:
        if self.on_marker(scene_pos) or self.on_legend(scene_pos):
            return  # the marker is dragged, a legend entry toggles its class: neither is a point to decode
        p = self.to_data(scene_pos)
        if p is not None:
            self.clicked.emit(*p)

    def on_marker(self, scene_pos) -> bool:
        """Is this scene point on the decode marker (2 px slack)?

        Not ``TargetItem.mouseShape()``: in pyqtgraph 0.14.0 it raises AttributeError (a typo,
        ``stroker.setWidh``), which made every click on the plane fail.
        """
        if not self.marker.isVisible():
            return False
        return self.marker.sceneBoundingRect().adjusted(-2, -2, 2, 2).contains(scene_pos)

    def mouseMoveEvent(self, ev) -> None:
        """Report every move, not the scene's ``sigMouseMoved``.

        pyqtgraph's scene drops moves that come faster than its ``mouseRateLimit`` (100/s), the last
        one of a quick sweep included, so hover preview stopped short of where the mouse came to rest.
        """
        super().mouseMoveEvent(ev)
        self._on_move(self.mapToScene(ev.position().toPoint()))

    def _on_move(self, scene_pos) -> None:
        p = self.to_data(scene_pos)
        if p is not None:
            self.hovered.emit(*p)

    def on_legend(self, scene_pos) -> bool:
        """Is this scene point on the legend box? (pyqtgraph also reports clicks that an item took.)"""
        return self.legend.isVisible() and self.legend.sceneBoundingRect().contains(scene_pos)

    def _on_marker(self, *_a) -> None:
        if not self._setting_marker:
            p = self.marker.pos()
            self.markerMoved.emit(p.x(), p.y())

    def data_to_widget(self, x: float, y: float):
        """Widget pixel position of a data point (for tests and benchmarks driving real events)."""
        scene = self.vb.mapViewToScene(QPointF(x, y))
        return self.mapFromScene(scene)
