"""Training live from the app: ``latent-train`` in its own process, followed as it goes.

The run is ``python -m training.cli ... --events`` in a QProcess, so a crash in training cannot take the
window down, and Cancel is a clean stop of that process (SIGINT: the trainer stops after committing
nothing new; its last committed checkpoint stays whole). Its JSON lines (training.events) drive the
window: ``step`` the status bar's progress, ``epoch`` the info panel's curves and a reopen of the
checkpoint just committed (the plane and the pane follow the model as it learns), ``done`` opens the
final file, whose training snapshots are then scrubbable. Its stderr's last line is the one sentence
shown if it fails; the model open before stays open.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QTimer, Signal

from explorer.core.activity import Activity

STOP_GRACE_MS = 10_000  # after SIGINT, this long for the trainer to stop before it is killed


class LiveTraining(QObject):
    """One training process at a time; ``open_model(path)`` is the window's (a background open)."""

    epoch = Signal(object)  # the history so far (a list of rows), after each committed epoch
    committed = Signal(str)  # the checkpoint path, once it holds a new epoch
    finished = Signal(bool, str)  # (ok, the checkpoint path or one sentence)

    def __init__(self, state, activity: Activity, open_model, parent: QObject | None = None):
        super().__init__(parent)
        self.state = state
        self.activity = activity
        self.open_model = open_model
        self.proc: QProcess | None = None
        self.job = None
        self.out: Path | None = None
        self.history: list[dict] = []
        self.epochs = 0
        self.stopping = False
        self.result: tuple[bool, str] | None = None  # how the last run ended
        self._buf = b""
        self._err = b""

    @property
    def running(self) -> bool:
        return self.proc is not None

    def start(self, args: list[str], out: str | Path) -> bool:
        """Run ``latent-train ARGS --out OUT --events``; False (one sentence on ``state.error``) if one runs."""
        if self.running:
            self.state.error.emit("a model is already training; stop it first.")
            return False
        self.out = Path(out)
        self.history, self.epochs, self.stopping, self.result = [], 0, False, None
        self._buf = self._err = b""
        proc = QProcess(self)
        proc.setProgram(sys.executable)
        proc.setArguments(["-m", "training.cli", *args, "--out", str(self.out), "--events", "--quiet"])
        proc.readyReadStandardOutput.connect(self._on_stdout)
        proc.readyReadStandardError.connect(lambda: self._keep_err(proc))
        proc.finished.connect(lambda code, _status: self._on_finished(proc, code))
        proc.errorOccurred.connect(lambda err: self._on_error(proc, err))
        self.proc = proc
        self.job = self.activity.start(f"training {self.out.name}: starting", cancel=self.stop,
                                       tip="Stop training; the last finished epoch stays in the file")
        proc.start()
        return True

    def stop(self) -> None:
        """Stop the process cleanly (SIGINT), killing it if it has not stopped in ``STOP_GRACE_MS``."""
        proc = self.proc
        if proc is None or self.stopping:
            return
        self.stopping = True
        self.activity.update(self.job, 0, 0, name=f"training {self.out.name}: stopping")
        pid = proc.processId()
        if pid and hasattr(signal, "SIGINT") and os.name == "posix":
            os.kill(pid, signal.SIGINT)
        else:
            proc.terminate()
        QTimer.singleShot(STOP_GRACE_MS, lambda: proc.kill() if self.proc is proc else None)

    def wait_stopped(self, msecs: int = STOP_GRACE_MS + 2000) -> None:
        """Stop and wait for the process to end (the window closing)."""
        proc = self.proc
        if proc is None:
            return
        self.stop()
        if not proc.waitForFinished(msecs):
            proc.kill()
            proc.waitForFinished(2000)

    # ---------------------------------------------------------------- the process talks

    def _on_stdout(self) -> None:
        if self.proc is None:
            return
        self._buf += bytes(self.proc.readAllStandardOutput())
        *lines, self._buf = self._buf.split(b"\n")
        for line in lines:
            try:
                ev = json.loads(line)
            except ValueError:
                continue  # not ours (a library printing to stdout)
            if isinstance(ev, dict):
                self._on_event(ev)

    def _on_event(self, ev: dict) -> None:
        kind = ev.get("event")
        name = self.out.name if self.out else "model"
        if kind == "start":
            self.epochs = int(ev.get("epochs") or 0)
            self.activity.update(self.job, 0, int(ev.get("steps") or 0), name=f"training {name}: epoch 1 of {self.epochs}")
        elif kind == "step" and not self.stopping:
            done, total = int(ev.get("step") or 0), int(ev.get("total") or 0)
            per = max(total // max(self.epochs, 1), 1)
            self.activity.update(self.job, done, total, name=f"training {name}: epoch "
                                 f"{min(done // per + 1, self.epochs)} of {self.epochs}")
        elif kind == "epoch":
            if isinstance(ev.get("row"), dict):
                self.history.append(ev["row"])
                self.epoch.emit(list(self.history))
            if self.out is not None and self.out.exists():
                self.committed.emit(str(self.out))
                if ev.get("epoch") != ev.get("epochs"):  # the last epoch: the final file follows at once
                    self.open_model(self.out)

    def _keep_err(self, proc: QProcess) -> None:
        self._err = (self._err + bytes(proc.readAllStandardError()))[-8192:]

    def _last_err_line(self) -> str:
        lines = [ln.strip() for ln in self._err.decode("utf-8", "replace").splitlines() if ln.strip()]
        line = lines[-1] if lines else ""
        return line.removeprefix("latent-train: error: ")

    def _on_error(self, proc: QProcess, err) -> None:
        if err == QProcess.ProcessError.FailedToStart and proc is self.proc:
            self._end(False, f"could not start training ({proc.errorString()}).")

    def _on_finished(self, proc: QProcess, code: int) -> None:
        if proc is not self.proc:
            return
        self._on_stdout()
        self._keep_err(proc)
        if code == 0 and not self.stopping:
            self._end(True, str(self.out))
            self.open_model(self.out)  # the final weights, their metrics and snapshots
        elif self.stopping:
            kept = f"{self.out} holds epoch {len(self.history)}" if self.history else "no epoch had finished"
            self._end(False, f"training stopped; {kept}.")
            if self.history:
                self.open_model(self.out)
        else:
            why = self._last_err_line() or f"latent-train ended with code {code}"
            self._end(False, f"training failed: {why.rstrip('.')}.")

    def _end(self, ok: bool, what: str) -> None:
        self.proc = None
        self.activity.end(self.job)
        self.job = None
        self.result = (ok, what)
        if ok:
            self.state.info.emit(f"trained {what}")
        elif not self.stopping:
            self.state.error.emit(what)
        else:
            self.state.info.emit(what)
        self.finished.emit(ok, what)
