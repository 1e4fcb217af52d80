"""The means cache (explorer/core/means_cache.py) as open_session uses it, and uint8 images in the session.

Models are real checkpoints (save_checkpoint); the encoder calls are counted through a wrapper
around the real loaded model, so "not encoded again" means the model's encode was never called."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch

import training.checkpoint
from explorer.core.means_cache import MAX_FILES, MeansCache, cache_folder
from explorer.core.session import CHECK_IMAGES, open_session
from training.data import load_dataset

N = 60


def _open(model, data, cache, progress=None):
    return open_session(model, dataset=f"npz:{data}", split="all", cache=cache, progress=progress)


def _direct_means(model_path, data):
    model = training.checkpoint.load(model_path)
    images = load_dataset(f"npz:{data}", "all").images
    with torch.inference_mode():
        return model.encode(torch.from_numpy(images))[0].numpy()


def test_second_open_takes_the_means_from_the_cache(tmp_path, save_checkpoint, npz_data, encodes):
    model, cache = save_checkpoint(), MeansCache(tmp_path / "means")
    first = _open(model, npz_data, cache)
    assert sum(encodes) == N and not first.means_cached
    assert cache.writes == 1 and len(list(cache.folder.glob("*.npy"))) == 1
    encodes.clear()
    stages = []
    second = _open(model, npz_data, cache, progress=lambda stage, done, total: stages.append(stage))
    assert encodes == [CHECK_IMAGES] and "encoding" not in stages  # only the few images of the check
    assert second.means_cached and cache.hits == 1 and cache.writes == 1
    np.testing.assert_array_equal(second.means, first.means)
    np.testing.assert_allclose(second.means, _direct_means(model, npz_data), atol=1e-5)
    np.testing.assert_array_equal(second.index.points, second.means)


def test_default_cache_folder_is_under_latent_explorer_cache(tmp_path, monkeypatch, save_checkpoint, npz_data,
                                                             encodes):
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path / "mine"))
    assert cache_folder() == tmp_path / "mine" / "means"
    model = save_checkpoint()
    open_session(model, dataset=f"npz:{npz_data}", split="all")
    assert len(list((tmp_path / "mine" / "means").glob("*.npy"))) == 1
    encodes.clear()
    assert open_session(model, dataset=f"npz:{npz_data}", split="all").means_cached and encodes == [CHECK_IMAGES]


def test_a_changed_model_file_is_encoded_again(tmp_path, save_checkpoint, npz_data, encodes):
    cache = MeansCache(tmp_path / "means")
    model = save_checkpoint(seed=0)
    before = _open(model, npz_data, cache).means
    model = save_checkpoint(seed=1)  # same path, new weights
    encodes.clear()
    after = _open(model, npz_data, cache)
    assert sum(encodes) == N and not after.means_cached
    assert not np.allclose(after.means, before)
    np.testing.assert_allclose(after.means, _direct_means(model, npz_data), atol=1e-5)
    assert cache.writes == 2 and len(list(cache.folder.glob("*.npy"))) == 2


def test_changed_data_or_split_is_encoded_again(tmp_path, save_checkpoint, npz_data, encodes):
    cache, model = MeansCache(tmp_path / "means"), save_checkpoint()
    _open(model, npz_data, cache)
    x = np.load(npz_data)["x"]
    x[0] = 255 - x[0]  # one image changed, same file name
    np.savez(npz_data, x=x, y=np.arange(N) % 3)
    encodes.clear()
    assert not _open(model, npz_data, cache).means_cached and sum(encodes) == N
    encodes.clear()
    test = open_session(model, dataset=f"npz:{npz_data}", split="test", cache=cache)
    assert not test.means_cached and sum(encodes) == len(test.labels) < N


def _garbage(path, n):
    path.write_bytes(b"\x93NUMPY this is not a header" * 10)


def _truncated(path, n):
    path.write_bytes(path.read_bytes()[:100])


def _pickled(path, n):
    path.write_bytes(pickle.dumps(np.zeros((n, 2), np.float32)))


def _object_array(path, n):
    np.save(path, np.array([{"a": 1}] * n, dtype=object), allow_pickle=True)


def _wrong_shape(path, n):
    np.save(path, np.zeros((n + 1, 2), np.float32))


def _wrong_dtype(path, n):
    np.save(path, np.zeros((n, 2), np.float64))


def _not_finite(path, n):
    means = np.zeros((n, 2), np.float32)
    means[3, 1] = np.nan
    np.save(path, means)


def _too_large(path, n):
    np.save(path, np.zeros((n * 100, 2), np.float32))


def _huge(path, n):  # finite, the right shape and dtype: garbage all the same
    np.save(path, np.full((n, 2), 1e30, np.float32))


def _zeros(path, n):  # in range: only a fresh encode of a few images shows they are not this model's means
    np.save(path, np.zeros((n, 2), np.float32))


def _a_folder(path, n):
    path.unlink()
    path.mkdir()


@pytest.mark.parametrize("spoil", [_garbage, _truncated, _pickled, _object_array, _wrong_shape, _wrong_dtype,
                                   _not_finite, _too_large, _huge, _zeros])
def test_a_corrupt_cache_file_is_ignored_and_rewritten(tmp_path, save_checkpoint, npz_data, encodes, spoil):
    cache, model = MeansCache(tmp_path / "means"), save_checkpoint()
    good = _open(model, npz_data, cache).means
    (path,) = cache.folder.glob("*.npy")
    spoil(path, N)
    encodes.clear()
    again = _open(model, npz_data, cache)  # no error for the user
    assert not again.means_cached and N in encodes and sum(encodes) <= N + CHECK_IMAGES
    np.testing.assert_array_equal(again.means, good)
    assert cache.writes == 2
    np.testing.assert_array_equal(np.load(path, allow_pickle=False), good)  # rewritten, valid again
    encodes.clear()
    assert _open(model, npz_data, cache).means_cached and encodes == [CHECK_IMAGES]  # only the check


def test_an_unusable_cache_folder_is_no_error(tmp_path, save_checkpoint, npz_data, encodes):
    blocker = tmp_path / "means"
    blocker.write_text("a file where the cache folder should be")
    cache, model = MeansCache(blocker), save_checkpoint()
    for _ in range(2):
        s = _open(model, npz_data, cache)
        assert not s.means_cached and s.means.shape == (N, 2)
    assert sum(encodes) == 2 * N and cache.writes == 0


def test_a_directory_in_place_of_the_file_is_ignored(tmp_path, save_checkpoint, npz_data, encodes):
    cache, model = MeansCache(tmp_path / "means"), save_checkpoint()
    _open(model, npz_data, cache)
    (path,) = cache.folder.glob("*.npy")
    _a_folder(path, N)
    s = _open(model, npz_data, cache)
    assert not s.means_cached and s.means.shape == (N, 2) and cache.writes == 1


def test_old_files_are_pruned(tmp_path):
    assert MAX_FILES > 101  # a file with 100 training snapshots (and its final weights) fits
    cache = MeansCache(tmp_path / "means", max_files=8)
    for i in range(8 + 3):
        assert cache.store(f"{i:064x}", np.full((4, 2), i, np.float32))
    kept = sorted(p.stem for p in cache.folder.glob("*.npy"))
    assert len(kept) == 8
    np.testing.assert_array_equal(cache.load(f"{8 + 2:064x}", 4), np.full((4, 2), 8 + 2))


def test_the_cache_keeps_to_its_size_in_bytes(tmp_path):
    one = MeansCache(tmp_path / "probe")
    one.store("0" * 64, np.zeros((1000, 2), np.float32))
    size = next(one.folder.glob("*.npy")).stat().st_size
    cache = MeansCache(tmp_path / "means", max_bytes=3 * size)
    for i in range(6):
        assert cache.store(f"{i:064x}", np.full((1000, 2), i, np.float32))
    assert len(list(cache.folder.glob("*.npy"))) == 3
    assert cache.load(f"{5:064x}", 1000) is not None  # the newest stay


# ----------------------------------------------------------------------------- uint8 images


def test_session_keeps_8_bit_images_as_uint8(tmp_path, save_checkpoint, npz_data):
    s = _open(save_checkpoint(), npz_data, MeansCache(tmp_path / "means"))
    assert s.images.dtype == np.uint8 and s.images.shape == (N, 1, 28, 28)
    np.testing.assert_array_equal(s.images[:, 0], np.load(npz_data)["x"])
    floats = load_dataset(f"npz:{npz_data}", "all").images  # what a model is trained on
    assert floats.dtype == np.float32
    for i in (0, 7, N - 1):
        shown = s.display_image(i)
        assert shown.dtype == np.float32 and shown.shape == (28, 28)
        np.testing.assert_array_equal(shown, floats[i, 0])


def test_colour_model_keeps_uint8_and_displays_rgb(tmp_path, save_checkpoint, npz_data):
    s = _open(save_checkpoint(image_shape=(3, 28, 28)), npz_data, MeansCache(tmp_path / "means"))
    assert s.images.dtype == np.uint8 and s.images.shape == (N, 3, 28, 28)
    floats = load_dataset(f"npz:{npz_data}", "all", grayscale=False).images
    np.testing.assert_array_equal(s.display_image(4), floats[4].transpose(1, 2, 0))


def test_resized_images_are_float(tmp_path, save_checkpoint, npz_data):
    s = _open(save_checkpoint(image_shape=(1, 32, 32)), npz_data, MeansCache(tmp_path / "means"))
    assert s.images.dtype == np.float32 and s.images.shape == (N, 1, 32, 32)
    assert s.display_image(0).min() >= 0 and s.display_image(0).max() <= 1


def test_bundled_means_are_read_after_the_users_and_never_written(tmp_path):
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    key = "ab" * 32
    np.save(bundled / f"{key}.npy", np.full((5, 2), 7, np.float32))
    cache = MeansCache(tmp_path / "mine", bundled=bundled)
    np.testing.assert_array_equal(cache.load(key, 5), np.full((5, 2), 7))
    assert cache.hits == 1 and not (tmp_path / "mine").exists()
    assert cache.load(key, 6) is None  # another count of images: not these means
    cache.store(key, np.full((5, 2), 1, np.float32))  # the user's own file wins from then on
    np.testing.assert_array_equal(cache.load(key, 5), np.full((5, 2), 1))
    np.testing.assert_array_equal(np.load(bundled / f"{key}.npy"), np.full((5, 2), 7))
    (bundled / f"{key}.npy").write_bytes(b"not numpy")
    assert MeansCache(tmp_path / "other", bundled=bundled).load(key, 5) is None


def test_images_on_disk_are_keyed_by_their_file_not_read(tmp_path, save_checkpoint, encodes):
    """npy: data (a LazyImages): the key is the file's fingerprint; a rewritten file is encoded again."""
    from training.datasets import LazyImages, write_npy_dataset

    rng = np.random.default_rng(7)
    x = rng.integers(0, 256, (N, 1, 28, 28), dtype=np.uint8)
    write_npy_dataset(tmp_path / "set", x, np.arange(N) % 3)
    cache, model = MeansCache(tmp_path / "means"), save_checkpoint()
    first = open_session(model, dataset=f"npy:{tmp_path / 'set'}", split="all", cache=cache)
    assert isinstance(first.images, LazyImages) and sum(encodes) == N
    eager = open_session(model, dataset=f"npz:{_as_npz(tmp_path, x)}", split="all", cache=cache)
    np.testing.assert_allclose(first.means, eager.means, atol=1e-6)
    assert np.array_equal(first.display_image(5), eager.display_image(5))

    encodes.clear()
    assert open_session(model, dataset=f"npy:{tmp_path / 'set'}", split="all", cache=cache).means_cached
    assert encodes == [CHECK_IMAGES]
    x[0] = 255 - x[0]
    write_npy_dataset(tmp_path / "set", x, np.arange(N) % 3)  # a new file: another mtime (and inode)
    encodes.clear()
    again = open_session(model, dataset=f"npy:{tmp_path / 'set'}", split="all", cache=cache)
    assert not again.means_cached and sum(encodes) == N


def _as_npz(folder, x):
    np.savez(folder / "same.npz", x=x, y=np.arange(N) % 3)
    return folder / "same.npz"


def test_images_changed_under_the_session_are_one_sentence(tmp_path, save_checkpoint):
    from training.data import DatasetError
    from training.datasets import write_npy_dataset

    x = np.random.default_rng(8).integers(0, 256, (N, 1, 28, 28), dtype=np.uint8)
    write_npy_dataset(tmp_path / "set", x)
    session = open_session(save_checkpoint(), dataset=f"npy:{tmp_path / 'set'}", split="all",
                           cache=MeansCache(tmp_path / "means"))
    with open(tmp_path / "set" / "x.npy", "r+b") as f:
        f.truncate(1000)
    with pytest.raises(DatasetError, match=r"x\.npy changed or was truncated since it was opened; reopen it\.$"):
        session.display_image(N - 1)
