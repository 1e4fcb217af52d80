"""Root fixtures shared by every test folder.

- Qt runs on the ``offscreen`` platform unless the caller chose one (set before Qt is imported).
- The ``qapp`` fixture builds the QApplication the way the app does (``explorer.qt.app.make_app``:
  row-major images, fixed colours), so widgets under test look and map pixels as in the real app.
- ``own_settings``: every test gets its own settings file (QSettings) and cache folder, never the user's.
- A leak check in the napari style for the widget tests (``tests/explorer/qt``): a test fails if it
  leaves a worker thread (or any non-daemon thread) running, or a top-level widget alive.
"""

from __future__ import annotations

import gc
import os
import threading
import time

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

WORKER_THREADS = ("model-",)  # the model service's lanes
_QT_TESTS = ("tests", "explorer", "qt")
_app = None  # the QApplication lives for the whole session


@pytest.fixture(autouse=True)
def own_settings(tmp_path, monkeypatch):
    """Each test (and each app it starts in a subprocess) reads and writes its own settings file,
    never the user's."""
    monkeypatch.setenv("LATENT_EXPLORER_SETTINGS", str(tmp_path / "settings.ini"))
    # and its own cache folder (downloads, encoded means), so no test reads what another one wrote
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path / "cache"))
    # a dataset download that a test did not arrange goes to a closed port on loopback, never out
    monkeypatch.setenv("LATENT_EXPLORER_MIRROR", "http://127.0.0.1:9/")


@pytest.fixture(scope="session")
def qapp():
    """The application, made exactly as ``latent-explorer`` makes it (overrides pytest-qt's)."""
    global _app
    from explorer.qt.app import make_app

    _app = make_app()
    return _app


def _in_qt_tests(request) -> bool:
    parts = request.node.path.parts
    return any(parts[i : i + 3] == _QT_TESTS for i in range(len(parts) - 2))


def _lingering_threads(before: set[threading.Thread], grace: float) -> list[threading.Thread]:
    """Threads started since ``before`` that are workers or non-daemon and still alive after ``grace`` s."""
    end = time.monotonic() + grace
    suspects = [t for t in threading.enumerate()
                if t not in before and (not t.daemon or t.name.startswith(WORKER_THREADS))]
    for t in suspects:
        t.join(max(0.0, end - time.monotonic()))
    return [t for t in suspects if t.is_alive()]


def _widget_key(w) -> int:
    import shiboken6

    return shiboken6.getCppPointer(w)[0]


def _flush_deletes(collect: bool = False) -> None:
    """Run pending deleteLater()s (processEvents alone leaves them queued outside an event loop)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    for _ in range(2):
        if collect:
            gc.collect()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()


@pytest.fixture(autouse=True)
def leak_check(request):
    """Fail a Qt test that leaves a worker thread running or a top-level widget open."""
    if not _in_qt_tests(request):
        yield
        return
    app = request.getfixturevalue("qapp")
    threads_before = set(threading.enumerate())
    widgets_before = {_widget_key(w) for w in app.topLevelWidgets()}
    yield
    problems = []
    lingering = _lingering_threads(threads_before, grace=2.0)
    if lingering:
        problems.append("threads still running after the test: " + ", ".join(t.name for t in lingering))
    leaked = _new_windows(app, widgets_before)
    if leaked:  # maybe only unreachable Python wrappers keep them: collect, then look again
        _flush_deletes(collect=True)
        leaked = _new_windows(app, widgets_before)
    if leaked:
        problems.append("top-level widgets left alive after the test: "
                        + ", ".join(f"{type(w).__name__}({w.windowTitle()!r}, visible={w.isVisible()})" for w in leaked))
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)


def _new_windows(app, before: set[int]) -> list:
    import shiboken6

    _flush_deletes()
    return [w for w in app.topLevelWidgets() if _widget_key(w) not in before and shiboken6.isValid(w) and _leaks(w)]


def _leaks(w) -> bool:
    """A window that is still shown, or one the test created and never deleted.

    Parentless, never-shown menus that pyqtgraph keeps in its items' Python attributes (the
    ViewBox and PlotItem context menus) die with those Python objects, not with the Qt tree; they
    are freed when pytest drops the test's fixture values, so they are not counted as leaks.
    """
    from PySide6.QtWidgets import QMenu

    if w.isVisible():
        return True
    while isinstance(w, QMenu):  # a menu, or a submenu of a menu, that no widget owns
        if w.parent() is None:
            return False
        w = w.parent()
    return True
