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
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from training import schedule, verdict
from training.cli_args import check_args, parser_train
from training.cli_inspect import print_metrics, run_eval, run_info
from training.errors import PeerLost, TrainError, UserError, rank_message
from training.events import Events
from training.kinds import kind_spec

if TYPE_CHECKING:  # pragma: no cover
    import torch

    from training.models import LatentModel, ModelConfig
    from training.train import TrainConfig


def _fail(msg: str, code: int = 2) -> int:
    print(f"latent-train: error: {msg}", file=sys.stderr)
    return code


def run_train(argv: list[str]) -> int:
    a = parser_train().parse_args(argv)
    check_args(a)
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
    ema_weights: dict[str, torch.Tensor] | None = None
    if a.resume:
        old, state = load_for_resume(out, cfg)
        ema_weights = _load_resumed(model, old, state.live, tc.ema > 0)
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
            resume_ref = commit_epoch(out, m, opt, epoch=epoch, train_config=dict(tc.__dict__), live=tc.ema > 0,
                                      dataset=dataset_meta,
                                      metrics=metrics, history=hist, snapshots=snapshots, train=dict(tc.__dict__))
        except SaveError as e:
            raise SaveError(f"{str(e).rstrip('.')}; training stopped after epoch {epoch}, {_kept_pair(out)}") from None
        events.emit("epoch", epoch=epoch, epochs=tc.epochs, row=hist[-1], out=str(out))

    print(f"training {cfg.kind} ({cfg.arch}, beta={cfg.beta}) on {len(train_x)} images: {_length_words(tc, len(train_x))}, "
          f"device {device}, {torch.get_num_threads()} threads", file=sys.stderr)
    try:
        res = fit(model, train_x, tc, train_y=train_y, test_x=None if distributed.quiet() else test_x,
                  test_y=test_y, on_epoch=save_epoch, start_epoch=start_epoch, optimizer_state=opt_state, history=history, snapshots=snapshots,
                  progress=not a.quiet, on_step=lambda done, _m: events.step(done, total_steps), ema_weights=ema_weights)
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
    model = res.model  # with --ema, the moving average

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


def _load_resumed(model: LatentModel, old: LatentModel, live: list[Any] | None, ema: bool) -> dict[str, Any] | None:
    """Give ``model`` the weights training goes on from; returns the moving average to go on with (``--ema``).

    A checkpoint whose resume state has ``live`` weights holds their average (an ``--ema`` run): training goes
    on from the live weights, and the average from the checkpoint's if this run averages too."""
    from training.resume_state import put_live

    saved = old.state_dict()
    model.load_state_dict(saved)
    if live is None:
        return None
    put_live(model, live)
    return saved if ema else None


def _train_config(a: argparse.Namespace, n_train: int) -> TrainConfig:
    """The training options with the defaults sized to the data (training/schedule.py)."""
    from training.train import TrainConfig

    batch = a.batch_size or schedule.default_batch_size(n_train)
    per_epoch = schedule.steps_per_epoch(n_train, batch)
    epochs = a.epochs or (math.ceil(a.steps / per_epoch) if a.steps else schedule.default_epochs(n_train, batch))
    return TrainConfig(epochs=epochs, steps=a.steps or 0, batch_size=batch, lr=a.lr, schedule=a.schedule,
                       lr_warmup=a.lr_warmup, kl_warmup=a.kl_warmup, free_bits=a.free_bits, seed=a.seed,
                       label_guide=a.label_guide, clip_grad=a.clip_grad,
                       weight_decay=a.weight_decay, ema=a.ema, iw_samples=a.iw_train, device=a.device, threads=a.threads,
                       limit=a.limit, workers=a.workers, snapshots=a.snapshots, amp=a.amp)


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
