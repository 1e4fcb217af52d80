"""Row 8, under load (issue 23, item 1): clicks while other processes keep the CPUs busy, from the moment
the plane shows, through the model's light phase (numpy decoder; torch importing on the open worker,
explorer/core/light_open.py, explorer/qt/opener.py) into the torch phase.

``--load N`` busy processes (a pure-Python spin loop each, ``multiprocessing`` with fork) start before the
window opens and are killed after. Each click is the click row's press + release on the viewport; the
driver then sleeps in the event loop (as the app's loop does) until ``decodeShown`` for that click's
request, or ``--load-click-timeout`` (then the click is *lost*: a decode worker that died, the bug
explorer/core/torch_gate.py fixed, loses every later click). Every click's time is split by time stamps
(:class:`Probe`) and by the threads' own CPU accounting (``/proc/self/task/TID/schedstat``: time on a CPU,
time runnable but waiting for one); the rest of a thread's wall time it was blocked: for a decode (no I/O)
that is waiting for the GIL.
"""

from __future__ import annotations

import multiprocessing
import os
import subprocess
import sys
import threading
import time

from PySide6.QtCore import QEvent

from speed.driver import LEFT, NOBTN, PANE_PAINTS, Driver, ms, pct

PHASES = ("light", "light, torch importing", "torch")


def add_arguments(p) -> None:
    g = p.add_argument_group("load (--only load)")
    g.add_argument("--load", type=int, default=4, help="busy processes beside the app (0: none)")
    g.add_argument("--load-torch-clicks", type=int, default=100,
                   help="clicks after the torch model has taken over (the row ends then)")
    g.add_argument("--load-nice", type=int, default=0, help="niceness of the busy processes (19: the app first)")
    g.add_argument("--load-click-timeout", type=float, default=10.0, help="a click not shown by then is lost")


def _spin(nice: int) -> None:  # pragma: no cover - runs in the busy processes
    os.nice(nice)
    n = 0
    while True:
        n += 1


def start_load(n: int, nice: int = 0) -> list:
    ctx = multiprocessing.get_context("fork")  # before the window and its threads exist
    procs = [ctx.Process(target=_spin, args=(nice,), daemon=True, name=f"busy-{i}") for i in range(n)]
    for pr in procs:
        pr.start()
    return procs


def stop_load(procs: list) -> None:
    for pr in procs:
        pr.kill()
    for pr in procs:
        pr.join()


def schedstat(tid: int) -> tuple[float, float]:
    """(seconds on a CPU, seconds runnable but waiting for a CPU) of thread ``tid`` so far."""
    with open(f"/proc/self/task/{tid}/schedstat") as f:
        run, wait, _slices = f.read().split()
    return int(run) / 1e9, int(wait) / 1e9


