"""10,000,000 points in the app (issue 22, item 3): open to first image, the scatter's first paint, pan
repaint, click to image, peak RSS.

    python benchmarks/points_10m.py build /work/runs/points10m/data --images 10000000
    python benchmarks/points_10m.py seed /work/runs/points10m/data --cache /work/runs/points10m/cache
    nice -n 5 python benchmarks/points_10m.py measure /work/runs/points10m/data --cache /work/runs/points10m/cache

``build`` writes an ``npy:`` dataset folder (x.npy uint8 (N, 28, 28), y.npy, label_names.json) by tiling the
real Fashion-MNIST test split (10,000 images) N / 10,000 times, streamed through NpyWriter (one tile in
memory at a time: 7.8 GB on disk at 10 M, never in RAM).

``seed`` puts the means of that dataset into a means cache (explorer.core.means_cache) under the key the
app computes (file_sha256 of the model, dataset name "npy:DIR", split "all", the LazyImages' file
fingerprint and the labels), so the app opens with the means cached. The means are the bundled model's
real means of the 10,000 test images (assets/means, else encoded once), **tiled** the same way as the
images, plus a seeded N(0, 1e-4) jitter so that exact duplicates do not degenerate the k-d tree (1e-4, not
1e-3: once torch is loaded the app re-encodes 8 images and compares them with the cached means to 1e-3,
explorer.core.means_cache.means_hold; a larger jitter fails that check and the app encodes all 10 M). Encoding
10 M images on 2 shared cores would take hours; the open session holds the same arrays either way.

``measure`` runs

1. the real ``latent-explorer MODEL --dataset npy:DIR --split all`` in a subprocess with
   LATENT_EXPLORER_STARTUP_PROBE=1 (benchmarks/startup.py's run_once): the window shown, the scatter's
   first paint (the density raster on screen: the probe's ``points`` line) and the first decoded image,
   from just before Popen; VmHWM (peak RSS) when the probe ends;
2. benchmarks/explorer_speed.py ``--only click,pan --no-scale`` on the same dataset and cache in a
   subprocess: click to image p50 / p99 and the pan / zoom repaint, with its own VmHWM.

and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

JITTER = 1e-4  # standard deviation of the seeded noise added to the tiled means (see seed())
DATA_DIR = "/usr/share/datasets/fashion-mnist"


def build(folder: Path, n: int, data_dir: str) -> Path:
    """An npy: folder of ``n`` images: the Fashion-MNIST test split tiled (streamed, never all in memory)."""
    from training.data import load_dataset
    from training.datasets.npy import NpyWriter
    from training.fileio import atomic_write

    if (folder / "x.npy").exists() and (folder / "y.npy").exists():
        print(f"{folder} exists; not rebuilt", file=sys.stderr)
        return folder
    ds = load_dataset("fashion-mnist", "test", data_dir=data_dir, download=False, uint8=True)
    tile = np.ascontiguousarray(ds.images[:, 0])  # (10000, 28, 28) uint8
    labels = np.asarray(ds.labels, np.int64)
    t0 = time.perf_counter()
    with NpyWriter(folder / "x.npy", tile.shape[1:]) as w:
        while w.count < n:
            w.append(tile[: n - w.count])
            if w.count % 1_000_000 < len(tile):
                print(f"  {w.count:,} images, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
    y = np.resize(labels, n)  # the labels tiled the same way
    import io

    buf = io.BytesIO()
    np.save(buf, y, allow_pickle=False)
    atomic_write(folder / "y.npy", buf.getbuffer())
    atomic_write(folder / "label_names.json", json.dumps(list(ds.label_names)).encode())
    return folder


def test_means(model: Path, data_dir: str) -> np.ndarray:
    """The model's (10000, D) means of the Fashion-MNIST test split: the bundled cache file, else encoded."""
    from explorer.core.encoding import encode_means
    from explorer.core.means_cache import MeansCache, cache_key
    from explorer.core.session import ASSETS, file_sha256, load_model
    from training.data import load_dataset

    ds = load_dataset("fashion-mnist", "test", data_dir=data_dir, download=False, uint8=True)
    key = cache_key(file_sha256(model), ds.name, ds.split, ds.images, ds.labels)
    means = MeansCache(folder=ASSETS / "means").load(key, len(ds.labels), 2)
    if means is None:
        means = encode_means(load_model(model), ds.images, labels=ds.labels)
    return np.asarray(means, np.float32)


