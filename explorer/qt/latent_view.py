"""The latent plane: it renders the explorer state and writes the user's actions back into it.

It draws the scatter of encoded means by class, the legend (hidden classes), the prior circles, and
the marker at the z the pane shows. It also draws the interpolation path with A, B and the t
diamond, the bookmarks, the vector arrow, the drawn image's star, and the manifold underlay. A click,
a marker drag or a hover writes ``state.point``; a pan or zoom writes ``state.view``. Nothing here
knows the main window.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QLabel

from explorer.core.palettes import colour
from explorer.core.pane import PaneController, PaneTarget, shown_session
from explorer.core.snapshots import describe as snapshot_words
from explorer.core.state import T_MAX, T_MIN, ExplorerState
from explorer.qt.class_scatter import ClassScatter
from explorer.qt.density_layer import RASTER_FROM, DensityLayer
from explorer.qt.grid_lines import GridLines
from explorer.qt.image_view import to_qimage
from explorer.qt.plane_mouse import CLICK_SLOP, PlaneMouse
from explorer.qt.spread import SpreadLayer

ARROW_COLOUR = "#D55E00"
STAR_COLOUR = "#CC79A7"
HALO = (255, 255, 255, 230)  # drawn under dark overlay lines so they stay visible on the dark underlay tiles
DIMMED = 0.25  # scatter opacity factor while "dim the scatter" is on (or a selection is highlighted)
SELECTED = "#FFD400"  # the selected images: yellow dots with a dark edge over the dimmed scatter


def class_colour(i: int, palette: str = "tab10") -> QColor:
    return QColor(colour(palette, i))


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


class LatentView(pg.PlotWidget):
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
        self._add(self.underlay)
        # interpolation: solid A->B, dashed overshoot, A/B labels, diamond at t. Dark lines get a light
        # halo and labels a light box, so they read on the white plot and on dark underlay tiles alike.
        self.path_halo = self._add(pg.PlotCurveItem(pen=pg.mkPen(HALO, width=6)), 14)
        self.path_item = self._add(pg.PlotCurveItem(pen=pg.mkPen("#222", width=2)), 15)
        self.over_item = self._add(pg.PlotCurveItem(pen=pg.mkPen("#222", width=1.5, style=Qt.PenStyle.DashLine)), 15)
        self.ends_item = self._add(pg.ScatterPlotItem(size=12, pen=pg.mkPen("#222", width=2), brush=pg.mkBrush("#fff")), 15)
        self.t_item = self._add(pg.ScatterPlotItem(size=16, symbol="d", pen=pg.mkPen("#000", width=1.5),
                                                   brush=pg.mkBrush("#FFD400")), 15)
        self.text_a = self._add(pg.TextItem("A", color="#000", anchor=(1.2, 1.2), fill=HALO, border="#222"), 15)
        self.text_b = self._add(pg.TextItem("B", color="#000", anchor=(1.2, 1.2), fill=HALO, border="#222"), 15)
        # bookmarks, the drawn image's star, the vector arrow (base -> shown z)
        self.bookmark_items = self._add(pg.ScatterPlotItem(size=18, symbol="star", pen=pg.mkPen("#000", width=1.5),
                                                           brush=pg.mkBrush("#FFD400")), 12)
        # the images picked with the select tool (state.selection), ringed at this plane's positions of them
        self.sel_rings = self._add(pg.ScatterPlotItem(size=7, symbol="o", pen=pg.mkPen("#111", width=1),
                                                      brush=pg.mkBrush(SELECTED), pxMode=True), 11)
        self.star = self._add(pg.ScatterPlotItem(size=24, symbol="star", pen=pg.mkPen("#fff", width=2),
                                                 brush=pg.mkBrush(STAR_COLOUR)), 18)
        self.arrow_halo = self._add(pg.PlotCurveItem(pen=pg.mkPen(HALO, width=7)), 16)
        self.arrow_line = self._add(pg.PlotCurveItem(pen=pg.mkPen(ARROW_COLOUR, width=3)), 16)
        self.arrow_head = self._add(pg.ArrowItem(angle=180, headLen=16, tipAngle=32, tailLen=0,
                                                 pen=pg.mkPen("#fff", width=1.5), brush=pg.mkBrush(ARROW_COLOUR)), 16)
        # the marker at the z the pane shows (draggable): a dark ring inside a light one
        self.marker_halo = self._add(pg.TargetItem(pos=(0, 0), size=20, movable=False, pen=pg.mkPen("#fff", width=5),
                                                   brush=pg.mkBrush(0, 0, 0, 0)), 19)
        self.marker = pg.TargetItem(pos=(0, 0), size=16, movable=True, pen=pg.mkPen("#111", width=2),
                                    brush=pg.mkBrush(255, 255, 255, 60))
        self._add(self.marker, 20)
        self.marker.sigPositionChanged.connect(self._on_marker)
        self._setting_marker = False
        self._setting_view = False
        self.plane_mouse = PlaneMouse(self, super().mousePressEvent)  # clicks and marker drags, before the scene
        self.vb.sigRangeChanged.connect(self._on_range)

        ev = state.events
        ev.session.connect(self._on_session)
        ev.compared.connect(self._on_session)  # a compared model's plane gets (or loses) its session
        ev.snapshot.connect(self._on_session)  # the main plane shows a training snapshot's means
        ev.link_views.connect(self._on_link)
        ev.selection.connect(self._draw_selection)
        ev.palette.connect(self._restyle)
        ev.point_size.connect(self._restyle)
        ev.opacity.connect(self._restyle)
        ev.dim.connect(self._restyle)
        ev.hidden_classes.connect(self._on_hidden)
        ev.view.connect(self._on_state_view)
        ev.drawn.connect(self._draw_star)
        for name in ("a", "b", "t", "method"):
            getattr(state.interpolation.events, name).connect(self._draw_path)
        bev = state.bookmarks.events
        for sig in (bev.inserted, bev.removed, bev.changed, bev.reordered, bev.child_event):
            sig.connect(self._draw_bookmarks)
        pane.requested_target.connect(self._on_target)
        # hover preview: a thumbnail of the decoded image at the cursor (as the Embedding Projector does)
        self.thumb = QLabel(self.viewport())
        self.thumb.setStyleSheet("border: 2px solid #111; background: #111;")
        self.thumb.setVisible(False)
        pane.shown.connect(self._on_shown)
        ev.hover.connect(lambda on, _o=None: None if on else self.thumb.setVisible(False))
        self.spread = SpreadLayer(self)  # posterior samples instead of the means, and the sigma ellipses

    def _add(self, item, z: float | None = None):
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
        self.set_points(self.plotted_points(session), session.labels, session.label_names)
        if self.slot == 0:  # which training snapshot the main plane shows (epoch, step), for a file with snapshots;
            # "final weights" too, so that the plot keeps its height (and its view) while scrubbing
            entry = session.metadata.get("snapshot") if session.snapshot is not None else None
            title = snapshot_words(entry, len(session.snapshots)) if session.snapshots else None
            if title != self._title:
                self._title = title
                self.plot_item.setTitle(title)

    def plotted_points(self, session) -> np.ndarray:
        """The (N, 2) points this plane plots for ``session``: its encoded means, or one posterior sample
        per image while ``state.plot_samples`` is on (explorer/qt/spread.py)."""
        return self.spread.points(session)

    def _on_link(self, on: bool, _old=None) -> None:
        """Linked again: follow the main plane. Unlinked: frame this plane's own points."""
        if self.slot == 0:
            return
        if on and self.state.view is not None:
            self._on_state_view(self.state.view)
        elif not on:
            self._own_view = None
            self.reset_view()

    _plotted = None  # the session whose means are on screen

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
        if not self.linked:
            if self._own_view is None:  # an unlinked plane keeps where its user put it
                self.reset_view()
        elif self.state.view is None:
            self.reset_view()
        else:
            self._on_state_view(self.state.view)
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

    _own_view = None  # an unlinked plane's range, once its user has panned or zoomed it
    _title = None  # the plot title shown (the training snapshot's words)
    _class_rows: tuple = (None, [])  # (the labels array, [its row indices of class k for each k])

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
            for s, pos in zip(self.scatters, self.class_points(means, labels, n_classes)):
                move_scatter(s, pos)
        if self.density.active:
            self.density.render()
        return True

    def class_rows(self, labels: np.ndarray, n_classes: int) -> list[np.ndarray]:
        """Row indices of each class in ``labels``, computed once per labels array."""
        if self._class_rows[0] is not labels or len(self._class_rows[1]) != n_classes:
            self._class_rows = (labels, [np.flatnonzero(labels == k) for k in range(n_classes)])
            self._class_points = {}
        return self._class_rows[1]

    _class_points: dict = {}  # id(means) -> (means, [its float64 points of class k]): each snapshot's, once
    CLASS_POINTS_KEPT = 128  # sets of per-class points kept (a file holds at most 100 snapshots)

    def class_points(self, means: np.ndarray, labels: np.ndarray, n_classes: int) -> list[np.ndarray]:
        """``means`` split by class, as (n_k, 2) float64 arrays, computed once per means array (scrubbing back
        and forth then only writes them into the scatter items)."""
        rows = self.class_rows(labels, n_classes)
        hit = self._class_points.get(id(means))
        if hit is None or hit[0] is not means:
            if len(self._class_points) >= self.CLASS_POINTS_KEPT:
                self._class_points.clear()
            hit = self._class_points[id(means)] = (means, [np.asarray(means[r], np.float64) for r in rows])
        return hit[1]

    @property
    def linked(self) -> bool:
        """The main plane always follows ``state.view``; a compared one while the views are linked."""
        return self.slot == 0 or self.state.link_views

    def build_scatters(self) -> None:
        """One ScatterPlotItem per class with one shared brush (a per-point brush list costs seconds)."""
        means, labels, n_classes = self.points_data
        hidden = set(self.state.hidden_classes)
        for k, rows in enumerate(self.class_rows(labels, n_classes)):
            s = ClassScatter(pos=means[rows], pen=None, symbol="o", pxMode=True, antialias=False)
            s.setZValue(0)
            s.setVisible(k not in hidden)
            self.plot_item.addItem(s)
            self.scatters.append(s)
        self._style_scatters()

    def reset_view(self) -> None:
        """Frame the bulk of the points (0.5..99.5 percentiles); linked planes frame every model's bulk."""
        s = self.session
        if s is not None and s.means is not None and len(s.means):
            boxes = [np.percentile(x.means, [0.5, 99.5], axis=0) for x in
                     ((s, *self.state.compared) if self.linked and self.slot == 0 else (s,)) if x.means is not None]
            lo, hi = np.min([b[0] for b in boxes], axis=0), np.max([b[1] for b in boxes], axis=0)
            pad = 0.08 * (hi - lo).max()
            self.vb.setRange(xRange=(lo[0] - pad, hi[0] + pad), yRange=(lo[1] - pad, hi[1] + pad), padding=0)
        else:
            self.vb.autoRange()

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
            s.setBrush(pg.mkBrush(class_colour(k, st.palette)))
            s.setSize(st.point_size * self.scale)
            s.setOpacity(st.opacity * (DIMMED if st.dim or st.selection else 1.0))  # a selection stands out
        self.sel_rings.setSize((st.point_size + 3) * self.scale)

    def set_scale(self, k: float) -> None:
        """Scale every text and marker on the plot together (presentation mode): ticks, axis labels,
        A/B, the t diamond, the marker, the arrow head, stars and the scatter's dots."""
        self.scale = float(k)
        font = self.font()
        font.setPointSizeF(font.pointSizeF())  # the window's font, already scaled by presentation mode
        for name in ("bottom", "left"):
            ax = self.plot_item.getAxis(name)
            ax.setStyle(tickFont=font, tickLength=int(-5 * k))
            ax.setTickFont(font)
        for name, text in (("bottom", "z1"), ("left", "z2")):
            self.plot_item.setLabel(name, text, **{"font-size": f"{font.pointSizeF() * 1.1:.0f}pt"})
        label_font = self.font()
        label_font.setBold(True)
        for t in (self.text_a, self.text_b):
            t.setFont(label_font)
        self.ends_item.setSize(12 * k)
        self.t_item.setSize(16 * k)
        self.bookmark_items.setSize(18 * k)
        self.star.setSize(24 * k)
        self.arrow_head.setStyle(headLen=16 * k)
        self.arrow_line.setPen(pg.mkPen(ARROW_COLOUR, width=3 * k))
        self.arrow_halo.setPen(pg.mkPen(HALO, width=7 * k))
        self.path_item.setPen(pg.mkPen("#222", width=2 * k))
        self.path_halo.setPen(pg.mkPen(HALO, width=6 * k))
        self.set_marker_size(16 * k)
        self._restyle()

    # ---------------------------------------------------------------- view range <-> state.view

    def view_rect(self) -> tuple[float, float, float, float]:
        (x0, x1), (y0, y1) = self.vb.viewRange()
        return x0, x1, y0, y1

    def _on_range(self, *_a) -> None:
        if not self._setting_view and not self.linked:
            self._own_view = self.view_rect()
        elif not self._setting_view:
            self._setting_view = True
            try:
                self.state.view = self.view_rect()
            finally:
                self._setting_view = False
        self.density.view_changed()
        self.viewChanged.emit()

    def _on_state_view(self, view, _old=None) -> None:
        if view is None or self._setting_view or not self.linked:
            return
        self._setting_view = True
        try:
            x0, x1, y0, y1 = view
            self.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        finally:
            self._setting_view = False
        rect = self.view_rect()
        if rect != tuple(view) and self.slot == 0:  # the locked aspect widened one range: the state holds what is visible
            self._setting_view = True
            try:
                self.state.view = rect
            finally:
                self._setting_view = False

    # ---------------------------------------------------------------- overlays

    def _on_target(self, tgt: PaneTarget) -> None:
        """The marker sits on the z the pane shows; with vectors on, an arrow from the base to it."""
        self.set_marker(*tgt.z)
        if tgt.vectors_on:
            self._draw_arrow(np.asarray(tgt.base), np.asarray(tgt.z))
        else:
            for it in (self.arrow_line, self.arrow_head, self.arrow_halo):
                it.setVisible(False)

    THUMB_PX = 84  # hover thumbnail size (3x a 28-px image), scaled with presentation mode

    def _on_shown(self, shown) -> None:
        if shown.target.source != "hover" or not self.state.hover:
            self.thumb.setVisible(False)
            return
        side = int(self.THUMB_PX * self.scale)
        self.thumb.setPixmap(QPixmap.fromImage(to_qimage(shown.image)).scaled(
            side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))
        self.thumb.adjustSize()
        p = self.data_to_widget(*shown.target.z)
        x, y = p.x() + 16, p.y() + 16  # beside the cursor, kept inside the plane
        vp = self.viewport()
        x = x if x + self.thumb.width() < vp.width() else p.x() - 16 - self.thumb.width()
        y = y if y + self.thumb.height() < vp.height() else p.y() - 16 - self.thumb.height()
        self.thumb.move(x, y)
        self.thumb.setVisible(True)
        self.thumb.raise_()

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

    def _draw_arrow(self, z0: np.ndarray, z1: np.ndarray) -> None:
        d = np.asarray(z1, np.float64) - np.asarray(z0, np.float64)
        visible = bool(np.hypot(*d) > 0)
        self.arrow_line.setData([float(z0[0]), float(z1[0])], [float(z0[1]), float(z1[1])])
        self.arrow_halo.setData([float(z0[0]), float(z1[0])], [float(z0[1]), float(z1[1])])
        self.arrow_halo.setVisible(visible)
        if visible:
            # ArrowItem angles are in screen coordinates (y down) and 0 points left
            self.arrow_head.setStyle(angle=180.0 - math.degrees(math.atan2(d[1], d[0])))
            self.arrow_head.setPos(float(z1[0]), float(z1[1]))
        self.arrow_line.setVisible(visible)
        self.arrow_head.setVisible(visible)

    def arrow(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(start, end) of the vector arrow drawn on the plane, or None when hidden."""
        if not self.arrow_line.isVisible():
            return None
        x, y = self.arrow_line.getData()
        return np.array([x[0], y[0]], np.float32), np.array([x[1], y[1]], np.float32)

    def _draw_path(self, *_a) -> None:
        ip = self.state.interpolation
        ok = ip.ready
        for it in (self.path_halo, self.path_item, self.over_item, self.ends_item, self.t_item):
            it.setVisible(ok)
        for text, p in ((self.text_a, ip.a), (self.text_b, ip.b)):
            text.setVisible(p is not None)
            if p is not None:
                text.setPos(*p)
        if ok:
            inner = ip.z_at(np.linspace(0, 1, 101))
            over = ip.z_at(np.linspace(T_MIN, T_MAX, 201))
            self.path_item.setData(inner[:, 0], inner[:, 1])
            self.path_halo.setData(inner[:, 0], inner[:, 1])
            self.over_item.setData(over[:, 0], over[:, 1])
            self.ends_item.setData(pos=np.array([ip.a, ip.b], np.float32))
            self.t_item.setData(pos=ip.z_at(ip.t)[None, :])

    def _draw_bookmarks(self, *_a) -> None:
        pts = np.array([m.z for m in self.state.bookmarks], np.float32).reshape(-1, 2)
        self.bookmark_items.setData(pos=pts)
        self.bookmark_items.setVisible(len(pts) > 0)

    def _draw_star(self, drawn, _old=None) -> None:
        self.star.setVisible(drawn is not None)
        if drawn is not None:
            self.star.setData(pos=np.array([drawn], np.float32))

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
    # search costs milliseconds per event (explorer/qt/plane_mouse.py); it passes on everything else.

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
            z = np.array([p.x(), p.y()]) - self.state.vectors.total(self.session, self.state.session)
            self.state.set_point(z, source="drag")

    def data_to_widget(self, x: float, y: float):
        """Widget pixel position of a data point (for tests and benchmarks driving real events)."""
        scene = self.vb.mapViewToScene(QPointF(x, y))
        return self.mapFromScene(scene)
