"""The ``latent-train`` command, run as a real subprocess through the venv's entry point.

One tiny model is trained once per session (``trained``); the other CLI runs that only need it
(repeat for reproducibility, resume, a diverging run, info, eval) start together in the background
(``jobs``) so the two CPU cores are used while earlier tests are checked. Bad-input cases that fail
before any training run in-process through ``training.cli.main`` (the same code the entry point
calls), which keeps them fast; a few of them also run as subprocesses.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file
from safetensors.torch import save as st_save

from training import checkpoint, resume_state
from training.cli import main
from training.commit import resume_file_of
from training.models import ModelConfig, build_model

LATENT_TRAIN = str(Path(sys.executable).with_name("latent-train"))
# constant learning rate, no warm-ups: a schedule that depends on the run's length would make the first epoch
# of a 2-epoch run differ from a 1-epoch run's, and "1 + 1 epochs == 2 epochs, bit for bit" checks resume
TINY = ["--dataset", "synthetic", "--channels", "4,8", "--hidden", "8", "--threads", "1", "--schedule", "constant",
        "--lr-warmup", "0", "--kl-warmup", "0"]
FIRST = TINY + ["--epochs", "1", "--limit", "512"]
TIMEOUT = 240
# lines latent-train may print on stderr before it fails (progress, not errors)
INFO_PREFIXES = ("loading ", "training ", "fitting ", "resuming ")


def _env(cache: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env["LATENT_EXPLORER_CACHE"] = str(cache)
    env.pop("LATENT_EXPLORER_MIRROR", None)
    return env


class Job:
    """A latent-train subprocess; ``result()`` waits once and returns (returncode, stdout, stderr)."""

    def __init__(self, args: list[str], cache: Path):
        self.args = args
        # Ctrl-C as in a terminal: a shell starts background jobs with SIGINT ignored, and a child inherits
        # that (Python then installs no KeyboardInterrupt handler); restore the default in the child
        self.proc = subprocess.Popen([LATENT_TRAIN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=_env(cache),
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self._result: tuple[int, str, str] | None = None

    def result(self, timeout: float = TIMEOUT) -> tuple[int, str, str]:
        if self._result is None:
            try:
                out, err = self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                out, err = self.proc.communicate()
                pytest.fail(f"latent-train {' '.join(self.args)} did not finish in {timeout} s:\n{err[-2000:]}")
            self._result = (self.proc.returncode, out, err)
        return self._result

    def ok(self) -> tuple[str, str]:
        rc, out, err = self.result()
        assert rc == 0, f"latent-train {' '.join(self.args)} exited {rc}:\n{err[-3000:]}"
        assert "Traceback" not in err
        return out, err


def one_error_line(err: str) -> str:
    """stderr holds exactly one error line, last, and nothing but progress lines before it."""
    assert "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("latent-train: error:")]
    assert len(errors) == 1, err
    assert lines[-1] == errors[0], err
    assert all(line.startswith(INFO_PREFIXES) for line in lines[:-1]), err
    return errors[0]


@pytest.fixture(scope="session")
def cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def trained(tmp_path_factory, cache):
    """One tiny checkpoint, trained once (with the progress bar on, so its stderr can be checked)."""
    folder = tmp_path_factory.mktemp("trained")
    out = folder / "m.safetensors"
    job = Job([*FIRST, "--out", str(out)], cache)
    stdout, stderr = job.ok()
    return {"path": out, "stdout": stdout, "stderr": stderr}


@pytest.fixture(scope="session")
def jobs(tmp_path_factory, cache, trained):
    """The runs that only need the trained checkpoint, started together."""
    root = tmp_path_factory.mktemp("jobs")
    src = trained["path"]
    paths = {name: root / name / "m.safetensors" for name in ("repeat", "resume", "straight", "diverge")}
    for p in paths.values():
        p.parent.mkdir()
    shutil.copy(src, paths["resume"])
    shutil.copy(resume_file_of(src), paths["resume"].parent)
    shutil.copy(src, paths["diverge"])  # a good checkpoint that a diverging run must not overwrite
    started = {
        "repeat": Job([*FIRST, "--quiet", "--out", str(paths["repeat"])], cache),
        "resume": Job([*TINY, "--epochs", "2", "--limit", "512", "--resume", "--quiet", "--out", str(paths["resume"])], cache),
        "straight": Job([*TINY, "--epochs", "2", "--limit", "512", "--quiet", "--out", str(paths["straight"])], cache),
        "diverge": Job([*TINY, "--epochs", "1", "--limit", "256", "--batch-size", "32", "--lr", "1e6", "--quiet",
                        "--out", str(paths["diverge"])], cache),
        "info": Job(["info", str(src)], cache),
        "eval": Job(["eval", str(src)], cache),
    }
    broken = root / "broken.safetensors"
    broken.write_bytes(b"this is not a checkpoint at all")
    started["info_broken"] = Job(["info", str(broken)], cache)
    yield {"paths": paths, "jobs": started, "good_bytes": src.read_bytes(), "broken": broken}
    for job in started.values():
        if job.proc.poll() is None:
            job.proc.kill()
            job.proc.communicate()


def resume_file(path: Path) -> Path:
    """The resume file that checkpoint ``path`` names (it must name one)."""
    found = resume_file_of(path)
    assert found is not None, f"{path} names no resume state"
    return found


def tensors(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


# ----------------------------------------------------------------------------- training


def test_train_writes_a_valid_checkpoint(trained):
    path = trained["path"]
    model = checkpoint.load(path)
    assert model.config == ModelConfig(channels=(4, 8), hidden=(8,), num_classes=10)
    meta = model.metadata
    ds = meta["dataset"]
    assert ds["name"] == "synthetic" and len(ds["label_names"]) == 10
    assert ds["num_train"] == 512 and ds["num_test"] == 600 and ds["image_shape"] == [1, 28, 28]
    m = meta["metrics"]
    assert m["epochs"] == 1
    assert m["test_neg_elbo"] == pytest.approx(m["test_recon"] + m["test_kl"])
    assert 0 <= m["test_knn5_acc"] <= 1
    assert len(meta["history"]) == 1 and meta["history"][0]["epoch"] == 1 and "test" in meta["history"][0]
    assert resume_file(path).is_file() and meta["resume"]["epoch"] == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.safetensors", resume_file(path).name]
    assert f"wrote {path}" in trained["stderr"]
    assert "test_neg_elbo" in trained["stdout"]


def test_progress_bar_on_stderr(trained, jobs):
    assert "img/s" in trained["stderr"] and "epoch 1/1" in trained["stderr"]
    assert "img/s" not in trained["stdout"]
    _, err = jobs["jobs"]["repeat"].ok()  # --quiet: no bar
    assert "img/s" not in err and "epoch 1/1" not in err


def test_same_seed_gives_identical_weights(trained, jobs):
    jobs["jobs"]["repeat"].ok()
    a, b = tensors(trained["path"]), tensors(jobs["paths"]["repeat"])
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_resume_continues_to_more_epochs(trained, jobs):
    _, err = jobs["jobs"]["resume"].ok()
    assert "resuming after epoch 1" in err
    path = jobs["paths"]["resume"]
    meta = checkpoint.read_metadata(path)
    assert meta["metrics"]["epochs"] == 2
    assert [row["epoch"] for row in meta["history"]] == [1, 2]
    first = checkpoint.read_metadata(trained["path"])["history"][0]
    assert meta["history"][0] == first  # the first epoch's row is carried over, not redone
    assert meta["resume"]["epoch"] == 2
    state = resume_state.read(resume_file(path), sha256=meta["resume"]["sha256"],
                              param_shapes=[tuple(p.shape) for p in checkpoint.load(path).parameters()])
    assert state.epoch == 2 and len(state.optimizer["state"]) == len(list(checkpoint.load(path).parameters()))
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.safetensors", resume_file(path).name]
    assert not all(torch.equal(v, tensors(trained["path"])[k]) for k, v in tensors(path).items())


def test_resume_gives_the_same_weights_as_a_straight_run(jobs):
    # constant lr, per-epoch seeds and the saved Adam state: 1 + 1 epochs == 2 epochs, bit for bit
    jobs["jobs"]["resume"].ok()
    jobs["jobs"]["straight"].ok()
    a, b = tensors(jobs["paths"]["resume"]), tensors(jobs["paths"]["straight"])
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_diverging_run_stops_and_keeps_the_good_checkpoint(jobs):
    rc, out, err = jobs["jobs"]["diverge"].result()
    assert rc == 1, err
    line = one_error_line(err)
    assert "loss became" in line and "lower --lr" in line and "was kept" in line
    assert "Warning" not in err
    path = jobs["paths"]["diverge"]
    assert path.read_bytes() == jobs["good_bytes"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["m.safetensors"]  # no resume file, no temp files


def test_info_shows_model_dataset_and_metrics(trained, jobs):
    out, _ = jobs["jobs"]["info"].ok()
    assert str(trained["path"]) in out
    assert re.search(r"model\s+vae \(conv\)", out)
    assert re.search(r"^  latent\s+2-D space", out, re.M)
    assert re.search(r"dataset\s+synthetic", out)
    elbo = checkpoint.read_metadata(trained["path"])["metrics"]["test_neg_elbo"]
    m = re.search(r"test_neg_elbo\s+([0-9.]+)", out)
    assert m and float(m.group(1)) == pytest.approx(elbo, abs=1e-3)


def test_info_json_in_process(trained, capsys):
    assert main(["info", "--json", str(trained["path"])]) == 0
    meta = json.loads(capsys.readouterr().out)
    assert meta["config"]["kind"] == "vae" and meta["dataset"]["name"] == "synthetic"
    assert meta["metrics"] == checkpoint.read_metadata(trained["path"])["metrics"]


def test_eval_measures_the_same_test_elbo(trained, jobs):
    out, _ = jobs["jobs"]["eval"].ok()
    assert "on synthetic (test, 600 images)" in out
    got = {k: float(v) for k, v in re.findall(r"^\s+(\w+)\s+([0-9.]+)$", out, re.M)}
    assert {"neg_elbo", "recon", "kl", "knn5_acc", "knn5_loo_acc"} <= set(got)
    saved = checkpoint.read_metadata(trained["path"])["metrics"]
    # same weights, data and seed (thread counts differ, so allow float rounding)
    assert got["neg_elbo"] == pytest.approx(saved["test_neg_elbo"], rel=1e-4)
    assert got["knn5_loo_acc"] == pytest.approx(saved["test_knn5_loo_acc"], abs=0.01)


def test_broken_checkpoint_as_subprocess(jobs):
    rc, out, err = jobs["jobs"]["info_broken"].result()
    assert rc == 1 and str(jobs["broken"]) in one_error_line(err)


def test_ctrl_c_keeps_the_last_finished_epoch(tmp_path, cache):
    out = tmp_path / "m.safetensors"
    job = Job([*TINY, "--epochs", "100000", "--limit", "256", "--quiet", "--out", str(out)], cache)  # never ends by itself
    deadline = time.monotonic() + TIMEOUT
    while resume_file_of(out) is None:  # the epoch-1 pair is committed
        assert job.proc.poll() is None, job.result()[2]
        assert time.monotonic() < deadline, "no checkpoint after the first epoch"
        time.sleep(0.05)
    job.proc.send_signal(signal.SIGINT)
    rc, _, err = job.result(timeout=60)
    assert rc == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    m = re.search(r"interrupted: (.+) holds the last finished epoch \((\d+)\)", err)
    assert m, err
    assert m.group(1) == str(out)
    model = checkpoint.load(out)
    assert model.metadata["metrics"]["epochs"] == int(m.group(2)) >= 1
    assert len(model.metadata["history"]) == int(m.group(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.safetensors", resume_file(out).name]


# ----------------------------------------------------------------------------- bad inputs, in-process


@pytest.fixture
def files(tmp_path, trained):
    """Named paths for the bad-input cases."""
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "big.npz", x=rng.integers(0, 256, (40, 32, 32), dtype=np.uint8), y=np.arange(40) % 4)
    (tmp_path / "broken.safetensors").write_bytes(b"\x00" * 7)
    (tmp_path / "folder.safetensors").mkdir()
    (tmp_path / "a-file").write_text("x")
    paths = {"tmp": str(tmp_path), "trained": str(trained["path"])}

    named = resume_file(trained["path"])

    def run_dir(name: str, resume: bytes | None) -> Path:
        """name/m.safetensors: a copy of the trained checkpoint; these bytes in the resume file it names."""
        out = tmp_path / name / "m.safetensors"
        out.parent.mkdir()
        shutil.copy(trained["path"], out)
        if resume is not None:
            (out.parent / named.name).write_bytes(resume)
        paths[name] = str(out)
        return out

    run_dir("other", named.read_bytes())
    run_dir("evil4", pickle.dumps(_Payload(tmp_path / "marker"), protocol=4))
    run_dir("evil2", pickle.dumps(_Payload(tmp_path / "marker"), protocol=2))
    run_dir("empty", b"")
    run_dir("noresume", None)
    # a resume file whose hash the checkpoint vouches for, but whose content is not resume state
    bad = st_save({}, metadata={"format": "latent-explorer-resume", "schema": "1", "epoch": "one"})
    out = run_dir("badstate", None)
    ref = {"file": named.name, "sha256": hashlib.sha256(bad).hexdigest(), "epoch": 1}
    (out.parent / named.name).write_bytes(bad)
    old = checkpoint.load(out)
    checkpoint.save(old, out, dataset=old.metadata["dataset"], history=old.metadata["history"], resume=ref)
    # a checkpoint of an older version: no resume reference, and the old pickled OUT.resume.pt beside it
    out = run_dir("legacy", None)
    checkpoint.save(old, out, dataset=old.metadata["dataset"], history=old.metadata["history"])
    (out.parent / "m.safetensors.resume.pt").write_bytes(pickle.dumps(_Payload(tmp_path / "marker"), protocol=2))
    weights = load_file(str(trained["path"]))
    weights["mean.weight"][0, 0] = float("nan")
    with open(trained["path"], "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        metadata = json.loads(f.read(n))["__metadata__"]
    save_file(weights, str(tmp_path / "nan.safetensors"), metadata=metadata)
    return paths


class _Payload:
    def __reduce__(self):
        return (os.mkdir, (str(self.marker),))

    def __init__(self, marker: Path):
        self.marker = marker


SYN = ["--dataset", "synthetic", "--channels", "4,8", "--hidden", "8", "--limit", "64", "--epochs", "1"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--dataset", "no-such-set"], "unknown dataset"),
        (["--dataset", "npz:{tmp}/missing.npz"], "missing.npz not found"),
        (["info", "{tmp}/broken.safetensors"], "broken.safetensors: is too short"),
        (["eval", "{tmp}/broken.safetensors"], "broken.safetensors: is too short"),
        (["info", "{tmp}/nope.safetensors"], "no such file"),
        (["eval", "{tmp}/folder.safetensors"], "not a file"),
        (["info", "{tmp}/nan.safetensors"], "'mean.weight' contains NaN"),
        (["eval", "{tmp}/nan.safetensors"], "'mean.weight' contains NaN"),
        (["eval", "{trained}", "--dataset", "npz:{tmp}/big.npz"], "(1, 32, 32)"),
        (["eval", "{trained}", "--dataset", "nope"], "unknown dataset"),
        ([*SYN, "--epochs", "0"], "--epochs must be at least 1"),
        ([*SYN, "--batch-size", "0"], "--batch-size"),
        ([*SYN, "--lr", "nan"], "--lr"),
        ([*SYN, "--lr", "-1"], "--lr"),
        ([*SYN, "--beta", "-1"], "--beta"),
        ([*SYN, "--limit", "-5"], "--limit"),
        ([*SYN, "--out", "{tmp}"], ".safetensors"),
        ([*SYN, "--out", "{tmp}/folder.safetensors"], "is a folder"),
        ([*SYN, "--out", "{tmp}/a-file/sub/m.safetensors"], "cannot write there"),
        ([*SYN, "--device", "tpu"], "unknown --device"),
        ([*SYN, "--latent-dim", "0", "--out", "{tmp}/x.safetensors"], "--latent-dim must be a whole number in 1..512"),
        ([*SYN, "--model", "pca", "--latent-dim", "100", "--out", "{tmp}/x.safetensors"],
         "PCA with latent_dim 100 needs at least 101 images (got 64)"),
        ([*SYN, "--channels", "4,8,16,32,64", "--out", "{tmp}/x.safetensors"], "channels"),
        ([*SYN, "--resume", "--out", "{tmp}/none/m.safetensors"], "--resume needs"),
        ([*SYN, "--limit", "512", "--hidden", "16", "--resume", "--out", "{other}"], "different model configuration"),
        ([*SYN, "--limit", "512", "--resume", "--out", "{evil4}"], "does not match the checkpoint that names it"),
        ([*SYN, "--limit", "512", "--resume", "--out", "{evil2}"], "does not match the checkpoint that names it"),
        ([*SYN, "--limit", "512", "--resume", "--out", "{empty}"], "does not match the checkpoint that names it"),
        ([*SYN, "--limit", "512", "--resume", "--out", "{badstate}"], "has an invalid epoch 'one'"),
        ([*SYN, "--limit", "512", "--resume", "--out", "{noresume}"], "the resume state that m.safetensors names, but it is missing"),
        ([*SYN, "--limit", "512", "--resume", "--out", "{legacy}"], "m.safetensors.resume.pt is the old pickle format"),
    ],
)
def test_bad_input_is_one_clear_line(argv, words, files, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)  # nothing may land in the working folder
    before = sorted(os.listdir(tmp_path))
    with warnings.catch_warnings(record=True) as caught:  # a warning would be more stderr lines in the CLI
        warnings.simplefilter("always")
        rc = main([a.format(**files) for a in argv])
    captured = capsys.readouterr()
    assert not caught, [str(w.message) for w in caught]
    assert rc == 1
    assert captured.out == ""
    line = one_error_line(captured.err)
    assert words in line
    assert "weights_only" not in line  # never PyTorch's advice to load a file unsafely
    assert not (tmp_path / "marker").exists()  # the pickled resume payload never ran
    assert sorted(os.listdir(tmp_path)) == before  # and a failed start writes nothing


def test_unavailable_cuda_is_a_clear_error(capsys, tmp_path, monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    monkeypatch.chdir(tmp_path)
    assert main([*SYN, "--device", "cuda"]) == 1
    assert "not available" in one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("argv", [["--no-such-flag"], ["--channels", "a,b"], ["--model", "gan"], ["info"]])
def test_usage_errors_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err


def test_eval_of_a_non_square_model_on_its_own_data(tmp_path, capsys, monkeypatch):
    # a 20x24 npz: eval must not resize it to 20x20
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    data = tmp_path / "rect.npz"
    np.savez(data, x=rng.integers(0, 256, (60, 20, 24), dtype=np.uint8), y=np.arange(60) % 3)
    torch.manual_seed(0)
    model = build_model(ModelConfig(channels=(4, 8), hidden=(8,), image_shape=(1, 20, 24), num_classes=3))
    path = checkpoint.save(model, tmp_path / "rect.safetensors", dataset={"name": f"npz:{data}"})
    assert main(["eval", str(path)]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "(test, 9 images)" in out and "neg_elbo" in out
