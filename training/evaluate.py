"""Evaluation: test negative ELBO, reconstruction, KL (nats per image), active units, k-NN accuracy.

Conditional kinds (cvae) are evaluated with the images' true labels (``labels``); the negative ELBO is
then the bound on -log p(x | y).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from training import losses
from training.batches import rows_of
from training.models import LatentModel


def _labels(model: LatentModel, labels: Any, start: int, stop: int, device: torch.device) -> torch.Tensor | None:
    """The labels of rows start:stop for a conditional model; None for the others."""
    if labels is None or not getattr(model, "conditional", False):
        return None
    return torch.as_tensor(np.asarray(labels[start:stop], np.int64)).to(device)


@torch.inference_mode()
def encode_means(model: LatentModel, images: np.ndarray | torch.Tensor, batch_size: int = 1000,
                 labels: Any = None) -> np.ndarray:
    """Posterior means (N, D) as float32 numpy, in batches (conditional kinds: given the true labels).

    ``images``: float in [0, 1] or uint8 0..255 (a numpy array, a tensor or a LazyImages on disk), one batch
    converted to floats at a time."""
    device = next(model.parameters()).device
    out = [model.encode(rows_of(images, i, i + batch_size, device), _labels(model, labels, i, i + batch_size, device))[0].cpu()
           for i in range(0, len(images), batch_size)]
    return torch.cat(out).numpy() if out else np.zeros((0, model.config.latent_dim), np.float32)


@torch.inference_mode()
def evaluate(model: LatentModel, images: np.ndarray | torch.Tensor, labels: Any = None, batch_size: int = 1000,
             seed: int = 0) -> dict[str, float]:
    """Mean per-image negative ELBO (beta = 1, one z sample), reconstruction and KL, in nats.

    For a deterministic kind (ae, aae, pca) the reconstruction is measured at z = mean and the KL
    is 0, so ``neg_elbo`` is then only the reconstruction term. ``sq_error`` is the squared error of
    the reconstruction decoded from the mean, summed over pixels: a likelihood-free score for every kind.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    gen = torch.Generator(device="cpu").manual_seed(seed)
    cfg = model.config
    recon_sum = kl_sum = sq_sum = 0.0
    means, logvars = [], []
    for i in range(0, len(images), batch_size):
        x = rows_of(images, i, i + batch_size, device)  # uint8 (or on disk): one batch of floats at a time
        y = _labels(model, labels, i, i + batch_size, device)
        mean, logvar = model.encode(x, y)
        if logvar is not None:
            eps = torch.randn(mean.shape, generator=gen).to(device)
            z = mean + torch.exp(0.5 * logvar) * eps
            kl_sum += float(losses.kl_normal(mean, logvar).sum())
            logvars.append(logvar.cpu())
        else:
            z = mean
        recon_sum += float(losses.reconstruction(model.decode_logits(z, y), x, cfg.likelihood, cfg.gaussian_sigma).sum())
        sq_sum += float((model.decode(mean, y) - x).pow(2).sum())
        means.append(mean.cpu())
    model.train(was_training)
    n = max(len(images), 1)
    out = {"neg_elbo": (recon_sum + kl_sum) / n, "recon": recon_sum / n, "kl": kl_sum / n, "sq_error": sq_sum / n}
    if means:
        mu = torch.cat(means)
        # active units (Burda et al. 2016): dimensions whose posterior mean varies across data
        out["active_units"] = int((mu.var(dim=0) > 0.01).sum())
    return out


