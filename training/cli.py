"""The ``latent-train`` command: train, ``info`` and ``eval`` (``python -m training.cli`` is the same).

    latent-train --dataset fashion-mnist --model vae --beta 1 --epochs 20 --out runs/fmnist.safetensors
    latent-train info runs/fmnist.safetensors
    latent-train eval runs/fmnist.safetensors [--dataset NAME]

The fit loop itself is training/train.py. torch is imported only once a command runs, inside the
error handling of :func:`main`: Ctrl-C while torch is still importing exits quietly too.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training import schedule, verdict
from training import snapshots as snap
from training.cli_inspect import print_metrics, run_eval, run_info
from training.config import DECODER_LABELS, EXPLORER_MIN_LATENT_DIM, MAX_LATENT_DIM
from training.datasets import dataset_names
from training.errors import PeerLost, TrainError, UserError, rank_message
from training.events import Events
from training.kinds import KIND_SPECS, KINDS, kind_spec

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from training.models import LatentModel, ModelConfig
    from training.train import TrainConfig


def _ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _parser_train() -> argparse.ArgumentParser:
    from training.pca import SOLVERS

    kinds = ", ".join(f"{name} ({spec.help})" for name, spec in KIND_SPECS.items())
    p = argparse.ArgumentParser(
        prog="latent-train",
        description="Train a latent model (any latent dimension D; the explorer opens D = 2..512, a D > 2 model "
        "through 2-D slices) and write a .safetensors checkpoint. "
        "Subcommands: 'latent-train info FILE', 'latent-train eval FILE [--dataset NAME]'.",
    )
    p.add_argument("--dataset", default="fashion-mnist", help=", ".join(dataset_names()))
    p.add_argument("--data-dir", default=None, help="folder holding the dataset files")
    p.add_argument("--image-size", type=int, default=None, help="resize images to this size (folder: default 28)")
    p.add_argument("--no-download", action="store_true", help="never download datasets")
    p.add_argument("--model", default="vae", choices=list(KINDS),
                   help=f"model kind: {kinds}")
    p.add_argument("--arch", default="conv", choices=["conv", "mlp"])
    p.add_argument("--channels", type=_ints, default=(32, 64), help="conv widths, e.g. 32,64")
    p.add_argument("--hidden", type=_ints, default=schedule.DEFAULT_HIDDEN,
                   help="dense widths before the latent, e.g. 16 or 256,64 (default 256)")
    p.add_argument("--latent-dim", default="2", metavar="D",
                   help=f"latent dimension, 1..{MAX_LATENT_DIM} (the explorer needs 2 or more; pca: at most "
                   "the training images minus 1 and the pixel values)")
    p.add_argument("--beta", type=float, default=1.0, help="KL weight (0 = plain autoencoder)")
    p.add_argument("--likelihood", default="bernoulli", choices=["bernoulli", "gaussian"], help="BCE or MSE reconstruction")
    p.add_argument("--denoise", type=float, default=0.0, metavar="SIGMA",
                   help="denoising: add gaussian noise of this std to the training input (the target stays clean)")
    p.add_argument("--dropout", type=float, default=0.0, metavar="P", help="dropout probability in the encoder")
    p.add_argument("--tied", action="store_true", help="mlp only: decoder weights are the encoder's, transposed")
    p.add_argument("--adv-weight", type=float, default=20.0, help="aae: weight of the adversarial term")
    p.add_argument("--decoder-label", default="input", choices=DECODER_LABELS, help="cvae: the label joins z only, or every decoder layer")
    p.add_argument("--pca-solver", default="auto", choices=list(SOLVERS),
                   help="pca: exact svd in memory, randomized svd, or incremental (one pass, memory O(pixels^2))")
    p.add_argument("--snapshots", type=int, default=0, metavar="N",
                   help="keep N snapshots spread over training in the checkpoint (the first is the initial model); "
                   "N in total: a --resume run adds only the ones still missing")
    p.add_argument("--epochs", type=int, default=None, help=schedule.HELP["epochs"])
    p.add_argument("--steps", type=int, default=None, metavar="N", help=schedule.HELP["steps"])
    p.add_argument("--batch-size", type=int, default=None, help=schedule.HELP["batch_size"])
    p.add_argument("--lr", type=float, default=schedule.DEFAULT_LR,
                   help=f"Adam's learning rate after the warm-up (default {schedule.DEFAULT_LR:g})")
    p.add_argument("--schedule", default="cosine", choices=["cosine", "constant"],
                   help="the learning rate after the warm-up: cosine decay to 5%% of --lr, or constant")
    p.add_argument("--lr-warmup", type=float, default=schedule.LR_WARMUP, metavar="F", help=schedule.HELP["lr_warmup"])
    p.add_argument("--kl-warmup", type=float, default=schedule.KL_WARMUP, metavar="F", help=schedule.HELP["kl_warmup"])
    p.add_argument("--free-bits", type=float, default=schedule.FREE_BITS, metavar="NATS",
                   help=schedule.HELP["free_bits"])
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, mps")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0 = all cores)")
    p.add_argument("--workers", type=int, default=0,
                   help="CPU data-parallel worker threads per step (0 = one per torch thread; 1 = off)")
    p.add_argument("--limit", type=int, default=0, help="train on the first N images only")
    p.add_argument("--amp", action="store_true",
                   help="mixed precision: float16 autocast on cuda, bfloat16 on cpu (weights and evaluation stay float32)")
    p.add_argument("--out", default="runs/model.safetensors", help="checkpoint to write")
    p.add_argument("--resume", action="store_true", help="continue from OUT and the resume state it names")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--events", action="store_true",
                   help="print progress as JSON lines on stdout (start, step, epoch, done) for a program driving this")
    return p


def _fail(msg: str, code: int = 2) -> int:
    print(f"latent-train: error: {msg}", file=sys.stderr)
    return code


def _latent_dim(text: str) -> int:
    """--latent-dim as an int in 1..MAX_LATENT_DIM; anything else is one sentence (TrainError)."""
    try:
        d = int(text)
    except ValueError:
        d = 0
    if not 1 <= d <= MAX_LATENT_DIM:
        raise TrainError(f"--latent-dim must be a whole number in 1..{MAX_LATENT_DIM} (the explorer opens "
                         f"{EXPLORER_MIN_LATENT_DIM}..{MAX_LATENT_DIM}), not {text!r}")
    return d


def _check_length(a: argparse.Namespace) -> None:
    """--epochs, --steps, --batch-size and the schedule's numbers (training/schedule.py)."""
    if a.epochs is not None and a.steps is not None:
        raise TrainError("give --epochs or --steps, not both")
    for option, value in (("--epochs", a.epochs), ("--steps", a.steps), ("--batch-size", a.batch_size)):
        if value is not None and value < 1:
            raise TrainError(f"{option} must be at least 1 (got {value})")
    for option, value in (("--lr-warmup", a.lr_warmup), ("--kl-warmup", a.kl_warmup)):
        if not (math.isfinite(value) and 0 <= value < 1):
            raise TrainError(f"{option} is a fraction of the steps in 0..1 (1 excluded), not {value}")
    if not (math.isfinite(a.free_bits) and 0 <= a.free_bits <= 100):
        raise TrainError(f"--free-bits must be a number of nats in 0..100 (got {a.free_bits})")


