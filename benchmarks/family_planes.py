"""The 2-D planes of several checkpoints side by side: the test means, one colour per class.

    python benchmarks/family_planes.py --out assets/family-planes.png runs/fm/*.safetensors

Each panel shows the 10,000 Fashion-MNIST test means of one model (a conditional model: encoded with
the true labels), coloured with the tab10 palette the app uses, in the box of the 1st..99th
percentile of the means widened by 10 % (the app's opening view), with the model's name. Pillow only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from family_table import describe

from training.checkpoint import load
from training.data import load_dataset
from training.evaluate import encode_means

TAB10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]


def panel(means: np.ndarray, labels: np.ndarray, title: str, size: int) -> Image.Image:
    img = Image.new("RGB", (size, size + 18), "white")
    draw = ImageDraw.Draw(img)
    lo, hi = np.percentile(means, 1, axis=0), np.percentile(means, 99, axis=0)
    pad = (hi - lo) * 0.1
    lo, hi = lo - pad, hi + pad
    xy = (means - lo) / (hi - lo)
    px = np.clip(xy[:, 0] * (size - 1), 0, size - 1)
    py = np.clip((1 - xy[:, 1]) * (size - 1), 0, size - 1) + 18
    for i in np.random.default_rng(0).permutation(len(means)):  # no class drawn wholly on top
        draw.rectangle([px[i] - 1, py[i] - 1, px[i] + 1, py[i] + 1], fill=TAB10[int(labels[i]) % 10])
    draw.text((4, 3), title, fill="black")
    draw.rectangle([0, 18, size - 1, size + 17], outline="#999999")
    return img


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+")
    p.add_argument("--out", required=True)
    p.add_argument("--size", type=int, default=220, help="panel size in pixels")
    p.add_argument("--columns", type=int, default=3)
    p.add_argument("--data-dir", default=None)
    a = p.parse_args()
    test = load_dataset("fashion-mnist", "test", data_dir=a.data_dir, download=False)
    panels = []
    for f in a.files:
        model = load(f)
        panels.append(panel(encode_means(model, test.images, labels=test.labels), test.labels,
                            describe(model.config.to_dict()), a.size))
    cols = min(a.columns, len(panels))
    rows = -(-len(panels) // cols)
    w, h = panels[0].size
    sheet = Image.new("RGB", (cols * w + (cols - 1) * 6, rows * h + (rows - 1) * 6), "white")
    for i, im in enumerate(panels):
        sheet.paste(im, ((i % cols) * (w + 6), (i // cols) * (h + 6)))
    sheet.save(a.out, optimize=True)
    print(f"wrote {a.out} ({sheet.size[0]}x{sheet.size[1]})")


if __name__ == "__main__":
    main()
