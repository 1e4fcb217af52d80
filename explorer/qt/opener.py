"""Opening a model in the background: load and validate it, load the dataset, encode the means, and
prepare the model for the model service. All of this runs on a superqt worker, off the GUI thread,
with progress and cancel. A newer open supersedes an older one that is still running."""

from __future__ import annotations

import threading
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker

from explorer.core.session import Cancelled, open_session
from training.errors import UserError


class ModelOpener(QObject):
    opened = Signal(object, object, object)  # Session, decode_fn, encode_fn (for ModelService.set_model)
    failed = Signal(str)  # one sentence naming the file
    progress = Signal(str, int, int)  # stage, done, total (emitted on the worker, delivered on the GUI thread)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._cancel: threading.Event | None = None

    def open(self, path: str | Path, dataset: str | None = None, split: str | None = None,
             data_dir: str | None = None) -> None:
        self.cancel()
        cancel = self._cancel = threading.Event()
        path = Path(path)

        def work() -> tuple[Any, tuple[Any, Any], threading.Event]:
            s = open_session(path, dataset, split, data_dir, progress=self.progress.emit, cancel=cancel, threads=2,
                             prepare=True)
            return s, s.fns, cancel

        create_worker(work, _start_thread=True,
                      _connect={"returned": self._on_returned, "errored": lambda e: self._on_error(e, cancel)})

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()

    def _on_returned(self, result) -> None:
        session, (decode_fn, encode_fn), cancel = result
        if not cancel.is_set():
            self.opened.emit(session, decode_fn, encode_fn)

    def _on_error(self, error: Exception, cancel: threading.Event) -> None:
        if cancel.is_set() or isinstance(error, Cancelled):
            return
        if not isinstance(error, UserError):  # unexpected: keep the traceback on stderr for bug reports
            traceback.print_exception(error)
        self.failed.emit(str(error) or type(error).__name__)
