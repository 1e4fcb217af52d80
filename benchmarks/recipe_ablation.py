"""What each part of the default model's recipe buys: short ``latent-train`` runs, interleaved.

    python benchmarks/recipe_ablation.py --data-dir /usr/share/datasets/fashion-mnist --epochs 6 --rounds 2

Every variant is the real ``latent-train`` command (a subprocess, one thread, no worker threads) on the
full Fashion-MNIST train split, evaluated by the command itself on all 10,000 test images (test -ELBO
with one z sample per image, Bernoulli, nats; 5-NN accuracy of the 2-D test means with the train means
as reference). Round r runs every variant with ``--seed r``, in the order of the table in even rounds
and reversed in odd ones, so a machine that gets busier or quieter shows in the times rather than
favouring one variant. ``--json FILE`` keeps every run.

The variants differ from the recipe of the bundled default model (conv VAE, ``--hidden 256,256``,
Adam 2e-3 with a cosine decay, batch 128, beta 1) in one thing each.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.checkpoint import read_metadata

BASE = ["--dataset", "fashion-mnist", "--no-download", "--model", "vae", "--beta", "1", "--hidden", "256,256",
        "--lr", "2e-3", "--threads", "1", "--workers", "1", "--quiet"]
OLD = ["--lr-warmup", "0", "--kl-warmup", "0", "--free-bits", "0"]
VARIANTS: dict[str, list[str]] = {
    "earlier recipe: no warm-ups, no free bits": OLD,
    "+ learning-rate warm-up (2 %)": ["--kl-warmup", "0", "--free-bits", "0"],
    "+ KL warm-up (20 %)": ["--free-bits", "0"],
    "+ free bits 0.5 (today's defaults)": [],
    "defaults, batch 64": ["--batch-size", "64"],
    "defaults, encoder width only (--hidden 256)": ["--hidden", "256"],
    "defaults, wider (--hidden 512,512: encoder and decoder dense 512)": ["--hidden", "512,512"],
    "defaults, KL warm-up 50 %": ["--kl-warmup", "0.5"],
    "defaults, importance-weighted training (--iw-train 5)": ["--iw-train", "5"],
}


def run(name: str, extra: list[str], epochs: int, seed: int, data_dir: str, folder: Path) -> dict:
    out = folder / f"{abs(hash((name, seed))) % 10**8}.safetensors"
    cmd = [sys.executable, "-m", "training.cli", *BASE, "--data-dir", data_dir, "--epochs", str(epochs),
           "--seed", str(seed), *extra, "--out", str(out)]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    m = read_metadata(out)["metrics"]
    return {"variant": name, "seed": seed, "wall_s": wall, "neg_elbo": m["test_neg_elbo"],
            "knn5": m["test_knn5_acc"], "kl": m["test_kl"], "cmd": " ".join(cmd[3:])}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--only", help="comma-separated variant numbers (1-based) to run")
    p.add_argument("--json")
    a = p.parse_args(argv)
    names = list(VARIANTS)
    if a.only:
        names = [names[int(i) - 1] for i in a.only.split(",")]
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(a.rounds):
            for name in (names if r % 2 == 0 else names[::-1]):
                row = run(name, VARIANTS[name], a.epochs, r, a.data_dir, Path(tmp))
                rows.append(row)
                print(f"round {r}: {name}: -ELBO {row['neg_elbo']:.2f}, 5-NN {row['knn5']:.4f}, "
                      f"{row['wall_s']:.0f} s", flush=True)
                if a.json:
                    Path(a.json).write_text(json.dumps(rows, indent=1))
    print(f"\n{a.epochs} epochs, seeds 0..{a.rounds - 1}, mean (min..max) over seeds\n")
    print("| variant | test -ELBO (nats) | 5-NN accuracy | KL | wall time per run |")
    print("|---|---:|---:|---:|---:|")
    for name in names:
        got = [row for row in rows if row["variant"] == name]

        def cell(key: str, fmt: str, got: list = got) -> str:
            vals = [row[key] for row in got]
            return f"{statistics.mean(vals):{fmt}} ({min(vals):{fmt}}..{max(vals):{fmt}})"

        print(f"| {name} | {cell('neg_elbo', '.2f')} | {cell('knn5', '.4f')} | {cell('kl', '.2f')} | "
              f"{cell('wall_s', '.0f')} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
