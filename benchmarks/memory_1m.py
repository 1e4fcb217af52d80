"""The app's memory with 1,000,000 images: RSS when the first image shows (goal: peak < 2 GB).

    python benchmarks/memory_1m.py --images 1000000 --repeats 2 [--baseline-tree /tmp/raster-base]

1. A synthetic ``npz:`` dataset in /tmp (training/data.py's format: x (N, 28, 28) uint8, y (N,) int64,
   label_names): Fashion-MNIST train + test (70,000 images) repeated, exactly, to N images.
2. Its means put into a fresh means cache (explorer.core.means_cache, under the key the app computes:
   the model file's SHA-256, the dataset's name and split, a SHA-256 of the pixels and labels) — the
   bundled model's 70,000 Fashion-MNIST means tiled the same way, since the images are the same. This
   skips ~15 minutes of encoding on 2 cores; the memory of the open session is the same.
3. The real ``latent-explorer --dataset npz:FILE --split all`` in a subprocess (benchmarks/startup.py's
   run_once: LATENT_EXPLORER_STARTUP_PROBE=1), VmRSS and VmHWM from /proc when the first image shows.

``--baseline-tree DIR`` runs ``python -m explorer`` with PYTHONPATH=DIR as well, interleaved.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from startup import run_once  # the same probe and RSS reading


def build(n: int, out: Path, data_dir: str) -> Path:
    from training.data import load_dataset

    if out.exists():
        return out
    ds = load_dataset("fashion-mnist", "all", data_dir=data_dir, download=False, uint8=True)
    reps = -(-n // len(ds.labels))
    x = np.tile(ds.images[:, 0], (reps, 1, 1))[:n]
    y = np.tile(ds.labels, reps)[:n]
    tmp = out.with_suffix(".tmp.npz")
    np.savez(tmp, x=x, y=y, label_names=np.array(ds.label_names))
    os.replace(tmp, out)
    return out


def seed_cache(npz: Path, cache: Path, model: Path, means70k: Path) -> str:
    from explorer.core.means_cache import MeansCache, cache_key
    from explorer.core.session import file_sha256
    from training.data import load_dataset

    ds = load_dataset(f"npz:{npz}", "all", image_size=28, grayscale=True, uint8=True)
    z = np.load(means70k)
    reps = -(-len(ds.labels) // len(z["means"]))
    means = np.ascontiguousarray(np.tile(z["means"], (reps, 1))[: len(ds.labels)], np.float32)
    key = cache_key(file_sha256(model), ds.name, ds.split, ds.images, ds.labels)
    MeansCache(cache / "means").store(key, means)
    return key


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=1_000_000)
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--means-70k", default="/tmp/latent-explorer-fashion-means-70k.npz",
                   help="the bundled model's means of Fashion-MNIST train + test (benchmarks/raster_refresh.py writes it)")
    p.add_argument("--baseline-tree", default=None)
    p.add_argument("--timeout", type=float, default=900)
    a = p.parse_args()
    from explorer.core.session import default_model_path

    model = default_model_path()
    npz = build(a.images, Path(f"/tmp/latent-explorer-fashion-{a.images}.npz"), a.data_dir)
    cache = Path(tempfile.mkdtemp(prefix="memory-1m-"))
    seed_cache(npz, cache, model, Path(a.means_70k))
    py = sys.executable
    app = [py, "-m", "explorer", str(model), "--dataset", f"npz:{npz}", "--split", "all"]
    trees = {"this": str(Path(__file__).resolve().parents[1])}
    if a.baseline_tree:
        trees["baseline"] = a.baseline_tree
    # run in the tree itself: "python -m" puts the working directory before PYTHONPATH on sys.path
    cmds = {who: ["env", "-C", tree, f"PYTHONPATH={tree}", *app] for who, tree in trees.items()}
    runs: dict[str, list[dict]] = {k: [] for k in cmds}
    for _ in range(a.repeats):
        for who, cmd in cmds.items():
            runs[who].append(run_once(cmd, cache, a.timeout))
            r = runs[who][-1]
            print(f"{who}: RSS {r['VmRSS'] / 2**20:.0f} MB, peak {r['VmHWM'] / 2**20:.0f} MB, "
                  f"interactive after {r['interactive']:.1f} s; load {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
    print(f"\n{a.images:,} images ({npz}, {npz.stat().st_size / 2**20:.0f} MB), means cached; load {os.getloadavg()[0]:.2f}\n")
    print("| run | RSS at first image | peak (VmHWM) | interactive after |\n|---|---:|---:|---:|")
    for who, rs in runs.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("VmRSS", "VmHWM", "interactive")}
        print(f"| {who} | {med['VmRSS'] / 2**20:.0f} MB | {med['VmHWM'] / 2**20:.0f} MB | {med['interactive']:.1f} s |")
    shutil.rmtree(cache, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
