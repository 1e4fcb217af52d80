"""Every decode pane, Qt-free: :class:`Panes`, one :class:`~explorer.core.pane.PaneController` per open
session (``state.sessions``: the main model, then the compared ones), each on its own model-service
channel.

What pane ``i`` shows is one record, its controller's ``last`` (:class:`~explorer.core.pane.Shown`);
:meth:`Panes.shown` reads it, and the widgets (the decode pane, the compare row, the planes' markers)
render it without keeping a copy. The controllers are made here, once per slot, and kept: psygnal holds
weak references, so nothing has to be disconnected. The Qt planes make a view for each (``added``).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from psygnal import Signal

from explorer.core.pane import PaneController, PaneTarget, Shown
from explorer.core.state import ExplorerState


class Panes:
    """The panes of the open sessions. ``open_channel(slot)`` gives pane ``slot``'s channel (an
    :class:`~explorer.core.channel.Channel`, or the GUI's wrapper of one, explorer.qt.bridge.QtChannel):
    its ``result`` must reach :meth:`PaneController.accept` on the thread that owns the views."""

    added = Signal(object)  # PaneController: a new slot's (its views are made now, before its first request)

    def __init__(self, state: ExplorerState, open_channel: Callable[[int], Any]) -> None:
        self.state = state
        self._open = open_channel
        self.controllers: list[PaneController] = []
        self.channels: list[Any] = []
        self._ensure(1)
        state.events.compared.connect(self._on_sessions)
        state.events.session.connect(self._on_sessions)

    def __len__(self) -> int:
        """Panes in use: one per open session (at least the main one)."""
        return max(1, len(self.state.sessions))

    def __getitem__(self, slot: int) -> PaneController:
        return self.controllers[slot]

    def shown(self, slot: int = 0) -> Shown | None:
        """What pane ``slot`` displays (None before its first image, or if there is no such pane)."""
        return self.controllers[slot].last if 0 <= slot < len(self.controllers) else None

    @property
    def idle(self) -> bool:
        """Every pane in use shows what it last asked for."""
        return all(c.idle for c in self.controllers[: len(self)])

    def _ensure(self, n: int) -> None:
        while len(self.controllers) < n:
            slot = len(self.controllers)
            ch = self._open(slot)
            ctl = PaneController(self.state, partial(self._submit, slot), slot=slot, settle=partial(self._settle, slot))
            ch.result.connect(ctl.accept)
            self.channels.append(ch)
            self.controllers.append(ctl)
            self.added.emit(ctl)

    def _on_sessions(self, *_a: Any) -> None:
        made = len(self.controllers)
        self._ensure(len(self))
        for ctl in self.controllers[made:len(self)]:  # made after the change: they missed it
            ctl.update()

    def _submit(self, slot: int, zs: Any, tgt: PaneTarget) -> int:
        """Pane ``slot``'s request: its channel, its model (a compared one, a snapshot) and its class."""
        other = tgt.session if tgt.session is not self.state.session else None  # None: the service's own model
        return self.channels[slot].request(zs, meta=tgt, labels=tgt.labels(len(zs)), model=other)

    def _settle(self, slot: int, request_id: int, tgt: PaneTarget) -> None:
        """A click: let an idle worker finish the main pane's decode first (PaneTarget.head_start)."""
        self.channels[slot].settle(request_id, tgt.head_start)
