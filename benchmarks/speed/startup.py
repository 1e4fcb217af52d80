"""Row 5, startup: the real ``latent-explorer`` command in a subprocess with
LATENT_EXPLORER_STARTUP_PROBE=1, from just before ``Popen`` to the probe's "shown" and "interactive" lines."""

from __future__ import annotations

import os
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def startup_command(args) -> list[str]:
    exe = shutil.which("latent-explorer", path=str(Path(sys.executable).parent)) or shutil.which("latent-explorer")
    cmd = [exe] if exe else [sys.executable, "-m", "explorer"]
    if not args.default_model:
        cmd.append(args.model)
    for opt, val in (("--dataset", args.dataset), ("--split", args.split), ("--data-dir", args.data_dir)):
        if val:
            cmd += [opt, val]
    return cmd


def run(args) -> dict:
    cmd = startup_command(args)
    env = dict(os.environ, LATENT_EXPLORER_STARTUP_PROBE="1", QT_QPA_PLATFORM="offscreen")
    shown, inter, exited = [], [], []
    for _ in range(args.startup_repeats):
        t0 = time.time()
        p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
        try:
            _out, err = p.communicate(timeout=args.startup_timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.communicate()
            raise SystemExit(f"startup: {shlex.join(cmd)} did not finish in {args.startup_timeout} s") from None
        exited.append(time.time() - t0)
        got = {}
        for line in err.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[0] == "startup-probe":
                got[parts[1]] = float(parts[2])
        if p.returncode != 0 or "interactive" not in got or "shown" not in got:
            raise SystemExit(f"startup: {shlex.join(cmd)} exited {p.returncode} without the probe lines:\n{err[-2000:]}")
        shown.append(got["shown"] - t0)
        inter.append(got["interactive"] - t0)
    return {"command": "LATENT_EXPLORER_STARTUP_PROBE=1 QT_QPA_PLATFORM=offscreen " + shlex.join(cmd),
            "shown_median": statistics.median(shown), "interactive_median": statistics.median(inter),
            "exit_median": statistics.median(exited), "shown": shown, "interactive": inter}


def rows(args, env: dict, r: dict) -> list[tuple]:
    rows = []
    if "startup" in r:
        s = r["startup"]
        how = (f"`{s['command']}` from just before Popen to the probe's 'shown' line (QTimer 0 after win.show()), "
               f"median of {args.startup_repeats}: " + ", ".join(f"{v:.2f}" for v in s["shown"]) + " s")
        rows.append(("time to first window", "(no goal set)", f"{s['shown_median']:.2f} s", how))
        how = ("same runs, to the first window.decodeShown after the model opened: "
               + ", ".join(f"{v:.2f}" for v in s["interactive"]) + f" s; process exit after {s['exit_median']:.2f} s")
        rows.append(("time to interactive", "(no goal set)", f"{s['interactive_median']:.2f} s", how))
    return rows
