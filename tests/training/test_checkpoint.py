"""The .safetensors checkpoint format of DESIGN.md: atomic save, validated load, hostile files refused."""

from __future__ import annotations

import json
import os
import pickle
import resource
import struct
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import load_file, save_file

from training import checkpoint
from training.checkpoint import CheckpointError
from training.models import ModelConfig, build_model

SMALL = {"channels": (4, 8), "hidden": (8,)}


def make_model(**kw):
    torch.manual_seed(0)
    return build_model(ModelConfig(**{**SMALL, **kw}))


@pytest.fixture(scope="module")
def model():
    return make_model()


@pytest.fixture
def good(tmp_path, model) -> Path:
    return checkpoint.save(model, tmp_path / "good.safetensors", dataset={"name": "synthetic", "label_names": list("abc")},
                           metrics={"test_neg_elbo": 123.5, "epochs": 3}, history=[{"epoch": 1, "loss": 200.0}])


def good_metadata(path: Path) -> dict[str, str]:
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    return json.loads(data[8 : 8 + n])["__metadata__"]


def write(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None) -> Path:
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)
    return path


def refused(path: Path, *words: str) -> str:
    """Load must raise CheckpointError: one line, naming the file, containing every word."""
    with pytest.raises(CheckpointError) as info:
        checkpoint.load(path)
    msg = str(info.value)
    assert str(path) in msg
    assert "\n" not in msg
    for w in words:
        assert w.lower() in msg.lower(), msg
    return msg


# ----------------------------------------------------------------------------- round trip


@pytest.mark.parametrize("kw", [{}, {"kind": "ae"}, {"arch": "mlp", "image_shape": (3, 20, 24), "hidden": (16, 8)},
                                {"likelihood": "gaussian", "beta": 4.0, "image_shape": (1, 30, 30)}])
def test_round_trip_gives_identical_outputs(tmp_path, kw):
    m = make_model(**kw).eval()
    path = checkpoint.save(m, tmp_path / "m.safetensors", dataset={"name": "synthetic"},
                           metrics={"epochs": 2}, history=[{"epoch": 1}, {"epoch": 2}])
    loaded = checkpoint.load(path)
    assert loaded.config == m.config
    z = torch.randn(16, 2)
    x = torch.rand(4, *m.config.image_shape)
    with torch.no_grad():
        assert torch.equal(loaded.decode(z), m.decode(z))
        assert torch.equal(loaded.encode(x)[0], m.encode(x)[0])
    for k, v in m.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v)


def test_load_returns_eval_model_with_config_and_metadata(good, model):
    model.train()
    loaded = checkpoint.load(good)
    assert model.training  # the saved model was not touched
    assert not loaded.training and not any(mod.training for mod in loaded.modules())
    assert loaded.config == model.config
    meta = loaded.metadata
    assert meta["dataset"] == {"name": "synthetic", "label_names": ["a", "b", "c"]}
    assert meta["metrics"] == {"test_neg_elbo": 123.5, "epochs": 3}
    assert meta["history"] == [{"epoch": 1, "loss": 200.0}]
    assert meta["schema"] == 1
    assert set(meta["versions"]) >= {"latent-explorer", "torch", "python"}
    assert checkpoint.read_metadata(good)["config"] == model.config.to_dict()


def test_file_is_plain_safetensors_in_the_documented_format(good, model):
    meta = good_metadata(good)
    assert meta["format"] == "latent-explorer" and meta["schema"] == "1"
    assert json.loads(meta["config"]) == model.config.to_dict()
    for key in ("dataset", "metrics", "history", "versions"):
        json.loads(meta[key])
    tensors = load_file(str(good))
    assert set(tensors) == set(model.state_dict())
    assert all(t.dtype == torch.float32 for t in tensors.values())


# ----------------------------------------------------------------------------- atomic writing


