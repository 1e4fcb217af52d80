"""Any latent dimension D (2..512 for the explorer, which explores D > 2 through 2-D slices): every kind and
variant trains with ``latent-train --latent-dim D``, saves, loads, decodes with numpy as with torch, and says
its D in ``info`` and ``eval``; the CVAE's label and the AAE's N(0, I) prior work in D; bad D is one sentence.

Real training runs, in process through ``training.cli.main`` (the code the entry point calls) on the
``synthetic`` dataset, one epoch on a few hundred images, one thread.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

from training import checkpoint
from training import numpy_decode as nd
from training.cli import main
from training.data import load_dataset
from training.models import ModelConfig, build_model
from training.train import TrainConfig, fit

TINY = ["--dataset", "synthetic", "--channels", "4,8", "--hidden", "16", "--threads", "1", "--epochs", "1",
        "--limit", "256", "--batch-size", "64", "--quiet", "--no-download"]
RUNS = {  # name: (latent dims, extra arguments)
    "vae": ((3, 8), ["--model", "vae"]),
    "ae": ((3, 8), ["--model", "ae"]),
    "cvae": ((3, 8), ["--model", "cvae"]),
    "aae": ((3, 8), ["--model", "aae"]),
    "pca": ((3, 8), ["--model", "pca"]),
    "vae-denoise": ((8,), ["--model", "vae", "--denoise", "0.2"]),
    "ae-dropout": ((8,), ["--model", "ae", "--dropout", "0.2"]),
    "vae-mlp-tied": ((8,), ["--model", "vae", "--arch", "mlp", "--tied"]),
    "aae-mlp-tied": ((8,), ["--model", "aae", "--arch", "mlp", "--tied"]),
    "ae-mlp-64": ((64,), ["--model", "ae", "--arch", "mlp"]),  # the fastest neural kind, wide
    "pca-512": ((512,), ["--model", "pca", "--limit", "600"]),  # the top of the range (D + 1 images at least)
}
CASES = [pytest.param(name, d, id=f"{name}-D{d}") for name, (dims, _) in RUNS.items() for d in dims]


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """--threads 1 sets torch's thread count for the whole process: put it back afterwards."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def test_images():
    ds = load_dataset("synthetic", "test")
    return ds.images[:40], np.asarray(ds.labels[:40], np.int64)


@pytest.mark.parametrize(("name", "d"), CASES)
def test_every_kind_trains_saves_and_loads_at_d(name, d, tmp_path, monkeypatch, capsys, test_images):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "m.safetensors"
    assert main([*TINY, *RUNS[name][1], "--latent-dim", str(d), "--out", str(out)]) == 0, capsys.readouterr().err
    model = checkpoint.load(out)
    assert model.config.latent_dim == d
    metrics = model.metadata["metrics"]
    assert 0 <= metrics["test_active_units"] <= d and np.isfinite(metrics["test_neg_elbo"])

    x, y = test_images
    labels = torch.from_numpy(y) if model.conditional else None
    with torch.no_grad():
        mean, logvar = model.encode(torch.from_numpy(x), labels)
        assert mean.shape == (len(x), d) and (logvar is None or logvar.shape == (len(x), d))
        want = model.decode(mean, labels).numpy()
    assert want.shape == (len(x), 1, 28, 28) and want.min() >= 0 and want.max() <= 1
    numpy_model = nd.read_model(out)  # the explorer's first, torch-free decoder
    assert numpy_model.config == model.config
    np.testing.assert_allclose(numpy_model.decode(mean.numpy(), y if model.conditional else None), want, atol=1e-5)

    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    active = metrics["test_active_units"]
    assert re.search(rf"^  latent\s+{d}-D space, explored through 2-D slices; {active} of {d} units active$", info, re.M), info


