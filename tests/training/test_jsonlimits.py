"""training.jsonlimits.load_json_bounded: one sentence per limit, never another exception."""

from __future__ import annotations

import json
import tracemalloc

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from training.errors import UserError
from training.fileio import JsonLimitError, load_json_bounded

LIMITS = {"max_bytes": 1 << 20, "max_depth": 16, "max_number_digits": 32}


def refused(text, *words, **limits) -> str:
    with pytest.raises(JsonLimitError) as info:
        load_json_bounded(text, source="demo.scene.json", **{**LIMITS, **limits})
    msg = str(info.value)
    assert msg.startswith("demo.scene.json: ") and "\n" not in msg and len(msg) < 300, msg
    for w in words:
        assert w in msg, msg
    return msg


def test_valid_json_round_trips(tmp_path):
    doc = {"format": "latent-explorer-scene", "point": [0.5, -1.25], "vectors": [{"strength": 2, "on": True}],
           "view": None, "name": "boots ünd sneakers"}
    text = json.dumps(doc)
    assert load_json_bounded(text, source="s", **LIMITS) == doc
    assert load_json_bounded(text.encode(), source="s", **LIMITS) == doc
    (tmp_path / "s.json").write_text(text, encoding="utf-8")
    assert load_json_bounded(tmp_path / "s.json", source="s", **LIMITS) == doc
    assert load_json_bounded(b"\xef\xbb\xbf" + text.encode(), source="s", **LIMITS) == doc  # a BOM is fine


def test_error_is_a_user_error():
    assert issubclass(JsonLimitError, UserError)


@pytest.mark.parametrize("depth", [17, 1000, 100_000])
def test_too_deep(depth):
    refused("[" * depth + "]" * depth, "nested more than 16 levels deep")
    if depth > 1000:  # unterminated and deeper than the parser's recursion limit: depth is what is wrong
        refused("[" * depth, "nested more than 16 levels deep")


def test_depth_limit_is_exact():
    ok = "[" * 16 + "]" * 16
    assert load_json_bounded(ok, source="s", **LIMITS) is not None
    refused('{"a": ' * 17 + "1" + "}" * 17, "nested more than 16")


@pytest.mark.parametrize("number", ["1" * 5000, "-" + "9" * 33, "1." + "0" * 40, "1e" + "1" * 40])
def test_too_long_numbers(number):
    refused(f'{{"strength": {number}}}', "has a number longer than 32 digits")


def test_number_limit_is_exact():
    assert load_json_bounded("-" + "9" * 32, source="s", **LIMITS) == -int("9" * 32)


def test_too_large_text_and_file(tmp_path):
    refused(" " * 2000 + "1", "more than the 1,000 bytes allowed", max_bytes=1000)
    big = tmp_path / "big.json"
    big.write_bytes(b"[" + b"0," * 600_000 + b"0]")
    with pytest.raises(JsonLimitError, match=r"big.json: is 1,172 KiB, more than the 1,000 bytes allowed"):
        load_json_bounded(big, source=str(big), max_bytes=1000, max_depth=4, max_number_digits=4)


def test_too_many_values():
    refused("[" + "0," * 100 + "0]", "more than 50 values", max_values=50)
    assert load_json_bounded("[" + "0," * 48 + "0]", source="s", max_values=50, **LIMITS) == [0] * 49


@pytest.mark.parametrize(("text", "words"), [
    ("{not json", "is not valid JSON"),
    ("", "is not valid JSON"),
    (b"\xff\xfe{}", "not UTF-8"),
    ("NaN", "NaN is not a JSON value"),
    ("[Infinity]", "Infinity is not a JSON value"),
    ('{"a": 1} trailing', "is not valid JSON"),
])
def test_not_json(text, words):
    refused(text, words)


def test_nan_when_allowed():
    assert load_json_bounded("[NaN]", source="s", allow_nan=True, **LIMITS)[0] != 0


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(JsonLimitError, match="no such file"):
        load_json_bounded(tmp_path / "nope.json", source="nope.json", **LIMITS)
    with pytest.raises(JsonLimitError, match="folder"):
        load_json_bounded(tmp_path, source="dir", **LIMITS)


def test_a_huge_file_is_not_read(tmp_path):
    big = tmp_path / "huge.json"
    with open(big, "wb") as f:  # 256 MiB, sparse: nothing is written to disk
        f.truncate(256 << 20)
    tracemalloc.start()
    try:
        with pytest.raises(JsonLimitError, match="more than the"):
            load_json_bounded(big, source="huge.json", **LIMITS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20, f"refusing a 256 MiB file took {peak / 2**20:.1f} MiB"


def test_deep_nesting_within_size_uses_bounded_memory():
    text = "[" * 500_000 + "]" * 500_000  # 1 MB of nesting
    tracemalloc.start()
    try:
        refused(text, "nested", max_bytes=2 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 << 20, f"{peak / 2**20:.1f} MiB"


# the fuzzers: any text or bytes, and mutations of a valid scene, give a value or one sentence

_SCENE = json.dumps({"format": "latent-explorer-scene", "version": 1, "point": [0.25, -1.5],
                     "vectors": [{"name": "boot", "strength": 1.5, "enabled": True}], "view": None}).encode()


def _check(data) -> None:
    try:
        load_json_bounded(data, source="fuzz.json", max_bytes=4096, max_depth=8, max_number_digits=20,
                          max_values=500)
    except JsonLimitError as e:
        assert str(e).startswith("fuzz.json: ") and "\n" not in str(e)  # noqa: PT017 - a value is right too


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.binary(max_size=600), st.text(max_size=600),
                 st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
                              lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=4), kids,
                                                                                         max_size=4),
                              max_leaves=30).map(json.dumps)))
def test_fuzzed_text_gives_a_value_or_one_sentence(data):
    _check(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzzed_scene_mutations(data):
    raw = bytearray(_SCENE)
    for _ in range(data.draw(st.integers(1, 6))):
        op = data.draw(st.sampled_from(["set", "insert", "repeat", "cut"]))
        i = data.draw(st.integers(0, len(raw) - 1))
        if op == "set":
            raw[i] = data.draw(st.sampled_from(list(b'0123456789-+.eE{}[]",:\\ \x00\xff')))
        elif op == "insert":
            raw[i:i] = data.draw(st.sampled_from([b"[", b"{", b"9" * 30, b"\\u", b"NaN", b"1e999"]))
        elif op == "repeat":
            raw[i:i] = bytes(raw[i:i + 3]) * data.draw(st.integers(1, 3000))
        else:
            del raw[i:]
        if not raw:
            raw = bytearray(b" ")
    _check(bytes(raw))


def test_path_str_is_text_not_a_path(tmp_path):
    # a str is JSON text; only Path / os.PathLike is read from disk (documented)
    assert load_json_bounded('"x"', source="s", **LIMITS) == "x"
    (tmp_path / "s.json").write_text("[1]")
    assert load_json_bounded(str(tmp_path / "s.json").join('""'), source="s", **LIMITS) == str(tmp_path / "s.json")
    assert load_json_bounded(tmp_path / "s.json", source="s", **LIMITS) == [1]
