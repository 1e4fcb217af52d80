"""Encoders, decoders and the model kinds, readable top to bottom.

Every model offers the contract in DESIGN.md, so the explorer never asks which kind it holds:

- ``encode(x, y=None) -> (mean, logvar or None)``  the posterior q(z|x); the explorer plots ``mean``
- ``decode(z, y=None) -> x_hat`` in [0, 1], shape (N, C, H, W)
- ``.config``: a :class:`ModelConfig` that rebuilds the model exactly (stored as JSON in checkpoints)

The conv pair is the encoder/decoder of the classic Keras 2-D VAE example
(Conv 32 s2, Conv 64 s2, Dense 16 -> mean, log-variance; Dense 7x7x64, ConvT 64 s2, ConvT 32 s2,
ConvT 1), generalised to any image size and channel count. Widths are configurable so a somewhat
larger network can be trained with the same code.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from training import losses
from training.errors import UserError

KINDS = ("vae", "ae")  # vae with beta > 0 is a (beta-)VAE; "ae" (or vae with beta = 0) is a plain AE
ARCHS = ("conv", "mlp")
LIKELIHOODS = ("bernoulli", "gaussian")


class ConfigError(UserError):
    """A model configuration value is missing or out of range."""


@dataclass
class ModelConfig:
    kind: str = "vae"  # one of KINDS
    arch: str = "conv"  # "conv" (classic Keras conv pair) or "mlp"
    latent_dim: int = 2  # the explorer opens 2-D models only
    image_shape: tuple[int, int, int] = (1, 28, 28)  # (C, H, W)
    channels: tuple[int, ...] = (32, 64)  # conv widths, encoder order; the decoder mirrors them
    hidden: tuple[int, ...] = (16,)  # dense layers between features and the latent heads
    beta: float = 1.0  # weight on the KL term; 0 makes a plain (deterministic) autoencoder
    likelihood: str = "bernoulli"  # "bernoulli" (BCE, pixels in [0, 1]) or "gaussian" (MSE)
    gaussian_sigma: float = 0.1  # fixed decoder std for the gaussian likelihood
    num_classes: int = 0  # label count of the training data (kept for conditional kinds)

    def __post_init__(self) -> None:
        self.image_shape = tuple(int(v) for v in self.image_shape)  # type: ignore[assignment]
        self.channels = tuple(int(v) for v in self.channels)
        self.hidden = tuple(int(v) for v in self.hidden)

    def validate(self) -> ModelConfig:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ConfigError(what)

        need(self.kind in KINDS, f"unknown model kind {self.kind!r} (known: {', '.join(KINDS)})")
        need(self.arch in ARCHS, f"unknown architecture {self.arch!r} (known: {', '.join(ARCHS)})")
        need(self.likelihood in LIKELIHOODS, f"unknown likelihood {self.likelihood!r}")
        need(1 <= self.latent_dim <= 64, f"latent_dim {self.latent_dim} is outside 1..64")
        need(len(self.image_shape) == 3, f"image_shape {self.image_shape} is not (C, H, W)")
        c, h, w = self.image_shape
        need(c in (1, 3), f"image channels {c} is not 1 or 3")
        need(8 <= h <= 256 and 8 <= w <= 256, f"image size {h}x{w} is outside 8..256")
        need(1 <= len(self.channels) <= 4, "channels needs 1 to 4 conv widths")
        need(all(1 <= v <= 1024 for v in self.channels), "conv widths must be in 1..1024")
        need(len(self.hidden) <= 4 and all(1 <= v <= 4096 for v in self.hidden),
             "hidden needs at most 4 dense widths in 1..4096")
        need(math.isfinite(self.beta) and 0 <= self.beta <= 1000, f"beta {self.beta} is outside 0..1000")
        need(math.isfinite(self.gaussian_sigma) and 1e-4 <= self.gaussian_sigma <= 10,
             f"gaussian_sigma {self.gaussian_sigma} is outside 1e-4..10")
        need(0 <= self.num_classes <= 10000, f"num_classes {self.num_classes} is outside 0..10000")
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
            raise ConfigError(f"config has unknown field(s) {', '.join(unknown)}")
        kwargs: dict[str, Any] = {}
        for key, value in d.items():
            default = getattr(cls(), key)
            try:
                if isinstance(default, tuple):
                    if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                        raise TypeError
                    kwargs[key] = tuple(value)
                elif isinstance(default, bool) or isinstance(value, bool):
                    raise TypeError
                elif isinstance(default, int):
                    if not isinstance(value, int):
                        raise TypeError
                    kwargs[key] = value
                elif isinstance(default, float):
                    if not isinstance(value, (int, float)):
                        raise TypeError
                    kwargs[key] = float(value)
                else:
                    if not isinstance(value, str):
                        raise TypeError
                    kwargs[key] = value
            except TypeError:
                raise ConfigError(f"config field {key!r} has the wrong type ({type(value).__name__})") from None
            except OverflowError:  # an int too large for a float, e.g. "beta": 1e400 written as digits
                raise ConfigError(f"config field {key!r} is out of range") from None
        return cls(**kwargs).validate()


# ----------------------------------------------------------------------------- building blocks


def _mlp(sizes: list[int], final_act: bool = True) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if final_act or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _conv_sizes(h: int, w: int, n: int) -> list[tuple[int, int]]:
    """Spatial sizes after each of n stride-2 3x3 'same' convs: ceil(h / 2) each time."""
    sizes = [(h, w)]
    for _ in range(n):
        h, w = (h + 1) // 2, (w + 1) // 2
        sizes.append((h, w))
    return sizes


class ConvEncoder(nn.Module):
    """x (N, C, H, W) -> features (N, hidden[-1]); stride-2 convs then dense layers."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, h, w = cfg.image_shape
        convs: list[nn.Module] = []
        for width in cfg.channels:
            convs += [nn.Conv2d(c, width, 3, stride=2, padding=1), nn.ReLU()]
            c = width
        self.convs = nn.Sequential(*convs)
        fh, fw = _conv_sizes(h, w, len(cfg.channels))[-1]
        self.dense = _mlp([c * fh * fw, *cfg.hidden])
        self.out_features = cfg.hidden[-1] if cfg.hidden else c * fh * fw

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(self.convs(x).flatten(1))