def _check_args(a: argparse.Namespace) -> None:
    a.latent_dim = _latent_dim(a.latent_dim)
    _check_length(a)
    if not (a.lr > 0 and math.isfinite(a.lr)):
        raise TrainError(f"--lr must be a positive number (got {a.lr})")
    if not (math.isfinite(a.beta) and a.beta >= 0):
        raise TrainError(f"--beta must be a non-negative number (got {a.beta})")
    if a.threads < 0 or a.limit < 0 or a.workers < 0:
        raise TrainError("--threads, --workers and --limit must not be negative")
    if not 0 <= a.snapshots <= snap.MAX_SNAPSHOTS:
        raise TrainError(f"--snapshots must be in 0..{snap.MAX_SNAPSHOTS} (got {a.snapshots})")
    for option, used in (("--snapshots", a.snapshots), ("--resume", a.resume)):
        if used and not kind_spec(a.model).gradient_trained:
            raise TrainError(f"{option} does not apply to {a.model}, which is fitted in closed form")
    out = Path(a.out)
    if out.suffix != ".safetensors":
        raise TrainError(f"--out {out} should end in .safetensors")
    if out.is_dir():
        raise TrainError(f"--out {out} is a folder; give a file name ending in .safetensors")
    folder = out.absolute().parent  # find out now, not when the first epoch is saved
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        raise TrainError(f"--out {out}: cannot write there ({folder} is not a writable folder)")


