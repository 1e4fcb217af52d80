"""The arguments of ``latent-train train``: the parser and the checks that turn bad values into one sentence."""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

from training import schedule
from training import snapshots as snap
from training.config import DECODER_LABELS, EXPLORER_MIN_LATENT_DIM, MAX_LATENT_DIM
from training.datasets import dataset_names
from training.errors import TrainError
from training.kinds import KIND_SPECS, KINDS, kind_spec

MAX_IW_TRAIN = 100  # --iw-train: K z per image are decoded in one batch (batch x K images of activations)


def ints(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def parser_train() -> argparse.ArgumentParser:
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
    p.add_argument("--channels", type=ints, default=(32, 64), help="conv widths, e.g. 32,64")
    p.add_argument("--hidden", type=ints, default=schedule.DEFAULT_HIDDEN,
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
    p.add_argument("--label-guide", type=float, default=0.0, metavar="W",
                   help="cvae: weight of label guidance, a frozen classifier's cross-entropy on decode(z, c) at z from "
                   "the prior, so the class dial works at every z (training/guide.py; 0 = off, the default)")
    p.add_argument("--clip-grad", type=float, default=0.0, metavar="NORM",
                   help="scale each step's gradient down to this global L2 norm when it is longer, against the rare "
                   "batches whose gradient is 10-20 times the median (0 = off, the default)")
    p.add_argument("--weight-decay", type=float, default=0.0, metavar="WD",
                   help="decoupled weight decay (AdamW): each step shrinks every weight by lr * WD, against "
                   "overfitting on long runs (0 = off, plain Adam, the default)")
    p.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                   help="keep an exponential moving average of the weights, updated after every step with this "
                   "decay (e.g. 0.999: about the last 1,000 steps), and save, test and show the average; the live "
                   "weights go into the resume state (0 = off, the default)")
    p.add_argument("--iw-train", type=int, default=1, metavar="K",
                   help="importance-weighted training (IWAE, Burda et al. 2016): the loss is the K-sample bound "
                   "on -log p(x), K z decoded per image, so a step costs about K times the decoder's work "
                   f"(1..{MAX_IW_TRAIN}; 1 = the ELBO, the default; free bits do not apply; stochastic kinds only)")
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


def _check_objective(a: argparse.Namespace) -> None:
    """--label-guide, --clip-grad, --weight-decay, --ema and --iw-train: in range, and for a kind they apply to."""
    if not (math.isfinite(a.label_guide) and 0 <= a.label_guide <= 1000):
        raise TrainError(f"--label-guide must be a weight in 0..1000 (got {a.label_guide})")
    if not (math.isfinite(a.clip_grad) and a.clip_grad >= 0):
        raise TrainError(f"--clip-grad must be a gradient norm of 0 or more (got {a.clip_grad})")
    if not (math.isfinite(a.weight_decay) and 0 <= a.weight_decay <= 10):
        raise TrainError(f"--weight-decay must be a number in 0..10 (got {a.weight_decay})")
    if not (math.isfinite(a.ema) and 0 <= a.ema < 1):
        raise TrainError(f"--ema must be a decay of 0 or more and below 1 (got {a.ema})")
    if not 1 <= a.iw_train <= MAX_IW_TRAIN:
        raise TrainError(f"--iw-train is a number of samples in 1..{MAX_IW_TRAIN}, not {a.iw_train}")
    if a.iw_train > 1 and not kind_spec(a.model).stochastic(a.beta):
        raise TrainError(f"--iw-train needs a model with a posterior variance (vae or cvae with beta > 0), "
                         f"not {a.model} with beta {a.beta:g}")
    if a.label_guide and not kind_spec(a.model).conditional:
        raise TrainError(f"--label-guide needs a conditional kind (cvae), not {a.model}")


def check_args(a: argparse.Namespace) -> None:
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
    _check_objective(a)
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
