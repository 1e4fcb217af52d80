"""folder:PATH is decoded once into the folder cache (training/datasets/folder_cache.py) and read from it after."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from training.data import load_dataset
from training.datasets import LazyImages, cache_dir, folder


@pytest.fixture
def pictures(tmp_path) -> Path:
    """grey/: 6 grey PNGs; colour/: 4 colour PNGs (grey first, so the cache turns colour midway)."""
    root = tmp_path / "pictures"
    rng = np.random.default_rng(0)
    for name, count in (("grey", 6), ("colour", 4)):
        (root / name).mkdir(parents=True)
        for i in range(count):
            shape = (30, 30) if name == "grey" else (30, 30, 3)
            Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8)).save(root / name / f"{i}.png")
    return root


def _entries() -> list[Path]:
    return sorted((cache_dir() / "folders").iterdir())


def _no_decoding(monkeypatch):
    def refuse(file, size):
        raise AssertionError(f"{file} was decoded again")

    monkeypatch.setattr(folder, "_read_picture", refuse)


def test_the_second_load_decodes_nothing(pictures, monkeypatch):
    first = load_dataset(f"folder:{pictures}", "all", uint8=True)
    assert first.images.shape == (10, 3, 28, 28) and first.label_names == ["colour", "grey"]
    grey_rows = first.images[first.labels == 1]
    assert np.array_equal(grey_rows[:, 0], grey_rows[:, 1]) and np.array_equal(grey_rows[:, 0], grey_rows[:, 2])
    [entry] = _entries()
    stamp = (entry / "x.npy").stat()

    _no_decoding(monkeypatch)
    for split in ("all", "train", "test"):
        again = load_dataset(f"folder:{pictures}", split, uint8=True)
        if split == "all":
            assert np.array_equal(again.images, first.images) and np.array_equal(again.labels, first.labels)
    assert _entries() == [entry] and (entry / "x.npy").stat().st_ino == stamp.st_ino
    floats = load_dataset(f"folder:{pictures}", "all")  # as it always was: float32 in [0, 1]
    assert floats.images.dtype == np.float32 and np.array_equal(floats.images * 255, first.images.astype(np.float32))


def test_a_changed_file_or_option_decodes_again(pictures, monkeypatch):
    before = load_dataset(f"folder:{pictures}", "all", uint8=True)
    Image.new("L", (30, 30), 7).save(pictures / "grey" / "2.png")  # same name, new content
    after = load_dataset(f"folder:{pictures}", "all", uint8=True)
    assert len(_entries()) == 2
    row = np.flatnonzero(after.labels == 1)[2]
    assert np.all(after.images[row] == 7) and not np.array_equal(before.images[row], after.images[row])
    grey = load_dataset(f"folder:{pictures}", "all", uint8=True, grayscale=True, image_size=16)
    assert grey.images.shape == (10, 1, 16, 16) and len(_entries()) == 3


def test_a_damaged_entry_is_decoded_again_and_no_temp_is_left(pictures):
    good = load_dataset(f"folder:{pictures}", "all", uint8=True)
    [entry] = _entries()
    with open(entry / "x.npy", "r+b") as f:
        f.truncate(1000)  # a stale, partial entry
    dead = cache_dir() / "folders" / f".{entry.name}.{2**22 + 17}.abcd0123.tmp"  # a killed writer's (no such pid)
    dead.mkdir()
    (dead / "x.npy").write_bytes(b"partial")

    again = load_dataset(f"folder:{pictures}", "all", uint8=True)
    assert np.array_equal(again.images, good.images)
    assert [p.name for p in (cache_dir() / "folders").iterdir()] == [entry.name]
    assert sorted(os.listdir(entry)) == ["meta.json", "x.npy", "y.npy"]


def test_a_large_folder_stays_on_disk(pictures, monkeypatch):
    small = load_dataset(f"folder:{pictures}", "train", uint8=True)
    monkeypatch.setattr(folder, "IN_MEMORY_BYTES", 0)
    large = load_dataset(f"folder:{pictures}", "train", uint8=True)
    assert isinstance(large.images, LazyImages) and np.array_equal(large.images[:], small.images)
    assert np.array_equal(large.labels, small.labels) and large.image_shape == (3, 28, 28)
