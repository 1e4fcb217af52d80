"""A scrub writes new positions into the class scatters in place; a partial repaint (the marker moving)
must then draw the points where they are now, not where the previous snapshot had them."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF

from explorer.qt.plane.class_scatter import ClassScatter, move_scatter


def test_moved_points_are_found_by_the_partial_repaint_index(qapp):
    rng = np.random.default_rng(0)
    old = rng.normal(size=(500, 2))
    new = old[::-1] + 3.0  # other positions, same count: the in-place path
    item = ClassScatter(pos=old, pen=None, symbol="o", pxMode=True)
    item._sorted()  # the index a partial repaint made before the scrub
    data_before = item.data
    move_scatter(item, new)
    assert item.data is data_before, "the in-place path was taken"
    order, xs, _ys = item._sorted()
    np.testing.assert_array_equal(xs, np.sort(new[:, 0]))
    np.testing.assert_array_equal(item.data["x"][order], xs)
    br = item.boundingRect()
    assert br.contains(QRectF(new[:, 0].min(), new[:, 1].min(), 0.01, 0.01).center())
