"""Rows 3 and 4, scatter and pan/zoom: ``view.set_points`` of the 70,000 points + the first repaint;
``vb.setRange`` + repaint and the density raster's refresh; the same at 1,000,000 points and with the
old per-class scatter items (``run_scale``)."""

from __future__ import annotations

import argparse
import time

import numpy as np
from PySide6.QtCore import QEventLoop

from speed.driver import PAINTS, Driver, ms, pct, wait_for_raster


def run(d: Driver, args, rng, means, labels, names) -> dict:
    view = d.view
    build, paint, total, painted, cpu = [], [], [], [], []
    counter = PAINTS
    for _ in range(args.scatter_repeats):
        view.set_points(np.zeros((0, 2), np.float32), np.zeros(0, np.int64), [])  # start empty (untimed)
        d.settle(0.1)
        counter["n"] = 0
        c0 = time.thread_time()
        t0 = time.perf_counter()
        view.set_points(means, labels, names)
        wait_for_raster(d)  # a raster made off the GUI thread: until it is on screen
        t1 = time.perf_counter()
        d.vp.repaint()
        t2 = time.perf_counter()
        cpu.append(time.thread_time() - c0)
        build.append(t1 - t0)
        paint.append(t2 - t1)
        total.append(t2 - t0)
        painted.append(counter["n"])
        d.settle(0.1)
    return {"points": len(means), "total_median": pct(total, 50), "total_max": max(total), "build_median": pct(build, 50),
            "paint_median": pct(paint, 50), "cpu_median": pct(cpu, 50), "scatter_paint_calls": painted}


