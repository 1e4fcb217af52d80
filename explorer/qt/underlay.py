"""The manifold underlay: decoded images tiled over the visible plane, under the scatter.

It follows ``state.underlay``, ``state.density`` and ``state.view``. A pan or zoom re-renders it
once the view has settled (``qdebounced``), as ONE batched "grid" request to the model service.
The bulk lane runs that request after the filmstrip and before any export.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, Signal
from superqt.utils import qdebounced

from explorer.core import latent
from explorer.core.decode_service import DecodeResult
from explorer.core.state import ExplorerState
from explorer.qt.bridge import ServiceBridge

DEBOUNCE_MS = 120  # re-render this long after pan / zoom stops changing the view


class Underlay(QObject):
    shown = Signal(object)  # DecodeResult of the grid now on screen

    def __init__(self, state: ExplorerState, service: ServiceBridge, view, parent: QObject | None = None):
        super().__init__(parent)
        self.state, self.service, self.view = state, service, view
        self.closed = False
        ev = state.events
        ev.underlay.connect(self._on_toggle)
        ev.density.connect(lambda *_a: self._settled())
        ev.view.connect(lambda *_a: self._settled() if state.underlay else None)
        service.result.connect(self._on_result)

    def _on_toggle(self, on: bool, _old=None) -> None:
        if on:
            self.request()
        else:
            self.service.service.cancel("grid")
            self.view.set_underlay(None)

    @qdebounced(timeout=DEBOUNCE_MS)
    def _settled(self) -> None:
        self.request()

    def request(self) -> int | None:
        """Decode a grid over the visible view (if the underlay is on and a model is open)."""
        if self.state.session is None or not self.state.underlay or self.closed:
            return None
        grid = latent.grid_for_view(*self.view.view_rect(), self.state.density)
        return self.service.request(grid.centres(), "grid", meta=grid)

    def _on_result(self, res: DecodeResult) -> None:
        if res.channel != "grid" or not self.state.underlay:
            return
        g: latent.Grid = res.meta
        self.view.set_underlay(latent.tile(res.images, g), (g.x0, g.y0, g.x1 - g.x0, g.y1 - g.y0))
        self.shown.emit(res)
