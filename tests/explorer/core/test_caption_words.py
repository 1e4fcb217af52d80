"""A wrapped caption keeps each number with its word and each pair of coordinates on one line
(explorer.core.pane: non-breaking spaces), while the words stay the same."""

from __future__ import annotations

from explorer.core.pane import NBSP, format_z, nobreak, z_words


def test_a_2d_z_is_one_unbreakable_piece_after_its_equals_sign():
    text = z_words((0.42, -1.58))
    assert text == f"z{NBSP}= (+0.420,{NBSP}-1.580)"
    assert text.split(" ") == [f"z{NBSP}=", f"(+0.420,{NBSP}-1.580)"]  # a line may break only after "="
    assert text.replace(NBSP, " ") == "z = " + format_z((0.42, -1.58))


def test_longer_zs_break_only_between_pairs_of_coordinates():
    four = z_words((1, 2, 3, 4))
    assert four.split(" ")[1:] == [f"(+1.000,{NBSP}+2.000,", f"+3.000,{NBSP}+4.000)"]
    eight = z_words(range(8))
    assert eight.replace(NBSP, " ") == f"z = {format_z(range(8), 4)}"
    assert f"in{NBSP}8-D" in eight


def test_a_number_keeps_to_its_word():
    words = "interpolation t = +0.35 (linear) \u00b7 snapshot 5 of 8 \u00b7 epoch 1, step 24"
    glued = nobreak(words)
    assert glued.replace(NBSP, " ") == words
    for piece in (f"t{NBSP}={NBSP}+0.35", f"snapshot{NBSP}5", f"of{NBSP}8", f"epoch{NBSP}1,", f"step{NBSP}24"):
        assert piece in glued.split(" "), piece
