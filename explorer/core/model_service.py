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

Each channel keeps a single pending slot, so a newer request replaces an older one that has not
started. ``set_model`` lays the new model out (channels_last) on the caller's thread *before* either
lane can see it. After that, nothing changes the model's layout or weights. The old model keeps
running any decode already started, and its result is dropped by id. Loading a model (and encoding
the dataset) happens on the open job's thread, before the model is handed over here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from explorer.core.chunked_decode import GRID_WORKERS, ChunkedDecoder
from explorer.core.decode_service import DecodeFailure, DecodeResult, DecodeService
from explorer.core.torch_fns import prepare_model, torch_decoder, torch_encoder

LANES: dict[str, tuple[tuple[str, ...], int]] = {  # lane -> (channels in priority order, OpenMP threads)
    "interactive": (("pane", "classes", "encode"), 1),
    "bulk": (("filmstrip", "grid-coarse", "grid", "export"), 1),  # + a helper thread for big batches
}
CHUNKED_LANES = ("bulk",)  # lanes whose big decodes are split over GRID_WORKERS threads


class ModelService:
    def __init__(self, on_result: Callable[[DecodeResult], None] | None = None,
                 on_error: Callable[[DecodeFailure], None] | None = None) -> None:
        self.model: Any = None
        self._decode_fn: Callable | None = None
        self.condition = 0  # the class a conditional model decodes with when a request names none
        self._lanes: dict[str, DecodeService] = {}
        self._route: dict[str, DecodeService] = {}
        self._chunked = {lane: ChunkedDecoder(GRID_WORKERS, name=f"model-{lane}-helper") for lane in CHUNKED_LANES}
        for lane, (channels, threads) in LANES.items():
            svc = DecodeService(on_result=on_result, on_error=on_error, threads=threads, priority=channels,
                                name=f"model-{lane}", chunked=self._chunked.get(lane))
            self._lanes[lane] = svc
            for ch in channels:
                self._route[ch] = svc

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

    def lane(self, channel: str) -> DecodeService:
        base = channel.split(":", 1)[0]  # "pane:1" -> the pane lane
        try:
            return self._route[base]
        except KeyError:
            raise ValueError(f"unknown channel {channel!r}") from None

    def request(self, z: Any, channel: str, *, meta: Any = None, labels: Any = None, model: Any = None) -> int:
        """Decode the points ``z`` (N, 2) on ``channel``.

        ``model``: a session (explorer.core.session.Session) whose own decoder runs instead of the
        current model's (a compared model, a training snapshot). A conditional model decodes with
        ``labels``, else with the chosen class :attr:`condition`."""
        fns = None
        if model is not None:
            fns = model.fns
            if fns is None:
                raise ValueError(f"{model.model_path.name}: its model was not prepared (Session.prepare) before decoding")
            conditional = model.conditional
        else:
            conditional = bool(getattr(self.model, "conditional", False))
        if conditional and labels is None:
            labels = [self.condition] * len(np.atleast_2d(z))
        return self.lane(channel).request(z, channel=channel, meta=meta, labels=labels, fns=fns)

    def settle(self, request_id: int, channel: str, timeout: float) -> bool:
        """Let an idle lane finish ``request_id`` first (:meth:`DecodeService.settle`)."""
        return self.lane(channel).settle(request_id, timeout)

    def encode(self, images: Any, *, channel: str = "encode", meta: Any = None) -> int:
        """Encode images (N, C, H, W); the result's ``z`` holds their means, ``images`` their reconstructions."""
        return self.lane(channel).request(images, channel=channel, meta=meta, op="encode")

    def cancel(self, channel: str) -> None:
        self.lane(channel).cancel(channel)

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
