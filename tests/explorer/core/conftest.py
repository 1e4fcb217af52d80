"""Fixtures for the explorer.core tests: real models, real checkpoints, no leaked threads.

- ``tiny_checkpoint``: a real checkpoint made by the ``latent-train`` command (synthetic data,
  1 epoch on 256 images, conv 4,8, hidden 8), trained once per test session. Training starts
  in a background process as soon as collection finds a test that needs it, and those tests
  are moved to the end of the run, so training overlaps with the fast tests.
- ``make_model`` / ``save_checkpoint``: small random-weight models built in-process with
  ``training.models.build_model`` and written with ``training.checkpoint.save``.
- ``no_leaked_threads`` (autouse): fails a test that leaves a thread running, e.g. a
  DecodeService or Job that was never closed or joined.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import training.checkpoint
from training.checkpoint import save
from training.models import ModelConfig, build_model

torch.set_num_threads(1)  # two cores shared with other work: never oversubscribe

MEANS_N = 60  # images in the npz_data fixture
TRAIN_ARGS = ["--dataset", "synthetic", "--epochs", "1", "--limit", "256", "--channels", "4,8",
              "--hidden", "8", "--threads", "1", "--quiet"]
_training: dict = {}  # "proc", "dir", "out", "log" of the one background latent-train run


def _latent_train() -> str:
    here = Path(sys.executable).parent / "latent-train"
    found = str(here) if here.exists() else shutil.which("latent-train")
    if not found:
        pytest.fail("the latent-train command is not installed (pip install -e .)")
    return found


def _start_training() -> None:
    if "proc" in _training:
        return
    folder = Path(tempfile.mkdtemp(prefix="core-tests-"))
    out = folder / "m.safetensors"
    env = {**os.environ, "LATENT_EXPLORER_CACHE": str(folder / "cache")}
    with open(folder / "train.log", "wb") as log:  # the child writes to its own copy of the descriptor
        proc = subprocess.Popen([_latent_train(), *TRAIN_ARGS, "--out", str(out)], env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    _training.update(proc=proc, dir=folder, out=out)


def _finish_training() -> None:
    proc = _training.get("proc")
    if proc is not None and proc.poll() is None:
        proc.kill()  # only the process this conftest started
        proc.wait(10)
    if "dir" in _training:
        shutil.rmtree(_training["dir"], ignore_errors=True)
    _training.clear()


def pytest_collection_modifyitems(config, items):
    """Start training early and run the tests that need its checkpoint last, so the two overlap."""
    needs = [item for item in items if "tiny_checkpoint" in getattr(item, "fixturenames", ())]
    if needs:
        _start_training()
        late = {id(item) for item in needs}
        items[:] = [item for item in items if id(item) not in late] + needs


def pytest_sessionfinish(session, exitstatus):
    _finish_training()


@pytest.fixture(scope="session")
def tiny_checkpoint() -> Path:
    """Path of a real latent-train checkpoint (vae, conv 4,8, hidden 8, trained on synthetic)."""
    _start_training()
    proc = _training["proc"]
    try:
        rc = proc.wait(timeout=300)
    except subprocess.TimeoutExpired:
        pytest.fail("latent-train did not finish within 300 s")
    log = (_training["dir"] / "train.log").read_text(errors="replace")
    assert rc == 0, f"latent-train failed with exit code {rc}:\n{log}"
    out = _training["out"]
    assert out.is_file(), f"latent-train did not write {out}:\n{log}"
    return out


@pytest.fixture(scope="session")
def tiny_model(tiny_checkpoint):
    from training.checkpoint import load

    return load(tiny_checkpoint)


def build(seed: int = 0, **config):
    """A random-weight model in eval mode (small by default: mlp, hidden 8)."""
    config = {"arch": "mlp", "hidden": (8,), **config}
    torch.manual_seed(seed)
    return build_model(ModelConfig(**config)).eval()


@pytest.fixture
def make_model():
    return build


@pytest.fixture
def save_checkpoint(tmp_path):
    """save_checkpoint(name="m.safetensors", seed=0, dataset=None, **config) -> path of a real checkpoint."""

    def make(name: str = "m.safetensors", seed: int = 0, dataset: dict | None = None, **config) -> Path:
        model = build(seed, **config)
        return save(model, tmp_path / name, dataset=dataset or {"name": "synthetic", "split": "train"})

    return make


@pytest.fixture(autouse=True)
def no_leaked_threads():
    before = set(threading.enumerate())
    yield
    deadline = time.monotonic() + 3.0
    while True:
        leaked = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not leaked or time.monotonic() > deadline:
            break
        time.sleep(0.01)
    assert not leaked, f"the test left threads running: {[t.name for t in leaked]}"


# ----------------------------------------------------------------------------- means cache tests

@pytest.fixture
def npz_data(tmp_path):
    """An 8-bit dataset: N grey 28x28 uint8 images in 3 classes, as a user's npz: file."""
    rng = np.random.default_rng(5)
    path = tmp_path / "eight-bit.npz"
    np.savez(path, x=rng.integers(0, 256, (MEANS_N, 28, 28), dtype=np.uint8), y=np.arange(MEANS_N) % 3)
    return path


@pytest.fixture
def encodes(monkeypatch):
    """A list that gets one entry (the batch size) per call of the opened model's encode."""
    calls: list[int] = []
    real_load = training.checkpoint.load

    def counting_load(path, *args, **kwargs):
        model = real_load(path, *args, **kwargs)
        encode = model.encode

        def counted(x, y=None):
            calls.append(len(x))
            return encode(x) if y is None else encode(x, y)

        model.encode = counted
        return model

    monkeypatch.setattr(training.checkpoint, "load", counting_load)
    return calls
