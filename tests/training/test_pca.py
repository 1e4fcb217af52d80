"""PCA, the linear baseline: its reconstruction is closed-form PCA (numpy's SVD) for every solver,
it obeys the model contract, and it round-trips through the checkpoint format."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from training import checkpoint, evaluate
from training.data import load_dataset
from training.errors import UserError
from training.models import ConfigError, LatentModel, ModelConfig, build_model
from training.pca import PCAError, fit_pca


def low_rank_images(n=300, shape=(1, 8, 8), seed=0) -> np.ndarray:
    """Images in [0, 1] with two strong directions of variance and a little noise (a clear spectral gap)."""
    rng = np.random.default_rng(seed)
    p = int(np.prod(shape))
    basis = np.linalg.qr(rng.normal(size=(p, 2)))[0].T  # (2, P) orthonormal
    codes = rng.normal(size=(n, 2)) * [0.15, 0.08]
    x = 0.5 + codes @ basis + rng.normal(0, 0.005, (n, p))
    return np.clip(x, 0, 1).astype(np.float32).reshape(n, *shape)


def numpy_pca(x: np.ndarray, d: int = 2):
    flat = x.reshape(len(x), -1).astype(np.float64)
    mean = flat.mean(0)
    _, s, vt = np.linalg.svd(flat - mean, full_matrices=False)
    recon = mean + (flat - mean) @ vt[:d].T @ vt[:d]
    return mean, vt[:d], s[:d], recon


@pytest.mark.parametrize(("solver", "tol"), [("svd", 1e-5), ("incremental", 1e-5), ("randomized", 1e-4)])
def test_reconstruction_equals_numpy_svd_pca(solver, tol):
    x = low_rank_images()
    model = build_model(ModelConfig(kind="pca", image_shape=(1, 8, 8)))
    assert fit_pca(model, x, solver, chunk=64) == solver
    mean, vt, s, recon = numpy_pca(x)
    with torch.no_grad():
        z, logvar = model.encode(torch.from_numpy(x))
        mine = model.reconstruct_linear(z).double().numpy()
    assert logvar is None
    np.testing.assert_allclose(mine, recon, atol=tol)
    np.testing.assert_allclose(model.center.double().numpy(), mean, atol=1e-6)
    for k in range(2):  # the same directions, up to sign
        assert abs(float(np.dot(model.components[k].double().numpy(), vt[k]))) == pytest.approx(1, abs=tol)
    # whitened: the codes have unit variance, the scale holds the singular values
    np.testing.assert_allclose(model.scale.double().numpy(), s / np.sqrt(len(x) - 1), rtol=tol * 10)
    np.testing.assert_allclose(z.std(0).numpy(), [1, 1], rtol=1e-3)


def spectrum_images(n=400, shape=(1, 8, 8), k=12, seed=0) -> np.ndarray:
    """Images with k directions of clearly decreasing variance (std 0.1 * 0.75^j) and a little noise."""
    rng = np.random.default_rng(seed)
    p = int(np.prod(shape))
    basis = np.linalg.qr(rng.normal(size=(p, k)))[0].T  # (k, P) orthonormal
    codes = rng.normal(size=(n, k)) * (0.1 * 0.75 ** np.arange(k))
    x = 0.5 + codes @ basis + rng.normal(0, 0.002, (n, p))
    return np.clip(x, 0, 1).astype(np.float32).reshape(n, *shape)


@pytest.mark.parametrize("d", [3, 8])
@pytest.mark.parametrize(("solver", "tol"), [("svd", 1e-5), ("incremental", 1e-5), ("randomized", 1e-3)])
def test_latent_dim_d_takes_the_top_d_components_whitened(d, solver, tol):
    x = spectrum_images()
    model = build_model(ModelConfig(kind="pca", image_shape=(1, 8, 8), latent_dim=d))
    fit_pca(model, x, solver, chunk=64)
    mean, vt, s, recon = numpy_pca(x, d)
    comps = model.components.double().numpy()
    assert comps.shape == (d, 64)
    # the same subspace as numpy's first d right-singular vectors, and each of them in order, up to sign
    np.testing.assert_allclose(comps.T @ comps, vt.T @ vt, atol=tol)
    np.testing.assert_allclose(np.abs((comps * vt).sum(1)), np.ones(d), atol=tol)
    # their variances, largest first (the squared singular values over n - 1)
    np.testing.assert_allclose(model.scale.double().numpy() ** 2, s**2 / (len(x) - 1), rtol=tol * 10)
    with torch.no_grad():
        z = model.encode(torch.from_numpy(x))[0].double().numpy()
        mine = model.reconstruct_linear(torch.from_numpy(z).float()).double().numpy()
    np.testing.assert_allclose(np.cov(z.T), np.eye(d), atol=tol * 10)  # whitened: unit variance, uncorrelated
    np.testing.assert_allclose(mine, recon, atol=tol * 10)


def test_latent_dim_beyond_the_data_is_one_sentence():
    model = build_model(ModelConfig(kind="pca", image_shape=(1, 8, 8), latent_dim=20))
    with pytest.raises(PCAError, match=r"^PCA with latent_dim 20 needs at least 21 images \(got 12\)$"):
        fit_pca(model, spectrum_images(n=12))
    assert issubclass(PCAError, UserError) and issubclass(PCAError, ValueError)
    fit_pca(model, spectrum_images(n=21))  # exactly enough
    with pytest.raises(ConfigError, match="latent_dim 65 is more than the 64 pixel values"):
        ModelConfig(kind="pca", image_shape=(1, 8, 8), latent_dim=65).validate()
    ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=65).validate()  # a neural code may be wider


def test_every_solver_gives_the_same_plane_with_fixed_signs():
    x = low_rank_images(seed=3)
    planes = []
    for solver in ("svd", "incremental", "randomized"):
        model = build_model(ModelConfig(kind="pca", image_shape=(1, 8, 8)))
        fit_pca(model, x, solver, chunk=50)
        planes.append(model.encode(torch.from_numpy(x))[0].detach().numpy())
    np.testing.assert_allclose(planes[1], planes[0], atol=1e-3)
    np.testing.assert_allclose(planes[2], planes[0], atol=1e-3)


def test_incremental_reads_a_memory_mapped_array_in_chunks(tmp_path):
    x = low_rank_images(n=500, seed=1)
    np.save(tmp_path / "x.npy", x)
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")  # never loaded whole by the solver
    model = build_model(ModelConfig(kind="pca", image_shape=(1, 8, 8)))
    fit_pca(model, mapped, "incremental", chunk=64)
    *_, recon = numpy_pca(x)
    with torch.no_grad():
        mine = model.reconstruct_linear(model.encode(torch.from_numpy(x))[0]).numpy()
    np.testing.assert_allclose(mine, recon, atol=1e-5)


def test_pca_obeys_the_contract_and_round_trips(tmp_path):
    ds = load_dataset("synthetic", "train")
    model = build_model(ModelConfig(kind="pca"))
    assert isinstance(model, LatentModel) and not model.conditional
    fit_pca(model, ds.images[:500])
    z = torch.randn(6, 2) * 4  # far out: the linear decode leaves [0, 1] and is clipped
    out = model.decode(z)
    assert out.shape == (6, 1, 28, 28) and float(out.min()) >= 0 and float(out.max()) <= 1
    path = checkpoint.save(model, tmp_path / "pca.safetensors", metrics={"pca_solver": "svd"})
    back = checkpoint.load(path)
    assert back.config.kind == "pca"
    x = torch.from_numpy(ds.images[500:520])
    assert torch.equal(back.encode(x)[0], model.encode(x)[0]) and torch.equal(back.decode(z), out)
    report = evaluate.evaluate(back, ds.images[500:700])
    assert report["kl"] == 0 and report["neg_elbo"] == report["recon"] > 0
    with torch.no_grad():  # sq_error is the PCA reconstruction error (clipped to [0, 1])
        rec = model.decode(model.encode(torch.from_numpy(ds.images[500:700]))[0])
    assert report["sq_error"] == pytest.approx(float((rec - torch.from_numpy(ds.images[500:700])).pow(2).sum()) / 200, rel=1e-4)


def test_bad_solver_and_too_little_data():
    model = build_model(ModelConfig(kind="pca", image_shape=(1, 8, 8)))
    with pytest.raises(ValueError, match="solver"):
        fit_pca(model, low_rank_images(), "magic")
    with pytest.raises(ValueError, match="at least 2"):
        fit_pca(model, low_rank_images(n=1))
    with pytest.raises(ConfigError, match="closed form"):
        ModelConfig(kind="pca", denoise=0.2).validate()
