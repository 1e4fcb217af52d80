"""Label guidance (training/guide.py): the CVAE's class dial at z away from the data, on real training."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training.cli import main
from training.models import ModelConfig, build_model
from training.synthetic import synthetic_shapes
from training.train import TrainConfig, fit

SIZE = 16


@pytest.fixture(scope="module")
def shapes():
    x, y = synthetic_shapes(3000, seed=0, size=SIZE)
    xt, yt = synthetic_shapes(1000, seed=1, size=SIZE)
    return torch.from_numpy(x), torch.from_numpy(y), xt, yt


def _cvae(guide: float, x: torch.Tensor, y: torch.Tensor):
    torch.set_num_threads(1)
    cfg = ModelConfig(kind="cvae", image_shape=(1, SIZE, SIZE), channels=(8, 16), hidden=(32,), beta=3, num_classes=10)
    torch.manual_seed(0)
    model = build_model(cfg)
    fit(model, x, TrainConfig(steps=600, batch_size=64, seed=0, workers=1, label_guide=guide), train_y=y, progress=False)
    return model


def _dial(model, xt: np.ndarray, yt: np.ndarray) -> float:
    """Share of (z, c) on a 3 x 3 grid over [-2, 2]^2 whose decode(z, c) a 5-NN among real images calls c."""
    pts = np.array([[a, b] for a in (-2, 0, 2) for b in (-2, 0, 2)], np.float32)
    z, c = torch.from_numpy(np.repeat(pts, 10, 0)), torch.arange(10).repeat(len(pts))
    with torch.no_grad():
        img = model.decode(z, c).reshape(len(z), -1).numpy()
    ref = xt.reshape(len(xt), -1)
    nearest = np.argsort(((img[:, None] - ref[None]) ** 2).sum(-1), 1)[:, :5]
    votes = np.array([np.bincount(yt[r], minlength=10).argmax() for r in nearest])
    return float((votes == c.numpy()).mean())


def test_guidance_makes_the_label_decide_the_class_across_the_plane(shapes):
    x, y, xt, yt = shapes
    plain, guided = _cvae(0.0, x, y), _cvae(10.0, x, y)
    plain_dial, guided_dial = _dial(plain, xt, yt), _dial(guided, xt, yt)
    assert guided_dial >= 0.95 and guided_dial >= plain_dial, (plain_dial, guided_dial)
    # the classifier is not part of the model: same weights saved, training-only term gone after fit
    assert guided.guide is None and set(guided.state_dict()) == set(plain.state_dict())


def test_guidance_is_a_training_term_only(shapes):
    x, y, xt, yt = shapes
    from training import guide

    model = _cvae(0.0, x[:256], y[:256])
    g = guide.train_guide(x, y, (1, SIZE, SIZE), 10, weight=10.0, seed=0)
    assert guide.accuracy(g, torch.from_numpy(xt), torch.from_numpy(yt)) > 0.8  # it learned the classes (chance 0.1)
    eps = torch.randn(64, 2, generator=torch.Generator().manual_seed(3))
    model.train()
    base = model(x[:64], y[:64], eps=eps)["loss"].item()
    model.guide = g
    with_guide = model(x[:64], y[:64], eps=eps)["loss"].item()
    assert with_guide == pytest.approx(base + 10.0 * g.loss(model, eps, y[:64]).item(), rel=1e-5)
    model.eval()
    assert model(x[:64], y[:64], eps=eps)["loss"].item() == pytest.approx(base, rel=1e-5)  # eval: the ELBO alone


@pytest.mark.parametrize(("argv", "words"), [
    (["--model", "vae", "--label-guide", "5"], "--label-guide needs a conditional kind (cvae), not vae"),
    (["--model", "cvae", "--label-guide", "-1"], "--label-guide must be a weight in 0..1000 (got -1.0)"),
])
def test_bad_label_guide_is_one_sentence(argv, words, capsys, tmp_path):
    out = tmp_path / "m.safetensors"
    assert main(["--dataset", "synthetic", "--limit", "64", "--epochs", "1", *argv, "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err and not out.exists()
