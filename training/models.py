"""The model contract and the neural kinds (AE, (beta-)VAE, CVAE), readable top to bottom.

The config dataclass lives in ``training/config.py`` (torch-free) and is re-exported here.

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
``training/aae.py`` (adversarial autoencoder) and ``training/pca.py`` (the linear baseline); which class
builds which kind is said once, in ``training/kinds.py``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from training import losses
from training.config import ARCHS, KINDS, LIKELIHOODS, ConfigError, ModelConfig
from training.contract import LatentModel
from training.kinds import kind_spec

__all__ = ["ARCHS", "KINDS", "LIKELIHOODS", "Autoencoder", "ConfigError", "LatentModel", "ModelConfig", "VAE",
           "build_model"]

# ----------------------------------------------------------------------------- building blocks


def _mlp(sizes: list[int], final_act: bool = True, dropout: float = 0.0, join: int = 0) -> nn.Sequential:
    """Linear + ReLU layers; with dropout > 0 a Dropout after every ReLU (no Dropout modules at 0, so
    the state_dict keys of models without dropout stay what they always were). ``join``: every Linear
    after the first takes that many more inputs (the label, see :func:`_label_joined`)."""
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i] + (join if i else 0), sizes[i + 1]))
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


def _label_joined(layers: nn.Sequential, h: torch.Tensor, onehot: torch.Tensor, skip_first: bool = False
                  ) -> torch.Tensor:
    """Run ``layers`` with the one-hot label (N, K) joined to the input of every Linear and, as K constant
    channels, of every ConvTranspose2d (``decoder_label = "every"``); ``skip_first``: the first Linear's
    input holds it already (z and the label)."""
    for i, layer in enumerate(layers):
        if isinstance(layer, nn.Linear) and not (skip_first and i == 0):
            h = torch.cat([h, onehot], 1)
        elif isinstance(layer, nn.ConvTranspose2d):
            h = torch.cat([h, onehot[:, :, None, None].expand(-1, -1, *h.shape[-2:])], 1)
        h = layer(h)
    return h


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
    """z (N, D + K) -> logits (N, C, H, W); dense to (c, h/2^n, w/2^n), stride-2 transposed convs.

    ``decoder_label = "every"``: the label (the last K columns) also joins every later layer's input."""

    def __init__(self, cfg: ModelConfig, extra: int = 0):
        super().__init__()
        c, h, w = cfg.image_shape
        n = len(cfg.channels)
        self.start = (cfg.channels[-1], *_conv_sizes(h, w, n)[-1])
        self.out_hw = (h, w)
        # each stride-2 ConvT doubles the size: sizes that are not a multiple of 2^n come out larger and are
        # cropped to the centre; decided here, so forward never tests a tensor's shape (jit.trace warns on it)
        full = [s * 2**n for s in self.start[1:]]
        self.crop = None if full == [h, w] else ((full[0] - h) // 2, (full[1] - w) // 2)
        self.join = k = extra if cfg.decoder_label == "every" else 0
        # classic: z -> Dense 7x7x64 directly (hidden[-1] only feeds the encoder's latent heads)
        self.dense = _mlp([cfg.latent_dim + extra, *reversed(cfg.hidden[:-1]), math.prod(self.start)], join=k)
        ups: list[nn.Module] = []
        width = cfg.channels[-1]
        for out in reversed(cfg.channels):  # classic: ConvT 64 s2, ConvT 32 s2
            ups += [nn.ConvTranspose2d(width + k, out, 3, stride=2, padding=1, output_padding=1), nn.ReLU()]
            width = out
        ups.append(nn.ConvTranspose2d(width + k, c, 3, stride=1, padding=1))  # ConvT 1 ('same')
        self.ups = nn.Sequential(*ups)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.join:
            onehot = z[:, -self.join :]
            x = _label_joined(self.ups, _label_joined(self.dense, z, onehot, True).view(-1, *self.start), onehot)
        else:
            x = self.ups(self.dense(z).view(-1, *self.start))
        if self.crop is not None:
            (top, left), (h, w) = self.crop, self.out_hw
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
        self.join = k = extra if cfg.decoder_label == "every" else 0
        self.dense = _mlp([cfg.latent_dim + extra, *reversed(cfg.hidden), math.prod(cfg.image_shape)], final_act=False,
                          join=k)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if self.join:
            return _label_joined(self.dense, z, z[:, -self.join :], True).view(-1, *self.shape)
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
    y = y if isinstance(y, torch.Tensor) else torch.as_tensor(y)  # (as_tensor on a tensor warns in a trace)
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8) or y.dim() != 1:
        raise ValueError(f"y must be a 1-D tensor of class indices, got {y.dtype} of shape {tuple(y.shape)}")
    # not while torch.jit.trace records decode: a value or size read back into Python warns and is baked in
    if not torch.jit.is_tracing() and len(y) and (int(y.min()) < 0 or int(y.max()) >= num_classes):
        raise ValueError(f"class indices must be in 0..{num_classes - 1}")
    return F.one_hot(y.long(), num_classes).float()


# ----------------------------------------------------------------------------- neural kinds


