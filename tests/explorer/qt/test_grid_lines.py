"""The plane's grid: opaque lines at exactly the axes' tick values, following pans and zooms."""

from __future__ import annotations

import numpy as np

from explorer.qt.plane.grid_lines import MAJOR


def vertical_lines(curve) -> set[float]:
    x, y = curve.getData()
    if x is None or not len(x):
        return set()
    x, y = np.asarray(x).reshape(-1, 2), np.asarray(y).reshape(-1, 2)
    return {float(a) for a, b in x if a == b}


def test_grid_lines_sit_on_the_axis_ticks_and_follow_the_view(window, qtbot):
    view = window.view
    assert not view.plot_item.getAxis("bottom").grid, "pyqtgraph's translucent grid stays off"
    for rng in ((-3.0, 3.0), (0.5, 1.7), (-40.0, 10.0)):
        view.vb.setRange(xRange=rng, yRange=rng, padding=0)
        qtbot.wait(10)
        (x0, x1), _ = view.vb.viewRange()
        ticks = view.plot_item.getAxis("bottom").tickValues(x0, x1, view.vb.sceneBoundingRect().width())
        major = {float(v) for v in ticks[0][1]}
        assert major and vertical_lines(view.grid.curves[0]) == major
        pen = view.grid.curves[0].opts["pen"]
        assert pen.color().alpha() == 255 and pen.color() == MAJOR, "opaque lines: no alpha blending per repaint"
        assert all(c.zValue() < view.underlay.zValue() for c in view.grid.curves), "under the underlay and points"
