"""Fixtures for the widget tests: one tiny real checkpoint per session, and an open main window.

``checkpoint``: trained once with the real ``latent-train`` command on the synthetic dataset
(about ten seconds on one thread); ``model``: that checkpoint loaded with the public API, for
computing what the decoder should show. ``window``: a shown ``MainWindow`` with the checkpoint
open and its first decode on screen; on teardown it is closed and every worker must be joined.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

VENV_BIN = Path(sys.executable).parent
OPEN_TIMEOUT_MS = 30_000
WORKER_THREADS = ("decode-worker", "grid-worker", "open-session", "job")  # as named in explorer/qt


def tool(name: str) -> str:
    """A console script of this environment (latent-train, latent-explorer)."""
    p = VENV_BIN / name
    return str(p) if p.exists() else name


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("model")
    out = tmp / "m.safetensors"
    env = dict(os.environ, LATENT_EXPLORER_CACHE=str(tmp / "cache"))
    cmd = [tool("latent-train"), "--dataset", "synthetic", "--epochs", "1", "--limit", "512", "--channels", "4,8",
           "--hidden", "8", "--threads", "1", "--quiet", "--out", str(out)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"latent-train failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    assert out.is_file()
    return out


@pytest.fixture(scope="session")
def model(checkpoint):
    import torch

    from training.checkpoint import load

    torch.set_num_threads(1)
    return load(checkpoint)


def decode_numpy(model, z) -> np.ndarray:
    """What the app must show for z: the model's decoder output, row-major (N, H, W[, 3])."""
    import torch

    from explorer.core.decode_service import to_display

    with torch.inference_mode():
        out = model.decode(torch.from_numpy(np.atleast_2d(np.asarray(z, np.float32)))).numpy()
    return to_display(out)


@pytest.fixture
def window(qtbot, checkpoint):
    from explorer.qt.main_window import MainWindow

    before = set(threading.enumerate())
    win = MainWindow(checkpoint, dataset="synthetic")
    qtbot.addWidget(win)
    with qtbot.waitSignals([win.sessionChanged, win.decodeShown], timeout=OPEN_TIMEOUT_MS):
        win.show()
    qtbot.waitExposed(win)
    assert win.session is not None
    yield win
    import shiboken6

    decoder, grid_decoder, jobs = win.decoder, win.grid_decoder, [j.job for j in win._jobs]
    if shiboken6.isValid(win):
        win.close()
    assert not decoder.service.alive, "the decode worker is still running after close()"
    assert not grid_decoder.service.alive, "the grid worker is still running after close()"
    assert not any(j.running for j in jobs), "a background job is still running after close()"
    started = [t.name for t in threading.enumerate() if t not in before and t.name.startswith(WORKER_THREADS)]
    assert not started, f"threads still running after close(): {started}"
