"""Colour and density controls, legible overlays, the hover thumbnail and the filmstrip's scale."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint

from explorer.core.palettes import PALETTES
from explorer.qt.plane.latent_view import DIMMED


def test_palette_point_size_opacity_and_dim_restyle_the_scatter(window):
    view, st = window.view, window.state
    n = len(view.scatters)
    assert [sc.opts["brush"].color().name() for sc in view.scatters] == [c.lower() for c in PALETTES["tab10"][:n]]
    window.action_set["view.palette"].trigger()  # View > Colour-blind safe palette
    assert st.palette == "colour-blind safe"
    assert [sc.opts["brush"].color().name() for sc in view.scatters] == [c.lower() for c in
                                                                        PALETTES["colour-blind safe"][:n]]
    assert window.legend.rows[0].icon().pixmap(14, 14).toImage().pixelColor(7, 7).name() == \
        PALETTES["colour-blind safe"][0].lower()
    window.point_size.setValue(7)
    window.opacity.setValue(50)
    assert st.point_size == 7 and st.opacity == pytest.approx(0.5)
    assert all(sc.opts["size"] == 7 and sc.opacity() == pytest.approx(0.5) for sc in view.scatters)
    window.action_set["view.dim"].trigger()
    assert st.dim and all(sc.opacity() == pytest.approx(0.5 * DIMMED) for sc in view.scatters)
    st.dim = False
    assert not window.action_set["view.dim"].isChecked() and view.scatters[0].opacity() == pytest.approx(0.5)


def test_overlays_have_a_light_halo_under_dark_lines(window):
    view, st = window.view, window.state
    st.interpolation.a, st.interpolation.b = (-0.2, 0.0), (0.2, 0.1)
    assert view.overlays.path_halo.isVisible() and view.overlays.path_halo.zValue() < view.overlays.path_item.zValue()
    assert view.overlays.path_halo.opts["pen"].widthF() > view.overlays.path_item.opts["pen"].widthF()
    assert view.overlays.path_halo.opts["pen"].color().lightness() > 200 and view.overlays.path_item.opts["pen"].color().lightness() < 60
    np.testing.assert_array_equal(view.overlays.path_halo.getData()[0], view.overlays.path_item.getData()[0])
    assert view.marker_halo.isVisible() and view.marker_halo.pos() == view.marker.pos()
    assert view.overlays.text_a.fill.color().lightness() > 200  # the A / B letters sit on a light box


def test_a_selection_stays_visible_until_cleared(window):
    panel, s = window.vectors, window.session
    mask = s.labels == 1
    poly = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64)
    panel.set_selection("A", mask, poly)
    outline, rings = panel.selection_items["A"]
    assert outline.isVisible() and rings.isVisible()
    xs, ys = rings.getData()
    np.testing.assert_allclose(np.column_stack([xs, ys]), s.means[mask], atol=1e-6)
    assert panel.combo_a.currentText() == f"sel A ({int(mask.sum())})"
    panel.btn_clear_sel.click()
    assert not outline.isVisible() and not rings.isVisible()
    assert panel.combo_a.findData("sel:A") < 0 and not panel.btn_clear_sel.isEnabled()


def test_hover_shows_a_thumbnail_of_the_decoded_image_at_the_cursor(window, mouse, qtbot, decode):
    window.state.hover = True
    left, top, right, bottom = mouse.plot_pixels()
    pos = QPoint((left + right) // 2, (top + bottom) // 2)
    with qtbot.waitSignal(window.decodeShown, timeout=10_000,
                          check_params_cb=lambda sh: sh.target.source == "hover"):
        mouse.move(pos)
    thumb = window.view.thumb
    assert thumb.isVisible()
    assert abs(thumb.x() - pos.x()) <= 40 and abs(thumb.y() - pos.y()) <= 40 + thumb.height()
    img = thumb.pixmap().toImage().convertToFormat(thumb.pixmap().toImage().Format.Format_Grayscale8)
    want = decode(window.pane.z)[0]
    k = img.width() // want.shape[1]
    got = np.array([[img.pixelColor(x * k + k // 2, y * k + k // 2).red() for x in range(want.shape[1])]
                    for y in range(want.shape[0])])
    np.testing.assert_array_equal(got, np.round(255 * want).astype(int))
    window.state.hover = False
    assert not thumb.isVisible()


def test_filmstrip_is_drawn_at_an_integer_scale_across_the_panel(window, qtbot):
    ip = window.interp
    window.resize(1600, 900)
    window.share_screen(window.PLANE_SHARE)
    qtbot.wait(50)
    with qtbot.waitSignal(ip.filmstripShown, timeout=10_000):
        window.state.interpolation.a, window.state.interpolation.b = (-0.3, 0.0), (0.3, 0.1)
    h, w = ip.strip.image.shape[:2]
    px = ip.strip.pixmap()
    assert px.width() % w == 0 and px.height() % h == 0 and px.width() // w == px.height() // h >= 1
    assert px.width() > 0.5 * ip.width() - w, "the strip uses the panel's width"
