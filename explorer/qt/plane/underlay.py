"""The manifold underlay: decoded images tiled over the visible plane, under the scatter.

It follows ``state.underlay``, ``state.density`` and ``state.view``. Cells sit on a fixed lattice and
are cached (explorer.core.underlay_cache): after a pan or zoom only the cells not yet decoded are
requested, as ONE batch, once the view has settled (``qdebounced``). When many are missing, a coarse
pass (cells 4x larger, 1/16 of the work) comes first on the "grid-coarse" channel, so something is
on screen at once; the full-density cells replace it when they arrive. Both go to the model service's
bulk lane, after the filmstrip and before any export.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QObject, Signal
from superqt.utils import qdebounced

from explorer.core.decode_service import DecodeResult
from explorer.core.pane import condition_labels
from explorer.core.state import ExplorerState
from explorer.core.underlay_cache import CellCache, Lattice, centre, lattice_for_view
from explorer.qt.bridge import ServiceBridge

DEBOUNCE_MS = 120  # re-render this long after pan / zoom stops changing the view
COARSE_FROM = 64  # missing cells: from this many, a coarse pass is shown first


class Underlay(QObject):
    shown = Signal(object)  # the full-density mosaic is on screen (the DecodeResult that completed it, or None)
    preview_shown = Signal(object)  # the coarse pass is on screen (its DecodeResult, or None from the cache)

    def __init__(self, state: ExplorerState, service: ServiceBridge, view, parent: QObject | None = None):
        super().__init__(parent)
        self.state, self.service, self.view = state, service, view
        self.closed = False
        self.cache = CellCache()
        self.wanted: Lattice | None = None  # the full-density lattice for the current view
        self.on_screen: Lattice | None = None
        ev = state.events
        ev.underlay.connect(self._on_toggle)
        ev.density.connect(lambda *_a: self._settled())
        state.camera.events.view.connect(lambda *_a: self._settled() if state.underlay else None)
        ev.session.connect(lambda *_a: self.cache.clear())  # another model: other images
        ev.condition.connect(self._on_condition)  # a CVAE's class: other images too
        state.slice.events.plane.connect(self._on_slice)  # another slice of a D-dim space: other images
        self.coarse = service.channel("grid-coarse")  # a quick coarser pass while the full lattice decodes
        self.full = service.channel("grid")
        self.coarse.result.connect(self._on_coarse)
        self.full.result.connect(self._on_full)

    def _on_toggle(self, on: bool, _old=None) -> None:
        if on:
            self.request()
        else:
            self.coarse.cancel()
            self.full.cancel()
            self.view.set_underlay(None)
            self.on_screen = None

    def _on_condition(self, *_a) -> None:
        s = self.state.session
        if s is None or not s.conditional:
            return
        self.cache.clear()
        self.coarse.cancel()
        self.full.cancel()
        self.request()

    def _on_slice(self, *_a) -> None:
        self.cache.clear()
        if self.state.underlay:
            self.request()

    @qdebounced(timeout=DEBOUNCE_MS)
    def _settled(self) -> None:
        self.request()

    def request(self) -> int | None:
        """Show the view's cells from the cache, and request the missing ones (None if none is missing)."""
        if self.state.session is None or not self.state.underlay or self.closed:
            return None
        lat = lattice_for_view(*self.view.view_rect(), self.state.density)
        self.wanted = lat
        missing = self.cache.missing(lat)
        if not missing:
            self._show(lat, None)
            return None
        if len(missing) >= COARSE_FROM:
            coarse = lat.coarser()
            need = self.cache.missing(coarse)
            if need:
                self._ask(need, coarse, self.coarse)
            else:
                self._show(coarse, None)
        return self._ask(missing, lat, self.full)

    def _ask(self, keys: list, lat: Lattice, channel) -> int:
        labels = condition_labels(self.state, len(keys))  # a conditional model decodes as the chosen class
        xy = np.array([centre(k) for k in keys], np.float32)
        plane = self.state.slice
        z = xy if plane.is_identity else plane.lift(xy).astype(np.float32)  # the cells of the slice shown, in D
        return channel.request(z, meta=(lat, keys, None if labels is None else labels[0], plane.plane), labels=labels)

    def _on_coarse(self, res: DecodeResult) -> None:
        self._on_result(res, coarse=True)

    def _on_full(self, res: DecodeResult) -> None:
        self._on_result(res, coarse=False)

    def _on_result(self, res: DecodeResult, coarse: bool) -> None:
        lat, keys, label, plane = res.meta
        if (label is not None and label != self.state.condition) or plane is not self.state.slice.plane:
            return  # decoded as a class no longer chosen, or on a slice no longer shown
        self.cache.put(keys, res.images)
        if not self.state.underlay or self.wanted is None:
            return
        if self.cache.missing(self.wanted) == []:
            self._show(self.wanted, res)
        elif coarse and lat == self.wanted.coarser():
            self._show(lat, res)  # the coarse pass, until the full cells arrive

    def _show(self, lat: Lattice, res: DecodeResult | None) -> None:
        mosaic = self.cache.mosaic(lat)
        if mosaic is None:
            return
        g = lat.grid()
        self.view.set_underlay(mosaic, (g.x0, g.y0, g.x1 - g.x0, g.y1 - g.y0))
        self.on_screen = lat
        (self.shown if lat == self.wanted else self.preview_shown).emit(res)
