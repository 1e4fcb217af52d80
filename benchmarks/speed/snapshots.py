"""Row 7, snapshots: scrubbing a model's cached training snapshots (Watch it learn) through the
state, as the Training slider does, with a synchronous repaint each time; and where that time goes."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from speed.driver import PAINTS, Driver, ms, pct


def snapshot_model(args) -> str:
    if args.snapshot_model:
        return args.snapshot_model
    import tempfile

    out = Path(tempfile.mkdtemp(prefix="bench-snapshots-")) / "snapshots.safetensors"
    exe = shutil.which("latent-train", path=str(Path(sys.executable).parent)) or "latent-train"
    cmd = [exe, "--dataset", "synthetic", "--model", "ae", "--epochs", "2", "--limit", "512", "--batch-size", "32",
           "--lr", "0.005", "--channels", "4,8", "--hidden", "8", "--threads", "1", "--snapshots", "8", "--quiet",
           "--out", str(out)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    return str(out)


def run(args, rng) -> dict:
    """Scrub between cached snapshots through the state, as the slider does, with a repaint each time."""
    model = snapshot_model(args)
    assets = Path(__file__).resolve().parents[2] / "assets" / "fashion-mnist"
    d = Driver(argparse.Namespace(**{**vars(args), "model": model, "dataset": "fashion-mnist",
                                     "data_dir": str(assets), "split": "test"}))
    try:
        panel, st = d.win.training, d.win.state
        t0 = time.perf_counter()
        if not d.wait(lambda: not panel.running, args.timeout) or not panel.complete:
            raise SystemExit(f"snapshots: not computed in {args.timeout:.0f} s: {d.errors}")
        computed_s = time.perf_counter() - t0
        panel.frame_all()  # the Training panel's "Frame all": every snapshot's points in view, so each scrub paints
        d.settle(0.3)
        n = panel.count
        positions = [*range(n), None]
        k = None
        fast, slow, cpu, painted = [], [], [], []
        for i in range(args.scrub_repeats + 5):  # 5 warm-up
            k = positions[(positions.index(k) + int(rng.integers(1, len(positions)))) % len(positions)]  # never the same
            PAINTS["n"] = 0
            c0 = time.thread_time()
            t = time.perf_counter()
            st.snapshot = k  # the slider's write: the plane and pane follow the state
            d.vp.repaint()
            dt = time.perf_counter() - t
            if i >= 5:
                fast.append(dt)
                cpu.append(time.thread_time() - c0)
                painted.append(PAINTS["n"])
            d.app.processEvents()  # the pane's decode result, as between two slider steps
        view = d.view
        st.snapshot = None
        d.app.processEvents()
        set_only, paint_only = [], []  # where the time goes: the state change, then the repaint (CPU time)
        for i in range(max(20, args.scrub_repeats // 4)):
            c0 = time.thread_time()
            st.snapshot = positions[i % len(positions)]
            c1 = time.thread_time()
            d.vp.repaint()
            set_only.append(c1 - c0)
            paint_only.append(time.thread_time() - c1)
            d.app.processEvents()
        # baseline: pyqtgraph's translucent grid (what the plane drew before explorer/qt/plane/grid_lines.py)
        for c in view.grid.curves:
            c.setVisible(False)
        view.plot_item.showGrid(x=True, y=True, alpha=0.12)
        d.app.processEvents()
        no_grid = []
        for i in range(max(20, args.scrub_repeats // 4)):
            t = time.perf_counter()
            st.snapshot = positions[i % len(positions)]
            d.vp.repaint()
            no_grid.append(time.perf_counter() - t)
            d.app.processEvents()
        view.plot_item.showGrid(x=False, y=False)
        for c in view.grid.curves:
            c.setVisible(True)
        d.app.processEvents()
        for i in range(max(10, args.scrub_repeats // 10)):  # the old path: every per-class item rebuilt
            s = st.session.snapshot_sessions[i % n]
            t = time.perf_counter()
            view.set_points(s.means, s.labels.copy(), s.label_names)  # another labels array: no fast path
            d.vp.repaint()
            slow.append(time.perf_counter() - t)
            d.app.processEvents()
        st.snapshot = None
        return {"points": len(st.session.labels), "snapshots": n, "model": model, "computed_s": computed_s,
                "median": pct(fast, 50), "p90": pct(fast, 90), "max": max(fast), "cpu_median": pct(cpu, 50),
                "n": len(fast), "paint_calls_min": min(painted), "rebuild_median": pct(slow, 50),
                "set_cpu_median": pct(set_only, 50), "paint_cpu_median": pct(paint_only, 50),
                "no_grid_median": pct(no_grid, 50), "no_grid_p90": pct(no_grid, 90), "split_n": len(set_only),
                "rebuild_n": len(slow), "errors": list(d.errors)}
    finally:
        d.close()


def rows(args, env: dict, r: dict) -> list[tuple]:
    rows = []
    if "snapshots" in r:
        s = r["snapshots"]
        how = (f"state.snapshot = k (the Training slider's write) + view.viewport().repaint(), {s['n']} scrubs in a "
               f"random walk over {s['snapshots']} cached snapshots and the final weights, after 5 warm-up; p90 "
               f"{ms(s['p90'])}, max {ms(s['max'])}; GUI-thread CPU time median {ms(s['cpu_median'])}; the "
               f"snapshots' planes were computed in {s['computed_s']:.1f} s after the window opened; Fashion-MNIST "
               f"test split shown; model {Path(s['model']).name}")
        rows.append((f"snapshot scrub redraw, {s['points']:,} points, median / p90", "< 16 ms",
                     f"{ms(s['median'])} / {ms(s['p90'])}", how))
        rows.append((f"snapshot scrub: state change / repaint, CPU time, {s['points']:,} points", "",
                     f"{ms(s['set_cpu_median'])} / {ms(s['paint_cpu_median'])}",
                     f"the same scrubs split, GUI-thread CPU time (time.thread_time), median of {s['split_n']}: "
                     f"state.snapshot = k (scatter positions, pane request, caption, title), then the repaint"))
        rows.append((f"snapshot scrub redraw with pyqtgraph's translucent grid, {s['points']:,} points, median / p90",
                     "(baseline)", f"{ms(s['no_grid_median'])} / {ms(s['no_grid_p90'])}",
                     f"the same scrubs with plot_item.showGrid(alpha=0.12) instead of the app's opaque GridLines "
                     f"({s['split_n']} scrubs): translucent lines are slow on Qt's raster engine"))
        rows.append((f"snapshot scrub, per-class items rebuilt, {s['points']:,} points", "(baseline)",
                     ms(s["rebuild_median"]), f"view.set_points with a copy of the labels (no fast path) + repaint, "
                     f"median of {s['rebuild_n']}"))
        if s["paint_calls_min"] == 0:
            rows.append(("WARNING", "", "", "a timed scrub repaint did not call ScatterPlotItem.paint"))
    return rows
