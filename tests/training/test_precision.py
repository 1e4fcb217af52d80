"""``latent-train --amp`` (training/precision.py): bfloat16 autocast on CPU, checked against float32.

Two real runs on the same seed and data, one with --amp: the test ELBO (evaluated in float32) agrees within
3 %, the training losses are not bit-identical (autocast really ran), and the checkpoint holds float32
weights only. The CUDA path (float16 + GradScaler) is in test_gpu.py, which skips without a GPU.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from training import checkpoint
from training.errors import TrainError
from training.precision import Precision
from training.train import TrainConfig, fit

ROOT = Path(__file__).resolve().parents[2]
RUN = ["--dataset", "synthetic", "--channels", "4,8", "--hidden", "8", "--threads", "1", "--limit", "1024",
       "--batch-size", "64", "--epochs", "2", "--quiet"]


def _run(args: list[str], out: Path, cache: Path) -> subprocess.Popen:
    env = {"PATH": "/usr/bin:/bin", "LATENT_EXPLORER_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "training.cli", *args, "--out", str(out)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_bf16_run_matches_float32_and_saves_float32(tmp_path):
    plain, amp = tmp_path / "fp32.safetensors", tmp_path / "amp.safetensors"
    jobs = [_run(RUN, plain, tmp_path / "cache"), _run([*RUN, "--amp"], amp, tmp_path / "cache")]
    for job in jobs:
        _, err = job.communicate(timeout=180)
        assert job.returncode == 0, err[-3000:]
    m32, m16 = checkpoint.read_metadata(plain), checkpoint.read_metadata(amp)
    assert m16["train"]["amp"] is True and m32["train"]["amp"] is False
    e32, e16 = m32["metrics"]["test_neg_elbo"], m16["metrics"]["test_neg_elbo"]
    assert abs(e16 - e32) <= 0.03 * abs(e32), (e16, e32)
    losses32 = [row["loss"] for row in m32["history"]]
    losses16 = [row["loss"] for row in m16["history"]]
    assert losses16 != losses32  # bfloat16 rounding changed the forward pass: autocast was on
    np.testing.assert_allclose(losses16, losses32, rtol=0.03)
    weights = load_file(amp)
    assert weights and {str(w.dtype) for w in weights.values()} == {"float32"}


def test_amp_forward_runs_in_bfloat16_on_cpu_and_grads_stay_float32():
    from training.models import ModelConfig, build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", arch="mlp", latent_dim=2, image_shape=(1, 8, 8), hidden=(16,)))
    seen: list[torch.dtype] = []
    first = next(m for m in model.modules() if isinstance(m, torch.nn.Linear))
    first.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    precision = Precision(True, torch.device("cpu"))
    with precision.autocast():
        out = model(torch.rand(4, 1, 8, 8), None, eps=torch.zeros(4, 2))
    assert seen == [torch.bfloat16]
    precision.backward(out["loss"])
    assert all(p.grad is not None and p.grad.dtype == torch.float32 for p in model.parameters())
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_amp_refused_where_it_does_not_run():
    with pytest.raises(TrainError, match="--amp runs on cuda"):
        Precision(True, torch.device("meta"))


def test_fit_with_amp_keeps_float32_weights():
    from training.models import ModelConfig, build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", arch="mlp", latent_dim=2, image_shape=(1, 8, 8), hidden=(16,)))
    x = torch.rand(64, 1, 8, 8)
    res = fit(model, x, TrainConfig(epochs=1, batch_size=16, amp=True, threads=1, workers=1), progress=False)
    assert res.epochs_done == 1 and np.isfinite(res.history[0]["loss"])
    assert all(p.dtype == torch.float32 for p in model.parameters())
