"""Tests for training.data (and its downloader, training.download).

Real files only: IDX, npz, PNG and JPEG files written to tmp_path, Debian's Fashion-MNIST
when installed, the bundled mnist-5k, and a real HTTP server on 127.0.0.1 for downloads.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import math
import os
import re
import socket
import struct
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from training import data
from training.data import Dataset, DatasetError, cache_dir, fetch, load_dataset, read_idx, to_unit_float
from training.datasets import idx as data_idx

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture(autouse=True)
def _private_cache(isolated_cache):
    """Every test gets a private cache and no mirror / proxy settings (see conftest)."""
    return isolated_cache


@pytest.fixture
def no_system_dirs(tmp_path, monkeypatch):
    """Pretend /usr/share/datasets is empty."""
    monkeypatch.setattr(data_idx, "SYSTEM_DIRS", [tmp_path / "system"])


def idx_bytes(array, type_code: int = 0x08) -> bytes:
    array = np.ascontiguousarray(array, dtype=np.uint8)
    return bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()


def gz(raw: bytes) -> bytes:
    return gzip.compress(raw, mtime=0)


def sha256(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()


def raises_about(path: Path, problem: str):
    """pytest.raises for a DatasetError whose message names ``path`` and then the problem."""
    return pytest.raises(DatasetError, match=re.escape(str(path)) + ".*" + problem)


# --- MNIST / Fashion-MNIST ----------------------------------------------------------------


@pytest.mark.skipif(not (FASHION_DIR / TEST_FILES[0]).is_file(),
                    reason="Debian's dataset-fashion-mnist is not installed in /usr/share/datasets")
def test_fashion_mnist_test_split_from_the_system_folder():
    dataset = load_dataset("fashion-mnist", "test", download=False)

    assert isinstance(dataset, Dataset) and len(dataset) == 10_000
    assert dataset.images.shape == (10_000, 1, 28, 28) and dataset.image_shape == (1, 28, 28)
    assert dataset.images.dtype == np.float32 and dataset.images.flags.c_contiguous
    assert dataset.images.min() == 0.0 and dataset.images.max() == 1.0
    assert dataset.labels.dtype == np.int64
    assert np.array_equal(np.bincount(dataset.labels), [1000] * 10)
    assert dataset.num_classes == 10
    assert dataset.label_names[0] == "T-shirt/top" and dataset.label_names[9] == "Ankle boot"
    assert dataset.source == str(FASHION_DIR)


def test_data_dir_takes_precedence(tmp_path, make_idx_files):
    make_idx_files(tmp_path / "mine", n_test=3)

    dataset = load_dataset("fashion-mnist", "test", data_dir=tmp_path / "mine", download=False)

    assert len(dataset) == 3 and dataset.source == str(tmp_path / "mine")


def test_data_dir_subfolder_named_after_the_dataset(tmp_path, make_idx_files, no_system_dirs):
    make_idx_files(tmp_path / "datasets" / "mnist", n_test=2)

    dataset = load_dataset("mnist", "test", data_dir=str(tmp_path / "datasets"), download=False)

    assert len(dataset) == 2 and dataset.label_names == [str(d) for d in range(10)]


def test_cache_env_var_is_searched_before_the_system_folder(isolated_cache, make_idx_files):
    make_idx_files(isolated_cache / "fashion-mnist", n_test=5)

    dataset = load_dataset("fashion-mnist", "test", download=False)

    assert len(dataset) == 5 and dataset.source == str(isolated_cache / "fashion-mnist")


def test_cache_dir_resolution(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_CACHE", str(tmp_path / "explicit"))
    assert cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("LATENT_EXPLORER_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "xdg" / "latent-explorer"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "latent-explorer"


def test_all_is_train_then_test_with_exact_pixel_values(tmp_path, make_idx_files):
    files = make_idx_files(tmp_path, n_train=6, n_test=4)

    train, test, every = (load_dataset("mnist", split, data_dir=tmp_path) for split in ("train", "test", "all"))

    raw_train = np.frombuffer(gzip.decompress(files["train-images-idx3-ubyte.gz"])[16:], np.uint8)
    assert np.array_equal(train.images.ravel(), raw_train.astype(np.float32) / 255)
    assert (len(train), len(test), len(every)) == (6, 4, 10)
    assert np.array_equal(every.images, np.concatenate([train.images, test.images]))
    assert np.array_equal(every.labels, np.concatenate([train.labels, test.labels]))
    assert every.split == "all" and every.name == "mnist"


def test_uncompressed_idx_files_are_accepted(tmp_path, make_idx_files):
    for name, body in make_idx_files().items():
        (tmp_path / name.removesuffix(".gz")).write_bytes(gzip.decompress(body))

    assert len(load_dataset("mnist", "test", data_dir=tmp_path, download=False)) == 4


def test_image_size_and_channels_for_idx(tmp_path, make_idx_files):
    make_idx_files(tmp_path)

    dataset = load_dataset("mnist", "test", data_dir=tmp_path, image_size=32, grayscale=False)

    assert dataset.images.shape == (4, 3, 32, 32) and dataset.images.flags.c_contiguous
    assert dataset.images.min() >= 0 and dataset.images.max() <= 1
    assert np.array_equal(dataset.images[:, 0], dataset.images[:, 2])


def test_not_found_and_download_disabled_lists_where_it_looked(tmp_path, isolated_cache, no_system_dirs):
    with pytest.raises(DatasetError) as info:
        load_dataset("mnist", "test", data_dir=tmp_path / "elsewhere", download=False)

    message = str(info.value)
    assert message.startswith("mnist test files (t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz) not found in")
    for folder in (tmp_path / "elsewhere", isolated_cache / "mnist", tmp_path / "system" / "mnist"):
        assert str(folder) in message
    assert message.endswith("; pass --data-dir or allow download.")


def _good_test_files(folder: Path, n: int = 4) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    images, labels = folder / TEST_FILES[0], folder / TEST_FILES[1]
    images.write_bytes(gz(idx_bytes(np.zeros((n, 28, 28)))))
    labels.write_bytes(gz(idx_bytes(np.arange(n))))
    return images, labels


VALID_IDX = idx_bytes(np.zeros((4, 28, 28)))
BAD_IMAGE_FILES = {
    "bad magic": (gz(b"\x08\x03" + VALID_IDX[2:]), r"is not an IDX file \(bad magic number 0x08030803\)"),
    "short header": (gz(b"\x00\x00\x08\x03\x00"), r"is not an IDX file \(its header is 5 bytes"),
    "wrong type": (gz(bytes([0, 0, 0x0D]) + VALID_IDX[3:]), r"holds IDX type 0x0d; only unsigned bytes"),
    "truncated idx": (gz(VALID_IDX[:-100]), r"is truncated: its header promises 4 items of shape \(28, 28\) "
                                            r"\(3136 bytes\) but only 3036 bytes follow"),
    "extra bytes": (gz(VALID_IDX + b"xyz"), r"has 3 unexpected bytes after the data"),
    "truncated gz": (gz(VALID_IDX)[:30], r"is a truncated or corrupt gzip file"),
    "corrupt gz": (gz(VALID_IDX)[:20] + b"\xff" * 8 + gz(VALID_IDX)[28:], r"is a truncated or corrupt gzip file"),
    "not images": (gz(idx_bytes(np.zeros(4))), r"holds data of shape \(4,\); expected images \(N, H, W\)"),
}


@pytest.mark.parametrize("case", BAD_IMAGE_FILES)
def test_malformed_idx_images_file(tmp_path, case):
    images, _ = _good_test_files(tmp_path)
    body, problem = BAD_IMAGE_FILES[case]
    images.write_bytes(body)

    with raises_about(images, problem):
        load_dataset("mnist", "test", data_dir=tmp_path, download=False)


def test_idx_image_and_label_counts_must_match(tmp_path):
    images, labels = _good_test_files(tmp_path)
    labels.write_bytes(gz(idx_bytes(np.arange(3))))

    with raises_about(images, f"has 4 images but {re.escape(str(labels))} has 3 labels"):
        load_dataset("mnist", "test", data_dir=tmp_path)


def test_idx_labels_must_be_in_range(tmp_path):
    _, labels = _good_test_files(tmp_path)
    labels.write_bytes(gz(idx_bytes([0, 1, 12, 3])))

    with raises_about(labels, r"has label 12, outside 0\.\.9"):
        load_dataset("mnist", "test", data_dir=tmp_path)


def test_idx_labels_must_be_one_dimensional(tmp_path):
    _, labels = _good_test_files(tmp_path)
    labels.write_bytes(gz(idx_bytes(np.zeros((4, 2)))))

    with raises_about(labels, r"expected labels \(N,\)"):
        load_dataset("mnist", "test", data_dir=tmp_path)


IDX_HEADERS = st.builds(
    lambda dims, rest: bytes([0, 0, 8, len(dims)]) + struct.pack(f">{len(dims)}I", *dims) + rest,
    st.lists(st.integers(0, 12), min_size=1, max_size=3), st.binary(max_size=300))
IDX_LIKE = st.one_of(
    st.binary(max_size=300),
    st.builds(lambda head, rest: b"\x00\x00" + head + rest, st.binary(min_size=2, max_size=2), st.binary(max_size=300)),
    IDX_HEADERS,
    st.builds(lambda raw, cut: gz(raw)[:cut], st.one_of(st.binary(max_size=200), IDX_HEADERS), st.integers(0, 400)),
)


@settings(max_examples=150, deadline=None, database=None)
@given(raw=IDX_LIKE)
def test_read_idx_raises_only_dataset_error(tmp_path_factory, raw):
    path = tmp_path_factory.getbasetemp() / "fuzz.idx"
    path.write_bytes(raw)
    try:
        array = read_idx(path)
    except DatasetError as error:
        assert str(path) in str(error)  # noqa: PT017 - fuzzer: loaded (else:) is right too
    else:
        assert array.dtype == np.uint8 and array.size == math.prod(array.shape)


# --- downloads ----------------------------------------------------------------------------

BODY = np.random.default_rng(1).integers(0, 256, 150_000, dtype=np.uint8).tobytes()  # > 2 chunks


def _mirror(server, kind: str, path: str) -> str:
    """Set up one mirror of BODY that behaves as ``kind``; return its URL."""
    if kind == "good":
        server.serve(path, BODY)
    elif kind in ("403", "404", "500"):
        server.fail(path, int(kind))
    elif kind == "corrupt":
        server.serve(path, BODY[:-1] + b"!")
    elif kind == "stall":
        server.stall(path, BODY)
    elif kind == "truncated":
        server.truncate(path, BODY, sent=1000)
    elif kind == "refused":
        with socket.socket() as unused:  # a port nobody listens on
            unused.bind(("127.0.0.1", 0))
            return f"http://127.0.0.1:{unused.getsockname()[1]}/{path}"
    return server.url + path


def _leftovers(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.part"))


def test_fetch_good_file(file_server, tmp_path):
    url = _mirror(file_server, "good", "a/f.gz")
    dest = tmp_path / "new" / "f.gz"

    assert fetch([url], dest, sha256(BODY)) == dest

    assert dest.read_bytes() == BODY and _leftovers(dest.parent) == []


@pytest.mark.parametrize("first", ["404", "403", "500", "corrupt", "stall", "truncated", "refused"])
def test_fetch_moves_on_to_the_next_mirror(file_server, tmp_path, first):
    urls = [_mirror(file_server, first, "bad/f.gz"), _mirror(file_server, "good", "good/f.gz")]
    dest = tmp_path / "f.gz"
    start = time.monotonic()

    fetch(urls, dest, sha256(BODY), timeout=(3, 0.5))

    # a stall is cut by the 0.5 s read timeout, not sat out (the server stalls for 30 s): a wide bound
    assert time.monotonic() - start < 15
    assert dest.read_bytes() == BODY and _leftovers(tmp_path) == []
    assert file_server.requests[-1] == "/good/f.gz"


def test_fetch_all_mirrors_fail(file_server, tmp_path):
    kinds = ["404", "403", "500", "corrupt", "stall", "truncated", "refused"]
    urls = [_mirror(file_server, kind, f"{kind}/f.gz") for kind in kinds]
    dest = tmp_path / "f.gz"

    with pytest.raises(DatasetError, match=r"^could not download f\.gz: ") as info:
        fetch(urls, dest, sha256(BODY), timeout=0.5)

    message = str(info.value)
    for url in urls:
        assert url in message
    for reason in ("HTTP 404", "HTTP 403", "HTTP 500", "sha256 mismatch", "timed out",
                   "truncated: got 1000 of 150000 bytes", "connection refused"):
        assert reason in message
    assert not dest.exists() and _leftovers(tmp_path) == []


def test_fetch_gives_up_on_a_trickling_mirror_at_its_overall_deadline(file_server, tmp_path):
    # one byte every 20 ms never trips the 5 s read timeout, and would take 40 s for 2,000 bytes;
    # at 1,000 bytes/s minimum plus 0.2 s of grace this file's deadline is 2.2 s
    body = BODY[:2000]
    file_server.trickle("slow/f.gz", body, every=0.02)
    file_server.serve("good/f.gz", body)
    dest = tmp_path / "f.gz"
    with pytest.raises(DatasetError, match=r"slow/f\.gz \(too slow: \d+ of 2000 bytes in [\d.]+ s, past this "
                                           r"file's deadline \(2\.2 s at 1000 bytes/s\)\)") as info:
        fetch([file_server.url + "slow/f.gz"], dest, sha256(body), timeout=(3, 5), min_rate=1000, grace=0.2)
    assert "\n" not in str(info.value) and not dest.exists() and _leftovers(tmp_path) == []
    # the same limits let a mirror that keeps up deliver
    fetch([file_server.url + "slow/f.gz", file_server.url + "good/f.gz"], dest, sha256(body), timeout=(3, 5),
          min_rate=1000, grace=0.2)
    assert dest.read_bytes() == body


def test_hash_mismatch_names_both_full_hashes(file_server, tmp_path):
    bad = BODY[:-1] + b"!"
    with pytest.raises(DatasetError) as info:
        fetch([_mirror(file_server, "corrupt", "c/f.gz")], tmp_path / "f.gz", sha256(BODY))
    assert f"sha256 mismatch: got {sha256(bad)}, expected {sha256(BODY)}" in str(info.value)


def test_fetch_failure_leaves_an_existing_file_alone(file_server, tmp_path):
    dest = tmp_path / "f.gz"
    dest.write_bytes(b"old")

    with pytest.raises(DatasetError):
        fetch([_mirror(file_server, "corrupt", "c/f.gz")], dest, sha256(BODY))

    assert dest.read_bytes() == b"old" and _leftovers(tmp_path) == []


def test_fetch_replaces_a_stale_part_file(file_server, tmp_path):
    dest = tmp_path / "f.gz"
    (tmp_path / "f.gz.part").write_bytes(b"left over from a crash" * 10_000)

    fetch([_mirror(file_server, "good", "g/f.gz")], dest, sha256(BODY))

    assert dest.read_bytes() == BODY and _leftovers(tmp_path) == []


def test_fetch_refuses_oversized_and_non_http(file_server, tmp_path):
    dest = tmp_path / "f.gz"
    urls = [_mirror(file_server, "good", "g/f.gz"), f"file://{tmp_path}/f.gz"]

    with pytest.raises(DatasetError, match="more than the 1000 .*allowed.*not an http"):
        fetch(urls, dest, sha256(BODY), max_bytes=1000)

    assert not dest.exists() and _leftovers(tmp_path) == []


def test_fetch_into_an_impossible_folder(tmp_path):
    (tmp_path / "a-file").write_text("x")

    with raises_about(tmp_path / "a-file" / "sub", "to download f.gz into: Not a directory"):
        fetch(["http://127.0.0.1:9/f.gz"], tmp_path / "a-file" / "sub" / "f.gz", sha256(BODY))


def test_fetch_progress_bar(file_server, tmp_path, capsys):
    fetch([_mirror(file_server, "good", "g/f.gz")], tmp_path / "f.gz", sha256(BODY), progress=True)

    assert "f.gz" in capsys.readouterr().err


def test_load_dataset_downloads_into_the_cache_once(file_server, isolated_cache, make_idx_files, no_system_dirs):
    files = make_idx_files()
    for name, body in files.items():
        file_server.serve(f"second/{name}", body)
    hashes = {name: sha256(body) for name, body in files.items()}
    mirrors = [file_server.url + "first/", file_server.url + "second"]  # the first one 404s

    dataset = load_dataset("mnist", "all", mirrors=mirrors, hashes=hashes)

    assert len(dataset) == 10 and dataset.source == str(isolated_cache / "mnist")
    assert sorted(p.name for p in (isolated_cache / "mnist").iterdir()) == sorted(files)
    requests = len(file_server.requests)
    assert len(load_dataset("mnist", "all", mirrors=mirrors, hashes=hashes)) == 10
    assert len(file_server.requests) == requests  # the second load came from the cache


def test_mirror_env_var_and_module_hashes(file_server, make_idx_files, monkeypatch, no_system_dirs):
    files = make_idx_files()
    for name, body in files.items():
        file_server.serve(f"m/{name}", body)
    monkeypatch.setenv("LATENT_EXPLORER_MIRROR", f" {file_server.url}nothing-here/ , {file_server.url}m/")
    monkeypatch.setitem(data.SHA256, "fashion-mnist", {name: sha256(body) for name, body in files.items()})

    dataset = load_dataset("fashion-mnist", "test")

    assert len(dataset) == 4 and dataset.label_names[7] == "Sneaker"
    assert {path.rsplit("/", 1)[1] for path in file_server.requests} == set(TEST_FILES)


def test_downloads_are_checked_against_the_official_hashes(file_server, make_idx_files, isolated_cache,
                                                           no_system_dirs):
    for name, body in make_idx_files().items():
        file_server.serve(f"m/{name}", body)

    with pytest.raises(DatasetError, match=r"could not download t10k-images-idx3-ubyte\.gz: .*sha256 mismatch"):
        load_dataset("mnist", "test", mirrors=[file_server.url + "m/"])

    assert list((isolated_cache / "mnist").iterdir()) == []


# --- npz files ----------------------------------------------------------------------------


def save_npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def test_npz_grey_uint8_with_default_label_names(tmp_path):
    x = np.arange(20 * 5 * 6, dtype=np.uint8).reshape(20, 5, 6)
    path = save_npz(tmp_path / "grey.npz", x=x, y=np.arange(20) % 3)

    dataset = load_dataset(f"npz:{path}", "all")

    assert dataset.images.shape == (20, 1, 5, 6) and dataset.images.dtype == np.float32
    assert np.array_equal(dataset.images[:, 0], x / np.float32(255))
    assert dataset.label_names == ["0", "1", "2"] and dataset.labels.dtype == np.int64
    assert dataset.name == f"npz:{path}" and dataset.source == str(path)


def test_uint8_option_keeps_8_bit_pixels_and_to_unit_float_gives_the_float_images(tmp_path):
    x = np.random.default_rng(2).integers(0, 256, (12, 3, 6, 6), dtype=np.uint8)
    path = save_npz(tmp_path / "rgb8.npz", x=x, y=np.arange(12) % 2)

    floats = load_dataset(f"npz:{path}", "all")
    eight = load_dataset(f"npz:{path}", "all", uint8=True)
    assert eight.images.dtype == np.uint8 and np.array_equal(eight.images, x) and eight.images.flags.c_contiguous
    assert np.array_equal(to_unit_float(eight.images), floats.images)
    rgb = load_dataset(f"npz:{path}", "all", uint8=True, grayscale=False)  # already colour: stays uint8
    assert rgb.images.dtype == np.uint8
    grey = load_dataset(f"npz:{path}", "all", uint8=True, grayscale=True)  # the luma mix needs floats
    assert grey.images.dtype == np.float32
    assert np.array_equal(grey.images, load_dataset(f"npz:{path}", "all", grayscale=True).images)
    resized = load_dataset(f"npz:{path}", "all", uint8=True, image_size=8)
    assert resized.images.dtype == np.float32 and resized.images.shape == (12, 3, 8, 8)
    assert load_dataset("synthetic", "test", uint8=True).images.dtype == np.float32  # a float source


@pytest.mark.parametrize("layout", ["NHWC", "NCHW"])
def test_npz_colour_layouts_and_label_names(tmp_path, layout):
    x = np.random.default_rng(0).random((10, 3, 4, 5), dtype=np.float32)
    stored = x.transpose(0, 2, 3, 1) if layout == "NHWC" else x
    path = save_npz(tmp_path / "colour.npz", x=stored, y=np.arange(10) % 2, label_names=np.array(["cat", "dog"]))

    dataset = load_dataset(f"npz:{path}", "all")

    assert np.array_equal(dataset.images, x) and dataset.images.flags.c_contiguous
    assert dataset.label_names == ["cat", "dog"]


def test_npz_split_is_a_fixed_85_15_partition(tmp_path, monkeypatch):
    x = np.arange(40, dtype=np.uint8)[:, None, None] * np.ones((1, 2, 2), np.uint8)
    save_npz(tmp_path / "s.npz", x=x, y=np.arange(40) % 4)
    monkeypatch.chdir(tmp_path)

    train, test = load_dataset("npz:s.npz", "train"), load_dataset("npz:s.npz", "test")

    ids = lambda dataset: set(np.round(dataset.images[:, 0, 0, 0] * 255).astype(int))  # noqa: E731
    assert (len(train), len(test)) == (34, 6)
    assert ids(train) | ids(test) == set(range(40)) and not ids(train) & ids(test)
    assert np.array_equal(load_dataset("npz:s.npz", "test").images, test.images)
    assert train.name == f"npz:{tmp_path / 's.npz'}"


def test_npz_resize_and_grayscale(tmp_path):
    x = np.ones((4, 8, 8, 3), np.float32) * np.array([1.0, 0.0, 0.0], np.float32)  # pure red
    path = save_npz(tmp_path / "red.npz", x=x, y=np.zeros(4, np.int64))

    dataset = load_dataset(f"npz:{path}", "all", image_size=14, grayscale=True)

    assert dataset.images.shape == (4, 1, 14, 14)
    assert np.allclose(dataset.images, 0.299, atol=1e-3)


class _Exploit:
    """Unpickling this creates a folder: proof that a pickle was executed."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


