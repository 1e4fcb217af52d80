"""The model-family comparison table of assets/README.md, from trained checkpoints.

    python benchmarks/family_table.py --commands runs/queue.txt runs/fm/*.safetensors

For each checkpoint: the test metrics it recorded when it was trained (negative ELBO, reconstruction,
KL, squared error, 5-NN accuracy of the 2-D test means with the train means as reference), plus the
plane metrics of ``training/plane_metrics.py`` measured here on the 10,000 test images: the spread
of the means and the share of the data's box that decodes far from any data.

``--commands FILE`` (lines ``name | latent-train arguments``, name = the checkpoint's file stem) adds
the command that reproduces each row.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.checkpoint import load
from training.data import load_dataset
from training.evaluate import encode_means
from training.plane_metrics import far_fraction, spread


def describe(cfg: dict) -> str:
    kind = cfg["kind"]
    name = {"vae": f"VAE beta={cfg['beta']:g}" if cfg["beta"] else "AE (VAE beta=0)", "ae": "AE", "cvae": "CVAE",
            "aae": "AAE", "pca": "PCA"}[kind]
    extras = [f"denoise {cfg['denoise']:g}" for _ in [0] if cfg.get("denoise")]
    extras += [f"dropout {cfg['dropout']:g}" for _ in [0] if cfg.get("dropout")]
    extras += ["mlp, tied" if cfg.get("tied") else ("mlp" if cfg["arch"] == "mlp" and kind != "pca" else "")]
    return name + "".join(f", {e}" for e in extras if e)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--commands", default=None)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--grid", type=int, default=32)
    a = p.parse_args()
    commands = {}
    if a.commands:
        for line in Path(a.commands).read_text().splitlines():
            if "|" in line:
                name, args = (s.strip() for s in line.split("|", 1))
                commands[name] = f"latent-train {args} --out runs/fm/{name}.safetensors"
    test = load_dataset("fashion-mnist", "test", data_dir=a.data_dir, download=False)
    print("| model | -ELBO | recon | KL | sq. error | 5-NN acc | spread | far from data | epochs, s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    notes = []
    for f in a.files:
        model = load(f)
        cfg, m = model.config.to_dict(), model.metadata["metrics"]
        means = encode_means(model, test.images, labels=test.labels)
        far = far_fraction(model, test.images, test.labels, means=means, grid=a.grid)
        elbo = f"{m['test_neg_elbo']:.2f}" if cfg["kind"] in ("vae", "cvae") and cfg["beta"] > 0 else "—"
        print(f"| {describe(cfg)} | {elbo} | {m['test_recon']:.2f} | {m['test_kl']:.2f} | {m['test_sq_error']:.2f} | "
              f"{m['test_knn5_acc']:.4f} | {spread(means):.3f} | {far['far_fraction']:.3f} | "
              f"{m['epochs']}, {m['seconds']:.0f} |", flush=True)
        stem = Path(f).name.removesuffix(".safetensors")
        notes.append(f"- {describe(cfg)}: `{commands.get(stem, f)}`")
    print()
    print("\n".join(notes))


if __name__ == "__main__":
    main()
