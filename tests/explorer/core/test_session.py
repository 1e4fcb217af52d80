"""session.py: open a real checkpoint, load its data, encode the means; every failure a SessionError."""

from __future__ import annotations

import hashlib
import pickle
import threading

import numpy as np
import pytest
import torch

from explorer.core.latent import NearestIndex
from explorer.core.session import (
    Cancelled,
    SessionError,
    encode_means,
    load_data_for,
    load_model,
    open_session,
)
from training.checkpoint import save
from training.data import SYNTHETIC_NAMES, load_dataset


class Progress:
    def __init__(self, on_encoding=None):
        self.calls: list[tuple[str, int, int]] = []
        self.on_encoding = on_encoding

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.calls.append((stage, done, total))
        if stage == "encoding" and self.on_encoding:
            self.on_encoding()


@pytest.fixture(scope="module")
def opened(tiny_checkpoint):
    progress = Progress()
    session = open_session(tiny_checkpoint, dataset="synthetic", progress=progress, batch_size=256)
    return session, progress


def test_open_session_encodes_the_dataset(opened, tiny_model):
    s, _ = opened
    expected = load_dataset("synthetic", "test")
    np.testing.assert_array_equal(s.images, expected.images)
    np.testing.assert_array_equal(s.labels, expected.labels)
    assert s.label_names == SYNTHETIC_NAMES and s.dataset_name == "synthetic"
    assert s.means.shape == (len(expected.labels), 2) and s.means.dtype == np.float32
    with torch.inference_mode():
        mu = tiny_model.encode(torch.from_numpy(expected.images))[0].numpy()
    np.testing.assert_allclose(s.means, mu, atol=1e-5, rtol=1e-5)
    assert isinstance(s.index, NearestIndex)
    np.testing.assert_array_equal(s.index.points, s.means)
    (i,) = s.index.nearest(s.means[17])
    np.testing.assert_array_equal(s.means[i], s.means[17])  # itself, or a point with the same mean
    assert s.image_shape == (1, 28, 28) and not s.colour
    assert not s.model.training


def test_sha256_is_of_the_file(opened, tiny_checkpoint):
    s, _ = opened
    assert s.sha256 == hashlib.sha256(tiny_checkpoint.read_bytes()).hexdigest()
    assert s.model_path == tiny_checkpoint


def test_info_rows(opened):
    s, _ = opened
    rows = dict(s.info())
    metrics = s.metadata["metrics"]
    assert rows["kind"] == "vae (conv)"
    assert rows["beta"] == "1"
    assert rows["test -ELBO"] == f"{metrics['test_neg_elbo']:.2f} nats"
    assert rows["epochs"] == f"1, {metrics['steps']} steps"  # the optimizer steps that epoch made
    assert rows["active units"] == f"{metrics['test_active_units']} of 2"
    assert rows["image"] == "28x28 grey"
    assert rows["trained on"] == "synthetic"
    assert rows["shown"] == f"synthetic ({len(s.labels):,} images)"
    assert rows["sha256"] == s.sha256  # in full, so it can be copied
    assert rows["file"] == s.model_path.name


def test_progress_stages_and_counts(opened):
    s, progress = opened
    stages = [stage for stage, _, _ in progress.calls]
    assert stages[:2] == ["loading model", "loading data"]
    assert set(stages[2:]) == {"encoding"}
    done = [d for stage, d, _ in progress.calls if stage == "encoding"]
    totals = {t for stage, _, t in progress.calls if stage == "encoding"}
    n = len(s.labels)
    assert totals == {n}
    assert done == [256, 512, n]  # batch_size=256, strictly increasing, ends at the total


def test_dataset_defaults_to_the_one_trained_on(tiny_checkpoint, opened):
    s = open_session(tiny_checkpoint)
    assert s.dataset_name == "synthetic" and len(s.labels) == len(opened[0].labels)
    np.testing.assert_allclose(s.means, opened[0].means, atol=1e-5)


def test_display_image_and_label_name(save_checkpoint):
    s = open_session(save_checkpoint(), dataset="synthetic")
    img = s.display_image(3)
    assert img.shape == (28, 28)
    np.testing.assert_array_equal(img, s.images[3, 0])
    assert s.label_name(3) == SYNTHETIC_NAMES[s.labels[3]]
    s.labels = s.labels.copy()
    s.labels[3] = 42  # a label without a name shows as its number
    assert s.label_name(3) == "42"
    assert dict(s.info())["test -ELBO"] == "- nats"  # no metrics: no crash


# ----------------------------------------------------------------------------- cancel


def test_cancel_before_encoding(save_checkpoint):
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        open_session(save_checkpoint(), dataset="synthetic", cancel=cancel)


def test_cancel_during_encoding(save_checkpoint):
    cancel = threading.Event()
    progress = Progress(on_encoding=cancel.set)
    with pytest.raises(Cancelled):
        open_session(save_checkpoint(), dataset="synthetic", progress=progress, cancel=cancel, batch_size=100)
    assert [c for c in progress.calls if c[0] == "encoding"] == [("encoding", 100, 600)]


# ----------------------------------------------------------------------------- bad files


def _truncated(tmp_path, good):
    data = good.read_bytes()
    path = tmp_path / "truncated.safetensors"
    path.write_bytes(data[: len(data) // 2])
    return path


def _pickle(tmp_path, good):
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps({"weights": [1.0, 2.0]}, protocol=4))
    return path


def _torch_save(tmp_path, good):
    path = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(3)}, path)
    return path


def _random(tmp_path, good):
    path = tmp_path / "noise.safetensors"
    path.write_bytes(np.random.default_rng(3).integers(1, 128, 5000, dtype=np.uint8).tobytes())
    return path


