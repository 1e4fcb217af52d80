"""The torch side of decoding: a model laid out once for inference, and its decode / encode as numpy
functions for the decode workers (:mod:`explorer.core.decode_service`), the pane's batches of 1 and 2
as traced TorchScript graphs that run without the GIL. Called on worker threads only.

The model may live on any device (CPU, or a CUDA / MPS model): inputs go to the model's device
(:func:`model_device`) and results come back as CPU numpy arrays.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def prepare_model(model: Any) -> Any:
    """Lay the model out for decoding, ONCE, before any worker uses it (ModelService.set_model).

    The conv weights go to channels_last: the transposed convolutions of the decoder then run 2-3x
    faster on CPU for a batch such as the 900 cells of a manifold grid (benchmarks/README.md). Same
    weights, same outputs up to float rounding. Nothing changes the layout afterwards.
    """
    import torch

    if getattr(getattr(model, "config", None), "arch", None) == "conv":
        model.to(memory_format=torch.channels_last)
    return model


def model_device(model: Any) -> Any:
    """The device of the model's weights (CPU for a model without any)."""
    import torch

    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration, TypeError):
        return torch.device("cpu")


TRACED_BATCHES = (1, 2)  # the pane's requests: z, or [z, base] while vectors are on


def traced_decoders(model: Any, sizes: tuple[int, ...] = TRACED_BATCHES) -> dict[int, Any]:
    """``model.decode`` as one TorchScript graph per batch size in ``sizes`` (``torch.jit.trace``).

    Why: an eager decode is some 25 Python-level calls, and the worker must take the GIL back after
    each one. While the GUI thread runs Python (a repaint) every hand-over can wait up to the switch
    interval (5 ms), which stretched a 1 ms decode to 5-120 ms and stalled the GUI thread in turn. A
    traced graph runs the whole forward pass with the GIL released (benchmarks/README.md, issue 11).

    A graph is kept only if it gives exactly (``torch.equal``) what ``model.decode`` gives on probe
    inputs, run often enough for TorchScript's profiling executor to settle; any failure (an untraceable
    model, a torch without ``torch.jit.trace``) leaves that size to the eager path. Conditional models
    are traced with labels, per batch size (their one-hot code bakes the batch size into the graph).
    The graphs share the model's weights. ``torch.jit.trace`` is deprecated in torch 2.x (its
    DeprecationWarning is hidden by Python's default filters; the eager path stays). Nothing here touches
    the warning filters: ``warnings.catch_warnings`` is not thread-safe and this runs on a worker, where
    it let a TracerWarning through and could restore another thread's filters. The models instead trace
    without warnings (tests/training/test_models.py::test_decode_traces_without_warnings).
    """

    import torch

    conditional = bool(getattr(model, "conditional", False))
    cfg = getattr(model, "config", None)
    d = int(getattr(cfg, "latent_dim", 2))
    k = int(getattr(cfg, "num_classes", 0) or 0)
    if conditional and k < 1:
        return {}
    device = model_device(model)

    class _Decode(torch.nn.Module):
        def __init__(self, m: Any) -> None:
            super().__init__()
            self.m = m

        def forward(self, z: Any, y: Any = None) -> Any:
            return self.m.decode(z, y)

    wrapper = _Decode(model)
    graphs: dict[int, Any] = {}
    for n in sizes:
        gen = torch.Generator().manual_seed(1000 + n)

        def probe(gen: Any = gen, n: int = n) -> tuple:
            z = (torch.randn(n, d, generator=gen) * 2.0).to(device)
            return (z, torch.randint(0, k, (n,), generator=gen).to(device)) if conditional else (z,)

        try:
            with torch.inference_mode():
                graph = torch.jit.trace(wrapper, probe(), check_trace=False)
                for _ in range(6):  # the profiling executor optimises the plan after its first runs
                    args = probe()
                    if not torch.equal(graph(*args), model.decode(*args)):
                        raise ValueError("the traced graph differs from model.decode")
        except Exception:  # noqa: BLE001 - any failure: this size stays on the eager path
            continue
        graphs[n] = graph
    return graphs


def torch_decoder(model: Any, batch_size: int = 1024, traced: tuple[int, ...] = TRACED_BATCHES
                  ) -> Callable[[np.ndarray, np.ndarray | None], np.ndarray]:
    """A decode function for :class:`DecodeService` from a model obeying the DESIGN.md contract.

    Batches of a size in ``traced`` run as one TorchScript graph (:func:`traced_decoders`), others
    eagerly; both give exactly ``model.decode``'s output. Call :func:`prepare_model` first (once);
    this function never changes the model.
    """
    import torch

    graphs = traced_decoders(model, traced) if traced else {}
    device = model_device(model)
    conditional = bool(getattr(model, "conditional", False))
    k = int(getattr(getattr(model, "config", None), "num_classes", 0) or 0)

    def decode(z: np.ndarray, labels: np.ndarray | None = None) -> np.ndarray:
        if not np.all(np.isfinite(z)):
            raise ValueError("the latent point is not finite")
        graph = graphs.get(len(z))
        if graph is not None and conditional:  # labels out of range: the eager path raises the model's error
            y = None if labels is None else np.asarray(labels, np.int64)
            graph = graph if y is not None and len(y) == len(z) and np.all((y >= 0) & (y < k)) else None
        out = []
        with torch.inference_mode():
            zt = torch.from_numpy(np.ascontiguousarray(z, np.float32)).to(device)
            yt = None if labels is None else torch.from_numpy(np.asarray(labels, np.int64)).to(device)
            if graph is not None:
                return (graph(zt, yt) if conditional else graph(zt)).float().cpu().numpy()
            for i in range(0, len(zt), batch_size):
                yb = None if yt is None else yt[i : i + batch_size]
                out.append(model.decode(zt[i : i + batch_size], yb).float().cpu().numpy())
        return np.concatenate(out)

    decode.traced = tuple(sorted(graphs))  # the batch sizes that run as one graph (tests, benchmarks)
    return decode


def torch_encoder(model: Any) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """An encode function: images (N, C, H, W) -> (means (N, 2), reconstructions decode(means))."""
    import torch

    device = model_device(model)

    def encode(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            mean, _ = model.encode(torch.from_numpy(np.ascontiguousarray(x, np.float32)).to(device))
            return mean.float().cpu().numpy(), model.decode(mean).float().cpu().numpy()

    return encode
