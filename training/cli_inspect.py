"""``latent-train info FILE`` and ``latent-train eval FILE``: what a checkpoint holds and how it measures.

training/cli.py dispatches to these; they share its one-sentence error handling.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from training import verdict
from training.config import EXPLORER_MIN_LATENT_DIM
from training.errors import TrainError, UserError


def print_metrics(metrics: dict[str, Any]) -> None:
    for k, v in metrics.items():
        print(f"  {k:22s} {v:.4f}" if isinstance(v, float) else f"  {k:22s} {v}")


def run_info(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="latent-train info", description="Print a checkpoint's metadata and metrics.")
    p.add_argument("file")
    p.add_argument("--json", action="store_true", help="print the metadata as JSON")
    p.add_argument("--plot", metavar="OUT", help="draw the training curves (loss, reconstruction, KL, test -ELBO per "
                   "epoch; snapshots marked) to OUT (.png, .svg or .pdf)")
    a = p.parse_args(argv)
    from training import checkpoint

    model = checkpoint.load(a.file)  # every check, weights included: info never vouches for a file load refuses
    meta = {**model.metadata, "config": model.config.to_dict()}
    if a.plot:
        from training.curves import plot_history

        try:
            print(f"wrote {plot_history(meta, a.plot, title=Path(a.file).name)}")
        except ValueError as e:
            raise UserError(f"{a.file}: {e}.") from None
        except OSError as e:
            raise UserError(f"{a.plot}: could not be written ({e.strerror or e}).") from None
    if a.json:
        print(json.dumps(dict(meta.items()), indent=2))
        return 0
    cfg, ds = meta["config"], meta.get("dataset", {})
    print(f"{a.file}")
    print(f"  latent   {_latent_words(cfg['latent_dim'], meta.get('metrics', {}).get('test_active_units'))}")
    variants = [f"{k} {cfg[k]}" for k in ("dropout", "denoise") if cfg[k]] + (["tied"] if cfg["tied"] else [])
    print(f"  model    {cfg['kind']} ({cfg['arch']}), beta {cfg['beta']}, "
          f"{cfg['likelihood']}, image {tuple(cfg['image_shape'])}" + "".join(f", {v}" for v in variants))
    print(f"  dataset  {ds.get('name', '?')} ({ds.get('num_train', '?')} train / {ds.get('num_test', '?')} test)")
    train = meta.get("train") or {}
    if train:
        print(f"  training {_train_words(train)}")
    print(f"  versions {meta.get('versions', {})}")
    print("  metrics")
    print_metrics(dict(meta.get("metrics", {}).items()))
    _print_verdict(meta, cfg)
    _print_snapshots(meta.get("snapshots", []))
    return 0


_UNSHOWN = {"label_guide": 0, "clip_grad": 0, "weight_decay": 0, "ema": 0, "iw_samples": 1}  # options left out at their "off" value


def _train_words(train: dict[str, Any]) -> str:
    """The training options a checkpoint records, in one line ("" parts left out when absent)."""
    parts = []
    if train.get("steps"):
        parts.append(f"{train['steps']} steps")
    elif train.get("epochs"):
        parts.append(f"{train['epochs']} epochs")
    for key, words in (("batch_size", "batch {}"), ("lr", "lr {:g}"), ("schedule", "{}"),
                       ("lr_warmup", "lr warm-up {:g}"), ("kl_warmup", "KL warm-up {:g}"), ("free_bits", "free bits {:g}"),
                       ("label_guide", "label guidance {:g}"), ("clip_grad", "gradient clipped at {:g}"),
                       ("weight_decay", "weight decay {:g}"), ("ema", "weights averaged (EMA {:g})"),
                       ("iw_samples", "importance-weighted training, k = {}")):
        value = train.get(key)
        if value is not None and not isinstance(value, bool) and value != _UNSHOWN.get(key):
            try:
                parts.append(words.format(value))
            except (TypeError, ValueError):
                continue
    return ", ".join(parts)


def _print_verdict(meta: dict[str, Any], cfg: dict[str, Any]) -> None:
    """The stored verdict (training/verdict.py), or, for a checkpoint made before verdicts, its warning if any."""
    stored = meta.get("verdict") or {}
    lines = verdict.summary(stored) if stored else []
    warning = verdict.warning_of(meta, cfg)
    if not stored and warning:
        lines = [f"warning: {warning}"]
    if lines:
        print("  verdict")
        for line in lines:
            print(f"    {line}")


def _latent_words(d: int, active: Any = None) -> str:
    """The latent space in words: "8-D space, explored through 2-D slices; 5 of 8 units active"."""
    if d < EXPLORER_MIN_LATENT_DIM:
        return f"{d}-D space (the explorer needs {EXPLORER_MIN_LATENT_DIM} or more)"
    if d == 2:
        return "2-D space (the explorer's plane)"
    words = f"{d}-D space, explored through 2-D slices"
    if isinstance(active, int) and not isinstance(active, bool):  # Burda et al.'s count, on the test means
        words += f"; {active} of {d} units active"
    return words


def _print_snapshots(entries: list[dict[str, Any]]) -> None:
    if not entries:
        return
    print(f"  snapshots ({len(entries)}; load one with training.checkpoint.load(FILE, snapshot=k))")
    for e in entries:
        m = e.get("metrics", {})
        elbo = m.get("test_neg_elbo")
        shown = f"test -ELBO {elbo:.2f}" if isinstance(elbo, (int, float)) else ""
        print(f"    {e['index']:3d}  epoch {e['epoch']:4d}  step {e['step']:7d}  {shown}".rstrip())


def _train_sample_report(model: Any, images: Any, labels: Any, n: int, iw: int) -> dict[str, Any]:
    """The test measures on ``n`` training images drawn at random (seed 0), keyed ``train_...``."""
    import numpy as np

    from training import evaluate

    rows = np.sort(np.random.default_rng(0).choice(len(images), min(n, len(images)), replace=False))
    x, y = images[rows], None if labels is None else labels[rows]
    got = {f"train_{k}": v for k, v in evaluate.evaluate(model, x, y).items()}
    got["train_images"] = len(rows)
    if iw:
        from training.iw_bound import iw_bound

        got[f"train_iw{iw}_neg_log_px"] = iw_bound(model, x, y, k=iw)
    return got


def _take_live_weights(model: Any, path: Path) -> None:
    """Give ``model`` (an --ema run's checkpoint: the average) the live weights its resume state holds."""
    from training.commit import load_for_resume, resume_file_of
    from training.resume_state import put_live

    named = resume_file_of(path)
    if named is None or not named.exists():
        raise TrainError(f"{path}: its resume state {'is missing' if named else 'is not named'}, so --live has no "
                         f"live weights to measure")
    live = load_for_resume(path, model.config)[1].live
    if live is None:
        raise TrainError(f"{path}: was not trained with --ema, so its weights are the live ones; drop --live")
    put_live(model, live)


def run_eval(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="latent-train eval", description="Measure a checkpoint's test metrics again.")
    p.add_argument("file")
    p.add_argument("--dataset", default=None, help="dataset name (default: the one it was trained on)")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--no-download", action="store_true")
    p.add_argument("--iw", type=int, default=0, metavar="K",
                   help="also the importance-weighted bound on -log p(x) with K samples per test image (K >= 2; "
                   "papers quote K = 100 to 5000); VAE kinds only")
    p.add_argument("--train-sample", type=int, default=0, metavar="N",
                   help="also the same measures on N training images drawn at random (seeded): how much better the "
                   "model fits what it was trained on than the test images (its generalization gap)")
    p.add_argument("--live", action="store_true",
                   help="an --ema run: measure the live weights its resume state holds instead of their moving "
                   "average (what the checkpoint holds), to see what the average bought")
    a = p.parse_args(argv)
    if a.iw < 0 or a.iw == 1:
        raise TrainError(f"--iw {a.iw}: give K >= 2 samples (K = 1 is the ELBO, which eval always prints)")
    if a.train_sample < 0:
        raise TrainError(f"--train-sample {a.train_sample}: give a number of training images, 1 or more")
    from training import checkpoint, evaluate
    from training.data import DatasetError, load_dataset

    model = checkpoint.load(a.file)
    if a.live:
        _take_live_weights(model, Path(a.file))
    name = a.dataset or model.metadata.get("dataset", {}).get("name")
    if not name:
        raise TrainError(f"{a.file}: does not say which dataset it was trained on; pass --dataset")
    _, h, w = model.config.image_shape
    # resize only as training did (folder: always; its own dataset: to the trained size); another
    # dataset of another size is reported below, not silently resized (and 20x24 is never made 20x20)
    resize = h == w and (name == model.metadata.get("dataset", {}).get("name") or str(name).startswith("folder:"))
    kw: dict[str, Any] = {"data_dir": a.data_dir, "download": not a.no_download, "image_size": h if resize else None}
    test = load_dataset(name, "test", **kw)
    if test.image_shape != model.config.image_shape:
        raise TrainError(f"dataset {name} has images of shape {test.image_shape}, but {a.file} expects {model.config.image_shape}")
    try:
        train = load_dataset(name, "train", **kw)
        tr_x, tr_y = train.images, train.labels
    except DatasetError:
        tr_x = tr_y = None
    if a.train_sample and tr_x is None:  # said before the test split's measures, not after them
        raise TrainError(f"--train-sample: dataset {name} has no training split here")
    report = evaluate.full_report(model, tr_x, tr_y, test.images, test.labels)
    if a.iw:
        from training.iw_bound import iw_bound
        from training.kinds import kind_spec

        if not kind_spec(model.config.kind).stochastic(model.config.beta):
            raise TrainError(f"{a.file}: a {model.config.kind} model has no posterior variance, so no --iw bound")
        report[f"iw{a.iw}_neg_log_px"] = iw_bound(model, test.images, test.labels, k=a.iw)
    if a.train_sample:
        report.update(_train_sample_report(model, tr_x, tr_y, a.train_sample, a.iw))
    which = ", the live weights" if a.live else ""
    print(f"{a.file}{which} on {name} (test, {len(test)} images), latent {_latent_words(model.config.latent_dim)}")
    print_metrics(report)
    return 0