@pytest.mark.parametrize("kind", ["vae", "pca"])
def test_eval_of_a_d_dim_model_measures_the_saved_metrics(kind, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "m.safetensors"
    assert main([*TINY, "--model", kind, "--latent-dim", "5", "--out", str(out)]) == 0, capsys.readouterr().err
    capsys.readouterr()
    assert main(["eval", str(out)]) == 0
    text = capsys.readouterr().out
    assert "on synthetic (test, 600 images), latent 5-D space, explored through 2-D slices" in text
    got = {k: float(v) for k, v in re.findall(r"^\s+(\w+)\s+([0-9.]+)$", text, re.M)}
    saved = checkpoint.read_metadata(out)["metrics"]
    assert got["neg_elbo"] == pytest.approx(saved["test_neg_elbo"], rel=1e-4)
    assert got["active_units"] == saved["test_active_units"]


def test_info_of_2d_and_1d_models(tmp_path, capsys):
    for d, words in ((2, "2-D space (the explorer's plane)"), (1, "1-D space (the explorer needs 2 or more)")):
        path = checkpoint.save(build_model(ModelConfig(kind="ae", channels=(4,), hidden=(8,), latent_dim=d)),
                               tmp_path / f"d{d}.safetensors", metrics={"test_active_units": d})
        assert main(["info", str(path)]) == 0
        assert re.search(rf"^  latent\s+{re.escape(words)}$", capsys.readouterr().out, re.M)


def test_cvae_label_joins_z_in_d(tmp_path):
    cfg = ModelConfig(kind="cvae", arch="mlp", hidden=(16,), latent_dim=6, num_classes=10)
    torch.manual_seed(0)
    model = build_model(cfg).eval()
    assert model.decoder.dense[0].in_features == 6 + 10  # z (D) and the one-hot label
    z = torch.randn(4, 6)
    with torch.no_grad():
        a, b = model.decode(z, torch.tensor([1, 1, 1, 1])), model.decode(z, torch.tensor([7, 7, 7, 7]))
        mean, logvar = model.encode(torch.rand(4, 1, 28, 28), torch.tensor([0, 3, 5, 9]))
    assert (a - b).abs().max() > 1e-3  # the label changes the image at the same z
    assert mean.shape == logvar.shape == (4, 6)
    numpy_decode = nd.numpy_decoder(cfg, {k: v.numpy() for k, v in model.state_dict().items()})
    np.testing.assert_allclose(numpy_decode(z.numpy(), np.array([7, 7, 7, 7])), b.numpy(), atol=1e-5)


def test_aae_discriminator_sees_n0i_prior_samples_in_d():
    d = 5
    cfg = ModelConfig(kind="aae", arch="mlp", hidden=(16,), latent_dim=d, num_classes=10)
    torch.manual_seed(0)
    model = build_model(cfg)
    assert model.discriminator[0].in_features == d
    seen: list[torch.Tensor] = []
    model.discriminator.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach().clone()))
    x = torch.from_numpy(load_dataset("synthetic", "train").images[:512])
    fit(model, x, TrainConfig(epochs=1, batch_size=64, workers=1, threads=1), progress=False)
    # the disc phase judges the prior samples, then the codes (the ae phase's judge is detached, unhooked)
    prior, codes = torch.cat(seen[0::2]), torch.cat(seen[1::2])
    assert prior.shape == codes.shape == (512, d)
    np.testing.assert_allclose(prior.mean(0).numpy(), np.zeros(d), atol=0.15)
    np.testing.assert_allclose(torch.cov(prior.T).numpy(), np.eye(d), atol=0.2)


@pytest.mark.parametrize("value", ["0", "513", "x", "2.5", "-3"])
def test_bad_latent_dim_is_one_sentence(value, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main([*TINY, "--latent-dim", value, "--out", str(tmp_path / "m.safetensors")]) == 1
    err = capsys.readouterr().err
    assert err == (f"latent-train: error: --latent-dim must be a whole number in 1..512 (the explorer opens 2..512), "
                   f"not {value!r}\n")
    assert list(tmp_path.iterdir()) == []


def test_help_says_the_explorer_needs_2_or_more(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--latent-dim D latent dimension, 1..512 (the explorer needs 2 or more" in text
