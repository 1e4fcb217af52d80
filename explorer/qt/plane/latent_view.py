"""The latent plane: it renders the explorer state and writes the user's actions back into it.

It draws the scatter of encoded means by class, the legend (hidden classes), the prior circles, and
the marker at the z the pane shows. It also draws the interpolation path with A, B and the t
diamond, the bookmarks, the vector arrow, the drawn image's star, and the manifold underlay. A click,
a marker drag or a hover writes ``state.point``; a pan or zoom writes ``state.view``. Nothing here
knows the main window.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor

from explorer.core.palettes import colour
from explorer.core.pane import PaneController, PaneTarget, shown_session, slice_of
from explorer.core.snapshots import describe as snapshot_words
from explorer.core.state import ExplorerState
from explorer.qt.plane.class_scatter import ClassScatter, ClassSplit, move_scatter
from explorer.qt.plane.density_layer import RASTER_FROM, DensityLayer
from explorer.qt.plane.grid_lines import GridLines
from explorer.qt.plane.manifold_layer import ManifoldLayer
from explorer.qt.plane.plane_mouse import CLICK_SLOP, PlaneMouse
from explorer.qt.plane.plane_overlays import HoverThumb, Overlays
from explorer.qt.plane.slice_layer import SliceLayer
from explorer.qt.plane.spread import SpreadLayer
from explorer.qt.plane.view_sync import ViewSync

DIMMED = 0.25  # scatter opacity factor while "dim the scatter" is on (or a selection is highlighted)
FADED = 0.3  # opacity factor of the points far from the slice (a D-dim model with fading on)
SELECTED = "#FFD400"  # the selected images: yellow dots with a dark edge over the dimmed scatter


def class_colour(i: int, palette: str = "tab10") -> QColor:
    return QColor(colour(palette, i))


class LatentView(SliceLayer, pg.PlotWidget):
    """Plot of the plane. ``underlayShown`` fires when a manifold mosaic is put on screen."""

    viewChanged = Signal()  # pan / zoom changed the visible range (the underlay re-renders, debounced)

    def __init__(self, state: ExplorerState, pane: PaneController, parent=None, slot: int = 0):
        super().__init__(parent, background="w")
        self.state = state
        self.pane = pane
        self.slot = slot  # which model's plane: state.sessions[slot] (0: the main model)
        self.plot_item = self.getPlotItem()
        self.vb = self.plot_item.getViewBox()
        self.vb.setAspectLocked(True)
        self.plot_item.setLabel("bottom", "z1")
        self.plot_item.setLabel("left", "z2")
        self.grid = GridLines(self.plot_item)  # opaque lines: pyqtgraph's translucent grid cost ~12 ms a repaint
        self.plot_item.setMenuEnabled(False)
        self.plot_item.hideButtons()  # pyqtgraph's "A" (auto-range) button looks like interpolation point A
        for name in ("bottom", "left"):
            self.plot_item.getAxis(name).enableAutoSIPrefix(False)  # never "z1 (x0.001)" when zoomed in
        self.setAntialiasing(False)
        self.scatters: list[pg.ScatterPlotItem] = []
        self.split = ClassSplit()  # the points by class, once per labels / means array
        self.scale = 1.0  # presentation mode scales every text and marker on the plot together
        self.points_data: tuple = (np.zeros((0, 2), np.float32), np.zeros(0, np.int64), 0)
        self.density = DensityLayer(self, DIMMED)
        for r, alpha in ((1.0, 130), (2.0, 80), (3.0, 50)):  # prior N(0, I): 1, 2, 3 sigma
            t = np.linspace(0, 2 * np.pi, 181)
            c = pg.PlotCurveItem(r * np.cos(t), r * np.sin(t), pen=pg.mkPen(QColor(60, 60, 60, alpha), width=1, style=Qt.PenStyle.DashLine))
            c.setZValue(-5)
            self.plot_item.addItem(c, ignoreBounds=True)
        # manifold underlay: one ImageItem under everything, positioned in data coordinates
        self.underlay = pg.ImageItem(axisOrder="row-major")
        self.underlay.setZValue(-20)
        self.underlay.setOpacity(0.85)
        self.underlay.setVisible(False)
        self.add_item(self.underlay)
        self.overlays = Overlays(self, state)  # interpolation path, bookmarks, the drawn star, the vector arrow
        # the images picked with the select tool (state.selection), ringed at this plane's positions of them
        self.sel_rings = self.add_item(pg.ScatterPlotItem(size=7, symbol="o", pen=pg.mkPen("#111", width=1),
                                                      brush=pg.mkBrush(SELECTED), pxMode=True), 11)
        # the marker at the z the pane shows (draggable): a dark ring inside a light one
        self.marker_halo = self.add_item(pg.TargetItem(pos=(0, 0), size=20, movable=False, pen=pg.mkPen("#fff", width=5),
                                                   brush=pg.mkBrush(0, 0, 0, 0)), 19)
        self.marker = pg.TargetItem(pos=(0, 0), size=16, movable=True, pen=pg.mkPen("#111", width=2),
                                    brush=pg.mkBrush(255, 255, 255, 60))
        self.add_item(self.marker, 20)
        self.marker.sigPositionChanged.connect(self._on_marker)
        self._setting_marker = False
        self.plane_mouse = PlaneMouse(self, super().mousePressEvent)  # clicks and marker drags, before the scene
        self.view_sync = ViewSync(self, state)  # the visible range <-> state.view (linked planes)
        self.vb.sigRangeChanged.connect(self._on_range)

        ev = state.events
        ev.session.connect(self._on_session)
        ev.compared.connect(self._on_session)  # a compared model's plane gets (or loses) its session
        ev.snapshot.connect(self._on_session)  # the main plane shows a training snapshot's means
        ev.selection.connect(self._draw_selection)
        style = state.style.events
        for sig in (style.palette, style.point_size, style.opacity, style.dim):
            sig.connect(self._restyle)
        ev.hidden_classes.connect(self._on_hidden)
        style.ui_scale.connect(self.set_scale)
        state.slice.events.plane.connect(self._on_slice)
        style.fade.connect(self._on_fade)  # presentation mode (the window's font is scaled first)
        pane.requested_target.connect(self._on_target)
        self.hover_thumb = HoverThumb(self, state, pane)  # hover preview: the decoded image at the cursor
        self.thumb = self.hover_thumb.label
        self.spread = SpreadLayer(self)  # posterior samples instead of the means, and the sigma ellipses
        self.off_data = ManifoldLayer(self)  # the plane shaded where the model put no data
        if state.ui_scale != 1.0:
            self.set_scale(state.ui_scale)

    def add_item(self, item, z: float | None = None):
        if z is not None:
            item.setZValue(z)
        item.setVisible(False)
        self.plot_item.addItem(item, ignoreBounds=True)
        return item

    # ---------------------------------------------------------------- data

    @property
    def session(self):
        """The session this plane plots (a training snapshot's while one is shown); None if none."""
        return shown_session(self.state, self.slot)

    def _on_session(self, *_a) -> None:
        self.refresh_points()

    def refresh_points(self, force: bool = False) -> None:
        """Plot this plane's session (if it changed, or ``force``: the same session, new points)."""
        session = self.session
        if session is None or (session is self._plotted and not force):
            return
        self._plotted = session
        xy = self.plotted_points(session)
        labels, names = self._fade_labels(session)
        self.set_points(xy, labels, names)
        if self.slot == 0:  # which training snapshot the main plane shows (epoch, step), for a file with snapshots;
            # "final weights" too, so that the plot keeps its height (and its view) while scrubbing
            entry = session.metadata.get("snapshot") if session.snapshot is not None else None
            title = snapshot_words(entry, len(session.snapshots)) if session.snapshots else None
            if title != self._title:
                self._title = title
                self.plot_item.setTitle(title)

    def set_points(self, means: np.ndarray, labels: np.ndarray, label_names: list[str]) -> None:
        """Real points for a small dataset; a density raster (points on zoom-in) for a big one.

        The same labels again (a training snapshot of the same dataset, scrubbed): only the positions change,
        in the per-class items that are there, and the view stays (:meth:`move_points`)."""
        if self.move_points(means, labels, len(label_names)):
            return
        for s in self.scatters:
            self.plot_item.removeItem(s)
        self.scatters = []
        self.points_data = (means, labels, len(label_names))
        if len(means) < RASTER_FROM:
            self.build_scatters()
        self.view_sync.place_new_points()
        self.density.set_data(len(means))
        self._draw_selection()

    def _draw_selection(self, *_a) -> None:
        if bool(_a) and bool(_a[0]) != bool(_a[1] if len(_a) > 1 else ()):
            self._restyle()  # a selection appeared or went: the rest of the scatter dims or comes back
        self.sel_rings.setSize((self.state.point_size + 3) * self.scale)
        sel = np.asarray(self.state.selection, np.int64)
        pts = self.points_data[0]
        sel = sel[sel < len(pts)]
        self.sel_rings.setData(pos=pts[sel] if len(sel) else np.zeros((0, 2), np.float32))
        self.sel_rings.setVisible(len(sel) > 0)

    def selection_points(self) -> np.ndarray:
        """(K, 2): where this plane rings the selected images."""
        if not self.sel_rings.isVisible():
            return np.zeros((0, 2), np.float32)
        x, y = self.sel_rings.getData()
        return np.column_stack([x, y]).astype(np.float32)

    _title = None  # the plot title shown (the training snapshot's words)

    def move_points(self, means: np.ndarray, labels: np.ndarray, n_classes: int) -> bool:
        """New positions for the same points (the same labels array, as every snapshot of one dataset
        shares): ``setData`` on the existing per-class items, each with its precomputed rows. False
        (nothing done) when the points are not the ones plotted, or they are not drawn as items yet."""
        old_means, old_labels, old_n = self.points_data
        if labels is not old_labels or n_classes != old_n or len(means) != len(old_means) or not len(means):
            return False
        if not self.density.active and len(self.scatters) != n_classes:
            return False
        self.points_data = (means, labels, n_classes)
        if self.scatters:
            for s, pos in zip(self.scatters, self.split.points(means, labels, n_classes)):
                move_scatter(s, pos)
        if self.density.active:
            self.density.render()
        return True

    @property
    def linked(self) -> bool:
        return self.view_sync.linked

    def build_scatters(self) -> None:
        """One ScatterPlotItem per class with one shared brush (a per-point brush list costs seconds)."""
        means, labels, n_classes = self.points_data
        hidden = set(self.state.hidden_classes)
        for k, rows in enumerate(self.split.rows(labels, n_classes)):
            s = ClassScatter(pos=means[rows], pen=None, symbol="o", pxMode=True, antialias=False)
            s.setZValue(0)
            s.setVisible(k not in hidden)
            self.plot_item.addItem(s)
            self.scatters.append(s)
        self._style_scatters()

    def reset_view(self) -> None:
        """Frame every point but a handful of extreme outliers (explorer.core.framing); linked planes frame every model's."""
        self.view_sync.frame()

    def _on_hidden(self, hidden, _old=None) -> None:
        if self.density.active:
            self.density.restyle()
            return
        for k, s in enumerate(self.scatters):
            if s.isVisible() == (k in hidden):
                s.setVisible(k not in hidden)

    def visible_classes(self) -> set[int]:
        s = self.session
        n = len(s.label_names) if s is not None else len(self.scatters)
        return {k for k in range(n) if k not in self.state.hidden_classes}

    def _restyle(self, *_a) -> None:
        self._style_scatters()
        self.density.restyle()  # the raster, off the GUI thread

    def _style_scatters(self) -> None:
        """Class colours, point size and opacity from the state (one brush per class, reused)."""
        st = self.state
        for k, s in enumerate(self.scatters):
            s.setBrush(pg.mkBrush(self.class_hex(k)))
            s.setSize(st.point_size * self.scale)
            faded = FADED if k == self.far_class else 1.0
            s.setOpacity(st.opacity * faded * (DIMMED if st.dim or st.selection else 1.0))  # a selection stands out
            s.setZValue(-1 if k == self.far_class else 0)
        self.sel_rings.setSize((st.point_size + 3) * self.scale)

    def set_scale(self, k: float, _old: float | None = None) -> None:
        """Scale every text and marker on the plot together (presentation mode): ticks, axis labels,
        A/B, the t diamond, the marker, the arrow head, stars and the scatter's dots."""
        self.scale = float(k)
        font = self.font()
        font.setPointSizeF(font.pointSizeF())  # the window's font, already scaled by presentation mode
        for name in ("bottom", "left"):
            ax = self.plot_item.getAxis(name)
            ax.setStyle(tickFont=font, tickLength=int(-5 * k))
            ax.setTickFont(font)
        self._label_axes(font)
        self.overlays.set_scale(k)
        self.set_marker_size(16 * k)
        self._restyle()

    # ---------------------------------------------------------------- view range <-> state.view

    def view_rect(self) -> tuple[float, float, float, float]:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return x0, x1, y0, y1

    def _on_range(self, *_a) -> None:
        self.density.view_changed()
        self.viewChanged.emit()

    # ---------------------------------------------------------------- overlays

    def _on_target(self, tgt: PaneTarget) -> None:
        """The marker sits on the z the pane shows; with vectors on, an arrow from the base to it."""
        self.set_marker(*tgt.xy)
        self.overlays.draw_arrow(np.asarray(tgt.base_xy) if tgt.vectors_on else None, np.asarray(tgt.xy))

    def set_marker(self, x: float, y: float) -> None:
        p = QPointF(float(x), float(y))
        if self.marker.isVisible() and self.marker.pos() == p and self.marker_halo.pos() == p:
            return  # already there (a drag moved it): setPos would still cost ~0.3 ms of signals
        self._setting_marker = True
        try:
            for m in (self.marker_halo, self.marker):
                m.setPos(p)
                m.setVisible(True)
        finally:
            self._setting_marker = False

    def set_marker_size(self, px: float) -> None:
        """Marker size in screen pixels (pyqtgraph's TargetItem has no setter; its shape is cached)."""
        for m, size in ((self.marker, px), (self.marker_halo, px * 1.25)):
            m.scale = float(size)
            m.viewTransformChanged()  # drops the cached shape and repaints

    def arrow(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(start, end) of the vector arrow drawn on the plane, or None when hidden."""
        return self.overlays.arrow()

    def set_underlay(self, mosaic: np.ndarray | None, rect: tuple[float, float, float, float] | None = None) -> None:
        """mosaic row 0 at y0 (see explorer.core.latent.tile); rect = (x0, y0, width, height)."""
        if mosaic is None:
            self.underlay.setVisible(False)
            return
        self.underlay.setImage(mosaic, levels=(0.0, 1.0), autoLevels=False)
        self.underlay.setRect(QRectF(*rect))
        self.underlay.setVisible(True)

    # ---------------------------------------------------------------- mouse -> state

    def to_data(self, scene_pos) -> tuple[float, float] | None:
        if not self.vb.sceneBoundingRect().contains(scene_pos):
            return None
        p = self.vb.mapSceneToView(scene_pos)
        return p.x(), p.y()

    CLICK_SLOP = CLICK_SLOP  # px: a press and release closer than this is a click, farther is a pan

    # Plain clicks and marker drags are handled by PlaneMouse before pyqtgraph's scene, whose item
    # search costs milliseconds per event (explorer/qt/plane/plane_mouse.py); it passes on everything else.

    def mousePressEvent(self, ev) -> None:
        if not self.plane_mouse.press(ev):
            super().mousePressEvent(ev)

    def mouseReleaseEvent(self, ev) -> None:
        """A click decodes at once; pyqtgraph never sees it."""
        if not self.plane_mouse.release(ev):
            super().mouseReleaseEvent(ev)

    def _on_click(self, scene_pos) -> None:
        if self.on_marker(scene_pos):
            return  # the marker is dragged: not a point to decode
        p = self.to_data(scene_pos)
        if p is not None and self.state.session is not None:
            self.state.set_point(p, source="click")

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
        if not self.plane_mouse.move(ev):
            super().mouseMoveEvent(ev)
        if self.state.hover and self.state.session is not None and not ev.buttons():
            p = self.to_data(self.mapToScene(ev.position().toPoint()))
            if p is not None:
                self.state.set_point(p, source="hover")

    paint_rects = None  # while painting: the repainted region's rects (viewport pixels), for ClassScatter

    def paintEvent(self, ev) -> None:
        self.paint_rects = list(ev.region())
        try:
            super().paintEvent(ev)
        finally:
            self.paint_rects = None

    def leaveEvent(self, ev) -> None:
        self.plane_mouse.leave()
        super().leaveEvent(ev)

    def _on_marker(self, *_a) -> None:
        """The marker is being dragged: the pane must show the marker's z, so base = marker - vectors."""
        if not self._setting_marker and self.state.session is not None:
            p = self.marker.pos()
            plane = slice_of(self.state, self.slot)
            t = self.state.vectors.total(self.session, self.state.session, plane.dim)  # (D,)
            along = t if plane.is_identity else np.array([t @ np.asarray(plane.u), t @ np.asarray(plane.v)])
            self.state.set_point(np.array([p.x(), p.y()]) - along, source="drag")  # the vectors' part on the plane

    def data_to_widget(self, x: float, y: float):
        """Widget pixel position of a data point (for tests and benchmarks driving real events)."""
        scene = self.vb.mapViewToScene(QPointF(x, y))
        return self.mapFromScene(scene)
