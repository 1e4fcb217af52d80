"""The window's side of comparing models: opening them off the GUI thread (:class:`ComparedOpener`),
and :class:`Comparison`, which routes each pane's results, runs the menu's actions and applies scenes
that name compared models. The widgets that render a comparison from the state are in
:mod:`explorer.qt.compare.compare`.
"""

from __future__ import annotations

import threading
import traceback
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from superqt.utils import create_worker

from explorer.core.session import Cancelled, open_session
from explorer.core.state import MAX_COMPARED, ExplorerState
from training.errors import UserError


class ComparedOpener(QObject):
    """Opens models for comparison over the main session's dataset, in the background, in order."""

    opened = Signal(object)  # list[Session], in the order asked for
    failed = Signal(str)
    progress = Signal(str, int, int)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._cancel: threading.Event | None = None
        self.busy = False

    def open(self, paths: list[str | Path], like: Any) -> None:
        self.cancel()
        cancel = self._cancel = threading.Event()
        self.busy = True

        def work() -> tuple[list[Any], threading.Event]:
            out = []
            for p in paths:
                out.append(open_session(p, like=like, progress=self.progress.emit, cancel=cancel, threads=2,
                                        prepare=True))
            return out, cancel

        create_worker(work, _start_thread=True,
                      _connect={"returned": self._on_returned, "errored": lambda e: self._on_error(e, cancel)})

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel.set()
        self.busy = False

    def _on_returned(self, result) -> None:
        sessions, cancel = result
        if not cancel.is_set():
            self.busy = False
            self.opened.emit(sessions)

    def _on_error(self, error: Exception, cancel: threading.Event) -> None:
        if cancel.is_set() or isinstance(error, Cancelled):
            return
        self.busy = False
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
    """The window's side of comparing models: opening them, routing each pane's results, the menu's
    actions, and scenes that name compared models. It writes ``state.compared``; the planes, the
    compare row and the pane controllers render from the state."""

    opened = Signal()  # the compared models asked for are open (state.compared holds them)
    failed = Signal(str)  # one of them cannot be shown: one sentence naming it and why (also shown in the window)

    def __init__(self, window) -> None:
        super().__init__(window)
        self.w = window
        self.state: ExplorerState = window.state
        self.opener = ComparedOpener(self)
        self.opener.opened.connect(self._on_opened)
        self.opener.failed.connect(self._on_failed)
        self.opener.progress.connect(window._on_progress)
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
            self.w.show_error(problem)
            return
        self._replace, self._then = replace, then
        if self.state.session is None:
            self.pending = paths
            return
        if not paths:
            self.state.compared = ()
            self._done()
            return
        self.w.status_label.setText(f"opening {', '.join(Path(p).name for p in paths)} for comparison \u2026")
        self.w.progress.setVisible(True)
        self.w.progress.setRange(0, 0)
        self.opener.open(paths, self.state.session)

    def main_opened(self) -> None:
        """The main model is open: open what was asked for before it was."""
        if self.pending:
            paths, self.pending = self.pending, []
            self.add(paths, replace=True, then=self._then)

    def _on_opened(self, sessions: list[Any]) -> None:
        if self.w._closed or self.state.session is None or any(s.images is not self.state.session.images
                                                              for s in sessions):
            return  # the main model changed meanwhile: these were opened over the old dataset
        self.w.progress.setVisible(False)
        self.state.compared = tuple(sessions) if self._replace else (*self.state.compared, *sessions)
        self.w.status_label.setText(f"comparing {len(self.state.sessions)} models; click any plane")
        for s in sessions:
            self.w.settings.add_recent(s.model_path)
        self._done()

    def _done(self) -> None:
        then, self._then = self._then, None
        if then is not None:
            then()
        self.opened.emit()

    def _on_failed(self, message: str) -> None:
        self._then = None
        self.w.progress.setVisible(False)
        self.w.show_error(message)
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

    def stop(self) -> None:
        """Back to one model."""
        self.opener.cancel()
        self.pending = []
        self.state.compared = ()

    def choose(self) -> None:
        from PySide6.QtWidgets import QFileDialog

        if self.state.session is None:
            self.w.show_error("Open a model first; compared models are shown beside it.")
            return
        paths, _ = QFileDialog.getOpenFileNames(self.w, "Add models for comparison", "",
                                                "Latent Explorer models (*.safetensors);;All files (*)")
        if paths:
            self.add(paths)

    def accept(self, res: Any) -> bool:
        """A pane result ("pane", "pane:1", ...) for its slot's controller."""
        ch = res.channel
        if ch != "pane" and not ch.startswith("pane:"):
            return False
        slot = 0 if ch == "pane" else int(ch.split(":", 1)[1])
        ctls = self.w.planes.controllers
        if slot < len(ctls):
            ctls[slot].accept(res)
        return True

    def shutdown(self) -> None:
        self.opener.cancel()
        self.pending = []
