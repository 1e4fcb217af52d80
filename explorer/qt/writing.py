"""A file written off the GUI thread: the one pattern behind every animation export (the interpolation's
GIF / MP4, the tour, the training movie).

:func:`write_off_thread` runs the work on a superqt worker and reports back on the GUI thread: the path
once written, or one sentence naming the file when it could not be (a :class:`UserError` keeps its own
sentence; a :class:`Cancelled` raised by the work's progress callback is a stop, not a failure).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from superqt.utils import create_worker

from explorer.core.encoding import Cancelled
from training.errors import UserError


def failure_sentence(path: str | Path, e: BaseException) -> str:
    """One sentence for a file that could not be written."""
    if isinstance(e, UserError):
        return str(e)
    return f"{Path(path).name}: could not be written ({getattr(e, 'strerror', None) or e})."


def write_off_thread(path: str, work: Callable[[], object], *, written: Callable[[str], None],
                     failed: Callable[[str], None], cancelled: Callable[[], None] | None = None):
    """Start ``work()`` (which writes ``path``) on a worker thread and return the worker (keep a reference
    while it runs). On the GUI thread afterwards: ``written(path)``, ``cancelled()`` if the work raised
    :class:`Cancelled` (and ``cancelled`` is given), else ``failed(sentence)``."""

    def errored(e: BaseException) -> None:
        if isinstance(e, Cancelled) and cancelled is not None:
            cancelled()
        else:
            failed(failure_sentence(path, e))

    worker = create_worker(work, _start_thread=False,
                           _connect={"returned": lambda _r: written(path), "errored": errored})
    worker.start()
    return worker
