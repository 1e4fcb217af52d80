"""A torch-free decoder: a checkpoint's ``decode`` rebuilt from its config and its weights as numpy arrays.

Why: ``import torch`` alone costs 2-3 s of CPU, so an app that waits for torch cannot show a decoded
image within 2 s of starting. The explorer opens a model in two phases (explorer/core/light_open.py):
first it reads and checks the file with numpy (:func:`read_model`), shows the plane and decodes with
:func:`numpy_decoder`; then it imports torch and swaps in the real model. The two decoders agree to
float32 rounding (tests/training/test_numpy_decode.py checks every kind and architecture).

Covered: every decoder of the family (training/models.py, aae.py, pca.py): ``ConvDecoder`` (dense layers, stride-2 3x3 ConvTranspose2d + ReLU per width, a final stride-1 one, a
centre crop), ``MLPDecoder``, ``TiedMLPDecoder`` (the encoder's weights transposed), the CVAE's one-hot
class joined to z, then ``sigmoid``; PCA's ``clip((z * scale) @ components + center, 0, 1)``. Each kind's
KindSpec (training/kinds.py) names its :class:`NumpyKind` here: its tensors and its decoder steps.

A config this module does not know returns None from :func:`numpy_decoder` (the caller then waits for
torch). No torch and no Qt here; nothing from a model file is ever run (only its arrays are read).
ConvTranspose2d (3x3, padding 1) is, for small batches, one matmul of zero-padded shifted copies of its
input with a block weight built once from (Cin, Cout, 3, 3) (training/numpy_layers.py, :func:`conv_transpose2d`), and for large
ones a matmul and 9 strided adds (:func:`conv_transpose2d_scatter`); activations are NHWC and float32.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from training.checkpoint_read import CheckpointError, open_checked, read_weights
from training.config import ModelConfig
from training.kinds import kind_spec, resolve
from training.numpy_layers import conv_t_step, dense_step, f32, sigmoid

__all__ = ["AAE", "NEURAL", "PCA_NUMPY", "NumpyKind", "NumpyModel", "numpy_decoder", "read_model", "state_shapes"]

BATCH = 256  # rows decoded at once: bounds the conv's column buffer (~55 MB for the classic 28x28 decoder)
DecodeFn = Callable[[np.ndarray, Any], np.ndarray]


# ----------------------------------------------------------------------------- the state_dict's layout


def _mlp_layers(prefix: str, sizes: list[int], final_act: bool = True, dropout: float = 0.0, join: int = 0
                ) -> list[tuple[str, int, int, bool]]:
    """training.models._mlp's Linear layers: (key prefix, in, out, ReLU after) in order.

    Module indices count the ReLU (and Dropout) modules between the Linear ones, as nn.Sequential does."""
    layers, i = [], 0
    for j in range(len(sizes) - 1):
        relu = final_act or j < len(sizes) - 2
        layers.append((f"{prefix}.{i}", sizes[j] + (join if j else 0), sizes[j + 1], relu))
        i += 1 + (1 + (dropout > 0) if relu else 0)
    return layers


def _conv_hw(h: int, w: int, n: int) -> tuple[int, int]:
    """Spatial size after n stride-2 3x3 'same' convs (training.models._conv_sizes)."""
    for _ in range(n):
        h, w = (h + 1) // 2, (w + 1) // 2
    return h, w


def _encoder_linears(cfg: ModelConfig, extra: int) -> tuple[list[tuple[str, int, int, bool]], int]:
    """The encoder's dense Linear layers and its feature width (the latent heads' input)."""
    c, h, w = cfg.image_shape
    if cfg.arch == "conv":
        fh, fw = _conv_hw(h, w, len(cfg.channels))
        width = cfg.channels[-1] * fh * fw + extra
    else:
        width = math.prod(cfg.image_shape) + extra
    return _mlp_layers("encoder.dense", [width, *cfg.hidden], dropout=cfg.dropout), (
        cfg.hidden[-1] if cfg.hidden else width)


def _join(cfg: ModelConfig, extra: int) -> int:
    """The label width joined to every later decoder layer (``decoder_label = "every"``), else 0."""
    return extra if cfg.decoder_label == "every" else 0


def _conv_decoder(cfg: ModelConfig, extra: int) -> tuple[list[tuple[str, int, int, bool]], list[tuple[str, int, int, int]]]:
    """ConvDecoder's dense layers and its transposed convs: (key prefix, in, out, stride)."""
    c, h, w = cfg.image_shape
    k = _join(cfg, extra)
    start = cfg.channels[-1] * math.prod(_conv_hw(h, w, len(cfg.channels)))
    dense = _mlp_layers("decoder.dense", [cfg.latent_dim + extra, *reversed(cfg.hidden[:-1]), start], join=k)
    ups, width = [], cfg.channels[-1]
    for i, out in enumerate(reversed(cfg.channels)):
        ups.append((f"decoder.ups.{2 * i}", width + k, out, 2))
        width = out
    ups.append((f"decoder.ups.{2 * len(cfg.channels)}", width + k, c, 1))
    return dense, ups