def test_npz_pickled_object_array_is_refused_not_executed(tmp_path):
    marker = tmp_path / "pwned"
    path = save_npz(tmp_path / "evil.npz", x=np.array([_Exploit(marker)], dtype=object), y=np.zeros(1))

    with raises_about(path, r"is an object \(pickled\) array, which is refused"):
        load_dataset(f"npz:{path}", "all")
    assert not marker.exists()


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _write_bad_npz(path: Path, case: str) -> None:
    x, y = np.zeros((4, 5, 5), np.uint8), np.arange(4)
    writers = {
        "not a zip": lambda: path.write_text("hello, I am text"),
        "empty file": lambda: path.write_bytes(b""),
        "truncated zip": lambda: (save_npz(path, x=x, y=y), path.write_bytes(path.read_bytes()[:100])),
        "npy": lambda: path.write_bytes(_npy_bytes(x)),  # np.save(path) would add ".npy" to the name
        "missing x": lambda: save_npz(path, images=x, y=y),
        "missing y": lambda: save_npz(path, x=x),
        "x 2-D": lambda: save_npz(path, x=np.zeros((4, 25)), y=y),
        "x no channels": lambda: save_npz(path, x=np.zeros((4, 5, 5, 5)), y=y),
        "x empty": lambda: save_npz(path, x=np.zeros((0, 5, 5)), y=np.arange(0)),
        "x bool": lambda: save_npz(path, x=np.zeros((4, 5, 5), bool), y=y),
        "x float range": lambda: save_npz(path, x=np.full((4, 5, 5), 2.0), y=y),
        "x NaN": lambda: save_npz(path, x=np.full((4, 5, 5), np.nan), y=y),
        "x int range": lambda: save_npz(path, x=np.full((4, 5, 5), 300, np.int16), y=y),
        "y length": lambda: save_npz(path, x=x, y=np.arange(3)),
        "y 2-D": lambda: save_npz(path, x=x, y=np.zeros((4, 1))),
        "y negative": lambda: save_npz(path, x=x, y=np.array([0, 1, -1, 2])),
        "y float": lambda: save_npz(path, x=x, y=np.array([0.5, 1, 2, 3])),
        "y object": lambda: save_npz(path, x=x, y=np.array([0, 1, "a", None], dtype=object)),
        "few names": lambda: save_npz(path, x=x, y=np.array([0, 1, 2, 2]), label_names=np.array(["a", "b"])),
        "numeric names": lambda: save_npz(path, x=x, y=y, label_names=np.arange(4)),
    }
    writers[case]()


