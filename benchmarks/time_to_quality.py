"""Time-to-quality: wall time until test negative ELBO <= 270 nats on Fashion-MNIST.

    python benchmarks/time_to_quality.py --rounds 2                 # the table in benchmarks/README.md
    python benchmarks/time_to_quality.py --rounds 1 --target 300    # a quick look

"A" is the straightforward PyTorch transcription of the classic Keras 2-D conv VAE (the pytorch/examples
style of benchmarks/train_speed.py): DataLoader over a TensorDataset, shuffle, batch 128, Adam at a
constant 1e-3, sigmoid + binary_cross_entropy, torch's default threads.
"B" is latent-train's recipe (``training.train.fit``): the same conv pair with the encoder's Dense 16
widened to 256 (the decoder stays the classic one, so one decode stays well under 1 ms), Adam at 2e-3
with a cosine decay planned over ``--b-epochs`` epochs, batch 128, channels_last, fused Adam, worker threads.

Both run in this one process, interleaved (A B, then B A, ...), from the same seed. Every
``--eval-every`` steps the clock stops, the test -ELBO is measured on all 10,000 test images (one z
sample per image, Bernoulli, nats; the same estimator for both), and the run ends once it is <= the
target, or after ``--max-seconds`` of training. The time reported is training time only (evaluation
excluded), and the images/s is over that time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_speed import PlainVAE, neg_elbo, plain_loss

from training.data import load_dataset
from training.models import ModelConfig, build_model
from training.train import TrainConfig, fit


class Clock:
    """Training time with evaluation pauses taken out; stops the run at the target or the time cap."""

    def __init__(self, test_x: torch.Tensor, target: float, every: int, max_seconds: float):
        self.test_x, self.target, self.every, self.max_seconds = test_x, target, every, max_seconds
        self.train_seconds = 0.0
        self.started = time.perf_counter()
        self.curve: list[tuple[int, float, float]] = []  # (steps, training seconds, test -ELBO)

    def check(self, steps: int, model) -> bool:
        """Called after every step; True = stop."""
        if steps % self.every:
            return False
        self.train_seconds += time.perf_counter() - self.started
        was_training = model.training
        model.eval()
        value = neg_elbo(model, self.test_x)
        model.train(was_training)
        self.curve.append((steps, self.train_seconds, value))
        done = value <= self.target or self.train_seconds >= self.max_seconds
        self.started = time.perf_counter()
        return done


def run_a(train_x: torch.Tensor, clock: Clock, seed: int) -> int:
    torch.manual_seed(seed)
    model = PlainVAE()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(train_x), batch_size=128, shuffle=True)
    steps = 0
    clock.started = time.perf_counter()
    while True:
        for (x,) in loader:
            recon, mu, logvar = model(x)
            loss = plain_loss(recon, x, mu, logvar)
            opt.zero_grad()
            loss.backward()
            opt.step()
            steps += 1
            if clock.check(steps, model):
                return steps


def run_b(train_x: torch.Tensor, clock: Clock, seed: int, epochs: int, lr: float, hidden: int) -> tuple[int, object]:
    torch.manual_seed(seed)
    model = build_model(ModelConfig(hidden=(hidden,)))
    tc = TrainConfig(epochs=epochs, batch_size=128, lr=lr, seed=seed, schedule="cosine")
    steps = [0]

    def on_step(done: int, m) -> bool:
        steps[0] = done
        return clock.check(done, m)

    clock.started = time.perf_counter()
    fit(model, train_x, tc, on_step=on_step, progress=False)
    return steps[0], model


def one_decode_ms(model, repeats: int = 1000) -> float:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    z = torch.tensor([[0.3, -0.7]])
    ts = []
    with torch.inference_mode():
        for i in range(repeats + 50):
            t0 = time.perf_counter()
            model.decode(z)
            if i >= 50:
                ts.append(time.perf_counter() - t0)
    torch.set_num_threads(threads)
    return statistics.median(ts) * 1e3


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--target", type=float, default=270.0)
    p.add_argument("--eval-every", type=int, default=100, help="steps between test evaluations")
    p.add_argument("--max-seconds", type=float, default=1200.0, help="training-time cap per run")
    p.add_argument("--b-epochs", type=int, default=4, help="B: epochs the cosine schedule is planned over")
    p.add_argument("--b-lr", type=float, default=2e-3)
    p.add_argument("--b-hidden", type=int, default=256)
    p.add_argument("--data-dir", default=None)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    train = load_dataset("fashion-mnist", "train", data_dir=a.data_dir, download=False)
    test = load_dataset("fashion-mnist", "test", data_dir=a.data_dir, download=False)
    train_x, test_x = torch.from_numpy(train.images), torch.from_numpy(test.images)
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} threads, target {a.target} nats, "
          f"eval every {a.eval_every} steps, cap {a.max_seconds:.0f} s; B: hidden {a.b_hidden}, lr {a.b_lr} "
          f"cosine over {a.b_epochs} epochs")
    results: dict[str, list[tuple[float, int, float, bool]]] = {"A": [], "B": []}
    decode_ms = None
    for r in range(a.rounds):
        for name in ("AB" if r % 2 == 0 else "BA"):
            clock = Clock(test_x, a.target, a.eval_every, a.max_seconds)
            if name == "A":
                steps = run_a(train_x, clock, a.seed)
            else:
                steps, model = run_b(train_x, clock, a.seed, a.b_epochs, a.b_lr, a.b_hidden)
                decode_ms = one_decode_ms(model)
            last = clock.curve[-1]
            reached = last[2] <= a.target
            results[name].append((last[1], steps, last[2], reached))
            print(f"round {r + 1} {name}: {'reached' if reached else 'NOT reached'} -ELBO {last[2]:.2f} after "
                  f"{steps} steps, {last[1]:.1f} s training, {steps * 128 / last[1]:.0f} img/s; "
                  f"curve {[(s, round(t, 1), round(v, 1)) for s, t, v in clock.curve]}", flush=True)
    print()
    print("| variant | seconds to target (each round) | median | steps | images/s (median) | -ELBO at stop |")
    print("|---|---|---:|---:|---:|---:|")
    for name, label in (("A", "A straightforward (hidden 16, lr 1e-3 constant)"),
                        ("B", f"B latent-train (hidden {a.b_hidden}, lr {a.b_lr} cosine/{a.b_epochs} ep)")):
        rows = results[name]
        secs = [f"{s:.0f}" + ("" if ok else " (not reached)") for s, _, _, ok in rows]
        ips = statistics.median(n * 128 / s for s, n, _, _ in rows)
        print(f"| {label} | {', '.join(secs)} | {statistics.median(s for s, *_ in rows):.0f} | "
              f"{int(statistics.median(n for _, n, _, _ in rows))} | {ips:.0f} | "
              f"{', '.join(f'{v:.1f}' for _, _, v, _ in rows)} |")
    sa = statistics.median(s for s, *_ in results["A"])
    sb = statistics.median(s for s, *_ in results["B"])
    print(f"\nspeed-up (median A / median B): {sa / sb:.2f}x; B's one decode (1 z, 1 thread): {decode_ms:.3f} ms")
    if not all(ok for rows in results.values() for *_, ok in rows):
        print("note: a run that did not reach the target is counted at its cap, so the speed-up is a bound")


if __name__ == "__main__":
    main()
