"""Bring your own model: a plain PyTorch VAE (examples/own_model.py) trained for a few steps, saved as
safetensors, loaded from FILE.py:FUNCTION and checked on real images; each misfit is one sentence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from explorer.core.own_model import OwnModelError, fingerprint, load_module, wrap

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "own_model.py"


@pytest.fixture(scope="module")
def images():
    from training.data import load_dataset

    return load_dataset("fashion-mnist", "test", uint8=True).images[:256]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, images):
    import importlib.util

    spec = importlib.util.spec_from_file_location("own_example", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    torch.set_num_threads(1)
    model = mod.train(torch.from_numpy(images.astype(np.float32) / 255), steps=20, batch=32)
    out = tmp_path_factory.mktemp("own") / "my_vae.safetensors"
    save_file(model.state_dict(), str(out))
    return model, out


def test_the_example_opens_with_its_weights_and_decodes_as_its_module(trained, images):
    model, weights = trained
    module, sha = load_module(f"{EXAMPLE}:build", weights)
    own = wrap(module, images, source="own_model.py:build", dataset="fashion-mnist")
    assert own.config.latent_dim == 8 and own.config.image_shape == (1, 28, 28) and own.config.stochastic
    z = torch.randn(3, 8, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        assert torch.equal(own.decode(z), model.decode(z))  # the trained weights, not a fresh init
        mean, logvar = own.encode(torch.from_numpy(images[:5].astype(np.float32) / 255))
    assert mean.shape == (5, 8) and logvar.shape == (5, 8)
    _, sha2 = load_module(f"{EXAMPLE}:build", weights)
    assert sha == sha2 and len(sha) == 64
    assert fingerprint(module) == fingerprint(load_module(f"{EXAMPLE}:build", weights)[0])


class Deterministic(nn.Module):
    def __init__(self, out_shape=(1, 28, 28), scale=1.0, d=5):
        super().__init__()
        self.enc = nn.Linear(784, d)
        self.dec = nn.Linear(d, int(np.prod(out_shape)))
        self.out_shape, self.scale = out_shape, scale

    def encode(self, x):
        return self.enc(x.reshape(len(x), -1))

    def decode(self, z):
        return torch.sigmoid(self.dec(z)).reshape(len(z), *self.out_shape) * self.scale


def test_a_deterministic_module_is_wrapped_with_no_logvar(images):
    own = wrap(Deterministic(), images)
    assert own.config.latent_dim == 5 and not own.config.stochastic
    with torch.inference_mode():
        assert own.encode(torch.zeros(2, 1, 28, 28))[1] is None


@pytest.mark.parametrize(("module", "words"), [
    (Deterministic(out_shape=(1, 32, 32)), r"decode\(\) must return images of the dataset's shape \(4, 1, 28, 28\)"),
    (Deterministic(scale=3.0), r"finite pixel values in \[0, 1\]"),
    (Deterministic(d=1), "has a 1-D latent space"),
    (nn.Linear(3, 3), r"has no encode\(\) method"),
])
def test_what_does_not_fit_is_one_sentence(images, module, words):
    with pytest.raises(OwnModelError, match=words) as e:
        wrap(module, images)
    assert "\n" not in str(e.value)


def test_bad_specs_and_weights_are_one_sentence(tmp_path, trained):
    with pytest.raises(OwnModelError, match="FILE.py:FUNCTION"):
        load_module(str(EXAMPLE))
    with pytest.raises(OwnModelError, match="has no function nothing"):
        load_module(f"{EXAMPLE}:nothing")
    with pytest.raises(OwnModelError, match="no such file"):
        load_module(f"{tmp_path / 'gone.py'}:build")
    boom = tmp_path / "boom.py"
    boom.write_text("def build():\n    raise RuntimeError('no GPU here')\n")
    with pytest.raises(OwnModelError, match=r"running build\(\) failed \(RuntimeError: no GPU here\)"):
        load_module(f"{boom}:build")
    other = tmp_path / "other.safetensors"
    save_file({"fc1.weight": torch.zeros(2, 2)}, str(other))
    with pytest.raises(OwnModelError, match="do not fit the module"):
        load_module(f"{EXAMPLE}:build", other)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"\x80\x04 not a safetensors file")
    with pytest.raises(OwnModelError, match="not a readable .safetensors file"):
        load_module(f"{EXAMPLE}:build", junk)