BAD_NPZ = {
    "not a zip": r"is not a \.npz archive",
    "empty file": r"is not a \.npz archive",
    "truncated zip": r"is not a \.npz archive",
    "npy": r"is a single \.npy array, not a \.npz archive",
    "missing x": r"has no array x \(it holds: images, y\)",
    "missing y": r"has no array y \(it holds: x\)",
    "x 2-D": r"has shape \(4, 25\); expected \(N, H, W\)",
    "x no channels": r"has shape \(4, 5, 5, 5\); expected",
    "x empty": r"holds no images",
    "x bool": r"has dtype bool; expected uint8",
    "x float range": r"has float values outside \[0, 1\] \(min 2, max 2",
    "x NaN": r"has NaN or infinite values",
    "x int range": r"has integer values outside 0\.\.255",
    "y length": r"has 3 labels but x has 4 images",
    "y 2-D": r"has shape \(4, 1\); expected one label per image",
    "y negative": r"has negative labels \(min -1\)",
    "y float": r"has dtype float64; expected integer class labels",
    "y object": r"array y in .* is an object \(pickled\) array",
    "few names": r"has 2 names but y has 3 classes",
    "numeric names": r"must be a 1-D array of strings",
}


@pytest.mark.parametrize("case", BAD_NPZ)
def test_malformed_npz(tmp_path, case):
    path = tmp_path / "bad.npz"
    _write_bad_npz(path, case)

    with pytest.raises(DatasetError, match=BAD_NPZ[case]) as info:
        load_dataset(f"npz:{path}", "all")
    assert str(path) in str(info.value)


