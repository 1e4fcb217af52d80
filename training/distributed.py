"""Data-parallel training under torchrun: W processes train one model as one process would.

``torchrun --nproc_per_node W -m training.cli ...`` (or ``latent-train`` started by torchrun) sets
``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``; :func:`detect` reads them (without them nothing changes)
and :func:`setup` joins the process group: NCCL when the device is CUDA, gloo otherwise.

The maths is the one-process run's, split W ways (the same split as training/parallel.py's threads):

- every rank draws the same seeded global permutation per epoch (reshuffled per epoch, as
  ``DistributedSampler`` does), and rank r takes its stripe (:func:`stripe`, a contiguous share) of
  every global batch, with the matching rows of the noise drawn for the whole global batch; so
  ``--batch-size`` is the global batch and each rank reads only its own rows;
- after backward, :func:`Group.reduce` sums the stripes' gradients, each weighted by its share of the
  batch, with one ``all_reduce`` over a flat buffer in parameter order (plus a has-gradient flag per
  parameter and the loss terms): every rank ends the step with the gradient of the global batch
  mean, the same ``None`` gradients (the AAE's idle phase: Adam skips those weights) and the same
  global loss, so the non-finite check stops every rank at once.

Why not ``DistributedDataParallel``: the AAE's two phases leave different weights unused (DDP would
need ``find_unused_parameters`` and its extra graph walk), DDP hooks ``forward`` while the fit loop
calls the model with keyword arguments and phases, and DDP averages equal shares, where a final
batch split unevenly needs weighted ones. The explicit reduce is a dozen lines and deterministic.

Only rank 0 writes (checkpoint, resume state, snapshots, metrics, progress bar, events). A rank
that dies makes the others' next collective fail (gloo/NCCL raise), or torchrun ends them with
SIGTERM: both become :class:`PeerLost`, one sentence; the committed checkpoint is untouched
(training/commit.py's protocol holds for any interruption). A rank that hangs (or is paused) makes the
others' collective time out after :func:`peer_timeout` (30 minutes, or ``$LATENT_TRAIN_PEER_TIMEOUT``
seconds): the same one sentence, saying so.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist

from training.errors import PeerLost, TrainError

ENV = ("WORLD_SIZE", "RANK", "LOCAL_RANK")
TIMEOUT = timedelta(minutes=30)  # a rank that hangs (not dies) stops the others after this long
TIMEOUT_ENV = "LATENT_TRAIN_PEER_TIMEOUT"  # seconds, to wait other than TIMEOUT for a silent rank


def peer_timeout() -> timedelta:
    """How long a rank waits for a silent peer before it stops: ``$LATENT_TRAIN_PEER_TIMEOUT`` seconds, else
    :data:`TIMEOUT`."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < 1e7:
        raise TrainError(f"{TIMEOUT_ENV}={raw!r}: give the seconds to wait for a silent process, a number above 0")
    return timedelta(seconds=seconds)


@dataclass(frozen=True)
class Launch:
    """What torchrun told this process."""

    world_size: int
    rank: int
    local_rank: int
    local_world_size: int


def detect(environ: dict[str, str] | None = None) -> Launch | None:
    """The torchrun launch this process belongs to, or None when not started by torchrun."""
    env = os.environ if environ is None else environ
    if not all(k in env for k in ENV):
        return None
    try:
        world, rank, local = (int(env[k]) for k in ENV)
        local_world = int(env.get("LOCAL_WORLD_SIZE", world))
    except ValueError:
        raise TrainError(f"torchrun's {'/'.join(ENV)} are not whole numbers: "
                         f"{', '.join(env[k] for k in ENV)}") from None
    if not (world >= 1 and 0 <= rank < world and 0 <= local < max(local_world, 1)):
        raise TrainError(f"torchrun's RANK {rank} / LOCAL_RANK {local} do not fit WORLD_SIZE {world}")
    return Launch(world, rank, local, max(local_world, 1))


def threads_per_rank(launch: Launch) -> int:
    """Torch threads for one rank: the cores this process may use, shared by the ranks of this machine."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // launch.local_world_size)


def divides(batch: int, *, chosen: bool) -> int:
    """The world size (1 without torchrun), if it divides the global batch (each rank takes an equal
    stripe of every full batch); ``chosen``: the batch size was picked from the data size, not given."""
    world = _group.world if _group is not None else 1
    if batch % world:
        what = f"the batch size {batch} (chosen from the data size)" if chosen else f"--batch-size {batch}"
        raise TrainError(f"{what} is the global batch and must be a multiple of the {world} torchrun processes; "
                         f"give --batch-size {max(world, batch - batch % world)}")
    return world


def stripe(n: int, rank: int, world: int) -> slice:
    """Rank ``rank``'s rows of a global batch of ``n``: a contiguous share, as equal as can be."""
    return slice(round(n * rank / world), round(n * (rank + 1) / world))