class Probe:
    """Time stamps and CPU accounting of every "pane" request, from hooks on the decode worker
    (``DecodeService._serve``), the bridge (``ServiceBridge._on_result``, on the GUI thread) and
    ``window.decodeShown``. A thread's CPU time is ``time.thread_time`` (exact); its time waiting for a CPU
    is schedstat's run-queue wait (counted when the thread gets a CPU)."""

    def __init__(self):
        from explorer.core.decode_service import DecodeService
        from explorer.qt.bridge import ServiceBridge

        self.gui_tid = threading.get_native_id()
        self.worker: dict[int, dict] = {}  # request id -> stamps taken on the worker
        self.deliver: dict[int, tuple] = {}  # request id -> gui() when the GUI thread got the result
        self.at_shown: dict[int, tuple] = {}  # request id -> gui() at decodeShown
        self.last_rq: dict[int, float] = {}  # worker tid -> its run-queue wait after its last request
        self.first: dict[int, tuple] = {}  # thread id -> (perf_counter, schedstat) when first seen
        serve, on_result, probe = getattr(DecodeService, "_serve", None), ServiceBridge._on_result, self

        def _serve(svc, req):
            if req.channel != "pane":
                return serve(svc, req)
            tid = threading.get_native_id()
            fn = req.fns[0] if req.fns is not None else svc._decode_fn
            st0, c0, t0 = schedstat(tid), time.thread_time(), time.perf_counter()
            rq0 = st0[1]
            probe.first.setdefault(tid, (t0, st0))
            rec = {"start": t0, "backend": getattr(fn, "backend", None) or "torch", "importing": torch_importing(),
                   "wake_rq": rq0 - probe.last_rq.get(tid, rq0)}
            probe.worker[req.id] = rec
            try:
                return serve(svc, req)  # decode, then on_result: the result is queued to the GUI thread
            finally:
                rec["end"], rec["cpu"], rq1 = time.perf_counter(), time.thread_time() - c0, schedstat(tid)[1]
                rec["rq"], rec["gui_rq_at_end"] = rq1 - rq0, schedstat(probe.gui_tid)[1]
                probe.last_rq[tid] = rq1

        def _on_result(bridge, res):
            if res.channel == "pane":
                probe.deliver[res.id] = probe.gui()
            return on_result(bridge, res)

        ServiceBridge._on_result = _on_result  # before the window connects it
        if serve is not None:  # (a tree from before 97ab796 has no _serve: no worker stamps then)
            DecodeService._serve = _serve

    def gui(self) -> tuple[float, float, float]:
        """On the GUI thread: (perf_counter, its CPU time, its run-queue wait)."""
        return time.perf_counter(), time.thread_time(), schedstat(self.gui_tid)[1]

    def threads(self) -> dict[str, dict]:
        """Each thread seen (the GUI thread from the first click, the pane workers from their first
        request) until now: its wall time, time on a CPU and time waiting for one (schedstat)."""
        out = {}
        for tid, (t0, (run0, rq0)) in self.first.items():
            run1, rq1 = schedstat(tid)
            name = "gui" if tid == self.gui_tid else f"worker {tid}"
            out[name] = {"wall": time.perf_counter() - t0, "cpu": run1 - run0, "cpu_wait": rq1 - rq0}
        return out

    def connect(self, d: Driver) -> None:
        d.win.decodeShown.connect(lambda shown: self.at_shown.__setitem__(shown.id, self.gui()))


def torch_importing() -> bool:
    """torch's import is under way on some thread (CPython marks the module's spec while it runs)."""
    module = sys.modules.get("torch")
    return module is not None and bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def phase_now(d: Driver) -> str:
    fn = d.win.service.service.lane("pane")._decode_fn
    if getattr(fn, "backend", None) != "numpy":
        return "torch"
    return PHASES[1] if torch_importing() else PHASES[0]


def click_once(d: Driver, probe: Probe, p, timeout: float) -> dict | None:
    """One click at viewport point ``p``; its stamps, or None if it made no request."""
    n0 = len(d.point_ids)
    phase = phase_now(d)
    g0 = probe.gui()
    probe.first.setdefault(probe.gui_tid, (g0[0], schedstat(probe.gui_tid)))
    d.mouse(QEvent.Type.MouseButtonPress, p, LEFT, LEFT)
    d.mouse(QEvent.Type.MouseButtonRelease, p, LEFT, NOBTN)
    g_sent = probe.gui()
    if len(d.point_ids) == n0:
        return None
    rid = d.point_ids[-1]
    c = {"id": rid, "phase": phase, "g0": g0, "g_sent": g_sent, "shown": None}
    if d.wait_asleep(lambda: rid in d.shown, timeout):
        t1, res = d.shown[rid]
        d.wait_asleep(lambda: bool(PANE_PAINTS) and PANE_PAINTS[-1] >= t1, 1.0)
        c.update(shown=t1, posted=res.posted, seconds=res.seconds,
                 paint=min((t for t in PANE_PAINTS if t >= t1), default=float("nan")))
    return c


def open_window(args, probe: Probe) -> tuple[Driver, float]:
    """The window, shown, with the model's plane on it (the light session, if its means are cached)."""
    d = Driver(args, wait_open=False)
    probe.connect(d)
    t_show = time.perf_counter()
    if not d.wait_asleep(lambda: d.win.session is not None, args.timeout):
        raise SystemExit(f"load: the model did not open in {args.timeout:.0f} s: {d.errors}")
    d.app.processEvents()  # the plane's first paint
    return d, t_show


