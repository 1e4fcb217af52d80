"""Training snapshots: taken where the schedule says, stored in the checkpoint under their own prefix,
listed, loaded by index, validated like the main weights, kept across --resume, listed by `info`."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from training import checkpoint, snapshots
from training.cli import main
from training.data import load_dataset
from training.models import ModelConfig, build_model
from training.train import TrainConfig, fit

TINY_ARGS = ["--dataset", "synthetic", "--channels", "4,8", "--hidden", "8", "--workers", "1", "--schedule",
             "constant", "--limit", "256", "--batch-size", "64", "--quiet"]


def test_schedule_spreads_n_steps_from_the_start():
    assert snapshots.schedule(100, 4) == [0, 25, 50, 75]
    assert snapshots.schedule(10, 3) == [0, 3, 6]
    assert snapshots.schedule(3, 10) == [0, 1, 2]  # never more than there are steps
    assert snapshots.schedule(100, 0) == [] and snapshots.schedule(0, 5) == []


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny VAE trained 2 epochs x 4 steps with 3 snapshots, the initial weights, and the saved file."""
    ds = load_dataset("synthetic", "train")
    x, test_x = torch.from_numpy(ds.images[:256]), torch.from_numpy(ds.images[256:356])
    torch.manual_seed(0)
    model = build_model(ModelConfig(channels=(4, 8), hidden=(8,)))
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    res = fit(model, x, TrainConfig(epochs=2, batch_size=64, workers=1, snapshots=3), test_x=test_x, progress=False)
    path = checkpoint.save(model, tmp_path_factory.mktemp("snap") / "m.safetensors", snapshots=res.snapshots)
    return model, initial, res, path


def test_fit_takes_the_scheduled_snapshots_with_their_metrics(trained):
    model, initial, res, _ = trained
    assert [(e["epoch"], e["step"]) for e, _ in res.snapshots] == [(0, 0), (0, 2), (1, 5)]  # 8 steps, 3 snapshots
    first = res.snapshots[0][1]
    assert all(torch.equal(first[k], initial[k]) for k in initial)  # snapshot 0 is the initial model
    later = res.snapshots[2][1]
    assert not all(torch.equal(later[k], first[k]) for k in first)
    assert not all(torch.equal(later[k], model.state_dict()[k]) for k in first)  # the final model is not repeated
    for entry, _ in res.snapshots:
        assert entry["metrics"]["test_neg_elbo"] > 0
    assert "train_loss" not in res.snapshots[0][0]["metrics"]  # nothing trained yet at step 0
    assert res.snapshots[1][0]["metrics"]["train_loss"] > 0


def test_snapshots_round_trip_and_are_listed(trained):
    model, _, res, path = trained
    listed = checkpoint.list_snapshots(path)
    assert [e["index"] for e in listed] == [0, 1, 2]
    assert [(e["epoch"], e["step"]) for e in listed] == [(0, 0), (0, 2), (1, 5)]
    for k, (_, weights) in enumerate(res.snapshots):
        snap = checkpoint.load(path, snapshot=k)
        assert snap.metadata["snapshot"]["index"] == k
        assert all(torch.equal(snap.state_dict()[name], weights[name]) for name in weights)
    final = checkpoint.load(path)
    assert all(torch.equal(final.state_dict()[n], v) for n, v in model.state_dict().items())
    assert "snapshot" not in final.metadata
    keys = set(load_file(path))
    assert {k for k in keys if not k.startswith("snapshot.")} == set(model.state_dict())
    assert sum(k.startswith("snapshot.2.") for k in keys) == len(model.state_dict())


def test_load_snapshots_gives_every_snapshot_from_one_read_of_the_file(trained):
    model, _, res, path = trained
    models = checkpoint.load_snapshots(path)
    assert len(models) == len(res.snapshots) == 3
    for k, m in enumerate(models):
        one = checkpoint.load(path, snapshot=k)
        assert m.metadata["snapshot"] == one.metadata["snapshot"] == checkpoint.list_snapshots(path)[k]
        assert m.metadata == one.metadata and m.config == one.config and not m.training
        sd, want = m.state_dict(), one.state_dict()
        assert set(sd) == set(want) and all(torch.equal(sd[n], want[n]) for n in want)
    assert checkpoint.load_snapshots(checkpoint.save(model, path.parent / "plain.safetensors")) == []


def _bytes_read() -> int:
    with open("/proc/self/io") as f:  # rchar: bytes this process read through read() and friends
        return int(next(line for line in f if line.startswith("rchar:")).split()[1])


def test_load_snapshots_reads_the_file_once_not_once_per_snapshot(tmp_path):
    """O(file), not O(snapshots x file): measured with the kernel's count of bytes read (Linux)."""
    try:
        _bytes_read()
    except (OSError, StopIteration):
        pytest.skip("no /proc/self/io here")
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="mlp", hidden=(256,)))  # ~0.8 MB a state_dict: the weights dominate
    sd = snapshots.state_to_cpu(model)
    path = checkpoint.save(model, tmp_path / "m.safetensors",
                           snapshots=[({"epoch": 0, "step": k, "metrics": {}}, {n: v.clone() for n, v in sd.items()})
                                      for k in range(8)])
    size = path.stat().st_size
    before = _bytes_read()
    models = checkpoint.load_snapshots(path)
    one_pass = _bytes_read() - before
    before = _bytes_read()
    for k in range(len(models)):
        checkpoint.load(path, snapshot=k)
    per_snapshot = _bytes_read() - before
    assert size <= one_pass < 1.5 * size, (one_pass, size)
    assert per_snapshot >= 8 * size  # what the one-pass loader saves


