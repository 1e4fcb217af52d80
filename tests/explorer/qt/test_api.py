"""The public scripting API (explorer.api.Explorer): what the user sees, checked against the model.

The pane rule is tested here through the state, as a demo script or a notebook drives it: every
check compares ``shown()`` with the checkpoint's own decoder, loaded independently.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer.core import latent
from explorer.core.pane import pane_target
from explorer.core.state import Vector

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def ex(qapp, checkpoint):
    from explorer.api import Explorer

    e = Explorer(checkpoint, dataset="synthetic", size=(1000, 700))
    yield e
    service = e.window.service.service
    e.close()
    assert not service.alive, "the model service still runs after close()"


def test_shown_is_what_the_pane_displays_for_the_state(ex, decode):
    z = np.median(ex.means, axis=0).astype(np.float64)  # inside the view, whatever the plane's scale
    ex.state.point = z
    assert ex.wait_idle(10)
    s = ex.shown()
    np.testing.assert_allclose(s.z, z, atol=1e-6)
    np.testing.assert_allclose(s.image, decode(s.z)[0], atol=1e-6)
    assert s.source == "click" and s.caption == f"clicked point \u00b7 z = ({z[0]:+.3f}, {z[1]:+.3f})"
    d = ((ex.means - s.z) ** 2).sum(1)
    assert d[s.nearest_index] == d.min()
    assert f"nearest: {ex.dataset.label_name(s.nearest_index)} (#{s.nearest_index}," in s.status
    x, y = ex.to_widget(*z)
    assert ex.plane.rect().contains(x, y)
    p = ex.window.view.vb.mapSceneToView(ex.window.view.mapToScene(x, y))
    px = (ex.window.view.view_rect()[1] - ex.window.view.view_rect()[0]) / ex.plane.width()
    assert abs(p.x() - z[0]) <= 2 * px and abs(p.y() - z[1]) <= 2 * px  # the pixel shows that data point


def test_interpolation_then_vectors_follow_the_pane_rule(ex, decode):
    ip = ex.state.interpolation
    ip.a, ip.b, ip.method, ip.t = (-1.5, 0.3), (1.2, 0.8), "linear", 0.35
    assert ex.wait_idle(10)
    frame = latent.interpolate(np.float32([-1.5, 0.3]), np.float32([1.2, 0.8]), 0.35, "linear")
    s = ex.shown()
    np.testing.assert_allclose(s.z, frame, atol=1e-6)
    assert s.caption.startswith("interpolation t = +0.35 (linear) \u00b7")
    names = ex.dataset.label_names
    v = ex.state.vectors.add_class_difference(names[1], names[0])
    v.strength, v.enabled = 1.5, True
    assert ex.wait_idle(10)
    s = ex.shown()
    want = frame + 1.5 * np.asarray(v.vector, np.float32)
    np.testing.assert_allclose(s.z, want, atol=1e-5)
    np.testing.assert_allclose(s.image, decode(s.z)[0], atol=1e-6)
    np.testing.assert_allclose(s.base_z, frame, atol=1e-6)
    np.testing.assert_allclose(s.base_image, decode(frame)[0], atol=1e-6)  # side by side: before and after
    assert "+ 1 vector" in s.caption
    d = ((ex.means - s.z) ** 2).sum(1)
    assert d[s.nearest_index] == d.min(), "the nearest image describes the z shown, not the base"


def test_burst_of_mixed_point_and_t_changes_ends_on_the_last_one(ex, decode):
    ip = ex.state.interpolation
    ip.a, ip.b = (-1.0, 0.5), (1.0, -0.5)
    rng = np.random.default_rng(1)
    for k in range(60):  # no event processing in between: results arrive in any order
        if k % 3 == 0:
            ex.state.set_point(rng.normal(size=2), source="drag")
        else:
            ip.t = float(rng.uniform(-0.5, 1.5))
        if k % 7 == 0:
            ex.app.processEvents()
    last = pane_target(ex.state)
    assert ex.wait_idle(10)
    s = ex.shown()
    np.testing.assert_allclose(s.z, last.z, atol=1e-6)
    assert s.source == last.source
    np.testing.assert_allclose(s.image, decode(s.z)[0], atol=1e-6)
    mk = ex.window.view.marker.pos()
    np.testing.assert_allclose([mk.x(), mk.y()], last.z, atol=1e-6)


def test_view_and_toggles_set_through_the_state_change_the_window(ex):
    ex.state.view = (-2.0, 2.0, -1.0, 1.0)
    x0, x1, y0, y1 = ex.window.view.view_rect()
    assert x0 <= -2 + 1e-6 and x1 >= 2 - 1e-6 and y0 <= -1 + 1e-6 and y1 >= 1 - 1e-6
    assert ex.state.view == ex.window.view.view_rect()  # the state holds what is visible (aspect locked)
    ex.state.hover = True
    assert ex.window.action_set["view.hover"].isChecked()
    ex.state.hidden_classes = (1,)
    assert not ex.window.view.scatters[1].isVisible() and ex.window.view.scatters[0].isVisible()
    ex.state.vectors.append(Vector("v", (0.1, 0.0)))
    assert len(ex.window.vectors.rows) == 1


def _readme_block(marker: str, lang: str) -> str:
    text = (ROOT / "README.md").read_text()
    return text.split(marker, 1)[1].split(f"```{lang}\n", 1)[1].split("```", 1)[0]


def test_readme_api_example_runs_as_written(qapp, tmp_path, monkeypatch):
    """The README's scripting example, run as written on the bundled model."""
    code = _readme_block("## Scripting the app", "python")
    monkeypatch.chdir(tmp_path)
    printed = []
    exec(compile(code, "README.md", "exec"), {"print": lambda *a: printed.append(" ".join(map(str, a)))})
    assert printed[0] == "clicked point \u00b7 z = (+0.400, -1.200)"
    assert re.match(r"interpolation t = \+0\.35 \(linear\) \+ 1 vector \u00b7 z = .* \S+", printed[1]), printed[1]
    assert Image.open(tmp_path / "demo.png").size[0] >= 1000


def test_talk_scene_opens_on_the_bundled_model(qapp):
    from explorer.api import Explorer

    ex = Explorer()
    try:
        assert ex.window.open_scene(str(ROOT / "examples" / "talk.json")), ex.window.last_error
        d = json.loads((ROOT / "examples" / "talk.json").read_text())
        assert ex.state.point == tuple(d["point"]) and ex.state.hidden_classes == tuple(d["toggles"]["hidden_classes"])
        assert [v.name for v in ex.state.vectors] == [v["name"] for v in d["vectors"]]
        assert ex.wait_idle(10)
        s = ex.shown()
        want = np.float32(d["point"]) + d["vectors"][0]["strength"] * np.float32(d["vectors"][0]["vector"])
        np.testing.assert_allclose(s.z, want, atol=1e-5)
        assert s.caption.startswith("scene point + 1 vector")
    finally:
        ex.close()


def test_scene_from_any_folder_on_the_command_line(tmp_path, checkpoint):
    from tests.explorer.qt.conftest import tool

    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    r = subprocess.run([tool("latent-explorer"), "--scene", str(ROOT / "examples" / "talk.json"), "--screenshot",
                        str(out), "--size", "1000x700"], env=env, capture_output=True, text=True, timeout=180,
                       cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert Image.open(out).size == (1000, 700)