def click_until_torch(d: Driver, probe: Probe, args, rng) -> tuple[list[dict], int]:
    lo, hi = d.data_box()
    clicks, no_request, after_torch = [], 0, 0
    end = time.perf_counter() + args.timeout
    while after_torch < args.load_torch_clicks and time.perf_counter() < end:
        for _ in range(1000):  # a point of the plot that a click decodes (not the marker, not the legend)
            p = d.pixel(*(lo + rng.random(2) * (hi - lo)))
            if d.clickable(p):
                break
        c = click_once(d, probe, p, args.load_click_timeout)
        if c is None:
            no_request += 1
        else:
            clicks.append(c)
            after_torch += c["phase"] == "torch"
        d.settle(args.click_gap_ms / 1e3)
    return clicks, no_request


def stages(c: dict, probe: Probe) -> dict:
    """One shown click's time (seconds), in stages: press + release on the GUI thread (it may wait up to
    CLICK_HEAD_START for the worker), the request's wait for the worker and the decode, the rest of the
    wait for the worker, the result's trip to the GUI thread, its handling there; with each thread's CPU
    time (``thread_time``) and run-queue wait (schedstat; coarse, see ``threads``) per stage. ``share_*``: the
    click's latency split into GUI-thread CPU, decode CPU, and the rest, when no code of this click ran."""
    (t0, c0, q0), (ts, cs, qs) = c["g0"], c["g_sent"]
    w, sh = probe.worker.get(c["id"]), probe.at_shown.get(c["id"])
    out = {"latency": c["shown"] - t0, "pixels": c["paint"] - t0, "press_release": ts - t0,
           "press_cpu": cs - c0, "press_rq": qs - q0, "decode": c["seconds"]}
    if w is None or sh is None or c["id"] not in probe.deliver:
        return out
    (td, cd, qd), (t1, c1, q1) = probe.deliver[c["id"]], sh
    after = max(ts, w["end"])
    wait = after - ts
    q_after = w["gui_rq_at_end"] if w["end"] > ts else qs
    out.update(to_worker=w["start"] - c["posted"], wake_rq=w["wake_rq"], worker=w["end"] - w["start"],
               worker_cpu=w["cpu"], worker_rq=w["rq"], worker_blocked=w["end"] - w["start"] - w["cpu"] - w["rq"],
               wait_worker=wait, to_gui=td - after, to_gui_rq=max(0.0, qd - q_after), gui_handling=t1 - td,
               handling_cpu=c1 - cd, handling_rq=q1 - qd, backend=w["backend"], importing=w["importing"])
    share = {"gui_cpu": out["press_cpu"] + out["handling_cpu"], "decode_cpu": w["cpu"]}
    share["not_running"] = out["latency"] - sum(share.values())  # waiting: for a CPU, the GIL, a wake-up
    out.update({f"share_{k}": v for k, v in share.items()})
    return out


def summary(clicks: list[dict], probe: Probe) -> dict:
    shown = [c for c in clicks if c["shown"] is not None]
    per = [dict(stages(c, probe), phase=c["phase"]) for c in shown]
    out = {"sent": len(clicks), "shown": len(shown), "lost": len(clicks) - len(shown),
           "phases": {ph: sum(c["phase"] == ph for c in clicks) for ph in PHASES},
           "served_by": {b: sum(s.get("backend") == b for s in per) for b in ("numpy", "torch")},
           "decoded_while_importing": sum(bool(s.get("importing")) for s in per)}
    for name, sel in (("all", per), *((ph, [s for s in per if s["phase"] == ph]) for ph in PHASES)):
        keys = [k for k in (sel[0] if sel else {}) if isinstance(sel[0][k], float) and all(k in x for x in sel)]
        total = sum(x["latency"] for x in sel)
        out[name] = {"n": len(sel), **{k: pct([x[k] for x in sel], 50) for k in keys},
                     "p99": pct([x["latency"] for x in sel], 99), "max": max((x["latency"] for x in sel), default=0.0),
                     "shares": {k[6:]: sum(x[k] for x in sel) / total for k in keys if k.startswith("share_")}}
    out["clicks"] = per
    return out


