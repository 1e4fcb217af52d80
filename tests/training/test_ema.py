"""``latent-train --ema DECAY``: the checkpoint holds an exponential moving average of the trained weights
(Polyak averaging, torch's AveragedModel), updated after every step; training itself is unchanged; the live
weights go into the resume state, so 1 + 1 epochs resumed equal 2 epochs straight, average and all."""

from __future__ import annotations

import pytest
import torch

from training import checkpoint
from training.cli import main
from training.commit import load_for_resume
from training.models import ModelConfig, build_model
from training.train import TrainConfig, fit

CFG = ModelConfig(kind="vae", arch="mlp", latent_dim=2, image_shape=(1, 8, 8), hidden=(16,))
# constant learning rate, no warm-ups: the first epoch of a 2-epoch run is then a 1-epoch run's
TINY = ["--dataset", "synthetic", "--channels", "4,8", "--hidden", "8", "--threads", "1", "--workers", "1",
        "--schedule", "constant", "--lr-warmup", "0", "--kl-warmup", "0", "--limit", "256", "--quiet"]


def _seeded_model() -> torch.nn.Module:
    torch.manual_seed(0)
    return build_model(CFG)


def _fit(ema: float, steps: int = 12) -> tuple[torch.nn.Module, torch.nn.Module, list[list[torch.Tensor]]]:
    """A seeded fit of a tiny model: (the live model, the model fit returns, the live weights after each step)."""
    model = _seeded_model()
    x = torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    after: list[list[torch.Tensor]] = []

    def record(_done: int, _shown: torch.nn.Module) -> bool:
        after.append([p.detach().clone() for p in model.parameters()])
        return False

    tc = TrainConfig(steps=steps, batch_size=16, threads=1, workers=1, ema=ema)
    result = fit(model, x, tc, on_step=record, progress=False)
    return model, result.model, after


def test_training_is_unchanged_and_the_returned_model_is_the_average_of_every_step():
    plain_live, plain_shown, _ = _fit(0.0)
    live, shown, after = _fit(0.8)
    assert plain_shown is plain_live and shown is not live
    for a, b in zip(plain_live.parameters(), live.parameters(), strict=True):
        assert torch.equal(a, b)  # the average never feeds back into training
    want = [p.detach().clone() for p in _seeded_model().parameters()]
    for step in after:  # avg <- 0.8 avg + 0.2 w, from the initial weights
        want = [0.8 * a + 0.2 * w for a, w in zip(want, step, strict=True)]
    for got, w, last in zip(shown.parameters(), want, after[-1], strict=True):
        torch.testing.assert_close(got.detach(), w)
        assert not torch.allclose(got, last)  # and it is not just the last weights


def test_resumed_ema_run_equals_the_straight_run_and_the_resume_state_holds_the_live_weights(tmp_path):
    straight, resumed = tmp_path / "s.safetensors", tmp_path / "r.safetensors"
    assert main([*TINY, "--epochs", "2", "--ema", "0.9", "--out", str(straight)]) == 0
    assert main([*TINY, "--epochs", "1", "--ema", "0.9", "--out", str(resumed)]) == 0
    saved, state = load_for_resume(resumed, checkpoint.load(resumed).config)
    assert state.live is not None and len(state.live) == len(list(saved.parameters()))
    assert any(not torch.equal(w, p) for w, p in zip(state.live, saved.parameters(), strict=True))
    assert main([*TINY, "--epochs", "2", "--ema", "0.9", "--resume", "--out", str(resumed)]) == 0
    a, b = checkpoint.load(straight), checkpoint.load(resumed)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        torch.testing.assert_close(x, y, msg=name)
    assert a.metadata["train"]["ema"] == 0.9
    # without --ema, a resume goes on from the live weights: its average is dropped, not trained
    assert main([*TINY, "--epochs", "3", "--resume", "--out", str(resumed)]) == 0
    _, state = load_for_resume(resumed, b.config)
    assert state.live is None


def test_ema_off_keeps_the_resume_state_free_of_weights(tmp_path):
    out = tmp_path / "m.safetensors"
    assert main([*TINY, "--epochs", "1", "--out", str(out)]) == 0
    assert load_for_resume(out, checkpoint.load(out).config)[1].live is None


@pytest.mark.parametrize("bad", ["-0.1", "1", "nan"])
def test_a_bad_decay_is_one_sentence(bad, capsys, tmp_path):
    out = tmp_path / "m.safetensors"
    assert main(["--dataset", "synthetic", "--limit", "64", "--epochs", "1", "--ema", bad, "--out", str(out)]) != 0
    assert capsys.readouterr().err.strip().splitlines() == [
        f"latent-train: error: --ema must be a decay of 0 or more and below 1 (got {float(bad)})"]
    assert not out.exists()


def test_eval_live_measures_the_weights_training_left_and_refuses_a_run_without_ema(tmp_path, capsys):
    ema, plain = tmp_path / "ema.safetensors", tmp_path / "plain.safetensors"
    assert main([*TINY, "--epochs", "1", "--ema", "0.9", "--out", str(ema)]) == 0
    assert main([*TINY, "--epochs", "1", "--out", str(plain)]) == 0  # the same training, no average
    capsys.readouterr()

    def measures(*argv: str) -> list[str]:
        assert main(["eval", *argv, "--no-download"]) == 0
        return capsys.readouterr().out.splitlines()[1:]

    live, averaged, trained = measures(str(ema), "--live"), measures(str(ema)), measures(str(plain))
    assert live == trained and live != averaged
    assert main(["eval", str(plain), "--live", "--no-download"]) != 0
    assert capsys.readouterr().err.strip().splitlines() == [
        f"latent-train: error: {plain}: was not trained with --ema, so its weights are the live ones; drop --live"]
    next(tmp_path.glob("ema.safetensors.resume-*")).unlink()  # e.g. the checkpoint copied without it
    assert main(["eval", str(ema), "--live", "--no-download"]) != 0
    assert capsys.readouterr().err.strip().splitlines() == [
        f"latent-train: error: {ema}: its resume state is missing, so --live has no live weights to measure"]
