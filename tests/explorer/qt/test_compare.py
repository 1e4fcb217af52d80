"""Models side by side (``Explorer([a, b])``): one z everywhere, each pane its own model's decode.

Every check is against the checkpoints' own encoder / decoder, loaded here independently of the app.
The pair is the bundled beta = 0 (a plain autoencoder's plane) and beta = 10 VAEs over the bundled
Fashion-MNIST test split.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QEvent, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

from explorer.core import latent
from explorer.core.session import unit_float
from training import checkpoint

ROOT = Path(__file__).resolve().parents[3]
A = ROOT / "assets" / "fashion-mnist-beta0.safetensors"
B = ROOT / "assets" / "fashion-mnist-beta10.safetensors"


@pytest.fixture(scope="module")
def models():
    return [checkpoint.load(p) for p in (A, B)]


def decode(model, z) -> np.ndarray:
    with torch.inference_mode():
        return model.decode(torch.as_tensor(np.asarray(z, np.float32).reshape(-1, 2))).numpy()[:, 0]


@pytest.fixture
def ex(qapp):
    from explorer.api import Explorer

    e = Explorer([A, B], size=(1280, 720))
    yield e
    e.close()


def press_release(vp, x: int, y: int, moves=()) -> None:
    def send(kind, px, button, buttons):
        ev = QMouseEvent(kind, QPointF(*px), QPointF(vp.mapToGlobal(QPointF(*px).toPoint())), button, buttons,
                         Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(vp, ev)

    left = Qt.MouseButton.LeftButton
    send(QEvent.Type.MouseButtonPress, (x, y), left, left)
    for m in moves:
        send(QEvent.Type.MouseMove, m, Qt.MouseButton.NoButton, left)
    send(QEvent.Type.MouseButtonRelease, moves[-1] if moves else (x, y), left, Qt.MouseButton.NoButton)


def test_each_plane_plots_its_own_models_means(ex, models):
    images = ex.dataset.images[:2000]
    for i, m in enumerate(models):
        with torch.inference_mode():
            want = m.encode(torch.from_numpy(unit_float(images)))[0].numpy()
        plotted = ex.view(i).points_data[0]
        assert plotted.shape == (len(ex.dataset.labels), 2)
        np.testing.assert_allclose(plotted[:2000], want, atol=2e-5)
        assert ex.view(i).session is ex.state.sessions[i]
    assert ex.state.sessions[1].images is ex.state.sessions[0].images, "one copy of the dataset, not one per model"


def test_a_click_in_either_plane_sets_one_z_and_every_pane_is_its_models_decode(ex, models, qtbot):
    for plane in (1, 0):
        z = np.median(ex.state.sessions[plane].means, axis=0) + np.float32([0.05 * plane, -0.03])
        x, y = ex.to_widget(*z, i=plane)
        press_release(ex.view(plane).viewport(), x, y)
        assert ex.wait_idle(20)
        clicked = np.asarray(ex.state.point, np.float32)
        assert np.abs(clicked - z).max() < 3 * ex.view(plane).view_rect()[1] / 100  # within a few pixels
        for i, m in enumerate(models):
            s = ex.shown(i)
            np.testing.assert_allclose(s.z, clicked, atol=1e-6)
            np.testing.assert_allclose(s.image, decode(m, clicked)[0], atol=1e-5)
            d = ((ex.state.sessions[i].means - clicked) ** 2).sum(1)
            assert d[s.nearest_index] == d.min(), "each pane's nearest image comes from its own plane"
    # the two models really differ at the same z: the row is not one image twice
    assert np.abs(ex.shown(0).image - ex.shown(1).image).max() > 0.1


def test_interpolation_and_vectors_apply_to_every_model_with_its_own_means(ex, models):
    ip = ex.state.interpolation
    ip.a, ip.b, ip.t = (-1.0, 0.5), (1.5, -0.5), 0.3
    assert ex.wait_idle(20)
    frame = latent.interpolate(np.float32([-1.0, 0.5]), np.float32([1.5, -0.5]), 0.3, "linear")
    for i, m in enumerate(models):
        np.testing.assert_allclose(ex.shown(i).z, frame, atol=1e-6)
        np.testing.assert_allclose(ex.shown(i).image, decode(m, frame)[0], atol=1e-5)
    names = ex.dataset.label_names
    v = ex.state.vectors.add_class_difference("Trouser", "Dress")
    v.strength = 0.5
    assert ex.wait_idle(20)
    labels = ex.dataset.labels
    for i, m in enumerate(models):
        means = ex.state.sessions[i].means
        own = means[labels == names.index("Trouser")].mean(0) - means[labels == names.index("Dress")].mean(0)
        want = frame + 0.5 * own
        s = ex.shown(i)
        np.testing.assert_allclose(s.z, want, atol=1e-4)
        np.testing.assert_allclose(s.base_z, frame, atol=1e-6)
        np.testing.assert_allclose(s.image, decode(m, s.z)[0], atol=1e-5)
    assert np.abs(ex.shown(0).z - ex.shown(1).z).max() > 1e-3, "the vector is each model's own"


def test_a_lasso_in_one_plane_rings_the_same_images_in_every_plane(ex, qtbot):
    view = ex.view(1)
    means1 = ex.state.sessions[1].means
    lo, hi = np.percentile(means1, [35, 65], axis=0)
    corners = [(lo[0], lo[1]), (hi[0], lo[1]), (hi[0], hi[1]), (lo[0], hi[1])]
    px = [ex.to_widget(*c, i=1) for c in corners]
    ex.window.action_set["select.start"].trigger()
    press_release(view.viewport(), *px[0], moves=list(px[1:]) + [px[0]])
    ex.app.processEvents()
    sel = np.asarray(ex.state.selection)
    assert len(sel) > 10
    poly = np.array([view.vb.mapSceneToView(view.mapToScene(*p)).toTuple() for p in px + [px[0]]])
    inside = latent.NearestIndex(means1, ex.dataset.labels).inside(poly[:-1])
    assert set(sel) == set(np.flatnonzero(inside)), "the selection is the images inside the lasso, in plane B"
    for i in range(2):  # each plane rings those images where ITS model put them
        ringed = ex.view(i).selection_points()
        np.testing.assert_allclose(ringed, ex.state.sessions[i].means[sel], atol=1e-6)
    ex.window.action_set["select.clear"].trigger()
    assert ex.state.selection == () and len(ex.view(0).selection_points()) == 0


def test_linked_views_pan_together_and_unlinked_ones_do_not(ex, qtbot):
    v0, v1 = ex.view(0), ex.view(1)
    x0, x1, y0, y1 = v1.view_rect()
    v1.vb.setRange(xRange=(x0 + 1.0, x1 + 1.0), yRange=(y0, y1), padding=0)
    ex.app.processEvents()
    assert abs(v0.view_rect()[0] - v1.view_rect()[0]) < 0.05 * (x1 - x0), "linked: plane A followed plane B"
    ex.state.link_views = False
    before = v0.view_rect()
    v1.vb.setRange(xRange=(x0 - 3.0, x1 - 3.0), yRange=(y0, y1), padding=0)
    ex.app.processEvents()
    assert v0.view_rect() == before, "unlinked: plane A stays where it was"
    ex.state.link_views = True
    ex.app.processEvents()
    assert abs(v1.view_rect()[0] - v0.view_rect()[0]) < 0.05 * (x1 - x0), "linking again brings B back to A"


def test_scene_stores_every_model_with_its_hash_and_reopens_them(ex, qapp, tmp_path, models):
    from explorer.api import Explorer

    ex.state.point = (0.3, -0.2)
    ex.state.selection = [5, 17, 99]
    assert ex.wait_idle(20)
    path = tmp_path / "pair.json"
    assert ex.window.save_scene(str(path))
    d = json.loads(path.read_text())
    assert [Path(c["path"]).name for c in d["compare"]] == [B.name]
    assert d["compare"][0]["sha256"] == ex.state.sessions[1].sha256 and d["selection"] == [5, 17, 99]
    with Explorer(A, size=(1000, 700)) as one:
        assert one.window.open_scene(str(path))
        assert one._wait(lambda: len(one.state.compared) == 1 and one.state.point == (0.3, -0.2), 60)
        assert one.wait_idle(20)
        assert one.state.selection == (5, 17, 99)
        np.testing.assert_allclose(one.shown(1).image, decode(models[1], (0.3, -0.2))[0], atol=1e-5)
    d["compare"][0]["sha256"] = "0" * 64
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(d))
    before = ex.state.selection
    assert not ex.window.open_scene(str(bad))
    assert "sha256 " + "0" * 64 in ex.window.last_error and ex.state.selection == before


def test_the_example_scene_opens_the_beta_pair(qapp, models):
    from explorer.api import Explorer

    with Explorer(A, size=(1000, 700)) as e:
        scene = ROOT / "examples" / "compare-beta.json"
        assert e.window.open_scene(str(scene))
        assert e._wait(lambda: len(e.state.compared) == 1, 60) and e.wait_idle(20)
        assert [s.model_path.name for s in e.state.sessions] == [A.name, B.name]
        for i, m in enumerate(models):
            np.testing.assert_allclose(e.shown(i).image, decode(m, e.shown(i).z)[0], atol=1e-5)


def test_too_many_models_or_a_model_that_cannot_be_compared_is_one_sentence(qapp, tmp_path):
    from explorer.api import Explorer

    with pytest.raises(ValueError, match="one to four models"):
        Explorer([A] * 5)
    with Explorer(A, size=(900, 600)) as e:
        e.window.compare.add([B, B, B, B])
        assert e.window.last_error == "at most 4 models can be shown side by side; 5 were given."
        junk = tmp_path / "junk.safetensors"
        junk.write_bytes(b"not a model at all")
        e.window.compare.add([junk])
        assert e._wait(lambda: str(junk) in e.window.last_error, 30)
        assert "\n" not in e.window.last_error and e.state.compared == ()


def test_dropping_a_model_with_ctrl_held_adds_it_beside_and_without_replaces(qapp, models):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    from explorer.api import Explorer

    def drop(win, path, mods):
        mime = QMimeData()
        mime.setUrls([QUrl.fromLocalFile(str(path))])
        ev = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton, mods)
        win.dropEvent(ev)

    with Explorer(A, size=(1000, 700)) as e:
        first = e.state.session
        drop(e.window, B, Qt.KeyboardModifier.ControlModifier)
        assert e._wait(lambda: len(e.state.compared) == 1, 60) and e.wait_idle(20)
        assert e.state.session is first and e.state.compared[0].model_path == B
        np.testing.assert_allclose(e.shown(1).image, decode(models[1], e.shown(1).z)[0], atol=1e-5)
        e.window.action_set["compare.stop"].trigger()
        assert e.state.compared == ()
        drop(e.window, B, Qt.KeyboardModifier.NoModifier)  # no modifier: B replaces A
        assert e._wait(lambda: e.state.session.model_path == B, 60)
        assert e.state.compared == ()
