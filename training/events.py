"""Machine-readable progress of a training run (``latent-train --events``): one JSON object a line on
stdout, flushed, for a program that drives latent-train (the explorer's File ▸ Train a model).

Events: ``start`` (images, epochs, steps, out), ``step`` (steps done of the total; at most every
``STEP_EVERY`` seconds), ``epoch`` (its history row, once its checkpoint is committed: ``out`` then holds
that epoch), ``done`` (the final checkpoint is written). An error is still the one sentence on stderr.
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Any, TextIO

__all__ = ["STEP_EVERY", "Events"]

STEP_EVERY = 0.5  # seconds between two step events


def _plain(v: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v


class Events:
    """Writes the events when ``on``; a no-op otherwise."""

    def __init__(self, on: bool, stream: TextIO | None = None):
        self.on = on
        self.stream = stream if stream is not None else sys.stdout
        self._last_step = 0.0

    def emit(self, event: str, **data: Any) -> None:
        if self.on:
            self.stream.write(json.dumps({"event": event, **_plain(data)}) + "\n")
            self.stream.flush()

    def step(self, done: int, total: int) -> None:
        now = time.monotonic()
        if self.on and (now - self._last_step >= STEP_EVERY or done == total):
            self._last_step = now
            self.emit("step", step=done, total=total)
