"""Time one decode (one z, one thread) of a checkpoint, as the decode worker does it.

    python benchmarks/decode_one.py assets/fashion-mnist-vae.safetensors [--repeats 2000]

Prints the median and 99th percentile over ``--repeats`` calls after a warm-up, for the layout the
app uses (channels_last, see explorer/core/decode_service.py) and the plain one.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from explorer.core.torch_fns import torch_decoder
from training.checkpoint import load


def timed(fn, z, repeats: int) -> tuple[float, float]:
    for _ in range(50):
        fn(z, None)
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn(z, None)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3, float(np.percentile(ts, 99)) * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--repeats", type=int, default=2000)
    a = p.parse_args()
    torch.set_num_threads(1)
    z = np.array([[0.3, -0.7]], np.float32)
    plain = load(a.model)

    def eager(zz, _labels):
        with torch.inference_mode():
            return plain.decode(torch.from_numpy(zz)).numpy()

    med, p99 = timed(eager, z, a.repeats)
    print(f"{a.model}: model.decode, contiguous layout: median {med:.3f} ms, p99 {p99:.3f} ms (1 thread)")
    med, p99 = timed(torch_decoder(load(a.model)), z, a.repeats)
    print(f"{a.model}: the app's decode function (channels_last): median {med:.3f} ms, p99 {p99:.3f} ms (1 thread)")


if __name__ == "__main__":
    main()