def test_npz_values_are_checked_in_every_split(tmp_path):
    x = np.zeros((40, 3, 3), np.float32)
    x[np.random.RandomState(0).permutation(40)[0]] = 7.0  # one bad image, in the test part
    path = save_npz(tmp_path / "one-bad.npz", x=x, y=np.arange(40) % 2)

    with raises_about(path, r"float values outside \[0, 1\] \(min 0, max 7\)"):
        load_dataset(f"npz:{path}", "train")


def test_npz_missing_file(tmp_path):
    with raises_about(tmp_path / "nope.npz", "not found"):
        load_dataset(f"npz:{tmp_path / 'nope.npz'}")


def test_npz_too_small_for_a_split(tmp_path):
    path = save_npz(tmp_path / "two.npz", x=np.zeros((2, 3, 3)), y=np.arange(2))

    with raises_about(path, "has only 2 images, too few for a 'test' split"):
        load_dataset(f"npz:{path}", "test")


# --- the bundled mnist-5k -----------------------------------------------------------------


def test_mnist_5k_splits():
    every, train, test = (load_dataset("mnist-5k", split) for split in ("all", "train", "test"))

    assert (len(every), len(train), len(test)) == (5000, 4000, 1000)
    assert every.label_names == [str(d) for d in range(10)] and every.name == "mnist-5k"
    assert np.array_equal(np.bincount(train.labels), [400] * 10)
    assert np.array_equal(np.bincount(test.labels), [100] * 10)
    assert np.array_equal(every.images, np.concatenate([train.images, test.images]))
    assert every.images.shape == (5000, 1, 28, 28) and every.images.max() == 1.0
    assert 0.1 < every.images.mean() < 0.2  # MNIST digits: mostly black background
    assert every.source.endswith("mnist-5k.npz")


