"""Start before torch (issue 11, "Start"): the bundled model with its shipped means shows its first decoded
image while the numpy decoder serves (no torch imported in ``latent-explorer`` by then), and the torch
model takes over without a visible change. Drawing or asking for the posterior spread in that light
phase waits for the encoder: a short status, then the right result; never an error."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
import torch
from test_e2e_xvfb import app_env, assert_clean, tool

from explorer.core import drawing
from explorer.core.decode_service import to_display
from explorer.core.session import default_model_path

OPEN_MS = 60_000
UPGRADE_MS = 120_000  # importing torch in a test process that has it already is quick; loaded CI machines are not
TOL = 1e-5


@pytest.fixture(scope="module")
def bundled():
    from training.checkpoint import load

    return load(default_model_path())


def torch_decode(model, z) -> np.ndarray:
    with torch.inference_mode():
        return to_display(model.decode(torch.from_numpy(np.atleast_2d(np.asarray(z, np.float32)))).numpy())


def lane_backend(win) -> str:
    fn = win.service.service.lane("pane")._decode_fn
    return getattr(fn, "backend", None) or "torch"


@pytest.fixture
def light_window(qtbot, monkeypatch):
    """The main window on the bundled model; yields it with what was true at its first decodeShown.

    Its torch phase starts 1.5 s after that image (not 150 ms), so a test acts surely in the light phase."""
    from PySide6.QtCore import QThreadPool

    from explorer.qt import opener
    from explorer.qt.main_window import MainWindow

    monkeypatch.setattr(opener, "GO_DELAY_MS", 1500)
    win = MainWindow()  # the bundled model; its test-split means ship in assets/means
    qtbot.addWidget(win)
    first: dict = {}

    def on_shown(shown) -> None:
        if not first:
            s = win.session
            first.update(shown=shown, backend=lane_backend(win), ready=s.ready.is_set(), model=s.model, session=s)

    win.decodeShown.connect(on_shown)
    with qtbot.waitSignal(win.decodeShown, timeout=OPEN_MS):
        win.show()
    yield win, first
    service = win.service.service
    win.close()
    assert not service.alive
    assert QThreadPool.globalInstance().activeThreadCount() == 0, "a background worker is still running after close()"


def test_the_first_image_is_numpy_decoded_and_equals_torch_then_torch_takes_over(light_window, qtbot, bundled):
    win, first = light_window
    assert first["backend"] == "numpy" and not first["ready"] and first["model"] is None
    assert first["session"].means_cached
    shown = first["shown"]
    np.testing.assert_allclose(shown.image, torch_decode(bundled, shown.z)[0], rtol=0, atol=TOL)
    before = win.pane.decoded.image.copy()
    with qtbot.waitSignal(win.upgraded, timeout=UPGRADE_MS):
        pass
    s = win.session
    assert s.ready.is_set() and s.model is not None and lane_backend(win) == "torch"
    assert win.service.service.model is s.model
    np.testing.assert_array_equal(win.pane.decoded.image, before)  # no flicker: nothing was decoded again
    z = (0.25, -0.5)
    with qtbot.waitSignal(win.decodeShown, timeout=10_000) as got:
        win.state.set_point(z, source="click")
    np.testing.assert_allclose(got.args[0].image, torch_decode(bundled, z)[0], rtol=0, atol=TOL)
    assert not win.last_error


def test_drawing_in_the_light_phase_is_encoded_once_the_encoder_is_ready(light_window, qtbot, bundled):
    win, first = light_window
    panel = win.draw
    x = np.zeros((1, 28, 28), np.float32)
    x[0, 6:22, 10:18] = 1.0  # a bright bar
    panel.canvas.set_array(drawing.to_canvas(x, panel.canvas.scale))
    assert not win.session.ready.is_set()
    with qtbot.waitSignal(panel.encoded, timeout=UPGRADE_MS) as got:
        panel.encode()
        assert "loading the encoder" in panel.status.text()
    mean, recon = got.args[0]
    with torch.inference_mode():
        want = bundled.encode(torch.from_numpy(panel.model_input()[None]))[0].numpy()[0]
    np.testing.assert_allclose(mean, want, rtol=0, atol=TOL)
    assert win.session.ready.is_set() and not win.last_error


def test_posterior_spread_asked_for_in_the_light_phase(light_window, qtbot, bundled):
    win, first = light_window
    assert not win.session.ready.is_set()
    with qtbot.waitSignal(win.spread.computed, timeout=UPGRADE_MS) as got:
        win.state.ellipses = True
        assert "loading the encoder" in win.progress.format()
    s = got.args[0]
    assert s is win.session and s.logvars.shape == (len(s.labels), 2)
    with torch.inference_mode():
        x = torch.from_numpy(s.images[:20].astype(np.float32) / 255)
        want = bundled.encode(x)[1].numpy()
    np.testing.assert_allclose(s.logvars[:20], want, rtol=0, atol=TOL)
    assert not win.last_error


def test_the_startup_probe_says_torch_was_not_imported(tmp_path):
    """``latent-explorer`` on the bundled model: at the first decoded image torch is not imported yet."""
    env = app_env(tmp_path, QT_QPA_PLATFORM="offscreen", LATENT_EXPLORER_STARTUP_PROBE="1")
    r = subprocess.run([tool("latent-explorer")], env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    assert_clean(r.stderr)
    lines = [line.split() for line in r.stderr.splitlines() if line.startswith("startup-probe")]
    names = [parts[1] for parts in lines]
    assert names[0] == "shown" and names[-1] == "done", r.stderr  # the points and the first image, in either order
    assert sorted(names[1:-1]) == ["interactive", "points", "torch"] and names.index("torch") + 1 == names.index("interactive")
    assert " ".join(lines[names.index("torch")]) == "startup-probe torch at interactive: not imported"
    assert "Traceback" not in r.stderr and "warning" not in r.stderr


def test_a_torch_phase_that_fails_leaves_numpy_decoding_and_says_why(qtbot, monkeypatch, light_window):
    from explorer.core.session import Session

    win, first = light_window
    monkeypatch.setattr(Session, "_torch_model", lambda self, threads, stop=None: (_ for _ in ()).throw(
        ValueError("no torch here")))  # a UserError-free failure: the opener keeps its traceback on stderr
    with qtbot.waitSignal(win.errorShown, timeout=UPGRADE_MS) as err:
        pass
    assert "could not be loaded (no torch here)" in err.args[0]
    assert win.session.ready.is_set() and win.session.model is None and lane_backend(win) == "numpy"
    z = (-0.5, 0.75)
    with qtbot.waitSignal(win.decodeShown, timeout=10_000) as got:  # decoding goes on, with numpy
        win.state.set_point(z, source="click")
    assert got.args[0].image.shape == (28, 28)
    with qtbot.waitSignal(win.errorShown, timeout=10_000) as err:  # an encode says why it cannot run
        win.draw.encode()
    assert "could not be loaded (no torch here)" in err.args[0]


def test_wrong_cached_means_are_replaced_once_torch_is_loaded(qtbot, monkeypatch):
    """Issue 23: cached means of the right shape, all zeros, were shown as the plane and never rewritten."""
    from explorer.core.means_cache import cache_folder
    from explorer.core.session import ASSETS
    from explorer.qt import opener
    from explorer.qt.main_window import MainWindow

    monkeypatch.setattr(opener, "GO_DELAY_MS", 1500)
    folder = cache_folder()  # this test's own (tests/conftest.py): read before the bundled means
    folder.mkdir(parents=True)
    shipped = {f.name: np.load(f) for f in (ASSETS / "means").glob("*.npy")}
    for name, means in shipped.items():
        np.save(folder / name, np.zeros_like(means))
    win = MainWindow()
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.decodeShown, timeout=OPEN_MS):
        win.show()
    assert win.session.means_cached and not win.session.means.any()  # in range: shown until torch is loaded
    qtbot.waitUntil(lambda: win.session.ready.is_set() and win.session.means.any(), timeout=UPGRADE_MS)
    (name,) = [n for n, m in shipped.items() if m.shape == win.session.means.shape]
    np.testing.assert_allclose(win.session.means, shipped[name], rtol=0, atol=1e-4)
    np.testing.assert_array_equal(win.view.points_data[0], win.session.means)  # the plane shows them
    np.testing.assert_array_equal(np.load(folder / name), win.session.means)  # and the file is rewritten
    assert not win.last_error
    win.close()
