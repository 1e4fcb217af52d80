"""Small things a presenter sees at 1280x720 (issue 19, item 8): a caption never breaks a z or a number from
its word across lines; in presentation mode the A / B labels sit clear of the vector arrow; the compare actions
are off with one model; a conditional model decoding as a class offers the nearest image of that class."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QTextLayout, QTextOption

ROOT = Path(__file__).resolve().parents[3]
TALK = ROOT / "examples" / "talk.json"
CVAE = ROOT / "assets" / "fashion-mnist-cvae.safetensors"


def wrapped_lines(label) -> list[str]:
    """The lines a word-wrapped QLabel shows its text in, at its width."""
    text = label.text()
    layout = QTextLayout(text, label.font())
    opt = QTextOption()
    opt.setWrapMode(QTextOption.WrapMode.WordWrap)
    layout.setTextOption(opt)
    layout.beginLayout()
    lines = []
    while True:
        line = layout.createLine()
        if not line.isValid():
            break
        line.setLineWidth(label.contentsRect().width())
        lines.append(text[line.textStart(): line.textStart() + line.textLength()])
    layout.endLayout()
    return lines


def assert_kept_whole(label) -> None:
    """Every coordinate pair "(+0.420, -1.580)" and every "distance 0.019" lies on one line."""
    lines = wrapped_lines(label)
    text = label.text().replace("\n", " ")
    pieces = re.findall(r"\([+\-]\d\.\d{3},\s[+\-]\d\.\d{3}\)|distance\s\d+\.\d+", text)
    for piece in pieces:
        assert any(piece in line for line in lines), (piece, lines)
    return pieces


@pytest.fixture
def talk(qapp):
    """The bundled model with the talk's scene (a point at A, one vector on), at 1280x720."""
    from explorer.api import Explorer

    ex = Explorer(None, size=(1280, 720))
    assert ex.window.open_scene(str(TALK))
    assert ex.wait_idle(30)
    yield ex
    ex.close()


@pytest.mark.parametrize("presentation", [False, True])
def test_the_main_caption_never_breaks_a_z_and_the_side_captions_are_never_clipped(talk, presentation):
    talk.state.presentation = presentation
    talk.state.point = (0.091, 1.147)
    assert talk.wait_idle(30)
    pane = talk.window.pane
    # the main caption keeps a pair whole; the narrow side columns (before vectors, nearest) may break one
    # rather than clip it at presentation scale, but never cut it off: every character is inside the label
    found = assert_kept_whole(pane.caption.label)
    assert sum(p.startswith("(") for p in found) == 1
    for cap in (pane.base_caption, pane.nearest_caption):
        label = cap.label
        widest = max(label.fontMetrics().horizontalAdvance(w) for line in wrapped_lines(label) for w in line.split())
        assert widest <= label.contentsRect().width(), (label.text(), label.contentsRect().width())
    z = talk.shown().z
    assert talk.shown().caption.endswith(f"z = ({z[0]:+.3f}, {z[1]:+.3f})")  # the words, for scripts: plain spaces


def test_in_presentation_mode_the_a_and_b_labels_are_clear_of_the_vector_arrow(talk):
    talk.state.presentation = True
    assert talk.wait_idle(30)
    view = talk.view(0)
    ov = view.overlays
    assert ov.arrow() is not None and ov.text_a.isVisible() and ov.text_b.isVisible()
    vt = view.viewportTransform()

    def box(item):  # on screen (viewport pixels): the arrow head and the labels ignore the plot's scale
        return item.deviceTransform(vt).mapRect(item.boundingRect())

    arrow = [box(it) for it in (ov.arrow_line, ov.arrow_head)]
    assert max(r.width() for r in arrow) < view.viewport().width() / 2  # real boxes, not the whole plot
    for text in (ov.text_a, ov.text_b):
        assert not any(box(text).intersects(r) for r in arrow), (text.toPlainText(), box(text), arrow)
    assert not box(ov.text_a).intersects(box(ov.text_b))


def test_the_labels_avoid_the_path_and_the_arrow():
    from explorer.qt.plane.plane_overlays import SIDES, label_side

    assert label_side([]) == SIDES[0]  # nothing near: the usual up-left
    assert label_side([(-1, 1)]) != (-1, 1)  # an arrow up-left from the point: elsewhere
    side = label_side([(1, 0.2), (-1, -0.2), (-1, 1)])  # a path through it, nearly level, and the arrow
    assert side[1] == -1  # below the path, away from the arrow


def test_with_one_model_link_views_is_unchecked_and_stop_comparing_disabled(qapp, checkpoint):
    from explorer.api import Explorer

    with Explorer(checkpoint, dataset="synthetic", size=(1280, 720)) as ex:
        link, stop = ex.window.action_set["view.link"], ex.window.action_set["compare.stop"]
        assert not link.isChecked() and not link.isEnabled() and not stop.isEnabled()
    with Explorer([checkpoint, checkpoint], dataset="synthetic", size=(1280, 720)) as ex:
        link, stop = ex.window.action_set["view.link"], ex.window.action_set["compare.stop"]
        assert link.isChecked() and link.isEnabled() and stop.isEnabled()
        stop.trigger()
        assert ex.wait_idle(10) and not ex.state.compared
        assert not link.isChecked() and not link.isEnabled() and not stop.isEnabled()
        assert ex.state.link_views  # the preference stays for the next comparison


def test_decoding_as_a_class_offers_the_nearest_image_of_that_class(qapp):
    from explorer.api import Explorer

    with Explorer(CVAE, size=(1280, 720)) as ex:
        names = list(ex.dataset.label_names)
        ex.state.point = (0.5, 1.0)  # among dresses and shirts: the nearest of any class is no trouser
        for name in ("Trouser", "Bag", "T-shirt/top"):
            ex.state.condition = names.index(name)
            assert ex.wait_idle(30)
            s = ex.shown()
            assert s.nearest_label == name and ex.dataset.labels[s.nearest_index] == names.index(name)
            assert f"nearest of the class decoded: {name}" in s.status
            assert "(the class decoded)" in ex.window.pane.nearest_caption.text()
