"""Application start-up: QApplication, the main window, ``--screenshot`` rendering."""

from __future__ import annotations

import os
import signal
import sys
from argparse import Namespace
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import QTimer, qInstallMessageHandler
from PySide6.QtWidgets import QApplication

# harmless offscreen-platform chatter; Qt's words for an unreadable value in the settings file, which
# explorer.qt.settings reports itself in one warning line
_QUIET = ("propagateSizeHints", "QVariant::load")


def _qt_messages(mode, context, message: str) -> None:
    if not any(q in message for q in _QUIET):
        print(message, file=sys.stderr)


def make_app() -> QApplication:
    qInstallMessageHandler(_qt_messages)
    pg.setConfigOptions(imageAxisOrder="row-major", antialias=False, background="w", foreground="k")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("Latent Explorer")
    app.setOrganizationName("latent-explorer")
    return app


def run(args: Namespace) -> int:
    app = make_app()
    from explorer.qt.main_window import MainWindow

    model, dataset, split, underlay = args.model, args.dataset, args.split, args.underlay
    compares = bool(getattr(args, "compare", None))
    if args.scene:  # the scene names its model (and data) unless given on the command line
        from explorer.core.scene import SceneError, load_scene

        try:
            scene = load_scene(args.scene)
        except SceneError as e:
            print(f"latent-explorer: error: {e}", file=sys.stderr)
            return 1
        if model is None:
            model = scene.resolved_model(args.scene)
            dataset, split = dataset or scene.dataset, split or scene.split
            if not Path(model).exists():
                print(f"latent-explorer: error: {args.scene}: its model {model} does not exist.", file=sys.stderr)
                return 1
        underlay = underlay or scene.underlay
        compares = compares or bool(scene.compared)
    own = (args.module, args.weights) if getattr(args, "module", None) else None
    win = MainWindow(model, dataset=dataset, split=split, data_dir=args.data_dir,
                     compare=list(getattr(args, "compare", None) or []), own=own,
                     remember=not args.screenshot)  # an offscreen render never writes the user's settings
    if args.underlay:
        win.set_underlay(True)
    win.pending_scene = args.scene
    size = args.size or ((1280, 800) if args.screenshot else None)  # --size sizes the real window too
    if size:  # presentation mode keeps the size asked for instead of going full screen
        win.present_fullscreen = False
        win.resize(*size)
    if getattr(args, "presentation", False):
        win.state.presentation = True
        win.present_from_cli = True  # a scene opened at start-up does not turn it off
    signal.signal(signal.SIGINT, lambda *_: win.close())  # Ctrl-C in the terminal quits cleanly
    tick = QTimer()
    tick.start(200)  # lets Python see the SIGINT while Qt's loop runs
    tick.timeout.connect(lambda: None)
    if args.screenshot:
        return _screenshot(app, win, Path(args.screenshot), size, underlay, strict=bool(args.scene), compares=compares)
    win.show()
    if os.environ.get("LATENT_EXPLORER_STARTUP_PROBE"):
        _startup_probe(app, win)
        return app.exec()
    return _run_window(app, win)


def _run_window(app: QApplication, win) -> int:
    """The event loop; if the model given at start-up cannot be opened, one line on stderr and exit 1."""
    failed: list[str] = []

    def first_open_failed(message: str) -> None:
        if win.session is None and not failed:
            failed.append(message)
            print(f"latent-explorer: error: {message}", file=sys.stderr)
            win.close()
            app.exit(1)

    def opened(_session) -> None:
        win.opener.failed.disconnect(first_open_failed)
        win.sessionChanged.disconnect(opened)  # from now on a failed open shows in the window only

    def compare_failed(message: str) -> None:  # the window shows it and goes on with the models it has
        print(f"latent-explorer: error: {message}", file=sys.stderr)

    win.opener.failed.connect(first_open_failed)
    win.sessionChanged.connect(opened)
    win.compare.failed.connect(compare_failed)
    code = app.exec()
    return 1 if failed else code


