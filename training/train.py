"""The fit loop: :func:`fit` trains a model on a tensor of images, one epoch after another.

The ``latent-train`` command that calls it is training/cli.py. After every finished epoch the checkpoint and its resume state (the optimizer's, in
``OUT.resume-N-<hash>.safetensors``, read only by ``--resume``) are committed as one unit
(training/commit.py): a kill at any instant leaves the last finished epoch on disk as a consistent
pair, and a full disk stops training with one line and the previous pair intact. A non-finite loss
stops training and never overwrites the last good checkpoint.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from training import distributed, evaluate, guide
from training import schedule as sched
from training import snapshots as snap
from training.batches import Streamed, batch_of, lay_out
from training.datasets.lazy import LazyImages
from training.errors import TrainError
from training.models import LatentModel
from training.parallel import ThreadedStep
from training.precision import Precision

__all__ = ["FitResult", "Snapshot", "TrainConfig", "TrainError", "fit", "lr_at", "pick_device", "snapshot_steps"]


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 128
    lr: float = sched.DEFAULT_LR  # Adam
    schedule: str = "cosine"  # "cosine" (to lr * min_lr_frac) or "constant", after the warm-up
    min_lr_frac: float = 0.05
    steps: int = 0  # train exactly this many optimizer steps (0: ``epochs`` whole epochs); training/schedule.py
    lr_warmup: float = sched.LR_WARMUP  # fraction of the steps: the learning rate rises linearly to lr
    kl_warmup: float = sched.KL_WARMUP  # fraction of the steps: the KL weight rises linearly from 0 to beta
    free_bits: float = sched.FREE_BITS  # nats of KL per latent unit that cost nothing
    seed: int = 0
    device: str = "auto"  # auto picks cuda, then mps, then cpu
    threads: int = 0  # torch intra-op threads; 0 = all cores
    channels_last: bool = True  # NHWC conv layout: ~20% faster on CPU (benchmarks/README.md)
    limit: int = 0  # use only the first N training images (0 = all), for quick runs
    workers: int = 0  # CPU: data-parallel threads over batch slices (training/parallel.py); 0 = one per torch thread
    label_guide: float = 0.0  # conditional kinds: weight of the label-guidance term (training/guide.py)
    clip_grad: float = 0.0  # clip the gradient's global L2 norm to this before each step (0 = off)
    weight_decay: float = 0.0  # decoupled weight decay (AdamW, Loshchilov & Hutter 2019) on every weight; 0 = plain Adam
    ema: float = 0.0  # keep and show an exponential moving average of the weights with this decay per step (0 = off)
    iw_samples: int = 1  # importance-weighted training (IWAE) with this many z per image (1 = the ELBO)
    snapshots: int = 0  # keep this many snapshots spread over training, in the checkpoint (training/snapshots.py)
    amp: bool = False  # mixed precision: float16 autocast + grad scaler on cuda, bfloat16 on cpu (training/precision.py)
    world_size: int = 1  # processes training together under torchrun (training/distributed.py); recorded


def pick_device(name: str = "auto") -> torch.device:
    if name != "auto":
        try:
            device = torch.device(name)
        except RuntimeError:
            raise TrainError(f"unknown --device {name!r}; use auto, cpu, cuda or mps") from None
        mps = getattr(torch.backends, "mps", None)
        if (device.type == "cuda" and not torch.cuda.is_available()) or (
                device.type == "mps" and not (mps is not None and mps.is_available())):
            raise TrainError(f"--device {name}: {device.type} is not available on this machine")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def _match_layout(opt: torch.optim.Optimizer) -> None:
    """Give restored optimizer state the memory layout of its parameter (channels_last conv weights).

    The resume file stores plain contiguous tensors; fused Adam walks a parameter and its state as flat
    memory, so a layout mismatch would pair the wrong elements (and a resumed run would drift).
    """
    for group in opt.param_groups:
        for p in group["params"]:
            for key, value in opt.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.shape == p.shape and value.stride() != p.stride():
                    opt.state[p][key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


Snapshot = tuple[dict[str, Any], dict[str, torch.Tensor]]  # (entry: epoch, step, metrics; weights)
SNAPSHOT_TEST_IMAGES = 1000  # a snapshot's test metrics use the first 1000 test images (fast)
EPOCH_TEST_IMAGES = 2000  # an epoch's history row too, the first 2000, and in at most EPOCH_TESTS epochs of a
EPOCH_TESTS = 20  # run (a small set trains many short epochs); the final metrics (training/cli.py) use every test image


@dataclass
class FitResult:
    model: LatentModel
    history: list[dict[str, Any]] = field(default_factory=list)
    epochs_done: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    snapshots: list[Snapshot] = field(default_factory=list)
    stopped: bool = False  # on_step asked to stop


class _Stop(Exception):
    """on_step returned True."""


def fit(
    model: LatentModel,
    train_x: torch.Tensor | LazyImages,
    tc: TrainConfig,
    *,
    train_y: torch.Tensor | None = None,
    test_x: torch.Tensor | None = None,
    test_y: torch.Tensor | None = None,
    on_epoch: Callable[[int, LatentModel, torch.optim.Optimizer, list[dict[str, Any]]], None] | None = None,
    start_epoch: int = 0,
    optimizer_state: dict | None = None,
    history: list[dict[str, Any]] | None = None,
    snapshots: list[Snapshot] | None = None,
    on_step: Callable[[int, LatentModel], bool] | None = None,
    progress: bool = True,
    ema_weights: dict[str, torch.Tensor] | None = None,
) -> FitResult:
    """Train ``model`` on images ``train_x`` (N, C, H, W) in [0, 1] -- or uint8 images on disk (a LazyImages,
    read a batch at a time: training/batches.py) -- for ``tc.steps`` optimizer steps, or
    ``tc.epochs`` epochs when ``tc.steps`` is 0 (the last epoch of a ``steps`` run may be partial).

    Seeded: the same config, data and seed give the same weights (on the same device and threads).
    ``train_y`` / ``test_y`` (N,) int64 labels are needed by conditional kinds. ``on_epoch(epoch,
    model, optimizer, history)`` runs after each finished epoch (checkpointing). With
    ``tc.snapshots``, snapshots are appended to ``snapshots`` (kept from a resumed run) as they are taken,
    until it holds ``tc.snapshots`` (N in total over resumes, never more).
    ``on_step(steps_done, model)`` runs after every step; returning True stops training there
    (``result.stopped``; the unfinished epoch is not counted), e.g. once a quality target is met.

    With ``tc.ema`` the model shown -- tested, snapshotted, passed to ``on_epoch`` and ``on_step``, and
    returned as ``result.model`` -- is an exponential moving average of the trained weights (Polyak
    averaging), updated after every step: ``avg = ema * avg + (1 - ema) * weights``; ``ema_weights`` is
    the average a resumed run continues from (None: it starts at the weights ``model`` has now).
    """
    device = next(model.parameters()).device
    x_all, y_all = _lay_out(model, train_x, train_y, tc, device)
    opt = _optimizer(model, tc, device, optimizer_state)
    averaged = _averaged(model, tc.ema, ema_weights)
    shown = averaged.module if averaged is not None else model
    steps_per_epoch = sched.steps_per_epoch(len(x_all), tc.batch_size)
    total_steps = sched.total_steps(tc, len(x_all))
    epochs = math.ceil(total_steps / steps_per_epoch)
    test_every = math.ceil(epochs / EPOCH_TESTS)
    group, precision = distributed.active(), Precision(tc.amp, device)  # torchrun: each rank a stripe of a batch
    workers = 1 if group or precision.scaler else tc.workers or (torch.get_num_threads() if device.type == "cpu" else 1)
    step = ThreadedStep(model, workers, precision.autocast) if workers > 1 else None
    if tc.label_guide > 0 and y_all is not None:  # seeded: a resumed run trains the same classifier
        model.guide = guide.train_guide(x_all, y_all, model.config.image_shape, model.config.num_classes,
                                        tc.label_guide, tc.seed)
    history = list(history or [])
    result = FitResult(model=shown, history=history, epochs_done=start_epoch,
                       snapshots=snapshots if snapshots is not None else [])
    snap_steps = snapshot_steps(total_steps, tc.snapshots, start_epoch * steps_per_epoch, len(result.snapshots))
    t_start = time.perf_counter()
    model.train()
    try:
        for epoch in range(start_epoch, epochs):
            # one generator per epoch, seeded from (seed, epoch): resuming reproduces the same order
            gen = torch.Generator().manual_seed(tc.seed * 100_003 + epoch)
            torch.manual_seed(tc.seed * 100_003 + epoch)
            order = torch.randperm(len(x_all), generator=gen).to(device)
            n_steps = min(steps_per_epoch, total_steps - epoch * steps_per_epoch)
            meter = _Meter(min(len(x_all), n_steps * tc.batch_size), f"epoch {epoch + 1}/{epochs}", progress)
            for i in range(n_steps):
                global_step = epoch * steps_per_epoch + i
                if global_step in snap_steps:
                    result.snapshots.append(_snapshot(shown, epoch, global_step, meter, test_x, test_y))
                _set_schedule(model, opt, tc, global_step, total_steps)
                idx = order[i * tc.batch_size : (i + 1) * tc.batch_size]
                rows = group.rows(len(idx)) if group else slice(None)  # this rank's stripe (all rows: one process)
                xb = batch_of(x_all, idx[rows])
                yb = y_all.index_select(0, idx[rows]) if y_all is not None else None
                # the noise of the whole global batch, then this stripe's rows: the same noise on any path
                rows_k = (len(idx), tc.iw_samples) if tc.iw_samples > 1 else (len(idx),)  # IWAE: k z per image
                eps = torch.randn(*rows_k, model.config.latent_dim, generator=gen)[rows].to(device)
                noise = torch.randn((len(idx), *xb.shape[1:]), generator=gen)[rows].to(device) \
                    if model.config.denoise > 0 else None
                stats = _train_step(model, opt, step, (xb, yb, eps, noise), f"epoch {epoch + 1}, step {i + 1}",
                                    precision, group, len(xb) / len(idx), tc.clip_grad)
                if averaged is not None:
                    averaged.update_parameters(model)
                if on_step is not None and on_step(global_step + 1, shown):
                    raise _Stop
                meter.add(stats, len(idx), show=i % 10 == 0 or i == n_steps - 1)
            tested = (epoch + 1) % test_every == 0 or epoch + 1 == epochs
            history.append(_epoch_row(shown, epoch, meter.close(), test_x if tested else None, test_y,
                                      steps=global_step + 1))
            if on_epoch is not None:
                on_epoch(epoch + 1, shown, opt, history)
            result.epochs_done = epoch + 1  # only once its checkpoint is on disk
    except KeyboardInterrupt:
        result.interrupted = True
    except _Stop:
        result.stopped = True
    finally:
        if step is not None:
            step.close()
        for m in {model, shown}:
            m.kl_weight, m.free_bits, m.guide, m.iw_samples = 1.0, 0.0, None, 1  # its own objective
            m.eval()
        result.seconds = time.perf_counter() - t_start
    for m in {model, shown}:
        m.to(memory_format=torch.contiguous_format)
    return result


def _averaged(model: LatentModel, decay: float,
              weights: dict[str, torch.Tensor] | None) -> torch.optim.swa_utils.AveragedModel | None:
    """torch's AveragedModel keeping the exponential moving average of ``model``'s weights (None without
    ``--ema``), started at ``weights`` (a resumed run's average) or at the weights ``model`` has now."""
    if not decay:
        return None
    swa = torch.optim.swa_utils
    averaged = swa.AveragedModel(model, multi_avg_fn=swa.get_ema_multi_avg_fn(decay))
    if weights is not None:
        averaged.module.load_state_dict(weights)
    averaged.n_averaged.fill_(1)  # average from here on (0 would first copy the weights after one step)
    return averaged


def _lay_out(model: LatentModel, train_x: torch.Tensor | LazyImages, train_y: torch.Tensor | None, tc: TrainConfig,
             device: torch.device) -> tuple[torch.Tensor | Streamed, torch.Tensor | None]:
    """The model and the data on ``device``, conv models in channels_last; the labels if the kind uses them."""
    fmt = torch.channels_last if (tc.channels_last and model.config.arch == "conv") else torch.contiguous_format
    model.to(memory_format=fmt)
    x_all = lay_out(train_x, device, fmt)  # a LazyImages stays on disk: each batch is read by batch_of
    if not getattr(model, "conditional", False):
        return x_all, None
    if train_y is None:
        raise TrainError(f"a {model.config.kind} model needs the training labels")
    return x_all, train_y.to(device)


def _optimizer(model: LatentModel, tc: TrainConfig, device: torch.device, state: dict | None) -> torch.optim.Optimizer:
    # fused Adam: one kernel per step instead of ~10 elementwise passes (benchmarks/README.md); with a weight
    # decay, AdamW: each step shrinks every weight by lr * weight_decay, apart from the gradient's moments
    fused = device.type in ("cpu", "cuda")
    if tc.weight_decay > 0:
        opt: torch.optim.Optimizer = torch.optim.AdamW(model.parameters(), lr=tc.lr, weight_decay=tc.weight_decay,
                                                       fused=fused)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=tc.lr, fused=fused)
    if state is not None:
        try:
            opt.load_state_dict(state)
        except (ValueError, KeyError, RuntimeError):
            raise TrainError("the optimizer state in the resume file does not fit this model") from None
        _match_layout(opt)
        for g in opt.param_groups:  # this run's decay, not the resumed one's (Adam and AdamW keep the same state)
            g["weight_decay"] = tc.weight_decay
    return opt


