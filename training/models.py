"""The model contract, its config, and the neural kinds (AE, (beta-)VAE, CVAE), readable top to bottom.

Every model offers the contract in DESIGN.md (``training.contract.LatentModel``), so the explorer never
asks which kind it holds:

- ``encode(x, y=None) -> (mean, logvar or None)``  the posterior q(z|x); the explorer plots ``mean``
- ``decode(z, y=None) -> x_hat`` in [0, 1], shape (N, C, H, W)
- ``.config``: a :class:`ModelConfig` that rebuilds the model exactly (stored as JSON in checkpoints)
- ``.conditional``: True when ``y`` (int64 class indices) changes the result (CVAE); the explorer then
  encodes with the data's true labels and decodes with a class it chooses (``config.default_class``
  when it passes none)

The conv pair is the encoder/decoder of the classic Keras 2-D VAE example
(Conv 32 s2, Conv 64 s2, Dense 16 -> mean, log-variance; Dense 7x7x64, ConvT 64 s2, ConvT 32 s2,
ConvT 1), generalised to any image size and channel count. Widths are configurable so a somewhat
larger network can be trained with the same code. The other kinds live beside this file:
``training/aae.py`` (adversarial autoencoder) and ``training/pca.py`` (the linear baseline).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from training import losses
from training.contract import LatentModel
from training.errors import UserError

__all__ = ["ARCHS", "KINDS", "LIKELIHOODS", "Autoencoder", "ConfigError", "LatentModel", "ModelConfig", "VAE",
           "build_model"]

KINDS = ("vae", "ae", "cvae", "aae", "pca")  # vae with beta = 0 is a plain AE too
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
    beta: float = 1.0  # weight on the KL term (vae, cvae); 0 makes a plain (deterministic) autoencoder
    likelihood: str = "bernoulli"  # "bernoulli" (BCE, pixels in [0, 1]) or "gaussian" (MSE)
    gaussian_sigma: float = 0.1  # fixed decoder std for the gaussian likelihood
    num_classes: int = 0  # label count of the training data (cvae: the size of the one-hot y)
    dropout: float = 0.0  # dropout probability after every encoder layer (neural kinds)
    denoise: float = 0.0  # std of gaussian noise on the training input; the target stays clean
    tied: bool = False  # mlp only: decoder weights are the encoder's, transposed (stored once)
    default_class: int = 0  # cvae: the class encode/decode use when no y is given
    adv_weight: float = 20.0  # aae: weight of the adversarial term (BCE, vs ~250 nats of reconstruction)
    disc_hidden: tuple[int, ...] = (64, 64)  # aae: discriminator widths

    def __post_init__(self) -> None:
        self.image_shape = tuple(int(v) for v in self.image_shape)  # type: ignore[assignment]
        self.channels = tuple(int(v) for v in self.channels)
        self.hidden = tuple(int(v) for v in self.hidden)
        self.disc_hidden = tuple(int(v) for v in self.disc_hidden)

    @property
    def conditional(self) -> bool:
        return self.kind == "cvae"

    def validate(self) -> ModelConfig:
        def need(ok: bool, what: str) -> None:
            if not ok:
                raise ConfigError(what)

        def fraction(v: float, top: float) -> bool:
            return math.isfinite(v) and 0 <= v <= top

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
            need(self.kind in ("ae", "vae", "aae"), f"tied weights are not offered for kind {self.kind!r}")
        if self.kind == "cvae":
            need(self.num_classes >= 2, f"a cvae needs labelled data with at least 2 classes (num_classes {self.num_classes})")
            need(0 <= self.default_class < self.num_classes,
                 f"default_class {self.default_class} is outside 0..{self.num_classes - 1}")
        if self.kind == "pca":
            need(self.dropout == 0 and self.denoise == 0 and not self.tied,
                 "pca is fitted in closed form: dropout, denoise and tied do not apply")
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


# ----------------------------------------------------------------------------- building blocks


def _mlp(sizes: list[int], final_act: bool = True, dropout: float = 0.0) -> nn.Sequential:
    """Linear + ReLU layers; with dropout > 0 a Dropout after every ReLU (no Dropout modules at 0, so
    the state_dict keys of models without dropout stay what they always were)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if final_act or i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
    return nn.Sequential(*layers)


