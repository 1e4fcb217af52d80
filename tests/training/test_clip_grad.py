"""``latent-train --clip-grad NORM``: each step's summed gradient is scaled down to that global L2 norm when it
is longer (torch.nn.utils.clip_grad_norm_), on the one-thread path and on the data-parallel worker threads.

Plain SGD with lr 1 makes the step equal to the gradient, so the weights' change shows the clipped norm.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from training import checkpoint
from training.models import ModelConfig, build_model
from training.parallel import ThreadedStep
from training.train import _train_step

ROOT = Path(__file__).resolve().parents[2]


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


def test_the_option_is_recorded_shown_by_info_and_checked(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "LATENT_EXPLORER_CACHE": str(tmp_path / "cache"), "PYTHONPATH": str(ROOT)}
    out = tmp_path / "clip.safetensors"
    run = [sys.executable, "-m", "training.cli", "--dataset", "synthetic", "--arch", "mlp", "--hidden", "8",
           "--steps", "20", "--threads", "1", "--quiet", "--out", str(out)]
    done = subprocess.run([*run, "--clip-grad", "5"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert checkpoint.read_metadata(out)["train"]["clip_grad"] == 5.0
    info = subprocess.run([sys.executable, "-m", "training.cli", "info", str(out)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert "gradient clipped at 5" in info.stdout
    for bad in ("-1", "nan"):
        refused = subprocess.run([*run, "--clip-grad", bad], cwd=ROOT, env=env, capture_output=True, text=True,
                                 timeout=60)
        assert refused.returncode != 0
        assert refused.stderr.strip().splitlines() == [
            f"latent-train: error: --clip-grad must be a gradient norm of 0 or more (got {float(bad)})"]
