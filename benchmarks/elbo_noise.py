"""How much the test -ELBO of ``latent-train eval`` moves with the seed of its one z sample per image.

    python benchmarks/elbo_noise.py assets/fashion-mnist-vae.safetensors --data-dir /usr/share/datasets/fashion-mnist

The goal of issue 21 is stated on that one-sample estimate (seed 0, what ``latent-train eval`` prints), so a
model close to the goal should say how far the estimate itself moves: this evaluates the test split with
``--seeds`` seeds (``training/evaluate.py``, the same function) and prints each, their mean and spread.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.checkpoint import load
from training.data import load_dataset
from training.evaluate import evaluate


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("model")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    model = load(a.model)
    test = load_dataset(model.metadata["dataset"]["name"], "test", data_dir=a.data_dir, download=False, progress=False)
    values = []
    for seed in range(a.seeds):
        v = evaluate(model, test.images, test.labels, seed=seed)["neg_elbo"]
        values.append(v)
        print(f"seed {seed}: test -ELBO {v:.4f} nats")
    print(f"{a.model}: {len(values)} seeds, mean {statistics.mean(values):.4f}, "
          f"min {min(values):.4f}, max {max(values):.4f}, sd {statistics.stdev(values) if len(values) > 1 else 0:.4f} nats")


if __name__ == "__main__":
    main()