class ConvDecoder(nn.Module):
    """z (N, D) -> logits (N, C, H, W); dense to (c, h/2^n, w/2^n), stride-2 transposed convs."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        c, h, w = cfg.image_shape
        n = len(cfg.channels)
        self.start = (cfg.channels[-1], *_conv_sizes(h, w, n)[-1])
        self.out_hw = (h, w)
        # classic: z -> Dense 7x7x64 directly (hidden[-1] only feeds the encoder's latent heads)
        self.dense = _mlp([cfg.latent_dim, *reversed(cfg.hidden[:-1]), math.prod(self.start)])
        ups: list[nn.Module] = []
        width = cfg.channels[-1]
        for out in reversed(cfg.channels):  # classic: ConvT 64 s2, ConvT 32 s2
            ups += [nn.ConvTranspose2d(width, out, 3, stride=2, padding=1, output_padding=1), nn.ReLU()]
            width = out
        ups.append(nn.ConvTranspose2d(width, c, 3, stride=1, padding=1))  # ConvT 1 ('same')
        self.ups = nn.Sequential(*ups)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.ups(self.dense(z).view(-1, *self.start))
        h, w = self.out_hw
        if x.shape[-2:] != (h, w):  # sizes that are not a multiple of 2^n: crop the centre
            top, left = (x.shape[-2] - h) // 2, (x.shape[-1] - w) // 2
            x = x[..., top : top + h, left : left + w]
        return x


class MLPEncoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.dense = _mlp([math.prod(cfg.image_shape), *cfg.hidden])
        self.out_features = cfg.hidden[-1] if cfg.hidden else math.prod(cfg.image_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dense(x.flatten(1))


class MLPDecoder(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.shape = cfg.image_shape
        self.dense = _mlp([cfg.latent_dim, *reversed(cfg.hidden), math.prod(cfg.image_shape)], final_act=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.dense(z).view(-1, *self.shape)


# ----------------------------------------------------------------------------- model kinds


class VAE(nn.Module):
    """(beta-)VAE (Kingma & Welling 2014, arXiv:1312.6114; Higgins et al. 2017 for beta).

    With beta = 0, or kind "ae", z is the mean itself: a plain deterministic autoencoder.
    """

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.metadata: dict[str, Any] = {}
        enc, dec = (ConvEncoder, ConvDecoder) if cfg.arch == "conv" else (MLPEncoder, MLPDecoder)
        self.encoder = enc(cfg)
        self.decoder = dec(cfg)
        self.mean = nn.Linear(self.encoder.out_features, cfg.latent_dim)
        self.logvar = nn.Linear(self.encoder.out_features, cfg.latent_dim) if self.stochastic else None

    @property
    def stochastic(self) -> bool:
        return self.config.kind == "vae" and self.config.beta > 0

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.encoder(x)  # (N, F)
        return self.mean(h), (self.logvar(h) if self.logvar is not None else None)  # (N, D) each

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.decoder(z)  # (N, C, H, W), unbounded

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z, y))  # (N, C, H, W) in [0, 1]

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None,
                eps: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        """One pass for training: the batch-mean loss terms (per image, in nats).

        ``eps`` (N, D) is the reparameterisation noise; drawn here if not given.
        """
        mean, logvar = self.encode(x, y)
        if logvar is not None:  # reparameterization trick: z = mu + sigma * eps
            eps = torch.randn_like(mean) if eps is None else eps
            z = mean + torch.exp(0.5 * logvar) * eps
        else:
            z = mean
        logits = self.decode_logits(z, y)
        recon = losses.reconstruction(logits, x, self.config.likelihood, self.config.gaussian_sigma)  # (N,)
        kl = losses.kl_normal(mean, logvar) if logvar is not None else torch.zeros_like(recon)  # (N,)
        loss = recon + self.config.beta * kl
        return {"loss": loss.mean(), "recon": recon.mean(), "kl": kl.mean()}


def build_model(cfg: ModelConfig) -> VAE:
    cfg.validate()
    return VAE(cfg)
