"""``latent-train --weight-decay WD``: AdamW's decoupled decay (each step shrinks every weight by lr * WD, apart
from the gradient's moments); 0 keeps plain Adam. A resumed run takes its own decay, not the saved one. That the
option is recorded and shown by ``latent-train info``: tests/training/test_clip_grad.py."""

from __future__ import annotations

import pytest
import torch

from training.cli import main
from training.models import ModelConfig, build_model
from training.train import TrainConfig, _optimizer


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(ModelConfig(kind="vae", arch="mlp", latent_dim=2, image_shape=(1, 8, 8), hidden=(16,)))


def _zero_gradient_step(model: torch.nn.Module, opt: torch.optim.Optimizer) -> None:
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    opt.step()


@pytest.mark.parametrize(("wd", "kind"), [(0.0, torch.optim.Adam), (0.5, torch.optim.AdamW)])
def test_a_step_shrinks_every_weight_by_lr_times_the_decay(wd, kind):
    model = _model()
    before = [p.detach().clone() for p in model.parameters()]
    opt = _optimizer(model, TrainConfig(lr=0.1, weight_decay=wd), torch.device("cpu"), None)
    assert type(opt) is kind
    _zero_gradient_step(model, opt)  # a zero gradient moves nothing: what changes is the decay's alone
    for b, p in zip(before, model.parameters(), strict=True):
        torch.testing.assert_close(p.detach(), b * (1 - 0.1 * wd))


@pytest.mark.parametrize("saved", [0.5, 0.0])  # an AdamW run's state, and a plain Adam run's
def test_a_resumed_optimizer_takes_this_runs_decay(saved):
    model = _model()
    first = _optimizer(model, TrainConfig(lr=0.1, weight_decay=saved), torch.device("cpu"), None)
    _zero_gradient_step(model, first)
    resumed = _optimizer(model, TrainConfig(lr=0.1, weight_decay=0.2), torch.device("cpu"), first.state_dict())
    assert {g["weight_decay"] for g in resumed.param_groups} == {0.2}
    before = [p.detach().clone() for p in model.parameters()]
    _zero_gradient_step(model, resumed)
    for b, p in zip(before, model.parameters(), strict=True):
        torch.testing.assert_close(p.detach(), b * (1 - 0.1 * 0.2))


@pytest.mark.parametrize("bad", ["-1", "nan", "11"])
def test_a_bad_decay_is_one_sentence(bad, capsys, tmp_path):
    out = tmp_path / "m.safetensors"
    assert main(["--dataset", "synthetic", "--limit", "64", "--epochs", "1", "--weight-decay", bad,
                 "--out", str(out)]) != 0
    assert capsys.readouterr().err.strip().splitlines() == [
        f"latent-train: error: --weight-decay must be a number in 0..10 (got {float(bad)})"]
    assert not out.exists()
