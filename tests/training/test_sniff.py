"""training.sniff.describe names real files of the common kinds a user may pick by mistake."""

from __future__ import annotations

import gzip
import io
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.numpy import save_file

from training.sniff import describe

ROOT = Path(__file__).resolve().parents[2]


def _image(fmt: str, mode: str = "RGB"):
    def make(path: Path) -> None:
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (16, 16, 3), dtype=np.uint8)).convert(mode).save(
            path, format=fmt)
    return make


def _npz(path: Path) -> None:
    with open(path, "wb") as f:
        np.savez(f, x=np.zeros((2, 3), np.float32), y=np.arange(2))


def _npy(path: Path) -> None:
    with open(path, "wb") as f:  # a file object: np.save would add ".npy" to the name
        np.save(f, np.zeros(3))


def _zip(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("readme.txt", "hello")


def _torch_zip(path: Path) -> None:
    torch.save({"w": torch.zeros(3)}, path)


def _torch_legacy(path: Path) -> None:
    torch.save({"w": torch.zeros(3)}, path, _use_new_zipfile_serialization=False)


CASES = {
    "png": (_image("PNG"), "a PNG image"),
    "jpeg": (_image("JPEG"), "a JPEG image"),
    "gif": (_image("GIF", "P"), "a GIF image"),
    "bmp": (_image("BMP"), "a BMP image"),
    "webp": (_image("WEBP"), "a WebP image"),
    "npz": (_npz, "a NumPy .npz archive"),
    "npy": (_npy, "a NumPy .npy array"),
    "zip": (_zip, "a zip archive"),
    "torch-zip": (_torch_zip, "a PyTorch file saved with torch.save (a zip of pickles)"),
    "torch-legacy": (_torch_legacy, "a PyTorch file saved with torch.save (a pickle)"),
    "pickle": (lambda p: p.write_bytes(pickle.dumps({"w": [1.0]}, protocol=4)), "a Python pickle"),
    "gzip": (lambda p: p.write_bytes(gzip.compress(b"\0" * 100)), "a gzip-compressed file"),
    "text": (lambda p: p.write_text("epoch 1: loss 3.2\nepoch 2: loss 2.9\n"), "a text file"),
    "utf8": (lambda p: p.write_text("Größe ✓ 形\n" * 1000, encoding="utf-8"), "a text file"),
    "json": (lambda p: p.write_text('{"a": [1, 2]}'), "a JSON text file"),
    "empty": (lambda p: p.write_bytes(b""), "an empty file"),
}


@pytest.mark.parametrize("kind", CASES)
def test_known_kinds_are_named(tmp_path, kind):
    make, want = CASES[kind]
    path = tmp_path / "model.safetensors"  # the name says nothing: only the bytes count
    make(path)
    assert describe(path) == want


def test_a_scene_file_is_named_with_how_to_open_it():
    what = describe(ROOT / "examples" / "talk.json")
    assert what is not None and what.startswith("a latent-explorer scene file") and "--scene" in what


@pytest.mark.parametrize("name", ["fashion-mnist-vae.safetensors", "mnist-5k-vae.safetensors"])
def test_real_checkpoints_are_not_named(name):
    assert describe(ROOT / "assets" / name) is None


def test_other_safetensors_random_bytes_and_missing_files_are_not_named(tmp_path):
    save_file({"w": np.zeros(3, np.float32)}, str(tmp_path / "other.safetensors"))
    (tmp_path / "noise.bin").write_bytes(np.random.default_rng(3).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    for name in ("other.safetensors", "noise.bin", "missing.safetensors"):
        assert describe(tmp_path / name) is None, name
    assert describe(tmp_path) is None  # a folder is not readable as a file


def test_a_damaged_zip_is_still_a_zip(tmp_path):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("a.npy", b"x" * 100)
    (tmp_path / "cut.zip").write_bytes(buf.getvalue()[:40])
    assert describe(tmp_path / "cut.zip") == "a zip archive"
