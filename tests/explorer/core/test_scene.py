"""Scene files: round trip, validation of every field, bounded parsing, refusal of another model's scene."""

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.core.scene import Bookmark, Scene, SceneError, Vector, check_model, load_scene, parse_scene, save_scene

SHA = "ab" * 32


def full_scene() -> Scene:
    return Scene(
        model_path="../assets/m.safetensors", model_sha256=SHA, dataset="synthetic", split="test",
        point=(0.5, -1.0), a=(-1.0, 0.25), b=(1.5, 0.75), t=0.35, method="spherical", frames=12,
        vectors=[Vector("ring − bar", (0.5, -0.25), 1.5, True, 0.93), Vector("off", (1.0, 0.0), -2.0, False, None)],
        bookmarks=[Bookmark("one", (0.0, 1.0)), Bookmark("two", (2.0, -2.0))],
        view=(-3.0, 3.0, -2.0, 2.5), hover=True, underlay=True, density=30, hidden_classes=[2, 7], presentation=False,
        condition=3,
    )


def _plain(scene: Scene) -> dict:
    return scene.to_json()  # evented vectors / bookmarks compare by identity; their JSON by value


def test_round_trip_is_exact(tmp_path):
    s = full_scene()
    path = save_scene(s, tmp_path / "s.json")
    assert _plain(load_scene(path)) == _plain(s)
    assert not [p for p in tmp_path.iterdir() if p.name != "s.json"], "no temp file left behind"


