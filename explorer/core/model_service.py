"""The one owner of the open model. Every use of it goes through here. Qt-free.

That covers the pane's decodes, the encoding of a drawn or dropped image, the filmstrip, the
manifold grid, and the frames of a GIF export.

Two lanes (:class:`~explorer.core.decode_service.DecodeService` worker threads) share the model.
It is read-only, under ``torch.inference_mode``:

- **interactive** (1 OpenMP thread): ``pane`` before ``encode``. A click never waits behind bulk
  work.
- **bulk**: ``filmstrip`` before ``grid-coarse`` before ``grid`` before ``export``. A batch of
  ``CHUNKED_FROM`` z or more is decoded in chunks by two threads with one torch thread each (the
  lane's own and a helper: explorer/core/chunked_decode.py); a smaller one by
  the lane's thread alone.

Each consumer asks :meth:`ModelService.channel` for its own :class:`~explorer.core.channel.Channel`:
a single pending slot (a newer request replaces an older one that has not started), a rank on its
lane, and its own result signal. ``set_model`` lays the new model out (channels_last) on the caller's thread *before* either
lane can see it. After that, nothing changes the model's layout or weights. The old model keeps
running any decode already started, and its result is dropped by id. Loading a model (and encoding
the dataset) happens on the open job's thread, before the model is handed over here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from explorer.core.channel import Channel
from explorer.core.chunked_decode import GRID_WORKERS, ChunkedDecoder
from explorer.core.decode_service import DecodeFailure, DecodeService
from explorer.core.torch_fns import prepare_model, torch_decoder, torch_encoder

LANES: dict[str, tuple[tuple[str, ...], int]] = {  # lane -> (kinds of channel in priority order, OpenMP threads)
    "interactive": (("pane", "classes", "encode"), 1),
    "bulk": (("filmstrip", "grid-coarse", "grid", "export", "compare", "spread", "snapshots"), 1),  # + a helper thread for big batches
}
CHUNKED_LANES = ("bulk",)  # lanes whose big decodes are split over GRID_WORKERS threads
LATEST_WINS = ("pane", "classes")  # kinds whose newest result makes older ones moot (superseded on delivery)


class ModelService:
    def __init__(self, on_error: Callable[[DecodeFailure], None] | None = None) -> None:
        """``on_error``: also told of every failure (the window shows them); each channel gets its own."""
        self.model: Any = None
        self._decode_fn: Callable | None = None
        self._lanes: dict[str, DecodeService] = {}
        self._kinds: dict[str, tuple[DecodeService, int]] = {}  # kind -> (its lane, its rank there)
        self._channels: dict[str, Channel] = {}
        self._chunked = {lane: ChunkedDecoder(GRID_WORKERS, name=f"model-{lane}-helper") for lane in CHUNKED_LANES}
        for lane, (kinds, threads) in LANES.items():
            svc = DecodeService(on_error=on_error, threads=threads, priority=kinds,
                                name=f"model-{lane}", chunked=self._chunked.get(lane))
            self._lanes[lane] = svc
            for rank, kind in enumerate(kinds):
                self._kinds[kind] = (svc, rank)

    def channel(self, kind: str, slot: int = 0) -> Channel:
        """The channel of consumer ``kind`` (one of :data:`LANES`' kinds; ``slot`` tells panes apart):
        its own latest-only slot, ranked on its lane by its kind, and its own ``result`` signal.
        Asking twice gives the same channel."""
        name = kind if slot == 0 else f"{kind}:{slot}"
        ch = self._channels.get(name)
        if ch is None:
            try:
                lane, rank = self._kinds[kind]
            except KeyError:
                raise ValueError(f"unknown kind of channel {kind!r}") from None
            ch = self._channels[name] = Channel(name, lane, rank, latest_wins=kind in LATEST_WINS)
        return ch

    @staticmethod
    def prepare(model: Any) -> tuple[Callable, Callable]:
        """Lay ``model`` out and build its decode / encode functions. Run it on the thread that loaded
        the model (the open job), before :meth:`set_model` publishes it: the GUI thread never runs torch."""
        prepare_model(model)
        return torch_decoder(model), torch_encoder(model)

    def set_model(self, model: Any, decode_fn: Callable | None = None, encode_fn: Callable | None = None, *,
                  encoder_pending: bool = False) -> None:
        """Hand a model over (None: no model). Pending requests for the old one are dropped.

        Without ``decode_fn`` / ``encode_fn`` the model is prepared here (:meth:`prepare`).
        ``encoder_pending``: a model opened light (explorer.core.light_open.open_light): ``model`` is its
        NumpyModel and ``decode_fn`` its numpy decoder; there is no encoder until :meth:`upgrade`, and
        encode requests wait for it in their slot (latest only) rather than fail."""
        if model is not None and (decode_fn is None or (encode_fn is None and not encoder_pending)):
            decode_fn, encode_fn = self.prepare(model)
        self.model, self._decode_fn = model, decode_fn
        for svc in self._lanes.values():
            svc.set_decoder(decode_fn, encode_fn, encoder_pending=encoder_pending)

    def upgrade(self, model: Any, decode_fn: Callable, encode_fn: Callable) -> None:
        """The torch functions of the model :meth:`set_model` was given light replace its numpy decoder.

        Same model, same outputs (to float32 rounding): pending requests stay, and encode requests that
        were waiting run now. A decode already running finishes with the numpy decoder."""
        self.model, self._decode_fn = model, decode_fn
        for svc in self._lanes.values():
            svc.set_decoder(decode_fn, encode_fn, same_model=True)

    def encoder_failed(self, message: str) -> None:
        """The torch model of a light model could not be loaded: decodes go on with numpy, and every
        encode (waiting or later) fails with ``message`` (one sentence)."""
        def refuse(images: Any) -> Any:
            raise RuntimeError(message)

        for svc in self._lanes.values():
            svc.set_decoder(self._decode_fn, refuse, same_model=True)

    def lane(self, kind: str) -> DecodeService:
        """The worker thread that serves channels of ``kind`` (tests and benchmarks)."""
        return self._kinds[kind][0]

    def pending(self) -> int:
        return sum(s.pending() for s in self._lanes.values())

    def wait_idle(self, timeout: float = 5.0) -> bool:
        return all(s.wait_idle(timeout) for s in self._lanes.values())

    @property
    def decoded(self) -> int:
        return sum(s.decoded for s in self._lanes.values())

    @property
    def alive(self) -> bool:
        return any(s.alive for s in self._lanes.values())

    def close(self, timeout: float = 10.0) -> None:
        for s in self._lanes.values():
            s.close(timeout)
        for c in self._chunked.values():
            c.close()
