"""The CVAE class dial, driven through the scripting API on the bundled conditional model.

Every image is checked against ``decode(z, y = c)`` of the checkpoint loaded independently here with
``training.checkpoint.load``: the class row, the main pane after choosing a class, the filmstrip, the
GIF frames and the manifold underlay. The data shown is the first 1,000 images of the bundled
Fashion-MNIST test split (an npz made once per session, so each window opens in a second or two).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer.core import latent
from explorer.core.scene import SceneError, load_scene

ROOT = Path(__file__).resolve().parents[3]
CVAE = ROOT / "assets" / "fashion-mnist-cvae.safetensors"
ATOL = 1e-5  # channels_last in the app vs the loaded layout here: float rounding only


@pytest.fixture(scope="session")
def cvae():
    import torch

    from training.checkpoint import load

    torch.set_num_threads(1)
    return load(CVAE)


@pytest.fixture(scope="session")
def decode_c(cvae):
    """decode_c(z (N, 2) or (2,), c int or (N,)) -> the model's images, row-major (N, H, W)."""
    import torch

    from explorer.core.decode_service import to_display

    def run(z, c) -> np.ndarray:
        z = np.atleast_2d(np.asarray(z, np.float32))
        y = np.broadcast_to(np.asarray(c, np.int64), (len(z),)).copy()
        with torch.inference_mode():
            return to_display(cvae.decode(torch.from_numpy(z), torch.from_numpy(y)).numpy())

    return run


@pytest.fixture(scope="session")
def small_fashion(tmp_path_factory) -> str:
    from training.data import load_dataset

    ds = load_dataset("fashion-mnist", "test")
    path = tmp_path_factory.mktemp("data") / "fashion-1k.npz"
    np.savez(path, x=ds.images[:1000], y=ds.labels[:1000], label_names=np.array(ds.label_names))
    return f"npz:{path}"


@pytest.fixture
def ex(qapp, small_fashion):
    from explorer.api import Explorer

    e = Explorer(CVAE, dataset=small_fashion, split="all", size=(1280, 800))
    yield e
    service = e.window.service.service
    e.close()
    assert not service.alive


def _check_row(ex, decode_c) -> np.ndarray:
    """The row on screen is decode(z, c) for every class c at the z the pane shows; returns that z."""
    row = ex.class_row()
    assert row is not None
    s = ex.shown()
    np.testing.assert_allclose(row.z, s.z, atol=1e-6)
    n = len(ex.dataset.label_names)
    assert row.images.shape == (n, 28, 28)
    np.testing.assert_allclose(row.images, decode_c(np.repeat(row.z[None], n, 0), np.arange(n)), rtol=0, atol=ATOL)
    return row.z


def test_class_row_is_decode_z_c_for_every_class_and_painted_crisp(ex, decode_c):
    assert ex.wait_idle(20)
    dial = ex.window.class_dial
    assert dial.isVisible() and dial.active
    _check_row(ex, decode_c)
    tiles = dial.tiles
    assert tiles.names == list(ex.dataset.label_names)
    # what is painted: each tile at an integer scale >= 2, its pixels exactly the image's. The row takes what
    # the dock column leaves to the panels' room (issue 19): 1x up to about 800 px high, 2x at 900
    assert tiles.scale() == 1
    ex.window.resize(1280, 900)
    ex.app.processEvents()
    k = tiles.scale()
    assert k >= 2
    shot = tiles.grab().toImage()
    dpr = shot.devicePixelRatio()
    for c in (0, 7):
        r = tiles.tile_rect(c)
        assert (r.width(), r.height()) == (28 * k, 28 * k)
        want = np.clip(np.round(tiles.images[c] * 255), 0, 255).astype(np.uint8)
        got = np.array([[shot.pixelColor(int((r.x() + (i + 0.5) * k) * dpr), int((r.y() + (j + 0.5) * k) * dpr)).red()
                         for i in range(28)] for j in range(28)])
        np.testing.assert_array_equal(got, want)
    # the class names are drawn under the tiles, readable: at least the app's font size
    assert tiles.font().pointSizeF() >= ex.window.font().pointSizeF()


