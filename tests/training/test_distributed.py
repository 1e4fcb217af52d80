"""Data-parallel training under torchrun (training/distributed.py), with real processes on 127.0.0.1.

torchrun is started in its module form (``python -m torch.distributed.run``), so the venv's python and this
checkout's ``training`` package are used; the ranks talk gloo over the loopback only. Checked: 2 processes
give the 1-process run's losses with the same global batch (epoch 1, and epoch 2 after ``--resume`` under
torchrun), one checkpoint recording world size 2 and no temp file; a batch the world size does not divide
is refused in one sentence; a rank killed mid-training, or paused (a hang) for the peer timeout, stops
the other with one sentence and the last committed checkpoint stays a valid pair.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from training import checkpoint, distributed
from training.commit import load_for_resume, resume_file_of
from training.errors import TrainError

ROOT = Path(__file__).resolve().parents[2]
TINY = ["--dataset", "synthetic", "--channels", "4,8", "--hidden", "8", "--threads", "1", "--schedule", "constant",
        "--lr-warmup", "0", "--kl-warmup", "0", "--limit", "512", "--batch-size", "64", "--quiet"]
TIMEOUT = 120

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.pop("LATENT_EXPLORER_MIRROR", None)
    env["LATENT_EXPLORER_CACHE"] = str(cache)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def _start(args: list[str], cache: Path, nproc: int = 0, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python -m training.cli ARGS``, or under torchrun with ``nproc`` processes (``env`` added)."""
    launch = ["-m", "torch.distributed.run", "--nproc_per_node", str(nproc), "--master_addr", "127.0.0.1",
              "--master_port", str(_free_port())] if nproc else []
    return subprocess.Popen([sys.executable, *launch, "-m", "training.cli", *args], cwd=ROOT, env={**_env(cache), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait(proc: subprocess.Popen) -> tuple[int, str]:
    try:
        _, err = proc.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"{' '.join(map(str, proc.args))} did not finish in {TIMEOUT} s:\n{err[-2000:]}")
    return proc.returncode, err


def _ok(proc: subprocess.Popen) -> str:
    rc, err = _wait(proc)
    assert rc == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    return err


def _our_errors(err: str) -> list[str]:
    """latent-train's own error lines (torchrun adds its failure summary, which is its business)."""
    return [line for line in err.splitlines() if line.startswith("latent-train: error:")]


def _no_temp_files(folder: Path) -> None:
    left = [p.name for p in folder.iterdir() if p.name.startswith(".") or p.name.endswith(".tmp")]
    assert not left, left


def _losses(path: Path) -> list[float]:
    return [row["loss"] for row in checkpoint.read_metadata(path)["history"]]


def test_two_ranks_train_as_one_process_and_resume(tmp_path):
    one, two = tmp_path / "one" / "m.safetensors", tmp_path / "two" / "m.safetensors"
    reference = _start([*TINY, "--epochs", "2", "--out", str(one)], tmp_path / "cache")
    err = _ok(_start([*TINY, "--epochs", "1", "--out", str(two)], tmp_path / "cache", nproc=2))
    assert "torchrun: 2 processes (gloo)" in err
    assert err.count("wrote ") == 1  # rank 0 alone writes and reports
    _ok(reference)

    ref = _losses(one)
    got = _losses(two)
    assert len(got) == 1 and abs(got[0] - ref[0]) <= 0.02 * abs(ref[0]), (got, ref)
    meta = checkpoint.read_metadata(two)
    assert meta["train"]["world_size"] == 2 and meta["train"]["batch_size"] == 64
    assert checkpoint.read_metadata(one)["train"]["world_size"] == 1
    model = checkpoint.load(two)
    load_for_resume(two, model.config)  # the checkpoint and its resume state are one committed pair
    _no_temp_files(two.parent)

    # --resume under torchrun: epoch 2 as the 1-process run's epoch 2
    err = _ok(_start([*TINY, "--epochs", "2", "--resume", "--out", str(two)], tmp_path / "cache", nproc=2))
    assert "resuming after epoch 1" in err
    got = _losses(two)
    assert len(got) == 2 and abs(got[1] - ref[1]) <= 0.02 * abs(ref[1]), (got, ref)
    assert got[1] < got[0]  # it did train on
    assert checkpoint.read_metadata(two)["resume"]["epoch"] == 2
    assert sorted(p.name for p in two.parent.iterdir()) == sorted([two.name, resume_file_of(two).name])


def test_world_size_must_divide_the_global_batch(tmp_path):
    out = tmp_path / "m.safetensors"
    args = [*TINY, "--epochs", "1", "--out", str(out)]
    args[args.index("--batch-size") + 1] = "63"
    rc, err = _wait(_start(args, tmp_path / "cache", nproc=2))
    assert rc != 0
    errors = _our_errors(err)
    assert len(errors) == 1, err
    assert "--batch-size 63" in errors[0] and "2 torchrun processes" in errors[0], errors
    assert not out.exists() and list(tmp_path.glob("*.safetensors*")) == []


def _first_commit(proc: subprocess.Popen, out: Path) -> None:
    """Wait until the run has committed its first epoch to ``out``."""
    t0 = time.monotonic()
    while not out.exists():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() - t0 < TIMEOUT, "no checkpoint appeared"
        time.sleep(0.05)


def _rank_pids(launcher: int) -> dict[int, int]:
    """{rank: pid} of torchrun's worker processes (children of the launcher, RANK from their environment)."""
    pids = {}
    for pid in Path(f"/proc/{launcher}/task/{launcher}/children").read_text().split():
        environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        env = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
        if "RANK" in env:
            pids[int(env["RANK"])] = int(pid)
    return pids


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds torchrun's workers through /proc (Linux)")
def test_a_rank_that_dies_stops_the_others_and_keeps_the_checkpoint(tmp_path):
    out = tmp_path / "m.safetensors"
    proc = _start([*TINY, "--epochs", "60", "--out", str(out)], tmp_path / "cache", nproc=2)
    _first_commit(proc, out)
    ranks = _rank_pids(proc.pid)
    assert sorted(ranks) == [0, 1], ranks
    os.kill(ranks[1], signal.SIGKILL)
    killed = time.monotonic()
    rc, err = _wait(proc)
    assert time.monotonic() - killed < 30, "rank 0 went on too long after rank 1 died"
    assert rc != 0
    errors = _our_errors(err)
    assert len(errors) == 1, err
    # gloo's collective fails first, or torchrun's SIGTERM comes first: one sentence either way
    assert re.match(r"latent-train: error: rank 0 of 2: (another process of this run stopped|stopped by torchrun)",
                    errors[0]), errors
    assert "still holds epoch" in errors[0], errors
    assert "Traceback" not in err.split("latent-train: error:")[0]
    model = checkpoint.load(out)
    _, state = load_for_resume(out, model.config)  # an intact, committed pair
    assert 1 <= state.epoch < 60
    assert checkpoint.read_metadata(out)["train"]["world_size"] == 2
    _no_temp_files(tmp_path)


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="finds torchrun's workers through /proc (Linux)")
def test_a_rank_that_hangs_stops_the_others_after_the_peer_timeout(tmp_path):
    out = tmp_path / "m.safetensors"
    proc = _start([*TINY, "--epochs", "60", "--out", str(out)], tmp_path / "cache", nproc=2,
                  env={distributed.TIMEOUT_ENV: "4"})
    _first_commit(proc, out)
    ranks = _rank_pids(proc.pid)
    os.kill(ranks[1], signal.SIGSTOP)  # alive, holding its sockets, silent: what a hung rank looks like
    paused = time.monotonic()
    try:
        while Path(f"/proc/{ranks[0]}").exists() and time.monotonic() - paused < TIMEOUT:
            time.sleep(0.1)
        waited = time.monotonic() - paused
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(ranks[1], signal.SIGCONT)  # it then takes torchrun's SIGTERM and says so (PeerLost)
    rc, err = _wait(proc)
    assert 4 <= waited < 60, f"rank 0 stopped {waited:.1f} s after rank 1 was paused"
    assert rc != 0
    errors = _our_errors(err)  # each rank's own news (training/errors.py rank_message): rank 0's, then rank 1's
    assert len(errors) in (1, 2), err
    assert errors[0].startswith("latent-train: error: rank 0 of 2: another process of this run did not answer "
                                "for 4 s (hung or paused; LATENT_TRAIN_PEER_TIMEOUT sets the wait)"), errors
    assert all("still holds epoch" in e for e in errors), errors
    assert all(e.startswith("latent-train: error: rank 1 of 2: stopped by torchrun") for e in errors[1:]), errors
    _, state = load_for_resume(out, checkpoint.load(out).config)
    assert 1 <= state.epoch < 60
    _no_temp_files(tmp_path)


@pytest.mark.parametrize("raw", ["soon", "0", "-3", "nan"])
def test_a_bad_peer_timeout_is_one_sentence(monkeypatch, raw):
    monkeypatch.setenv(distributed.TIMEOUT_ENV, raw)
    with pytest.raises(TrainError, match=rf"^LATENT_TRAIN_PEER_TIMEOUT='{raw}': give the seconds"):
        distributed.peer_timeout()
    monkeypatch.setenv(distributed.TIMEOUT_ENV, "90")
    assert distributed.peer_timeout().total_seconds() == 90
    monkeypatch.delenv(distributed.TIMEOUT_ENV)
    assert distributed.peer_timeout() == distributed.TIMEOUT