def run_train(argv: list[str]) -> int:
    a = _parser_train().parse_args(argv)
    _check_args(a)
    try:
        return _train(a)
    except PeerLost as e:  # torchrun: another rank ended (training/distributed.py)
        raise PeerLost(f"{e}; training stopped, {_kept_pair(Path(a.out))} (the last committed epoch)") from None
    finally:
        if (ranks := sys.modules.get("training.distributed")) is not None:
            ranks.teardown()


def _train(a: argparse.Namespace) -> int:
    if a.events:  # driven by a program (the explorer): its SIGINT is Cancel, even if ours was ignored at start
        import signal

        signal.signal(signal.SIGINT, signal.default_int_handler)
    import numpy as np
    import torch

    from training import checkpoint, distributed, evaluate
    from training.batches import first, trainable
    from training.commit import commit_epoch, load_for_resume
    from training.data import load_dataset
    from training.fileio import SaveError
    from training.models import ConfigError, ModelConfig, build_model
    from training.precision import Precision
    from training.train import fit, pick_device

    out = Path(a.out)
    if a.threads:
        torch.set_num_threads(a.threads)
    device = pick_device(a.device)
    Precision(a.amp, device)  # --amp where it runs, or one sentence now
    device = distributed.join(device, set_threads=not a.threads)  # started by torchrun: one rank of a data-parallel run

    print(f"loading {a.dataset} ...", file=sys.stderr)
    kw: dict[str, Any] = {"data_dir": a.data_dir, "image_size": a.image_size, "download": not a.no_download, "progress": not a.quiet}
    distributed.wait_for_main()  # under torchrun, each machine's first rank fetches the data first
    train = load_dataset(a.dataset, "train", **kw)
    test = load_dataset(a.dataset, "test", **kw)
    distributed.release_others()
    train_x = trainable(first(train.images, a.limit))  # images on disk (npy:) stay there: read per batch
    train_y = torch.from_numpy(np.asarray(train.labels[: a.limit or None], np.int64))
    test_x = trainable(test.images)
    test_y = torch.from_numpy(np.asarray(test.labels, np.int64))

    spec = kind_spec(a.model)
    cfg = ModelConfig(kind=a.model, arch=a.arch, latent_dim=a.latent_dim, image_shape=train.image_shape,
                      channels=a.channels, hidden=a.hidden, beta=a.beta if spec.beta_kl else 0.0,
                      likelihood=a.likelihood, num_classes=train.num_classes, dropout=a.dropout,
                      denoise=a.denoise, tied=a.tied, adv_weight=a.adv_weight, decoder_label=a.decoder_label)
    try:
        cfg.validate()
    except ConfigError as e:
        raise TrainError(str(e)) from None
    if not spec.gradient_trained:
        return _run_closed_form(a, cfg, train, test, train_x, test_x)

    tc = _train_config(a, len(train_x))
    tc.world_size = distributed.divides(tc.batch_size, chosen=a.batch_size is None)  # 1 without torchrun
    start_epoch, opt_state, history, snapshots = 0, None, [], []
    torch.manual_seed(tc.seed)
    model = build_model(cfg).to(device)
    resume_ref: dict[str, Any] | None = None
    if a.resume:
        old, state = load_for_resume(out, cfg)
        model.load_state_dict(old.state_dict())
        start_epoch, opt_state, history = state.epoch, state.optimizer, old.metadata.get("history", [])
        resume_ref = old.metadata["resume"]
        snapshots = [(m.metadata["snapshot"], m.state_dict()) for m in checkpoint.load_snapshots(out)]  # one pass
        tc.epochs = max(tc.epochs, start_epoch) if not tc.steps else tc.epochs
        print(f"resuming after epoch {start_epoch}", file=sys.stderr)

    dataset_meta = _dataset_meta(a, train, len(train_x), len(test_x))
    t_begin = time.perf_counter()
    events = Events(a.events)
    total_steps = schedule.total_steps(tc, len(train_x))
    events.emit("start", images=len(train_x), epochs=tc.epochs, steps=total_steps, out=str(out))

    def save_epoch(epoch: int, m: LatentModel, opt: torch.optim.Optimizer, hist: list[dict[str, Any]]) -> None:
        nonlocal resume_ref
        if distributed.quiet():  # rank 0 alone writes
            return
        last = hist[-1].get("test", {})
        metrics = {"epochs": epoch, "seconds": round(time.perf_counter() - t_begin, 1),
                   **{f"test_{k}": v for k, v in last.items()}}
        try:
            resume_ref = commit_epoch(out, m, opt, epoch=epoch, train_config=dict(tc.__dict__), dataset=dataset_meta,
                                      metrics=metrics, history=hist, snapshots=snapshots, train=dict(tc.__dict__))
        except SaveError as e:
            raise SaveError(f"{str(e).rstrip('.')}; training stopped after epoch {epoch}, {_kept_pair(out)}") from None
        events.emit("epoch", epoch=epoch, epochs=tc.epochs, row=hist[-1], out=str(out))

    print(f"training {cfg.kind} ({cfg.arch}, beta={cfg.beta}) on {len(train_x)} images: {_length_words(tc, len(train_x))}, "
          f"device {device}, {torch.get_num_threads()} threads", file=sys.stderr)
    try:
        res = fit(model, train_x, tc, train_y=train_y, test_x=None if distributed.quiet() else test_x,
                  test_y=test_y, on_epoch=save_epoch, start_epoch=start_epoch, optimizer_state=opt_state, history=history, snapshots=snapshots,
                  progress=not a.quiet, on_step=lambda done, _m: events.step(done, total_steps))
    except TrainError as e:
        kept = f"the last good checkpoint {out} was kept" if out.exists() else "no checkpoint was written"
        raise TrainError(f"{e}; {kept}. Try a lower --lr.") from None
    if res.interrupted:
        if res.epochs_done > start_epoch or (a.resume and out.exists()):
            print(f"\ninterrupted: {out} holds the last finished epoch ({res.epochs_done}).", file=sys.stderr)
        else:
            print("\ninterrupted before the first epoch finished: no checkpoint written.", file=sys.stderr)
        return 130
    if distributed.quiet():  # the final metrics and the last save are rank 0's
        return 0

    # final metrics: test ELBO terms, active units + 5-NN accuracy of the (D-dim) test means; the verdict
    train_images, train_labels = first(train.images, a.limit), train.labels[: a.limit or None]
    report = evaluate.full_report(model, train_images, train_labels, test.images, test.labels)
    judged = evaluate.verdict_report(model, train_images, train_labels, test.images, test.labels, report)
    metrics = {"epochs": res.epochs_done, "steps": (res.history[-1].get("steps") if res.history else None),
               "seconds": round(time.perf_counter() - t_begin, 1), **{f"test_{k}": v for k, v in report.items()},
               "train_images_per_s": float(np.mean([h["images_per_s"] for h in res.history[start_epoch:]] or [0]))}
    try:  # the same resume state as the last epoch's commit: the pair stays consistent
        checkpoint.save(model, out, dataset=dataset_meta, metrics=metrics, history=res.history, resume=resume_ref,
                        snapshots=res.snapshots, train=dict(tc.__dict__), verdict=judged)
    except SaveError as e:
        raise SaveError(f"{str(e).rstrip('.')}; training finished, {_kept_pair(out)} (without the final metrics)") from None
    print(f"wrote {out}", file=sys.stderr)
    events.emit("done", out=str(out), metrics=metrics)
    if not a.events:
        print_metrics(metrics)
    _print_verdict(judged)
    return 0


