"""Row "dims" (issue 18): a D-dim model's dims slider dragged through its range, and re-projection.

drag: ``window.dims.sliders[k].slider.setValue(v)`` (what a drag of the slider does) at ``--dims-rate``
per second for ``--dims-seconds``, v a triangle wave 0 -> max -> min -> 0, once with ``state.fade`` off and
once on. The moves are made from a 1 ms QTimer inside the event loop (as a real drag's mouse moves
arrive), and the driver sleeps in ``processEvents(WaitForMoreEvents)`` between them, as the app's loop
does. Per move: the synchronous ``setValue`` (the slice's event and everything connected to it: the
pane's request, with fading the scatter's re-labelling), the request id it made, and the density
layer's generation after it. A frame is a move whose decoded image was shown (``decodeShown`` for that
move's request, a new z). Lateness of a move (how long after its due time the timer could run it) is
the GUI thread's blocking. With fading on, a raster is a ``DensityLayer.shown`` whose job is a move's
generation; its refresh time is from before that move to the raster on screen, and the worker's
render time is timed around ``RasterWorker.compute``.

reproject: ``state.slice.use_axes(0, 1)`` alternating with ``use_pca()`` (a preset change: the means
re-projected, the scatter re-set, the sliders rebuilt, the pane decoded on the new plane): the
synchronous call, and until the pane shows the new plane's image and the raster is on screen.
"""

from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QEventLoop, Qt, QTimer

from speed.driver import GUARD, Driver, ms, pct, wait_for_raster


def add_arguments(p) -> None:
    p.add_argument("--dims-seconds", type=float, default=4.0, help="dims: seconds of slider drag, per fade setting")
    p.add_argument("--dims-rate", type=float, default=60.0, help="dims: slider moves per second")
    p.add_argument("--dims-slider", type=int, default=0, help="dims: which slider (0 = the first, PC 3 on the PCA slice)")
    p.add_argument("--reproject-repeats", type=int, default=10, help="dims: timed preset changes, per fade setting")


def _wave(frac: float) -> float:
    """Triangle wave in [-1, 1]: 0 at 0, 1 at 1/4, -1 at 3/4, 0 at 1."""
    f = frac % 1.0
    return 4 * f if f < 0.25 else 2 - 4 * f if f < 0.75 else 4 * f - 4


def _check(d: Driver, args) -> None:
    sl = d.win.state.slice
    if sl.dim <= 2 or not d.win.dims.sliders:
        raise SystemExit(f"dims: the model {args.model} is {sl.dim}-D; this row needs a model of latent dimension > 2")
    if args.dims_slider >= len(d.win.dims.sliders):
        raise SystemExit(f"dims: --dims-slider {args.dims_slider}, but the Slice panel has {len(d.win.dims.sliders)} sliders")


def _timed_compute(d: Driver) -> list[tuple[int, float]]:
    """Wrap the density worker's compute (an instance attribute) to time each render: (job id, seconds)."""
    worker = d.view.density.worker
    log: list[tuple[int, float]] = []
    if not getattr(worker, "_bench_timed", False):
        orig = worker.compute

        def compute(job, _orig=orig):
            a = time.perf_counter()
            try:
                return _orig(job)
            finally:
                log.append((job.id, time.perf_counter() - a))

        worker.compute = compute
        worker._bench_timed = log
    return worker._bench_timed