def test_mnist_5k_assets_override(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_ASSETS", str(tmp_path))
    with raises_about(tmp_path, "set LATENT_EXPLORER_ASSETS"):
        load_dataset("mnist-5k")

    save_npz(tmp_path / "mnist-5k.npz", x=np.zeros((4100, 28, 28), np.uint8), y=np.arange(4100) % 10)
    assert len(load_dataset("mnist-5k", "test")) == 100


# --- image folders ------------------------------------------------------------------------


@pytest.fixture
def picture_folder(tmp_path) -> Path:
    """shirt/: 4 images (colour and grey) + a text file + a broken PNG; shoe/: 5 grey images."""
    root = tmp_path / "pictures"
    shirt, shoe = root / "shirt", root / "shoe"
    (shoe / "nested").mkdir(parents=True)
    shirt.mkdir()
    Image.new("RGB", (40, 30), (255, 0, 0)).save(shirt / "a.png")
    Image.new("RGB", (50, 50), (0, 0, 255)).save(shirt / "b.jpg", quality=95)
    Image.new("L", (20, 20), 128).save(shirt / "c.png")
    Image.new("RGBA", (30, 30), (0, 255, 0, 255)).save(shirt / "d.png")
    (shirt / "notes.txt").write_text("not an image")
    (shirt / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    Image.new("L", (28, 28), 200).save(shoe / "a.png")
    Image.new("1", (16, 16), 1).save(shoe / "b.png")
    Image.new("LA", (33, 21), (60, 255)).save(shoe / "c.png")
    Image.fromarray(np.full((20, 20), 40000, np.uint16)).save(shoe / "d.png")
    Image.new("L", (64, 64), 10).save(shoe / "nested" / "e.jpg")
    (shoe / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")  # hidden: ignored, not counted
    return root


def test_folder_skips_unreadable_files_and_picks_rgb(picture_folder):
    with pytest.warns(UserWarning, match=r"skipped 2 files that are not readable images"):
        dataset = load_dataset(f"folder:{picture_folder}", "all")

    assert dataset.skipped == 2 and len(dataset) == 9
    assert dataset.label_names == ["shirt", "shoe"]
    assert np.array_equal(dataset.labels, [0] * 4 + [1] * 5)
    assert dataset.images.shape == (9, 3, 28, 28) and dataset.images.dtype == np.float32
    assert np.allclose(dataset.images[0].mean(axis=(1, 2)), [1, 0, 0], atol=0.01)  # red PNG
    assert np.allclose(dataset.images[1].mean(axis=(1, 2)), [0, 0, 1], atol=0.02)  # blue JPEG
    assert np.allclose(dataset.images[2], 128 / 255, atol=0.01)  # grey -> three equal channels
    assert np.allclose(dataset.images[3].mean(axis=(1, 2)), [0, 1, 0], atol=0.01)  # RGBA
    assert np.allclose(dataset.images[7], 156 / 255, atol=0.01)  # 16-bit 40000 / 65535
    assert dataset.name == f"folder:{picture_folder}" and dataset.source == str(picture_folder)


def test_folder_grayscale_and_resize(picture_folder):
    with pytest.warns(UserWarning, match=r"skipped 2 files that are not readable images"):
        grey = load_dataset(f"folder:{picture_folder}", "all", grayscale=True, image_size=32)

    assert grey.images.shape == (9, 1, 32, 32)
    assert np.allclose(grey.images[0], 0.299, atol=0.01)  # red in ITU-R 601 luma


def test_folder_of_grey_images_has_one_channel(tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        for index in range(4):
            Image.new("L", (10 + index, 12), 50 * index).save(tmp_path / name / f"{index}.png")

    train = load_dataset(f"folder:{tmp_path}", "train")
    test = load_dataset(f"folder:{tmp_path}", "test")

    assert train.images.shape == (7, 1, 28, 28) and len(test) == 1 and train.skipped == 0


@pytest.mark.parametrize("case", ["missing", "a file", "no classes", "unreadable class"])
def test_malformed_folder(tmp_path, case):
    root = tmp_path / "root"
    problems = {
        "missing": "does not exist",
        "a file": "is not a folder",
        "no classes": r"has no class sub-folders \(it holds 1 files\)",
        "unreadable class": r"has no readable images",
    }
    if case == "a file":
        root.write_text("x")
    elif case == "no classes":
        root.mkdir()
        Image.new("L", (5, 5)).save(root / "loose.png")
    elif case == "unreadable class":
        (root / "good").mkdir(parents=True)
        Image.new("L", (5, 5)).save(root / "good" / "a.png")
        (root / "junk").mkdir()
        (root / "junk" / "a.txt").write_text("x")
    where = root / "junk" if case == "unreadable class" else root  # the folder the message names

    with raises_about(where, problems[case]):
        load_dataset(f"folder:{root}", "all")


# --- synthetic ----------------------------------------------------------------------------


def test_synthetic_is_deterministic_and_balanced():
    train = load_dataset("synthetic", "train")
    test, every = load_dataset("synthetic", "test"), load_dataset("synthetic", "all")

    assert train.images.shape == (3000, 1, 28, 28) and test.images.shape == (600, 1, 28, 28)
    assert np.array_equal(np.bincount(train.labels), [300] * 10)
    assert np.array_equal(np.bincount(test.labels), [60] * 10)
    assert np.array_equal(load_dataset("synthetic", "train").images, train.images)
    assert np.array_equal(every.images, np.concatenate([train.images, test.images]))
    assert not np.array_equal(train.images[:600], test.images)
    assert train.images.min() >= 0 and train.images.max() <= 1 and train.images.dtype == np.float32
    assert len(train.label_names) == 10


def test_synthetic_n_and_size():
    dataset = load_dataset("synthetic", "test", n=50, image_size=16)

    assert dataset.images.shape == (50, 1, 16, 16) and set(dataset.labels) == set(range(10))


# --- names, splits, options ---------------------------------------------------------------


def test_dataset_names():
    assert data.dataset_names() == ["mnist", "fashion-mnist", "mnist-5k", "synthetic", "npz:PATH", "npy:PATH",
                                    "folder:PATH"]


def test_unknown_name_lists_the_valid_ones(tmp_path, monkeypatch):
    with pytest.raises(DatasetError, match=r"unknown dataset 'cifar'; valid names: mnist, fashion-mnist, "
                                           r"mnist-5k, synthetic, npz:PATH, npy:PATH, folder:PATH\.$"):
        load_dataset("cifar")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pics").mkdir()
    with pytest.raises(DatasetError, match="for this folder use folder:pics"):
        load_dataset("pics")


@pytest.mark.parametrize(("kwargs", "problem"), [
    ({"split": "val"}, r"unknown split 'val'; use one of: train, test, all"),
    ({"image_size": 0}, r"image_size must be a positive integer, not 0"),
    ({"image_size": "28"}, r"image_size must be a positive integer, not '28'"),
    ({"n": 5}, r"n= only applies to the synthetic dataset"),
])
def test_bad_options(kwargs, problem):
    with pytest.raises(DatasetError, match=problem):
        load_dataset("mnist-5k", **kwargs)


def test_path_name_needs_a_path():
    with pytest.raises(DatasetError, match=r"'npz:' needs a path after the colon"):
        load_dataset("npz:")


def test_dataset_repr_and_names_are_case_insensitive():
    dataset = load_dataset("MNIST_5k", "test")

    assert repr(dataset) == "Dataset('mnist-5k', split='test', 1000 images of (1, 28, 28), 10 classes)"


def test_importing_data_pulls_in_neither_torch_nor_qt():
    code = ("import sys, training.data; "
            "bad = [m for m in ('torch', 'PySide6', 'explorer') if m in sys.modules]; "
            "sys.exit(str(bad) if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[2],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_npz_split_all_is_not_copied_on_load(tmp_path):
    """The whole of an npz ("all") is the array as read: one copy of the pixels in memory, not two
    (at 1,000,000 28x28 images that copy was the app's peak: 1.9 GB instead of 1.2 GB)."""
    import tracemalloc

    n = 20_000
    path = tmp_path / "big.npz"
    np.savez(path, x=np.random.default_rng(0).integers(0, 256, (n, 28, 28), dtype=np.uint8),
             y=np.arange(n) % 10)
    tracemalloc.start()
    try:
        ds = load_dataset(f"npz:{path}", "all", uint8=True, grayscale=True, image_size=28)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ds.images.shape == (n, 1, 28, 28) and ds.images.dtype == np.uint8
    assert peak < 1.5 * n * 28 * 28, f"peak {peak / 2**20:.1f} MB for {n * 784 / 2**20:.1f} MB of pixels"
    train = load_dataset(f"npz:{path}", "train", uint8=True)
    assert len(train.labels) == n - round(n * 0.15)
