"""``latent-train --clip-grad NORM``: each step's summed gradient is scaled down to that global L2 norm when it
is longer (torch.nn.utils.clip_grad_norm_), on the one-thread path and on the data-parallel worker threads.

Plain SGD with lr 1 makes the step equal to the gradient, so the weights' change shows the clipped norm.
"""

from __future__ import annotations

import copy

import pytest
import torch

from training import checkpoint
from training.cli import main
from training.models import ModelConfig, build_model
from training.parallel import ThreadedStep
from training.train import _train_step


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", arch="mlp", latent_dim=2, image_shape=(1, 8, 8), hidden=(16,)))
    model.train()
    return model


def _step_length(model: torch.nn.Module, clip: float, workers: int) -> float:
    """The L2 length of one SGD(lr=1) step on a fixed batch: the (clipped) gradient's norm."""
    model = copy.deepcopy(model)
    before = torch.cat([p.detach().flatten().clone() for p in model.parameters()])
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    gen = torch.Generator().manual_seed(1)
    x, eps = torch.rand(32, 1, 8, 8, generator=gen), torch.randn(32, 2, generator=gen)
    step = ThreadedStep(model, workers) if workers > 1 else None
    try:
        _train_step(model, opt, step, (x, None, eps, None), "test", clip=clip)
    finally:
        if step is not None:
            step.close()
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    return float((after - before).norm())


@pytest.mark.parametrize("workers", [1, 2])
def test_a_long_gradient_is_scaled_to_the_norm_and_a_short_one_is_left_alone(workers):
    model = _model()
    full = _step_length(model, 0.0, workers)
    assert full > 1.0  # a real gradient, long enough for the clips below to bite
    assert _step_length(model, full / 10, workers) == pytest.approx(full / 10, rel=1e-4)
    assert _step_length(model, full * 10, workers) == pytest.approx(full, rel=1e-6)


@pytest.mark.parametrize(("option", "value", "key", "words"), [
    ("--clip-grad", "5", "clip_grad", "gradient clipped at 5"),
    ("--weight-decay", "0.01", "weight_decay", "weight decay 0.01"),  # tests/training/test_weight_decay.py
    ("--ema", "0.99", "ema", "weights averaged (EMA 0.99)"),  # tests/training/test_ema.py
])
def test_the_option_is_recorded_and_shown_by_info(option, value, key, words, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main(["--dataset", "synthetic", "--arch", "mlp", "--hidden", "8", "--steps", "20", "--threads", "1",
                 "--quiet", option, value, "--out", str(out)]) == 0, capsys.readouterr().err
    assert checkpoint.read_metadata(out)["train"][key] == float(value)
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    assert words in capsys.readouterr().out


@pytest.mark.parametrize("bad", ["-1", "nan"])
def test_a_bad_norm_is_one_sentence(bad, capsys, tmp_path):
    out = tmp_path / "m.safetensors"
    assert main(["--dataset", "synthetic", "--limit", "64", "--epochs", "1", "--clip-grad", bad, "--out", str(out)]) != 0
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        f"latent-train: error: --clip-grad must be a gradient norm of 0 or more (got {float(bad)})"]
    assert not out.exists()
