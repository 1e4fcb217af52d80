"""Evaluation: k-NN accuracy on hand-made points, and the ELBO terms against a hand computation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from training import evaluate, losses
from training.models import ModelConfig, build_model

# six points on a line, two classes; the point at 2.5 sits closer to class 0 than to its own class
LINE_Z = np.array([[0.0, 0], [1, 0], [2.5, 0], [10, 0], [11, 0], [12.5, 0]], np.float32)
LINE_Y = np.array([0, 0, 1, 1, 1, 1])


def test_knn_on_hand_made_points():
    ref_z = np.array([[0, 0], [0, 1], [1, 0], [10, 10], [10, 11], [11, 10]], np.float32)
    ref_y = np.array([0, 0, 0, 1, 1, 1])
    query_z = np.array([[0.5, 0.5], [10.5, 10.5], [9, 9], [1, 1]], np.float32)
    assert evaluate.knn_accuracy(ref_z, ref_y, query_z, np.array([0, 1, 1, 0]), k=3) == 1.0
    assert evaluate.knn_accuracy(ref_z, ref_y, query_z, np.array([0, 1, 0, 0]), k=3) == 0.75
    assert evaluate.knn_accuracy(ref_z, ref_y, query_z, np.array([1, 0, 0, 1]), k=3) == 0.0


def test_leave_one_out_excludes_the_point_itself():
    # with itself in the vote every point is right at k=1; without it the point at 2.5 is wrong
    assert evaluate.knn_accuracy(LINE_Z, LINE_Y, LINE_Z, LINE_Y, k=1) == 1.0
    assert evaluate.knn_accuracy(LINE_Z, LINE_Y, LINE_Z, LINE_Y, k=1, leave_one_out=True) == pytest.approx(5 / 6)
    # chunks smaller than the set: the excluded diagonal must follow the chunk offset
    for chunk in (1, 2, 4, 5):
        assert evaluate.knn_accuracy(LINE_Z, LINE_Y, LINE_Z, LINE_Y, k=1, leave_one_out=True,
                                     chunk=chunk) == pytest.approx(5 / 6)


def test_ties_go_to_the_smallest_label():
    ref_z = np.array([[-1.0, 0], [1.0, 0.001]], np.float32)
    q = np.array([[0.0, 0]], np.float32)
    assert evaluate.knn_accuracy(ref_z, np.array([1, 0]), q, np.array([0]), k=2) == 1.0
    assert evaluate.knn_accuracy(ref_z, np.array([0, 1]), q, np.array([0]), k=2) == 1.0
    assert evaluate.knn_accuracy(ref_z, np.array([0, 1]), q, np.array([1]), k=2) == 0.0


def test_too_few_points_gives_nan():
    assert math.isnan(evaluate.knn_accuracy(LINE_Z[:3], LINE_Y[:3], LINE_Z, LINE_Y, k=5))
    assert math.isnan(evaluate.knn_accuracy(LINE_Z[:5], LINE_Y[:5], LINE_Z[:5], LINE_Y[:5], k=5, leave_one_out=True))
    assert math.isnan(evaluate.knn_accuracy(LINE_Z, LINE_Y, LINE_Z[:0], LINE_Y[:0], k=1))


@pytest.mark.parametrize("leave_one_out", [False, True])
def test_knn_matches_brute_force(leave_one_out):
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(300, 2)).astype(np.float32)
    ry = (ref[:, 0] > 0).astype(int) + 2 * (ref[:, 1] > 0.5) + (rng.random(300) < 0.2)
    if leave_one_out:
        q, qy = ref, ry
    else:
        q = rng.normal(size=(120, 2)).astype(np.float32)
        qy = (q[:, 0] > 0).astype(int) + 2 * (q[:, 1] > 0.5)
    k = 7
    correct = 0
    for i in range(len(q)):
        d = np.linalg.norm(ref - q[i], axis=1)
        if leave_one_out:
            d[i] = np.inf
        votes = np.bincount(ry[np.argsort(d)[:k]], minlength=4)
        correct += votes.argmax() == qy[i]
    expected = correct / len(q)
    assert 0.3 < expected < 1.0
    assert evaluate.knn_accuracy(ref, ry, q, qy, k=k, leave_one_out=leave_one_out, chunk=50) == pytest.approx(expected)


# ----------------------------------------------------------------------------- ELBO terms


def tiny(**kw):
    torch.manual_seed(0)
    return build_model(ModelConfig(channels=(4, 8), hidden=(8,), **kw))


@pytest.fixture(scope="module")
def images():
    return torch.rand(37, 1, 28, 28, generator=torch.Generator().manual_seed(3))


def test_neg_elbo_is_recon_plus_kl_and_matches_a_hand_computation(images):
    model = tiny()
    out = evaluate.evaluate(model, images, seed=5)
    assert out["neg_elbo"] == pytest.approx(out["recon"] + out["kl"], rel=1e-9)
    assert out["kl"] > 0 and out["recon"] > 0
    with torch.no_grad():
        mean, logvar = model.encode(images)
        eps = torch.randn(mean.shape, generator=torch.Generator().manual_seed(5))
        z = mean + torch.exp(0.5 * logvar) * eps
        recon = losses.reconstruction(model.decode_logits(z), images, "bernoulli").mean()
        kl = losses.kl_normal(mean, logvar).mean()
    assert out["recon"] == pytest.approx(float(recon), rel=1e-5)
    assert out["kl"] == pytest.approx(float(kl), rel=1e-5)
    assert out["active_units"] in (0, 1, 2)
    assert evaluate.evaluate(model, images, seed=5) == out  # seeded: the same number again


def test_beta_does_not_change_the_reported_elbo(images):
    a = evaluate.evaluate(tiny(beta=1.0), images)
    b = evaluate.evaluate(tiny(beta=7.0), images)  # same weights (same seed), different KL weight
    assert a == b


def test_autoencoder_elbo_is_the_reconstruction_at_the_mean(images):
    model = tiny(kind="ae")
    out = evaluate.evaluate(model, images, batch_size=10)
    assert out["kl"] == 0.0 and out["neg_elbo"] == out["recon"]
    with torch.no_grad():
        mean, _ = model.encode(images)
        recon = losses.reconstruction(model.decode_logits(mean), images, "bernoulli").mean()
    assert out["recon"] == pytest.approx(float(recon), rel=1e-5)
    assert evaluate.evaluate(model, images, batch_size=1000)["recon"] == pytest.approx(out["recon"], rel=1e-6)


def test_evaluate_restores_training_mode(images):
    model = tiny()
    model.train()
    evaluate.evaluate(model, images[:4])
    assert model.training
    model.eval()
    evaluate.evaluate(model, images[:4])
    assert not model.training


def test_active_units_counts_dimensions_that_vary(images):
    model = tiny()
    with torch.no_grad():
        model.mean.weight.zero_()
        model.mean.weight[0, :] = 5.0  # only dimension 0 depends on the input
        model.mean.bias.zero_()
    assert evaluate.evaluate(model, images)["active_units"] == 1
    mu = evaluate.encode_means(model, images)
    assert mu.shape == (37, 2) and mu.dtype == np.float32
    assert np.all(mu[:, 1] == 0) and mu[:, 0].var() > 0.01


def test_encode_means_in_batches_equals_one_pass(images):
    model = tiny().eval()
    with torch.no_grad():
        whole = model.encode(images)[0].numpy()
    np.testing.assert_allclose(evaluate.encode_means(model, images, batch_size=8), whole, rtol=1e-5, atol=1e-6)
    assert evaluate.encode_means(model, images[:0]).shape == (0, 2)


def test_full_report_has_elbo_and_knn(images):
    model = tiny()
    labels = np.arange(37) % 3
    report = evaluate.full_report(model, images, labels, images[:20], labels[:20])
    assert {"neg_elbo", "recon", "kl", "active_units", "knn5_acc", "knn5_loo_acc"} <= set(report)
    assert 0 <= report["knn5_acc"] <= 1 and 0 <= report["knn5_loo_acc"] <= 1
    assert "knn5_acc" not in evaluate.full_report(model, None, None, images[:20], labels[:20])
