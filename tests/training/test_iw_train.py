"""``latent-train --iw-train K``: importance-weighted training (IWAE, Burda et al. 2016), the loss being the
K-sample bound on -log p(x) instead of the ELBO, on the one-thread path and the data-parallel worker threads."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.distributions import Normal

from training import checkpoint
from training.cli import main
from training.models import ModelConfig, build_model
from training.parallel import ThreadedStep
from training.train import TrainConfig, _train_step, fit


def _model(**kw) -> torch.nn.Module:
    torch.manual_seed(0)
    cfg = {"kind": "vae", "arch": "mlp", "latent_dim": 2, "image_shape": (1, 8, 8), "hidden": (16,), **kw}
    model = build_model(ModelConfig(**cfg))
    model.train()
    return model


def _batch(n: int = 6, k: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return torch.rand(n, 1, 8, 8, generator=gen), torch.randn(n, k, 2, generator=gen)


def _log_w(model, x, eps) -> torch.Tensor:
    """log p(x|z) + log p(z) - log q(z|x) of every sample, image by image, with torch.distributions."""
    mean, logvar = model.encode(x)
    rows = []
    for i in range(len(x)):
        q = Normal(mean[i], torch.exp(0.5 * logvar[i]))
        z = mean[i] + q.scale * eps[i]  # (k, D)
        logits, xi = model.decode_logits(z), x[i].expand(len(z), *x.shape[1:])
        log_px = xi * F.logsigmoid(logits) + (1 - xi) * F.logsigmoid(-logits)  # Bernoulli on [0, 1] pixels
        rows.append(log_px.flatten(1).sum(1)
                    + Normal(0.0, 1.0).log_prob(z).sum(1) - q.log_prob(z).sum(1))
    return torch.stack(rows).detach()  # (N, k)


def test_the_loss_is_the_k_sample_bound():
    model, (x, eps) = _model(), _batch()
    model.iw_samples = eps.shape[1]
    out = model(x, eps=eps)
    log_w = _log_w(model, x, eps)
    want = -(torch.logsumexp(log_w, 1) - math.log(eps.shape[1])).mean()
    assert float(out["loss"].detach()) == pytest.approx(float(want), rel=1e-5)
    # Jensen, sample by sample: the bound is never looser than the mean one-sample loss of the same z
    assert float(out["loss"].detach()) <= float(-log_w.mean()) + 1e-4
    assert float(out["kl"].detach()) > 0 and float(out["recon"].detach()) > 0


def test_k_copies_of_one_sample_give_that_samples_bound():
    # logsumexp - log k of k equal log w is that log w: the normalisation by k is right
    model, (x, eps) = _model(), _batch(k=1)
    model.iw_samples = 3
    out = model(x, eps=eps.expand(-1, 3, -1))
    assert float(out["loss"].detach()) == pytest.approx(float(-_log_w(model, x, eps).mean()), rel=1e-5)


def test_fit_trains_on_the_bound_and_leaves_the_model_on_its_elbo():
    model, (x, _) = _model(), _batch(n=64)
    seen = []
    model.register_forward_hook(lambda m, args, out: seen.append(m.iw_samples))
    fit(model, x, TrainConfig(steps=3, batch_size=32, iw_samples=4, threads=1, workers=1), progress=False)
    assert seen[:3] == [4, 4, 4] and model.iw_samples == 1


@pytest.mark.parametrize("workers", [1, 2])
def test_a_step_follows_the_bound_on_both_paths(workers):
    model, (x, eps) = _model(), _batch(n=32)
    model.iw_samples = eps.shape[1]
    ref = _model()
    ref.iw_samples = eps.shape[1]
    ref(x, eps=eps)["loss"].backward()
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    step = ThreadedStep(model, workers) if workers > 1 else None
    try:
        before = [p.detach().clone() for p in model.parameters()]
        _train_step(model, opt, step, (x, None, eps, None), "test")
    finally:
        if step is not None:
            step.close()
    for p, b, r in zip(model.parameters(), before, ref.parameters(), strict=True):
        assert torch.allclose(b - p.detach(), r.grad, atol=1e-5)  # SGD lr 1: the step is the gradient


def test_training_with_it_is_recorded_and_shown_by_info(tmp_path, capsys):
    out = tmp_path / "iw.safetensors"
    assert main(["--dataset", "synthetic", "--arch", "mlp", "--hidden", "8", "--steps", "20", "--threads", "1",
                 "--workers", "2", "--quiet", "--iw-train", "5", "--out", str(out)]) == 0, capsys.readouterr().err
    meta = checkpoint.read_metadata(out)
    assert meta["train"]["iw_samples"] == 5
    assert math.isfinite(meta["metrics"]["test_neg_elbo"])
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    assert "importance-weighted training, k = 5" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "sentence"), [
    (["--iw-train", "0"], "--iw-train is a number of samples in 1..100, not 0"),
    (["--iw-train", "101"], "--iw-train is a number of samples in 1..100, not 101"),
    (["--iw-train", "4", "--model", "ae"], "--iw-train needs a model with a posterior variance (vae or cvae with "
                                           "beta > 0), not ae with beta 1"),
    (["--iw-train", "4", "--beta", "0"], "--iw-train needs a model with a posterior variance (vae or cvae with "
                                         "beta > 0), not vae with beta 0"),
])
def test_a_bad_value_is_one_sentence(args, sentence, capsys, tmp_path):
    out = tmp_path / "m.safetensors"
    assert main(["--dataset", "synthetic", "--limit", "64", "--epochs", "1", *args, "--out", str(out)]) != 0
    assert capsys.readouterr().err.strip().splitlines() == [f"latent-train: error: {sentence}"]
    assert not out.exists()