lr_at = sched.lr_at  # the learning rate at a step (warm-up, then cosine or constant)


def _set_schedule(model: LatentModel, opt: torch.optim.Optimizer, tc: TrainConfig, step: int, total: int) -> None:
    """This step's learning rate, KL weight and free bits (training/schedule.py), and the IWAE samples."""
    for g in opt.param_groups:
        g["lr"] = sched.lr_at(tc, step, total)
    model.kl_weight = sched.kl_weight_at(tc, step, total)
    model.free_bits, model.iw_samples = tc.free_bits, tc.iw_samples


def snapshot_steps(total_steps: int, n: int, start_step: int, taken: int) -> set[int]:
    """The steps of this run that take a snapshot: the schedule's from ``start_step`` on, as many as the
    ``taken`` ones kept from earlier runs leave of ``n`` (``--snapshots N`` is N in total, resumes included)."""
    ahead = [s for s in snap.schedule(total_steps, n) if s >= start_step]
    return set(ahead[: max(n - taken, 0)])


def _train_step(model: LatentModel, opt: torch.optim.Optimizer, step: ThreadedStep | None,
                batch: tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None],
                where: str, precision: Precision | None = None, group: distributed.Group | None = None,
                share: float = 1.0, clip: float = 0.0) -> torch.Tensor:
    """One optimizer step per phase (aae: discriminator, then autoencoder); the last phase's
    (loss, recon, kl) are what the progress bar and the history show. A non-finite loss stops training.
    Under torchrun, ``batch`` is this rank's stripe, ``share`` its part of the global batch: the gradients
    and loss terms are summed over the ranks (training/distributed.py) before the check and the step. ``clip``
    > 0 scales the summed gradient down to that global L2 norm when it is longer (``--clip-grad``)."""
    xb, yb, eps, noise = batch
    precision = precision or Precision(False, xb.device)
    stats = torch.zeros(3)
    for phase in model.phases:
        opt.zero_grad(set_to_none=True)
        if step is not None:
            stats = step(xb, eps, yb, noise, phase)  # sets .grad
        elif len(xb):  # (a rank's stripe of a short last batch may be empty)
            with precision.autocast():
                out = model(xb, yb, eps=eps, noise=noise, phase=phase)
            precision.backward(out["loss"])
            stats = torch.stack([out["loss"].detach(), out["recon"].detach(), out["kl"].detach()]).float()
        if group is not None:
            stats = group.reduce(list(model.parameters()), stats, share)
        if not torch.isfinite(stats[0]):
            raise TrainError(f"the loss became {stats[0].item()} at {where}; training stopped")
        if clip > 0:
            precision.unscale(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip, foreach=True)
        precision.step(opt)
    return stats


