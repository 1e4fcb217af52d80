"""Training and evaluating on images that stay on disk (npy:DIR, a LazyImages): the same numbers as the
same images in memory, and a resident memory that does not grow with the number of images."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from training import checkpoint, evaluate
from training.batches import Streamed, batch_of, rows_of
from training.data import load_dataset
from training.datasets import LazyImages, write_npy_dataset
from training.models import ModelConfig, build_model

LATENT_TRAIN = str(Path(sys.executable).with_name("latent-train"))
TINY = ["--channels", "4,8", "--hidden", "8", "--threads", "1", "--epochs", "1", "--quiet", "--seed", "3"]


def _uint8_set(n: int = 600) -> tuple[np.ndarray, np.ndarray, list[str]]:
    ds = load_dataset("synthetic", "train", n=n)
    return np.round(ds.images * 255).astype(np.uint8), ds.labels, ds.label_names


def test_batches_and_encoding_equal_the_float_images(tmp_path):
    x, y, _ = _uint8_set(300)
    write_npy_dataset(tmp_path, x, y)
    lazy, floats = LazyImages.open(tmp_path / "x.npy"), torch.from_numpy(x.astype(np.float32) / 255)

    idx = torch.tensor([299, 5, 17, 5, 0])
    assert torch.equal(batch_of(Streamed(lazy, torch.device("cpu")), idx), floats.index_select(0, idx))
    assert torch.equal(rows_of(lazy, 290, 400), floats[290:])
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", latent_dim=2, image_shape=(1, 28, 28), channels=(4, 8), hidden=(8,)))
    assert np.array_equal(evaluate.encode_means(model, lazy, batch_size=64), evaluate.encode_means(model, floats))
    assert evaluate.evaluate(model, lazy, batch_size=64) == evaluate.evaluate(model, floats, batch_size=64)


def _train(dataset: str, out: Path, cache: Path) -> subprocess.Popen:
    env = {**os.environ, "LATENT_EXPLORER_CACHE": str(cache)}
    return subprocess.Popen([LATENT_TRAIN, "--dataset", dataset, *TINY, "--out", str(out)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_latent_train_on_npy_gives_the_loss_of_the_same_images_as_npz(tmp_path):
    x, y, names = _uint8_set(600)
    write_npy_dataset(tmp_path / "set", x, y, names)
    np.savez(tmp_path / "set.npz", x=x, y=y, label_names=np.array(names))
    jobs = {kind: _train(f"{kind}:{tmp_path / ('set' if kind == 'npy' else 'set.npz')}", tmp_path / f"{kind}.safetensors",
                         tmp_path / "cache") for kind in ("npy", "npz")}
    for kind, job in jobs.items():
        out, err = job.communicate(timeout=300)
        assert job.returncode == 0, f"{kind}: {err[-2000:]}"

    npy, npz = (checkpoint.read_metadata(tmp_path / f"{kind}.safetensors") for kind in ("npy", "npz"))
    assert npy["dataset"]["num_train"] == npz["dataset"]["num_train"] == 510
    assert npy["history"][-1]["loss"] == npz["history"][-1]["loss"]
    for key in ("test_neg_elbo", "test_knn5_acc", "test_active_units"):
        assert npy["metrics"][key] == npz["metrics"][key], key


RSS_SCRIPT = """
import os, sys, time
import numpy as np, torch
torch.set_num_threads(1)
from training.batches import Streamed, batch_of
from training.datasets import LazyImages

def hwm():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))

images = LazyImages.open(sys.argv[1])
streamed = Streamed(images, torch.device("cpu"))
batch_of(streamed, torch.arange(256))
base = hwm()
order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
total, t0 = 0.0, time.perf_counter()
for i in range(0, len(images), 256):
    total += float(batch_of(streamed, order[i : i + 256]).sum())
print(base, hwm(), len(images), round(time.perf_counter() - t0, 2), total)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
def test_a_whole_epoch_in_random_batches_keeps_peak_memory_flat(tmp_path):
    """A 400 MB images file read once in random batches of 256: the peak resident memory grows by a few
    batches' worth, not by the file (a long-lived memory map would add the whole file)."""
    n, rng = 100_000, np.random.default_rng(0)
    chunks = (rng.integers(0, 256, (10_000, 1, 64, 64), dtype=np.uint8) for _ in range(n // 10_000))
    write_npy_dataset(tmp_path, chunks)
    size = (tmp_path / "x.npy").stat().st_size
    assert size > 400e6
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(tmp_path / "x.npy")], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    base, peak, count, _seconds, total = done.stdout.split()
    assert int(count) == n and float(total) > 0
    grown = int(peak) - int(base)
    assert grown < 64 * 2**20, f"peak RSS grew by {grown / 2**20:.0f} MiB reading a {size / 2**20:.0f} MiB file"
    (tmp_path / "x.npy").unlink()
