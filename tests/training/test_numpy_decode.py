"""training.numpy_decode: the torch-free decoder equals ``model.decode`` for every kind and architecture,
reads and checks a file as training.checkpoint.load does, and never imports torch."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from training import checkpoint, numpy_layers
from training import numpy_decode as nd
from training.checkpoint_read import CheckpointError
from training.models import ModelConfig, build_model

ROOT = Path(__file__).resolve().parents[2]
BUNDLED = ROOT / "assets" / "fashion-mnist-vae.safetensors"
TOL = 1e-5
SMALL = {"channels": (4, 6), "hidden": (8, 5), "num_classes": 3, "disc_hidden": (7,)}
CONFIGS = {
    "vae-conv": {"kind": "vae"},
    "vae-conv-13px": {"kind": "vae", "image_shape": (1, 13, 13)},  # 13 -> 7 -> 4: 16 px cropped to 13
    "vae-conv-30x22-colour": {"kind": "vae", "image_shape": (3, 30, 22), "channels": (3, 4, 5)},
    "vae-conv-no-hidden": {"kind": "vae", "hidden": ()},
    "vae-conv-one-width": {"kind": "vae", "channels": (5,), "hidden": (6,)},
    "beta0-conv": {"kind": "vae", "beta": 0.0},
    "ae-conv-dropout": {"kind": "ae", "dropout": 0.2},
    "cvae-conv": {"kind": "cvae", "default_class": 2},
    "cvae-conv-14px": {"kind": "cvae", "image_shape": (1, 14, 14)},
    "cvae-conv-label-every": {"kind": "cvae", "decoder_label": "every"},
    "cvae-conv-label-every-13px": {"kind": "cvae", "decoder_label": "every", "image_shape": (3, 13, 13),
                                   "channels": (3, 4, 5), "hidden": (6,)},
    "cvae-mlp-label-every": {"kind": "cvae", "arch": "mlp", "decoder_label": "every", "hidden": (9, 7, 4)},
    "aae-conv": {"kind": "aae"},
    "vae-mlp": {"kind": "vae", "arch": "mlp"},
    "vae-mlp-no-hidden": {"kind": "vae", "arch": "mlp", "hidden": ()},
    "vae-mlp-tied": {"kind": "vae", "arch": "mlp", "tied": True},
    "ae-mlp-tied-dropout": {"kind": "ae", "arch": "mlp", "tied": True, "dropout": 0.3, "hidden": (9, 7, 4)},
    "aae-mlp-tied": {"kind": "aae", "arch": "mlp", "tied": True},
    "cvae-mlp": {"kind": "cvae", "arch": "mlp", "image_shape": (3, 10, 9)},
    "aae-mlp": {"kind": "aae", "arch": "mlp"},
    "pca": {"kind": "pca"},
    "pca-colour": {"kind": "pca", "image_shape": (3, 11, 12)},
}


def model_of(name: str, seed: int = 0, **over):
    cfg = ModelConfig(**{**SMALL, **CONFIGS[name], **over})
    torch.manual_seed(seed)
    model = build_model(cfg).eval()
    with torch.no_grad():  # random weights everywhere (PCA starts at zeros / ones; biases near 0)
        for p in model.parameters():
            p.normal_(0.0, 0.6)
        if cfg.kind == "pca":
            model.scale.uniform_(0.5, 2.0)
    return model


def weights_of(model) -> dict[str, np.ndarray]:
    return {k: v.detach().numpy().copy() for k, v in model.state_dict().items()}


def torch_decode(model, z: np.ndarray, y: np.ndarray | None = None) -> np.ndarray:
    with torch.inference_mode():
        return model.decode(torch.from_numpy(z), None if y is None else torch.from_numpy(y)).numpy()


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_state_shapes_equal_the_torch_models(name):
    cfg = model_of(name).config
    assert nd.state_shapes(cfg) == checkpoint.expected_entries(cfg)


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("n", [1, 2, 50])
def test_decode_equals_torch(name, n):
    model = model_of(name)
    decode = nd.numpy_decoder(model.config, weights_of(model))
    assert decode is not None and decode.backend == "numpy"
    rng = np.random.default_rng(n)
    z = (rng.standard_normal((n, 2)) * 2.5).astype(np.float32)
    if model.config.conditional:
        y = rng.integers(0, model.config.num_classes, n)
        got, want = decode(z, y), torch_decode(model, z, y)
        assert np.abs(decode(z) - torch_decode(model, z)).max() < TOL  # no labels: default_class
    else:
        got, want = decode(z), torch_decode(model, z)
    assert got.dtype == np.float32 and got.shape == want.shape == (n, *model.config.image_shape)
    assert np.abs(got - want).max() < TOL


@pytest.mark.parametrize("name", sorted(CONFIGS))
@pytest.mark.parametrize("d", [3, 8, 64])
def test_decode_equals_torch_at_any_latent_dim(name, d):
    """A D-dim model (the explorer decodes its 2-D slices): every z coordinate reaches the image."""
    model = model_of(name, latent_dim=d)
    assert nd.state_shapes(model.config) == checkpoint.expected_entries(model.config)
    decode = nd.numpy_decoder(model.config, weights_of(model))
    rng = np.random.default_rng(d)
    z = (rng.standard_normal((7, d)) * 2 * np.sqrt(2 / d)).astype(np.float32)  # |z| as in the 2-D test
    y = rng.integers(0, model.config.num_classes, 7) if model.config.conditional else None
    got, want = decode(z, y), torch_decode(model, z, y)
    assert got.shape == want.shape == (7, *model.config.image_shape)
    assert np.abs(got - want).max() < TOL
    moved = z.copy()
    moved[:, -1] += 2.0  # the last coordinate changes the decode in both (not only the first two are read)
    assert np.abs(decode(moved, y) - got).max() > 1e-3
    assert np.abs(decode(moved, y) - torch_decode(model, moved, y)).max() < TOL
    with pytest.raises(ValueError, match=rf"z must be \(N, {d}\), got shape \(7, 2\)"):
        decode(z[:, :2], y)  # a 2-D z does not fit a D-dim decoder


@pytest.mark.parametrize("name", ["vae-mlp", "cvae-conv", "aae-mlp-tied", "pca-colour"])
def test_decode_equals_torch_at_the_largest_latent_dim(name, tmp_path):
    model = model_of(name, latent_dim=512, image_shape=(3, 16, 16))  # pca: D at most the 768 pixel values
    path = checkpoint.save(model, tmp_path / "d512.safetensors")
    numpy_model = nd.read_model(path)
    assert numpy_model.config.latent_dim == 512
    z = (np.random.default_rng(5).standard_normal((4, 512)) / 8).astype(np.float32)  # |z| about 2
    y = np.array([0, 1, 2, 0]) if model.config.conditional else None
    assert np.abs(numpy_model.decode(z, y) - torch_decode(model, z, y)).max() < TOL


def test_large_batches_are_decoded_in_chunks():
    model = model_of("vae-conv-13px")
    z = np.random.default_rng(3).standard_normal((nd.BATCH * 2 + 7, 2)).astype(np.float32)
    got = nd.numpy_decoder(model.config, weights_of(model))(z)
    assert np.abs(got - torch_decode(model, z)).max() < TOL


def test_the_bundled_model_file():
    numpy_model = nd.read_model(BUNDLED)
    model = checkpoint.load(BUNDLED)
    assert numpy_model.config == model.config and numpy_model.metadata == model.metadata
    assert numpy_model.weights.keys() == model.state_dict().keys()
    for n in (1, 2, 50):
        z = (np.random.default_rng(n).standard_normal((n, 2)) * 2).astype(np.float32)
        assert np.abs(numpy_model.decode(z) - torch_decode(model, z)).max() < TOL


def test_bad_input_raises_value_error_as_torch_does():
    model = model_of("cvae-conv")
    decode = nd.numpy_decoder(model.config, weights_of(model))
    z = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError, match="not finite"):
        decode(np.array([[np.nan, 0]], np.float32))
    with pytest.raises(ValueError, match="0..2"):
        decode(z, np.array([0, 3]))
    with pytest.raises(ValueError, match="labels for 2 rows"):
        decode(z, np.array([0]))
    assert decode(np.zeros((0, 2), np.float32)).shape == (0, 1, 28, 28)


def test_weights_that_do_not_fit_give_none():
    model = model_of("vae-conv")
    w = weights_of(model)
    w["decoder.ups.0.weight"] = w["decoder.ups.0.weight"][:, :3]
    assert nd.numpy_decoder(model.config, w) is None
    del w["decoder.ups.0.weight"]
    assert nd.numpy_decoder(model.config, w) is None


def test_read_model_refuses_what_load_refuses(tmp_path):
    model = model_of("vae-mlp")
    good = checkpoint.save(model, tmp_path / "good.safetensors")
    assert nd.read_model(good).weights.keys() == model.state_dict().keys()
    for path, words in ((tmp_path / "missing.safetensors", "no such file"),
                        (tmp_path / "text.safetensors", "too short")):
        if words == "too short":
            path.write_bytes(b"hi")
        with pytest.raises(CheckpointError, match=words):
            nd.read_model(path)
    conv = model_of("vae-conv")  # conv weights under an mlp config
    meta = {"format": "latent-explorer", "schema": "1", "config": json.dumps(model.config.to_dict())}
    save_file({k: v.contiguous() for k, v in conv.state_dict().items()}, str(tmp_path / "mismatch.safetensors"),
              metadata=meta)
    for loader in (nd.read_model, checkpoint.load):
        with pytest.raises(CheckpointError, match="does not fit"):
            loader(tmp_path / "mismatch.safetensors")


def test_read_model_refuses_non_finite_weights(tmp_path):
    model = model_of("pca")
    with torch.no_grad():
        model.center[3] = float("inf")
    path = tmp_path / "inf.safetensors"
    meta = {"format": "latent-explorer", "schema": "1", "config": json.dumps(model.config.to_dict())}
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(path), metadata=meta)
    for loader in (nd.read_model, checkpoint.load):
        with pytest.raises(CheckpointError, match="NaN or infinite"):
            loader(path)


def test_importing_it_does_not_import_torch():
    code = ("import sys; import training.numpy_decode as nd; m = nd.read_model(sys.argv[1]); "
            "import numpy as np; m.decode(np.zeros((1, 2), np.float32)); print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(BUNDLED)], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("stride", [1, 2])
def test_both_forms_of_the_transposed_conv_equal_torchs(stride):
    rng = np.random.default_rng(stride)
    w = rng.standard_normal((5, 3, 3, 3)).astype(np.float32)  # (Cin, Cout, 3, 3), torch's layout
    b = rng.standard_normal(3).astype(np.float32)
    x = rng.standard_normal((4, 6, 7, 5)).astype(np.float32)  # NHWC, not square
    with torch.inference_mode():
        want = torch.nn.functional.conv_transpose2d(
            torch.from_numpy(x).permute(0, 3, 1, 2), torch.from_numpy(w), torch.from_numpy(b), stride=stride,
            padding=1, output_padding=stride - 1).permute(0, 2, 3, 1).numpy()
    big = numpy_layers.conv_t_weights(w, stride)
    wmat = np.ascontiguousarray(w.transpose(0, 2, 3, 1).reshape(5, -1))
    for got in (numpy_layers.conv_transpose2d(x, big, b, stride), numpy_layers.conv_transpose2d_scatter(x, wmat, b, stride)):
        assert got.shape == want.shape == (4, 6 * stride, 7 * stride, 3)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-5)