def _train_config(a: argparse.Namespace, n_train: int) -> TrainConfig:
    """The training options with the defaults sized to the data (training/schedule.py)."""
    from training.train import TrainConfig

    batch = a.batch_size or schedule.default_batch_size(n_train)
    per_epoch = schedule.steps_per_epoch(n_train, batch)
    epochs = a.epochs or (math.ceil(a.steps / per_epoch) if a.steps else schedule.default_epochs(n_train, batch))
    return TrainConfig(epochs=epochs, steps=a.steps or 0, batch_size=batch, lr=a.lr, schedule=a.schedule,
                       lr_warmup=a.lr_warmup, kl_warmup=a.kl_warmup, free_bits=a.free_bits, seed=a.seed,
                       device=a.device, threads=a.threads, limit=a.limit, workers=a.workers, snapshots=a.snapshots,
                       amp=a.amp)


def _length_words(tc: TrainConfig, n_train: int) -> str:
    """"3000 steps (63 epochs of 48 steps, batch 32)"."""
    per_epoch = schedule.steps_per_epoch(n_train, tc.batch_size)
    total = schedule.total_steps(tc, n_train)
    return f"{total} steps ({math.ceil(total / per_epoch)} epochs of {per_epoch} steps, batch {tc.batch_size})"


def _print_verdict(judged: dict[str, Any]) -> None:
    """The verdict: its numbers on stdout with the metrics, its warning (if any) as one line on stderr."""
    lines = verdict.summary(judged)
    print(f"verdict: {lines[0]}")
    if judged.get("warning"):
        print(f"latent-train: warning: {judged['warning']}", file=sys.stderr)


