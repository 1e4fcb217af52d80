"""The scatter at any size: real points when few enough are in view, one density raster otherwise.

With at least ``RASTER_FROM`` points, the plane draws one ImageItem: per-class counts at the view's
pixel size, composited in explorer.core.density. That costs O(points + pixels) however many points
overlap, and repaints in a frame at any size. Zoomed in until at most ``POINTS_UP_TO`` points are in
view, it switches to real points: the per-class ScatterPlotItems, built on first need. Class
colours, point size, opacity, dim and hidden classes apply to both. Picking and the nearest lookup
never depend on this: they use the means themselves.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import QObject, QRectF, QTimer

from explorer.core.density import hex_rgb, rasterize
from explorer.core.palettes import colour as class_hex

RASTER_FROM = 50_000  # points in the dataset: below this, always real points
POINTS_UP_TO = 20_000  # points in view: at or below this, real points even for a big dataset
REFRESH_MS = 15  # re-render this soon after the last pan / zoom step (the old raster moves meanwhile)


class DensityLayer(QObject):
    def __init__(self, view, dim_factor: float):
        super().__init__(view)
        self.view = view
        self.dim_factor = dim_factor
        self.image = pg.ImageItem(axisOrder="row-major")
        self.image.setZValue(0)
        self.image.setVisible(False)
        view.plot_item.addItem(self.image, ignoreBounds=True)
        self.active = False  # the dataset is big enough for the raster
        self.showing_points = False
        self.renders = 0  # rasters rendered (tests, benchmarks)
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self.render)
        view.vb.sigResized.connect(self.view_changed)  # the plot's pixel size changed: new bins

    def set_data(self, n_points: int) -> None:
        self.active = n_points >= RASTER_FROM
        self.showing_points = not self.active
        self.image.setVisible(False)
        if self.active:
            self.render()

    def view_changed(self) -> None:
        if self.active:
            self._timer.start()

    def render(self) -> None:
        """Raster for the current view, or real points when few enough are in it."""
        v, st = self.view, self.view.state
        means, labels, n_classes = v.points_data
        if not self.active or not len(means):
            return
        vb = v.vb.sceneBoundingRect()
        x0, x1, y0, y1 = v.view_rect()
        alpha = st.opacity * (self.dim_factor if st.dim or st.selection else 1.0)
        colours = hex_rgb([class_hex(st.palette, k) for k in range(n_classes)])
        r = rasterize(means, labels, (x0, x1, y0, y1), (int(vb.width()), int(vb.height())), colours,
                      hidden=st.hidden_classes, point_px=st.point_size * v.scale, opacity=alpha)
        self.renders += 1
        few = r.points <= POINTS_UP_TO
        if few and not v.scatters:
            v.build_scatters()
        self.showing_points = few
        for k, sc in enumerate(v.scatters):
            sc.setVisible(few and k not in st.hidden_classes)
        self.image.setVisible(not few)
        if not few:
            self.image.setImage(r.rgba, autoLevels=False, levels=(0, 255))
            self.image.setRect(QRectF(*r.rect))
