"""Every model kind keeps the model contract (training.contract.LatentModel), through a checkpoint too."""

from __future__ import annotations

import pytest
import torch

from training import checkpoint
from training.contract import LatentModel
from training.models import ARCHS, KINDS, ModelConfig, build_model


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_keeps_the_contract(kind, arch, tmp_path):
    torch.manual_seed(0)
    cfg = ModelConfig(kind=kind, arch=arch, hidden=(8,), channels=(4, 8), num_classes=10)  # cvae: 10 classes
    model = build_model(cfg).eval()
    assert isinstance(model, LatentModel)
    x = torch.rand(3, *cfg.image_shape)
    with torch.inference_mode():
        mean, logvar = model.encode(x)
        out = model.decode(mean)
    assert mean.shape == (3, cfg.latent_dim)
    assert logvar is None or logvar.shape == mean.shape
    assert out.shape == (3, *cfg.image_shape) and float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    loaded = checkpoint.load(checkpoint.save(model, tmp_path / "m.safetensors"))
    assert isinstance(loaded, LatentModel) and loaded.config == model.config


def test_an_object_without_decode_is_not_a_model():
    class EncoderOnly:
        config, metadata = None, {}

        def encode(self, x, y=None):
            return x, None

    assert not isinstance(EncoderOnly(), LatentModel)