def knn_accuracy(
    ref_z: np.ndarray, ref_y: np.ndarray, query_z: np.ndarray, query_y: np.ndarray, k: int = 5,
    leave_one_out: bool = False, chunk: int = 2048,
) -> float:
    """Accuracy of a k-nearest-neighbour majority vote (Euclidean) from ref points to query points.

    With ``leave_one_out`` the query set is the reference set and each point's own vote is excluded.
    Ties go to the smallest label.
    """
    ref = torch.as_tensor(np.asarray(ref_z, np.float32))
    ry = torch.as_tensor(np.asarray(ref_y, np.int64))
    q = torch.as_tensor(np.asarray(query_z, np.float32))
    qy = np.asarray(query_y, np.int64)
    if len(q) == 0 or len(ref) <= (k if leave_one_out else k - 1):
        return float("nan")
    n_classes = int(max(ry.max(), qy.max())) + 1
    correct = 0
    for s in range(0, len(q), chunk):
        d = torch.cdist(q[s : s + chunk], ref)  # (B, R)
        if leave_one_out:
            d[torch.arange(d.shape[0]), torch.arange(s, s + d.shape[0])] = float("inf")
        idx = d.topk(k, largest=False).indices  # (B, k)
        votes = torch.zeros(d.shape[0], n_classes).scatter_add_(1, ry[idx], torch.ones(idx.shape))
        correct += int((votes.argmax(1).numpy() == qy[s : s + chunk]).sum())
    return correct / len(q)


def full_report(model: LatentModel, train_images: Any, train_labels: Any, test_images: Any,
                test_labels: Any) -> dict[str, float]:
    """Test ELBO terms plus 5-NN accuracy of the test means (train means as the reference)."""
    metrics = evaluate(model, test_images, test_labels)
    test_mu = encode_means(model, test_images, labels=test_labels)
    if train_images is not None and len(train_images):
        train_mu = encode_means(model, train_images, labels=train_labels)
        metrics["knn5_acc"] = knn_accuracy(train_mu, train_labels, test_mu, test_labels, k=5)
    metrics["knn5_loo_acc"] = knn_accuracy(test_mu, test_labels, test_mu, test_labels, k=5, leave_one_out=True)
    return metrics


def pca_knn5(train_images: Any, train_labels: Any, test_images: Any, test_labels: Any, basis_rows: int = 5000) -> float:
    """5-NN accuracy of a 2-D PCA of the images, the linear baseline for a 2-D plane: ``--model pca``'s codes
    (training/pca.py) fitted to the first ``basis_rows`` training images, measured as the model's is (test
    codes, every training image's code as the reference)."""
    from training.models import ModelConfig, build_model
    from training.pca import SVD_MAX_VALUES, fit_pca

    x, q = train_images, test_images  # arrays, tensors or LazyImages: only the basis rows are read at once
    if len(x) < 3 or len(q) == 0:
        return float("nan")
    basis = rows_of(x, 0, basis_rows)
    pca = build_model(ModelConfig(kind="pca", latent_dim=2, image_shape=tuple(int(s) for s in x.shape[1:])))
    fit_pca(pca, basis, "svd" if basis.numel() <= SVD_MAX_VALUES else "randomized")
    return knn_accuracy(encode_means(pca, x), train_labels, encode_means(pca, q), test_labels)


def verdict_report(model: LatentModel, train_images: Any, train_labels: Any, test_images: Any, test_labels: Any,
                   report: dict[str, float]) -> dict[str, Any]:
    """The verdict (training/verdict.py) from a ``full_report`` of the same data and the test means."""
    from training import verdict
    from training.kinds import kind_spec

    cfg = model.config
    means = encode_means(model, test_images, labels=test_labels)
    has_ref = train_images is not None and len(train_images) and "knn5_acc" in report
    pca = pca_knn5(train_images, train_labels, test_images, test_labels) if has_ref else None
    return verdict.judge(means=means, latent_dim=cfg.latent_dim, stochastic=kind_spec(cfg.kind).stochastic(cfg.beta),
                         active_units=int(report.get("active_units", 0)),
                         knn5_acc=report["knn5_acc"] if has_ref else report["knn5_loo_acc"],
                         split="test" if has_ref else "test, leave-one-out", pca_knn5_acc=pca)
