"""The command line and the table of benchmarks/explorer_speed.py: which rows run, in which order, and
how their results are printed (a Markdown table on stdout, each row group on stderr as it finishes)."""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path

import numpy as np

from explorer.core.session import default_model_path
from speed import click, dims, drag, grid, load, scatter, snapshots, startup
from speed.driver import GUARD, Driver, scatter_points

BENCHES = ("startup", "click", "drag", "grid", "scatter", "pan", "snapshots")  # the default run
EXTRA = ("load", "dims")  # rows run only when named in --only (dims: a model of latent dimension > 2)


def parse_args(argv=None, description: str = "") -> argparse.Namespace:
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--model", help="a .safetensors model (default: the bundled assets/fashion-mnist-vae.safetensors)")
    p.add_argument("--dataset", help="dataset the window shows (default: the model's own)")
    p.add_argument("--split", choices=["train", "test", "all"], help="split the window shows (default: the app's)")
    p.add_argument("--data-dir")
    p.add_argument("--compare", nargs="+", default=[], metavar="MODEL",
                   help="also open these models side by side (issue 10); click latency is then until EVERY pane "
                        "shows the click, and drag frames are counted per pane")
    p.add_argument("--only", default=",".join(BENCHES), help=f"comma-separated subset of {','.join(BENCHES)}, or also {','.join(EXTRA)} "
                   "(run first, in a fresh window: see --load)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--size", default="1280x800", help="window size")
    p.add_argument("--clicks", type=int, default=300)
    p.add_argument("--click-warmup", type=int, default=10, help="clicks before the measured ones (not counted)")
    p.add_argument("--click-gap-ms", type=float, default=20.0, help="event processing between clicks")
    p.add_argument("--drag-seconds", type=float, default=5.0)
    p.add_argument("--drag-rate", type=float, default=120.0, help="mouse-move events per second")
    p.add_argument("--drag-mode", choices=["marker", "hover", "both"], default="marker")
    p.add_argument("--scatter-points", type=int, default=70000)
    p.add_argument("--scatter-data", choices=["auto", "encode", "random", "session"], default="auto",
                   help="encode Fashion-MNIST (train+test) with the model, or random 10-class blobs; auto = encode if found; "
                        "session = the points the window opened with (--dataset), as they are")
    p.add_argument("--no-scale", action="store_true", help="pan: skip the 1,000,000-point and per-class-items rows "
                   "(run_scale; at 10 M session points its per-class baseline would build 10 M-point ScatterPlotItems)")
    p.add_argument("--wait-index", action="store_true", help="after the open, wait until the nearest-image index "
                   "(NearestIndex's k-d tree) is built before any row, and report how long that took")
    p.add_argument("--scatter-repeats", type=int, default=5)
    p.add_argument("--pan-repeats", type=int, default=20)
    p.add_argument("--startup-repeats", type=int, default=3)
    p.add_argument("--startup-timeout", type=float, default=300.0)
    p.add_argument("--grid-density", type=int, default=30)
    p.add_argument("--grid-repeats", type=int, default=5)
    p.add_argument("--baseline-cells", type=int, default=None, help="one-call-per-cell baseline size (default density^2)")
    p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for any one result")
    p.add_argument("--switch-interval", type=float, help="experiment: sys.setswitchinterval(S) in this process "
                   "(Python's default is 0.005; the app does not change it)")
    p.add_argument("--snapshot-model", help="snapshots: a model with training snapshots (default: train a tiny "
                   "one with latent-train --snapshots 8 on synthetic data)")
    p.add_argument("--scrub-repeats", type=int, default=200, help="snapshots: timed scrubs")
    p.add_argument("--json", help="also write the raw results here")
    p.add_argument("--light", action="store_true",
                   help="hold the model in its light phase (issue 11): the numpy decoder serves every request, "
                        "as it does for a click made before torch is loaded (needs cached means); by default the "
                        "benchmarks wait until the torch model has taken over")
    load.add_arguments(p)
    dims.add_arguments(p)
    args = p.parse_args(argv)
    args.only = [b.strip() for b in args.only.split(",") if b.strip()]
    bad = [b for b in args.only if b not in BENCHES + EXTRA]
    if bad:
        p.error(f"unknown benchmark(s) {bad}; choose from {BENCHES + EXTRA}")
    if args.model is None:
        if not default_model_path().exists():
            p.error(f"the bundled model {default_model_path()} does not exist yet; give --model FILE")
        args.default_model = True
        args.model = str(default_model_path())
    else:
        args.default_model = False
    args.width, args.height = (int(v) for v in args.size.lower().split("x"))
    return args


def report(args, env: dict, r: dict) -> str:
    rows = click.rows(args, env, r) + drag.rows(args, env, r) + scatter.rows(args, env, r)
    rows += startup.rows(args, env, r) + grid.rows(args, env, r) + snapshots.rows(args, env, r)
    rows += dims.rows(args, env, r) + scatter.warning_rows(r) + load.rows(args, env, r)
    out = ["| metric | goal | measured | how |", "|---|---|---|---|"]
    out += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(out)


def model_meta(path: str) -> dict:
    try:
        from training.checkpoint import load as load_checkpoint

        md = load_checkpoint(path).metadata
        return {"epochs": md.get("metrics", {}).get("epochs"), "dataset": md.get("dataset", {}).get("name")}
    except Exception:  # noqa: BLE001 - the header line only
        return {}


