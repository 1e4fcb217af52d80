"""The checkpoint + resume-state commit protocol (training/commit.py), in-process.

A full disk is a real 4 MiB tmpfs when the tests run as root, else an injected ENOSPC
(tests/training/conftest.py: ``small_disk``).
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import struct

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from training import checkpoint, resume_state
from training.cli import main
from training.commit import ResumeError, commit_epoch, load_for_resume, resume_file_of
from training.fileio import SaveError, temp_path
from training.models import ModelConfig, build_model

CFG = ModelConfig(channels=(4, 8), hidden=(8,))


def trained_step(seed: int = 0):
    """A tiny model and an Adam optimizer that has taken one step (so it has state)."""
    torch.manual_seed(seed)
    model = build_model(CFG)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    out = model(torch.rand(4, 1, 28, 28))
    out["loss"].backward()
    opt.step()
    return model, opt


def commit(out, model, opt, epoch, history=None):
    history = history if history is not None else [{"epoch": e} for e in range(1, epoch + 1)]
    return commit_epoch(out, model, opt, epoch=epoch, train_config={"lr": 1e-3}, dataset={"name": "synthetic"},
                        metrics={"epochs": epoch}, history=history)


def test_a_pair_round_trips_exactly(tmp_path):
    model, opt = trained_step()
    out = tmp_path / "m.safetensors"
    ref = commit(out, model, opt, 1)
    assert re.fullmatch(r"m\.safetensors\.resume-1-[0-9a-f]{16}\.safetensors", ref["file"])
    assert len(ref["sha256"]) == 64 and ref["epoch"] == 1
    assert sorted(os.listdir(tmp_path)) == sorted(["m.safetensors", ref["file"]])
    loaded, state = load_for_resume(out, CFG)
    assert state.epoch == 1 and state.train_config == {"lr": 1e-3}
    want = opt.state_dict()
    assert state.optimizer["param_groups"] == want["param_groups"]
    for i, entries in want["state"].items():
        for key, value in entries.items():
            assert torch.equal(state.optimizer["state"][i][key], value), (i, key)
    fresh = torch.optim.Adam(loaded.parameters(), lr=1e-3)
    fresh.load_state_dict(state.optimizer)  # torch accepts it as is


def test_the_next_commit_removes_the_old_resume_file_and_leftovers_of_kills(tmp_path):
    model, opt = trained_step()
    out = tmp_path / "m.safetensors"
    first = commit(out, model, opt, 1)
    # what kills leave: an unnamed resume file (killed between the two writes), dead writers' temps
    unnamed = tmp_path / "m.safetensors.resume-2-0123456789abcdef.safetensors"
    unnamed.write_bytes(b"complete but never committed")
    dead = [temp_path(out, pid=999_999_999), temp_path(tmp_path / unnamed.name, pid=999_999_999)]
    for p in dead:
        p.write_bytes(b"half")
    assert load_for_resume(out, CFG)[1].epoch == 1  # the committed pair is untouched by the leftovers
    second = commit(out, model, opt, 2)
    assert sorted(os.listdir(tmp_path)) == sorted(["m.safetensors", second["file"]])
    assert first["file"] != second["file"]


def test_resume_refuses_a_swapped_or_tampered_file(tmp_path):
    model, opt = trained_step()
    out = tmp_path / "m.safetensors"
    ref = commit(out, model, opt, 1)
    rp = tmp_path / ref["file"]
    data = bytearray(rp.read_bytes())
    data[-1] ^= 1
    rp.write_bytes(bytes(data))
    with pytest.raises(ResumeError, match=rf"does not match the checkpoint that names it \(SHA-256 [0-9a-f]{{64}}, "
                                          rf"expected {ref['sha256']}\)"):
        load_for_resume(out, CFG)
    rp.write_bytes(pickle.dumps({"epoch": 1}))
    with pytest.raises(ResumeError) as info:
        load_for_resume(out, CFG)
    assert "weights_only" not in str(info.value)


def test_resume_refuses_duplicated_history(tmp_path):
    model, opt = trained_step()
    out = tmp_path / "m.safetensors"
    commit(out, model, opt, 2, history=[{"epoch": 1}, {"epoch": 2}, {"epoch": 2}])
    with pytest.raises(ResumeError, match="does not list epochs 1..2 once each"):
        load_for_resume(out, CFG)


def test_resume_refuses_a_reference_outside_the_folder(tmp_path):
    model, opt = trained_step()
    out = tmp_path / "m.safetensors"
    ref = commit(out, model, opt, 1)
    checkpoint.save(model, out, history=[{"epoch": 1}], resume={**ref, "file": "../" + ref["file"]})
    with pytest.raises(ResumeError, match="invalid resume reference"):
        load_for_resume(out, CFG)


def test_resume_state_shapes_are_checked_before_data(tmp_path):
    model, opt = trained_step()
    data = resume_state.encode(opt.state_dict(), epoch=1, train_config={})
    path = tmp_path / "r.safetensors"
    path.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    shapes = [tuple(p.shape) for p in model.parameters()]
    assert resume_state.read(path, sha256=sha, param_shapes=shapes).epoch == 1
    wrong = [(3, 3)] + shapes[1:]
    with pytest.raises(resume_state.ResumeError, match=r"tensor 'state\.0\.exp_avg' is float32 .* needs float32 \(3, 3\)"):
        resume_state.read(path, sha256=sha, param_shapes=wrong)
    with pytest.raises(resume_state.ResumeError, match="holds optimizer state for"):
        resume_state.read(path, sha256=sha, param_shapes=shapes[:-1])


@pytest.mark.parametrize("fail_in", ["resume state", "checkpoint"])
def test_a_full_disk_keeps_the_previous_pair(small_disk, fail_in):
    model, opt = trained_step()
    out = small_disk.folder / "m.safetensors"
    first = commit(out, model, opt, 1)
    before = {name: (small_disk.folder / name).read_bytes() for name in small_disk.files()}
    resume_size = len(resume_state.encode(opt.state_dict(), epoch=2, train_config={"lr": 1e-3}))
    small_disk.fill(leave=0 if fail_in == "resume state" else resume_size + 4096)
    with pytest.raises(SaveError) as info:
        commit(out, model, opt, 2)
    msg = str(info.value)
    failed = r"m\.safetensors\.resume-2-[0-9a-f]{16}\.safetensors" if fail_in == "resume state" else r"m\.safetensors"
    assert re.search(rf"/{failed}: could not be saved \(No space left on device\)", msg), msg
    assert "\n" not in msg
    assert {name: (small_disk.folder / name).read_bytes() for name in small_disk.files()} == before
    assert load_for_resume(out, CFG)[1].epoch == 1 and resume_file_of(out).name == first["file"]
    small_disk.free()
    second = commit(out, model, opt, 2)
    assert small_disk.files() == sorted(["m.safetensors", second["file"]])


SYN = ["--dataset", "synthetic", "--channels", "4,8", "--hidden", "8", "--threads", "1", "--limit", "64",
       "--quiet", "--schedule", "constant"]


def test_cli_full_disk_is_one_line_and_the_pair_survives(small_disk, capsys):
    out = small_disk.folder / "m.safetensors"
    assert main([*SYN, "--epochs", "1", "--out", str(out)]) == 0
    capsys.readouterr()
    pair = small_disk.files()
    small_disk.fill(leave=0)
    assert main([*SYN, "--epochs", "2", "--resume", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "RuntimeError" not in err
    line = err.strip().splitlines()[-1]
    assert re.fullmatch(rf"latent-train: error: {re.escape(str(out))}\.resume-2-[0-9a-f]{{16}}\.safetensors: could not "
                        rf"be saved \(No space left on device\); nothing was written; training stopped after epoch 2, "
                        rf"and {re.escape(str(out))} still holds epoch 1 with its resume state", line), line
    assert small_disk.files() == pair
    small_disk.free()
    assert main([*SYN, "--epochs", "2", "--resume", "--out", str(out)]) == 0
    assert [row["epoch"] for row in checkpoint.read_metadata(out)["history"]] == [1, 2]


# ----------------------------------------------------------------------------- resume-state fuzzing

_model, _opt = trained_step()
_SHAPES = [tuple(p.shape) for p in _model.parameters()]
_VALID = resume_state.encode(_opt.state_dict(), epoch=3, train_config={"lr": 1e-3})


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_fuzzed_resume_files_give_state_or_one_sentence(tmp_path, data):
    # the checkpoint vouches for the bytes (their hash matches): what is inside must still be checked
    raw = bytearray(_VALID)
    (n,) = struct.unpack("<Q", raw[:8])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, 8 + n - 1 if data.draw(st.booleans()) else len(raw) - 1))
        raw[i] = data.draw(st.sampled_from(list(b'0123456789{}[]",:.\\ eE-\x00\xff')))
    if data.draw(st.booleans()):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    path = tmp_path / "r.safetensors"
    path.write_bytes(bytes(raw))
    try:
        state = resume_state.read(path, sha256=hashlib.sha256(raw).hexdigest(), param_shapes=_SHAPES)
    except resume_state.ResumeError as e:
        assert str(path) in str(e) and "\n" not in str(e)  # noqa: PT017 - fuzzer: loaded (else:) is right too
    else:
        assert all(torch.isfinite(t).all() for s in state.optimizer["state"].values() for t in s.values()
                   if isinstance(t, torch.Tensor))