def run_scale(d: Driver, args, rng, means, labels, names) -> dict:
    """The density view at 1,000,000 points (the dataset's means repeated with a little jitter), and
    the old renderer (one ScatterPlotItem per class, all points) at the dataset's size, in this run."""
    out = {}
    reps = max(1, int(np.ceil(1_000_000 / len(means))))
    big = (np.tile(means, (reps, 1))[:1_000_000] + rng.normal(0, 0.01, (1_000_000, 2))).astype(np.float32)
    big_labels = np.tile(labels, reps)[:1_000_000]
    for key, (m, lab, how, goal) in {
        "scatter-1m": (big, big_labels, "density raster", "< 1 s"),
        "scatter-baseline": (means, labels, "one ScatterPlotItem per class", "(baseline)"),
    }.items():
        build = []
        for _ in range(max(1, args.scatter_repeats)):
            d.view.set_points(np.zeros((0, 2), np.float32), np.zeros(0, np.int64), [])
            d.settle(0.1)
            t0 = time.perf_counter()
            if key == "scatter-baseline":  # the renderer as it was: every point as a scatter item
                d.view.points_data = (m, lab, len(names))
                d.view.density.active = False
                d.view.density.image.setVisible(False)
                d.view.build_scatters()
            else:
                d.view.set_points(m, lab, names)
                wait_for_raster(d)
            d.vp.repaint()
            build.append(time.perf_counter() - t0)
        pan = run_pan(d, argparse.Namespace(**{**vars(args), "pan_repeats": max(3, args.pan_repeats // 2)}), rng)
        out[key] = {"points": len(m), "how": how, "goal": goal, "build": pct(build, 50), "pan": pan["median"],
                    "refresh": pan["refresh_median"]}
    return out


def run_pan(d: Driver, args, rng) -> dict:
    vb = d.view.vb
    (x0, x1), (y0, y1) = vb.viewRange()
    cx, cy, w, h = (x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0
    times, counter_paints, cpu, refresh = [], [], [], []
    counter = PAINTS
    for i in range(args.pan_repeats + 1):  # one warm-up
        # odd steps zoom in or out around a nearby centre; even steps pan by up to a fifth of the view
        s = float(rng.choice([0.6, 0.8, 1.25, 1.6])) if i % 2 else 1.0
        dx, dy = (rng.random(2) - 0.5) * 0.4 * np.array([w, h])
        nx, ny = cx + dx, cy + dy
        counter["n"] = 0
        c0 = time.thread_time()
        t0 = time.perf_counter()
        vb.setRange(xRange=(nx - s * w / 2, nx + s * w / 2), yRange=(ny - s * h / 2, ny + s * h / 2), padding=0)
        d.vp.repaint()
        t = time.perf_counter() - t0
        # the density raster's debounced refresh for the new view (a GUI-thread stall once the pan pauses)
        t1 = time.perf_counter()
        if d.view.density.active:
            if hasattr(d.view.density, "worker"):  # rendered off the GUI thread: from the request to it painted
                n0 = d.view.density.renders
                d.view.density.request()
                while d.view.density.renders == n0 and time.perf_counter() - t1 < args.timeout:
                    d.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
            else:
                d.view.density.render()
            d.vp.repaint()
        tr = time.perf_counter() - t1
        if i > 0:
            times.append(t)
            refresh.append(tr)
            cpu.append(time.thread_time() - c0)
            counter_paints.append(counter["n"])
        d.settle(0.05)
    d.win.view.reset_view()
    return {"n": len(times), "median": pct(times, 50), "max": max(times), "p90": pct(times, 90), "cpu_median": pct(cpu, 50),
            "scatter_paint_calls_min": min(counter_paints), "refresh_median": pct(refresh, 50),
            "refresh_max": max(refresh), "raster": d.view.density.active}


def rows(args, env: dict, r: dict) -> list[tuple]:
    rows = []
    if "scatter" in r:
        s = r["scatter"]
        how = (f"view.set_points(means, labels, names) + view.viewport().repaint(), median of {args.scatter_repeats} "
               f"(from an empty plot); build {ms(s['build_median'])} + paint {ms(s['paint_median'])}; GUI-thread CPU time "
               f"{ms(s['cpu_median'])}; "
               f"points: {env['scatter_source']}")
        rows.append((f"scatter build + first paint, {s['points']:,} points", "< 0.3 s", f"{s['total_median']:.3f} s", how))
    if "pan" in r:
        p = r["pan"]
        how = (f"vb.setRange (alternately a pan by up to 20 % and a zoom x0.6..1.6) + view.viewport().repaint(), "
               f"median of {p['n']} after 1 warm-up; p90 {ms(p['p90'])}, max {ms(p['max'])}; GUI-thread CPU time median {ms(p['cpu_median'])}; points: {env['scatter_source']}")
        rows.append((f"pan/zoom repaint, {env['scatter_points']:,} points", "< 16 ms (no goal set; one 60 Hz frame)",
                     ms(p["median"]), how))
        if p.get("raster"):
            rows.append((f"density raster refresh after a pan/zoom, {env['scatter_points']:,} points", "< 33 ms",
                         ms(p["refresh_median"]), "the new view's raster, from view.density.request() (off the GUI "
                         "thread; before issue 11: view.density.render() on it) until it is painted, without the "
                         f"debounce; max {ms(p['refresh_max'])}; benchmarks/raster_refresh.py times the GUI stall"))
    for key, label in (("scatter-1m", "1,000,000"), ("scatter-baseline", "baseline")):
        if key in r:
            b = r[key]
            rows.append((f"{label}: build + first paint ({b['points']:,} points, {b['how']})", b["goal"],
                         f"{b['build']:.3f} s", "set_points + repaint, median"))
            rows.append((f"{label}: pan/zoom repaint ({b['points']:,} points)", "",
                         ms(b["pan"]), f"setRange + repaint; raster refresh {ms(b['refresh'])}"))
    return rows


def warning_rows(r: dict) -> list[tuple]:
    rows = []
    if ("scatter" in r and min(r["scatter"]["scatter_paint_calls"]) == 0 or "pan" in r and r["pan"]["scatter_paint_calls_min"] == 0) \
            and not r.get("pan", {}).get("raster"):
        rows.append(("WARNING", "", "", "a timed repaint did not call ScatterPlotItem.paint: the paint times are not valid"))
    return rows