class Run:
    """One run: the results so far, printed and saved after each row group (a crash later loses only
    what is running)."""

    def __init__(self, args):
        self.args, self.results, self.env, self.meta = args, {}, {}, {}
        self.cmdline = f"QT_QPA_PLATFORM={os.environ['QT_QPA_PLATFORM']} python " + shlex.join(sys.argv)
        self.load0 = os.getloadavg()

    def say(self, what: str) -> None:
        print(f"{what} ...", file=sys.stderr, flush=True)

    def done(self, *keys: str) -> None:
        r = self.results
        if keys:
            print(report(self.args, self.env, {k: r[k] for k in keys}).split("\n", 2)[2], file=sys.stderr, flush=True)
        if self.args.json:
            raw = {k: {kk: vv for kk, vv in v.items() if kk not in ("latencies", "clicks")} for k, v in r.items()}
            if "load" in r:
                raw["load"]["clicks"] = r["load"]["clicks"]  # the per-click stages (the profile)
            Path(self.args.json).write_text(json.dumps({"command": self.cmdline, "model": self.args.model,
                                                        "model_meta": self.meta, "results": raw, "env": self.env},
                                                       indent=1, default=str))


def window_rows(run: Run, d: Driver, rng) -> None:
    """click, drag and grid, in that order, on the one window."""
    args, results = run.args, run.results
    if "click" in args.only:
        run.say("click")
        results["click"] = click.run(d, args, rng)
        run.done("click")
    if "drag" in args.only:
        run.say("drag")
        for mode in (("marker", "hover") if args.drag_mode == "both" else (args.drag_mode,)):
            results[f"drag-{mode}"] = drag.run(d, args, mode)
            run.done(f"drag-{mode}")
    if "dims" in args.only:
        run.say("dims")
        results["dims"] = dims.run(d, args)
        run.done("dims")
    if "grid" in args.only:
        run.say("grid")
        results["grid"] = grid.run(d, args)
        run.done("grid")


def points_rows(run: Run, d: Driver, rng) -> None:
    """scatter and pan/zoom (with the 1,000,000-point and per-class-items rows) on the 70,000 points."""
    args, results, env = run.args, run.results, run.env
    run.say("scatter points")
    means, labels, names, env["scatter_source"] = scatter_points(d, args, rng)
    env["scatter_points"] = len(means)
    if "scatter" in args.only:
        run.say("scatter")
        results["scatter"] = scatter.run(d, args, rng, means, labels, names)
        run.done("scatter")
    else:
        d.view.set_points(means, labels, names)
        d.settle(0.2)
    if "pan" in args.only:
        run.say("pan")
        results["pan"] = scatter.run_pan(d, args, rng)
        run.done("pan")
        if not args.no_scale:
            run.say("scatter at 1,000,000 points and the per-class-items baseline")
            results.update(scatter.run_scale(d, args, rng, means, labels, names))
    d.view.refresh_points(force=True)  # the session's own points again (projected for a D-dim model)


def peak_rss_mb() -> float | None:
    """This process's peak resident memory (VmHWM), in MiB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def print_table(run: Run) -> None:
    import pyqtgraph
    import PySide6
    import torch

    args, env, meta, load0 = run.args, run.env, run.meta, run.load0
    if "snapshots" in run.results:
        sm = run.results["snapshots"]
        print(f"\nSnapshots: {sm['model']} ({sm['snapshots']} training snapshots), shown over {sm['points']:,} "
              "Fashion-MNIST test images", end="")
    print(f"\nModel: {args.model} (trained on {meta.get('dataset')}, {meta.get('epochs')} epochs); window shows "
          f"{env.get('shown', '-')}; {os.cpu_count()} CPUs, load average {load0[0]:.1f} at start, {os.getloadavg()[0]:.1f} at end; "
          f"Python {sys.version.split()[0]}, torch {torch.__version__}, PySide6 {PySide6.__version__}, "
          f"pyqtgraph {pyqtgraph.__version__}, QT_QPA_PLATFORM={os.environ.get('QT_QPA_PLATFORM')}\n")
    print(report(args, env, run.results))
    print(f"\nCommand: `{run.cmdline}`")
    sys.stdout.flush()
    sys.stderr.flush()


def main(argv=None, description: str = "") -> int:
    args = parse_args(argv, description)
    GUARD.top_up()
    if args.switch_interval:
        sys.setswitchinterval(args.switch_interval)
    rng = np.random.default_rng(args.seed)
    run = Run(args)
    if "load" in args.only:  # first: the window must open before anything in this process imports torch
        run.say("load")
        run.results["load"] = load.run(args, rng)
        run.env["shown"] = run.results["load"]["window"]
        run.done("load")
    run.meta = model_meta(args.model)
    if "startup" in args.only:
        run.say("startup")
        run.results["startup"] = startup.run(args)
        run.done("startup")
    d = None
    if "snapshots" in args.only:
        run.say("snapshots")
        run.results["snapshots"] = snapshots.run(args, rng)
        run.done("snapshots")
    if set(args.only) - {"startup", "snapshots", "load"}:
        d = Driver(args)
        s = d.win.session
        run.env["shown"] = f"{s.dataset_name}/{s.split}, {len(s.labels):,} points, decoded with {d.decoder}"
        if hasattr(d, "index_wait"):
            run.env["index_wait_s"] = d.index_wait
        window_rows(run, d, rng)
        if "scatter" in args.only or "pan" in args.only:
            points_rows(run, d, rng)
        if d.errors:
            print(f"errors shown by the window: {d.errors}", file=sys.stderr)
    run.env["VmHWM_MB"] = peak_rss_mb()
    run.done()  # the JSON with the peak
    print_table(run)
    if d is not None:
        d.close()
    # Leave without the interpreter's final garbage collection: tearing a pyqtgraph window down at
    # exit has aborted with PySide6 (DESIGN.md; "none_dealloc" with 6.12.0, see RefGuard).
    os._exit(0)