def drag(d: Driver, args, fade: bool) -> dict:
    win, state, layer = d.win, d.win.state, d.view.density
    state.fade = fade
    state.slice.reset_origin()
    d.wait(lambda: not d.point_ids or d.point_ids[-1] in d.shown, args.timeout)
    wait_for_raster(d)
    d.settle(0.3)
    slider = win.dims.sliders[args.dims_slider].slider
    hi, lo = float(slider.maximum()), float(slider.minimum())
    renders = _timed_compute(d)
    r0 = len(renders)
    rasters: list[tuple[float, int]] = []
    on_raster = lambda job: rasters.append((time.perf_counter(), job.id))  # noqa: E731
    layer.shown.connect(on_raster)
    moves: list[dict] = []
    period, dur = 1.0 / args.dims_rate, args.dims_seconds
    sched = {"next": 0.0, "late_skips": 0}

    def tick() -> None:
        now = time.perf_counter()
        if now < sched["next"] or now - t0 >= dur:
            return
        frac = (now - t0) / dur
        v = (hi if _wave(frac) >= 0 else -lo) * _wave(frac)
        n_req = len(d.point_ids)
        c0 = time.thread_time()
        a = time.perf_counter()
        slider.setValue(v)
        b = time.perf_counter()
        moves.append({"t": a, "late": a - sched["next"], "set": b - a, "cpu": time.thread_time() - c0,
                      "rid": d.point_ids[-1] if len(d.point_ids) > n_req else None, "gen": layer.generation})
        sched["next"] += period
        if sched["next"] < time.perf_counter():  # a whole period behind: skip to the next due time
            sched["late_skips"] += 1
            sched["next"] = t0 + period * (int((time.perf_counter() - t0) / period) + 1)

    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(1)
    timer.timeout.connect(tick)
    GUARD.top_up()
    cpu0 = time.thread_time()
    t0 = time.perf_counter()
    sched["next"] = t0
    timer.start()
    while time.perf_counter() - t0 < dur:
        d.app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
    t_end = time.perf_counter()
    gui_cpu = time.thread_time() - cpu0
    timer.stop()
    d.wait(lambda: not d.point_ids or d.point_ids[-1] in d.shown, args.timeout)
    wait_for_raster(d)
    d.settle(0.2)
    layer.shown.disconnect(on_raster)

    shown_lat, last_z, frames = [], None, 0
    for m in moves:
        hit = d.shown.get(m["rid"]) if m["rid"] is not None else None
        if hit is None:
            continue
        t_shown, res = hit
        shown_lat.append(t_shown - m["t"])
        z = tuple(np.round(res.z, 7))
        if t_shown <= t_end and z != last_z:
            frames += 1
        last_z = z
    gen_t = {m["gen"]: m["t"] for m in moves}
    raster_lat = [t - gen_t[g] for t, g in rasters if g in gen_t]
    rasters_in = sum(1 for t, g in rasters if g in gen_t and t <= t_end)
    render_s = [s for _g, s in renders[r0:]]
    late = [m["late"] for m in moves]
    return {"fade": fade, "seconds": t_end - t0, "moves": len(moves), "late_skips": sched["late_skips"],
            "requests": sum(m["rid"] is not None for m in moves), "shown": len(shown_lat), "frames": frames,
            "frames_per_s": frames / (t_end - t0), "lat_median": pct(shown_lat, 50), "lat_p99": pct(shown_lat, 99),
            "set_median": pct([m["set"] for m in moves], 50), "set_p99": pct([m["set"] for m in moves], 99),
            "set_max": max((m["set"] for m in moves), default=float("nan")),
            "cpu_per_move": gui_cpu / max(1, len(moves)), "set_cpu_median": pct([m["cpu"] for m in moves], 50),
            "late_median": pct(late, 50), "late_p99": pct(late, 99), "late_max": max(late, default=float("nan")),
            "rasters": len(raster_lat), "rasters_per_s": rasters_in / (t_end - t0),
            "raster_median": pct(raster_lat, 50), "raster_p99": pct(raster_lat, 99),
            "renders": len(render_s), "render_median": pct(render_s, 50), "render_p99": pct(render_s, 99),
            "slider_range": (lo, hi), "raster_active": bool(layer.active)}


def reproject(d: Driver, args, fade: bool) -> dict:
    state = d.win.state
    state.fade = fade
    state.slice.use_pca()
    d.wait(lambda: not d.point_ids or d.point_ids[-1] in d.shown, args.timeout)
    wait_for_raster(d)
    d.settle(0.3)
    sync, full, cpu = [], [], []
    for i in range(1 + args.reproject_repeats):  # one warm-up
        GUARD.top_up()
        n_req = len(d.point_ids)
        c0 = time.thread_time()
        a = time.perf_counter()
        if i % 2 == 0:
            state.slice.use_axes(0, 1)
        else:
            state.slice.use_pca()
        b = time.perf_counter()
        c = time.thread_time() - c0
        if len(d.point_ids) > n_req:
            rid = d.point_ids[-1]
            d.wait_asleep(lambda rid=rid: rid in d.shown, args.timeout)
        wait_for_raster(d)
        e = time.perf_counter()
        if i:
            sync.append(b - a)
            full.append(e - a)
            cpu.append(c)
        d.settle(0.1)
    state.slice.use_pca()
    d.settle(0.2)
    return {"fade": fade, "n": len(sync), "sync_median": pct(sync, 50), "sync_max": max(sync, default=float("nan")),
            "cpu_median": pct(cpu, 50), "full_median": pct(full, 50), "full_max": max(full, default=float("nan"))}


