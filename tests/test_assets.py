"""The bundled models load, open with their bundled data, and assets/README.md states their real metrics."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from training.checkpoint import load

ASSETS = Path(__file__).resolve().parents[1] / "assets"
MODELS = {"fashion-mnist-vae.safetensors": ("fashion-mnist", 60_000), "mnist-5k-vae.safetensors": ("mnist-5k", 4_000),
          "fashion-mnist-beta0.safetensors": ("fashion-mnist", 60_000),
          "fashion-mnist-beta10.safetensors": ("fashion-mnist", 60_000),
          "fashion-mnist-cvae.safetensors": ("fashion-mnist", 60_000),
          "fashion-mnist-aae.safetensors": ("fashion-mnist", 60_000),
          "fashion-mnist-vae-8d.safetensors": ("fashion-mnist", 60_000)}
LATENT = {"fashion-mnist-vae-8d.safetensors": 8}  # the others are 2-D
KIND_BETA = {"fashion-mnist-beta0.safetensors": ("vae", 0.0), "fashion-mnist-beta10.safetensors": ("vae", 10.0),
             "fashion-mnist-cvae.safetensors": ("cvae", 3.0), "fashion-mnist-aae.safetensors": ("aae", 0.0)}
# README row label -> metadata metric key
ROWS = {
    "negative ELBO (nats per image)": "test_neg_elbo",
    "reconstruction (nats per image)": "test_recon",
    "KL (nats per image)": "test_kl",
    "5-NN accuracy of the {D}-D test means (train means as reference)": "test_knn5_acc",
    "5-NN accuracy, leave-one-out among the test means": "test_knn5_loo_acc",
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_bundled_model_loads_with_its_metadata(name):
    model = load(ASSETS / name)
    dataset, n_train = MODELS[name]
    kind, beta = KIND_BETA.get(name, ("vae", 1.0))
    assert model.config.latent_dim == LATENT.get(name, 2) and model.config.kind == kind and model.config.beta == beta
    assert "snapshots" not in model.metadata or model.metadata["snapshots"] == []  # lean: no training snapshots
    assert all(t.dtype == torch.float32 for t in model.state_dict().values())
    assert model.metadata["dataset"]["name"] == dataset
    assert model.metadata["dataset"]["num_train"] == n_train
    assert model.metadata["metrics"]["epochs"] >= 1


@pytest.mark.parametrize("name", sorted(MODELS))
def test_readme_metrics_are_the_checkpoints_own(name):
    """Every figure in assets/README.md for a model is what its checkpoint recorded."""
    text = (ASSETS / "README.md").read_text()
    section = text.split(f"### `{name}`")[1].split("### ")[0]
    metrics = load(ASSETS / name).metadata["metrics"]
    for label, key in ROWS.items():
        label = label.format(D=LATENT.get(name, 2))
        m = re.search(rf"^\| {re.escape(label)} \| ([0-9.]+) \|", section, re.M)
        assert m, f"assets/README.md has no row '{label}' for {name}"
        shown = m.group(1)
        decimals = len(shown.split(".")[1]) if "." in shown else 0
        assert float(shown) == pytest.approx(round(metrics[key], decimals), abs=10 ** -decimals / 2), (label, shown, metrics[key])


def test_default_model_shows_the_bundled_test_split():
    """With no arguments the app shows the 10,000-image test split shipped in assets/, not a system copy."""
    from explorer.core.session import default_model_path, load_data_for, load_model

    model = load_model(default_model_path())
    ds = load_data_for(model)
    assert len(ds.labels) == 10_000 and ds.images.shape[1:] == (1, 28, 28)
    assert str(ASSETS / "fashion-mnist") in ds.source


@pytest.mark.parametrize("name", ["fashion-mnist-vae.safetensors", "fashion-mnist-vae-8d.safetensors"])
def test_default_model_opens_with_its_shipped_means(monkeypatch, name):
    """assets/means holds the default model's test means (assets/make_means.py): a first start, with
    an empty cache, takes them instead of encoding, and they are what the encoder gives."""
    import numpy as np

    import explorer.core.session as session
    from explorer.core.means_cache import MeansCache

    s = session.open_session(ASSETS / name)  # the user's cache is this test's empty folder
    assert s.means_cached, "assets/means is stale or missing: run python assets/make_means.py"
    assert not list(MeansCache().folder.glob("*.npy"))  # nothing written: the shipped file was enough
    fresh = session.encode_means(s.model, s.images)
    np.testing.assert_allclose(s.means, fresh, atol=1e-4)


def test_bundled_cvae_opens_in_the_app_with_the_true_labels():
    """The CVAE opens like any model: encoded with the bundled test split's labels, decoded with a class."""
    from explorer.core.session import open_session, unit_float

    s = open_session(ASSETS / "fashion-mnist-cvae.safetensors")
    assert s.model.conditional and s.means.shape == (10_000, 2)
    with torch.inference_mode():
        x = torch.from_numpy(unit_float(s.images[:50]))  # the session keeps 8-bit data as uint8
        np.testing.assert_allclose(s.means[:50], s.model.encode(x, torch.from_numpy(s.labels[:50]))[0].numpy(), atol=1e-5)
        z = torch.zeros(10, 2)
        images = s.model.decode(z, torch.arange(10))
    assert not torch.allclose(images[0], images[1], atol=1e-3)  # the class changes the image


def test_bundled_cvae_class_dial_works_away_from_the_centre():
    """Issue 24: decode(z, c) is class c to a 5-NN vote among the real test images (pixel space) for at
    least 7 of the 10 classes at every grid point of |z| <= 2 and at (-1, 0.5), and for 8.5 on average
    (benchmarks/cvae_dial.py; the first CVAE: fewest 1, mean 4.3; the unguided one: fewest 5, mean 8.1).
    This judge itself names only 8.2 of 10 real images right (shirts 0.53): the CNN judge of the
    benchmark gives this model 9 or 10 at every point."""
    from training.data import load_dataset
    from training.numpy_decode import read_model

    test = load_dataset("fashion-mnist", "test", data_dir=ASSETS / "fashion-mnist", download=False)
    reference = test.images.reshape(len(test), -1)
    decode = read_model(ASSETS / "fashion-mnist-cvae.safetensors").decode
    axis = np.linspace(-2, 2, 5)
    points = [(x, y) for x in axis for y in axis if np.hypot(x, y) <= 2] + [(-1.0, 0.5)]
    recognised = {}
    for point in points:
        images = decode(np.repeat(np.array([point], np.float32), 10, 0), np.arange(10)).reshape(10, -1)
        d2 = (images**2).sum(1)[:, None] - 2 * images @ reference.T + (reference**2).sum(1)[None, :]
        votes = test.labels[np.argsort(d2, axis=1)[:, :5]]
        recognised[point] = sum(np.bincount(v, minlength=10).argmax() == c for c, v in enumerate(votes))
    assert min(recognised.values()) >= 7 and recognised[(0.0, 0.0)] >= 9, recognised
    assert np.mean(list(recognised.values())) >= 8.5, recognised
