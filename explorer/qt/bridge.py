"""Qt signals for the Qt-free model service in explorer.core.

Each consumer holds its own :class:`QtChannel`: a core :class:`~explorer.core.channel.Channel` whose
``result`` (emitted on a worker thread) is re-emitted on the GUI thread. The core channel's psygnal
signal calls this QObject's ``_raw.emit`` on the worker; the receiver lives on the GUI thread, so Qt
queues it there. No consumer sees another's results, and none compares channel names.

Delivery filters each channel's results (:meth:`Channel.fresh`): latest only, and on the interactive
channels (the panes and the class row) also *superseded on delivery*: a result is dropped when a newer
one of its channel was already posted by the worker. The newer one is queued behind it and would
replace it before the next repaint, so handling the older one (image, caption, nearest image, marker)
would be work nobody sees. During a fast drag that is a whole result's handling saved in each
event-loop turn that finds two.

Why a QObject per channel rather than psygnal's ``connect(thread=...)``: psygnal queues such calls
until the receiving thread calls ``psygnal.emit_queued()``, which the GUI thread would have to poll
(a timer: latency or wasted wake-ups); Qt's queued connection wakes the event loop at once, as before.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from explorer.core.channel import Channel
from explorer.core.model_service import ModelService


class QtChannel(QObject):
    """A :class:`Channel` whose ``result`` / ``failed`` arrive on the GUI thread (``result`` never older
    than the last one delivered, nor superseded for a latest-wins channel)."""

    result = Signal(object)  # DecodeResult
    failed = Signal(object)  # DecodeFailure
    _raw = Signal(object)  # emitted on a worker thread, delivered on the GUI thread
    _raw_failed = Signal(object)

    def __init__(self, core: Channel, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.core = core
        self._raw.connect(self._on_result)
        self._raw_failed.connect(self.failed.emit)
        core.result.connect(self._raw.emit)
        core.failed.connect(self._raw_failed.emit)
        # the core channel's calls, unwrapped (no extra Python hop on the click path)
        self.request, self.encode, self.run = core.request, core.encode, core.run
        self.settle, self.cancel = core.settle, core.cancel

    def _on_result(self, res: Any) -> None:
        if self.core.fresh(res):
            self.result.emit(res)


class ServiceBridge(QObject):
    """Owns the :class:`ModelService` and hands out :class:`QtChannel` s; ``failed`` tells of every failure."""

    failed = Signal(object)  # DecodeFailure, of any channel (the window shows it)
    _raw_failed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._raw_failed.connect(self.failed.emit)
        self.service = ModelService(on_error=self._raw_failed.emit)
        self._channels: dict[tuple[str, int], QtChannel] = {}

    def channel(self, kind: str, slot: int = 0) -> QtChannel:
        """Consumer ``kind``'s own channel (``slot``: which pane); the same one when asked again."""
        ch = self._channels.get((kind, slot))
        if ch is None:
            ch = self._channels[(kind, slot)] = QtChannel(self.service.channel(kind, slot), self)
        return ch

    def set_model(self, model: Any, decode_fn: Any = None, encode_fn: Any = None, *,
                  encoder_pending: bool = False) -> None:
        self.service.set_model(model, decode_fn, encode_fn, encoder_pending=encoder_pending)

    def upgrade(self, model: Any, decode_fn: Any, encode_fn: Any) -> None:
        self.service.upgrade(model, decode_fn, encode_fn)

    def encoder_failed(self, message: str) -> None:
        self.service.encoder_failed(message)

    @property
    def superseded(self) -> int:
        """Results dropped on delivery because a newer one of their channel was already queued."""
        return sum(c.core.superseded for c in self._channels.values())

    @property
    def dropped(self) -> int:
        return sum(c.core.dropped for c in self._channels.values())

    def close(self) -> None:
        self.service.close()