def run(d: Driver, args) -> dict:
    _check(d, args)
    out = {"dim": d.win.state.slice.dim, "points": len(d.plane_points()), "sliders": len(d.win.dims.sliders)}
    for fade in (False, True):
        out[f"drag-fade-{'on' if fade else 'off'}"] = drag(d, args, fade)
    for fade in (False, True):
        out[f"reproject-fade-{'on' if fade else 'off'}"] = reproject(d, args, fade)
    d.win.state.fade = False
    return out


def rows(args, env: dict, r: dict) -> list[tuple]:
    if "dims" not in r:
        return []
    g, rows = r["dims"], []
    where = f"{g['dim']}-D model, {g['points']:,} points, slider {args.dims_slider} of {g['sliders']}"
    for fade in ("off", "on"):
        m = g[f"drag-fade-{fade}"]
        how = (f"{where}; slider.setValue at {args.dims_rate:g}/s from a 1 ms timer in the event loop, a triangle "
               f"through [{m['slider_range'][0]:+.2f}, {m['slider_range'][1]:+.2f}] for {m['seconds']:.1f} s: "
               f"{m['moves']} moves ({m['late_skips']} skipped as a period late), {m['requests']} pane requests, "
               f"{m['shown']} shown; frame = decodeShown of a move's request with a new z")
        rows.append((f"dims drag, fade {fade}: frames shown per s", ">= 55/s", f"{m['frames_per_s']:.1f}/s", how))
        rows.append((f"dims drag, fade {fade}: move to image, p50 / p99", "",
                     f"{ms(m['lat_median'])} / {ms(m['lat_p99'])}", "from before setValue to decodeShown of its request "
                     "(moves whose request was replaced by a newer one are not counted)"))
        rows.append((f"dims drag, fade {fade}: GUI thread per move: setValue p50 / p99 / max; CPU per move", "< 16 ms",
                     f"{ms(m['set_median'])} / {ms(m['set_p99'])} / {ms(m['set_max'])}; {ms(m['cpu_per_move'])}",
                     f"setValue wall time (synchronous handlers; its CPU median {ms(m['set_cpu_median'])}); the GUI "
                     "thread's CPU time over the drag / moves (everything: handlers, repaints, results); a move's "
                     f"lateness p50 / p99 / max {ms(m['late_median'])} / {ms(m['late_p99'])} / {ms(m['late_max'])}"))
        if fade == "on":
            rows.append(("dims drag, fade on: raster refresh, p50 / p99; rasters per s", "",
                         f"{ms(m['raster_median'])} / {ms(m['raster_p99'])}; {m['rasters_per_s']:.1f}/s",
                         f"from before a move to DensityLayer.shown of that move's raster ({m['rasters']} of "
                         f"{m['moves']} moves got theirs on screen; the others were superseded); render on the worker "
                         f"p50 / p99 {ms(m['render_median'])} / {ms(m['render_p99'])} over {m['renders']} renders"
                         + ("" if m["raster_active"] else "; NOTE: the plane was not a raster")))
    for fade in ("off", "on"):
        m = g[f"reproject-fade-{fade}"]
        rows.append((f"re-projection (preset change), fade {fade}: call / to image and raster, median (max)", "",
                     f"{ms(m['sync_median'])} ({ms(m['sync_max'])}) / {ms(m['full_median'])} ({ms(m['full_max'])})",
                     f"{where}; state.slice.use_axes(0, 1) alternating with use_pca(), {m['n']} timed after one warm-up; "
                     f"the synchronous call (CPU median {ms(m['cpu_median'])}), and until the pane shows the new "
                     "plane's image and the density raster is on screen"))
    return rows
