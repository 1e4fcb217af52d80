"""LazyImages (uint8 images read from .npy files on demand) and the npy:DIR dataset source."""

from __future__ import annotations

import os
import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from training.data import DatasetError, load_dataset
from training.datasets import LazyImages, write_npy_dataset
from training.datasets.npy import NpyWriter


def _images(shape, seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def _one_sentence_about(path: Path, words: str):
    return pytest.raises(DatasetError, match=rf"^{re.escape(str(path))}[^\n]*{words}[^\n]*\.$")


@pytest.mark.parametrize("stored", [(50, 3, 6, 5), (50, 6, 5), (50, 6, 5, 3), (50, 1, 6, 5)])
def test_indexing_equals_numpy(tmp_path, stored):
    x = _images(stored)
    np.save(tmp_path / "x.npy", x)
    full = np.load(tmp_path / "x.npy")
    full = full[:, None] if full.ndim == 3 else full.transpose(0, 3, 1, 2) if stored[-1] == 3 else full
    lazy = LazyImages.open(tmp_path / "x.npy")

    assert lazy.shape == full.shape and lazy.dtype == np.uint8 and lazy.ndim == 4 and len(lazy) == 50
    assert np.array_equal(lazy[7], full[7]) and np.array_equal(lazy[-1], full[-1])
    for key in (slice(3, 40), slice(None), slice(5, 5), slice(None, None, 3), slice(None, None, -2), slice(45, 99)):
        assert np.array_equal(lazy[key], full[key])
    for index in ([5, 2, 2, 49, 0], np.arange(50)[::-1], np.array([], np.int64), [-1, -50]):
        assert np.array_equal(lazy[index], full[index])
    assert np.array_equal(lazy[np.arange(50) % 3 == 0], full[::3])
    assert np.array_equal(lazy[4, 0], full[4, 0]) and np.array_equal(lazy[2:9, :, 1], full[2:9, :, 1])
    assert np.array_equal(np.asarray(lazy), full)
    out = lazy[10:20]
    out[:] = 0  # a fresh copy: the file and the next read are untouched
    assert np.array_equal(lazy[10:20], full[10:20])
    with pytest.raises(IndexError):
        lazy[50]
    with pytest.raises(IndexError):
        lazy[[0, 50]]


def test_views_and_several_files(tmp_path):
    a, b = _images((30, 1, 4, 4), 1), _images((20, 1, 4, 4), 2)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    both, full = LazyImages.open(tmp_path / "a.npy", tmp_path / "b.npy"), np.concatenate([a, b])

    assert both.shape == (50, 1, 4, 4) and both.file_lengths == [30, 20]
    assert np.array_equal(both[25:35], full[25:35])  # a run crossing from one file into the next
    rng = np.random.default_rng(0)
    index = rng.permutation(50)[:17]
    assert np.array_equal(both[index], full[index])
    view = both.subset(np.arange(3, 50, 2))
    assert np.array_equal(view[:], full[3:50:2]) and np.array_equal(view.subset(slice(2, 6))[:], full[3:50:2][2:6])
    assert np.array_equal(both.head(12)[:], full[:12]) and both.head(0) is both
    again = pickle.loads(pickle.dumps(view))
    assert np.array_equal(again[:], view[:]) and again.identity() == view.identity()
    assert view.identity() != both.identity() != LazyImages.open(tmp_path / "a.npy").identity()
    np.save(tmp_path / "c.npy", _images((5, 3, 4, 4)))
    with pytest.raises(DatasetError, match=r"c\.npy holds images of \(3, 4, 4\), but .*a\.npy holds \(1, 4, 4\)\.$"):
        LazyImages.open(tmp_path / "a.npy", tmp_path / "c.npy")


def _header_len(path: Path) -> int:
    with open(path, "rb") as f:
        np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f)
        return f.tell()


@pytest.mark.parametrize("case", ["truncated", "trailing", "dtype", "fortran", "shape", "channels", "empty",
                                  "not npy", "missing", "folder", "pickled"])
