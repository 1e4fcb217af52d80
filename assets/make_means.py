"""Build assets/means/: the encoded means the bundled models show, so even a first start skips encoding.

For each model, the app opens it as it does at start-up (its bundled data, e.g. the Fashion-MNIST
test split), encodes the means into a fresh cache folder and copies that one ``.npy`` here. The file
name is the means-cache key (explorer/core/means_cache.py: model SHA-256, dataset, split, pixels),
so a retrained model or changed data simply misses and is encoded at start-up. Run with no
arguments, it makes the means of the models in ``SHIPPED`` (the default 2-D model and the 8-D one) and
removes every other file there (stale keys).
tests/test_assets.py checks the shipped means against a fresh encoding.

Usage (from the repository root): python assets/make_means.py [assets/fashion-mnist-vae.safetensors ...]
"""

import shutil
import sys
import tempfile
from pathlib import Path

from explorer.core.means_cache import MeansCache
from explorer.core.session import ASSETS, DEFAULT_MODEL, open_session

OUT = ASSETS / "means"
SHIPPED = [DEFAULT_MODEL, "fashion-mnist-vae-8d.safetensors"]


def main(models: list[str]) -> int:
    OUT.mkdir(exist_ok=True)
    kept = set()
    with tempfile.TemporaryDirectory() as tmp:
        for model in models or [str(ASSETS / m) for m in SHIPPED]:
            cache = MeansCache(Path(tmp) / Path(model).stem)
            s = open_session(model, cache=cache, threads=2)
            (made,) = cache.folder.glob("*.npy")
            shutil.copyfile(made, OUT / made.name)
            kept.add(made.name)
            print(f"{OUT / made.name}: {len(s.means):,} means of {s.dataset_name}/{s.split} for {Path(model).name}")
    for old in OUT.glob("*.npy") if not models else ():
        if old.name not in kept:
            old.unlink()
            print(f"removed {old}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
