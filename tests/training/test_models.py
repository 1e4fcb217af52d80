"""The model contract: encode -> (mean, logvar|None), decode -> (N, C, H, W) in [0, 1], exact configs."""

from __future__ import annotations

import json
import warnings

import pytest
import torch

from training.models import VAE, ConfigError, ModelConfig, build_model


def small(**kw) -> ModelConfig:
    base = {"channels": (4, 8), "hidden": (8,)}
    base.update(kw)
    return ModelConfig(**base)


def test_classic_conv_pair_shapes():
    torch.manual_seed(0)
    model = build_model(ModelConfig())  # the Keras example: 28x28x1, Conv 32/64, Dense 16, 2-D z
    x = torch.rand(5, 1, 28, 28)
    mean, logvar = model.encode(x)
    assert mean.shape == (5, 2) and logvar is not None and logvar.shape == (5, 2)
    with torch.no_grad():
        out = model.decode(torch.randn(7, 2) * 3)
    assert out.shape == (7, 1, 28, 28)
    assert out.dtype == torch.float32
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_classic_parameter_count_matches_keras_example():
    # keras.io/examples/generative/vae: encoder 69,076 params, decoder 65,089 params
    conv = lambda cin, cout, k=3: k * k * cin * cout + cout  # noqa: E731
    dense = lambda fin, fout: fin * fout + fout  # noqa: E731
    encoder = conv(1, 32) + conv(32, 64) + dense(7 * 7 * 64, 16) + dense(16, 2) + dense(16, 2)
    decoder = dense(2, 7 * 7 * 64) + conv(64, 64) + conv(64, 32) + conv(32, 1)
    assert encoder == 69_076 and decoder == 65_089
    model = build_model(ModelConfig())
    assert sum(p.numel() for p in model.parameters()) == encoder + decoder
    enc_params = sum(p.numel() for m in (model.encoder, model.mean, model.logvar) for p in m.parameters())
    assert enc_params == encoder
    assert sum(p.numel() for p in model.decoder.parameters()) == decoder


@pytest.mark.parametrize("arch", ["conv", "mlp"])
@pytest.mark.parametrize("shape", [(1, 32, 32), (1, 30, 30), (1, 20, 24), (3, 28, 28), (3, 17, 9), (1, 8, 8)])
def test_other_sizes_and_colour(arch, shape):
    torch.manual_seed(0)
    model = build_model(small(arch=arch, image_shape=shape))
    x = torch.rand(3, *shape)
    mean, logvar = model.encode(x)
    assert mean.shape == (3, 2) and logvar.shape == (3, 2)
    out = model.decode(mean).detach()
    assert out.shape == (3, *shape)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0
    losses = model(x)
    assert torch.isfinite(losses["loss"])
    losses["loss"].backward()  # the whole graph is differentiable for every size
    assert all(p.grad is not None for p in model.parameters())


@pytest.mark.parametrize("shape", [(1, 28, 28), (1, 13, 13), (3, 17, 9)])
def test_conv_decoder_traces_without_warnings(shape):
    # the app traces decode (explorer/core/torch_fns.py); a shape test inside forward would make
    # torch.jit.trace warn (and, on a cropped size, bake one branch in silently)
    torch.manual_seed(0)
    model = build_model(small(image_shape=shape)).eval()
    z = torch.randn(2, 2)
    with warnings.catch_warnings(record=True) as caught, torch.inference_mode():
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)  # jit.trace itself is deprecated
        graph = torch.jit.trace(model.decoder, z, check_trace=False)
    assert [str(w.message) for w in caught if issubclass(w.category, torch.jit.TracerWarning)] == []
    assert torch.equal(graph(z), model.decoder(z)) and graph(z).shape[-3:] == shape


class _Decode(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, *args):
        return self.model.decode(*args)


@pytest.mark.parametrize("cfg", [small(), small(arch="mlp"), small(kind="aae"), small(kind="pca", arch="mlp"),
                                 small(kind="ae", arch="mlp", tied=True), small(kind="cvae", num_classes=3),
                                 small(kind="cvae", num_classes=3, arch="mlp", decoder_label="every")])
def test_decode_traces_without_warnings(cfg):
    # the app traces model.decode, labels and all, on a worker thread (explorer/core/torch_fns.py),
    # where warnings.catch_warnings cannot be relied on (it is not thread-safe): the trace itself must
    # not warn, so nothing about the batch size or the labels may be read back into Python
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    args = (torch.randn(3, 2), torch.tensor([0, 2, 1])) if model.conditional else (torch.randn(3, 2),)
    with warnings.catch_warnings(record=True) as caught, torch.inference_mode():
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=DeprecationWarning)  # jit.trace itself is deprecated
        graph = torch.jit.trace(_Decode(model), args, check_trace=False)
    assert [str(w.message) for w in caught if issubclass(w.category, torch.jit.TracerWarning)] == []
    assert torch.equal(graph(*args), model.decode(*args))