def _conv_sizes(h: int, w: int, n: int) -> list[tuple[int, int]]:
    """Spatial sizes after each of n stride-2 3x3 'same' convs: ceil(h / 2) each time."""
    sizes = [(h, w)]
    for _ in range(n):
        h, w = (h + 1) // 2, (w + 1) // 2
        sizes.append((h, w))
    return sizes


class ConvEncoder(nn.Module):
    """x (N, C, H, W) [+ one-hot label (N, K)] -> features (N, hidden[-1]); stride-2 convs, dense layers."""

    def __init__(self, cfg: ModelConfig, extra: int = 0):
        super().__init__()
        c, h, w = cfg.image_shape
        convs: list[nn.Module] = []
        for width in cfg.channels:
            convs += [nn.Conv2d(c, width, 3, stride=2, padding=1), nn.ReLU()]
            if cfg.dropout > 0:
                convs.append(nn.Dropout(cfg.dropout))
            c = width
        self.convs = nn.Sequential(*convs)
        fh, fw = _conv_sizes(h, w, len(cfg.channels))[-1]
        self.dense = _mlp([c * fh * fw + extra, *cfg.hidden], dropout=cfg.dropout)  # the label joins here
        self.out_features = cfg.hidden[-1] if cfg.hidden else c * fh * fw + extra

    def forward(self, x: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        h = self.convs(x).flatten(1)  # (N, c * fh * fw)
        return self.dense(h if onehot is None else torch.cat([h, onehot], 1))


class ConvDecoder(nn.Module):
    """z (N, D + K) -> logits (N, C, H, W); dense to (c, h/2^n, w/2^n), stride-2 transposed convs."""

    def __init__(self, cfg: ModelConfig, extra: int = 0):
        super().__init__()
        c, h, w = cfg.image_shape
        n = len(cfg.channels)
        self.start = (cfg.channels[-1], *_conv_sizes(h, w, n)[-1])
        self.out_hw = (h, w)
        # classic: z -> Dense 7x7x64 directly (hidden[-1] only feeds the encoder's latent heads)
        self.dense = _mlp([cfg.latent_dim + extra, *reversed(cfg.hidden[:-1]), math.prod(self.start)])
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
    def __init__(self, cfg: ModelConfig, extra: int = 0):
        super().__init__()
        self.dense = _mlp([math.prod(cfg.image_shape) + extra, *cfg.hidden], dropout=cfg.dropout)
        self.out_features = cfg.hidden[-1] if cfg.hidden else math.prod(cfg.image_shape) + extra

    def forward(self, x: torch.Tensor, onehot: torch.Tensor | None = None) -> torch.Tensor:
        h = x.flatten(1)  # (N, C * H * W)
        return self.dense(h if onehot is None else torch.cat([h, onehot], 1))


class MLPDecoder(nn.Module):
    def __init__(self, cfg: ModelConfig, extra: int = 0):
        super().__init__()
        self.shape = cfg.image_shape
        self.dense = _mlp([cfg.latent_dim + extra, *reversed(cfg.hidden), math.prod(cfg.image_shape)], final_act=False)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.dense(z).view(-1, *self.shape)


class TiedMLPDecoder(nn.Module):
    """The MLP encoder run backwards with the same weights, transposed: only the biases are its own.

    ``linears`` are the encoder's Linear layers in encoder order, mean head last. They are held in a
    plain tuple, not registered here, so every weight is stored once (under ``encoder.`` / ``mean.``).
    """

    def __init__(self, cfg: ModelConfig, linears: list[nn.Linear]):
        super().__init__()
        self.shape = cfg.image_shape
        self._linears = tuple(linears)
        # bias i belongs to the transposed layer i (decoder order: mean head first)
        self.biases = nn.ParameterList([nn.Parameter(torch.zeros(lin.in_features)) for lin in reversed(linears)])

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = z  # (N, D)
        layers = list(reversed(self._linears))
        for i, (lin, bias) in enumerate(zip(layers, self.biases)):
            h = F.linear(h, lin.weight.t(), bias)  # (N, in_features of the encoder layer)
            if i < len(layers) - 1:
                h = F.relu(h)
        return h.view(-1, *self.shape)


def one_hot(y: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(N,) int64 class indices -> (N, K) float32; indices outside 0..K-1 raise ValueError."""
    y = torch.as_tensor(y)
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8) or y.dim() != 1:
        raise ValueError(f"y must be a 1-D tensor of class indices, got {y.dtype} of shape {tuple(y.shape)}")
    if len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"class indices must be in 0..{num_classes - 1}")
    return F.one_hot(y.long(), num_classes).float()


# ----------------------------------------------------------------------------- neural kinds


class Autoencoder(nn.Module):
    """AE, (beta-)VAE and CVAE in one readable class.

    - (beta-)VAE: Kingma & Welling 2014 (arXiv:1312.6114); Higgins et al. 2017 for beta.
    - AE: kind "ae", or a vae with beta = 0: z is the mean itself, no sampling, no KL.
    - CVAE (Sohn et al. 2015): the one-hot label joins the encoder's features before its dense layers,
      and z before the decoder's first layer.
    - variants: ``denoise`` (noisy input, clean target; Vincent et al. 2008), ``dropout`` in the
      encoder, ``tied`` MLP weights (decoder = encoder transposed).
    """

    phases: tuple[str, ...] = ("train",)  # the fit loop runs one optimizer step per phase (aae: two)

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.metadata: dict[str, Any] = {}
        k = cfg.num_classes if cfg.conditional else 0
        enc, dec = (ConvEncoder, ConvDecoder) if cfg.arch == "conv" else (MLPEncoder, MLPDecoder)
        self.encoder = enc(cfg, extra=k)
        self.mean = nn.Linear(self.encoder.out_features, cfg.latent_dim)
        self.logvar = nn.Linear(self.encoder.out_features, cfg.latent_dim) if self.stochastic else None
        if cfg.tied:
            linears = [m for m in self.encoder.modules() if isinstance(m, nn.Linear)] + [self.mean]
            self.decoder = TiedMLPDecoder(cfg, linears)
        else:
            self.decoder = dec(cfg, extra=k)

    @property
    def stochastic(self) -> bool:
        return self.config.kind in ("vae", "cvae") and self.config.beta > 0

    @property
    def conditional(self) -> bool:
        return self.config.conditional

    def _onehot(self, y: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor | None:
        if not self.conditional:
            return None
        if y is None:  # the contract's default: one class for every row
            y = torch.full((n,), self.config.default_class, dtype=torch.int64)
        if len(y) != n:
            raise ValueError(f"got {len(y)} labels for {n} rows")
        return one_hot(y, self.config.num_classes).to(device)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.encoder(x, self._onehot(y, len(x), x.device))  # (N, F)
        return self.mean(h), (self.logvar(h) if self.logvar is not None else None)  # (N, D) each

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        onehot = self._onehot(y, len(z), z.device)
        return self.decoder(z if onehot is None else torch.cat([z, onehot], 1))  # (N, C, H, W), unbounded

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z, y))  # (N, C, H, W) in [0, 1]

    def corrupt(self, x: torch.Tensor, noise: torch.Tensor | None) -> torch.Tensor:
        """The denoising input: clip(x + denoise * noise, 0, 1) in training; x itself otherwise."""
        if not (self.training and self.config.denoise > 0):
            return x
        noise = torch.randn_like(x) if noise is None else noise
        return (x + self.config.denoise * noise).clamp(0, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None, eps: torch.Tensor | None = None,
                noise: torch.Tensor | None = None, phase: str = "train") -> dict[str, torch.Tensor]:
        """One pass for training: the batch-mean loss terms (per image, in nats).

        ``eps`` (N, D) is the reparameterisation noise and ``noise`` (N, C, H, W) the denoising noise;
        each is drawn here if not given. The target is always the clean ``x``.
        """
        mean, logvar = self.encode(self.corrupt(x, noise), y)
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


VAE = Autoencoder  # the name the rest of the code used before the family grew


def build_model(cfg: ModelConfig) -> nn.Module:
    """The model of ``cfg.kind``, with fresh weights; every kind obeys :class:`LatentModel`."""
    cfg.validate()
    if cfg.kind == "aae":
        from training.aae import AdversarialAutoencoder

        return AdversarialAutoencoder(cfg)
    if cfg.kind == "pca":
        from training.pca import PCA

        return PCA(cfg)
    return Autoencoder(cfg)