def state_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Every tensor a checkpoint of ``cfg`` holds, with its shape: the same answer as
    training.checkpoint.expected_entries (which builds the model on torch's meta device), without torch."""
    return numpy_kind(cfg).shapes(cfg)


def numpy_kind(cfg: ModelConfig) -> NumpyKind:
    """The numpy mirror of ``cfg``'s kind, as its KindSpec names it (training/kinds.py)."""
    return resolve(kind_spec(cfg.kind).numpy)


def _pca_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    d, p = cfg.latent_dim, math.prod(cfg.image_shape)
    return {"center": (p,), "components": (d, p), "scale": (d,)}


def _neural_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """training.models.Autoencoder's tensors (AE, VAE, CVAE; the AAE adds its discriminator)."""
    d, p = cfg.latent_dim, math.prod(cfg.image_shape)
    out: dict[str, tuple[int, ...]] = {}

    def linear(prefix: str, n_in: int, n_out: int) -> None:
        out[f"{prefix}.weight"], out[f"{prefix}.bias"] = (n_out, n_in), (n_out,)

    extra = cfg.num_classes if cfg.conditional else 0
    c = cfg.image_shape[0]
    if cfg.arch == "conv":
        i = 0
        for width in cfg.channels:
            out[f"encoder.convs.{i}.weight"], out[f"encoder.convs.{i}.bias"] = (width, c, 3, 3), (width,)
            c, i = width, i + 2 + (cfg.dropout > 0)
    enc, features = _encoder_linears(cfg, extra)
    for prefix, n_in, n_out, _ in enc:
        linear(prefix, n_in, n_out)
    linear("mean", features, d)
    if kind_spec(cfg.kind).stochastic(cfg.beta):
        linear("logvar", features, d)
    if cfg.tied:  # only the biases are the decoder's own: one per encoder Linear, mean head first
        for i, (_, n_in, _, _) in enumerate(reversed([*enc, ("mean", features, d, False)])):
            out[f"decoder.biases.{i}"] = (n_in,)
    elif cfg.arch == "conv":
        dense, ups = _conv_decoder(cfg, extra)
        for prefix, n_in, n_out, _ in dense:
            linear(prefix, n_in, n_out)
        for prefix, n_in, n_out, _ in ups:
            out[f"{prefix}.weight"], out[f"{prefix}.bias"] = (n_in, n_out, 3, 3), (n_out,)
    else:
        for prefix, n_in, n_out, _ in _mlp_layers("decoder.dense", [d + extra, *reversed(cfg.hidden), p], final_act=False,
                                                  join=_join(cfg, extra)):
            linear(prefix, n_in, n_out)
    return out


def _aae_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    out = _neural_shapes(cfg)
    for prefix, n_in, n_out, _ in _mlp_layers("discriminator", [cfg.latent_dim, *cfg.disc_hidden, 1], final_act=False):
        out[f"{prefix}.weight"], out[f"{prefix}.bias"] = (n_out, n_in), (n_out,)
    return out


# ----------------------------------------------------------------------------- the decoder


def _neural_steps(cfg: ModelConfig, wt: dict[str, np.ndarray]) -> list[Callable[[np.ndarray], np.ndarray]]:
    """The decoder of an AE / VAE / CVAE / AAE as steps on (N, D + K) rows, ending at images (N, C, H, W)."""
    return [*_logit_steps(cfg, wt), _images]


def _images(x: np.ndarray) -> np.ndarray:
    """Logits (N, H, W, C) -> images (N, C, H, W) in [0, 1], as every neural kind's ``decode``."""
    return np.ascontiguousarray(sigmoid(np.array(x, np.float32)).transpose(0, 3, 1, 2))


def _pca_steps(cfg: ModelConfig, wt: dict[str, np.ndarray]) -> list[Callable[[np.ndarray], np.ndarray]]:
    scale, comps, center = (f32(wt[k]) for k in ("scale", "components", "center"))
    c, h, w = cfg.image_shape
    return [lambda z: np.clip((z * scale) @ comps + center, 0, 1).reshape(len(z), c, h, w)]


@dataclass(frozen=True)
class NumpyKind:
    """A kind's torch-free mirror: its checkpoint's tensors and its decoder as steps (z rows -> images)."""

    shapes: Callable[[ModelConfig], dict[str, tuple[int, ...]]]
    steps: Callable[[ModelConfig, dict[str, np.ndarray]], list[Callable[[np.ndarray], np.ndarray]]]


NEURAL = NumpyKind(_neural_shapes, _neural_steps)
AAE = NumpyKind(_aae_shapes, _neural_steps)  # the AE's decoder; the discriminator only adds tensors
PCA_NUMPY = NumpyKind(_pca_shapes, _pca_steps)


def _logit_steps(cfg: ModelConfig, wt: dict[str, np.ndarray]) -> list[Callable[[np.ndarray], np.ndarray]]:
    """The neural decoder's steps up to its logits (N, H, W, C)."""
    c, h, w = cfg.image_shape
    extra = cfg.num_classes if cfg.conditional else 0
    if cfg.tied:
        enc, features = _encoder_linears(cfg, extra)
        layers = list(reversed([*enc, ("mean", features, cfg.latent_dim, False)]))
        steps = [dense_step(wt[f"{prefix}.weight"], wt[f"decoder.biases.{i}"], i < len(layers) - 1, transpose=False)
                 for i, (prefix, _, _, _) in enumerate(layers)]
        return [*steps, lambda x: x.reshape(len(x), c, h, w).transpose(0, 2, 3, 1)]
    k = _join(cfg, extra)
    if cfg.arch == "mlp":
        steps = [dense_step(wt[f"{p}.weight"], wt[f"{p}.bias"], relu) for p, _, _, relu in
                 _mlp_layers("decoder.dense", [cfg.latent_dim + extra, *reversed(cfg.hidden), c * h * w],
                             final_act=False, join=k)]
        steps = _label_joined(steps, ["dense" if i else "" for i in range(len(steps))], k) if k else steps
        return [*steps, lambda x: x.reshape(len(x), c, h, w).transpose(0, 2, 3, 1)]
    dense, ups = _conv_decoder(cfg, extra)
    sc, sh, sw = cfg.channels[-1], *_conv_hw(h, w, len(cfg.channels))
    steps = []
    for i, (p, _, _, relu) in enumerate(dense):
        weight, bias = wt[f"{p}.weight"], wt[f"{p}.bias"]
        if i == len(dense) - 1:  # rows of the last layer reordered once, so it outputs NHWC directly
            weight = weight.reshape(sc, sh, sw, -1).transpose(1, 2, 0, 3).reshape(sc * sh * sw, -1)
            bias = bias.reshape(sc, sh, sw).transpose(1, 2, 0).reshape(-1)
        steps.append(dense_step(weight, bias, relu))
    steps.append(lambda x: x.reshape(len(x), sh, sw, sc))
    steps += [conv_t_step(wt[f"{p}.weight"], wt[f"{p}.bias"], stride, relu=i < len(ups) - 1)
              for i, (p, _, _, stride) in enumerate(ups)]

    def crop(x: np.ndarray) -> np.ndarray:  # sizes that are not a multiple of 2^n: the centre
        top, left = (x.shape[1] - h) // 2, (x.shape[2] - w) // 2
        return x[:, top : top + h, left : left + w]

    if k:  # which steps take the label: the dense layers after the first, and every transposed conv
        steps = _label_joined(steps, ["dense" if i else "" for i in range(len(dense))] + [""] + ["conv"] * len(ups), k)
    return [*steps, crop]


def _label_joined(steps: list[Callable[[np.ndarray], np.ndarray]], joins: list[str], k: int
                  ) -> list[Callable[[np.ndarray], np.ndarray]]:
    """``steps`` on (N, D + K) rows as one step in which each step marked "dense" gets the one-hot label
    (the rows' last K columns) joined to its input (N, F), and each marked "conv" gets it as K constant
    channels of its NHWC input, as training.models._label_joined does."""

    def run(x: np.ndarray) -> np.ndarray:
        onehot = x[:, -k:]
        for step, join in zip(steps, joins, strict=True):
            if join == "dense":
                x = np.concatenate([x, onehot], 1)
            elif join == "conv":
                x = np.concatenate([x, np.broadcast_to(onehot[:, None, None, :], (*x.shape[:3], k))], 3)
            x = step(x)
        return x

    return [run]


def numpy_decoder(cfg: ModelConfig, weights: dict[str, np.ndarray]) -> DecodeFn | None:
    """``decode(z, labels=None) -> (N, C, H, W)`` float32 in [0, 1], equal to the torch model's ``decode``
    to float32 rounding; None if this config (or these weights) is not one this module can decode.

    ``z``: (N, latent_dim); ``labels`` (conditional models): N class indices, else ``default_class``.
    A non-finite z, a wrong label count or a class out of range raise ValueError, as torch's path does."""
    try:
        cfg = ModelConfig.from_dict(cfg.to_dict())
        mirror = numpy_kind(cfg)
        if any(tuple(np.shape(weights.get(k))) != s for k, s in mirror.shapes(cfg).items()):
            return None
        steps = mirror.steps(cfg, weights)
    except (KeyError, ValueError):
        return None
    c, h, w = cfg.image_shape
    d, k = cfg.latent_dim, (cfg.num_classes if cfg.conditional else 0)

    def run(x: np.ndarray) -> np.ndarray:
        for step in steps:
            x = step(x)
        return x

    def decode(z: np.ndarray, labels: Any = None) -> np.ndarray:
        z = np.asarray(z, np.float32).reshape(-1, d) if np.ndim(z) < 2 else np.asarray(z, np.float32)
        if z.ndim != 2 or z.shape[1] != d:
            raise ValueError(f"z must be (N, {d}), got shape {z.shape}")
        if not np.all(np.isfinite(z)):
            raise ValueError("the latent point is not finite")
        if k:
            y = np.full(len(z), cfg.default_class, np.int64) if labels is None else np.asarray(labels)
            if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
                raise ValueError(f"y must be a 1-D array of class indices, got {y.dtype} of shape {y.shape}")
            if len(y) != len(z):
                raise ValueError(f"got {len(y)} labels for {len(z)} rows")
            if len(y) and (int(y.min()) < 0 or int(y.max()) >= k):
                raise ValueError(f"class indices must be in 0..{k - 1}")
            z = np.concatenate([z, np.eye(k, dtype=np.float32)[y]], 1)  # the one-hot class joins z
        if not len(z):
            return np.zeros((0, c, h, w), np.float32)
        return np.concatenate([run(z[i : i + BATCH]) for i in range(0, len(z), BATCH)])

    decode.backend = "numpy"  # type: ignore[attr-defined]  # tests and the model service tell the two apart
    return decode


# ----------------------------------------------------------------------------- reading a file


@dataclass
class NumpyModel:
    """A checkpoint read and checked without torch: what the explorer needs before torch is imported."""

    path: Path
    config: ModelConfig
    metadata: dict[str, Any]  # as training.checkpoint.load sets ``model.metadata``
    weights: dict[str, np.ndarray]  # the main state_dict, float32, checked finite
    decode: DecodeFn | None  # :func:`numpy_decoder`, or None if the config is not one it covers

    @property
    def conditional(self) -> bool:
        return self.config.conditional


def read_model(path: str | Path) -> NumpyModel:
    """Read and check ``path`` as training.checkpoint.load does (size cap, header, format, schema,
    config, exact key set, dtypes, shapes, every tensor -- snapshots too -- finite); CheckpointError
    (one sentence naming the file) otherwise. Only the arrays are read: nothing in the file is run."""
    path = Path(path)
    with open_checked(path, state_shapes) as (reader, meta, cfg):
        weights = read_weights(path, reader, lambda index: index is None).get(None, {})
    if set(weights) != set(state_shapes(cfg)):  # pragma: no cover - open_checked checked the key set
        raise CheckpointError(f"{path}: does not fit this model configuration.")
    return NumpyModel(path, cfg, meta, weights, numpy_decoder(cfg, weights))