class _Meter:
    """An epoch's running means of (loss, recon, kl) and its progress bar."""

    def __init__(self, total: int, desc: str, progress: bool):
        from tqdm.auto import tqdm

        self.sums, self.seen, self.t0 = torch.zeros(3, dtype=torch.float64), 0, time.perf_counter()
        self.bar = tqdm(total=total, unit="img", desc=desc, disable=not progress, dynamic_ncols=True, leave=True)

    def add(self, stats: torch.Tensor, n: int, show: bool) -> None:
        self.sums += stats.double().cpu() * n
        self.seen += n
        self.bar.update(n)
        if show:
            m = self.means()
            self.bar.set_postfix_str(f"loss {m[0]:.1f} recon {m[1]:.1f} kl {m[2]:.2f}", refresh=False)

    def means(self) -> list[float]:
        return (self.sums / max(self.seen, 1)).tolist()

    def close(self) -> _Meter:
        self.bar.close()
        return self


def _epoch_row(model: LatentModel, epoch: int, meter: _Meter, test_x: torch.Tensor | None,
               test_y: torch.Tensor | None, steps: int) -> dict[str, Any]:
    """The history row of a finished epoch: train means (``loss`` is the objective: with the KL warm-up's
    weight and free bits), the optimizer steps done so far, time, and the test metrics."""
    m, seconds = meter.means(), time.perf_counter() - meter.t0
    row: dict[str, Any] = {"epoch": epoch + 1, "steps": steps, "loss": m[0], "recon": m[1], "kl": m[2],
                           "seconds": seconds, "images_per_s": meter.seen / seconds}
    if test_x is not None:
        n = EPOCH_TEST_IMAGES
        row["test"] = evaluate.evaluate(model, test_x[:n], None if test_y is None else test_y[:n])
        model.train()
    return row


def _snapshot(model: LatentModel, epoch: int, step: int, meter: _Meter,
              test_x: torch.Tensor | None, test_y: torch.Tensor | None) -> Snapshot:
    """The weights now, with where training is and how it is doing (epoch's running train means so
    far, and the test metrics on the first SNAPSHOT_TEST_IMAGES test images)."""
    metrics: dict[str, Any] = {}
    if meter.seen:
        metrics.update(zip(("train_loss", "train_recon", "train_kl"), meter.means()))
    if test_x is not None:
        n = SNAPSHOT_TEST_IMAGES
        test = evaluate.evaluate(model, test_x[:n], None if test_y is None else test_y[:n])
        metrics.update({f"test_{k}": v for k, v in test.items()})
        model.train()
    return {"epoch": epoch, "step": step, "metrics": metrics}, snap.state_to_cpu(model)


