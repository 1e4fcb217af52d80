"""A model worker: one thread that runs a model's decode (and encode) for queued requests.

Qt-free (plain ``threading``) so it can be tested and benchmarked without a GUI. The app never uses
it directly: :class:`explorer.core.model_service.ModelService` owns the model and runs two of these
lanes (interactive, bulk). The GUI side turns the callbacks into Qt signals (``explorer/qt/bridge.py``).

Why a hand-written worker and not superqt's ``create_worker``: what it needs is *latest-only*
scheduling. Each channel keeps a single pending slot that a newer request overwrites, and channels
are served in priority order; a generic worker/thread-pool runs every submitted job in FIFO order,
so a drag would build a queue of stale decodes.

- ``request(z)`` returns an increasing id at once; it never blocks on torch.
- Each *channel* ("point", "interp", "grid", ...) has a single pending slot: a newer request
  replaces an older one that has not started, so dragging at any speed never builds a queue and
  the newest position is always the one decoded next.
- Results carry their id; consumers drop any result older than the newest they have shown
  (:class:`LatestOnly`), so the pane is never stale.
- Exceptions in the worker are caught and reported through ``on_error``; the worker keeps running.
- ``close()`` cancels what is pending, stops the thread and joins it.
"""

from __future__ import annotations

import itertools
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from explorer.core import torch_gate

_ids = itertools.count(1)  # process-wide, so ids from different services never collide


@dataclass
class DecodeRequest:
    id: int
    channel: str
    z: np.ndarray  # (N, D) float32
    labels: np.ndarray | None = None  # (N,) for conditional models
    meta: Any = None  # passed back untouched (e.g. the view rect a grid was made for)
    posted: float = field(default_factory=time.perf_counter)
    op: str = "decode"  # "decode": z (N, D) -> images; "encode": images (N, C, H, W) -> means + reconstructions
    fns: tuple[Callable, Callable] | None = None  # (decode_fn, encode_fn) of another model; None: the service's own
    rank: int = 0  # lower runs first (the channel's priority on its lane)
    sink: Any = None  # the channel (explorer.core.channel.Channel): its post(result) / fail(failure) get the outcome
    job: Any = None  # op "job": a generator run one step per turn of the lane (DecodeService.request)
    stopped: bool = False  # op "job": cancelled while a step ran; it is not put back


@dataclass
class DecodeResult:
    id: int
    channel: str
    z: np.ndarray  # (N, D): the points decoded (for "encode": the means of the images)
    images: np.ndarray  # (N, H, W) or (N, H, W, 3), float32 in [0, 1], row-major (for "encode": reconstructions)
    meta: Any
    posted: float  # perf_counter when requested
    seconds: float  # time spent decoding
    value: Any = None  # op "job": what the job returned


@dataclass
class DecodeFailure:
    id: int
    channel: str
    message: str
    meta: Any = None
    error: Exception | None = None  # what was raised


class LatestOnly:
    """Per-channel filter: accept a result only if it is newer than the last one accepted."""

    def __init__(self) -> None:
        self._shown: dict[str, int] = {}

    def accept(self, channel: str, id: int) -> bool:
        if id <= self._shown.get(channel, 0):
            return False
        self._shown[channel] = id
        return True


def to_display(x: np.ndarray) -> np.ndarray:
    """(N, C, H, W) in [0, 1] -> row-major (N, H, W) for grey or (N, H, W, 3) for colour, float32."""
    x = np.clip(np.asarray(x, np.float32), 0.0, 1.0)
    if x.shape[1] == 1:
        return np.ascontiguousarray(x[:, 0])
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1))


