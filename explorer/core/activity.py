"""What the app is busy with: the long jobs running, each with its progress and its cancel. Qt-free.

One :class:`Activity` per window. Whoever starts a long job (opening a model, opening models to
compare, the posterior spread's encode, the training snapshots' encodes) calls :meth:`Activity.start`
and gets a :class:`Job`; it reports progress with :meth:`Activity.update` and calls
:meth:`Activity.end` when the job ends in any way. The main window's status bar renders the newest
job running (one progress bar and one Cancel button, explorer/qt/activity_bar.py); Cancel calls that
job's ``cancel``. Every call is made on one thread (the GUI's: workers report through their queued
Qt signals); ``changed`` is a psygnal signal.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from psygnal import Signal


@dataclass(eq=False)
class Job:
    """A long job running: what it is doing (``name``), ``done`` of ``total`` (0: unknown), and how to stop it."""

    name: str
    done: int = 0
    total: int = 0
    cancel: Callable[[], None] | None = None  # None: it cannot be stopped
    tip: str = ""  # what stopping it does (the Cancel button's tooltip)


class Activity:
    """The jobs running, oldest first; ``changed`` fires after any start, update or end."""

    changed = Signal()

    def __init__(self) -> None:
        self._jobs: list[Job] = []

    @property
    def jobs(self) -> tuple[Job, ...]:
        return tuple(self._jobs)

    @property
    def current(self) -> Job | None:
        """The job the status bar shows: the newest one running."""
        return self._jobs[-1] if self._jobs else None

    @property
    def idle(self) -> bool:
        return not self._jobs

    def start(self, name: str, total: int = 0, cancel: Callable[[], None] | None = None, tip: str = "") -> Job:
        job = Job(name, 0, max(int(total), 0), cancel, tip)
        self._jobs.append(job)
        self.changed.emit()
        return job

    def update(self, job: Job | None, done: int, total: int | None = None, name: str | None = None) -> None:
        """``job`` has done ``done`` of ``total`` (and is now doing ``name``); nothing if it has ended."""
        if job is None or job not in self._jobs:
            return
        job.done = max(int(done), 0)
        if total is not None:
            job.total = max(int(total), 0)
        if name is not None:
            job.name = name
        self.changed.emit()

    def end(self, job: Job | None) -> None:
        """``job`` ended (done, failed or cancelled); ending it twice is harmless."""
        if job is not None and job in self._jobs:
            self._jobs.remove(job)
            self.changed.emit()

    def cancel(self, job: Job | None = None) -> None:
        """Stop ``job`` (default: the current one): its own cancel runs, and it leaves the list."""
        job = job or self.current
        if job is None or job not in self._jobs:
            return
        if job.cancel is not None:
            job.cancel()
        self.end(job)
