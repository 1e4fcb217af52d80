"""Training on a GPU: ``--device auto`` picks CUDA when there is one, a few steps there give the CPU run's
losses, and ``--amp`` on CUDA (float16 + GradScaler) gives float32's ELBO. Skips without a CUDA GPU."""

from __future__ import annotations

import pytest
import torch

from training.models import ModelConfig, build_model
from training.synthetic import synthetic_shapes
from training.train import TrainConfig, fit, pick_device

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _fit(device: str, amp: bool = False) -> tuple[list[dict], torch.nn.Module]:
    images, _ = synthetic_shapes(1024, seed=1)
    test, _ = synthetic_shapes(256, seed=2)
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", arch="conv", channels=(4, 8), hidden=(8,))).to(device)
    tc = TrainConfig(epochs=2, batch_size=64, schedule="constant", lr_warmup=0, kl_warmup=0, device=device,
                     threads=1, workers=1, amp=amp)
    res = fit(model, torch.from_numpy(images), tc, test_x=torch.from_numpy(test), progress=False)
    return res.history, model


def test_auto_picks_cuda():
    assert pick_device("auto").type == "cuda"


def test_cuda_training_matches_cpu():
    cpu, _ = _fit("cpu")
    gpu, model = _fit("cuda")
    assert next(model.parameters()).device.type == "cuda"
    for a, b in zip(cpu, gpu, strict=True):  # same seed and noise: the same run up to kernel rounding
        assert abs(a["loss"] - b["loss"]) <= 0.01 * abs(a["loss"]), (a["loss"], b["loss"])
    assert abs(cpu[-1]["test"]["neg_elbo"] - gpu[-1]["test"]["neg_elbo"]) <= 0.01 * abs(cpu[-1]["test"]["neg_elbo"])


def test_cuda_amp_float16_matches_float32():
    full, _ = _fit("cuda")
    half, model = _fit("cuda", amp=True)
    assert all(p.dtype == torch.float32 for p in model.parameters())
    e32, e16 = full[-1]["test"]["neg_elbo"], half[-1]["test"]["neg_elbo"]
    assert abs(e16 - e32) <= 0.03 * abs(e32), (e16, e32)
