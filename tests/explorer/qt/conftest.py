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
WORKER_THREADS = ("model-",)  # the model service's lanes (explorer/core/model_service.py)


def tool(name: str) -> str:
    """A console script of this environment (latent-train, latent-explorer)."""
    p = VENV_BIN / name
    return str(p) if p.exists() else name


def train_tiny(tmp: Path, *extra: str) -> Path:
    """A tiny real checkpoint, trained with the real ``latent-train`` on the synthetic dataset."""
    out = tmp / "m.safetensors"
    env = dict(os.environ, LATENT_EXPLORER_CACHE=str(tmp / "cache"))
    cmd = [tool("latent-train"), "--dataset", "synthetic", "--epochs", "1", "--limit", "512", "--channels", "4,8",
           "--hidden", "8", "--threads", "1", "--quiet", *extra, "--out", str(out)]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"latent-train failed ({r.returncode}):\n{r.stdout}\n{r.stderr}"
    assert out.is_file()
    return out


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def checkpoint_32px(tmp_path_factory) -> Path:
    """Like ``checkpoint``, but for 32x32 images (it cannot be compared with it on the same data)."""
    return train_tiny(tmp_path_factory.mktemp("model32"), "--image-size", "32")


@pytest.fixture(scope="session")
def checkpoint_3d(tmp_path_factory) -> Path:
    """Like ``checkpoint``, but with a 3-D latent space (explored through a 2-D slice)."""
    return train_tiny(tmp_path_factory.mktemp("model3d"), "--arch", "mlp", "--latent-dim", "3")


@pytest.fixture(scope="session")
def model(checkpoint):
    import torch

    from training.checkpoint import load

    torch.set_num_threads(1)
    return load(checkpoint)


@pytest.fixture(scope="session")
def decode(model):
    """decode(z) -> what the app must show for z: the decoder's output, row-major (N, H, W[, 3])."""
    import torch

    from explorer.core.decode_service import to_display

    def run(z) -> np.ndarray:
        with torch.inference_mode():
            out = model.decode(torch.from_numpy(np.atleast_2d(np.asarray(z, np.float32)))).numpy()
        return to_display(out)

    return run


class Mouse:
    """Real mouse events on a LatentView's viewport, the way a user produces them.

    ``click`` moves the pointer there first (as a hand does; pyqtgraph routes a click to the items
    under the last hover position), then presses and releases with QTest. ``move`` sends one
    MouseMove event synchronously and processes nothing else, so a burst of moves arrives faster
    than any decode can finish.
    """

    def __init__(self, qtbot, view):
        self.qtbot, self.view = qtbot, view

    def pixel(self, x: float, y: float):
        """The viewport pixel (QPoint) showing data point (x, y)."""
        return self.view.data_to_widget(float(x), float(y))

    def data_at(self, pos) -> np.ndarray:
        """The z the view reports for a viewport pixel (float32, as a decode request carries it)."""
        p = self.view.vb.mapSceneToView(self.view.mapToScene(pos))
        return np.array([p.x(), p.y()], np.float32)

    def pixel_size(self) -> float:
        """Data units per screen pixel (the larger of the two axes)."""
        x0, x1, y0, y1 = self.view.view_rect()
        r = self.view.vb.sceneBoundingRect()
        return max((x1 - x0) / r.width(), (y1 - y0) / r.height())

    def plot_pixels(self, margin: int = 12):
        """(left, top, right, bottom) viewport pixels of the plot area, ``margin`` px inside."""
        r = self.view.mapFromScene(self.view.vb.sceneBoundingRect()).boundingRect()
        return r.left() + margin, r.top() + margin, r.right() - margin, r.bottom() - margin

    def click(self, pos, button=None) -> None:
        from PySide6.QtCore import Qt

        vp = self.view.viewport()
        self.qtbot.mouseMove(vp, pos)
        self.qtbot.mouseClick(vp, button or Qt.MouseButton.LeftButton, pos=pos)

    def move(self, pos) -> None:
        from PySide6.QtCore import QEvent, QPointF, Qt
        from PySide6.QtGui import QMouseEvent
        from PySide6.QtWidgets import QApplication

        vp = self.view.viewport()
        ev = QMouseEvent(QEvent.Type.MouseMove, QPointF(pos), QPointF(vp.mapToGlobal(pos)), Qt.MouseButton.NoButton,
                         Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(vp, ev)


@pytest.fixture
def mouse(qtbot, window) -> Mouse:
    return Mouse(qtbot, window.view)


@pytest.fixture
def window(qtbot, checkpoint):
    from PySide6.QtCore import QThreadPool

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

    service = win.service.service
    if shiboken6.isValid(win):
        win.close()
    assert not service.alive, "a model-service worker is still running after close()"
    assert QThreadPool.globalInstance().activeThreadCount() == 0, "a background worker is still running after close()"
    started = [t.name for t in threading.enumerate() if t not in before and t.name.startswith(WORKER_THREADS)]
    assert not started, f"threads still running after close(): {started}"
