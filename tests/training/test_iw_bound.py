"""The importance-weighted bound (training/iw_bound.py), ``latent-train eval --iw K`` and ``--train-sample N``."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training import checkpoint, evaluate
from training.cli import main
from training.data import load_dataset
from training.iw_bound import iw_bound
from training.models import ModelConfig, build_model


def tiny(**kw):
    torch.manual_seed(0)
    return build_model(ModelConfig(channels=(4, 8), hidden=(8,), **kw))


@pytest.fixture(scope="module")
def images():
    # blobs rather than noise, so the decoder's likelihood depends on z and the bound has room to tighten
    g = torch.Generator().manual_seed(3)
    yy, xx = torch.meshgrid(torch.arange(28.0), torch.arange(28.0), indexing="ij")
    centres = torch.rand(40, 2, generator=g) * 16 + 6
    d2 = (yy[None] - centres[:, 0, None, None]) ** 2 + (xx[None] - centres[:, 1, None, None]) ** 2
    return torch.exp(-d2 / 18.0)[:, None]


def test_one_sample_is_the_elbo_on_average(images):
    # k = 1: log w is a one-sample ELBO with a Monte Carlo KL; averaged over many draws it is the
    # closed-form ELBO that evaluate() reports (up to its own one-sample noise, averaged over seeds too)
    model = tiny()
    many = images.repeat(25, 1, 1, 1)
    iw1 = iw_bound(model, many, k=1, seed=1)
    elbo = np.mean([evaluate.evaluate(model, many, seed=s)["neg_elbo"] for s in range(3)])
    assert iw1 == pytest.approx(elbo, rel=0.01)


def test_more_samples_give_a_tighter_bound_and_it_is_seeded(images):
    model = tiny()
    b1, b10, b100 = (iw_bound(model, images, k=k, seed=2) for k in (1, 10, 100))
    assert b100 < b10 < b1  # tighter (fewer nats) with more samples: the bound approaches -log p(x)
    assert iw_bound(model, images, k=100, seed=2) == b100
    assert iw_bound(model, images, k=100, seed=2, batch_size=7) == pytest.approx(b100, rel=1e-5)  # batching is invisible


def test_a_conditional_model_uses_the_labels(images):
    model = tiny(kind="cvae", num_classes=3)
    labels = np.arange(len(images)) % 3
    with_labels = iw_bound(model, images, labels, k=20, seed=0)
    other = iw_bound(model, images, (labels + 1) % 3, k=20, seed=0)
    assert np.isfinite(with_labels) and with_labels != other


def test_a_deterministic_model_has_no_bound(images):
    with pytest.raises(ValueError, match="no posterior variance"):
        iw_bound(tiny(kind="ae"), images, k=10)


def test_eval_prints_the_bound_and_refuses_k_one(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    data = tmp_path / "d.npz"
    np.savez(data, x=rng.integers(0, 256, (60, 28, 28), dtype=np.uint8), y=np.arange(60) % 3)
    path = checkpoint.save(tiny(num_classes=3), tmp_path / "m.safetensors", dataset={"name": f"npz:{data}"})
    assert main(["eval", str(path), "--iw", "50"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    got = {k: float(v) for k, v in (line.split() for line in out.splitlines()[1:])}
    assert got["iw50_neg_log_px"] < got["neg_elbo"]
    assert main(["eval", str(path), "--iw", "1"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--iw 1" in err[0]
    ae = checkpoint.save(tiny(kind="ae", num_classes=3), tmp_path / "ae.safetensors", dataset={"name": f"npz:{data}"})
    assert main(["eval", str(ae), "--iw", "10"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no posterior variance" in err[0] and "ae.safetensors" in err[0]


def test_eval_measures_a_training_sample_beside_the_test_split(tmp_path, capsys, monkeypatch):
    """``eval --train-sample N``: the same measures on N training images: a model trained long on 102 images
    fits them better than the 18 it never saw (its generalization gap), and N past the split takes them all."""
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    data = tmp_path / "d.npz"
    np.savez(data, x=rng.integers(0, 256, (120, 28, 28), dtype=np.uint8), y=np.arange(120) % 3)
    out = tmp_path / "m.safetensors"
    assert main(["--dataset", f"npz:{data}", "--arch", "mlp", "--hidden", "256", "--steps", "400", "--batch-size", "32",
                 "--threads", "1", "--quiet", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["eval", str(out), "--train-sample", "1000", "--iw", "10"]) == 0, capsys.readouterr().err
    got = {k: float(v) for k, v in (line.split() for line in capsys.readouterr().out.splitlines()[1:])}
    assert got["train_images"] == 102  # all of the 85 % train split
    model = checkpoint.load(out)
    train = load_dataset(f"npz:{data}", "train")
    assert got["train_neg_elbo"] == pytest.approx(evaluate.evaluate(model, train.images, train.labels)["neg_elbo"], abs=1e-3)
    assert got["train_neg_elbo"] < got["neg_elbo"] - 5  # noise images: what it saw, it memorised in part
    assert got["train_iw10_neg_log_px"] < got["train_neg_elbo"]
    assert main(["eval", str(out), "--train-sample", "-3"]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--train-sample -3" in err[0]
