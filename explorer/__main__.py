"""``latent-explorer [FILE.safetensors] [--dataset NAME] [--screenshot OUT.png] [--scene FILE]``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        if w < 200 or h < 150 or w > 8000 or h > 8000:
            raise ValueError
        return w, h
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a size like 1280x800, got {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="latent-explorer", description="Explore the latent space of an autoencoder-family "
                                "model: a 2-D latent as it is, any other dimension through 2-D slices.")
    p.add_argument("models", nargs="*", metavar="MODEL",
                   help="a .safetensors checkpoint made by latent-train (default: the bundled Fashion-MNIST VAE); "
                        "two to four are shown side by side over the first one's dataset")
    p.add_argument("--dataset", help="dataset to show: mnist, fashion-mnist, mnist-5k, synthetic, npz:PATH, folder:PATH")
    p.add_argument("--split", choices=["train", "test", "all"], help="which split of the dataset to show")
    p.add_argument("--data-dir", help="folder holding the dataset files")
    p.add_argument("--scene", help="open a scene file (JSON)")
    p.add_argument("--screenshot", metavar="OUT.png", help="render the window offscreen to OUT.png and exit")
    p.add_argument("--size", type=_size, help="window size, e.g. 1600x1000 (the window, or the --screenshot image)")
    p.add_argument("--underlay", action="store_true", help="start with the manifold underlay on")
    p.add_argument("--presentation", action="store_true", help="start in presentation mode")
    p.add_argument("--module", metavar="FILE.py:FUNCTION",
                   help="explore your own torch module instead of a checkpoint: FUNCTION() returns an nn.Module with "
                        "encode(x) -> mean or (mean, logvar) and decode(z) -> images in [0, 1]; needs --dataset. "
                        "This runs your code (never read from a scene)")
    p.add_argument("--weights", metavar="FILE.safetensors", help="with --module: the tensors to load into it")
    return p


def main(argv: list[str] | None = None) -> int:
    """Check what can be checked without Qt first: each problem is one line on stderr and a non-zero exit."""
    # numpy's OpenBLAS single-threaded (before anything imports numpy; a value the user set wins): the app's
    # numpy matrix products are small -- the numpy decoder of a model opened before torch is loaded (issue
    # 11) -- and an OpenBLAS thread team waiting for a core the GUI thread holds made a one-z decode take
    # ~50 ms instead of ~2 ms (benchmarks/README.md). torch (MKL, its own threads) is not affected.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    args = build_parser().parse_args(argv)
    from explorer import startup

    if len(args.models) > 4:
        return _fail(f"at most 4 models can be shown side by side; {len(args.models)} were given.", 2)
    args.model, args.compare = (args.models[0] if args.models else None), args.models[1:]
    problem = next((p for p in map(startup.path_problem, startup.given_paths(args)) if p), None)
    if problem:  # a NUL character: no file has that name, and every later check would raise
        return _fail(problem, 2)
    if args.module and (args.models or args.scene):
        return _fail("--module opens your own module alone: give no model file and no scene with it.", 2)
    if args.module and not args.dataset:
        return _fail("--module needs --dataset (the images your module encodes and decodes).", 2)
    if args.weights and not args.module:
        return _fail("--weights goes with --module (a checkpoint made by latent-train carries its own weights).", 2)
    for f in filter(None, (args.module and args.module.rpartition(":")[0], args.weights)):
        if not Path(f).is_file():
            return _fail(f"{f}: no such file.", 2)
    for m in args.models:
        if not Path(m).exists():
            return _fail(f"{m}: no such file.", 2)
    problem = (
        next((p for p in map(startup.model_problem, args.models) if p), None)
        or (args.dataset and startup.dataset_problem(args.dataset))
        or (args.screenshot and startup.screenshot_problem(args.screenshot))
    )
    if problem:
        return _fail(problem)
    if args.screenshot:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    problem = startup.display_problem()
    if problem:
        return _fail(problem)
    try:
        from explorer.qt.app import run
    except ImportError as e:  # e.g. libGL.so.1 missing: Qt's own libraries cannot load
        return _fail(startup.qt_import_problem(e))
    return run(args)


def _fail(message: str, code: int = 1) -> int:
    print(f"latent-explorer: error: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
