"""vectors.py (groups, vector = difference of means, AUC and its words, sums of enabled vectors) and
drawing.py (canvas / image file -> the model's input)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from explorer.core import drawing, vectors
from explorer.core.state import Vector

# six points, classes 0 / 1 / 2; hand-computed means: class 0 (1, 1), class 1 (4, 3), class 2 (0, 7)
POINTS = np.array([[0, 0], [2, 2], [3, 3], [5, 3], [0, 6], [0, 8]], np.float32)
LABELS = np.array([0, 0, 1, 1, 2, 2])
NAMES = ["zero", "one", "two"]


def test_class_vector_is_difference_of_hand_computed_means():
    a, b = vectors.class_group(LABELS, 1, NAMES), vectors.class_group(LABELS, 0, NAMES)
    v = vectors.make_vector(POINTS, a, b)
    assert v.vector == pytest.approx([4 - 1, 3 - 1])
    assert v.name == "one \u2212 zero"
    assert v.strength == 1.0 and v.enabled
    # projections on (3, 2): class 1 -> 18, 21; class 0 -> 0, 10: A always above B
    assert v.auc == pytest.approx(1.0)
    reverse = vectors.make_vector(POINTS, b, a, name="back")
    assert reverse.vector == pytest.approx([-3, -2]) and reverse.name == "back"
    assert reverse.auc == pytest.approx(1.0)  # the direction is reversed with the groups


def test_selection_groups_are_named_with_their_count():
    mask = np.array([1, 0, 1, 0, 1, 0], bool)
    g = vectors.selection_group(mask, "A")
    assert g.name == "sel A (3)" and g.count == 3
    other = vectors.selection_group(~mask, "B")
    v = vectors.make_vector(POINTS, g, other)
    # A: (0,0), (3,3), (0,6) -> (1, 3); B: (2,2), (5,3), (0,8) -> (7/3, 13/3)
    assert v.vector == pytest.approx([1 - 7 / 3, 3 - 13 / 3])
    assert v.name == "sel A (3) \u2212 sel B (3)"


def test_auc_of_overlapping_groups_and_its_words():
    pts = np.array([[0.0, 0], [1, 0], [2, 0], [3, 0]], np.float32)
    a = vectors.Group("a", np.array([0, 1, 0, 1], bool))  # x = 1, 3
    b = vectors.Group("b", np.array([1, 0, 1, 0], bool))  # x = 0, 2
    v = vectors.make_vector(pts, a, b)
    assert v.vector == pytest.approx([1.0, 0.0])
    # pairs (a > b): 1>0, 3>0, 3>2 of 4 -> 0.75
    assert v.auc == pytest.approx(0.75)
    assert vectors.auc_hint(v.auc) == "weak"
    assert vectors.auc_hint(0.95) == "strong" and vectors.auc_hint(0.9) == "strong"
    assert vectors.auc_hint(0.7) == "weak" and vectors.auc_hint(0.69) == "\u2248 noise"
    assert vectors.auc_hint(0.5) == "\u2248 noise" and vectors.auc_hint(None) == "unknown"


def test_empty_or_identical_groups_are_refused_in_one_sentence():
    a = vectors.class_group(LABELS, 1, NAMES)
    empty = vectors.Group("nothing", np.zeros(6, bool))
    with pytest.raises(ValueError, match="group nothing has no points"):
        vectors.make_vector(POINTS, a, empty)
    with pytest.raises(ValueError, match="same points"):
        vectors.make_vector(POINTS, a, vectors.class_group(LABELS, 1, NAMES))


def test_total_and_apply_use_enabled_vectors_with_their_signed_strengths():
    vs = [Vector("u", [1.0, 0.0], 1.5), Vector("w", [0.0, 2.0], -0.5), Vector("off", [9.0, 9.0], 3.0, enabled=False)]
    np.testing.assert_allclose(vectors.total(vs), [1.5, -1.0], atol=1e-6)
    np.testing.assert_allclose(vectors.apply(np.array([0.25, 0.5], np.float32), vs), [1.75, -0.5], atol=1e-6)
    vs[2].enabled = True
    np.testing.assert_allclose(vectors.total(vs), [28.5, 26.0], atol=1e-5)
    assert vectors.total([]).tolist() == [0.0, 0.0]
    assert vectors.apply(np.array([1, 2], np.float32), []).tolist() == [1.0, 2.0]


def test_rectangle_and_checked_vectors():
    r = vectors.rectangle((2, 1), (0, 3))
    assert r.tolist() == [[2, 1], [0, 1], [0, 3], [2, 3]]
    v = vectors.check_vector(Vector("big", [1, 2], strength=7.0, enabled=False, auc=0.8))
    assert v.strength == vectors.STRENGTH_MAX and v.vector == (1.0, 2.0) and not v.enabled and v.auc == 0.8
    with pytest.raises(ValueError, match=r"a vector must be 2 to \d+ finite numbers"):
        vectors.check_vector(Vector("bad", [1.0, float("nan")]))


# ----------------------------------------------------------------------------- drawing


def test_canvas_to_model_input_shape_range_and_area_average():
    canvas = np.zeros((224, 224, 3), np.uint8)
    canvas[:8, :8] = 255  # exactly model pixel (0, 0)
    canvas[8:16, :4] = 255  # half of model pixel (1, 0)
    x = drawing.to_model_input(canvas, (1, 28, 28))
    assert x.shape == (1, 28, 28) and x.dtype == np.float32
    assert x.min() >= 0.0 and x.max() <= 1.0
    assert x[0, 0, 0] == pytest.approx(1.0) and x[0, 1, 0] == pytest.approx(0.5) and x[0, 5, 5] == 0.0
    assert x.sum() == pytest.approx(1.5)


def test_grey_and_colour_conversions():
    rgb = np.zeros((4, 4, 3), np.float32)
    rgb[..., 0] = 1.0  # pure red
    grey = drawing.to_model_input(rgb, (1, 4, 4))
    np.testing.assert_allclose(grey, 0.299, atol=1e-6)  # luminance, as Pillow's "L"
    col = drawing.to_model_input(rgb, (3, 2, 2))
    assert col.shape == (3, 2, 2)
    np.testing.assert_allclose(col[0], 1.0) and np.testing.assert_allclose(col[1:], 0.0)
    g = np.full((6, 6), 0.25, np.float32)
    rep = drawing.to_model_input(g, (3, 3, 3))
    np.testing.assert_allclose(rep, 0.25, atol=1e-6)  # grey repeated into 3 channels
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[..., 3] = 51  # white at 20 % opacity over black
    np.testing.assert_allclose(drawing.to_model_input(rgba, (1, 2, 2)), 0.2, atol=1e-6)
    up = drawing.to_model_input(np.ones((7, 5), np.float32), (1, 28, 28))  # small images grow
    assert up.shape == (1, 28, 28) and np.allclose(up, 1.0)
    with pytest.raises(ValueError, match=r"an image must be \(H, W\) or \(H, W, 3\), not \(3, 3, 5\)"):
        drawing.to_model_input(np.zeros((3, 3, 5)), (1, 28, 28))


def test_to_canvas_round_trips_through_the_conversion():
    rng = np.random.default_rng(0)
    x = rng.random((1, 28, 28)).astype(np.float32)
    k = drawing.canvas_scale((1, 28, 28))
    assert k == 8
    canvas = drawing.to_canvas(x, k)
    assert canvas.shape == (224, 224, 3) and canvas.dtype == np.uint8
    np.testing.assert_allclose(drawing.to_model_input(canvas, (1, 28, 28)), x, atol=0.5 / 255 + 1e-6)
    assert drawing.canvas_scale((3, 64, 64)) == 4 and drawing.canvas_scale((1, 300, 300)) == 1


def test_load_image_files(tmp_path):
    grey = np.zeros((40, 30), np.uint8)
    grey[10:20, 5:15] = 200
    Image.fromarray(grey).save(tmp_path / "g.png")
    a = drawing.load_image(tmp_path / "g.png")
    assert a.shape == (40, 30) and a.dtype == np.float32 and a[15, 10] == pytest.approx(200 / 255)
    col = np.zeros((10, 12, 3), np.uint8)
    col[..., 2] = 255
    Image.fromarray(col).save(tmp_path / "c.jpg", quality=100)
    c = drawing.load_image(tmp_path / "c.jpg")
    assert c.shape == (10, 12, 3) and c[..., 2].mean() > 0.9 and c[..., 0].mean() < 0.1
    rgba = np.zeros((5, 5, 4), np.uint8)
    rgba[..., :3] = 255
    rgba[2, 2, 3] = 255  # a single opaque white pixel on transparent white
    Image.fromarray(rgba).save(tmp_path / "a.png")
    t = drawing.load_image(tmp_path / "a.png")
    assert t[2, 2].tolist() == [1.0, 1.0, 1.0] and t.sum() == pytest.approx(3.0)  # transparent -> black


@pytest.mark.parametrize(("content", "words"), [(b"not an image at all", "is not an image file"),
                                            (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "")])
def test_unreadable_files_raise_one_sentence_naming_the_file(tmp_path, content, words):
    p = tmp_path / "bad.png"
    p.write_bytes(content)
    with pytest.raises(drawing.ImageFileError) as e:
        drawing.load_image(p)
    msg = str(e.value)
    assert msg.startswith(str(p)) and words in msg and "\n" not in msg
    with pytest.raises(drawing.ImageFileError, match="no such file"):
        drawing.load_image(tmp_path / "missing.png")
    with pytest.raises(drawing.ImageFileError, match="folder"):
        drawing.load_image(tmp_path)
