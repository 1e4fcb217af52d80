"""Start-up as a user sees it: time to first window and to interactive, with a cold and a warm means
cache, and the app's memory (RSS) with 70,000 Fashion-MNIST images.

    QT_QPA_PLATFORM=offscreen python benchmarks/startup.py --repeats 3

Each run is the real ``latent-explorer`` command in a subprocess with LATENT_EXPLORER_STARTUP_PROBE=1
(explorer/qt/app.py prints the wall time at the first event-loop turn after ``win.show()`` and at the
first decoded image, and whether torch was imported by then, then quits). The clock runs from just
before ``Popen``. Three cases: "encode" runs get a fresh, empty LATENT_EXPLORER_CACHE folder and an assets folder without the shipped means
(assets/means), so the means are encoded (then cached); "first start" runs get a fresh, empty cache
folder and the real assets (a new user: the bundled model's shipped means); "warm" runs share one
cache folder that a first, uncounted run filled. RSS is read from /proc/PID/status (VmRSS, and the peak VmHWM) the
moment the probe reports the first image, with ``--dataset fashion-mnist --split all`` (70,000 images).
``--baseline CMD`` also runs another command, e.g. a checkout of the previous commit
(``--baseline "env PYTHONPATH=/tmp/base python -m explorer"``), interleaved run by run with this one
(A B A B), so both see the same machine load.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from importlib.metadata import version
from pathlib import Path


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=3, help="runs per row (median reported)")
    p.add_argument("--exe", default=None, help="the latent-explorer command, split like a shell would "
                   "(default: the one next to this Python)")
    p.add_argument("--baseline", default=None, help="a second command to compare with, run interleaved")
    p.add_argument("--model", default=None, help="a model file (default: the bundled model)")
    p.add_argument("--rss-data-dir", default="/usr/share/datasets/fashion-mnist",
                   help="folder with the Fashion-MNIST IDX files for the 70,000-image run ('' to skip it)")
    p.add_argument("--timeout", type=float, default=600.0)
    return p.parse_args(argv)


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of a process, in bytes."""
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0]) * 1024
    except OSError:
        pass
    return out


def run_once(cmd: list[str], cache: Path, timeout: float, assets: Path | None = None) -> dict:
    env = dict(os.environ, LATENT_EXPLORER_STARTUP_PROBE="1", QT_QPA_PLATFORM="offscreen",
               LATENT_EXPLORER_CACHE=str(cache))
    if assets is not None:
        env["LATENT_EXPLORER_ASSETS"] = str(assets)
    t0 = time.time()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    got: dict = {}
    tail: list[str] = []
    killer = threading.Timer(timeout, p.kill)  # a hung start-up ends as a failed run
    killer.start()
    for line in p.stderr:  # the probe's lines, as they come
        parts = line.split()
        if line.startswith("startup-probe torch at interactive:"):  # issue 11: "imported" / "not imported"
            got["torch"] = line.split(":", 1)[1].strip()
        elif len(parts) == 3 and parts[0] == "startup-probe":
            got[parts[1]] = float(parts[2]) - t0
            if parts[1] == "interactive":
                got.update(_status(p.pid))
            if parts[1] == "done":  # the first image and the points both on screen: the peak so far
                got.update({f"{k}_done": v for k, v in _status(p.pid).items()})
        else:
            tail = (tail + [line])[-20:]
    p.wait()
    killer.cancel()
    if p.returncode != 0 or "interactive" not in got or "shown" not in got:
        raise SystemExit(f"{shlex.join(cmd)} exited {p.returncode} without the probe lines:\n{''.join(tail)}")
    return got


def assets_without_means(folder: Path) -> Path:
    """A copy of assets/ (symbolic links) without the shipped means."""
    real = Path(__file__).resolve().parents[1] / "assets"
    folder.mkdir()
    for item in real.iterdir():
        if item.name != "means":
            (folder / item.name).symlink_to(item)
    return folder


