"""The model kinds, one :class:`KindSpec` each: the one place that says what a kind is and needs.

Every question the code asks about a kind ("is it conditional?", "does it sample z?", "is it fitted in
closed form?", "which class builds it?", "which numpy decoder mirrors it?") is a look-up here, never a
``kind == "..."`` switch. Adding a kind is one entry in :data:`KIND_SPECS` plus its test (DESIGN.md,
"How to add a model kind").

The code a kind needs is named as ``"module:attribute"`` and imported when it is first used. That keeps
this module torch-free and at the bottom of the import graph: ``training.config`` validates against it,
the explorer asks it before torch is imported, and ``training.models`` / ``aae`` / ``pca`` /
``numpy_decode`` import it, never the other way round (no import circle).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from training.errors import UserError

__all__ = ["KINDS", "KIND_SPECS", "KindSpec", "UnknownKind", "kind_spec", "resolve"]


class UnknownKind(UserError):
    """A model kind that is not in :data:`KIND_SPECS`."""


@dataclass(frozen=True)
class KindSpec:
    name: str
    help: str  # one phrase for ``latent-train --help``
    model: str  # "module:Class" of the torch model, built as Class(cfg); it obeys training.contract.LatentModel
    loss: str  # the training objective in words (the model's forward computes it; per image, in nats)
    numpy: str  # "module:attribute" of its torch-free decoder (a training.numpy_decode.NumpyKind)
    beta_kl: bool = False  # the loss has a beta-weighted KL; with beta > 0 it has a logvar head and samples z
    conditional: bool = False  # encode and decode take class labels (one-hot y joins x and z)
    tied: bool = False  # tied mlp weights (decoder = encoder transposed) are offered
    closed_form: str | None = None  # "module:function"(model, images, solver, seed) fitting it in one step
    # (no epochs, no optimizer: --resume, --snapshots, dropout and denoise do not apply)

    def build(self, cfg: Any) -> Any:
        """A fresh model of this kind from ``cfg`` (a training.config.ModelConfig; torch is imported here)."""
        return resolve(self.model)(cfg)

    def stochastic(self, beta: float | None) -> bool:
        """True when its encoder gives a log-variance and training samples z (a posterior spread)."""
        return self.beta_kl and beta is not None and float(beta) > 0

    @property
    def gradient_trained(self) -> bool:
        return self.closed_form is None


KIND_SPECS: dict[str, KindSpec] = {spec.name: spec for spec in (
    KindSpec("vae", "(beta-)VAE, --beta 0 makes a plain AE", model="training.models:Autoencoder",
             loss="reconstruction + beta * KL(q(z|x) || N(0, I))", numpy="training.numpy_decode:NEURAL",
             beta_kl=True, tied=True),
    KindSpec("ae", "plain autoencoder", model="training.models:Autoencoder",
             loss="reconstruction", numpy="training.numpy_decode:NEURAL", tied=True),
    KindSpec("cvae", "conditional VAE (labelled data)", model="training.models:Autoencoder",
             loss="reconstruction + beta * KL, given the class", numpy="training.numpy_decode:NEURAL",
             beta_kl=True, conditional=True),
    KindSpec("aae", "adversarial AE", model="training.aae:AdversarialAutoencoder",
             loss="reconstruction + adv_weight * BCE(D(z), 1); the discriminator's BCE in its own phase",
             numpy="training.numpy_decode:AAE", tied=True),
    KindSpec("pca", "closed-form linear baseline", model="training.pca:PCA",
             loss="none: closed-form PCA (the test ELBO uses the clipped linear reconstruction)",
             numpy="training.numpy_decode:PCA_NUMPY", closed_form="training.pca:fit_pca"),
)}
KINDS = tuple(KIND_SPECS)  # vae with beta = 0 is a plain AE too


def kind_spec(kind: Any) -> KindSpec:
    """The spec of ``kind``; UnknownKind (one sentence) for anything else."""
    spec = KIND_SPECS.get(kind) if isinstance(kind, str) else None
    if spec is None:
        raise UnknownKind(f"unknown model kind {kind!r} (known: {', '.join(KINDS)})")
    return spec


def resolve(ref: str) -> Any:
    """The object a ``"module:attribute"`` reference names (its module imported now)."""
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)
