"""The real ``latent-explorer`` command, end to end.

- ``--screenshot`` on the offscreen platform: exit code, PNG size, one-line errors.
- A real X window on a private Xvfb screen: start, click the plane with xdotool, close the window
  the way a window manager does (a WM_DELETE_WINDOW client message), and require a clean exit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

VENV_BIN = Path(sys.executable).parent
BAD_STDERR = ("Traceback", "Fatal Python error", "QThread: Destroyed while thread is still running", "Segmentation fault")


def tool(name: str) -> str:
    """A console script of this environment (latent-explorer)."""
    p = VENV_BIN / name
    return str(p) if p.exists() else name


def app_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, LATENT_EXPLORER_CACHE=str(tmp_path / "cache"), PYTHONFAULTHANDLER="1")
    env.update(extra)
    return env


def assert_clean(stderr: str) -> None:
    for bad in BAD_STDERR:
        assert bad not in stderr, f"{bad!r} on stderr:\n{stderr}"


# ----------------------------------------------------------------------------- --screenshot (offscreen)


@pytest.mark.slow
def test_screenshot_writes_a_png_of_the_requested_size(checkpoint, tmp_path):
    from PIL import Image

    out = tmp_path / "shot.png"
    r = subprocess.run([tool("latent-explorer"), str(checkpoint), "--dataset", "synthetic", "--screenshot", str(out),
                        "--size", "800x600"], env=app_env(tmp_path, QT_QPA_PLATFORM="offscreen"),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert_clean(r.stderr)
    with Image.open(out) as im:
        assert im.format == "PNG" and im.size == (800, 600)
        assert len(im.convert("RGB").getcolors(1 << 20) or []) > 20, "the screenshot is (nearly) blank"


@pytest.mark.slow
def test_bad_checkpoint_exits_non_zero_with_one_line(checkpoint, tmp_path):
    missing = tmp_path / "missing.safetensors"
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(checkpoint.read_bytes()[:5000])
    out = tmp_path / "never.png"
    env = app_env(tmp_path, QT_QPA_PLATFORM="offscreen")
    for path, code in ((missing, 2), (broken, 1)):
        r = subprocess.run([tool("latent-explorer"), str(path), "--dataset", "synthetic", "--screenshot", str(out)],
                           env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == code, (r.returncode, r.stderr)
        assert_clean(r.stderr)
        errors = [line for line in r.stderr.splitlines() if line.strip()]
        assert len(errors) == 1, r.stderr
        assert errors[0].startswith("latent-explorer: error: ") and str(path) in errors[0], errors[0]
        assert not out.exists()


# ----------------------------------------------------------------------------- a real X window


class Xvfb:
    """A private X server on the first free display in 90..99 (stopped by ``stop``)."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.display = ""
        for n in range(90, 100):
            if Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists():
                continue
            proc = subprocess.Popen(["Xvfb", f":{n}", "-screen", "0", "1280x1024x24", "-nolisten", "tcp"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            end = time.monotonic() + 10
            while time.monotonic() < end and proc.poll() is None and not Path(f"/tmp/.X11-unix/X{n}").exists():
                time.sleep(0.05)
            # the socket can appear before the server answers: wait until a client really connects
            from explorer.startup import x11_connect_error

            while time.monotonic() < end and proc.poll() is None and x11_connect_error(f":{n}") is not None:
                time.sleep(0.05)
            if proc.poll() is None and x11_connect_error(f":{n}") is None:
                self.proc, self.display = proc, f":{n}"
                return
            proc.kill()
            proc.wait()
        raise RuntimeError("no free X display in :90..:99")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def xdotool(display: str, *args: str, timeout: float = 30) -> str:
    r = subprocess.run(["xdotool", *args], env=dict(os.environ, DISPLAY=display), capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"xdotool {' '.join(args)} failed: {r.stderr}"
    return r.stdout.strip()


def wm_delete_window(display: str, window: int) -> None:
    """Ask the window to close as a window manager does: a WM_PROTOCOLS / WM_DELETE_WINDOW message."""
    x11 = ctypes.cdll.LoadLibrary(ctypes.util.find_library("X11") or "libX11.so.6")
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]

    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                    ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]

    class XEvent(ctypes.Union):
        _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]

    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.POINTER(XEvent)]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    dpy = x11.XOpenDisplay(display.encode())
    assert dpy, f"cannot open display {display}"
    try:
        ev = XEvent()
        ev.xclient.type = 33  # ClientMessage
        ev.xclient.window = window
        ev.xclient.message_type = x11.XInternAtom(dpy, b"WM_PROTOCOLS", 0)
        ev.xclient.format = 32
        ev.xclient.data[0] = x11.XInternAtom(dpy, b"WM_DELETE_WINDOW", 0)
        ev.xclient.data[1] = 0  # CurrentTime
        assert x11.XSendEvent(dpy, window, 0, 0, ctypes.byref(ev))
        x11.XFlush(dpy)
    finally:
        x11.XCloseDisplay(dpy)