def test_save_leaves_no_temp_files_and_replaces_old_file(tmp_path, model, good):
    other = make_model(hidden=(16,))
    checkpoint.save(other, good)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.safetensors"]
    assert checkpoint.load(good).config == other.config


def test_save_creates_missing_folders(tmp_path, model):
    path = checkpoint.save(model, tmp_path / "a" / "b" / "m.safetensors")
    assert checkpoint.load(path).config == model.config


def test_failing_write_keeps_old_file_and_removes_temp(tmp_path, model, good, monkeypatch):
    before = good.read_bytes()

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="No space"):
        checkpoint.save(make_model(hidden=(16,)), good)
    monkeypatch.undo()
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.safetensors"]
    checkpoint.load(good)


def test_state_that_cannot_be_converted_keeps_old_file(tmp_path, good):
    before = good.read_bytes()
    m = make_model()
    m.register_buffer("bad", torch.empty(3, device="meta"))  # cannot be copied to the cpu
    with pytest.raises((NotImplementedError, RuntimeError)):
        checkpoint.save(m, good)
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.safetensors"]


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_non_finite_weights_are_never_written(tmp_path, good, value):
    before = good.read_bytes()
    m = make_model()
    with torch.no_grad():
        m.mean.weight[0, 0] = value
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        checkpoint.save(m, good)
    assert good.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["good.safetensors"]


# ----------------------------------------------------------------------------- hostile and broken files


