"""Images on disk (npy:DIR, a LazyImages): read speed and peak memory of a whole epoch, and training speed.

    python benchmarks/lazy_data.py --images 100000 1000000 [--steps 300] [--keep]

1. An npy: folder in /tmp per N (x.npy uint8 (N, 1, 28, 28), y.npy): Fashion-MNIST train + test (70,000
   images) repeated to N, written batch by batch (write_npy_dataset with an iterable).
2. In a fresh subprocess per N and mode (so VmHWM is that run's peak resident memory), with 1 torch thread:
   ``epoch``: one whole epoch in random batches of 128 through training.batches.batch_of (read, uint8 ->
   float32); ``fit``: training.train.fit of the default conv VAE for --steps steps on the LazyImages;
   ``fit-memory`` (N <= 100,000 only): the same fit on the whole set as a float32 tensor, as before.
Reports images/s and VmHWM minus the VmHWM after imports and opening (what the data costs).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHILD = r"""
import json, sys, time
import numpy as np, torch
torch.set_num_threads(1)
from training.batches import Streamed, batch_of
from training.data import load_dataset

def hwm():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmHWM"))

folder, mode, steps = sys.argv[1], sys.argv[2], int(sys.argv[3])
ds = load_dataset(f"npy:{folder}", "all")
images = ds.images
if mode == "fit-memory":
    images = torch.from_numpy(images[:].astype(np.float32) / 255)
base = hwm()
t0 = time.perf_counter()
if mode == "epoch":
    streamed = Streamed(images, torch.device("cpu"))
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    for i in range(0, len(images), 128):
        batch_of(streamed, order[i : i + 128])
    done = len(images)
else:
    from training.models import ModelConfig, build_model
    from training.train import TrainConfig, fit
    torch.manual_seed(0)
    model = build_model(ModelConfig(kind="vae", latent_dim=2, image_shape=(1, 28, 28)))
    fit(model, images, TrainConfig(steps=steps, batch_size=128, threads=1, workers=1), progress=False)
    done = steps * 128
seconds = time.perf_counter() - t0
print(json.dumps({"images": len(ds.images), "mode": mode, "images_per_s": done / seconds, "seconds": seconds,
                  "base_mb": base / 2**20, "peak_mb": hwm() / 2**20, "grown_mb": (hwm() - base) / 2**20}))
"""


def build(n: int, out: Path, data_dir: str) -> Path:
    from training.data import load_dataset
    from training.datasets import write_npy_dataset

    if (out / "x.npy").exists():
        return out
    ds = load_dataset("fashion-mnist", "all", data_dir=data_dir, download=False, uint8=True)
    base, labels = ds.images, ds.labels

    def batches():
        for start in range(0, n, len(base)):
            yield base[: min(len(base), n - start)]

    write_npy_dataset(out, batches(), np.resize(labels, n), ds.label_names)
    return out


def run(folder: Path, mode: str, steps: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(folder), mode, str(steps)], capture_output=True,
                          text=True, env=env, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, nargs="+", default=[100_000, 1_000_000])
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--tmp", default="/tmp/lazy-data-bench")
    p.add_argument("--keep", action="store_true", help="keep the npy: folders in --tmp")
    a = p.parse_args()
    rows = []
    for n in a.images:
        folder = build(n, Path(a.tmp) / f"n{n}", a.data_dir)
        size = (folder / "x.npy").stat().st_size / 2**20
        for mode in ("epoch", "fit") + (("fit-memory",) if n <= 100_000 else ()):
            row = {**run(folder, mode, a.steps), "file_mb": size}
            rows.append(row)
            print(f"N={n:>9,}  {mode:<10}  {row['images_per_s']:>9,.0f} images/s  file {size:6.0f} MB  "
                  f"peak RSS {row['peak_mb']:6.0f} MB (+{row['grown_mb']:.0f} MB over the {row['base_mb']:.0f} MB "
                  f"after imports and opening)", flush=True)
        if not a.keep:
            shutil.rmtree(folder)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
