"""The latent plane: the class list beside it (a click anywhere on a row hides the class), and the
one-scatter-per-class rule."""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPoint

WAIT_MS = 10_000


def nearest_visible(session, z, visible: set[int]) -> int:
    d = ((session.means - np.asarray(z, np.float32)) ** 2).sum(axis=1)
    d[~np.isin(session.labels, list(visible))] = np.inf
    return int(d.argmin())


def click_row(qtbot, window, k: int, where: float) -> None:
    """A real click on class k's row of the class list, ``where`` across it (0 = swatch, 0.9 = end of the name)."""
    from PySide6.QtCore import Qt

    row = window.legend.rows[k]
    qtbot.mouseClick(row, Qt.MouseButton.LeftButton, pos=QPoint(int(row.width() * where), row.height() // 2))


def test_legend_click_hides_the_class_and_the_nearest_lookup_skips_it(window, mouse, qtbot):
    s, view = window.session, window.view
    every = set(range(len(s.label_names)))
    # a point of class k that is the nearest point to the z its own pixel decodes to
    left, top, right, bottom = mouse.plot_pixels(margin=20)
    # the class list is beside the plot, never on the data
    legend = window.legend.geometry()
    assert legend.left() >= view.geometry().right() and legend.width() > 40
    marker_px = mouse.pixel(view.marker.pos().x(), view.marker.pos().y())
    k = pos = None
    for i in np.argsort(np.abs(s.means - np.median(s.means, axis=0)).sum(axis=1))[::-1]:
        p = mouse.pixel(*s.means[i])
        if not (left < p.x() < right and top < p.y() < bottom):
            continue
        if abs(p.x() - marker_px.x()) + abs(p.y() - marker_px.y()) < 30:
            continue
        if s.labels[nearest_visible(s, mouse.data_at(p), every)] == s.labels[i]:
            k, pos = int(s.labels[i]), p
            break
    assert k is not None, "no point of any class is alone under its pixel"
    name = s.label_names[k]

    # control: before hiding, the status bar names class k
    with qtbot.waitSignal(window.decodeShown, timeout=WAIT_MS):
        mouse.click(pos)
    assert f"nearest: {name} (#" in window.status_label.text()
    z_before = window.pane.z.copy()

    # click class k's row, on its name (not only the swatch)
    decoded_before = window.service.service.decoded
    marker_before = view.marker.pos()
    click_row(qtbot, window, k, 0.8)
    qtbot.wait(100)
    assert not window.legend.rows[k].isChecked() and window.legend.rows[k].font().strikeOut()
    assert not view.scatters[k].isVisible()
    assert all(sc.isVisible() for j, sc in enumerate(view.scatters) if j != k)
    assert view.visible_classes() == every - {k}
    assert window.state.hidden_classes == (k,)  # the legend wrote the state
    # the click was for the legend: the marker and the decoded image stay where they were
    assert view.marker.pos() == marker_before
    assert window.service.service.wait_idle(5)
    assert window.service.service.decoded == decoded_before
    np.testing.assert_array_equal(window.pane.z, z_before)

    # the same point now reports the nearest point of a visible class
    left, top, right, bottom = mouse.plot_pixels(margin=20)
    away = QPoint(left + 5 if pos.x() > (left + right) // 2 else right - 5, (top + bottom) // 2)
    with qtbot.waitSignal(window.decodeShown, timeout=WAIT_MS):
        mouse.click(away)  # move the marker off the point first, so the next click is on the plane
    with qtbot.waitSignal(window.decodeShown, timeout=WAIT_MS):
        mouse.click(pos)
    z = window.pane.z
    i = nearest_visible(s, z, every - {k})
    text = window.status_label.text()
    assert f"nearest: {s.label_name(i)} (#{i}," in text, text
    assert s.labels[i] != k

    # and a second click, on the swatch, shows the class again
    click_row(qtbot, window, k, 0.05)
    qtbot.wait(100)
    assert view.scatters[k].isVisible() and view.visible_classes() == every


def test_70k_points_draw_one_density_raster_and_real_points_when_zoomed_in(window, qtbot):
    from explorer.core.density import hex_rgb, rasterize
    from explorer.core.palettes import colour

    view = window.view
    rng = np.random.default_rng(0)
    n, classes = 70_000, 10
    means = rng.normal(size=(n, 2)).astype(np.float32)
    labels = rng.integers(0, classes, n)
    names = [f"class {k}" for k in range(classes)]

    def scatter_items():
        return [it for it in view.scene().items() if isinstance(it, pg.ScatterPlotItem)]

    others = [it for it in scatter_items() if it not in view.scatters]  # panels' own markers
    view.vb.setRange(xRange=(-3, 3), yRange=(-3, 3), padding=0)
    for _ in range(2):  # a second dataset replaces the first; nothing piles up
        view.set_points(means, labels, names)
        assert view.density.active
        qtbot.waitUntil(lambda: view.density.idle and view.density.image.isVisible(), timeout=5_000)  # off the GUI thread
        assert [it for it in scatter_items() if it not in others] == [], "no per-point items for the raster"
    # the raster is exactly core's rasterize for this view and plot size
    qtbot.wait(100)
    view.density.render()  # (the debounced re-render may still be due on a busy machine)
    vb = view.vb.sceneBoundingRect()
    want = rasterize(means, labels, view.view_rect(), (int(vb.width()), int(vb.height())),
                     hex_rgb([colour(window.state.palette, k) for k in range(classes)]),
                     point_px=window.state.point_size, opacity=window.state.opacity)
    np.testing.assert_array_equal(view.density.image.image, want.rgba)
    assert want.points > 60_000

    # zoom in until few points are in view: real points, one ScatterPlotItem per class, one brush each
    view.vb.setRange(xRange=(2.0, 2.6), yRange=(2.0, 2.6), padding=0)
    qtbot.waitUntil(lambda: view.density.showing_points, timeout=5_000)
    assert not view.density.image.isVisible()
    scatters = [it for it in scatter_items() if it not in others]
    assert len(scatters) == classes and set(scatters) == set(view.scatters)
    for k, sc in enumerate(view.scatters):
        pts = np.column_stack([sc.data["x"], sc.data["y"]])
        np.testing.assert_array_equal(pts, means[labels == k])
        assert all(b is None for b in sc.data["brush"]), f"class {k} has per-point brushes"
        assert not sc.opts.get("hoverable", False)
    assert len({sc.opts["brush"].color().name() for sc in view.scatters}) == classes
    # zoom out again: back to the raster; a hidden class leaves it
    view.vb.setRange(xRange=(-3, 3), yRange=(-3, 3), padding=0)
    qtbot.waitUntil(lambda: not view.density.showing_points, timeout=5_000)
    window.state.hidden_classes = (0,)
    qtbot.wait(100)
    view.density.render()
    vb = view.vb.sceneBoundingRect()
    r = rasterize(means, labels, view.view_rect(), (int(vb.width()), int(vb.height())),
                  hex_rgb([colour(window.state.palette, k) for k in range(classes)]), hidden=[0],
                  point_px=window.state.point_size, opacity=window.state.opacity)
    np.testing.assert_array_equal(view.density.image.image, r.rgba)
