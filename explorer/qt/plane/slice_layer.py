"""A plane's view of its slice (a part of :class:`explorer.qt.plane.latent_view.LatentView`).

What the plane plots are the projections of the D-points (means, or posterior samples) on the slice
this plane shows (``explorer.core.pane.slice_of``: ``state.slice`` for the main plane, a compared model's
own): for a 2-D model the identity, so the means themselves. The projections are computed again only
when u, v or the origin's in-plane part change (a dims slider slides the origin off the plane: the
projections stay); with ``state.fade`` on, the points farther from the slice than the nearer half become
one extra, grey class. The axis labels name the slice's directions; the main model's D-points (the path,
bookmarks, the drawn star) are drawn at their plane coordinates (:meth:`to_plane`).
"""

from __future__ import annotations

import numpy as np

from explorer.core.palettes import colour
from explorer.core.pane import slice_of


class SliceLayer:
    def plotted_points(self, session) -> np.ndarray:
        """The (N, 2) points this plane plots for ``session``: the projections on this plane's slice of its
        encoded means, or of one posterior sample per image while ``state.plot_samples`` is on
        (explorer/qt/plane/spread.py). For a 2-D model, the means themselves."""
        plane = slice_of(self.state, self.slot)
        self._plotted_on = self._plane_key(plane)
        self.source_points = self.spread.points(session)  # the D-points (means or samples) projected
        return plane.project(self.source_points)

    source_points = None
    far_class: int | None = None  # with fading on: the extra class of the points far from the slice
    FAR_SHARE = 0.5  # with fading on, the nearer half of the (visible) points keep their colour
    FAR_COLOUR = "#b8b8b8"

    def _fade_labels(self, session) -> tuple[np.ndarray, list[str]]:
        """The labels to plot by: the session's, or with ``state.fade`` on a D-dim model, the visible points
        farther from the slice than the nearer half relabelled as one extra, faded class."""
        plane = slice_of(self.state, self.slot)
        self.far_class = None
        self._faded_on = plane.plane if self.state.fade else None
        if not self.state.fade or plane.dim <= 2 or self.source_points is None or not len(session.labels):
            return session.labels, list(session.label_names)
        n = len(session.label_names)
        dist = plane.distance(self.source_points)
        hidden = self.state.hidden_classes
        visible = None if not hidden else ~np.isin(session.labels, list(hidden))  # None: all (no O(N) mask)
        shown = dist if visible is None else dist[visible]
        if not len(shown):
            return session.labels, list(session.label_names)
        k = min(len(shown) - 1, int(len(shown) * (1.0 - self.FAR_SHARE)))
        cut = np.partition(shown, k)[k]  # the nearer share's edge (a partition, not a sort: O(N))
        far = dist > cut if visible is None else visible & (dist > cut)
        self.far_class = n
        return np.where(far, n, session.labels), [*session.label_names, "far from the slice"]

    def class_hex(self, k: int) -> str:
        """The colour class ``k`` is drawn in (the faded grey for the far-from-the-slice class)."""
        return self.FAR_COLOUR if k == self.far_class else colour(self.state.palette, k)

    _faded_on = None

    @staticmethod
    def _plane_key(plane) -> tuple:
        """What the projections depend on: u, v and the origin's own plane coordinates (a dims slider
        slides the origin along the other directions: the projections stay)."""
        o = np.asarray(plane.origin)
        return plane.u, plane.v, round(float(o @ np.asarray(plane.u)), 12), round(float(o @ np.asarray(plane.v)), 12)

    _plotted_on: tuple = ()

    def _on_slice(self, *_a) -> None:
        """The main slice changed: re-project if the projections changed (not for a dims slider's move), or
        fade again if the distances did (a dims slider's move with fading on)."""
        plane = slice_of(self.state, self.slot)
        self._label_axes()
        if self.session is None:
            return
        if self._plane_key(plane) != self._plotted_on:
            self.refresh_points(force=True)
        elif self.state.fade and self._faded_on is not plane.plane:  # only the distances changed: the same points
            labels, names = self._fade_labels(self.session)
            self.set_points(self.points_data[0], labels, names)

    def _label_axes(self, font=None) -> None:
        """The axes say what the plane shows: z1, z2 for a 2-D model; PC 1, PC 2 or the two latent axes of a slice."""
        font = font or self.font()
        for name, text in zip(("bottom", "left"), slice_of(self.state, self.slot).axis_names(), strict=True):
            self.plot_item.setLabel(name, text, **{"font-size": f"{font.pointSizeF() * 1.1:.0f}pt"})

    def _on_fade(self, *_a) -> None:
        if self.session is not None and slice_of(self.state, self.slot).dim > 2:
            self.refresh_points(force=True)

    def to_plane(self, points: np.ndarray) -> np.ndarray:
        """The main model's D-points (the interpolation path, bookmarks, the drawn star) -> this plane's
        coordinates: its own projection, or, for a compared model of another dimension, the main plane's
        coordinates of them (where the shared base lands on every plane)."""
        pts = np.asarray(points, np.float64)
        plane, main = slice_of(self.state, self.slot), self.state.slice
        own = plane if plane.dim == pts.shape[-1] else main
        return np.asarray(own.project(pts), np.float32)

    _plotted = None  # the session whose means are on screen

