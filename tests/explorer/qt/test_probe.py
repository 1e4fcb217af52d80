import numpy as np, time, threading
from PySide6.QtCore import Qt, QPoint
from PySide6.QtWidgets import QApplication

def test_probe(window, qtbot, model):
    v = window.view
    s = window.session
    print("means range", s.means.min(0), s.means.max(0), "view", v.view_rect(), "vp", v.viewport().size(), "win", window.size())
    m = s.means[s.labels == 3].mean(0)
    pos = v.data_to_widget(*m)
    print("pos", pos, "marker", v.marker.pos(), v.data_to_widget(v.marker.pos().x(), v.marker.pos().y()))
    p = pos.toPoint()
    with qtbot.waitSignal(window.decodeShown, timeout=5000) as b:
        qtbot.mouseMove(v.viewport(), p)
        qtbot.mouseClick(v.viewport(), Qt.LeftButton, pos=p)
    print("pane z", window.pane.z, "want", m, window.status_label.text())
    print([type(w).__name__ + ":" + w.windowTitle() + str(w.isVisible()) + str(w.parent()) for w in QApplication.topLevelWidgets()])