@pytest.mark.parametrize("cfg", [small(beta=0.0), small(kind="ae"), small(kind="ae", beta=4.0)])
def test_plain_autoencoder_is_deterministic(cfg):
    torch.manual_seed(0)
    model = build_model(cfg)
    assert model.logvar is None and not model.stochastic
    x = torch.rand(4, 1, 28, 28)
    mean, logvar = model.encode(x)
    assert logvar is None
    model.train()
    a, b = model(x), model(x)
    assert torch.equal(a["loss"], b["loss"])  # z = mean, no sampling
    assert float(a["kl"]) == 0.0
    assert torch.allclose(a["loss"], a["recon"])


def test_vae_forward_samples_and_weights_kl_by_beta():
    torch.manual_seed(0)
    model = build_model(small(beta=3.0))
    x = torch.rand(4, 1, 28, 28)
    torch.manual_seed(1)
    a = model(x)
    torch.manual_seed(2)
    b = model(x)
    assert not torch.equal(a["recon"], b["recon"])  # z is sampled
    assert torch.allclose(a["loss"], a["recon"] + 3.0 * a["kl"], rtol=1e-5)


def test_config_round_trip_through_json():
    cfg = ModelConfig(kind="vae", arch="mlp", latent_dim=2, image_shape=(3, 20, 24), channels=(4, 8, 16),
                      hidden=(64, 8), beta=0.5, likelihood="gaussian", gaussian_sigma=0.2, num_classes=10)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert d["image_shape"] == [3, 20, 24] and d["channels"] == [4, 8, 16]
    back = ModelConfig.from_dict(d)
    assert back == cfg
    assert isinstance(back.image_shape, tuple) and isinstance(back.hidden, tuple)
    # rebuilding from the dict gives the same architecture
    assert [p.shape for p in build_model(back).parameters()] == [p.shape for p in build_model(cfg).parameters()]


def test_from_dict_fills_missing_fields_with_defaults():
    assert ModelConfig.from_dict({"beta": 2}) == ModelConfig(beta=2.0)


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        ({"colour": "red"}, "unknown field"),
        ({"latent_dim": "2"}, "wrong type"),
        ({"latent_dim": 2.0}, "wrong type"),
        ({"latent_dim": True}, "wrong type"),
        ({"beta": "1"}, "wrong type"),
        ({"beta": None}, "wrong type"),
        ({"image_shape": "1,28,28"}, "wrong type"),
        ({"image_shape": [1, 28.5, 28]}, "wrong type"),
        ({"channels": [4, True]}, "wrong type"),
        ({"kind": 3}, "wrong type"),
        ({"kind": "gan"}, "unknown model kind"),
        ({"arch": "transformer"}, "unknown architecture"),
        ({"likelihood": "poisson"}, "unknown likelihood"),
        ({"latent_dim": 0}, "latent_dim"),
        ({"latent_dim": 10**6}, "latent_dim"),
        ({"image_shape": [1, 28]}, "image_shape"),
        ({"image_shape": [2, 28, 28]}, "channels"),
        ({"image_shape": [1, 4, 28]}, "image size"),
        ({"image_shape": [1, 28, 100000]}, "image size"),
        ({"channels": []}, "channels"),
        ({"channels": [4, 8, 16, 32, 64]}, "channels"),
        ({"channels": [0, 8]}, "conv widths"),
        ({"hidden": [10**9]}, "hidden"),
        ({"beta": -1}, "beta"),
        ({"beta": float("nan")}, "beta"),
        ({"beta": float("inf")}, "beta"),
        ({"beta": 10**400}, "beta"),  # an int too big for a float
        ({"gaussian_sigma": 0}, "gaussian_sigma"),
        ({"num_classes": -1}, "num_classes"),
    ],
)
def test_from_dict_refuses_bad_values_with_one_sentence(bad, words):
    with pytest.raises(ConfigError) as info:
        ModelConfig.from_dict({**ModelConfig().to_dict(), **bad})
    msg = str(info.value)
    assert words in msg
    assert "\n" not in msg


@pytest.mark.parametrize("notadict", [None, [], "vae", 3])
def test_from_dict_refuses_non_objects(notadict):
    with pytest.raises(ConfigError, match="not a JSON object"):
        ModelConfig.from_dict(notadict)


def test_build_model_validates():
    with pytest.raises(ConfigError):
        build_model(ModelConfig(latent_dim=0))
    assert isinstance(build_model(small()), VAE)