def test_readme_example_parses():
    """The complete example in README.md is a valid scene (with a real-looking hash)."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    text = (root / "README.md").read_text()
    block = text.split("Complete example")[1].split("```json")[1].split("```")[0]
    s = parse_scene(block, "README example")
    assert s.method == "spherical" and s.vectors[0].strength == 1.0 and s.hidden_classes == [6]
    shipped = load_scene(root / "examples" / "talk.json")
    assert _plain(shipped) == _plain(s), "README's example and examples/talk.json differ"


def test_relative_model_path_resolves_next_to_scene(tmp_path):
    s = full_scene()
    assert s.resolved_model(tmp_path / "talks" / "s.json") == (tmp_path / "assets" / "m.safetensors").resolve()


def test_other_model_is_refused_with_both_full_hashes():
    s = full_scene()
    with pytest.raises(SceneError, match=r"s\.json: was made for another model.*nothing was changed") as e:
        check_model(s, "cd" * 32, "s.json")
    assert SHA in str(e.value) and "cd" * 32 in str(e.value), "full hashes, so the right one can be copied"
    check_model(s, SHA)  # the right model passes


def test_condition_is_optional():
    """Scenes made before the CVAE class dial (and for other models) have no 'condition'."""
    d = full_scene().to_json()
    assert d["condition"] == 3
    del d["condition"]
    s = parse_scene(json.dumps(d), "old.json")
    assert s.condition is None and "condition" not in s.to_json()


def test_a_palette_is_optional_and_a_scene_without_one_keeps_the_users():
    from explorer.core.scene import apply_scene
    from explorer.core.state import ExplorerState

    d = full_scene().to_json()
    assert "palette" not in d["toggles"]  # a scene made without naming one
    s = parse_scene(json.dumps(d), "talk.json")
    assert s.palette is None
    st = ExplorerState()
    st.palette = "colour-blind safe"  # the user's
    object.__setattr__(st, "session", _FakeSession())
    apply_scene(s, st)
    assert st.palette == "colour-blind safe"
    d["toggles"]["palette"] = "tab10"  # named: the scene's wins
    apply_scene(parse_scene(json.dumps(d), "named.json"), st)
    assert st.palette == "tab10"


class _FakeSession:
    """Just what check_scene reads of an open 2-D model."""

    def __init__(self):
        import numpy as np

        self.label_names = [str(k) for k in range(10)]
        self.means, self.snapshots, self.conditional, self.sha256 = np.zeros((3, 2), np.float32), [], False, SHA
        self.model_path, self.index = "m.safetensors", None


def test_sha256_is_optional():
    d = full_scene().to_json()
    del d["model"]["sha256"]
    s = parse_scene(json.dumps(d), "nohash.json")
    assert s.model_sha256 is None
    check_model(s, "cd" * 32)  # nothing to compare: accepted (the app adds a note)


def _mutated(**changes) -> str:
    d = full_scene().to_json()
    for path, value in changes.items():
        node = d
        keys = path.split("__")
        for k in keys[:-1]:
            node = node[int(k)] if k.isdigit() else node[k]
        last = keys[-1]
        if value is KeyError:
            del node[last]
        else:
            node[int(last) if last.isdigit() else last] = value
    return json.dumps(d)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"format": "something"}, "is not a latent-explorer scene"),
        ({"version": 99}, "newer version"),
        ({"version": "1"}, "no valid 'version'"),
        ({"model__sha256": "xyz"}, "64 lowercase hex"),
        ({"shows": "everything"}, "'shows' must be point or interpolation"),
        ({"model": KeyError}, "'model' must be an object"),
        ({"interpolation__t": 7}, r"'interpolation.t' must be a finite number in \[-0.5, 1.5\]"),
        ({"interpolation__method": "cubic"}, "linear or spherical"),
        ({"interpolation__frames": 1}, "frames' must be an integer"),
        ({"interpolation__a": [1, 2, 3]}, "'interpolation.a' must be a 2-D point"),
        ({"point": ["x", 1]}, "'point' must be a finite number"),
        ({"vectors__0__strength": 3.5}, r"strength' must be a finite number in \[-3, 3\]"),
        ({"vectors__0__vector": None}, r"vectors\[0\].vector' must be a 2-D point"),
        ({"vectors__0__auc": 2}, "auc"),
        ({"bookmarks__1__name": 5}, r"bookmarks\[1\].name' must be a string"),
        ({"bookmarks__1__name": "b" * 300}, r"bookmarks\[1\].name' is 300 characters long; at most 200 are allowed"),
        ({"model__path": "m\0.safetensors"}, "'model.path' contains a NUL character, so it names no file"),
        ({"view__x": [3, -3]}, "increasing"),
        ({"toggles__density": 1000}, "density"),
        ({"toggles__hidden_classes": [-1]}, "hidden_classes"),
        ({"toggles__hover": "yes"}, "'toggles.hover' must be true or false"),
        ({"dataset__split": "val"}, "train, test or all"),
        ({"condition": -1}, "'condition' must be a class index"),
        ({"condition": True}, "'condition' must be a class index"),
        ({"condition": "Sneaker"}, "'condition' must be a class index"),
    ],
)
def test_malformed_fields_are_named(changes, message):
    with pytest.raises(SceneError, match=message) as e:
        parse_scene(_mutated(**changes), "bad.json")
    assert str(e.value).startswith("bad.json: ")
    assert "\n" not in str(e.value)


def test_not_json_and_not_text(tmp_path):
    (tmp_path / "a.json").write_text("{nope")
    with pytest.raises(SceneError, match=r"a\.json: is not valid JSON \(.*line 1"):
        load_scene(tmp_path / "a.json")
    (tmp_path / "b.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SceneError, match="not a text"):
        load_scene(tmp_path / "b.json")
    with pytest.raises(SceneError, match="no such file"):
        load_scene(tmp_path / "missing.json")
    with pytest.raises(SceneError, match="must be an object"):
        parse_scene("[1, 2]", "list.json")


@settings(max_examples=200, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=5),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                    max_leaves=20))
def test_random_json_only_raises_scene_error(value):
    with contextlib.suppress(SceneError):  # a scene or one SceneError; anything else fails the test
        parse_scene(json.dumps(value), "fuzz.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested more than 32 levels deep"),
        ('{"format": ' + "[" * 40 + "]" * 40 + "}", "nested more than 32 levels deep"),
        ('{"point": [' + "9" * 5000 + ", 1]}", "a number longer than 40 digits"),
        ('{"t": 1.' + "5" * 100 + "}", "a number longer than 40 digits"),
        (" " * (5 * 1024**2), "more than the 4 MiB allowed"),
    ],
    ids=["deep-100k", "deep-40", "long-int", "long-float", "5-MiB"],
)
def test_hostile_json_gets_one_sentence(text, message):
    with pytest.raises(SceneError, match=message) as e:
        parse_scene(text, "hostile.json")
    assert str(e.value).startswith("hostile.json: ") and "\n" not in str(e.value)


def test_spread_toggles_round_trip_and_are_optional(tmp_path):
    """plot_samples / ellipses (posterior spread) are saved; a scene without them (older) still loads."""
    s = full_scene()
    s.plot_samples, s.ellipses = True, True
    loaded = load_scene(save_scene(s, tmp_path / "s.json"))
    assert loaded.plot_samples and loaded.ellipses
    d = s.to_json()
    del d["toggles"]["plot_samples"], d["toggles"]["ellipses"]
    old = parse_scene(json.dumps(d))
    assert not old.plot_samples and not old.ellipses
    d["toggles"]["ellipses"] = "yes"
    with pytest.raises(SceneError, match="'toggles.ellipses' must be true or false"):
        parse_scene(json.dumps(d), "s.json")


def test_lasso_groups_round_trip_are_optional_and_bounded(tmp_path):
    """The vector panel's lasso groups A / B are saved; a scene without them (older) loads with none."""
    from explorer.core.scene_file import MAX_SELECTION

    s = full_scene()
    s.groups = {"A": [1, 5, 9], "B": [2]}
    loaded = load_scene(save_scene(s, tmp_path / "s.json"))
    assert loaded.groups == {"A": [1, 5, 9], "B": [2]}
    d = s.to_json()
    del d["groups"]
    assert parse_scene(json.dumps(d)).groups == {}
    for bad, message in (({"C": [1]}, "holds groups 'A' and 'B'"), ({"A": [-1]}, "'groups.A' must be a list"),
                         ({"B": [0] * (MAX_SELECTION + 1)}, "'groups.B' must be a list of at most"),
                         ([1, 2], "'groups' must be an object")):
        d["groups"] = bad
        with pytest.raises(SceneError, match=message):
            parse_scene(json.dumps(d), "s.json")


