"""The model configuration: one dataclass that rebuilds any model kind exactly (stored as JSON in checkpoints).

No torch here: the explorer reads and checks a checkpoint's config (and decodes with numpy,
training/numpy_decode.py) before torch is imported. ``training.models`` re-exports these names.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from training.errors import UserError
from training.kinds import KIND_SPECS, KINDS

__all__ = ["ARCHS", "DECODER_LABELS", "EXPLORER_MIN_LATENT_DIM", "KINDS", "LIKELIHOODS", "MAX_LATENT_DIM", "ConfigError", "ModelConfig"]

ARCHS = ("conv", "mlp")
LIKELIHOODS = ("bernoulli", "gaussian")
DECODER_LABELS = ("input", "every")  # where a conditional decoder takes the one-hot class
MAX_LATENT_DIM = 512  # any D in 1..512 trains; the explorer opens 2..512 (through 2-D slices when D > 2)
EXPLORER_MIN_LATENT_DIM = 2


class ConfigError(UserError):
    """A model configuration value is missing or out of range."""


@dataclass
class ModelConfig:
    kind: str = "vae"  # one of KINDS (training/kinds.py)
    arch: str = "conv"  # "conv" (classic Keras conv pair) or "mlp"
    latent_dim: int = 2  # D, 1..MAX_LATENT_DIM; the explorer opens D >= 2 (a D > 2 model through 2-D slices)
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    channels: tuple[int, ...] = (32, 64)  # conv widths, encoder order; the decoder mirrors them
    hidden: tuple[int, ...] = (16,)  # dense layers between features and the latent heads
    beta: float = 1.0  # weight on the KL term (vae, cvae); 0 makes a plain (deterministic) autoencoder
    likelihood: str = "bernoulli"  # "bernoulli" (BCE, pixels in [0, 1]) or "gaussian" (MSE)
    gaussian_sigma: float = 0.1  # fixed decoder std for the gaussian likelihood
    num_classes: int = 0  # label count of the training data (cvae: the size of the one-hot y)
    dropout: float = 0.0  # dropout probability after every encoder layer (neural kinds)
    denoise: float = 0.0  # std of gaussian noise on the training input; the target stays clean
    tied: bool = False  # mlp only: decoder weights are the encoder's, transposed (stored once)
    default_class: int = 0  # cvae: the class encode/decode use when no y is given
    decoder_label: str = "input"  # cvae: the one-hot joins z only ("input"), or also every decoder layer
    # ("every": each dense layer's input and, as constant channels, each transposed conv's input)
    adv_weight: float = 20.0  # aae: weight of the adversarial term (BCE, vs ~250 nats of reconstruction)
    disc_hidden: tuple[int, ...] = (64, 64)  # aae: discriminator widths

    def __post_init__(self) -> None:
        self.image_shape = tuple(int(v) for v in self.image_shape)  # type: ignore[assignment]
        self.channels = tuple(int(v) for v in self.channels)
        self.hidden = tuple(int(v) for v in self.hidden)
        self.disc_hidden = tuple(int(v) for v in self.disc_hidden)

    @property
    def conditional(self) -> bool:
        spec = KIND_SPECS.get(self.kind)
        return spec is not None and spec.conditional

    def validate(self) -> ModelConfig:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ConfigError(what)

        def fraction(v: float, top: float) -> bool:
            return math.isfinite(v) and 0 <= v <= top

        need(self.kind in KIND_SPECS, f"unknown model kind {self.kind!r} (known: {', '.join(KINDS)})")
        spec = KIND_SPECS[self.kind]
        need(self.arch in ARCHS, f"unknown architecture {self.arch!r} (known: {', '.join(ARCHS)})")
        need(self.likelihood in LIKELIHOODS, f"unknown likelihood {self.likelihood!r}")
        need(1 <= self.latent_dim <= MAX_LATENT_DIM, f"latent_dim {self.latent_dim} is outside 1..{MAX_LATENT_DIM}")
        need(len(self.image_shape) == 3, f"image_shape {self.image_shape} is not (C, H, W)")
        c, h, w = self.image_shape
        if not spec.gradient_trained:  # a closed-form (PCA) basis has at most one direction per pixel
            need(self.latent_dim <= c * h * w,
                 f"latent_dim {self.latent_dim} is more than the {c * h * w} pixel values of a {self.kind} image")
        need(c in (1, 3), f"image channels {c} is not 1 or 3")
        need(8 <= h <= 256 and 8 <= w <= 256, f"image size {h}x{w} is outside 8..256")
        need(1 <= len(self.channels) <= 4, "channels needs 1 to 4 conv widths")
        need(all(1 <= v <= 1024 for v in self.channels), "conv widths must be in 1..1024")
        need(len(self.hidden) <= 4 and all(1 <= v <= 4096 for v in self.hidden),
             "hidden needs at most 4 dense widths in 1..4096")
        need(fraction(self.beta, 1000), f"beta {self.beta} is outside 0..1000")
        need(math.isfinite(self.gaussian_sigma) and 1e-4 <= self.gaussian_sigma <= 10,
             f"gaussian_sigma {self.gaussian_sigma} is outside 1e-4..10")
        need(0 <= self.num_classes <= 10000, f"num_classes {self.num_classes} is outside 0..10000")
        need(fraction(self.dropout, 1) and self.dropout < 1, f"dropout {self.dropout} is outside 0..1 (1 excluded)")
        need(fraction(self.denoise, 10), f"denoise {self.denoise} is outside 0..10")
        need(fraction(self.adv_weight, 1000), f"adv_weight {self.adv_weight} is outside 0..1000")
        need(1 <= len(self.disc_hidden) <= 4 and all(1 <= v <= 4096 for v in self.disc_hidden),
             "disc_hidden needs 1 to 4 dense widths in 1..4096")
        if self.tied:
            need(self.arch == "mlp", "tied weights need the mlp architecture (the conv decoder is not a transpose)")
            need(spec.tied, f"tied weights are not offered for kind {self.kind!r}")
        if spec.conditional:
            need(self.num_classes >= 2, f"a {self.kind} needs labelled data with at least 2 classes (num_classes {self.num_classes})")
            need(0 <= self.default_class < self.num_classes,
                 f"default_class {self.default_class} is outside 0..{self.num_classes - 1}")
        need(self.decoder_label in DECODER_LABELS,
             f"unknown decoder_label {self.decoder_label!r} (known: {', '.join(DECODER_LABELS)})")
        need(self.decoder_label == "input" or (spec.conditional and not self.tied),
             "decoder_label 'every' needs a conditional kind without tied weights")
        if not spec.gradient_trained:
            need(self.dropout == 0 and self.denoise == 0 and not self.tied,
                 f"{self.kind} is fitted in closed form: dropout, denoise and tied do not apply")
        return self

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: Any) -> ModelConfig:
        """Rebuild from JSON; unknown or ill-typed values raise ConfigError, never TypeError."""
        if not isinstance(d, dict):
            raise ConfigError("config is not a JSON object")
        names = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(names))
        if unknown:
            raise ConfigError(f"config has unknown field(s) {', '.join(_short(u) for u in unknown[:3])}")
        kwargs: dict[str, Any] = {}
        defaults = cls()
        for key, value in d.items():
            default = getattr(defaults, key)
            try:
                kwargs[key] = _typed(default, value)
            except TypeError:
                raise ConfigError(f"config field {key!r} has the wrong type ({type(value).__name__})") from None
            except OverflowError:  # an int too large for a float, e.g. "beta": 1e400 written as digits
                raise ConfigError(f"config field {key!r} is out of range") from None
        return cls(**kwargs).validate()


def _typed(default: Any, value: Any) -> Any:
    """``value`` checked against the type of ``default`` (JSON types only; bool is not an int here)."""
    if isinstance(default, tuple):
        if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            raise TypeError
        return tuple(value)
    if isinstance(default, bool) or isinstance(value, bool):
        if not (isinstance(default, bool) and isinstance(value, bool)):
            raise TypeError
        return value
    if isinstance(default, int):
        if not isinstance(value, int):
            raise TypeError
        return value
    if isinstance(default, float):
        if not isinstance(value, (int, float)):
            raise TypeError
        return float(value)
    if not isinstance(value, str):
        raise TypeError
    return value


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."