def _dataset_meta(a: argparse.Namespace, train: Any, num_train: int, num_test: int) -> dict[str, Any]:
    return {"name": a.dataset, "split": "train", "test_split": "test", "label_names": train.label_names,
            "num_train": num_train, "num_test": num_test, "image_shape": list(train.image_shape),
            "preprocessing": "pixels scaled to [0, 1]", "source": train.source}


def _run_closed_form(a: argparse.Namespace, cfg: ModelConfig, train: Any, test: Any, train_x: torch.Tensor,
                     test_x: torch.Tensor) -> int:
    """pca: one closed-form fit (no epochs, no optimizer), evaluated and saved like every other kind."""
    from training import checkpoint, evaluate
    from training.batches import first
    from training.kinds import resolve
    from training.models import build_model

    out = Path(a.out)
    model = build_model(cfg)
    print(f"fitting {cfg.kind} ({a.pca_solver}) on {len(train_x)} images", file=sys.stderr)
    t0 = time.perf_counter()
    solver = resolve(kind_spec(cfg.kind).closed_form)(model, train_x, a.pca_solver, seed=a.seed)
    seconds = time.perf_counter() - t0
    train_images, train_labels = first(train.images, a.limit), train.labels[: a.limit or None]
    report = evaluate.full_report(model, train_images, train_labels, test.images, test.labels)
    judged = evaluate.verdict_report(model, train_images, train_labels, test.images, test.labels, report)
    metrics = {"epochs": 1, "seconds": round(seconds, 1), "pca_solver": solver, **{f"test_{k}": v for k, v in report.items()}}
    history = [{"epoch": 1, "seconds": seconds, "solver": solver, "test": evaluate.evaluate(model, test_x)}]
    checkpoint.save(model, out, dataset=_dataset_meta(a, train, len(train_x), len(test_x)), metrics=metrics, history=history,
                    verdict=judged)
    print(f"wrote {out}", file=sys.stderr)
    print_metrics(metrics)
    _print_verdict(judged)
    return 0


def _kept_pair(out: Path) -> str:
    """What is still on disk after a failed save (the commit protocol keeps the previous pair)."""
    from training import checkpoint

    try:
        epochs = checkpoint.read_metadata(out).get("metrics", {}).get("epochs", "?")
    except checkpoint.CheckpointError:
        return "and no checkpoint was written"
    return f"and {out} still holds epoch {epochs} with its resume state"


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Warnings as the CLI's other messages: one line, no file name or source line."""
    print(f"latent-train: warning: {message}", file=sys.stderr if file is None else file)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    commands = {"info": run_info, "eval": run_eval, "train": run_train}
    cmd = commands.get(argv[0]) if argv else None
    shown, warnings.showwarning = warnings.showwarning, _one_line_warning
    try:
        return _dispatch(cmd, argv)
    finally:
        warnings.showwarning = shown


def _dispatch(cmd: Callable[[list[str]], int] | None, argv: list[str]) -> int:
    try:
        if cmd is not None:
            return cmd(argv[1:])
        return run_train(argv)
    except UserError as e:
        said = rank_message(e)  # torchrun: one line per machine (training/errors.py)
        return 1 if said is None else _fail(said.rstrip("."), 1)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    except BrokenPipeError:  # e.g. `latent-train info FILE | head`
        return 0
    except OSError as e:
        return _fail(f"{getattr(e, 'filename', None) or ''}: {e.strerror or e}".lstrip(": "), 1)


if __name__ == "__main__":
    sys.exit(main())
