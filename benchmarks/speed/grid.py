"""Row 6, grid: the manifold underlay at a density on a square view, from ``set_underlay(True)`` to
``window.underlayShown``; plus the one-``model.decode``-per-cell baseline."""

from __future__ import annotations

import threading
import time

import numpy as np

from explorer.core import latent
from speed.driver import Driver, ms, pct


def run(d: Driver, args) -> dict:
    import torch

    win, vb = d.win, d.view.vb
    lo, hi = np.percentile(d.plane_points(), [0.5, 99.5], axis=0)
    cx, cy = (lo + hi) / 2
    half = float((hi - lo).max()) / 2 * 1.1
    vb.setAspectLocked(False)  # a square range on a non-square plot: grid_for_view gives density x density
    vb.setRange(xRange=(cx - half, cx + half), yRange=(cy - half, cy + half), padding=0)
    win.density.setValue(args.grid_density)
    d.settle(0.3)
    e2e, worker, queue, tile_s, repaint, shape, preview = [], [], [], [], [], None, []
    for i in range(1 + args.grid_repeats):  # one warm-up
        win.set_underlay(False)
        win.underlay.cache.clear()  # a cold render: every cell decoded
        d.settle(0.05)
        n0 = len(d.grid_reqs)
        p0 = len(d.previews)
        t0 = time.perf_counter()
        win.set_underlay(True)
        if len(d.grid_reqs) == n0:
            raise SystemExit("grid: set_underlay(True) made no request")
        rid, (lattice, _keys, *_label) = d.grid_reqs[-1]  # meta: (lattice, keys, class of a conditional model)
        grid = lattice.grid()
        if not d.wait_asleep(lambda rid=rid: rid in d.grids, args.timeout):
            raise SystemExit(f"grid: no underlay within {args.timeout} s ({d.errors})")
        t1, res = d.grids[rid]
        a = time.perf_counter()
        d.vp.repaint()
        rp = time.perf_counter() - a
        shape = (grid.nx, grid.ny)
        a = time.perf_counter()
        latent.tile(res.images, grid)
        ts = time.perf_counter() - a
        if i > 0:
            e2e.append(t1 - t0)
            if len(d.previews) > p0:
                preview.append(d.previews[p0] - t0)
            worker.append(res.seconds)
            queue.append(res.posted - t0)
            tile_s.append(ts)
            repaint.append(rp)
    win.set_underlay(False)
    vb.setAspectLocked(True)
    win.view.reset_view()
    d.settle(0.3)
    # baseline: one model.decode per cell, one z each, on one thread (as a naive worker would)
    n = args.baseline_cells or args.grid_density ** 2
    xy = grid.centres()[:n] if n <= grid.nx * grid.ny else np.resize(grid.centres(), (n, 2))
    zs = torch.from_numpy(np.ascontiguousarray(win.state.slice.lift(xy), np.float32))  # plane -> z (D-dim models)
    model, out = win.session.model, {}

    def baseline():
        torch.set_num_threads(1)
        with torch.inference_mode():
            model.decode(zs[:1])
            a = time.perf_counter()
            for k in range(n):
                model.decode(zs[k : k + 1])
            out["per_cell"] = time.perf_counter() - a
            a = time.perf_counter()
            model.decode(zs)
            out["one_batch_1thread"] = time.perf_counter() - a

    th = threading.Thread(target=baseline, name="baseline")
    th.start()
    th.join()
    return {"grid": shape, "cells": shape[0] * shape[1], "e2e_median": pct(e2e, 50), "e2e_max": max(e2e),
            "preview_median": pct(preview, 50) if preview else None,
            "worker_median": pct(worker, 50), "tile_median": pct(tile_s, 50), "repaint_after_median": pct(repaint, 50),
            "baseline_cells": n, "baseline_per_cell_s": out["per_cell"], "baseline_one_batch_1thread_s": out["one_batch_1thread"]}


def rows(args, env: dict, r: dict) -> list[tuple]:
    rows = []
    if "grid" in r:
        g = r["grid"]
        how = (f"set_underlay(True) at density {args.grid_density} on a square view -> grid {g['grid'][0]}x{g['grid'][1]} = "
               f"{g['cells']} centres in one request to the model service's bulk lane (2 threads) -> latent.tile -> underlayShown; "
               f"median of {args.grid_repeats} after 1 warm-up; max {ms(g['e2e_max'])}; tile {ms(g['tile_median'])}; "
               f"repaint after {ms(g['repaint_after_median'])} (not included)")
        rows.append((f"manifold grid {g['grid'][0]}x{g['grid'][1]}, end-to-end", "< 0.2 s", f"{g['e2e_median']:.3f} s", how))
        rows.append(("manifold grid, worker decode", "", f"{g['worker_median']:.3f} s", "DecodeResult.seconds (one batched model.decode, 2 torch threads)"))
        if g.get("preview_median") is not None:
            rows.append(("manifold grid, coarse first pass on screen", "< 50 ms", ms(g["preview_median"]),
                         "from set_underlay(True) to Underlay.preview_shown (cells 4x larger, 1/16 of the decodes)"))
        rows.append((f"one call per cell ({g['baseline_cells']} x model.decode of 1 z, 1 thread)", "(baseline)",
                     f"{g['baseline_per_cell_s']:.3f} s",
                     f"for comparison; the same {g['baseline_cells']} z in one call on 1 thread: {g['baseline_one_batch_1thread_s']:.3f} s"))
    return rows
