"""The app's torch functions with a model on a GPU (explorer/core/torch_fns.py, encoding.py): inputs go to
the model's device, results come back as CPU numpy, equal to the CPU model's up to float rounding.
The CUDA test skips without a CUDA GPU; the CPU one checks the same functions on this machine."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from explorer.core.encoding import encode_means
from explorer.core.model_service import ModelService
from explorer.core.torch_fns import model_device
from training.models import ModelConfig, build_model
from training.synthetic import synthetic_shapes


def _model(kind: str = "vae"):
    torch.manual_seed(0)
    cfg = ModelConfig(kind=kind, arch="conv", latent_dim=2, image_shape=(1, 28, 28), channels=(4, 8), hidden=(8,),
                      num_classes=10 if kind == "cvae" else 0)
    return build_model(cfg).eval()


def _check(device: torch.device, kind: str) -> None:
    cpu = _model(kind)
    other = copy.deepcopy(cpu).to(device)
    assert model_device(other).type == device.type
    dec_cpu, enc_cpu = ModelService.prepare(cpu)
    dec, enc = ModelService.prepare(other)
    z = np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32)
    labels = np.arange(5) % 10 if kind == "cvae" else None
    for rows in (z[:1], z[:2], z):  # the traced sizes and the eager path
        got = dec(rows, None if labels is None else labels[: len(rows)])
        want = dec_cpu(rows, None if labels is None else labels[: len(rows)])
        assert isinstance(got, np.ndarray) and got.dtype == np.float32 and got.shape == want.shape
        np.testing.assert_allclose(got, want, atol=1e-4)
    images = (synthetic_shapes(6)[0] * 255).astype(np.uint8)
    means, recon = enc(images.astype(np.float32) / 255)
    means_cpu, recon_cpu = enc_cpu(images.astype(np.float32) / 255)
    np.testing.assert_allclose(means, means_cpu, atol=1e-4)
    np.testing.assert_allclose(recon, recon_cpu, atol=1e-4)
    np.testing.assert_allclose(encode_means(other, images, batch_size=4), encode_means(cpu, images, batch_size=4),
                               atol=1e-4)


@pytest.mark.parametrize("kind", ["vae", "cvae"])
def test_cpu_model_through_the_device_aware_functions(kind):
    _check(torch.device("cpu"), kind)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("kind", ["vae", "cvae"])
def test_cuda_model_decodes_and_encodes_like_the_cpu_model(kind):
    _check(torch.device("cuda"), kind)