def test_d_dim_scene_keys_are_checked_one_sentence_each():
    """latent_dim sets the length of every D-point; the slice must be orthonormal; the point stays 2-D."""
    from explorer.core.scene_file import parse_scene

    base = {"format": "latent-explorer-scene", "version": 1, "model": {"path": "m.safetensors"}, "latent_dim": 3,
            "point": [0.1, 0.2], "interpolation": {"a": [1, 2, 3], "b": [0, 0, 1]},
            "slice": {"origin": [0, 0, 0], "u": [1, 0, 0], "v": [0, 0, 1]}}
    sc = parse_scene(json.dumps(base))
    assert sc.latent_dim == 3 and sc.a == (1.0, 2.0, 3.0) and sc.slice["v"] == (0.0, 0.0, 1.0)
    for change, words in ((("interpolation", {"a": [1, 2]}), r"'interpolation.a' must be a 3-D point"),
                          (("slice", {"origin": [0, 0, 0], "u": [1, 1, 0], "v": [0, 0, 1]}), "orthonormal"),
                          (("latent_dim", 1), "latent dimension, 2 to 512"),
                          (("latent_dim", 600), "latent dimension, 2 to 512"),
                          (("model", {"path": "m\u0000.safetensors"}), "NUL character")):
        bad = dict(base)
        bad[change[0]] = change[1]
        with pytest.raises(SceneError, match=words) as e:
            parse_scene(json.dumps(bad))
        assert "\n" not in str(e.value)


def test_a_nul_in_a_compared_models_path_or_the_scene_path_is_one_sentence(tmp_path):
    d = full_scene().to_json()
    d["compare"] = [{"path": "b\0.safetensors"}]
    with pytest.raises(SceneError, match=r"^bad.json: 'compare\[0\].path' contains a NUL character"):
        parse_scene(json.dumps(d), "bad.json")
    for act in (lambda p: load_scene(p), lambda p: save_scene(full_scene(), p)):
        with pytest.raises(SceneError, match=r"a\\0b.json: is not a usable file name \(it contains a NUL character\)"):
            act(str(tmp_path / "a\0b.json"))