def seed(folder: Path, cache: Path, model: Path, data_dir: str, seed_: int = 0) -> str:
    """Store the tiled, jittered means of the npy: folder under the app's key in ``cache``/means."""
    from explorer.core.light_open import read_light_model
    from explorer.core.means_cache import MeansCache, cache_key
    from explorer.core.session import file_sha256, load_data_for

    ds = load_data_for(read_light_model(model), f"npy:{folder}", "all")  # exactly as the app loads it
    base = test_means(model, data_dir)
    means = np.resize(base, (len(ds.labels), base.shape[1]))  # tiled as the images are
    rng = np.random.default_rng(seed_)
    for i in range(0, len(means), 1_000_000):  # the jitter in pieces: no 80 MB float64 temporary per axis
        means[i : i + 1_000_000] += rng.normal(0.0, JITTER, means[i : i + 1_000_000].shape).astype(np.float32)
    key = cache_key(file_sha256(model), ds.name, ds.split, ds.images, ds.labels)
    if not MeansCache(cache / "means", max_bytes=2**40).store(key, means):
        raise SystemExit(f"could not write the means into {cache / 'means'}")
    return key


def app_runs(folder: Path, cache: Path, model: Path, repeats: int, timeout: float,
             tree: str | None = None) -> tuple[list[dict], list[str]]:
    """``repeats`` starts of the real app on the dataset, probed (benchmarks/startup.py's run_once); ``tree``:
    another checkout to run (default: this one)."""
    from startup import run_once

    tree = tree or str(HERE.parent)
    # run in the tree itself: "python -m" puts the working directory before PYTHONPATH on sys.path
    cmd = ["env", "-C", tree, f"PYTHONPATH={tree}", sys.executable, "-m", "explorer", str(model),
           "--dataset", f"npy:{folder}", "--split", "all"]
    runs = []
    for i in range(repeats):
        r = run_once(cmd, cache, timeout)
        runs.append(r)
        print(f"start {i + 1}: first image {r['interactive']:.2f} s, points {r.get('points', float('nan')):.2f} s, "
              f"all points {r.get('points-full', r.get('points', float('nan'))):.2f} s, peak "
              f"{r.get('VmHWM_done', 0) / 2**20:.0f} MB; load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    return runs, cmd


def speed_run(folder: Path, cache: Path, model: Path, a) -> tuple[dict, list[str]]:
    """benchmarks/explorer_speed.py's click and pan rows on the window's own 10 M points, in a subprocess."""
    out = Path(tempfile.mkdtemp(prefix="points10m-")) / "speed.json"
    cmd = [sys.executable, str(HERE / "explorer_speed.py"), "--model", str(model), "--dataset", f"npy:{folder}",
           "--split", "all", "--only", "click,pan", "--scatter-data", "session", "--no-scale", "--wait-index",
           "--clicks", str(a.clicks), "--pan-repeats", str(a.pan_repeats), "--timeout", str(a.timeout), "--json", str(out)]
    env = dict(os.environ, LATENT_EXPLORER_CACHE=str(cache), QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(HERE.parent))
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=a.timeout * 20)
    if r.returncode != 0 or not out.exists():
        raise SystemExit(f"{shlex.join(cmd)} failed ({r.returncode}):\n{r.stderr[-3000:]}")
    return json.loads(out.read_text()), cmd


