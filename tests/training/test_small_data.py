"""Training on a small dataset: the defaults sized to the data (training/schedule.py) and the verdict
(training/verdict.py) that says when a model is not useful.

Real training runs, in process through ``training.cli.main`` (the code the entry point calls), on 600
synthetic shapes at 12 x 12 pixels, one thread: a few hundred steps each.
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pytest
import torch

from training import checkpoint, schedule, verdict
from training.cli import _train_config, main
from training.cli_args import parser_train

SMALL = ["--dataset", "synthetic", "--image-size", "12", "--limit", "600", "--threads", "1", "--workers", "1",
         "--quiet", "--no-download"]
# what `latent-train` did before it sized training to the data: a dense layer of 16, 20 epochs at batch 128
# (5 steps an epoch here), learning rate 1e-3 and its cosine from the first step, the full KL from the first
# step, no free bits
OLD_DEFAULTS = ["--hidden", "16", "--lr", "1e-3", "--epochs", "20", "--batch-size", "128", "--lr-warmup", "0",
                "--kl-warmup", "0", "--free-bits", "0"]


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """--threads 1 sets torch's thread count for the whole process: put it back afterwards."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _train(tmp_path, capsys, *args: str) -> tuple[dict, str]:
    out = tmp_path / "m.safetensors"
    code = main([*SMALL, *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 0, err
    return checkpoint.read_metadata(out), err


def test_the_defaults_train_a_plane_where_the_old_defaults_collapsed(tmp_path, capsys):
    old, old_err = _train(tmp_path, capsys, *OLD_DEFAULTS)
    assert old["metrics"]["test_active_units"] == 0 and old["metrics"]["test_kl"] < 0.5  # the posterior collapsed
    assert "latent-train: warning: 0 active latent units: the decoder ignores z" in old_err
    assert old["verdict"]["warning"].startswith("0 active latent units")
    # the defaults (model, learning rate, batch, warm-ups, free bits), for 800 steps instead of 3000 (at 400 this
    # plane is still a line, and the verdict says so)
    new, new_err = _train(tmp_path, capsys, "--steps", "800")
    assert new["config"]["hidden"] == [256] and new["train"]["lr"] == schedule.DEFAULT_LR
    assert new["train"]["batch_size"] == 32 and new["train"]["free_bits"] == schedule.FREE_BITS
    assert new["metrics"]["test_active_units"] == 2 and new["metrics"]["test_kl"] > 1.0
    assert new["verdict"]["warning"] is None and "warning" not in new_err
    assert new["verdict"]["knn5_acc"] > old["verdict"]["knn5_acc"] + 0.2


def test_steps_and_epochs_are_honoured(tmp_path, capsys):
    by_steps, err = _train(tmp_path, capsys, "--steps", "23", "--batch-size", "64")  # 10 steps an epoch
    assert by_steps["metrics"]["steps"] == 23 and by_steps["train"]["steps"] == 23
    assert [row["steps"] for row in by_steps["history"]] == [10, 20, 23]  # the last epoch is partial
    assert "23 steps (3 epochs of 10 steps, batch 64)" in err
    by_epochs, _ = _train(tmp_path, capsys, "--epochs", "2", "--batch-size", "64")
    assert by_epochs["metrics"]["epochs"] == 2 and by_epochs["metrics"]["steps"] == 20
    assert main([*SMALL, "--epochs", "2", "--steps", "5", "--out", str(tmp_path / "x.safetensors")]) == 1
    assert capsys.readouterr().err.strip() == "latent-train: error: give --epochs or --steps, not both"


def _args(**given) -> argparse.Namespace:
    """The train command's own parsed defaults (training/cli_args.py), with ``given`` set over them."""
    a = vars(parser_train().parse_args(["--lr", "1e-3", "--device", "cpu", "--threads", "1", "--workers", "1"]))
    return argparse.Namespace(**{**a, **given})


@pytest.mark.parametrize(("n", "batch", "epochs"), [(600, 32, 158), (1530, 32, 63), (5000, 64, 38), (60000, 128, 20)])
def test_the_default_length_and_batch_follow_the_data(n, batch, epochs):
    tc = _train_config(_args(), n)
    assert (tc.batch_size, tc.epochs, tc.steps) == (batch, epochs, 0)
    assert schedule.total_steps(tc, n) >= min(schedule.MIN_STEPS, 20 * math.ceil(n / batch))
    assert _train_config(_args(epochs=3), n).epochs == 3  # a given length is kept
    assert _train_config(_args(steps=100, batch_size=10), n).epochs == math.ceil(100 / math.ceil(n / 10))


def test_the_schedules_warm_up_then_follow_the_plan():
    tc = _train_config(_args(lr_warmup=0.1, kl_warmup=0.5), 600)
    total = 1000
    lrs = [schedule.lr_at(tc, s, total) for s in range(total)]
    assert lrs[0] == pytest.approx(1e-5) and lrs[99] == pytest.approx(1e-3)  # linear warm-up over 100 steps
    assert max(lrs) == pytest.approx(1e-3) and lrs[-1] == pytest.approx(1e-3 * tc.min_lr_frac, rel=0.01)
    kl = [schedule.kl_weight_at(tc, s, total) for s in range(total)]
    assert kl[0] == pytest.approx(1 / 500) and kl[249] == pytest.approx(0.5) and kl[499:] == [1.0] * 501


def test_a_run_made_to_collapse_is_warned_about_and_info_shows_it(tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    assert main([*SMALL, "--beta", "50", "--steps", "60", "--kl-warmup", "0", "--free-bits", "0", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and warnings[0].startswith("latent-train: warning: 0 active latent units: the decoder "
                                                         "ignores z (posterior collapse); try ")
    assert "verdict: 0 of 2 latent units active; 5-NN accuracy" in captured.out
    stored = checkpoint.read_metadata(out)["verdict"]
    assert stored["active_units"] == 0 and stored["warning"] == warnings[0].removeprefix("latent-train: warning: ")
    assert main(["info", str(out)]) == 0
    shown = capsys.readouterr().out
    assert f"warning: {stored['warning']}" in shown and "KL warm-up 0, free bits 0" in shown


def test_the_rule_names_a_collapse_a_line_and_passes_a_round_plane():
    rng = np.random.default_rng(0)
    round_means = rng.normal(size=(500, 2))
    line = np.c_[round_means[:, 0], 0.02 * round_means[:, 1]]
    common = {"latent_dim": 2, "knn5_acc": 0.5, "split": "test"}
    assert verdict.judge(means=round_means, stochastic=True, active_units=2, **common)["warning"] is None
    collapsed = verdict.judge(means=0.01 * round_means, stochastic=True, active_units=0, **common)
    assert collapsed["warning"].startswith("0 active latent units: the decoder ignores z")
    assert verdict.judge(means=line, stochastic=True, active_units=1, **common)["warning"].startswith("1 active latent unit")
    flat = verdict.judge(means=line, stochastic=False, active_units=2, **common)  # an autoencoder on a line
    assert flat["line_ratio"] == pytest.approx(0.02, abs=0.005) and flat["warning"].startswith("the means lie on a line")


def test_checkpoints_without_a_verdict_are_judged_by_their_active_units():
    cfg = {"kind": "vae", "beta": 1.0, "latent_dim": 2}
    assert verdict.warning_of({"metrics": {"test_active_units": 0}}, cfg).startswith("0 active latent units")
    assert verdict.warning_of({"metrics": {"test_active_units": 2}}, cfg) is None
    assert verdict.warning_of({"metrics": {"test_active_units": 0}}, {**cfg, "kind": "ae", "beta": 0.0}) is None
    assert verdict.warning_of({"metrics": {}}, cfg) is None  # nothing measured: nothing said
    assert verdict.warning_of({"verdict": {"warning": None}, "metrics": {"test_active_units": 0}}, cfg) is None


def test_old_checkpoints_load_without_the_new_fields(tmp_path):
    from training.models import ModelConfig, build_model

    out = tmp_path / "old.safetensors"
    checkpoint.save(build_model(ModelConfig(channels=(4, 8), hidden=(8,))), out, metrics={"epochs": 1})
    meta = checkpoint.read_metadata(out)
    assert meta["train"] == {} and meta["verdict"] == {}