class _Payload:
    """Unpickling this creates a folder: proof that code from the file ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_payload_is_refused_and_never_runs(tmp_path, protocol):
    # the payload is live: unpickling a copy does create its marker
    probe = tmp_path / "probe-marker"
    pickle.loads(pickle.dumps(_Payload(probe), protocol=protocol))
    assert probe.is_dir()

    marker = tmp_path / "marker"
    path = tmp_path / "evil.safetensors"
    path.write_bytes(pickle.dumps(_Payload(marker), protocol=protocol))
    refused(path)
    with pytest.raises(CheckpointError):
        checkpoint.read_metadata(path)
    assert not marker.exists()


def test_torch_save_file_is_refused_as_pickle(tmp_path, model):
    path = tmp_path / "m.safetensors"
    torch.save(model.state_dict(), path)
    refused(path, "pickle", "not loaded")
    path2 = tmp_path / "m2.safetensors"
    torch.save({"evil": _Payload(tmp_path / "marker")}, path2)
    refused(path2, "pickle")
    assert not (tmp_path / "marker").exists()


def test_truncated_files_are_refused(tmp_path, good):
    data = good.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    for cut in (3, 8, 8 + n // 2, 8 + n, 8 + n + 10, len(data) // 2, len(data) - 1):
        path = tmp_path / f"cut{cut}.safetensors"
        path.write_bytes(data[:cut])
        refused(path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    refused(path, "too short")


def test_random_bytes(tmp_path):
    path = tmp_path / "noise.safetensors"
    path.write_bytes(torch.randint(0, 256, (5000,), generator=torch.Generator().manual_seed(0), dtype=torch.uint8).numpy().tobytes())
    refused(path)


def test_header_length_larger_than_file(tmp_path, good):
    data = good.read_bytes()
    path = tmp_path / "long.safetensors"
    path.write_bytes(struct.pack("<Q", len(data) + 100) + data[8:])
    refused(path, "does not fit")


def test_header_that_is_not_json(tmp_path):
    path = tmp_path / "h.safetensors"
    body = b"\xff\xfe not json"
    path.write_bytes(struct.pack("<Q", len(body)) + body)
    refused(path, "not valid JSON")
    body = b"[" * 100_000  # nesting deep enough to overflow a recursive parser
    path.write_bytes(struct.pack("<Q", len(body)) + body)
    refused(path, "header", "nested more than")
    body = b"[1, 2]"
    path.write_bytes(struct.pack("<Q", len(body)) + body)
    refused(path, "not a JSON object")


def test_safetensors_without_our_metadata(tmp_path, model):
    refused(write(tmp_path / "plain.safetensors", model.state_dict(), None), "no latent-explorer metadata")
    refused(write(tmp_path / "other.safetensors", model.state_dict(), {"format": "pt"}), "not a latent-explorer checkpoint")


def _with_meta(tmp_path, good, model, name="x", tensors=None, **changes) -> Path:
    meta = good_metadata(good)
    meta.update(changes)
    meta = {k: v for k, v in meta.items() if v is not None}
    return write(tmp_path / f"{name}.safetensors", model.state_dict() if tensors is None else tensors, meta)


def test_newer_schema(tmp_path, good, model):
    refused(_with_meta(tmp_path, good, model, schema="2"), "newer version")


@pytest.mark.parametrize("schema", ["0", "one", "", "-1", "1.0", "²", "9" * 5000])
def test_bad_schema(tmp_path, good, model, schema):
    msg = refused(_with_meta(tmp_path, good, model, schema=schema), "schema")
    assert len(msg) < 300 + len(str(tmp_path))


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({"latent_dim": 0}, ["latent_dim"]),
        ({"beta": -1}, ["beta"]),
        ({"kind": "gan"}, ["kind"]),
        ({"colour": 1}, ["unknown field"]),
        ({"channels": "4,8"}, ["wrong type"]),
        ({"image_shape": [1, 28, 100000]}, ["image size"]),
        ('"latent_dim": ' + "9" * 5000, ["config"]),  # an int too long for Python's int()
        ('"beta": ' + "9" * 400, ["beta"]),  # an int too large for a float
    ],
)
def test_config_out_of_range(tmp_path, good, model, config, words):
    if isinstance(config, dict):
        text = json.dumps({**model.config.to_dict(), **config})
    else:
        text = json.dumps(model.config.to_dict())[:-1] + ", " + config + "}"
    refused(_with_meta(tmp_path, good, model, config=text), "config", *words)


@pytest.mark.parametrize(("field", "value", "words"), [
    ("config", None, "no model config"),
    ("config", "{not json", "not valid JSON"),
    ("config", "[" * 100_000, "nested more than 8 levels"),
    ("config", "[]", "wrong type"),
    ("metrics", "[1]", "metrics"),
    ("history", "{}", "history"),
    ("dataset", "nope", "dataset"),
])
def test_broken_metadata_fields(tmp_path, good, model, field, value, words):
    refused(_with_meta(tmp_path, good, model, **{field: value}), words)


def test_missing_key(tmp_path, good, model):
    sd = dict(model.state_dict())
    del sd["mean.bias"]
    refused(_with_meta(tmp_path, good, model, tensors=sd), "missing", "mean.bias")


def test_extra_key(tmp_path, good, model):
    sd = {**model.state_dict(), "backdoor.weight": torch.zeros(3)}
    refused(_with_meta(tmp_path, good, model, tensors=sd), "unexpected", "backdoor.weight")


def test_config_that_does_not_match_the_tensors(tmp_path, good, model):
    cfg = json.dumps({**model.config.to_dict(), "kind": "ae"})  # ae has no logvar head
    refused(_with_meta(tmp_path, good, model, config=cfg), "unexpected", "logvar")
    cfg = json.dumps({**model.config.to_dict(), "hidden": [16]})
    refused(_with_meta(tmp_path, good, model, name="y", config=cfg), "shape")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.int32, torch.int64, torch.uint8])
def test_wrong_dtype(tmp_path, good, model, dtype):
    sd = dict(model.state_dict())
    sd["mean.weight"] = sd["mean.weight"].to(dtype)
    refused(_with_meta(tmp_path, good, model, tensors=sd), "mean.weight", str(dtype).removeprefix("torch."), "float32")


def test_all_float64(tmp_path, good, model):
    sd = {k: v.double() for k, v in model.state_dict().items()}
    refused(_with_meta(tmp_path, good, model, tensors=sd), "float64")


def test_wrong_shape(tmp_path, good, model):
    sd = dict(model.state_dict())
    sd["mean.weight"] = torch.zeros(3, 8)
    refused(_with_meta(tmp_path, good, model, tensors=sd), "mean.weight", "shape", "(3, 8)", "(2, 8)")


@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_weights(tmp_path, good, model, value):
    sd = {k: v.clone() for k, v in model.state_dict().items()}
    sd["decoder.ups.0.weight"][0, 0, 0, 0] = value
    refused(_with_meta(tmp_path, good, model, tensors=sd), "decoder.ups.0.weight", "NaN or infinite")


def test_size_cap(tmp_path, good, monkeypatch):
    monkeypatch.setattr(checkpoint, "MAX_BYTES", good.stat().st_size - 1)
    refused(good, "cap")
    monkeypatch.setattr(checkpoint, "MAX_BYTES", good.stat().st_size)
    checkpoint.load(good)


def test_directory_and_missing_path(tmp_path):
    folder = tmp_path / "dir.safetensors"
    folder.mkdir()
    refused(folder, "not a file")
    refused(tmp_path / "nope.safetensors", "no such file")


def test_hostile_config_does_not_allocate_a_huge_model(tmp_path, good, model):
    # a few KB of file asking for a ~3 GB MLP; the weights cannot match, so this must fail fast
    cfg = json.dumps({**model.config.to_dict(), "arch": "mlp", "image_shape": [3, 256, 256],
                      "hidden": [4096, 4096, 4096, 4096]})
    path = _with_meta(tmp_path, good, model, config=cfg)
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    refused(path, "weight")
    grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before
    assert grew < 512 * 1024, f"refusing the file raised peak memory by {grew / 1024:.0f} MiB"


# ----------------------------------------------------------------------------- fuzzing


_FUZZ_BASE: dict[str, bytes] = {}


def _fuzz_base() -> bytes:
    if "data" not in _FUZZ_BASE:
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            torch.manual_seed(0)
            m = build_model(ModelConfig(channels=(2,), hidden=(4,), image_shape=(1, 8, 8)))
            _FUZZ_BASE["data"] = checkpoint.save(m, Path(d) / "f.safetensors", metrics={"epochs": 1}).read_bytes()
    return _FUZZ_BASE["data"]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_files_only_ever_raise_checkpoint_error(tmp_path, data):
    raw = bytearray(_fuzz_base())
    (n,) = struct.unpack("<Q", raw[:8])
    kind = data.draw(st.sampled_from(["flip", "flip_header", "truncate", "set_byte"]))
    if kind == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw) - 1))]
    else:
        hi = 8 + n - 1 if kind == "flip_header" else len(raw) - 1
        for _ in range(data.draw(st.integers(1, 4))):
            i = data.draw(st.integers(0, hi))
            if kind == "set_byte":
                raw[i] = data.draw(st.sampled_from(list(b'0123456789{}[]",:\\ \x00\xffe')))
            else:
                raw[i] ^= 1 << data.draw(st.integers(0, 7))
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(bytes(raw))
    try:
        m = checkpoint.load(path)
    except CheckpointError as e:
        assert str(path) in str(e) and "\n" not in str(e)  # noqa: PT017 - fuzzer: loaded (else:) is right too
    else:  # loaded: then it is a valid, finite, float32 model
        assert all(torch.isfinite(t).all() and t.dtype == torch.float32 for t in m.state_dict().values())


def test_saved_file_gets_the_usual_permissions(tmp_path, model):
    old = os.umask(0o022)
    try:
        path = checkpoint.save(model, tmp_path / "m.safetensors")
        assert path.stat().st_mode & 0o777 == 0o644  # readable by others, like any file open() makes
        os.umask(0o077)
        checkpoint.save(model, path)
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(old)
