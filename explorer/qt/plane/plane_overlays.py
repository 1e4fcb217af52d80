"""What the plane draws over the scatter from the state: the interpolation path (A->B solid, the
overshoot dashed, boxed A/B letters each on the side clear of the path and the vector arrow, the t diamond), the bookmarks' stars, the drawn image's star, the
vector arrow from the base to the z the pane shows, and the hover preview's thumbnail.

Dark lines get a light halo and labels a light box, so they read on the white plot and on dark
underlay tiles alike. Presentation mode scales all of them together (:meth:`Overlays.set_scale`).
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel

from explorer.core.state import T_MAX, T_MIN, ExplorerState
from explorer.qt.pane.image_view import to_qimage

ARROW_COLOUR = "#D55E00"
STAR_COLOUR = "#CC79A7"
HALO = (255, 255, 255, 230)  # drawn under dark overlay lines so they stay visible on the dark underlay tiles
# where an A / B label may sit around its point (x right, y up), the first the default: up-left, then the rest
SIDES = ((-1, 1), (1, 1), (-1, -1), (1, -1), (-1, 0), (0, 1), (1, 0), (0, -1))


def label_side(avoid: list) -> tuple[int, int]:
    """The side of a point to put its label on: of :data:`SIDES`, the one farthest in angle from every
    direction in ``avoid`` (plane vectors from the point: the path through it, the vector arrow from it)."""
    dirs = [np.asarray(d, np.float64) / np.hypot(*d) for d in avoid if np.hypot(*d) > 0]
    if not dirs:
        return SIDES[0]

    def clearance(side) -> float:
        u = np.asarray(side, np.float64) / np.hypot(*side)
        return min(float(np.arccos(np.clip(u @ d, -1.0, 1.0))) for d in dirs)

    return max(SIDES, key=clearance)  # the first of equals: the default side wins a tie


class Overlays:
    """The overlay items of one plane (``view``: a LatentView), drawn from ``state``."""

    def __init__(self, view, state: ExplorerState) -> None:
        self.view, self.state = view, state
        add = view.add_item
        self.path_halo = add(pg.PlotCurveItem(pen=pg.mkPen(HALO, width=6)), 14)
        self.path_item = add(pg.PlotCurveItem(pen=pg.mkPen("#222", width=2)), 15)
        self.over_item = add(pg.PlotCurveItem(pen=pg.mkPen("#222", width=1.5, style=Qt.PenStyle.DashLine)), 15)
        self.ends_item = add(pg.ScatterPlotItem(size=12, pen=pg.mkPen("#222", width=2), brush=pg.mkBrush("#fff")), 15)
        self.t_item = add(pg.ScatterPlotItem(size=16, symbol="d", pen=pg.mkPen("#000", width=1.5),
                                             brush=pg.mkBrush("#FFD400")), 15)
        self.text_a = add(pg.TextItem("A", color="#000", anchor=(1.2, 1.2), fill=HALO, border="#222"), 15)
        self.text_b = add(pg.TextItem("B", color="#000", anchor=(1.2, 1.2), fill=HALO, border="#222"), 15)
        self._arrow: tuple[np.ndarray, np.ndarray] | None = None  # the vector arrow's ends, while drawn
        self._k = 1.0  # the overlays' scale (presentation mode)
        self.bookmark_items = add(pg.ScatterPlotItem(size=18, symbol="star", pen=pg.mkPen("#000", width=1.5),
                                                     brush=pg.mkBrush("#FFD400")), 12)
        self.star = add(pg.ScatterPlotItem(size=24, symbol="star", pen=pg.mkPen("#fff", width=2),
                                           brush=pg.mkBrush(STAR_COLOUR)), 18)
        self.arrow_halo = add(pg.PlotCurveItem(pen=pg.mkPen(HALO, width=7)), 16)
        self.arrow_line = add(pg.PlotCurveItem(pen=pg.mkPen(ARROW_COLOUR, width=3)), 16)
        self.arrow_head = add(pg.ArrowItem(angle=180, headLen=16, tipAngle=32, tailLen=0,
                                           pen=pg.mkPen("#fff", width=1.5), brush=pg.mkBrush(ARROW_COLOUR)), 16)
        state.events.drawn.connect(self.draw_star)
        state.slice.events.plane.connect(self._on_slice)  # a new slice: every mark is somewhere else on it
        for name in ("a", "b", "t", "method"):
            getattr(state.interpolation.events, name).connect(self.draw_path)
        bev = state.bookmarks.events
        for sig in (bev.inserted, bev.removed, bev.changed, bev.reordered, bev.child_event):
            sig.connect(self.draw_bookmarks)

    def set_scale(self, k: float) -> None:
        label_font = self.view.font()
        label_font.setBold(True)
        for t in (self.text_a, self.text_b):
            t.setFont(label_font)
        self._k = k
        self.ends_item.setSize(12 * k)
        self.t_item.setSize(16 * k)
        self.bookmark_items.setSize(18 * k)
        self.star.setSize(24 * k)
        self.arrow_head.setStyle(headLen=16 * k)
        self.arrow_line.setPen(pg.mkPen(ARROW_COLOUR, width=3 * k))
        self.arrow_halo.setPen(pg.mkPen(HALO, width=7 * k))
        self.path_item.setPen(pg.mkPen("#222", width=2 * k))
        self.path_halo.setPen(pg.mkPen(HALO, width=6 * k))
        self.place_labels()

    def _on_slice(self, *_a) -> None:
        self.draw_path()
        self.draw_bookmarks()
        self.draw_star(self.state.drawn)

    def draw_arrow(self, z0: np.ndarray | None, z1: np.ndarray | None = None) -> None:
        """The vector arrow from ``z0`` to ``z1``; hidden when ``z0`` is None or the two are equal."""
        d = None if z0 is None else np.asarray(z1, np.float64) - np.asarray(z0, np.float64)
        visible = d is not None and bool(np.hypot(*d) > 0)
        if d is not None:
            xs, ys = [float(z0[0]), float(z1[0])], [float(z0[1]), float(z1[1])]
            self.arrow_line.setData(xs, ys)
            self.arrow_halo.setData(xs, ys)
        if visible:
            # ArrowItem angles are in screen coordinates (y down) and 0 points left
            self.arrow_head.setStyle(angle=180.0 - math.degrees(math.atan2(d[1], d[0])))
            self.arrow_head.setPos(float(z1[0]), float(z1[1]))
        for it in (self.arrow_line, self.arrow_head, self.arrow_halo):
            it.setVisible(visible)
        self._arrow = (np.asarray(z0, np.float64), np.asarray(z1, np.float64)) if visible else None
        self.place_labels()

    def arrow(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(start, end) of the vector arrow drawn on the plane, or None when hidden."""
        if not self.arrow_line.isVisible():
            return None
        x, y = self.arrow_line.getData()
        return np.array([x[0], y[0]], np.float32), np.array([x[1], y[1]], np.float32)

    def draw_path(self, *_a) -> None:
        ip = self.state.interpolation
        ok = ip.ready
        for it in (self.path_halo, self.path_item, self.over_item, self.ends_item, self.t_item):
            it.setVisible(ok)
        plane = self.view.to_plane
        for text, p in ((self.text_a, ip.a), (self.text_b, ip.b)):
            text.setVisible(p is not None)
            if p is not None:
                text.setPos(*plane(p))
        if ok:  # the path runs in D; the plane shows its projection
            inner = plane(ip.z_at(np.linspace(0, 1, 101)))
            over = plane(ip.z_at(np.linspace(T_MIN, T_MAX, 201)))
            self.path_item.setData(inner[:, 0], inner[:, 1])
            self.path_halo.setData(inner[:, 0], inner[:, 1])
            self.over_item.setData(over[:, 0], over[:, 1])
            self.ends_item.setData(pos=plane(np.array([ip.a, ip.b], np.float64)))
            self.t_item.setData(pos=plane(ip.z_at(ip.t)[None, :]))
        self.place_labels()

    def place_labels(self) -> None:
        """Put A and B each on the side of its point clear of the path through it and of the vector arrow
        starting or ending near it, a gap past the end marker (the labels are drawn under the arrow)."""
        ip = self.state.interpolation
        plane = self.view.to_plane
        px = np.asarray(self.view.vb.viewPixelSize(), np.float64)  # data units per screen pixel
        gap = 9 * self._k  # px: past the end marker (12 px across) and the path's halo
        for text, p, t in ((self.text_a, ip.a, 0.0), (self.text_b, ip.b, 1.0)):
            if p is None:
                continue
            at = np.asarray(plane(p), np.float64)
            avoid = []
            if ip.ready:  # the path runs both ways from each end (the overshoot is dashed)
                avoid += [np.asarray(plane(ip.z_at(t + dt)), np.float64) - at for dt in (-0.05, 0.05)]
            rect = text.boundingRect()
            w, h = max(rect.width(), 1.0), max(rect.height(), 1.0)
            if self._arrow is not None:
                near = (np.hypot(w, h) + 2 * gap) * float(px.max())
                for end, other in (self._arrow, self._arrow[::-1]):
                    if np.hypot(*(end - at)) <= near:
                        avoid.append(other - at)
            sx, sy = label_side(avoid)
            text.setAnchor((0.5 - sx * (0.5 + gap / w), 0.5 + sy * (0.5 + gap / h)))

    def draw_bookmarks(self, *_a) -> None:
        marks = [m.z for m in self.state.bookmarks]
        pts = self.view.to_plane(np.array(marks, np.float64)) if marks else np.zeros((0, 2), np.float32)
        self.bookmark_items.setData(pos=pts)
        self.bookmark_items.setVisible(len(pts) > 0)

    def draw_star(self, drawn, _old=None) -> None:
        self.star.setVisible(drawn is not None)
        if drawn is not None:
            self.star.setData(pos=self.view.to_plane(np.array([drawn], np.float64)))


