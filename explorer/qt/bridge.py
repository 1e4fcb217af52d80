"""Qt signals for the Qt-free model service in explorer.core.

The service calls plain callbacks on its worker threads. They emit this QObject's signals; the
receivers live on the GUI thread, so Qt queues those calls to the GUI thread. No relay object is
needed. Results are filtered here to *latest only per channel*. The main pane's channel ("pane") is
judged again by the pane controller, which also drops anything older than what the pane shows.

On the interactive channels (``SUPERSEDED_ON_DELIVERY``: the panes and the class row), a result is
also dropped when a newer one of its channel was already posted by the worker: the newer one is
queued behind it and would replace it before the next repaint, so handling the older one (image,
caption, nearest image, marker) would be work nobody sees. During a fast drag that is a whole
result's handling saved in each event-loop turn that finds two.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from explorer.core.decode_service import DecodeResult, LatestOnly
from explorer.core.model_service import ModelService

SUPERSEDED_ON_DELIVERY = ("pane", "classes")  # channels (and "pane:i") whose newest result makes older ones moot


def _latest_wins(channel: str) -> bool:
    return channel in SUPERSEDED_ON_DELIVERY or channel.startswith("pane:")


class ServiceBridge(QObject):
    """Owns the :class:`ModelService`; ``result`` carries only results newer than the last of their channel."""

    result = Signal(object)  # DecodeResult, never older than the last one of its channel
    failed = Signal(object)  # DecodeFailure
    _raw = Signal(object)  # emitted on a worker thread, delivered on the GUI thread (bound-method receivers)
    _raw_failed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._latest = LatestOnly()
        self._raw.connect(self._on_result)
        self._raw_failed.connect(self._on_failed)
        self._posted: dict[str, int] = {}  # channel -> newest result id the worker posted (written on workers)
        self.service = ModelService(on_result=self._post, on_error=self._raw_failed.emit)
        self.dropped = 0  # stale results that arrived after a newer one was shown
        self.superseded = 0  # results dropped because a newer one of their channel was already queued

    def set_model(self, model: Any, decode_fn: Any = None, encode_fn: Any = None, *,
                  encoder_pending: bool = False) -> None:
        self.service.set_model(model, decode_fn, encode_fn, encoder_pending=encoder_pending)

    def upgrade(self, model: Any, decode_fn: Any, encode_fn: Any) -> None:
        self.service.upgrade(model, decode_fn, encode_fn)

    def encoder_failed(self, message: str) -> None:
        self.service.encoder_failed(message)

    def request(self, z: Any, channel: str, meta: Any = None, labels: Any = None, model: Any = None) -> int:
        return self.service.request(z, channel, meta=meta, labels=labels, model=model)

    def settle(self, request_id: int, channel: str, timeout: float) -> bool:
        """Wait (at most ``timeout`` s) for an idle worker to report ``request_id``: its result is then
        queued before the GUI thread's next repaint (ModelService.settle)."""
        return self.service.settle(request_id, channel, timeout)

    def encode(self, images: Any, meta: Any = None) -> int:
        return self.service.encode(images, meta=meta)

    def _post(self, res: DecodeResult) -> None:
        """On a worker thread: note the newest result of the channel, then queue it to the GUI thread."""
        if res.id > self._posted.get(res.channel, 0):
            self._posted[res.channel] = res.id
        self._raw.emit(res)

    def _on_result(self, res: DecodeResult) -> None:
        if _latest_wins(res.channel) and res.id < self._posted.get(res.channel, 0):
            self.superseded += 1  # a newer result of this channel is queued behind this one
            return
        if self._latest.accept(res.channel, res.id):
            self.result.emit(res)
        else:
            self.dropped += 1

    def _on_failed(self, failure: Any) -> None:
        self.failed.emit(failure)

    def close(self) -> None:
        self.service.close()