def grab(display: str, box: tuple[int, int, int, int]):
    """The window's pixels as the X server has them (Pillow's XCB grab; None if unavailable)."""
    try:
        from PIL import ImageGrab

        return ImageGrab.grab(bbox=box, xdisplay=display).convert("RGB")
    except Exception:  # noqa: BLE001 - a Pillow built without XCB: the pixel check is skipped
        return None


def wait_until(cond, timeout: float, what: str, proc: subprocess.Popen | None = None, err: Path | None = None):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = cond()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"latent-explorer exited ({proc.returncode}) while waiting for {what}:\n"
                        + (err.read_text() if err else ""))
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}" + (f":\n{err.read_text()}" if err else ""))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_real_window_click_and_window_manager_close(checkpoint, tmp_path):
    if shutil.which("Xvfb") is None:
        pytest.skip("Xvfb is not installed (apt-get install xvfb)")
    if shutil.which("xdotool") is None:
        pytest.fail("xdotool is not installed (apt-get install xdotool); the end-to-end window test needs it")
    xvfb = Xvfb()
    out, err = tmp_path / "app.out", tmp_path / "app.err"
    app = None
    try:
        env = app_env(tmp_path, DISPLAY=xvfb.display, QT_QPA_PLATFORM="xcb")
        with open(out, "w") as fo, open(err, "w") as fe:
            app = subprocess.Popen([tool("latent-explorer"), str(checkpoint), "--dataset", "synthetic"],
                                   env=env, stdout=fo, stderr=fe)
        # the window, once the model is open (its title then names the file)
        wid = int(wait_until(lambda: _find_window(xvfb.display, checkpoint.name), 60, "the window", app, err))
        geo = dict(line.split("=") for line in xdotool(xvfb.display, "getwindowgeometry", "--shell", str(wid)).split())
        x, y, w, h = (int(geo[k]) for k in ("X", "Y", "WIDTH", "HEIGHT"))
        # sized to the screen (1280x1024 here, no panels or task bar): 85 % of it, not a fixed size
        assert (w, h) == (int(1280 * 0.85), int(1024 * 0.85))
        box = (x, y, x + w, y + h)
        # click the plane: a point well inside the plot, below the legend, away from the marker
        xdotool(xvfb.display, "mousemove", "--window", str(wid), str(w // 5), str(int(h * 0.6)))
        time.sleep(0.5)  # paint settles (pyqtgraph shows its auto-range button while the pointer is over the plot)
        before = wait_until(lambda: _settled(xvfb.display, box), 10, "a settled window", app, err)
        xdotool(xvfb.display, "click", "1")
        if before is not True:  # the click changed what is shown: marker, decoded image, caption, status
            wait_until(lambda: _differs(xvfb.display, box, before), 10, "the click to change the window", app, err)

        wm_delete_window(xvfb.display, wid)
        try:
            code = app.wait(15)
        except subprocess.TimeoutExpired:
            pytest.fail("latent-explorer still running 15 s after its window was asked to close:\n" + err.read_text())
        stderr = err.read_text()
        assert code == 0, f"exit code {code}:\n{stderr}"
        assert_clean(stderr)
    finally:
        if app is not None and app.poll() is None:
            app.kill()
            app.wait()
        xvfb.stop()


def _find_window(display: str, title_part: str) -> str | None:
    r = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", "Latent Explorer"],
                       env=dict(os.environ, DISPLAY=display), capture_output=True, text=True, timeout=10)
    for wid in r.stdout.split():
        name = subprocess.run(["xdotool", "getwindowname", wid], env=dict(os.environ, DISPLAY=display),
                              capture_output=True, text=True, timeout=10).stdout
        if title_part in name:
            return wid
    return None


def _settled(display: str, box):
    """Two grabs 0.3 s apart that agree (the picture to compare with), or True if grabbing is unavailable."""
    a = grab(display, box)
    if a is None:
        return True
    time.sleep(0.3)
    b = grab(display, box)
    return a if b is not None and a.tobytes() == b.tobytes() else None


def _differs(display: str, box, before) -> bool:
    now = grab(display, box)
    return now is not None and now.tobytes() != before.tobytes()
