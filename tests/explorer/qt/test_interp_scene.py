"""Interpolation panel, bookmarks, scenes, presentation mode and the help overlay, with real widgets."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from explorer.core import latent
from explorer.core.scene import load_scene

TIMEOUT = 10_000


def set_ab(qtbot, window, a, b):
    """Set A and B the way a user does: put the current point there, press A / B."""
    for key, z in (("a", a), ("b", b)):
        with qtbot.waitSignal(window.decodeShown, timeout=TIMEOUT):
            window.state.set_point(z)
        qtbot.keyClick(window, getattr(Qt.Key, f"Key_{key.upper()}"))
    ip = window.state.interpolation
    np.testing.assert_allclose([ip.a, ip.b], [a, b], atol=1e-6)
    assert window.interp.label_a.text() == f"A: ({a[0]:+.2f}, {a[1]:+.2f})"


@pytest.mark.parametrize("method", ["linear", "spherical"])
def test_slider_shows_decoder_output_at_interpolated_z(qtbot, window, decode, method):
    ip = window.interp
    a, b = np.array([-1.0, 0.5], np.float32), np.array([1.5, -0.25], np.float32)
    set_ab(qtbot, window, a, b)
    ip.method.setCurrentText(method)
    assert window.state.interpolation.method == method
    for t in (0.0, 0.37, 1.0, 1.5, -0.5):
        with qtbot.waitSignal(window.decodeShown, timeout=TIMEOUT,
                              check_params_cb=lambda r, t=t: r.target.t is not None and abs(r.target.t - t) < 1e-9
                              and r.target.method == method):
            ip.slider.setValue(t)  # what dragging the slider does
        want_z = latent.interpolate(a, b, t, method)
        np.testing.assert_allclose(window.pane.z, want_z, atol=1e-6)
        np.testing.assert_allclose(window.pane.decoded.image, decode(want_z)[0], atol=1e-6)
        assert f"interpolation t = {t:+.2f} ({method})" in window.pane.caption.text().replace("\xa0", " ")
        # the nearest image, the status bar and the marker describe the same z
        i = window.pane.displayed.nearest_index
        d = ((window.session.means - window.pane.z) ** 2).sum(1)
        assert d[i] == d.min() and f"(#{i}," in window.status_label.text()
        mk = window.view.marker.pos()
        np.testing.assert_allclose([mk.x(), mk.y()], want_z, atol=1e-6)
    # the diamond at t sits on the path
    pos = window.view.overlays.t_item.getData()
    np.testing.assert_allclose([pos[0][0], pos[1][0]], latent.interpolate(a, b, -0.5, method), atol=1e-6)


def test_filmstrip_png_and_gif_export(qtbot, window, decode, tmp_path):
    ip = window.interp
    a, b = np.array([-1.0, 0.0], np.float32), np.array([1.0, 1.0], np.float32)
    ip.frames.setValue(5)
    with qtbot.waitSignal(ip.filmstripShown, timeout=TIMEOUT):
        set_ab(qtbot, window, a, b)
    want = decode(latent.lerp(a, b, np.linspace(0, 1, 5)))
    np.testing.assert_allclose(ip.filmstrip_images, want, atol=1e-6)
    png = tmp_path / "strip.png"
    assert ip.export_png(str(png))
    img = np.asarray(Image.open(png))
    h, w = want.shape[1:3]
    assert img.shape == (4 * h, 4 * (5 * w + 4 * 2))  # 4x nearest upscale, 2-px gaps
    assert abs(int(img[0, 0]) - round(255 * float(want[0, 0, 0]))) <= 1
    gif = tmp_path / "anim.gif"
    with qtbot.waitSignal(ip.exported, timeout=30_000):
        rid = ip.export_gif(str(gif), n_frames=6)  # decoded by the model service, written by a worker
    assert rid is not None
    with Image.open(gif) as im:
        assert im.n_frames == 6 + 4  # ping-pong: forward 6, back 4
        im.seek(1)
        frame = np.asarray(im.convert("L"), np.float32) / 255
    want1 = decode(latent.lerp(a, b, 0.2))[0]
    k = frame.shape[0] // want1.shape[0]  # nearest-neighbour upscaled: sample each pixel's centre
    frame = frame[k // 2 :: k, k // 2 :: k]
    assert np.abs(frame - want1).max() <= 2 / 255 + 1e-6  # GIF palette rounding
    assert not list(tmp_path.glob("*.tmp"))


def test_export_without_points_says_so(qtbot, window, tmp_path):
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT):
        window.interp.export_png(str(tmp_path / "x.png"))
    assert "Set A and B first" in window.error_label.text()
    assert not (tmp_path / "x.png").exists()


def test_play_animates_back_and_forth(qtbot, window):
    ip = window.interp
    set_ab(qtbot, window, (-1.0, 0.0), (1.0, 0.0))
    window.state.interpolation.t = 0.98
    assert ip.slider.value() == pytest.approx(0.98)
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert ip.btn_play.isChecked()
    seen = []
    window.state.interpolation.events.t.connect(lambda v, _old: seen.append(float(v)))
    qtbot.waitUntil(lambda: len(seen) > 8, timeout=TIMEOUT)
    assert ip.slider.value() == pytest.approx(window.state.interpolation.t)  # the slider follows
    qtbot.keyClick(window, Qt.Key.Key_Space)
    assert not ip.btn_play.isChecked()
    assert max(seen) <= 1.0 and min(seen) >= 0.0
    assert any(b < a for a, b in zip(seen, seen[1:])), "it turned back at t = 1"


def test_bookmarks_and_arrow_keys(qtbot, window):
    bm = window.bookmarks
    for z in ((0.1, 0.2), (-0.3, 0.4)):
        with qtbot.waitSignal(window.decodeShown, timeout=TIMEOUT):
            window.state.set_point(z)
        qtbot.keyClick(window, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert [m.z for m in window.state.bookmarks] == [pytest.approx((0.1, 0.2)), pytest.approx((-0.3, 0.4))]
    assert bm.list.count() == 2
    window.state.tour.seconds_per_leg = window.state.tour.hold_seconds = 0.1  # each key glides one leg
    window.setFocus()

    def key(k) -> None:
        qtbot.keyClick(window, k)
        qtbot.waitUntil(lambda: not bm.player.running and window.pane.z is not None and window.panes.idle,
                        timeout=TIMEOUT)

    key(Qt.Key.Key_Right)
    np.testing.assert_allclose(window.pane.z, [0.1, 0.2], atol=1e-6)
    assert window.pane.caption.text().startswith("bookmark \u201c1 near ")
    key(Qt.Key.Key_Right)
    np.testing.assert_allclose(window.pane.z, [-0.3, 0.4], atol=1e-6)
    key(Qt.Key.Key_Left)
    np.testing.assert_allclose(window.pane.z, [0.1, 0.2], atol=1e-6)


def test_scene_round_trip(qtbot, window, tmp_path):
    set_ab(qtbot, window, (-0.5, 0.25), (0.75, -0.5))
    window.interp.method.setCurrentText("spherical")
    window.interp.slider.setValue(0.4)
    window.state.add_bookmark("here", (0.3, 0.3))
    window.legend.rows[2].click()  # a click on the class list's row hides the class
    window.view.vb.setRange(xRange=(-2, 2), yRange=(-1.5, 1.5), padding=0)
    window.density.setValue(12)
    path = tmp_path / "scene.json"
    assert window.save_scene(str(path))
    saved = load_scene(path)
    assert saved.model_sha256 == window.session.sha256
    assert saved.hidden_classes == [2] and saved.method == "spherical" and saved.t == pytest.approx(0.4)
    assert saved.base == "interpolation"

    # change everything, then load the scene back
    ip = window.state.interpolation
    ip.a = ip.b = None
    window.state.bookmarks.clear()
    window.legend.rows[2].click()
    assert window.view.scatters[2].isVisible()
    window.view.vb.setRange(xRange=(-9, 9), yRange=(-9, 9), padding=0)
    window.density.setValue(40)
    window.state.set_point((1.0, 1.0))
    assert window.open_scene(str(path))
    np.testing.assert_allclose(ip.a, [-0.5, 0.25], atol=1e-6)
    np.testing.assert_allclose(ip.b, [0.75, -0.5], atol=1e-6)
    assert window.interp.method.currentText() == "spherical" and window.interp.slider.value() == pytest.approx(0.4)
    assert [window.bookmarks.list.item(i).text() for i in range(window.bookmarks.list.count())] == ["here"]
    qtbot.waitUntil(lambda: window.pane.displayed.target.source == "interpolation", timeout=TIMEOUT)
    assert not window.view.scatters[2].isVisible() and window.view.scatters[1].isVisible()
    assert window.density.value() == 12
    x0, x1, y0, y1 = window.view.view_rect()
    assert x0 <= -2 + 1e-6 and x1 >= 2 - 1e-6 and y0 <= -1.5 + 1e-6 and y1 >= 1.5 - 1e-6 and x1 - x0 < 6
    again, saved_json = capture_json(window, tmp_path), json.loads(path.read_text())
    # the view: the saved range is inside the one shown (the plot keeps its aspect, and a late layout pass
    # of a loaded machine may widen the shown range a little); everything else exactly as saved
    view, saved_view = again.pop("view"), saved_json.pop("view")
    assert view["x"][0] <= saved_view["x"][0] + 1e-6 and view["x"][1] >= saved_view["x"][1] - 1e-6
    assert view["y"][0] <= saved_view["y"][0] + 1e-6 and view["y"][1] >= saved_view["y"][1] - 1e-6
    assert again == saved_json


def capture_json(window, tmp_path):
    p = tmp_path / "again.json"
    assert window.save_scene(str(p))
    d = json.loads(p.read_text())
    d["model"]["path"] = json.loads((tmp_path / "scene.json").read_text())["model"]["path"]
    return d


def test_scene_for_another_model_changes_nothing(qtbot, window, tmp_path):
    window.state.add_bookmark("keep", (0.0, 0.0))
    path = tmp_path / "other.json"
    assert window.save_scene(str(path))
    d = json.loads(path.read_text())
    d["model"]["sha256"] = "0" * 64
    d["bookmarks"] = []
    d["toggles"]["density"] = 50
    path.write_text(json.dumps(d))
    with qtbot.waitSignal(window.errorShown, timeout=TIMEOUT):
        assert not window.open_scene(str(path))
    assert "was made for another model" in window.error_label.text()
    assert [m.name for m in window.state.bookmarks] == ["keep"] and window.density.value() != 50
    path.write_text("{ not json")
    assert not window.open_scene(str(path))
    assert "is not valid JSON" in window.error_label.text()


def test_scene_screenshot_from_command_line(checkpoint, tmp_path):
    """`latent-explorer --scene FILE --screenshot OUT.png` renders the scene and exits."""
    import os
    import subprocess

    from explorer.core.scene import Scene, save_scene
    from explorer.core.session import file_sha256
    from tests.explorer.qt.conftest import tool

    scene = tmp_path / "s.json"
    save_scene(Scene(str(checkpoint), file_sha256(checkpoint), dataset="synthetic", a=(-1, 0), b=(1, 0), t=0.5,
                     bookmarks=[], view=(-3, 3, -3, 3)), scene)
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([tool("latent-explorer"), "--scene", str(scene), "--screenshot", str(out), "--size", "900x600"],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert Image.open(out).size == (900, 600)
    # a scene for another model: one clear line, non-zero exit, no traceback
    d = json.loads(scene.read_text())
    d["model"]["sha256"] = "f" * 64
    scene.write_text(json.dumps(d))
    r = subprocess.run([tool("latent-explorer"), "--scene", str(scene), "--screenshot", str(tmp_path / "no.png")],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "was made for another model" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "no.png").exists()


def test_presentation_mode_and_help_overlay(qtbot, window):
    assert window.toolbar.isVisible()
    size_before = window.font().pointSizeF()
    qtbot.keyClick(window, Qt.Key.Key_F11)
    assert window.state.presentation and window.presenting and window.isFullScreen()
    assert not window.toolbar.isVisible() and not window.menuBar().isVisible() and not window.info_dock.isVisible()
    assert window.font().pointSizeF() > size_before * 1.3
    assert window.view.scatters[0].opts["size"] >= 1.6 * window.state.point_size
    assert window.pane_dock.isVisible() and window.strip.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert window.help_overlay.isVisible()
    text = window.help_overlay.text()
    for key in ("F11", "F1", "Ctrl+D", "Space", "Right", "Ctrl+S"):
        assert key in text
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.help_overlay.isVisible() and window.presenting
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.presenting and window.toolbar.isVisible() and not window.isFullScreen()
    assert window.font().pointSizeF() == pytest.approx(size_before)
