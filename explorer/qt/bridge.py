"""Qt signals for the Qt-free workers in explorer.core.

The workers call plain callbacks on their own threads; emitting a Qt signal from there queues the
call to the receiving QObject's thread (the GUI thread), which is all the bridging needed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from explorer.core.decode_service import DecodeResult, DecodeService, LatestOnly
from explorer.core.jobs import Job


class DecodeBridge(QObject):
    """Owns one DecodeService; emits ``shown(result)`` only for results newer than the last shown."""

    result = Signal(object)  # DecodeResult, already filtered: never stale
    failed = Signal(object)  # DecodeFailure

    def __init__(self, parent: QObject | None = None, *, threads: int = 1, name: str = "decode-worker") -> None:
        super().__init__(parent)
        self._latest = LatestOnly()
        self._raw_result = _Relay(self)
        self._raw_result.sig.connect(self._on_result)
        self._raw_error = _Relay(self)
        self._raw_error.sig.connect(self.failed.emit)
        self.service = DecodeService(on_result=self._raw_result.sig.emit, on_error=self._raw_error.sig.emit,
                                     threads=threads, name=name)
        self.dropped = 0  # stale results that arrived after a newer one was shown

    def set_decoder(self, fn: Callable | None) -> None:
        self.service.set_decoder(fn)

    def request(self, z: Any, channel: str = "point", meta: Any = None, labels: Any = None) -> int:
        return self.service.request(z, channel=channel, meta=meta, labels=labels)

    def _on_result(self, res: DecodeResult) -> None:
        if self._latest.accept(res.channel, res.id):
            self.result.emit(res)
        else:
            self.dropped += 1

    def close(self) -> None:
        self.service.close()


class _Relay(QObject):
    sig = Signal(object)


class JobBridge(QObject):
    """A :class:`Job` whose callbacks arrive on the GUI thread as signals."""

    progress = Signal(str, int, int)  # stage, done, total
    done = Signal(object)
    error = Signal(str)
    cancelled = Signal()

    def __init__(self, fn: Callable, parent: QObject | None = None, *, threads: int = 2, name: str = "job") -> None:
        super().__init__(parent)
        self.job = Job(fn, on_progress=self.progress.emit, on_done=self.done.emit, on_error=self.error.emit,
                       on_cancelled=self.cancelled.emit, threads=threads, name=name)

    def start(self) -> JobBridge:
        self.job.start()
        return self

    def cancel_and_join(self, timeout: float = 10.0) -> bool:
        self.job.cancel()
        return self.job.join(timeout)

    @property
    def running(self) -> bool:
        return self.job.running

    @property
    def finished(self) -> bool:
        return self.job.finished
