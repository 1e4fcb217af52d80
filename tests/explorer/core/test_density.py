"""The density raster (explorer.core.density) against counts made by hand."""

from __future__ import annotations

import numpy as np

from explorer.core.density import hex_rgb, rasterize

RED, BLUE = "#ff0000", "#0000ff"


def test_counts_colours_and_orientation_match_a_hand_made_raster():
    # a 4x2-pixel view of [0, 4) x [0, 2): row 0 is the bottom row (y in [0, 1))
    means = np.array([[0.5, 0.5], [0.5, 0.5], [0.6, 0.4], [3.5, 1.5], [1.5, 0.5], [1.5, 0.5], [9.0, 9.0]], np.float32)
    labels = np.array([0, 0, 1, 1, 0, 1, 0])
    r = rasterize(means, labels, (0, 4, 0, 2), (4, 2), hex_rgb([RED, BLUE]), point_px=1, opacity=1.0)
    assert r.rgba.shape == (2, 4, 4) and r.points == 6 and r.rect == (0.0, 0.0, 4.0, 2.0)
    a = r.rgba
    # pixel (row 0, col 0): 2 red + 1 blue -> the count-weighted mean colour
    assert tuple(a[0, 0, :3]) == (170, 0, 85)
    assert tuple(a[0, 1, :3]) == (128, 0, 128)  # 1 red + 1 blue
    assert tuple(a[1, 3, :3]) == (0, 0, 255)  # the top-right point
    empty = [(0, 2), (0, 3), (1, 0), (1, 1), (1, 2)]
    assert all(a[i, j, 3] == 0 for i, j in empty) and a[0, 0, 3] > a[1, 3, 3] > 0  # denser is more opaque


def test_hidden_classes_and_points_outside_the_view_are_left_out():
    rng = np.random.default_rng(0)
    means = rng.uniform(-2, 2, (10_000, 2)).astype(np.float32)
    labels = rng.integers(0, 3, 10_000)
    cols = hex_rgb(["#ff0000", "#00ff00", "#0000ff"])
    r = rasterize(means, labels, (-1, 1, -1, 1), (50, 50), cols, hidden=[1], point_px=2)
    inside = (np.abs(means) < 1).all(axis=1)
    assert r.points == int((inside & (labels != 1)).sum())
    assert r.rgba[..., 1].max() == 0, "no green: class 1 is hidden"
    bigger = rasterize(means, labels, (-1, 1, -1, 1), (50, 50), cols, point_px=8)
    assert bigger.rgba.shape[:2] == (12, 12)  # bins of about the point size
