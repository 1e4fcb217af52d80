"""Nearest-sample lookups (explorer.core.latent.NearestIndex): the k-d tree against brute force.

    python benchmarks/nearest_index.py [--sizes 10000 70000 1000000] [--queries 500]

Random Gaussian points in 10 classes; one query is ``index.nearest(z)`` as the pane calls it, with
every class visible and with one hidden. The tree's build (scipy's import the first time included)
runs on a background thread; the time until it is ready is reported too.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from explorer.core.latent import NearestIndex


def per_query(index: NearestIndex, qs: np.ndarray) -> float:
    t = time.perf_counter()
    for q in qs:
        index.nearest(q)
    return (time.perf_counter() - t) / len(qs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 70_000, 1_000_000])
    p.add_argument("--queries", type=int, default=500)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    print("| points | tree ready after | query (all visible) | query (one class hidden) | brute force query |")
    print("|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        pts = rng.normal(size=(n, 2)).astype(np.float32)
        labels = rng.integers(0, 10, n)
        qs = rng.normal(size=(args.queries, 2)).astype(np.float32)
        t = time.perf_counter()
        index = NearestIndex(pts, labels, tree=True)
        index.wait_tree(120)
        ready = time.perf_counter() - t
        all_visible = per_query(index, qs)
        index.set_visible_labels(set(range(1, 10)))
        hidden = per_query(index, qs)
        brute = per_query(NearestIndex(pts, labels, tree=False), qs[:50])
        print(f"| {n:,} | {ready:.2f} s | {all_visible * 1e6:.0f} us | {hidden * 1e6:.0f} us | {brute * 1e3:.2f} ms |")


if __name__ == "__main__":
    main()