class HoverThumb:
    """Hover preview: a thumbnail of the decoded image beside the cursor, as the Embedding Projector
    shows one (while ``state.hover`` is on; kept inside the plane)."""

    PX = 84  # thumbnail size (3x a 28-px image), scaled with presentation mode

    def __init__(self, view, state: ExplorerState, pane) -> None:
        self.view, self.state = view, state
        self.label = QLabel(view.viewport())
        self.label.setStyleSheet("border: 2px solid #111; background: #111;")
        self.label.setVisible(False)
        pane.shown.connect(self._on_shown)
        state.events.hover.connect(lambda on, _o=None: None if on else self.label.setVisible(False))

    def _on_shown(self, shown) -> None:
        if shown.target.source != "hover" or not self.state.hover:
            self.label.setVisible(False)
            return
        side = int(self.PX * self.view.scale)
        self.label.setPixmap(QPixmap.fromImage(to_qimage(shown.image)).scaled(
            side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))
        self.label.adjustSize()
        p = self.view.data_to_widget(*shown.target.xy)
        x, y = p.x() + 16, p.y() + 16  # beside the cursor, kept inside the plane
        vp = self.view.viewport()
        x = x if x + self.label.width() < vp.width() else p.x() - 16 - self.label.width()
        y = y if y + self.label.height() < vp.height() else p.y() - 16 - self.label.height()
        self.label.move(x, y)
        self.label.setVisible(True)
        self.label.raise_()
