"""The main window's menus, toolbar and keyboard actions. Each writes the state (or calls the window for
files and dialogs); the window's state listeners keep the checkable ones in step."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QSpinBox, QToolBar

from explorer.core.state import DENSITY_MAX, DENSITY_MIN


def action(w, text: str, slot, shortcut=None, checkable=False, tip="") -> QAction:
    a = QAction(text, w)
    if shortcut is not None:
        a.setShortcut(QKeySequence(shortcut))
    a.setCheckable(checkable)
    (a.toggled if checkable else a.triggered).connect(slot)
    a.setToolTip(tip or text)
    w.addAction(a)  # shortcuts work even when the menu bar is hidden (presentation mode)
    return a


def sync_spin(spin: QSpinBox, v: int) -> None:
    if spin.value() != v:
        spin.blockSignals(True)
        spin.setValue(v)
        spin.blockSignals(False)


def sync_action(action: QAction, on: bool) -> None:
    if action.isChecked() != on:
        action.blockSignals(True)
        action.setChecked(on)
        action.blockSignals(False)


def build(w) -> None:
    """The window's menus, toolbar and keyboard actions; each one writes the state or calls the window."""
    st, ip = w.state, w.state.interpolation
    m = w.menuBar()
    f = m.addMenu("&File")
    w.act_open = action(w, "&Open model\u2026", w.choose_model, QKeySequence.StandardKey.Open)
    w.act_open_data = action(w, "Open &dataset\u2026", w.choose_dataset)
    w.act_open_scene = action(w, "Open &scene\u2026", w.choose_open_scene, "Ctrl+Shift+O")
    w.act_save_scene = action(w, "&Save scene\u2026", w.choose_save_scene, "Ctrl+S")
    w.act_quit = action(w, "&Quit", w.close, "Ctrl+Q")
    w.act_compare = action(w, "&Add model for comparison\u2026", w.compare.choose, "Ctrl+Shift+A",
                           tip="Open more models beside this one, over the same images (drop with Ctrl held does too)")
    w.act_stop_compare = action(w, "S&top comparing", w.compare.stop, tip="Back to one model")
    for a in (w.act_open, w.act_open_data, w.act_compare, w.act_stop_compare, w.act_open_scene, w.act_save_scene):
        f.addAction(a)
    w.recent_menu = f.addMenu("Recent &models")
    w.recent_scenes_menu = f.addMenu("Recent s&cenes")
    f.addSeparator()
    f.addAction(w.act_quit)
    v = m.addMenu("&View")
    w.act_hover = action(w, "&Hover preview", lambda on: setattr(st, "hover", on), "H", checkable=True,
                                  tip="Decode while the mouse moves over the plane")
    w.act_underlay = action(w, "&Manifold underlay", lambda on: setattr(st, "underlay", on), "M",
                                     checkable=True, tip="Tile decoded images under the scatter")
    w.act_reset = action(w, "&Reset view", lambda: [v.reset_view() for v in w.planes.views if v.isVisible()
                                                    or v is w.view], "R")
    w.act_link = action(w, "&Link the compared views", lambda on: setattr(st, "link_views", on), "L", checkable=True,
                        tip="Compared planes pan and zoom together")
    w.act_link.setChecked(st.link_views)
    w.act_select = action(w, "&Select points (lasso; Shift: rectangle)", w.select_tool.start, "S",
                          tip="Ring the same images in every plane: where does each model put them?")
    w.act_clear_sel = action(w, "Clear the selection", lambda: setattr(st, "selection", ()), "Shift+S")
    w.act_palette = action(w, "&Colour-blind safe palette",
                                    lambda on: setattr(st, "palette", "colour-blind safe" if on else "tab10"),
                                    checkable=True, tip="Class colours that stay distinct for colour-blind viewers")
    w.act_dim = action(w, "&Dim the scatter", lambda on: setattr(st, "dim", on), "Shift+M", checkable=True,
                                tip="Fade the points, to see the manifold underlay through them")
    w.act_samples = action(w, "Plot posterior &samples", lambda on: setattr(st, "plot_samples", on), "Shift+P",
                           checkable=True, tip="Plot one sample z ~ N(mean, sigma\u00b2) per image instead of its mean")
    w.act_ellipses = action(w, "Posterior &ellipses", lambda on: setattr(st, "ellipses", on), "Shift+E",
                            checkable=True, tip="1- and 2-sigma ellipses of the nearest data point and of the selection")
    w.act_set_a = action(w, "Set interpolation A to the point shown", lambda: st.set_endpoint("a"), "A")
    w.act_set_b = action(w, "Set interpolation B to the point shown", lambda: st.set_endpoint("b"), "B")
    w.act_play = action(w, "Play / stop the interpolation",
                                 lambda: setattr(ip, "playing", not ip.playing and ip.ready), "Space")
    w.act_bookmark = action(w, "Bookmark the point shown", lambda: st.add_bookmark(), "Ctrl+D")
    w.act_next = action(w, "Next bookmark (Right, PageDown)", lambda: w.bookmarks.step(+1))
    w.act_prev = action(w, "Previous bookmark (Left, PageUp)", lambda: w.bookmarks.step(-1))
    w.act_next_class = action(w, "Decode as the next class (conditional models)", lambda: w.class_dial.step(+1), "]")
    w.act_prev_class = action(w, "Decode as the previous class", lambda: w.class_dial.step(-1), "[")
    w.act_present = action(w, "Presentation mode", lambda: setattr(st, "presentation", not st.presentation), "F11")
    w.act_escape = action(w, "Leave presentation mode / close help", w._escape, "Esc")
    for a in (w.act_hover, w.act_underlay, w.act_dim, w.act_palette, w.act_reset, w.act_link, w.act_select,
              w.act_clear_sel, w.act_bookmark, w.act_next, w.act_prev, w.act_next_class, w.act_prev_class,
              w.act_present):
        v.addAction(a)
    v.addSeparator()
    v.addAction(w.act_samples)
    v.addAction(w.act_ellipses)
    h = m.addMenu("&Help")
    w.act_help = action(w, "&Keys and help", lambda: w.help_overlay.toggle(), "F1")
    h.addAction(w.act_help)
    tb = QToolBar("Main")
    tb.setObjectName("main-toolbar")
    tb.addAction(w.act_open)
    tb.addSeparator()
    tb.addAction(w.act_hover)
    tb.addAction(w.act_underlay)
    w.density = QSpinBox()
    w.density.setRange(DENSITY_MIN, DENSITY_MAX)
    w.density.setValue(st.density)
    w.density.setPrefix("grid ")
    w.density.setSuffix(" cells")
    w.density.setToolTip("Manifold underlay density: cells across the longer side of the view")
    w.density.valueChanged.connect(lambda v: setattr(st, "density", v))
    tb.addWidget(w.density)
    tb.addAction(w.act_dim)
    w.point_size = QSpinBox()
    w.point_size.setRange(1, 20)
    w.point_size.setValue(int(st.point_size))
    w.point_size.setPrefix("points ")
    w.point_size.setSuffix(" px")
    w.point_size.setToolTip("Scatter point size")
    w.point_size.valueChanged.connect(lambda v: setattr(st, "point_size", v))
    w.opacity = QSpinBox()
    w.opacity.setRange(5, 100)
    w.opacity.setValue(round(st.opacity * 100))
    w.opacity.setPrefix("opacity ")
    w.opacity.setSuffix(" %")
    w.opacity.setToolTip("Scatter point opacity")
    w.opacity.valueChanged.connect(lambda v: setattr(st, "opacity", v / 100))
    tb.addWidget(w.point_size)
    tb.addWidget(w.opacity)
    tb.addAction(w.act_reset)
    w.toolbar = tb
    w.addToolBar(tb)