def _empty(tmp_path, good):
    path = tmp_path / "empty.safetensors"
    path.write_bytes(b"")
    return path


def _missing(tmp_path, good):
    return tmp_path / "does-not-exist.safetensors"


@pytest.mark.parametrize("make_bad", [_truncated, _pickle, _torch_save, _random, _empty, _missing])
def test_broken_checkpoint_is_a_session_error_naming_the_file(tmp_path, save_checkpoint, make_bad):
    path = make_bad(tmp_path, save_checkpoint("good.safetensors"))
    with pytest.raises(SessionError) as err:
        open_session(path, dataset="synthetic")
    message = str(err.value)
    assert str(path) in message
    assert "\n" not in message.strip()  # one sentence, not a traceback


def test_pickle_is_named_as_such(tmp_path, save_checkpoint):
    with pytest.raises(SessionError, match="pickle"):
        load_model(_pickle(tmp_path, None))


@pytest.mark.parametrize("d", [3, 8])
def test_a_d_dim_latent_opens_with_its_full_means(save_checkpoint, tmp_path, d):
    """Any latent dimension opens: the means are (N, D), equal to the encoder's, the nearest index is in D."""
    import torch

    from explorer.core.means_cache import MeansCache

    path = save_checkpoint(f"d{d}.safetensors", latent_dim=d)
    s = open_session(path, dataset="synthetic", cache=MeansCache(tmp_path / "cache"))
    assert s.means.shape == (len(s.labels), d) and s.index.dim == d
    with torch.inference_mode():
        mean, _ = s.model.encode(torch.from_numpy(s.images[:16].astype(np.float32) / 255 if s.images.dtype == np.uint8
                                                  else s.images[:16]))
    np.testing.assert_allclose(s.means[:16], mean.numpy(), atol=1e-5)
    again = open_session(path, dataset="synthetic", cache=MeansCache(tmp_path / "cache"))  # from the cache, (N, D)
    assert again.means_cached and np.array_equal(again.means, s.means)


def test_image_shape_mismatch_names_both_shapes(save_checkpoint):
    path = save_checkpoint("wide.safetensors", image_shape=(1, 28, 32))  # not square: no resize
    with pytest.raises(SessionError) as err:
        open_session(path, dataset="synthetic")
    message = str(err.value)
    assert "synthetic" in message and "(1, 28, 28)" in message and "(1, 28, 32)" in message


def test_square_size_mismatch_resizes_the_dataset(save_checkpoint):
    """A square model of another size sees the dataset resized to its size (load_data_for's choice)."""
    s = open_session(save_checkpoint("big.safetensors", image_shape=(1, 32, 32)), dataset="synthetic")
    assert s.images.shape == (600, 1, 32, 32) and s.means.shape == (600, 2)
    assert s.images.min() >= 0 and s.images.max() <= 1
    assert np.isfinite(s.means).all()


def test_colour_model_sees_the_grey_dataset_as_rgb(save_checkpoint):
    s = open_session(save_checkpoint("rgb.safetensors", image_shape=(3, 28, 28)), dataset="synthetic")
    assert s.colour and s.images.shape == (600, 3, 28, 28)
    np.testing.assert_array_equal(s.images[:, 0], s.images[:, 2])
    assert s.display_image(0).shape == (28, 28, 3)
    assert dict(s.info())["image"] == "28x28 colour"


def test_unknown_dataset_is_a_session_error(save_checkpoint):
    with pytest.raises(SessionError, match="no-such-set"):
        open_session(save_checkpoint(), dataset="no-such-set")


def test_load_data_for_uses_the_models_training_set(make_model):
    model = make_model()
    model.metadata = {"dataset": {"name": "synthetic"}}
    ds = load_data_for(model)
    assert ds.name == "synthetic" and ds.image_shape == (1, 28, 28) and len(ds) == 600


def test_non_finite_encodings_are_refused(tmp_path, make_model):
    """Finite but huge weights pass the loader; the session must still refuse inf means."""
    model = make_model()
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(1e30)
    path = save(model, tmp_path / "huge.safetensors", dataset={"name": "synthetic"})
    with pytest.raises(SessionError, match="non-finite"):
        open_session(path, dataset="synthetic")


# ----------------------------------------------------------------------------- encode helpers


def test_encode_means_batches_match_one_pass(make_model):
    model = make_model()
    x = np.random.default_rng(1).uniform(size=(23, 1, 28, 28)).astype(np.float32)
    seen = []
    means = encode_means(model, x, progress=lambda d, t: seen.append((d, t)), batch_size=10)
    assert seen == [(10, 23), (20, 23), (23, 23)]
    with torch.inference_mode():
        np.testing.assert_allclose(means, model.encode(torch.from_numpy(x))[0].numpy(), atol=1e-6)


def test_a_known_non_model_file_is_named_as_such(tmp_path):
    from PIL import Image

    path = tmp_path / "cat.safetensors"
    Image.new("RGB", (8, 8), "red").save(path, format="PNG")
    with pytest.raises(SessionError) as err:
        load_model(path)
    assert str(err.value) == f"{path}: is not a latent-explorer model (this is a PNG image)."


def test_an_unknown_broken_file_keeps_the_loaders_sentence(tmp_path, save_checkpoint):
    path = _truncated(tmp_path, save_checkpoint("good.safetensors"))
    with pytest.raises(SessionError) as err:
        load_model(path)
    assert "is not a latent-explorer model" not in str(err.value) and str(path) in str(err.value)


def test_a_nul_in_the_model_path_is_one_sentence():
    from explorer.core.light_open import open_light

    for open_ in (open_session, open_light):
        with pytest.raises(SessionError, match=r"^m\\0.safetensors: is not a usable file name \(it contains a NUL"):
            open_("m\0.safetensors", dataset="synthetic")
