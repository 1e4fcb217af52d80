"""Start-up and its error paths, through the real ``latent-explorer`` command.

Every failure at start-up is one line on stderr (``latent-explorer: error: ...``), no traceback,
a non-zero exit, within seconds: no display, a dead X server, a non-model or broken model file,
an unwritable ``--screenshot`` path, a missing dataset. ``--size`` sizes the real window.
"""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_e2e_xvfb import Xvfb, app_env, assert_clean, tool, wait_until, wm_delete_window, xdotool

DISPLAY_VARS = ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")
FAST_S = 10  # a check made before Qt starts (the CPU may be shared with other work)
OPEN_S = 60  # a failure found while opening the model on the worker (imports torch first)


def run(tmp_path: Path, *args: str, unset=DISPLAY_VARS, timeout: float = 120, **env: str):
    e = {k: v for k, v in app_env(tmp_path, **env).items() if k not in unset or k in env}
    t0 = time.monotonic()
    r = subprocess.run([tool("latent-explorer"), *map(str, args)], env=e, capture_output=True, text=True,
                       timeout=timeout)
    return r, time.monotonic() - t0


def one_error_line(r) -> str:
    assert r.returncode not in (0, 134, -6), (r.returncode, r.stderr)
    assert_clean(r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("latent-explorer: error: "), lines[0]
    return lines[0].removeprefix("latent-explorer: error: ")


# ----------------------------------------------------------------------------- the display


@pytest.mark.slow
def test_no_display_is_one_line_saying_how_to_run_offscreen(checkpoint, tmp_path):
    r, seconds = run(tmp_path, checkpoint, "--dataset", "synthetic")
    line = one_error_line(r)
    assert r.returncode == 1 and seconds < FAST_S
    assert "DISPLAY is not set" in line and "QT_QPA_PLATFORM=offscreen" in line and "--screenshot" in line


@pytest.mark.slow
def test_a_dead_x_display_is_one_line(checkpoint, tmp_path):
    free = next(n for n in range(60, 90) if not Path(f"/tmp/.X11-unix/X{n}").exists())
    r, seconds = run(tmp_path, checkpoint, "--dataset", "synthetic", DISPLAY=f":{free}")
    line = one_error_line(r)
    assert r.returncode == 1 and seconds < FAST_S
    assert f"cannot open the X display ':{free}'" in line and "QT_QPA_PLATFORM=offscreen" in line


@pytest.mark.slow
def test_screenshot_needs_no_display(checkpoint, tmp_path):
    """What the no-display line advises works: --screenshot with none of DISPLAY, QT_QPA_PLATFORM set."""
    out = tmp_path / "shot.png"
    r, _ = run(tmp_path, checkpoint, "--dataset", "synthetic", "--screenshot", out, "--size", "800x600")
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (800, 600)


# ----------------------------------------------------------------------------- files that are not models


def _png(p: Path) -> None:
    Image.new("RGB", (8, 8), "red").save(p, format="PNG")


def _jpeg(p: Path) -> None:
    Image.new("RGB", (8, 8), "red").save(p, format="JPEG")


def _npz(p: Path) -> None:
    with open(p, "wb") as f:
        np.savez(f, x=np.zeros(3))


def _zip(p: Path) -> None:
    with zipfile.ZipFile(p, "w") as z:
        z.writestr("notes.txt", "hi")


NOT_MODELS = {
    "png": (_png, "a PNG image"),
    "jpeg": (_jpeg, "a JPEG image"),
    "npz": (_npz, "a NumPy .npz archive"),
    "zip": (_zip, "a zip archive"),
    "pickle": (lambda p: p.write_bytes(pickle.dumps([1, 2], protocol=4)), "a Python pickle"),
    "text": (lambda p: p.write_text("hello\n"), "a text file"),
}


@pytest.mark.slow
@pytest.mark.parametrize("kind", NOT_MODELS)
def test_a_known_non_model_file_is_named(tmp_path, kind):
    make, what = NOT_MODELS[kind]
    path = tmp_path / "model.safetensors"
    make(path)
    out = tmp_path / "never.png"
    for extra in ((), ("--screenshot", out)):
        r, seconds = run(tmp_path, path, *extra)
        assert one_error_line(r) == f"{path}: is not a latent-explorer model (this is {what})."
        assert r.returncode == 1 and seconds < FAST_S and not out.exists()


# ----------------------------------------------------------------------------- --screenshot paths


@pytest.mark.slow
def test_an_unwritable_screenshot_path_fails_at_once(checkpoint, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    (tmp_path / "a-folder.png").mkdir()
    cases = {
        a_file / "sub" / "shot.png": f"{a_file} is a file, not a folder",
        tmp_path / "shot.txt": "a screenshot must be a .png",
        tmp_path / "a-folder.png": "is a folder",
    }
    for out, why in cases.items():
        r, seconds = run(tmp_path, checkpoint, "--dataset", "synthetic", "--screenshot", out)
        line = one_error_line(r)
        assert line.startswith(f"{out}: ") and why in line, line
        assert r.returncode == 1 and seconds < FAST_S


@pytest.mark.slow
def test_a_screenshot_into_missing_folders_is_refused_naming_the_first_one(checkpoint, tmp_path):
    """A mistyped path once made a whole new tree of folders, silently."""
    out = tmp_path / "typo" / "shots" / "o.png"
    r, seconds = run(tmp_path, checkpoint, "--dataset", "synthetic", "--screenshot", out)
    assert one_error_line(r) == f"{out}: cannot be written: no such folder {tmp_path / 'typo'}."
    assert r.returncode == 1 and seconds < FAST_S and not (tmp_path / "typo").exists()


@pytest.mark.slow
def test_a_screenshot_into_one_missing_folder_makes_it(checkpoint, tmp_path):
    out = tmp_path / "shots" / "o.png"
    r, _ = run(tmp_path, checkpoint, "--dataset", "synthetic", "--screenshot", out, QT_QPA_PLATFORM="offscreen")
    assert r.returncode == 0 and out.is_file(), r.stderr


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this user cannot write in: a read-only one of ours, or (root writes anywhere) /sys."""
    if os.geteuid() != 0:
        ro = tmp_path / "read-only"
        ro.mkdir(mode=0o555)
        return ro
    if os.path.isdir("/sys") and _cannot_create_in(Path("/sys")):
        return Path("/sys")
    pytest.skip("no folder here refuses this user (root)")


def _cannot_create_in(folder: Path) -> bool:
    try:
        (folder / ".latent-explorer-probe").touch()
    except OSError:
        return True
    (folder / ".latent-explorer-probe").unlink()
    return False


@pytest.mark.slow
def test_a_screenshot_into_an_unwritable_folder_says_it_is_not_writable(checkpoint, tmp_path):
    folder = _unwritable_folder(tmp_path)
    out = folder / "o.png"
    r, seconds = run(tmp_path, checkpoint, "--dataset", "synthetic", "--screenshot", out)
    line = one_error_line(r)
    assert line.startswith(f"{out}: cannot be written: {folder} is not writable ("), line
    assert "no such folder" not in line and r.returncode == 1 and seconds < FAST_S
    new = folder / "new" / "o.png"  # one level missing, and it cannot be made: the folder is missing
    r, _ = run(tmp_path, checkpoint, "--dataset", "synthetic", "--screenshot", new)
    assert one_error_line(r) == f"{new}: cannot be written: no such folder {folder / 'new'}."


# ----------------------------------------------------------------------------- datasets


@pytest.mark.slow
def test_a_missing_dataset_file_fails_at_once(checkpoint, tmp_path):
    missing = tmp_path / "nope.npz"
    r, seconds = run(tmp_path, checkpoint, "--dataset", f"npz:{missing}", "--screenshot", tmp_path / "o.png")
    assert one_error_line(r) == f"{missing}: no such dataset file (--dataset npz:{missing})."
    assert r.returncode == 1 and seconds < FAST_S


@pytest.mark.slow
def test_a_dataset_that_fails_while_opening_is_one_line(checkpoint, tmp_path):
    out = tmp_path / "o.png"
    r, seconds = run(tmp_path, checkpoint, "--dataset", "no-such-set", "--screenshot", out, QT_QPA_PLATFORM="offscreen")
    assert one_error_line(r).startswith("unknown dataset 'no-such-set'")
    assert r.returncode == 1 and seconds < OPEN_S and not out.exists()


# ----------------------------------------------------------------------------- a real window (Xvfb)


def _xvfb_or_skip() -> Xvfb:
    if shutil.which("Xvfb") is None or shutil.which("xdotool") is None:
        pytest.skip("Xvfb and xdotool are needed (apt-get install xvfb xdotool)")
    return Xvfb()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_window_start_up_failures_exit_with_one_line(checkpoint, tmp_path):
    """In the GUI too: a model or dataset given on the command line that cannot be opened ends the app."""
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(checkpoint.read_bytes()[:5000])
    xvfb = _xvfb_or_skip()
    try:
        for args, start in (((broken, "--dataset", "synthetic"), f"{broken}: "),
                            ((checkpoint, "--dataset", "no-such-set"), "unknown dataset 'no-such-set'")):
            r, seconds = run(tmp_path, *args, DISPLAY=xvfb.display, QT_QPA_PLATFORM="xcb")
            assert one_error_line(r).startswith(start), r.stderr
            assert r.returncode == 1 and seconds < OPEN_S
    finally:
        xvfb.stop()


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_size_sizes_the_real_window(checkpoint, tmp_path):
    xvfb = _xvfb_or_skip()
    err = tmp_path / "app.err"
    app = None
    try:
        env = app_env(tmp_path, DISPLAY=xvfb.display, QT_QPA_PLATFORM="xcb")
        with open(err, "w") as fe:
            app = subprocess.Popen([tool("latent-explorer"), str(checkpoint), "--dataset", "synthetic",
                                    "--size", "900x650"], env=env, stdout=subprocess.DEVNULL, stderr=fe)

        def window():
            r = subprocess.run(["xdotool", "search", "--onlyvisible", "--name", checkpoint.name],
                               env=dict(os.environ, DISPLAY=xvfb.display), capture_output=True, text=True, timeout=10)
            return r.stdout.split()[0] if r.stdout.split() else None

        wid = int(wait_until(window, OPEN_S, "the window", app, err))
        geo = dict(line.split("=") for line in xdotool(xvfb.display, "getwindowgeometry", "--shell", str(wid)).split())
        assert (int(geo["WIDTH"]), int(geo["HEIGHT"])) == (900, 650)
        wm_delete_window(xvfb.display, wid)
        assert app.wait(15) == 0, err.read_text()
        assert_clean(err.read_text())
    finally:
        if app is not None and app.poll() is None:
            app.kill()
            app.wait()
        xvfb.stop()


# ----------------------------------------------------------------------------- compared models


@pytest.mark.slow
def test_a_compared_model_that_cannot_be_shown_is_one_line_at_once(checkpoint, checkpoint_32px, tmp_path):
    """Issue 23: it waited for the 120 s time-out and never said why."""
    out = tmp_path / "o.png"
    r, seconds = run(tmp_path, checkpoint, checkpoint_32px, "--dataset", "synthetic", "--screenshot", out,
                     QT_QPA_PLATFORM="offscreen")
    line = one_error_line(r)
    assert line.startswith(f"{checkpoint_32px}: ") and "takes images of shape (1, 32, 32)" in line, line
    assert r.returncode == 1 and seconds < OPEN_S and not out.exists()


@pytest.mark.slow
def test_a_compared_model_of_another_latent_dimension_just_works(checkpoint, checkpoint_3d, tmp_path):
    """Issue 23 asked for one sentence "or, once any latent dimension is supported, it just works": it does."""
    out = tmp_path / "o.png"
    r, _ = run(tmp_path, checkpoint, checkpoint_3d, "--dataset", "synthetic", "--screenshot", out,
               QT_QPA_PLATFORM="offscreen")
    assert r.returncode == 0 and out.is_file(), r.stderr


# ----------------------------------------------------------------------------- the user's settings


@pytest.mark.slow
def test_a_screenshot_run_never_writes_the_settings_file(checkpoint, tmp_path):
    settings = tmp_path / "settings.ini"
    out = tmp_path / "o.png"
    r, _ = run(tmp_path, checkpoint, "--dataset", "synthetic", "--screenshot", out, QT_QPA_PLATFORM="offscreen",
               LATENT_EXPLORER_SETTINGS=str(settings))
    assert r.returncode == 0 and out.is_file(), r.stderr
    assert not settings.exists()  # neither the window geometry nor the recent models
    settings.write_text("[view]\npalette=tab10\n")
    r, _ = run(tmp_path, checkpoint, "--dataset", "synthetic", "--screenshot", out, QT_QPA_PLATFORM="offscreen",
               LATENT_EXPLORER_SETTINGS=str(settings))
    assert r.returncode == 0, r.stderr
    assert settings.read_text() == "[view]\npalette=tab10\n"
