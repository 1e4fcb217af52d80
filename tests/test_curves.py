"""Training curves: the series read from a real checkpoint's history, and `latent-train info --plot`."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from training.curves import plot_history, series, snapshot_epochs

HISTORY = [{"epoch": 1, "step": 10, "loss": 300.0, "recon": 290.0, "kl": 10.0, "test": {"neg_elbo": 280.0, "kl": 9.0}},
           {"epoch": 2, "step": 20, "loss": 250.0, "recon": 241.0, "kl": 9.0, "test": {"neg_elbo": 260.0, "kl": 8.5}},
           {"epoch": 3, "step": 30, "loss": 240.0, "recon": 232.0, "kl": 8.0}]


def test_series_follow_the_history():
    s = series(HISTORY)
    assert s["loss"] == ([1, 2, 3], [300.0, 250.0, 240.0])
    assert s["test"] == ([1, 2], [280.0, 260.0])  # the last epoch was not evaluated
    assert s["test_kl"] == ([1, 2], [9.0, 8.5]) and s["kl"][1] == [10.0, 9.0, 8.0]
    assert series([]) == {} and series(None) == {}


def test_snapshots_sit_at_their_step():
    snaps = [{"epoch": 0, "step": 0}, {"epoch": 0, "step": 5}, {"epoch": 1, "step": 15}, {"epoch": 2, "step": 30}]
    assert snapshot_epochs(snaps, HISTORY) == pytest.approx([0.0, 0.5, 1.5, 3.0])
    assert snapshot_epochs([{"epoch": 2, "step": 7}], [{"epoch": 1, "loss": 1.0}]) == [2.0]  # an older history


def test_a_plot_has_ink_where_the_curves_are(tmp_path):
    out = plot_history({"history": HISTORY, "config": {"kind": "vae", "beta": 1.0, "latent_dim": 2},
                        "dataset": {"name": "mnist-5k"}, "snapshots": [{"epoch": 1, "step": 15}]}, tmp_path / "c.png")
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert img.shape[0] >= 600 and img.shape[1] >= 900  # readable on a slide
    red = (img[..., 0] > 180) & (img[..., 1] < 80) & (img[..., 2] < 80)  # the test -ELBO curve (#d62728)
    assert red.sum() > 200
    with pytest.raises(ValueError, match="no training history"):
        plot_history({"history": []}, tmp_path / "d.png")
    assert not (tmp_path / "d.png").exists()


def test_info_plot_on_a_real_checkpoint(tmp_path):
    ck = tmp_path / "m.safetensors"
    run = [sys.executable, "-m", "training.cli"]
    subprocess.run([*run, "--dataset", "synthetic", "--epochs", "2", "--snapshots", "3", "--limit", "512",
                    "--threads", "1", "--quiet", "--out", str(ck)], check=True, capture_output=True, timeout=300)
    r = subprocess.run([*run, "info", str(ck), "--plot", str(tmp_path / "curves.png")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0 and "wrote" in r.stdout
    assert Image.open(tmp_path / "curves.png").size[0] >= 900
    bad = subprocess.run([*run, "info", str(ck), "--plot", str(tmp_path / "nope" / "c.png")], capture_output=True,
                         text=True, timeout=120)
    assert bad.returncode != 0 and "could not be written (no such folder" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