class DecodeService:
    """One worker thread that owns a model; single pending slot per channel.

    ``decode_fn(z, labels) -> images (N, C, H, W)`` does the work on the worker thread; by default
    it is built from a model with :func:`explorer.core.torch_fns.torch_decoder`. ``on_result`` / ``on_error`` are called on
    the worker thread; the Qt bridge forwards them to the GUI thread as queued signals.
    """

    def __init__(
        self,
        decode_fn: Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None = None,
        *,
        on_result: Callable[[DecodeResult], None] | None = None,
        on_error: Callable[[DecodeFailure], None] | None = None,
        threads: int = 1,
        priority: tuple[str, ...] = ("point", "interp", "vector"),
        name: str = "decode-worker",
        chunked: Callable | None = None,  # chunked(fn, z, labels): a big decode over threads (chunked_decode.py)
    ) -> None:
        self._decode_fn = decode_fn
        self._chunked = chunked
        self._encode_fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None
        self.on_result = on_result
        self.on_error = on_error
        self._threads = threads
        self._priority = priority
        self._cond = threading.Condition()
        self._pending: dict[str, DecodeRequest] = {}
        self._stopping = False
        self.decoded = 0  # requests actually decoded (for tests and benchmarks)
        self.replaced = 0  # requests overwritten before they started
        self.failed = 0  # requests that raised (reported through on_error; the worker went on)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ GUI-thread side (cheap)

    def set_decoder(self, decode_fn: Callable[[np.ndarray, np.ndarray | None], np.ndarray] | None,
                    encode_fn: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None, *,
                    same_model: bool = False, encoder_pending: bool = False) -> None:
        """Swap the model; pending requests made for the old one are dropped.

        ``same_model``: the same model's other functions (the torch ones replacing a numpy decoder,
        explorer.core.light_open.open_light): pending requests stay. ``encoder_pending``: there is no
        ``encode_fn`` yet but one is coming; encode requests wait (in their slot) until it comes."""
        with self._cond:
            self._decode_fn = decode_fn
            self._encode_fn = encode_fn
            self._encoder_pending = encoder_pending and encode_fn is None
            if not same_model:
                for ch in [ch for ch, r in self._pending.items() if r.fns is None]:  # made for the old model
                    del self._pending[ch]
            self._cond.notify_all()  # waiting encodes may run now

    def request(self, z: Any, *, channel: str = "point", labels: Any = None, meta: Any = None,
                op: str = "decode", fns: tuple[Callable, Callable] | None = None, rank: int | None = None,
                sink: Any = None, job: Any = None) -> int:
        """Queue ``z`` (or, for ``op="encode"``, images) on ``channel``; returns the request id at once.

        ``fns``: the (decode_fn, encode_fn) pair of another model to run instead of the service's own
        (a compared model, a training snapshot); that request is then not dropped by :meth:`set_decoder`.
        ``rank``: its priority (lower first; default: the channel's place in ``priority``). ``sink``: an
        object whose ``post(result)`` / ``fail(failure)`` receive the outcome (after ``on_result`` /
        ``on_error``), on this worker thread. ``op="job"``: run the generator ``job`` one step (one
        ``next``) per turn, back in its slot between steps, so work of a higher rank goes first and a
        newer request or :meth:`cancel` ends it between steps; its return value is the result's ``value``."""
        # copies (np.array, not asarray): the caller may reuse its buffer before the worker reads it
        z = np.array(z, dtype=np.float32, ndmin=2)
        if rank is None:
            rank = self._priority.index(channel) if channel in self._priority else len(self._priority)
        req = DecodeRequest(next(_ids), channel, z, None if labels is None else np.array(labels), meta, op=op,
                            fns=fns, rank=rank, sink=sink, job=job)
        with self._cond:
            if self._stopping:
                return req.id
            if not self._runnable() and not self._busy and not self._waits(req):
                self._idle_request = req.id  # the worker starts on it at once
            if channel in self._pending:
                self.replaced += 1
            self._pending[channel] = req
            self._cond.notify()
        return req.id

    def settle(self, request_id: int, timeout: float) -> bool:
        """Wait up to ``timeout`` s (the GIL released) until the worker has reported ``request_id``, if
        that request found the worker idle; True if it has been reported.

        A click's main pane uses it (explorer.core.pane.PaneController): the result is then queued before
        the GUI thread goes back to its event loop, where a result is handled before a repaint (a
        repaint is a low-priority event), so the image is not queued behind the marker's repaint. A
        request that had to wait for the worker never settles: that would only stall the GUI."""
        with self._cond:
            if request_id != self._idle_request:
                return self._last_done >= request_id
            end = time.monotonic() + timeout
            while self._last_done < request_id and not self._stopping:
                left = end - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            return self._last_done >= request_id

    def cancel(self, channel: str | None = None) -> None:
        with self._cond:
            if channel is None:
                self._pending.clear()
            else:
                self._pending.pop(channel, None)
            if self._running is not None and (channel is None or self._running.channel == channel):
                self._running.stopped = True  # a job's step: it is not put back

    def pending(self) -> int:
        with self._cond:
            return len(self._pending)

    def wait_idle(self, timeout: float = 5.0) -> bool:
        """Block until nothing is pending or running (tests and benchmarks only)."""
        end = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def close(self, timeout: float = 10.0) -> None:
        with self._cond:
            self._stopping = True
            self._pending.clear()
            self._cond.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # ------------------------------------------------------------------ worker side

    _busy = False
    _running: DecodeRequest | None = None
    _encoder_pending = False  # encode requests wait for the encoder (set_decoder(encoder_pending=True))
    _last_done = 0  # id of the last request the worker finished (result or error reported)
    _idle_request = 0  # id of the last request queued while the worker was idle

    def _waits(self, req: DecodeRequest) -> bool:
        """An encode for this service's own model while its encoder is still loading: it stays pending."""
        return self._encoder_pending and req.op == "encode" and req.fns is None

    def _runnable(self) -> list[DecodeRequest]:
        return [r for r in self._pending.values() if not self._waits(r)]

    def _take(self) -> DecodeRequest | None:
        with self._cond:
            while not self._runnable() and not self._stopping:
                self._cond.wait()
            if self._stopping:
                return None
            # by the channels' ranks (panes before the class row before encodes ...), oldest first within a rank
            req = min(self._runnable(), key=lambda r: (r.rank, r.id))
            del self._pending[req.channel]
            self._busy = True
            self._running = req
            return req

    def _set_threads(self) -> None:
        """OpenMP thread count for this worker thread (torch keeps one per thread that sets it).

        Done before a decode, once torch has been imported (by the open worker): importing torch here
        while the window is being built would hold the GIL and delay the first paint by seconds, and a
        torch still being imported on another thread must not be touched (explorer.core.torch_gate).
        """
        torch = torch_gate.loaded()
        if torch is not None:
            torch.set_num_threads(self._threads)
            self._threads_set = True

    _threads_set = False

    def _run(self) -> None:
        """The worker loop. It never ends but by ``close()``: whatever one request raises (the decode, the
        thread setup, a result callback) is reported for that request, which is dropped, and the loop goes on."""
        while True:
            req = self._take()
            if req is None:
                return
            try:
                self._serve(req)
            except Exception as e:  # noqa: BLE001 - the worker reports every failure and lives on
                self._report(req, e)
            finally:
                with self._cond:
                    self._busy = False
                    self._running = None
                    self._last_done = req.id
                    self._cond.notify_all()

    def _serve(self, req: DecodeRequest) -> None:
        if not self._threads_set:
            self._set_threads()
        fn, enc = req.fns if req.fns is not None else (self._decode_fn, self._encode_fn)
        t0 = time.perf_counter()
        if req.op == "job":
            self._step(req)
            return
        if req.op == "encode":
            if enc is None:
                raise RuntimeError("no model is loaded")
            z, recon = enc(req.z)
            z, images = np.asarray(z, np.float32), to_display(recon)
        else:
            if fn is None:
                raise RuntimeError("no model is loaded")
            z = req.z
            images = to_display(fn(z, req.labels) if self._chunked is None else self._chunked(fn, z, req.labels))
        res = DecodeResult(req.id, req.channel, z, images, req.meta, req.posted, time.perf_counter() - t0)
        self.decoded += 1
        if self.on_result is not None:
            self.on_result(res)
        if req.sink is not None:
            req.sink.post(res)

    def _step(self, req: DecodeRequest) -> None:
        """One step of a job; then back in its slot, unless cancelled or replaced meanwhile."""
        t0 = time.perf_counter()
        try:
            next(req.job)
        except StopIteration as done:
            res = DecodeResult(req.id, req.channel, req.z, req.z, req.meta, req.posted, time.perf_counter() - t0,
                               done.value)
            if req.sink is not None:
                req.sink.post(res)
            return
        with self._cond:
            if not req.stopped and req.channel not in self._pending and not self._stopping:
                self._pending[req.channel] = req
                return
        req.job.close()

    def _report(self, req: DecodeRequest, e: Exception) -> None:
        self.failed += 1
        msg = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        failure = DecodeFailure(req.id, req.channel, msg, req.meta, e)
        try:
            if self.on_error is not None:
                self.on_error(failure)
            if req.sink is not None:
                req.sink.fail(failure)
        except Exception:  # noqa: BLE001 - a broken error callback must not end the worker either
            traceback.print_exc()