def test_bad_files_are_one_sentence_naming_the_file(tmp_path, case):
    path = tmp_path / "x.npy"
    words = {"truncated": "is truncated: its header declares 10 images", "trailing": "has unexpected bytes after",
             "dtype": "holds float32 values; expected uint8", "fortran": "is stored in Fortran order",
             "shape": r"holds an array of shape \(10, 28\)", "channels": r"shape \(10, 2, 8, 8\)",
             "empty": "holds no images", "not npy": "is not a .npy file", "missing": "not found",
             "folder": "is a folder", "pickled": "holds object values"}[case]
    x = _images((10, 8, 8))
    if case in ("truncated", "trailing"):
        np.save(path, x)
        data = path.read_bytes()
        path.write_bytes(data[:-7] if case == "truncated" else data + b"\0" * 3)
    elif case == "dtype":
        np.save(path, x.astype(np.float32))
    elif case == "fortran":
        np.save(path, np.asfortranarray(x))
    elif case == "shape":
        np.save(path, _images((10, 28)))
    elif case == "channels":
        np.save(path, _images((10, 2, 8, 8)))
    elif case == "empty":
        np.save(path, _images((0, 8, 8)))
    elif case == "not npy":
        path.write_bytes(b"PK\x03\x04 a zip")
    elif case == "folder":
        path.mkdir()
    elif case == "pickled":
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    if case == "folder":
        with pytest.raises(DatasetError, match=rf"^cannot read {re.escape(str(path))}: is a folder\.$"):
            LazyImages.open(path)
        return
    with _one_sentence_about(path, words):
        LazyImages.open(path)


def test_a_file_changed_under_the_reader_is_one_sentence(tmp_path):
    x = _images((40, 1, 8, 8))
    np.save(tmp_path / "x.npy", x)
    lazy = LazyImages.open(tmp_path / "x.npy")
    assert np.array_equal(lazy[:5], x[:5])
    sentence = rf"^{re.escape(str(tmp_path / 'x.npy'))} changed or was truncated since it was opened; reopen it\.$"

    with open(tmp_path / "x.npy", "r+b") as f:  # truncated in place
        f.truncate(_header_len(tmp_path / "x.npy") + 10 * 64)
    with pytest.raises(DatasetError, match=sentence):
        lazy[30:35]
    with pytest.raises(DatasetError, match=sentence):
        lazy.check()

    np.save(tmp_path / "y.npy", x)
    other = LazyImages.open(tmp_path / "y.npy")
    other.check()
    os.replace(tmp_path / "x.npy", tmp_path / "y.npy")  # replaced under the same name
    with pytest.raises(DatasetError, match=r"y\.npy changed or was truncated since it was opened; reopen it\.$"):
        other.check()
    assert np.array_equal(other[:], x)  # the open file still reads what was opened, consistently


def test_npy_dataset_with_one_file_splits_as_npz(tmp_path):
    x, y = _images((200, 1, 8, 8)), np.arange(200) % 4
    write_npy_dataset(tmp_path / "set", x, y, ["a", "b", "c", "d"])
    np.savez(tmp_path / "set.npz", x=x, y=y)

    for split in ("train", "test", "all"):
        lazy = load_dataset(f"npy:{tmp_path / 'set'}", split)
        eager = load_dataset(f"npz:{tmp_path / 'set.npz'}", split, uint8=True)
        assert isinstance(lazy.images, LazyImages) and lazy.label_names == ["a", "b", "c", "d"]
        assert np.array_equal(lazy.images[:], eager.images) and np.array_equal(lazy.labels, eager.labels)
        assert lazy.name == f"npy:{tmp_path / 'set'}" and lazy.image_shape == (1, 8, 8)
    assert len(load_dataset(f"npy:{tmp_path / 'set'}", "test")) == 30


