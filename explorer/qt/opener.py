"""Opening a model in the background: load and validate it, load the dataset, encode the means, and
prepare the model for the model service. All of this runs on a superqt worker, off the GUI thread,
with progress and cancel. A newer open supersedes an older one that is still running.

Two phases when the means are cached (explorer.core.light_open.open_light, issue 11): ``opened`` comes
as soon as the plane can be shown and decoded with numpy (``encode_fn`` None), before torch is
imported; the same worker then loads the torch model and ``upgraded`` hands its functions over. It
starts that ``GO_DELAY_MS`` after the window has shown the first decoded image (:meth:`ModelOpener.shown`;
the pane paints it meanwhile), or after ``GO_AFTER`` seconds: importing torch holds the GIL for most of
2-3 s, and started at once it slowed the plane's first build and decode by some 0.6 s. A newer open
does not stop the second phase (the shown model may stay if the newer open fails); the window closing
does (:meth:`ModelOpener.shutdown`, which waits for an import of torch already under way: it cannot
be interrupted, and the process must not exit under it)."""

from __future__ import annotations

import threading
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from superqt.utils import create_worker

from explorer.core.light_open import open_light, recheck_means
from explorer.core.session import Cancelled
from training.errors import UserError

GO_AFTER = 2.0  # s: the torch phase starts by then even if no image was shown
GO_DELAY_MS = 150  # after the first image is shown: its paint first
STOP_WAIT_S = 20.0  # closing waits at most this long for a torch phase under way


class ModelOpener(QObject):
    opened = Signal(object, object, object)  # Session, decode_fn, encode_fn (None: light, see upgraded)
    upgraded = Signal(object, object, object)  # a light Session, its torch decode_fn and encode_fn
    upgrade_failed = Signal(object, str)  # a light Session whose torch model could not be loaded; one sentence
    failed = Signal(str)  # one sentence naming the file
    progress = Signal(str, int, int)  # stage, done, total (emitted on the worker, delivered on the GUI thread)
    _light = Signal(object, object, object)  # Session, numpy decode_fn, cancel event (worker -> GUI thread)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._cancel: threading.Event | None = None
        self._go: threading.Event | None = None  # the open's light session was shown: start its torch phase
        self._go_timer = QTimer(self, singleShot=True, interval=GO_DELAY_MS)
        self._go_timer.timeout.connect(self._start_torch)
        self._stop = threading.Event()  # the window is closing: no torch phase starts or goes on
        self._running: list[threading.Event] = []  # one per open worker, set when it returns
        self._light.connect(self._on_light)

    def open(self, path: str | Path, dataset: str | None = None, split: str | None = None,
             data_dir: str | None = None) -> None:
        self.cancel()
        cancel = self._cancel = threading.Event()
        go = self._go = threading.Event()
        done = threading.Event()
        self._running = [e for e in self._running if not e.is_set()] + [done]
        path = Path(path)

        def work() -> tuple[Any, str, threading.Event]:
            try:
                return phases()
            finally:
                done.set()

        def phases() -> tuple[Any, str, threading.Event]:
            s = open_light(path, dataset, split, data_dir, progress=self.progress.emit, cancel=cancel, threads=2)
            if s.ready.is_set():  # torch was needed (the means were encoded): one phase, as before
                return s, "opened", cancel
            if cancel.is_set():
                raise Cancelled()
            self._light.emit(s, s.fns[0], cancel)  # the GUI shows it now, decoding with numpy
            go.wait(GO_AFTER)  # until its first image is shown: torch's import would slow that down
            try:
                s.finish_loading(threads=2, stop=self._stop)
            except Cancelled:
                raise
            except Exception as e:  # noqa: BLE001 - the session stays shown; the window says why encoding fails
                if not isinstance(e, UserError):
                    traceback.print_exception(e)
                return s, "upgrade failed", cancel
            fresh = recheck_means(s, progress=self.progress.emit, cancel=cancel)  # the cached means were wrong
            return (fresh, "opened", cancel) if fresh is not None else (s, "upgraded", cancel)

        create_worker(work, _start_thread=True,
                      _connect={"returned": self._on_returned, "errored": lambda e: self._on_error(e, cancel)})

    def open_own(self, module: Any, weights: str | Path | None, dataset: str, split: str | None = None,
                 data_dir: str | None = None) -> None:
        """A user's own torch module (``FILE.py:FUNCTION`` to import and call, or the module object a script
        passed), over ``dataset``: checked, encoded and prepared on a worker (explorer.core.own_model)."""
        self.cancel()
        cancel = self._cancel = threading.Event()
        done = threading.Event()
        self._running = [e for e in self._running if not e.is_set()] + [done]

        def work() -> tuple[Any, str, threading.Event]:
            from explorer.core import own_model

            try:
                if isinstance(module, str):
                    mod, sha = own_model.load_module(module, weights)
                    source, path = module, weights or module.rpartition(":")[0]
                else:
                    mod, sha, source, path = module, None, type(module).__name__, weights
                s = own_model.open_own(mod, dataset, split, data_dir, source=source, sha256=sha, path=path,
                                       progress=self.progress.emit, cancel=cancel, threads=2)
                return s, "opened", cancel
            finally:
                done.set()

        create_worker(work, _start_thread=True,
                      _connect={"returned": self._on_returned, "errored": lambda e: self._on_error(e, cancel)})

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def shown(self) -> None:
        """The window shows a decoded image: a light session's torch phase starts ``GO_DELAY_MS`` later."""
        if self._go is not None and not self._go.is_set() and not self._go_timer.isActive():
            self._go_timer.start()

    def _start_torch(self) -> None:
        if self._go is not None:
            self._go.set()

    def shutdown(self, timeout: float = STOP_WAIT_S) -> None:
        """The window closes: cancel the open, stop any torch phase before its slow steps, and wait
        (at most ``timeout`` s) for one already importing torch."""
        self._stop.set()
        self.cancel()
        self._go_timer.stop()
        self._start_torch()
        for done in self._running:
            done.wait(timeout)

    def _on_light(self, session, decode_fn, cancel: threading.Event) -> None:
        if not cancel.is_set():
            self.opened.emit(session, decode_fn, None)

    def _on_returned(self, result) -> None:
        session, what, cancel = result
        if what == "opened":
            if not cancel.is_set():
                self.opened.emit(session, *session.fns)
        elif what == "upgraded":
            self.upgraded.emit(session, *session.fns)  # the window ignores it for a session no longer shown
        else:
            self.upgrade_failed.emit(session, session.load_error or "the model's encoder could not be loaded.")

    def _on_error(self, error: Exception, cancel: threading.Event) -> None:
        if cancel.is_set() or isinstance(error, Cancelled):
            return
        if not isinstance(error, UserError):  # unexpected: keep the traceback on stderr for bug reports
            traceback.print_exception(error)
        self.failed.emit(str(error) or type(error).__name__)
