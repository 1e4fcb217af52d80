import numpy as np, time, threading
from PySide6.QtCore import Qt, QPoint, QPointF, QEvent
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

def test_probe(window, qtbot, model):
    v = window.view
    s = window.session
    got = []
    v.scene().sigMouseClicked.connect(lambda ev: got.append(("scene", ev.scenePos())))
    v.clicked.connect(lambda x, y: got.append(("clicked", x, y)))
    m = s.means[s.labels == 3].mean(0)
    p = v.data_to_widget(*m)
    qtbot.mouseMove(v.viewport(), p)
    qtbot.mouseClick(v.viewport(), Qt.LeftButton, pos=p)
    qtbot.wait(200)
    print("qtbot", got)
    got.clear()
    vp = v.viewport()
    for t in (QEvent.MouseMove, QEvent.MouseButtonPress, QEvent.MouseButtonRelease):
        b = Qt.NoButton if t == QEvent.MouseMove else Qt.LeftButton
        bs = Qt.NoButton if t != QEvent.MouseButtonPress else Qt.LeftButton
        ev = QMouseEvent(t, QPointF(p), QPointF(vp.mapToGlobal(p)), b, bs, Qt.NoModifier)
        QApplication.sendEvent(vp, ev)
    qtbot.wait(200)
    print("send", got, window.pane.z, m)
    evs = []
    v.scene().sigMouseClicked.connect(lambda ev: evs.append(ev))
    qtbot.mouseMove(v.viewport(), p)
    qtbot.mouseClick(v.viewport(), Qt.LeftButton, pos=p)
    ev = evs[-1]
    print("button", ev.button(), ev.double(), v.marker.isVisible(), v.marker.mouseShape().contains(v.marker.mapFromScene(ev.scenePos())), v.marker.mapFromScene(ev.scenePos()), v.marker.mouseShape().boundingRect(), v.to_data(ev.scenePos()))