def test_npy_dataset_with_train_and_test_files(tmp_path):
    train_x, test_x = _images((30, 3, 5, 5), 1), _images((12, 3, 5, 5), 2)
    write_npy_dataset(tmp_path, train_x, np.arange(30) % 3, ["r", "g", "b"], prefix="train_")
    write_npy_dataset(tmp_path, test_x, np.arange(12) % 3, prefix="test_")

    train, test, every = (load_dataset(f"npy:{tmp_path}", split) for split in ("train", "test", "all"))
    assert np.array_equal(train.images[:], train_x) and np.array_equal(test.images[:], test_x)
    assert np.array_equal(every.images[:], np.concatenate([train_x, test_x]))
    assert np.array_equal(every.labels, np.r_[np.arange(30) % 3, np.arange(12) % 3])
    assert train.label_names == ["r", "g", "b"] and train.num_classes == 3
    same = load_dataset(f"npy:{tmp_path}", "test", image_size=5, grayscale=False)  # what the data is: fine
    assert same.image_shape == (3, 5, 5)
    with pytest.raises(DatasetError, match=r"resizing or changing colour is not supported for npy: data"):
        load_dataset(f"npy:{tmp_path}", "test", image_size=28)
    with pytest.raises(DatasetError, match=r"resizing or changing colour is not supported for npy: data"):
        load_dataset(f"npy:{tmp_path}", "test", grayscale=True)


def test_npy_dataset_without_labels_and_bad_folders(tmp_path):
    write_npy_dataset(tmp_path / "plain", _images((20, 4, 4)))
    plain = load_dataset(f"npy:{tmp_path / 'plain'}", "all")
    assert plain.image_shape == (1, 4, 4) and not plain.labels.any() and plain.label_names == ["0"]

    with pytest.raises(DatasetError, match=r"has no x\.npy"):
        load_dataset(f"npy:{tmp_path / 'plain' / '..'}", "all")
    with pytest.raises(DatasetError, match=r"does not exist\.$"):
        load_dataset(f"npy:{tmp_path / 'nowhere'}", "all")
    np.save(tmp_path / "plain" / "y.npy", np.arange(19))
    with pytest.raises(DatasetError, match=r"y\.npy has 19 labels but x has 20 images\.$"):
        load_dataset(f"npy:{tmp_path / 'plain'}", "all")
    np.save(tmp_path / "plain" / "y.npy", np.arange(20))
    (tmp_path / "plain" / "label_names.json").write_text('["a", "b"]')
    with pytest.raises(DatasetError, match=r"label_names\.json has 2 names but the labels have 20 classes\.$"):
        load_dataset(f"npy:{tmp_path / 'plain'}", "all")
    with pytest.raises(DatasetError, match=r"for a folder of \.npy files use npy:"):
        load_dataset(str(tmp_path / "plain" / "x.npy"))


def test_writes_are_atomic(tmp_path):
    x = _images((10, 1, 4, 4))
    write_npy_dataset(tmp_path, x, np.zeros(10))
    assert sorted(os.listdir(tmp_path)) == ["x.npy", "y.npy"]
    assert np.array_equal(np.load(tmp_path / "x.npy"), x)  # numpy reads what NpyWriter wrote

    def batches():
        yield x[:5]
        raise RuntimeError("the source failed half-way")

    with pytest.raises(RuntimeError):
        write_npy_dataset(tmp_path / "new", batches())
    assert not any((tmp_path / "new").iterdir())  # no x.npy, no temp file
    with pytest.raises(ValueError, match=r"does not fit images of \(1, 4, 4\)"):
        _write_in_pieces(tmp_path / "w.npy", [x[:3], x[:2, :, :2]])  # the second has the wrong shape
    assert sorted(os.listdir(tmp_path)) == ["new", "x.npy", "y.npy"]


def _write_in_pieces(path: Path, pieces: list[np.ndarray]) -> None:
    with NpyWriter(path, pieces[0].shape[1:]) as writer:
        for piece in pieces:
            writer.append(piece)