def test_row_follows_a_click_the_interpolation_and_vectors_one_request_each(ex, qtbot, decode_c):
    from PySide6.QtCore import QPoint, Qt

    assert ex.wait_idle(20)
    dial = ex.window.class_dial
    # a data point well away from the start point (a press on the current point's marker grabs the marker)
    far = np.flatnonzero(np.linalg.norm(ex.means - ex.shown().z, axis=1) > 1.0)
    z = ex.means[far[0]].astype(np.float64)
    before = dial.requests
    x, y = ex.to_widget(*z)
    qtbot.mouseMove(ex.plane, QPoint(x, y))
    qtbot.mouseClick(ex.plane, Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    assert ex.wait_idle(10)
    assert ex.shown().source == "click"
    zc = _check_row(ex, decode_c)
    assert np.linalg.norm(zc - z) < 0.05  # where the click landed (one screen pixel away at most)
    assert dial.requests == before + 1, "one request of the whole row per change"

    ip = ex.state.interpolation
    ip.a, ip.b = tuple(ex.means[5]), tuple(ex.means[9])
    ip.t = 0.4
    assert ex.wait_idle(10)
    zt = _check_row(ex, decode_c)
    np.testing.assert_allclose(zt, ip.z_at(0.4), atol=1e-6)

    names = ex.dataset.label_names
    v = ex.state.vectors.add_class_difference(names[9], names[7])
    v.strength = 1.5
    assert ex.wait_idle(10)
    zv = _check_row(ex, decode_c)
    np.testing.assert_allclose(zv, ip.z_at(0.4) + 1.5 * np.asarray(v.vector), atol=1e-5)

    # a burst of points, faster than any decode: the row ends on the last one, never an older one
    v.enabled = False
    for i in range(20):
        ex.state.point = (0.05 * i, -0.03 * i)
    assert ex.wait_idle(10)
    np.testing.assert_allclose(_check_row(ex, decode_c), (0.95, -0.57), atol=1e-6)


def test_choosing_a_class_decodes_the_pane_as_it(ex, qtbot, decode_c):
    from PySide6.QtCore import Qt

    assert ex.wait_idle(20)
    dial, tiles = ex.window.class_dial, ex.window.class_dial.tiles
    names = ex.dataset.label_names
    ex.state.point = (0.3, -0.2)
    assert ex.wait_idle(10)
    requests = dial.requests
    qtbot.mouseClick(tiles, Qt.MouseButton.LeftButton, pos=tiles.tile_rect(7).center())  # a click on "Sneaker"
    assert ex.wait_idle(10)
    assert ex.state.condition == 7 and tiles.chosen == 7 and dial.combo.currentText() == names[7]
    s = ex.shown()
    np.testing.assert_allclose(s.image, decode_c(s.z, 7)[0], rtol=0, atol=ATOL)
    assert f"as {names[7]}" in s.caption and f"as {names[7]}" in s.status
    assert dial.requests == requests, "the z did not change: the row is not decoded again"

    dial.combo.setFocus()  # the keyboard: the combo box ...
    qtbot.keyClick(dial.combo, Qt.Key.Key_Down)
    assert ex.state.condition == 8 and tiles.chosen == 8
    ex.window.action_set["class.next"].trigger()  # ... and ] / [ anywhere in the window
    assert ex.state.condition == 9
    ex.window.action_set["class.next"].trigger()
    assert ex.state.condition == 0, "wraps around"
    ex.window.action_set["class.prev"].trigger()
    assert ex.state.condition == 9 and dial.combo.currentText() == names[9]
    assert ex.wait_idle(10)
    s = ex.shown()
    np.testing.assert_allclose(s.image, decode_c(s.z, 9)[0], rtol=0, atol=ATOL)
    assert s.caption.startswith(f"clicked point as {names[9]} \u00b7")
    _check_row(ex, decode_c)
    for key in ("]", "["):
        assert any(a.shortcut().toString() == key for a in ex.window.actions())


def test_filmstrip_export_and_underlay_decode_with_the_chosen_class(ex, qtbot, tmp_path, decode_c):
    assert ex.wait_idle(20)
    win, ip = ex.window, ex.state.interpolation
    ex.state.condition = 3
    ip.a, ip.b, ip.frames = (-1.0, 0.5), (1.2, -0.4), 6
    assert ex.wait_idle(10)
    zs = ip.z_at(ip.frame_ts())
    np.testing.assert_allclose(win.interp.filmstrip_images, decode_c(zs, 3), rtol=0, atol=ATOL)
    with qtbot.waitSignal(win.interp.filmstripShown, timeout=10_000):
        ex.state.condition = 5  # another class: the filmstrip follows
    np.testing.assert_allclose(win.interp.filmstrip_images, decode_c(zs, 5), rtol=0, atol=ATOL)

    path = tmp_path / "c5.gif"
    with qtbot.waitSignal(win.interp.exported, timeout=20_000):
        win.interp.export_gif(str(path), n_frames=4)
    frames = decode_c(ip.z_at(np.linspace(0, 1, 4)), 5)
    with Image.open(path) as gif:
        gif.seek(1)
        got = np.asarray(gif.convert("L"), np.float32)[::4, ::4] / 255  # scale 4, nearest neighbour
    np.testing.assert_allclose(got, frames[1], atol=1.5 / 255)
    assert not np.allclose(frames[1], decode_c(ip.z_at(1 / 3), 0)[0], atol=0.05), "class 5 differs from class 0"

    with qtbot.waitSignal(win.underlayShown, timeout=20_000):
        ex.state.underlay = True
    assert ex.wait_idle(20)
    lat = win.underlay.wanted
    grid = lat.grid()
    np.testing.assert_allclose(win.view.underlay.image, latent.tile(decode_c(grid.centres(), 5), grid), atol=ATOL)
    with qtbot.waitSignal(win.underlayShown, timeout=20_000):
        ex.state.condition = 1  # the underlay is decoded again, as the new class
    assert ex.wait_idle(20)
    grid = win.underlay.wanted.grid()
    np.testing.assert_allclose(win.view.underlay.image, latent.tile(decode_c(grid.centres(), 1), grid), atol=ATOL)


def test_scene_stores_the_class(ex, tmp_path, decode_c):
    assert ex.wait_idle(20)
    win, names = ex.window, ex.dataset.label_names
    ex.state.condition = 4
    ex.state.point = (0.2, 0.1)
    assert ex.wait_idle(10)
    path = tmp_path / "s.json"
    assert win.save_scene(str(path))
    assert load_scene(path).condition == 4
    ex.state.condition = 0
    assert win.open_scene(str(path))
    assert ex.wait_idle(10)
    assert ex.state.condition == 4 and win.class_dial.combo.currentText() == names[4]
    s = ex.shown()
    np.testing.assert_allclose(s.image, decode_c(s.z, 4)[0], rtol=0, atol=ATOL)
    # an old scene (no class stored) still opens and keeps the class chosen
    old = path.read_text().replace('"condition": 4', '"x_condition": 4')
    (tmp_path / "old.json").write_text(old)
    assert load_scene(tmp_path / "old.json").condition is None
    assert win.open_scene(str(tmp_path / "old.json")) and ex.state.condition == 4
    # a class the model does not have: one sentence, nothing changed
    (tmp_path / "bad.json").write_text(path.read_text().replace('"condition": 4', '"condition": 12'))
    ex.state.condition = 2
    assert not win.open_scene(str(tmp_path / "bad.json"))
    assert "decodes as class 12, but the dataset shown has 10 classes" in win.last_error
    assert ex.state.condition == 2
    from explorer.core.scene import apply_scene

    with pytest.raises(SceneError, match="decodes as class 12, but the dataset shown has 10 classes"):
        apply_scene(load_scene(tmp_path / "bad.json"), ex.state)


def test_a_model_that_is_not_conditional_has_no_class_row(qapp, qtbot, checkpoint, decode, small_fashion, decode_c):
    from explorer.api import Explorer

    ex = Explorer(checkpoint, dataset="synthetic", size=(1000, 700))
    try:
        assert ex.wait_idle(20)
        dial = ex.window.class_dial
        assert not dial.isVisible() and ex.class_row() is None
        ex.state.point = (0.1, 0.2)
        assert ex.wait_idle(10)
        ex.state.condition = 2  # harmless: the pane decodes as before, the caption names no class
        ex.window.action_set["class.next"].trigger()
        assert ex.wait_idle(10)
        s = ex.shown()
        np.testing.assert_allclose(s.image, decode(s.z)[0], atol=1e-6)
        assert " as " not in s.caption
        assert dial.requests == 0 and ex.class_row() is None and not dial.isVisible()
        assert ex.window.class_dial.tiles.images is None
        # then a conditional model in the same window: the row appears; and goes again with the first model
        with qtbot.waitSignal(ex.window.sessionChanged, timeout=60_000):
            ex.window.open_model(CVAE, dataset=small_fashion, split="all")
        assert ex.wait_idle(20)
        assert dial.isVisible() and ex.state.condition == 2
        _check_row(ex, decode_c)
        np.testing.assert_allclose(ex.shown().image, decode_c(ex.shown().z, 2)[0], rtol=0, atol=ATOL)
        with qtbot.waitSignal(ex.window.sessionChanged, timeout=60_000):
            ex.window.open_model(checkpoint, dataset="synthetic")
        assert ex.wait_idle(20)
        assert not dial.isVisible() and ex.class_row() is None
    finally:
        service = ex.window.service.service
        ex.close()
        assert not service.alive