@dataclass
class Group:
    """The joined process group: this rank, the world size, the backend."""

    rank: int
    world: int
    backend: str
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def first_here(self) -> bool:
        """The first rank on this machine (it fetches the data there)."""
        return self.local_rank == 0

    def rows(self, n: int) -> slice:
        return stripe(n, self.rank, self.world)

    def reduce(self, params: list[torch.Tensor], stats: torch.Tensor, share: float) -> torch.Tensor:
        """Sum ``share``-weighted gradients and loss terms over the ranks; set ``p.grad`` (None where no
        rank has one); return the global (loss, recon, kl)."""
        ref = params[0]
        parts = [(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1) for p in params]
        flags = torch.tensor([float(p.grad is not None) for p in params], device=ref.device)
        buf = torch.cat([*parts, stats.to(ref.device, torch.float32).reshape(-1)]) * share
        buf = torch.cat([buf, flags])
        on = buf if self.backend == "nccl" or buf.device.type == "cpu" else buf.cpu()  # gloo: CPU tensors
        try:
            dist.all_reduce(on)
        except RuntimeError as e:
            raise _lost(self, e) from None
        buf = on.to(ref.device)
        offset = 0
        for i, p in enumerate(params):
            size = p.numel()
            has = buf[-len(params) + i] > 0
            # in the parameter's own layout (channels_last convs): fused Adam walks both as flat memory
            p.grad = torch.empty_like(p).copy_(buf[offset: offset + size].view(p.shape)) if has else None
            offset += size
        return buf[offset: offset + 3].cpu()


def _lost(group: Group, e: BaseException) -> PeerLost:
    _going_down()
    who = f"rank {group.rank} of {group.world}"
    if re.search(r"timed out|timeout", str(e), re.IGNORECASE):  # alive but silent: hung, or stopped (SIGSTOP)
        wait = peer_timeout().total_seconds()
        return PeerLost(f"{who}: another process of this run did not answer for {wait:g} s (hung or paused; "
                        f"{TIMEOUT_ENV} sets the wait)")
    return PeerLost(f"{who}: another process of this run stopped ({_first_line(e)})")


def _first_line(e: BaseException) -> str:
    """The gist of a backend's error: its first sentence, without gloo's ``[source.cc:123]`` prefix."""
    text = re.sub(r"^\[[^\]]*\]\s*", "", str(e).strip())
    text = text.splitlines()[0] if text else ""
    text = text.split(". ")[0].rstrip(".")
    return text[:160] if text else type(e).__name__


_group: Group | None = None
_streams: tuple | None = None  # a rank other than 0: its stdout and stderr while they are silenced


def active() -> Group | None:
    """The process group this process joined with :func:`setup`, if any."""
    return _group


def join(device: torch.device, *, set_threads: bool = True) -> torch.device:
    """:func:`setup` when torchrun started this process (:func:`detect`); else ``device`` as it is."""
    launch = detect()
    return device if launch is None else setup(launch, device, set_threads=set_threads)


def setup(launch: Launch, device: torch.device, *, set_threads: bool = True) -> torch.device:
    """Join torchrun's process group (NCCL for CUDA, gloo otherwise); this rank's device.

    Also: the torch threads per rank (:func:`threads_per_rank`, unless ``set_threads`` is False: --threads
    given), SIGTERM as :class:`PeerLost`, and a rank other than 0 prints nothing until :func:`teardown`.
    """
    global _group, _streams
    if set_threads:
        torch.set_num_threads(threads_per_rank(launch))
    if device.type == "cuda":
        device = torch.device("cuda", launch.local_rank % torch.cuda.device_count())
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    where = f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}"
    timeout = peer_timeout()
    try:
        dist.init_process_group(backend, timeout=timeout, **({"device_id": device} if backend == "nccl" else {}))
    except (RuntimeError, ValueError) as e:
        raise TrainError(f"rank {launch.rank} could not join the torchrun run at {where} ({_first_line(e)})") from None
    _group = Group(launch.rank, launch.world_size, backend, launch.local_rank)
    signal.signal(signal.SIGTERM, _on_sigterm)
    if launch.rank == 0:
        print(f"torchrun: {launch.world_size} processes ({backend}), {torch.get_num_threads()} torch threads each",
              file=sys.stderr)
    else:  # progress, info lines and events come from rank 0 alone
        _streams = (sys.stdout, sys.stderr)
        sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - closed by teardown
    return device


def _on_sigterm(signum, frame) -> None:
    _going_down()
    rank = f"rank {_group.rank} of {_group.world}: " if _group is not None else ""
    raise PeerLost(f"{rank}stopped by torchrun (SIGTERM: another process of this run ended, or torchrun was stopped)")


def _going_down() -> None:
    """This rank is stopping with one PeerLost: torchrun's SIGTERM that follows (or a second one) must not
    raise another in the middle of saying so (torchrun's SIGKILL still ends a rank that does not exit)."""
    with contextlib.suppress(ValueError):  # (not the main thread: signals are the main thread's)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


def barrier() -> None:
    if _group is not None:
        try:
            dist.barrier()
        except RuntimeError as e:
            raise _lost(_group, e) from None


def wait_for_main() -> None:
    """The ranks of a machine wait here until its first rank (LOCAL_RANK 0) calls :func:`release_others`:
    it fetches the data (download, folder cache) first, so no two processes write one cache file. One
    barrier call per rank: the first ranks all load, then the others."""
    if _group is not None and not _group.first_here:
        barrier()


def release_others() -> None:
    if _group is not None and _group.first_here:
        barrier()


def teardown() -> None:
    """Leave the process group (quietly: a peer may be gone already)."""
    global _group, _streams
    if _streams is not None:
        sys.stdout.close()
        sys.stdout, sys.stderr = _streams
        _streams = None
    if _group is None:
        return
    _group = None
    if signal.getsignal(signal.SIGTERM) is _on_sigterm:  # (stopping: SIGTERM stays ignored until exit)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    with contextlib.suppress(Exception):  # leaving must never mask the run's own error
        dist.destroy_process_group()


def quiet() -> bool:
    """True in a rank other than 0: it prints nothing but its own failures."""
    return _group is not None and not _group.main
