"""The window's side of comparing models: opening them off the GUI thread (:class:`ComparedOpener`),
and :class:`Comparison`, which runs the menu's actions and applies scenes
that name compared models. The widgets that render a comparison from the state are in
:mod:`explorer.qt.compare.compare`.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget
from superqt.utils import create_worker

from explorer.core.activity import Activity, Job
from explorer.core.means_job import means_job
from explorer.core.session import Cancelled, open_session
from explorer.core.state import MAX_COMPARED, ExplorerState
from training.errors import UserError


class ComparedOpener(QObject):
    """Opens models for comparison over the main session's dataset, in the background, in order.

    A worker loads and checks each file (``open_session(encode=False)``); the model service's bulk lane
    then encodes the dataset with each (explorer.core.means_job.means_job on the ``compare`` channel, one
    batch a turn), one model after the other."""

    opened = Signal(object)  # list[Session], in the order asked for
    failed = Signal(str)
    progress = Signal(str, int, int)

    def __init__(self, service: Any, parent: QObject | None = None):
        super().__init__(parent)
        self.channel = service.channel("compare")
        self.channel.result.connect(self._on_encoded)
        self.channel.failed.connect(self._on_encode_failed)
        self._cancel: threading.Event | None = None
        self._todo: list[Any] = []  # loaded, not encoded yet
        self._done: list[Any] = []  # encoded
        self.busy = False

    def open(self, paths: list[str | Path], like: Any) -> None:
        self.cancel()
        cancel = self._cancel = threading.Event()
        self.busy = True

        def work() -> tuple[list[Any], threading.Event]:
            out = []
            for p in paths:
                out.append(open_session(p, like=like, progress=self.progress.emit, cancel=cancel, threads=2,
                                        prepare=True, encode=False))
            return out, cancel

        create_worker(work, _start_thread=True,
                      _connect={"returned": self._on_loaded, "errored": lambda e: self._on_error(e, cancel)})

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
            self.channel.cancel()
        self._todo, self._done = [], []
        self.busy = False

    def _on_loaded(self, result) -> None:
        sessions, cancel = result
        if cancel is self._cancel and not cancel.is_set():
            self._todo, self._done = list(sessions), []
            self._encode_next(cancel)

    def _encode_next(self, cancel: threading.Event) -> None:
        if not self._todo:
            self.busy = False
            self.opened.emit(self._done)
            return
        s = self._todo.pop(0)
        stage = f"encoding with {s.model_path.name}"
        self.progress.emit(stage, 0, len(s.labels))
        self.channel.run(means_job(s, progress=lambda d, t: self.progress.emit(stage, d, t), threads=2), meta=cancel)

    def _on_encoded(self, res) -> None:
        if res.meta is self._cancel and not res.meta.is_set():
            self._done.append(res.value)
            self._encode_next(res.meta)

    def _on_encode_failed(self, failure) -> None:
        if failure.meta is self._cancel:
            self._on_error(failure.error, failure.meta)

    def _on_error(self, error: Exception, cancel: threading.Event) -> None:
        if cancel.is_set() or isinstance(error, Cancelled):
            return
        self.cancel()
        if not isinstance(error, UserError):
            traceback.print_exception(error)
        self.failed.emit(str(error) or type(error).__name__)


def compared_paths(state: ExplorerState) -> list[str]:
    return [str(s.model_path) for s in state.compared]


def check_compare_count(n: int) -> str | None:
    if n > MAX_COMPARED:
        return f"at most {MAX_COMPARED + 1} models can be shown side by side; {n + 1} were given."
    return None


class Comparison(QObject):
    """The window's side of comparing models: opening them, the menu's actions, and scenes that name compared
    models. It writes ``state.compared``; the planes, the compare row and the pane controllers render from the
    state. It reports errors on ``state.error`` and its opens' progress on ``activity`` (the status bar)."""

    opened = Signal()  # the compared models asked for are open (state.compared holds them)
    failed = Signal(str)  # one of them cannot be shown: one sentence naming it and why (also shown in the window)

    def __init__(self, state: ExplorerState, service: Any, activity: Activity, settings: Any = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state = state
        self.service = service
        self.activity = activity
        self.settings = settings  # explorer.qt.settings.Settings: opened models join File > Recent models
        self.closed = False
        self.opener = ComparedOpener(service, self)
        self.opener.opened.connect(self._on_opened)
        self.opener.failed.connect(self._on_failed)
        self.opener.progress.connect(self._on_progress)
        self._job: Job | None = None  # the open's entry in the activity model
        self.pending: list[str] = []  # asked for before the main model was open
        self._replace = False
        self._then: Any = None  # called once the models are open (a scene waiting to be applied)

    @property
    def busy(self) -> bool:
        return self.opener.busy or bool(self.pending)

    def add(self, paths: list[str | Path], replace: bool = False, then: Any = None) -> None:
        """Open ``paths`` beside the main model (after it, if it is still opening)."""
        paths = [str(p) for p in paths]
        now = 0 if replace else len(self.state.compared)
        problem = check_compare_count(now + len(paths))
        if problem:
            self.state.error.emit(problem)
            return
        self._replace, self._then = replace, then
        if self.state.session is None:
            self.pending = paths
            return
        if not paths:
            self.state.compared = ()
            self._done()
            return
        self._end_job()
        self._job = self.activity.start(f"opening {', '.join(Path(p).name for p in paths)} for comparison",
                                        cancel=self.stop_opening, tip="Stop opening the models to compare")
        self.opener.open(paths, self.state.session)

    def main_opened(self) -> None:
        """The main model is open: open what was asked for before it was."""
        if self.pending:
            paths, self.pending = self.pending, []
            self.add(paths, replace=True, then=self._then)

    def _on_opened(self, sessions: list[Any]) -> None:
        if self.closed or self.state.session is None or any(s.images is not self.state.session.images
                                                            for s in sessions):
            return  # the main model changed meanwhile: these were opened over the old dataset
        self._end_job()
        self.state.compared = tuple(sessions) if self._replace else (*self.state.compared, *sessions)
        self.state.info.emit(f"comparing {len(self.state.sessions)} models; click any plane")
        if self.settings is not None:
            for s in sessions:
                self.settings.add_recent(s.model_path)
        self._done()

    def _done(self) -> None:
        then, self._then = self._then, None
        if then is not None:
            then()
        self.opened.emit()

    def _on_progress(self, stage: str, done: int, total: int) -> None:
        self.activity.update(self._job, done, total, stage)

    def _end_job(self) -> None:
        job, self._job = self._job, None
        self.activity.end(job)

    def _on_failed(self, message: str) -> None:
        self._then = None
        self._end_job()
        if not self.closed:
            self.state.error.emit(message)
        self.failed.emit(message)

    def open_for_scene(self, scene: Any, scene_file: str, then: Any) -> bool:
        """Open the models ``scene`` compares unless they are the ones open; True if it started that."""
        if scene.compared is None or self.state.session is None:
            return False
        want = scene.resolved_compared(scene_file)
        have = [Path(c.model_path).resolve() for c in self.state.compared]
        if want == have:
            return False
        missing = [p for p in want if not p.is_file()]
        if missing:
            from explorer.core.scene import SceneError

            raise SceneError(f"{scene_file}: compares {missing[0]}, which does not exist; nothing was changed.")
        self.add(want, replace=True, then=then)
        return True

    def bind_actions(self, actions) -> None:
        actions.bind("compare.add", self.choose)
        actions.bind("compare.stop", self.stop)

    def stop(self) -> None:
        """Back to one model."""
        self.stop_opening()
        self.state.compared = ()

    def stop_opening(self) -> None:
        """Stop opening the models asked for (the Cancel button); those shown stay."""
        self.opener.cancel()
        self.pending = []
        self._then = None
        self._end_job()

    def choose(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        if self.state.session is None:
            self.state.error.emit("Open a model first; compared models are shown beside it.")
            return
        paths, _ = QFileDialog.getOpenFileNames(self.parent(), "Add models for comparison", "",
                                                "Latent Explorer models (*.safetensors);;All files (*)")
        if paths:
            self.add(paths)

    def shutdown(self) -> None:
        self.closed = True
        self.stop_opening()