def measure(a, model: Path) -> None:
    load0 = os.getloadavg()
    runs, app_cmd = app_runs(a.folder, a.cache, model, a.repeats, a.timeout, a.tree)
    if a.app_only:
        speed, speed_cmd = {"results": {}, "env": {}}, []
    else:
        print("click and pan ...", file=sys.stderr, flush=True)
        speed, speed_cmd = speed_run(a.folder, a.cache, model, a)
    load1 = os.getloadavg()
    res, env = speed["results"], speed["env"]

    def med(key: str, scale: float = 1.0) -> str:
        values = [r[key] * scale for r in runs if key in r]
        if not values:
            return "-"
        return f"{statistics.median(values):.2f} s ({', '.join(f'{v:.2f}' for v in values)})"

    def mb(key: str) -> str:
        values = [r[key] / 2**20 for r in runs if key in r]
        return f"{statistics.median(values):.0f} MB ({', '.join(f'{v:.0f}' for v in values)})"

    n = len(np.load(a.folder / "y.npy", mmap_mode="r"))
    print(f"\n{n:,} points (npy:{a.folder}, split all), means cached; {os.cpu_count()} CPUs, load average "
          f"{load0[0]:.1f} at start, {load1[0]:.1f} at end; Python {platform.python_version()}\n")
    print("| metric | goal | measured | how |\n|---|---|---|---|")
    rows = [
        ("open to window shown", "", med("shown"), "Popen to the probe's 'shown' line; median (each run)"),
        ("open to the scatter's first paint", "< 2 s", med("points"),
         "to the first density raster on screen: a preview drawn from a 500,000-point sample"),
        ("open to every point painted", "", med("points-full"), "to the first raster of all the points on screen"),
        ("open to first image", "", med("interactive"), "to the first decoded image shown (numpy decoder, torch not loaded)"),
        ("peak RSS (VmHWM) at open", "< 2 GB", mb("VmHWM_done"), "when the first image and every point are on screen"),
    ]
    if not a.app_only:
        c, p = res["click"], res["pan"]
        rows += [
            ("pan/zoom repaint", "< 33 ms", f"{p['median'] * 1e3:.1f} ms",
             f"vb.setRange + viewport repaint, median of {p['n']}; p90 {p['p90'] * 1e3:.1f} ms, max {p['max'] * 1e3:.1f} ms"),
            ("density raster refresh after a pan/zoom", "", f"{p['refresh_median'] * 1e3:.0f} ms",
             f"request to the new view's raster painted (off the GUI thread); max {p['refresh_max'] * 1e3:.0f} ms"),
            ("click to image, p50 / p99", "as at 70,000 (~3 ms)", f"{c['median'] * 1e3:.1f} / {c['p99'] * 1e3:.1f} ms",
             f"{c['n']} clicks (QMouseEvents) after the k-d tree is built (waited {env.get('index_wait_s', 0):.1f} s "
             f"after the torch model took over); max {c['max'] * 1e3:.1f} ms"),
            ("peak RSS (VmHWM), click + pan run", "< 2 GB", f"{env.get('VmHWM_MB', 0):.0f} MB", "explorer_speed.py's process"),
        ]
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\nApp: `LATENT_EXPLORER_STARTUP_PROBE=1 QT_QPA_PLATFORM=offscreen LATENT_EXPLORER_CACHE={a.cache} "
          f"{shlex.join(app_cmd)}`")
    if speed_cmd:
        print(f"Click and pan: `LATENT_EXPLORER_CACHE={a.cache} {shlex.join(speed_cmd)}`")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="write the npy: dataset folder")
    b.add_argument("folder", type=Path)
    b.add_argument("--images", type=int, default=10_000_000)
    b.add_argument("--data-dir", default=DATA_DIR)
    s = sub.add_parser("seed", help="put the tiled means into a means cache")
    s.add_argument("folder", type=Path)
    s.add_argument("--cache", type=Path, required=True, help="a LATENT_EXPLORER_CACHE folder")
    s.add_argument("--model", type=Path, default=None)
    s.add_argument("--data-dir", default=DATA_DIR)
    m = sub.add_parser("measure", help="run the app on it and print the table")
    m.add_argument("folder", type=Path)
    m.add_argument("--cache", type=Path, required=True)
    m.add_argument("--model", type=Path, default=None)
    m.add_argument("--repeats", type=int, default=3, help="app starts (median reported)")
    m.add_argument("--clicks", type=int, default=200)
    m.add_argument("--pan-repeats", type=int, default=20)
    m.add_argument("--timeout", type=float, default=900.0)
    m.add_argument("--tree", default=None, help="run the app from this checkout (e.g. a baseline worktree)")
    m.add_argument("--app-only", action="store_true", help="only the app starts, not the click and pan run")
    a = p.parse_args(argv)
    from explorer.core.session import default_model_path

    model = getattr(a, "model", None) or default_model_path()
    if a.cmd == "build":
        build(a.folder, a.images, a.data_dir)
    elif a.cmd == "seed":
        t0 = time.perf_counter()
        key = seed(a.folder, a.cache, model, a.data_dir)
        print(f"means stored under {a.cache / 'means' / key}.npy in {time.perf_counter() - t0:.1f} s")
    else:
        measure(a, model)
    return 0


if __name__ == "__main__":
    sys.exit(main())
