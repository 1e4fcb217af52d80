"""How to decode a manifold grid's batch fastest on this machine: the variants of issue 11.

    python benchmarks/grid_decode.py --sizes 484 900 --repeats 7

The bundled model (``training.checkpoint.load``, laid out as the app does: ``prepare_model``), under
``torch.inference_mode``, decodes N z (the centres of a square grid over [-3, 3]^2) as:

- one call, on a thread with 1 or 2 torch threads;
- chunks of 16 / 32 / 64 / 128 z, one after another, with 1 or 2 torch threads;
- two Python threads, each with ``torch.set_num_threads(1)``, each decoding every other chunk
  (training/parallel.py does this for training), chunks of 32 / 64 / 128 / N/2.

Every variant runs on fresh threads of its own (torch keeps its thread count per thread). Rounds are
interleaved (every variant once per round), and the median of the rounds is reported, with each
variant's largest difference from one batched ``model.decode``. ``--busy-gui``: a thread running pure
Python beside each decode, taking the GIL as a GUI thread that is repainting (or a benchmark driver
spinning its event loop) does; every Python-level step of a decode then may wait for it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def centres(n: int) -> np.ndarray:
    side = int(round(n ** 0.5))
    g = np.linspace(-3, 3, side, dtype=np.float32)
    xx, yy = np.meshgrid(g, g)
    return np.column_stack([xx.ravel(), yy.ravel()])[:n]


BUSY = {"on": False}  # --busy-gui: a Python-busy thread runs beside every decode (as a repainting GUI thread)


def busy_python(stop: threading.Event) -> None:
    x = 0
    while not stop.is_set():
        for i in range(1000):
            x += i * i


def on_thread(fn, threads: int):
    """Run fn() on a new thread with ``threads`` torch threads; return (its result, seconds)."""
    import torch

    out = {}
    stop = threading.Event()
    busy = threading.Thread(target=busy_python, args=(stop,))
    if BUSY["on"]:
        busy.start()

    def run():
        torch.set_num_threads(threads)
        with torch.inference_mode():
            fn()  # warm this thread's pool
            t = time.perf_counter()
            out["r"] = fn()
            out["s"] = time.perf_counter() - t

    th = threading.Thread(target=run)
    th.start()
    th.join()
    stop.set()
    if BUSY["on"]:
        busy.join()
    return out["r"], out["s"]


def variants(model, z):
    import torch

    from explorer.core.chunked_decode import decode_chunks

    zt = torch.from_numpy(z)
    n = len(z)

    def one():
        return model.decode(zt)

    def chunked(c):
        return lambda: torch.cat([model.decode(zt[i : i + c]) for i in range(0, n, c)])

    v = {}
    for th in (1, 2):
        v[f"one call, {th} torch thread{'s' if th > 1 else ''}"] = (one, th)
    for c in (16, 32, 64, 128):
        for th in (1, 2):
            v[f"chunks of {c}, {th} torch thread{'s' if th > 1 else ''}"] = (chunked(c), th)
    for c in (32, 64, 128, (n + 1) // 2):
        v[f"2 Python threads x 1 torch thread, chunks of {c}"] = (lambda c=c: decode_chunks(model.decode, zt, c, 2), 1)
    return v


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=None)
    p.add_argument("--sizes", type=int, nargs="+", default=[484, 900])
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--busy-gui", action="store_true", help="a thread running pure Python beside each decode "
                   "(it takes the GIL as a repainting GUI thread does)")
    a = p.parse_args()
    BUSY["on"] = a.busy_gui
    import torch

    from explorer.core.session import default_model_path
    from explorer.core.torch_fns import prepare_model
    from training.checkpoint import load

    path = a.model or str(default_model_path())
    model = prepare_model(load(path))
    print(f"model {Path(path).name}; torch {torch.__version__}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f} at start")
    for n in a.sizes:
        z = centres(n)
        with torch.inference_mode():
            ref = model.decode(torch.from_numpy(z))
        vs = variants(model, z)
        times: dict[str, list[float]] = {k: [] for k in vs}
        err: dict[str, float] = {}
        for _ in range(a.repeats):
            for name, (fn, th) in vs.items():
                r, s = on_thread(fn, th)
                times[name].append(s)
                err[name] = max(err.get(name, 0.0), float((r - ref).abs().max()))
        base = statistics.median(times["one call, 2 torch threads"])
        print(f"\n{n} z ({a.repeats} interleaved rounds, median; load {os.getloadavg()[0]:.2f} at end)\n")
        print("| variant | seconds | vs one call, 2 threads | max abs diff from one batched decode |")
        print("|---|---:|---:|---:|")
        for name, ts in sorted(times.items(), key=lambda kv: statistics.median(kv[1])):
            m = statistics.median(ts)
            print(f"| {name} | {m:.3f} | {base / m:.2f}x | {err[name]:.1e} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
