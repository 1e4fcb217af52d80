"""A conditional model (cvae) opens like any other: the session encodes the data with its true labels."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from explorer.core.session import SessionError, encode_means, open_session
from training.checkpoint import save
from training.data import load_dataset
from training.models import ModelConfig, build_model


@pytest.fixture
def cvae_file(tmp_path):
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="cvae", channels=(4, 8), hidden=(8,), num_classes=10)).eval()
    return model, save(model, tmp_path / "cvae.safetensors", dataset={"name": "synthetic"})


def test_session_encodes_a_cvae_with_the_true_labels(cvae_file):
    model, path = cvae_file
    s = open_session(path, dataset="synthetic", batch_size=256)
    ds = load_dataset("synthetic", "test")
    with torch.inference_mode():
        x = torch.from_numpy(ds.images)
        with_labels = model.encode(x, torch.from_numpy(ds.labels))[0].numpy()
        default_class = model.encode(x)[0].numpy()
    np.testing.assert_allclose(s.means, with_labels, atol=1e-5)
    assert not np.allclose(s.means, default_class, atol=1e-3)


def test_labels_outside_the_models_classes_are_one_sentence(cvae_file):
    model, _ = cvae_file
    images = load_dataset("synthetic", "test").images[:4]
    with pytest.raises(SessionError, match="do not fit this conditional model"):
        encode_means(model, images, labels=np.array([0, 1, 2, 12]))


def test_unconditional_models_ignore_labels():
    torch.manual_seed(0)
    model = build_model(ModelConfig(channels=(4, 8), hidden=(8,))).eval()
    images = load_dataset("synthetic", "test").images[:8]
    np.testing.assert_array_equal(encode_means(model, images), encode_means(model, images, labels=np.arange(8) + 50))
