"""A plane's visible range and ``state.view``, both ways.

The main plane always follows ``state.view`` and writes its pans and zooms into it. A compared plane
does the same while ``state.link_views`` is on; unlinked, it keeps the range its user gave it (or
frames its own points). :meth:`ViewSync.frame` is "Reset view" and the first view: every point but a
handful of extreme outliers (explorer.core.framing.frame_box), and for linked planes every model's.
"""

from __future__ import annotations

from explorer.core.framing import frame_box, union
from explorer.core.pane import slice_of
from explorer.core.state import ExplorerState


class ViewSync:
    def __init__(self, view, state: ExplorerState) -> None:
        self.view, self.state = view, state
        self.own_view: tuple | None = None  # an unlinked plane's range, once its user has panned or zoomed it
        self._setting = False  # writing one side from the other: do not echo it back
        view.vb.sigRangeChanged.connect(self._on_range)
        state.camera.events.view.connect(self.follow)
        state.camera.events.link_views.connect(self._on_link)

    @property
    def linked(self) -> bool:
        """The main plane always follows ``state.view``; a compared one while the views are linked."""
        return self.view.slot == 0 or self.state.link_views

    def place_new_points(self) -> None:
        """New points were plotted: keep the shared view (linked) or the user's own (unlinked), else frame them."""
        if not self.linked:
            if self.own_view is None:
                self.frame()
        elif self.state.view is None:
            self.frame()
        else:
            self.follow(self.state.view)

    def frame(self) -> None:
        v = self.view
        s = v.session
        if s is not None and s.means is not None and len(s.means):
            shown = [(v.slot, s)] + (list(enumerate(self.state.compared, 1)) if self.linked and v.slot == 0 else [])
            # the plotted plane coordinates: a D-dim model's means are (N, D), its plane shows their projections
            box = union(self._box(k, x) for k, x in shown if x.means is not None)
            if box is not None:
                v.vb.setRange(xRange=box[:2], yRange=box[2:], padding=0)
                return
        v.vb.autoRange()

    def _box(self, slot: int, session) -> tuple | None:
        """The frame of a session's plotted points: the box the open worker worked out for 2-D means shown as
        they are (``Session.frame``), else ``frame_box`` of their plane coordinates now."""
        xy = slice_of(self.state, slot).project(session.means)
        if xy is session.means and getattr(session, "frame", None) is not None:
            return session.frame
        return frame_box(xy, session.labels)

    def _on_range(self, *_a) -> None:
        if self._setting or self.state.session is None:  # no plane yet: a resize's default range is not a view
            return
        if not self.linked:
            self.own_view = self.view.view_rect()
            return
        self._write(self.view.view_rect())

    def follow(self, view, _old=None) -> None:
        """Show ``state.view`` (linked planes only)."""
        if view is None or self._setting or not self.linked:
            return
        self._setting = True
        try:
            x0, x1, y0, y1 = view
            self.view.vb.setRange(xRange=(x0, x1), yRange=(y0, y1), padding=0)
        finally:
            self._setting = False
        rect = self.view.view_rect()
        if rect != tuple(view) and self.view.slot == 0:  # the locked aspect widened one range: the state holds what is visible
            self._write(rect)

    def _write(self, rect: tuple) -> None:
        self._setting = True
        try:
            self.state.view = rect
        finally:
            self._setting = False

    def _on_link(self, on: bool, _old=None) -> None:
        """Linked again: follow the main plane. Unlinked: frame this plane's own points."""
        if self.view.slot == 0:
            return
        if on and self.state.view is not None:
            self.follow(self.state.view)
        elif not on:
            self.own_view = None
            self.frame()
