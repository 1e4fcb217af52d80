"""Your own torch module in the app: examples/own_model.py (a plain PyTorch VAE), trained for a few steps,
opened from a script (Explorer(model=...)) and from the command line (--module FILE.py:FUNCTION --weights)."""

from __future__ import annotations

import importlib.util
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file
from torch import nn

from tests.explorer.qt.conftest import tool

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "examples" / "own_model.py"


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    from training.data import load_dataset

    spec = importlib.util.spec_from_file_location("own_example_app", EXAMPLE)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    images = load_dataset("fashion-mnist", "test", uint8=True).images[:512]
    torch.set_num_threads(1)
    model = mod.train(torch.from_numpy(images.astype(np.float32) / 255), steps=30, batch=64)
    out = tmp_path_factory.mktemp("own") / "my_vae.safetensors"
    save_file(model.state_dict(), str(out))
    return model, out


def test_a_module_from_a_script_is_explored_in_its_8_dims(qapp, trained, tmp_path, monkeypatch):
    from explorer.api import Explorer
    from explorer.core.decode_service import to_display

    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path / "cache"))
    model, _ = trained
    ex = Explorer(model=model, dataset="fashion-mnist", size=(1000, 700))
    try:
        assert ex.means.shape == (10_000, 8) and ex.state.ndim == 8
        x = torch.from_numpy(ex.dataset.images[:32].astype(np.float32) / 255)
        with torch.inference_mode():
            mean, _ = model.encode(x)
        np.testing.assert_allclose(ex.means[:32], mean.numpy(), atol=1e-5)
        ex.state.point = (0.3, -0.2)
        assert ex.wait_idle(10)
        s = ex.shown()
        sl = ex.state.slice
        np.testing.assert_allclose(s.z, np.asarray(sl.origin) + 0.3 * np.asarray(sl.u) - 0.2 * np.asarray(sl.v),
                                   atol=1e-5)
        with torch.inference_mode():
            want = to_display(model.decode(torch.from_numpy(s.z[None].astype(np.float32))).numpy())[0]
        np.testing.assert_allclose(s.image, want, atol=1e-6)
        assert ("latent space", "8-D") in ex.state.session.info()
    finally:
        ex.close()


class WrongShape(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc, self.dec = nn.Linear(784, 4), nn.Linear(4, 100)

    def encode(self, x):
        return self.enc(x.reshape(len(x), -1))

    def decode(self, z):
        return torch.sigmoid(self.dec(z)).reshape(len(z), 1, 10, 10)


def test_a_module_that_does_not_fit_is_one_sentence(qapp, tmp_path, monkeypatch):
    from explorer.api import Explorer

    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path / "cache"))
    with pytest.raises(ValueError, match=r"WrongShape: decode\(\) must return images of the dataset's shape") as e:
        Explorer(model=WrongShape(), dataset="fashion-mnist", size=(800, 600))
    assert "\n" not in str(e.value)


def run_cli(tmp_path, *args):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", LATENT_EXPLORER_CACHE=str(tmp_path / "cache"),
               XDG_CONFIG_HOME=str(tmp_path / "config"))
    return subprocess.run([tool("latent-explorer"), *map(str, args)], env=env, capture_output=True, text=True,
                          timeout=240, cwd=tmp_path)


def test_the_command_line_opens_a_module_with_its_weights(trained, tmp_path):
    _, weights = trained
    out = tmp_path / "own.png"
    r = run_cli(tmp_path, "--module", f"{EXAMPLE}:build", "--weights", weights, "--dataset", "fashion-mnist",
                "--screenshot", out, "--size", "900x600")
    assert r.returncode == 0, r.stderr
    with Image.open(out) as im:
        assert im.size == (900, 600)


@pytest.mark.parametrize(("args", "words"), [
    (["--module", f"{EXAMPLE}:build"], "--module needs --dataset"),
    (["--weights", "w.safetensors", "--dataset", "mnist"], "--weights goes with --module"),
    (["--module", "nowhere.py:build", "--dataset", "mnist"], "nowhere.py: no such file."),
])
def test_command_line_misuse_is_one_line(tmp_path, args, words):
    r = run_cli(tmp_path, *args)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and words in lines[0], r.stderr