def _startup_probe(app: QApplication, win) -> None:
    """For benchmarks/explorer_speed.py: print when the window is shown, the first image and the points are
    on screen, then quit.

    Lines on stderr (T: time.time()): ``startup-probe shown T``; ``startup-probe interactive T`` at the first
    decoded image, after ``startup-probe torch at interactive: imported`` (or ``not imported``): whether
    torch was already imported then (issue 11: it need not be); ``startup-probe points T`` when the scatter
    is first on screen (a big dataset's first density raster set on its image -- from 2,000,000 points a
    preview drawn from a sample -- or a small one's points, the event-loop turn after the session is shown);
    ``startup-probe points-full T`` when a raster of every point is first on screen (big datasets only); and
    ``startup-probe done T`` once the image and the points (every point) have been shown."""
    import time

    state = {"done": False, "image": False, "points": False, "full": False}

    def finish(code: int, what: str) -> None:
        if not state["done"]:
            state["done"] = True
            print(f"startup-probe {what}", file=sys.stderr, flush=True)
            win.close()
            app.exit(code)

    def interactive(_shown) -> None:
        t = time.time()
        if state["done"] or state["image"]:
            return
        state["image"] = True
        torch = "imported" if "torch" in sys.modules else "not imported"
        print(f"startup-probe torch at interactive: {torch}", file=sys.stderr, flush=True)
        print(f"startup-probe interactive {t:.6f}", file=sys.stderr, flush=True)
        if state["full"]:
            finish(0, f"done {time.time():.6f}")

    def points(*_a) -> None:
        t = time.time()
        if state["done"] or state["full"] or win.session is None:
            return
        if not state["points"]:
            state["points"] = True
            print(f"startup-probe points {t:.6f}", file=sys.stderr, flush=True)
        if win.view.density.active and getattr(win.view.density, "preview_shown", False):
            state["preview"] = True
            return
        state["full"] = True
        if state.get("preview"):
            print(f"startup-probe points-full {t:.6f}", file=sys.stderr, flush=True)
        if state["image"]:
            finish(0, f"done {time.time():.6f}")

    QTimer.singleShot(0, lambda: print(f"startup-probe shown {time.time():.6f}", file=sys.stderr, flush=True))
    win.decodeShown.connect(interactive)
    win.view.density.shown.connect(points)
    win.sessionChanged.connect(lambda _s: None if win.view.density.active else QTimer.singleShot(0, points))
    win.errorShown.connect(lambda msg: finish(1, f"error {msg}") if win.session is None else None)


def _screenshot(app: QApplication, win, out: Path, size: tuple[int, int], underlay: bool, strict: bool = False,
                timeout_s: float = 120, compares: bool = False) -> int:
    """Render once the model is open, the first decode shown (and the underlay, if on); then exit."""
    state = {"code": None}
    waiting = {"decode"} | ({"underlay"} if underlay else set()) | ({"compare"} if compares else set())

    def finish(code: int, message: str | None = None) -> None:
        if state["code"] is not None:
            return
        state["code"] = code
        if message:
            print(f"latent-explorer: {message}", file=sys.stderr)
        win.close()
        app.quit()

    def ready(what: str) -> None:
        waiting.discard(what)
        if not waiting and not state.get("scheduled"):
            state["scheduled"] = True  # once: a later decode must not grab (and overwrite) again
            QTimer.singleShot(150, grab)  # let the last paint settle

    def grab() -> None:
        app.processEvents()
        why = ""
        try:  # checked before start-up too; this covers the disk filling up or the folder vanishing since
            out.parent.mkdir(parents=True, exist_ok=True)
            saved = win.grab().save(str(out))
        except OSError as e:
            saved, why = False, f" ({e.strerror or e})"
        if not saved:
            finish(1, f"error: {out}: could not be written{why}.")
        else:
            print(f"wrote {out}", file=sys.stderr)
            finish(0)

    win.decodeShown.connect(lambda _r: ready("decode"))
    def compared_shown() -> None:  # every compared pane has its first image
        ctls = win.panes.controllers[: len(win.state.sessions)]
        if all(c.last is not None and c.idle for c in ctls):
            ready("compare")
        else:
            QTimer.singleShot(20, compared_shown)

    win.compare.opened.connect(compared_shown)
    win.compare.failed.connect(lambda msg: finish(1, f"error: {msg}"))  # a compared model cannot be shown
    win.underlayShown.connect(lambda _r: ready("underlay"))
    # before a model is open every error is fatal; with a scene, so is an error applying it
    win.errorShown.connect(lambda msg: finish(1, f"error: {msg}") if (win.session is None or strict) else None)
    QTimer.singleShot(int(timeout_s * 1000), lambda: finish(1, "error: timed out waiting for the model"))
    win.resize(*size)
    win.show()
    app.exec()
    return state["code"] if state["code"] is not None else 1
