"""explorer.core.snapshot_framing: the frame of a training snapshot's points, the glide there, and a widened frame told
from a chosen view."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.core import snapshot_framing as framing


def inside(xy, view) -> float:
    x0, x1, y0, y1 = view
    return float(np.mean((xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)))


@pytest.mark.parametrize("scale", [1e-3, 1.0, 300.0])
def test_a_frame_holds_the_points_at_a_readable_size_whatever_their_scale(scale):
    rng = np.random.default_rng(0)
    xy = rng.normal([0.1, 0.25], [scale, scale / 3], size=(5000, 2))
    view = framing.frame_points(xy)
    assert inside(xy, view) >= 0.99
    x0, x1, y0, y1 = view
    lo, hi = np.percentile(xy, [0.5, 99.5], axis=0)
    assert (hi[0] - lo[0]) / (x1 - x0) >= 0.8  # the longer side fills most of the view (pad 8 % each edge)
    assert (hi[1] - lo[1]) / (y1 - y0) >= 0.6  # the same pad on the shorter side


def test_a_square_frame_holds_every_box_and_is_as_wide_as_high():
    boxes = [(np.array([0.0, 0.0]), np.array([4.0, 1.0])), (np.array([-1.0, 0.5]), np.array([2.0, 2.0]))]
    x0, x1, y0, y1 = framing.frame_boxes(boxes, pad=0.06, square=True)
    assert x1 - x0 == pytest.approx(y1 - y0) == pytest.approx(5.0 * 1.12)  # the longer side (x: -1..4), padded
    assert x0 < -1 and x1 > 4 and y0 < 0 and y1 > 2
    assert framing.frame_boxes(boxes, pad=0.06)[3] - framing.frame_boxes(boxes, pad=0.06)[2] < 5.0


def test_a_few_outliers_do_not_shrink_the_shape():
    rng = np.random.default_rng(1)
    xy = np.vstack([rng.normal(0, 1, size=(5000, 2)), [[500.0, 500.0], [-400.0, 0.0]]])
    x0, x1, y0, y1 = framing.frame_points(xy)
    assert x1 - x0 < 10 and y1 - y0 < 10


def test_points_that_coincide_get_a_small_frame_around_them():
    x0, x1, y0, y1 = framing.frame_points(np.full((10, 2), 0.5))
    assert x0 < 0.5 < x1 and y0 < 0.5 < y1 and x1 - x0 > 0


def test_the_glide_starts_and_ends_on_the_views_and_zooms_evenly():
    a, b = (-4.0, 4.0, -3.0, 3.0), (0.1, 0.14, 0.2, 0.25)
    assert framing.glide(a, b, 0) == pytest.approx(a)
    assert framing.glide(a, b, 1) == pytest.approx(b)
    widths = [framing.glide(a, b, t)[1] - framing.glide(a, b, t)[0] for t in (0.25, 0.5, 0.75)]
    assert widths[1] == pytest.approx(np.sqrt(8 * 0.04))  # half way in size is the geometric mean
    assert widths[0] > widths[1] > widths[2]


def test_a_widened_frame_is_told_from_a_chosen_view():
    asked = (0.0, 2.0, 0.0, 1.0)
    assert framing.is_widened((0.0, 2.0, -0.5, 1.5), asked)  # the locked aspect widened y about its centre
    assert framing.is_widened(asked, asked)
    assert not framing.is_widened((0.5, 2.5, 0.0, 1.0), asked)  # panned
    assert not framing.is_widened((0.5, 1.5, 0.25, 0.75), asked)  # zoomed in


def test_snapshot_view_frames_the_snapshot_shown():
    from types import SimpleNamespace

    from explorer.core.pane import shown_session
    from explorer.core.state import ExplorerState

    rng = np.random.default_rng(2)
    snap = SimpleNamespace(means=rng.normal(0.1, 0.01, size=(500, 2)).astype(np.float32))
    main = SimpleNamespace(means=rng.normal(0, 3, size=(500, 2)).astype(np.float32), snapshot_sessions={0: snap},
                           snapshots=[{"index": 0}], label_names=["a"], compared=())
    st = ExplorerState()
    object.__setattr__(st, "session", main)  # a stand-in session: only its means are read
    final = framing.snapshot_view(st, shown_session(st))
    assert inside(main.means, final) >= 0.99
    st.snapshot = 0
    shown = framing.snapshot_view(st, shown_session(st))
    assert inside(snap.means, shown) >= 0.99 and shown[1] - shown[0] < 0.1
    both = framing.all_snapshots_view(st)
    assert inside(snap.means, both) >= 0.99 and inside(main.means, both) >= 0.99