class Autoencoder(nn.Module):
    """AE, (beta-)VAE and CVAE in one readable class.

    - (beta-)VAE: Kingma & Welling 2014 (arXiv:1312.6114); Higgins et al. 2017 for beta.
    - AE: kind "ae", or a vae with beta = 0: z is the mean itself, no sampling, no KL.
    - CVAE (Sohn et al. 2015): the one-hot label joins the encoder's features before its dense layers,
      and z before the decoder's first layer (``decoder_label = "every"``: every decoder layer's input).
    - variants: ``denoise`` (noisy input, clean target; Vincent et al. 2008), ``dropout`` in the
      encoder, ``tied`` MLP weights (decoder = encoder transposed).
    """

    phases: tuple[str, ...] = ("train",)  # the fit loop runs one optimizer step per phase (aae: two)

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.config = cfg
        self.metadata: dict[str, Any] = {}
        # training knobs the fit loop sets each step (training/schedule.py), not part of the model
        self.kl_weight, self.free_bits = 1.0, 0.0  # KL warm-up factor (times beta); free bits per unit
        self.iw_samples = 1  # importance-weighted training (IWAE) with this many z per image; 1 = the ELBO
        self.guide: Any = None  # conditional kinds: label guidance in training (training/guide.py), never saved
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
        return kind_spec(self.config.kind).stochastic(self.config.beta)

    @property
    def conditional(self) -> bool:
        return self.config.conditional

    def _onehot(self, y: torch.Tensor | None, n: int, device: torch.device) -> torch.Tensor | None:
        if not self.conditional:
            return None
        if y is None:  # the contract's default: one class for every row
            y = torch.full((n,), self.config.default_class, dtype=torch.int64)
        if not torch.jit.is_tracing() and len(y) != n:  # (see one_hot)
            raise ValueError(f"got {len(y)} labels for {n} rows")
        return one_hot(y, self.config.num_classes).to(device)

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        h = self.encoder(x, self._onehot(y, x.shape[0], x.device))  # (N, F)
        return self.mean(h), (self.logvar(h) if self.logvar is not None else None)  # (N, D) each

    def decode_logits(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        onehot = self._onehot(y, z.shape[0], z.device)
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
        each is drawn here if not given. The target is always the clean ``x``. With ``iw_samples`` k > 1
        (a stochastic kind) the loss is the k-sample importance-weighted bound and ``eps`` is (N, k, D).
        """
        mean, logvar = self.encode(self.corrupt(x, noise), y)
        if logvar is not None and self.iw_samples > 1:
            return self._iw_forward(x, y, mean, logvar, eps)
        if logvar is not None:  # reparameterization trick: z = mu + sigma * eps
            eps = torch.randn_like(mean) if eps is None else eps
            z = mean + torch.exp(0.5 * logvar) * eps
        else:
            z = mean
        logits = self.decode_logits(z, y)
        recon = losses.reconstruction(logits, x, self.config.likelihood, self.config.gaussian_sigma)  # (N,)
        if logvar is None:
            return {"loss": recon.mean(), "recon": recon.mean(), "kl": torch.zeros((), device=x.device)}
        kl = losses.kl_units(mean, logvar)  # (N, D)
        loss = recon.mean() + self.config.beta * self.kl_weight * losses.free_bits_kl(kl, self.free_bits)
        if self.training and self.guide is not None and y is not None:  # the class dial at prior z
            loss = loss + self.guide.weight * self.guide.loss(self, eps, y)
        return {"loss": loss, "recon": recon.mean(), "kl": kl.sum(1).mean()}

    def _iw_forward(self, x: torch.Tensor, y: torch.Tensor | None, mean: torch.Tensor, logvar: torch.Tensor,
                    eps: torch.Tensor | None) -> dict[str, torch.Tensor]:
        """The IWAE objective (Burda et al. 2016): k z per image, the loss is -(logsumexp_k log w - log k),
        log w = log p(x|z) + beta * kl_weight * (log p(z) - log q(z|x)); free bits do not apply. "recon" and
        "kl" are the first sample's reconstruction and the closed-form KL, as the ELBO path reports them."""
        n, k = len(mean), self.iw_samples
        eps = torch.randn(n, k, mean.shape[1], device=mean.device, dtype=mean.dtype) if eps is None else eps
        z = mean.unsqueeze(1) + torch.exp(0.5 * logvar).unsqueeze(1) * eps  # (N, k, D)
        yk = None if y is None else y.repeat_interleave(k)
        logits = self.decode_logits(z.flatten(0, 1), yk)
        recon = losses.reconstruction(logits, x.repeat_interleave(k, 0), self.config.likelihood,
                                      self.config.gaussian_sigma).view(n, k)
        log_w = losses.iw_log_weights(recon, z, mean.unsqueeze(1), logvar.unsqueeze(1),
                                      self.config.beta * self.kl_weight)
        loss = -(torch.logsumexp(log_w, 1) - math.log(k)).mean()
        if self.training and self.guide is not None and y is not None:
            loss = loss + self.guide.weight * self.guide.loss(self, eps[:, 0], y)
        return {"loss": loss, "recon": recon[:, 0].mean(), "kl": losses.kl_normal(mean, logvar).mean()}


VAE = Autoencoder  # the name the rest of the code used before the family grew


def build_model(cfg: ModelConfig) -> nn.Module:
    """The model of ``cfg.kind``, with fresh weights; every kind obeys :class:`LatentModel`."""
    return kind_spec(cfg.validate().kind).build(cfg)