def cache_means(args) -> None:
    """Open the model once in a subprocess (``open_light``: it encodes and caches the means if they are not
    cached yet), so that the window below opens light, as the app does from its second start on."""
    code = ("import sys; from explorer.core.light_open import open_light; "
            "s = open_light(sys.argv[1], *[a or None for a in sys.argv[2:]]); "
            "print('light' if not s.ready.is_set() else 'encoded')")
    cmd = [sys.executable, "-c", code, args.model, args.dataset or "", args.split or "", args.data_dir or ""]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout * 5)
    if out.returncode != 0:
        raise SystemExit(f"load: could not open {args.model}: {out.stderr.strip().splitlines()[-1:]}")
    print(f"load: means {'were cached' if out.stdout.strip() == 'light' else 'encoded and cached now'}", file=sys.stderr)


def run(args, rng) -> dict:
    if "torch" in sys.modules:
        raise SystemExit("load: torch is imported already; the row must run first, in a fresh process")
    cache_means(args)
    load0, procs = os.getloadavg(), start_load(args.load, args.load_nice)
    probe = Probe()
    d = None
    try:
        time.sleep(0.5)  # the busy processes running
        d, t_show = open_window(args, probe)
        t_first = time.perf_counter()
        clicks, no_request = click_until_torch(d, probe, args, rng)
        out = summary(clicks, probe)
        out["threads"] = probe.threads()
        lane = d.win.service.service.lane("pane")
        s = d.win.session
        out.update(load=args.load, nice=args.load_nice, points=len(s.labels), window=f"{s.dataset_name}/{s.split}, {len(s.labels):,} points", no_request=no_request, worker_alive=getattr(lane, "alive", None),
                   errors=list(d.errors), first_click_after_open=t_first - t_show, cpus=os.cpu_count(),
                   loadavg_start=load0, loadavg_end=os.getloadavg(), switch_interval=sys.getswitchinterval())
        return out
    finally:
        stop_load(procs)
        if d is not None:
            d.close()


def _profile(s: dict) -> str:
    keys = ("press_release", "press_cpu", "wait_worker", "to_worker", "worker", "worker_cpu", "to_gui", "gui_handling",
            "handling_cpu")
    return ", ".join(f"{k} {ms(s[k])}" for k in keys if k in s)


def rows(args, env: dict, r: dict) -> list[tuple]:
    if "load" not in r:
        return []
    x = r["load"]
    lost = "none lost" if x["lost"] == 0 else f"{x['lost']} LOST"
    la0, la1 = x["loadavg_start"], x["loadavg_end"]
    how = (f"{x['load']} busy processes (Python spin loops, nice {x['nice']}) beside the app on {x['cpus']} CPUs (load average "
           f"{la0[0]:.1f} / {la0[1]:.1f} / {la0[2]:.1f} before they started, {la1[0]:.1f} / {la1[1]:.1f} / "
           f"{la1[2]:.1f} at the end); {x['points']:,} points; first click {ms(x['first_click_after_open'])} after "
           f"the window was shown; clicks by phase at the press: " + ", ".join(f"{k} {v}" for k, v in x["phases"].items())
           + f"; decoded by numpy {x['served_by']['numpy']}, by torch {x['served_by']['torch']}, "
           f"{x['decoded_while_importing']} decoded while torch was importing; decode worker alive at the end: "
           f"{x['worker_alive']}; threads while clicking (wall / on a CPU / waiting for a CPU): "
           + ", ".join(f"{k} {v['wall']:.1f} / {v['cpu']:.2f} / {v['cpu_wait']:.2f} s" for k, v in x["threads"].items())
           + (f"; window errors: {x['errors']}" if x["errors"] else ""))
    out = [(f"under load {x['load']}: clicks shown / sent", "all (none lost)", f"{x['shown']} / {x['sent']} ({lost})", how)]
    for name in ("all", *PHASES):
        s = x[name]
        if s["n"]:
            out.append((f"under load {x['load']}: click-to-image p50 / p99 ({name}, {s['n']} clicks)", "",
                        f"{ms(s['latency'])} / {ms(s['p99'])}",
                        f"max {ms(s['max'])}; to pixels p50 {ms(s['pixels'])}; medians: {_profile(s)}; share of "
                        "all these clicks' latency: " + ", ".join(f"{k} {v:.0%}" for k, v in s["shares"].items())))
    if not x["phases"][PHASES[1]]:
        out.append(("WARNING", "", "", "no click was pressed while torch was importing: the row did not test that phase"))
    return out

