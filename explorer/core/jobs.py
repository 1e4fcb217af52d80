"""One-off background jobs (open a session, export a GIF...) on a plain thread, with progress and cancel.

The callbacks run on the job's thread; the Qt bridge turns them into queued signals.
"""

from __future__ import annotations

import threading
import traceback
from collections.abc import Callable
from typing import Any


class Job:
    """Run ``fn(progress, cancel_event)`` on a thread; report ``on_done(result)`` or ``on_error(message)``."""

    def __init__(
        self,
        fn: Callable[[Callable[..., None], threading.Event], Any],
        *,
        on_progress: Callable[..., None] | None = None,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        threads: int = 2,
        name: str = "job",
    ) -> None:
        self.cancel_event = threading.Event()
        self._fn = fn
        self._on_progress = on_progress or (lambda *a: None)
        self._on_done = on_done
        self._on_error = on_error
        self._on_cancelled = on_cancelled
        self._threads = threads
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Job:
        self._thread.start()
        return self

    def cancel(self) -> None:
        self.cancel_event.set()

    def join(self, timeout: float | None = None) -> bool:
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    @property
    def finished(self) -> bool:
        """Started and ended (done, failed or cancelled)."""
        return self._thread.ident is not None and not self._thread.is_alive()

    def _run(self) -> None:
        from explorer.core.session import Cancelled

        try:
            import torch

            torch.set_num_threads(self._threads)
        except Exception:  # noqa: BLE001
            pass
        try:
            result = self._fn(self._on_progress, self.cancel_event)
        except Cancelled:
            if self._on_cancelled:
                self._on_cancelled()
            return
        except Exception as e:  # noqa: BLE001 - reported to the GUI as one sentence
            if self.cancel_event.is_set():
                return
            if not isinstance(e, ValueError):  # unexpected: keep the traceback on stderr for bug reports
                traceback.print_exc()
            if self._on_error:
                self._on_error(str(e) or type(e).__name__)
            return
        if self.cancel_event.is_set():
            if self._on_cancelled:
                self._on_cancelled()
            return
        if self._on_done:
            self._on_done(result)