def series(cmds: dict[str, list[str]], repeats: int, timeout: float, case: str) -> dict[str, list[dict]]:
    """Runs of each command, interleaved; case: "encode", "first" (empty user cache) or "warm"."""
    runs: dict[str, list[dict]] = {name: [] for name in cmds}
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as shared:
        assets = assets_without_means(Path(shared) / "assets") if case == "encode" else None
        warm = {name: Path(shared) / f"warm-{name}" for name in cmds}
        if case == "warm":
            for name, cmd in cmds.items():
                run_once(cmd, warm[name], timeout)  # fills the means cache; not counted
        for i in range(repeats):
            for name, cmd in cmds.items():
                cache = warm[name] if case == "warm" else Path(shared) / f"cold-{name}-{i}"
                runs[name].append(run_once(cmd, cache, timeout, assets))
    return runs


def fmt(runs: list[dict], key: str) -> str:
    values = [r[key] for r in runs]
    return f"{statistics.median(values):.2f} s ({', '.join(f'{v:.2f}' for v in values)})"


def mb(runs: list[dict], key: str) -> str:
    return f"{statistics.median(r[key] for r in runs) / 2**20:.0f} MB"


def main(argv=None) -> int:
    args = parse_args(argv)
    exe = shutil.which("latent-explorer", path=str(Path(sys.executable).parent)) or "latent-explorer"
    model = [args.model] if args.model else []
    cmds = {"this": (shlex.split(args.exe) if args.exe else [exe]) + model}
    if args.baseline:
        cmds["baseline"] = shlex.split(args.baseline) + model
    base = cmds["this"]
    load_start = os.getloadavg()
    rows = []
    cases = (("encode", "no means cached (encoded at start)"), ("first", "first start (empty user cache)"),
             ("warm", "warm means cache"))
    for case, name in cases:
        print(f"{name} ...", file=sys.stderr, flush=True)
        runs = series(cmds, args.repeats, args.timeout, case)
        for who in cmds:
            rows.append((f"time to first window, {name}", who, "< 1 s", fmt(runs[who], "shown")))
            rows.append((f"time to interactive, {name}", who, "< 2 s", fmt(runs[who], "interactive")))
            said = [r["torch"] for r in runs[who] if "torch" in r]
            if said:
                rows.append((f"torch imported at the first image, {name}", who, "",
                             f"{said.count('imported')} of {len(said)} runs"))
    big = None
    if args.rss_data_dir:
        extra = ["--dataset", "fashion-mnist", "--split", "all", "--data-dir", args.rss_data_dir]
        big = base + extra
        for case, name in (("encode", "means encoded"), ("warm", "warm means cache")):
            print(f"70,000 images, {name} ...", file=sys.stderr, flush=True)
            runs = series({who: cmd + extra for who, cmd in cmds.items()}, args.repeats, args.timeout, case)
            for who in cmds:
                rows.append((f"RSS at first image, 70,000 images, {name}", who, "< 600 MB",
                             f"{mb(runs[who], 'VmRSS')} (peak {mb(runs[who], 'VmHWM')}); "
                             f"interactive after {fmt(runs[who], 'interactive')}"))
    load_end = os.getloadavg()
    print(f"{os.cpu_count()} CPUs, load average {load_start[0]:.1f} at start, {load_end[0]:.1f} at end; "
          f"Python {platform.python_version()}, torch {version('torch')}, PySide6 {version('PySide6-Essentials')}")
    print(f"command: LATENT_EXPLORER_STARTUP_PROBE=1 QT_QPA_PLATFORM=offscreen {shlex.join(base)}"
          + (f"; 70,000 images: {shlex.join(big)}" if big else "")
          + (f"; baseline: {shlex.join(cmds['baseline'])}" if "baseline" in cmds else ""))
    print("\n| metric | run | goal | median (each run) |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