@pytest.mark.parametrize("k", [3, -1, "1"])
def test_asking_for_a_snapshot_that_is_not_there(trained, k):
    with pytest.raises(checkpoint.CheckpointError, match="has no snapshot"):
        checkpoint.load(trained[3], snapshot=k)


def _tampered(tmp_path, path, change_tensors=None, change_meta=None):
    tensors = load_file(path)
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        meta = json.loads(f.read(n))["__metadata__"]
    if change_tensors:
        change_tensors(tensors)
    if change_meta:
        change_meta(meta)
    out = tmp_path / "bad.safetensors"
    save_file(tensors, out, metadata=meta)
    return out


@pytest.mark.parametrize(("change_tensors", "change_meta", "words"), [
    (lambda t: t.__setitem__("snapshot.1.mean.bias", torch.tensor([float("nan"), 0.0])), None,
     "snapshot 1 weight 'mean.bias' contains NaN"),
    (lambda t: t.pop("snapshot.2.mean.weight"), None, "missing snapshot 2 weight(s) 'mean.weight'"),
    (lambda t: t.__setitem__("snapshot.0.mean.weight", torch.zeros(3, 3)), None, "snapshot 0 weight 'mean.weight' has shape"),
    (lambda t: t.__setitem__("snapshot.0.mean.bias", torch.zeros(2, dtype=torch.float64)), None, "is float64"),
    (lambda t: t.__setitem__("snapshot.0.extra", torch.zeros(2)), None, "unexpected snapshot 0 weight"),
    (lambda t: t.__setitem__("snapshot.7.mean.bias", torch.zeros(2)), None, "does not list"),
    (lambda t: t.__setitem__("snapshot.x.mean.bias", torch.zeros(2)), None, "does not list"),
    (None, lambda m: m.__setitem__("snapshots", "[{"), "'snapshots' is not valid JSON"),
    (None, lambda m: m.__setitem__("snapshots", '{"a": 1}'), "'snapshots' is not a list"),
    (None, lambda m: m.__setitem__("snapshots", json.dumps([{"index": 1, "epoch": 0, "step": 0}])), "entry 0 has index 1"),
    (None, lambda m: m.__setitem__("snapshots", json.dumps([{"index": 0, "epoch": -1, "step": 0}])), "'epoch'"),
    (None, lambda m: m.__setitem__("snapshots", json.dumps([{"index": 0, "epoch": 0, "step": 0}] * 101)), "more than 100"),
])
def test_snapshots_are_validated_like_the_main_weights(tmp_path, trained, change_tensors, change_meta, words):
    bad = _tampered(tmp_path, trained[3], change_tensors, change_meta)
    for loader in (checkpoint.load, checkpoint.load_snapshots):  # the one-pass loader checks the same
        with pytest.raises(checkpoint.CheckpointError) as info:
            loader(bad)  # the main weights are fine: the file is refused all the same
        msg = str(info.value)
        assert words in msg and str(bad) in msg and "\n" not in msg


def test_dropping_the_listing_but_keeping_the_weights_is_refused(tmp_path, trained):
    bad = _tampered(tmp_path, trained[3], change_meta=lambda m: m.pop("snapshots"))
    with pytest.raises(checkpoint.CheckpointError, match="does not list"):
        checkpoint.load(bad)


def test_cli_snapshots_info_and_resume_keeps_them(tmp_path, capsys):
    out = tmp_path / "run.safetensors"
    assert main([*TINY_ARGS, "--epochs", "1", "--snapshots", "2", "--out", str(out)]) == 0
    first = checkpoint.list_snapshots(out)
    assert [(e["epoch"], e["step"]) for e in first] == [(0, 0), (0, 2)]
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    text = capsys.readouterr().out
    assert "snapshots (2;" in text and "step       2" in text and "test -ELBO" in text
    weights0 = checkpoint.load(out, snapshot=0).state_dict()

    assert main([*TINY_ARGS, "--epochs", "2", "--snapshots", "3", "--resume", "--out", str(out)]) == 0
    after = checkpoint.list_snapshots(out)
    assert after[:2] == first  # what the first run took is kept
    # N is in total: 2 epochs x 4 steps, schedule [0, 2, 5]; steps 0 and 2 are kept, this run adds step 5 only
    assert [(e["epoch"], e["step"]) for e in after[2:]] == [(1, 5)]
    again = checkpoint.load(out, snapshot=0).state_dict()
    assert all(torch.equal(again[k], v) for k, v in weights0.items())


def test_snapshots_n_is_in_total_over_resumes(tmp_path):
    """--snapshots N never leaves more than N in the file, however many times training is resumed longer."""
    out = tmp_path / "run.safetensors"
    assert main([*TINY_ARGS, "--epochs", "1", "--snapshots", "2", "--out", str(out)]) == 0
    for epochs in ("2", "3"):
        assert main([*TINY_ARGS, "--epochs", epochs, "--snapshots", "2", "--resume", "--out", str(out)]) == 0
    assert [(e["epoch"], e["step"]) for e in checkpoint.list_snapshots(out)] == [(0, 0), (0, 2)]


def test_cli_refuses_bad_snapshot_counts(tmp_path, capsys):
    assert main([*TINY_ARGS, "--snapshots", "101", "--out", str(tmp_path / "a.safetensors")]) == 1
    assert "--snapshots must be in 0..100" in capsys.readouterr().err
    assert main([*TINY_ARGS, "--model", "pca", "--snapshots", "2", "--out", str(tmp_path / "b.safetensors")]) == 1
    assert "does not apply to pca" in capsys.readouterr().err
