"""A consumer's own handle on the model service: :class:`Channel`. Qt-free.

Each consumer of the model (pane i, the class row, the draw panel's encode, the filmstrip, the
underlay's grid and its coarse pass, the export) asks :meth:`ModelService.channel` for one. A channel
has its own latest-only slot on its lane, its own priority there, and its own ``result`` and
``failed`` signals (psygnal, emitted on the lane's worker thread): no consumer ever sees another's
results, and nobody compares channel names. ``explorer/qt/bridge.py`` re-emits a channel's signals on
the GUI thread (one tiny QObject per channel).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from psygnal import Signal

if TYPE_CHECKING:
    from explorer.core.decode_service import DecodeFailure, DecodeResult, DecodeService


class Channel:
    """One consumer's requests to the model service: ``request`` (decode), ``encode``, ``cancel``.

    ``result`` carries this channel's :class:`~explorer.core.decode_service.DecodeResult` s and
    ``failed`` its :class:`~explorer.core.decode_service.DecodeFailure` s, on the worker thread.
    :meth:`fresh` is the delivery filter (latest only; for ``latest_wins`` channels also "superseded
    on delivery") that whoever moves results to another thread calls there."""

    result = Signal(object)
    failed = Signal(object)

    def __init__(self, name: str, lane: DecodeService, rank: int, latest_wins: bool = False) -> None:
        self.name = name  # the slot's key on its lane (unique per service); never parsed
        self._lane = lane
        self.rank = rank  # lower runs first on its lane
        self.latest_wins = latest_wins  # a result is moot once a newer one of this channel was posted
        self.posted = 0  # newest result id the worker posted (written on the worker thread)
        self.accepted = 0  # newest result id let through by fresh()
        self.dropped = 0  # results older than one already let through
        self.superseded = 0  # results dropped because a newer one was already posted

    def request(self, z: Any, *, labels: Any = None, meta: Any = None, model: Any = None) -> int:
        """Decode the points ``z`` (N, 2); returns the request id at once.

        ``labels``: the classes a conditional model decodes with (None: its default class).
        ``model``: a session (explorer.core.session.Session) whose own decoder runs instead of the
        service's model (a compared model, a training snapshot)."""
        fns = None
        if model is not None:
            fns = model.fns
            if fns is None:
                raise ValueError(f"{model.model_path.name}: its model was not prepared (Session.prepare) before decoding")
        return self._lane.request(z, channel=self.name, labels=labels, meta=meta, fns=fns, rank=self.rank, sink=self)

    def encode(self, images: Any, *, meta: Any = None) -> int:
        """Encode images (N, C, H, W): the result's ``z`` holds their means, ``images`` their reconstructions."""
        return self._lane.request(images, channel=self.name, meta=meta, op="encode", rank=self.rank, sink=self)

    def run(self, job: Any, *, meta: Any = None) -> int:
        """Run the generator ``job`` on this channel's lane with the lane's threads, one step (``next``)
        per turn: between steps, work of a higher rank runs first, and a newer request or :meth:`cancel`
        ends it. A long encode (explorer.core.spread.logvar_job) yields between its batches. The
        result's ``value`` is what the generator returned; what it raises comes as ``failed``."""
        return self._lane.request(np.zeros((0, 2), np.float32), channel=self.name, meta=meta, op="job",
                                  rank=self.rank, sink=self, job=job)

    def settle(self, request_id: int, timeout: float) -> bool:
        """Let an idle lane finish ``request_id`` first (:meth:`DecodeService.settle`)."""
        return self._lane.settle(request_id, timeout)

    def cancel(self) -> None:
        """Drop this channel's pending request, and stop a running job at its next check."""
        self._lane.cancel(self.name)

    def post(self, res: DecodeResult) -> None:
        """On the worker thread: note the newest id, then emit ``result``."""
        if res.id > self.posted:
            self.posted = res.id
        self.result.emit(res)

    def fail(self, failure: DecodeFailure) -> None:
        """On the worker thread: emit ``failed``."""
        self.failed.emit(failure)

    def fresh(self, res: DecodeResult) -> bool:
        """On the receiving thread: True if ``res`` should be handled (and it is then the newest handled)."""
        if self.latest_wins and res.id < self.posted:
            self.superseded += 1  # a newer result of this channel is queued behind this one
            return False
        if res.id <= self.accepted:
            self.dropped += 1
            return False
        self.accepted = res.id
        return True
