"""Loss terms against the formulas written out by hand (Kingma & Welling 2014, appendix B)."""

from __future__ import annotations

import math

import pytest
import torch

from training import losses


def test_bernoulli_is_binary_cross_entropy_summed_per_image():
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(4, 1, 5, 6, generator=g, dtype=torch.float64) * 3
    x = torch.rand(4, 1, 5, 6, generator=g, dtype=torch.float64)  # soft targets too, as in the Keras example
    x[0] = (x[0] > 0.5).double()
    p = 1 / (1 + torch.exp(-logits))
    expected = -(x * torch.log(p) + (1 - x) * torch.log(1 - p)).flatten(1).sum(1)
    got = losses.reconstruction(logits, x, "bernoulli")
    assert got.shape == (4,)
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-9)


def test_bernoulli_is_stable_for_extreme_logits():
    logits = torch.tensor([[[[100.0, -100.0]]]])
    x = torch.tensor([[[[1.0, 0.0]]]])
    assert float(losses.reconstruction(logits, x, "bernoulli")) == pytest.approx(0.0, abs=1e-6)
    wrong = losses.reconstruction(logits, 1 - x, "bernoulli")
    assert math.isfinite(float(wrong)) and float(wrong) == pytest.approx(200.0, rel=1e-4)


@pytest.mark.parametrize("sigma", [0.1, 1.0, 0.37])
def test_gaussian_is_the_gaussian_negative_log_likelihood(sigma):
    g = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 3, 4, 4, generator=g, dtype=torch.float64)
    x = torch.rand(3, 3, 4, 4, generator=g, dtype=torch.float64)
    mu = 1 / (1 + torch.exp(-logits))  # the decoder mean is sigmoid(logits), in [0, 1]
    per_pixel = (x - mu) ** 2 / (2 * sigma**2) + math.log(sigma) + 0.5 * math.log(2 * math.pi)
    expected = per_pixel.flatten(1).sum(1)
    torch.testing.assert_close(losses.reconstruction(logits, x, "gaussian", sigma), expected)
    # and the same number from torch.distributions
    ref = -torch.distributions.Normal(mu, sigma).log_prob(x).flatten(1).sum(1)
    torch.testing.assert_close(losses.reconstruction(logits, x, "gaussian", sigma), ref)


def test_unknown_likelihood_is_refused():
    with pytest.raises(ValueError, match="poisson"):
        losses.reconstruction(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 2), "poisson")


def test_kl_is_zero_for_the_prior():
    assert torch.equal(losses.kl_normal(torch.zeros(5, 2), torch.zeros(5, 2)), torch.zeros(5))


def test_kl_closed_form_matches_monte_carlo():
    g = torch.Generator().manual_seed(2)
    mean = torch.tensor([[0.5, -1.0], [2.0, 0.0], [0.0, 0.0]], dtype=torch.float64)
    logvar = torch.tensor([[0.0, -1.0], [0.7, 0.3], [-2.0, 1.0]], dtype=torch.float64)
    closed = losses.kl_normal(mean, logvar)
    assert closed.shape == (3,)
    n = 400_000
    std = torch.exp(0.5 * logvar)
    z = mean + std * torch.randn(n, *mean.shape, generator=g, dtype=torch.float64)  # (n, 3, 2)
    log_q = torch.distributions.Normal(mean, std).log_prob(z).sum(-1)
    log_p = torch.distributions.Normal(0.0, 1.0).log_prob(z).sum(-1)
    mc = (log_q - log_p).mean(0)
    torch.testing.assert_close(closed, mc, rtol=0, atol=0.02)
    assert bool((closed > 0).all())
    # and the analytic result from torch.distributions
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mean, std), torch.distributions.Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(closed, ref)


def test_model_loss_is_recon_plus_beta_kl_from_these_terms():
    from training.models import ModelConfig, build_model

    torch.manual_seed(0)
    model = build_model(ModelConfig(channels=(4,), hidden=(8,), beta=2.5, image_shape=(1, 8, 8)))
    x = torch.rand(6, 1, 8, 8)
    with torch.no_grad():
        torch.manual_seed(5)
        out = model(x)
        mean, logvar = model.encode(x)
        torch.manual_seed(5)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        recon = losses.reconstruction(model.decode_logits(z), x, "bernoulli")
        kl = losses.kl_normal(mean, logvar)
    torch.testing.assert_close(out["recon"], recon.mean())
    torch.testing.assert_close(out["kl"], kl.mean())
    torch.testing.assert_close(out["loss"], (recon + 2.5 * kl).mean())
