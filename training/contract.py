"""The model contract (DESIGN.md, "The model contract") as a ``typing.Protocol``.

Every model kind offers the same three things, so the explorer never asks which kind it holds:

- ``encode(x, y=None) -> (mean, logvar or None)``: the posterior; the explorer plots ``mean``.
  ``logvar`` is None for deterministic kinds.
- ``decode(z, y=None) -> x_hat`` in [0, 1], shape (N, C, H, W). ``y`` (conditional kinds only) is
  an int64 tensor of class indices.
- ``config``: a dataclass that rebuilds the model exactly (stored as JSON in the checkpoint), and
  ``metadata`` (dataset, metrics, history) once loaded from a checkpoint.
- ``conditional``: True when ``y`` changes the result (the CVAE). The explorer then encodes with the
  data's true labels and decodes with a class it chooses; with ``y=None`` a conditional model uses
  its ``config.default_class``.

``isinstance(model, LatentModel)`` checks the methods and attributes exist (runtime_checkable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:  # annotations only: importing the contract must not import torch (the GUI imports it)
    import torch


@runtime_checkable
class LatentModel(Protocol):
    config: Any  # a config dataclass with .to_dict(), .latent_dim, .image_shape
    metadata: dict[str, Any]

    @property
    def conditional(self) -> bool:
        """True: encode / decode take class indices y (int64, (N,)); False: y is ignored."""
        ...

    def encode(self, x: torch.Tensor, y: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """x (N, C, H, W) in [0, 1] -> mean (N, latent_dim), logvar (N, latent_dim) or None."""
        ...

    def decode(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z (N, latent_dim) -> x_hat (N, C, H, W) in [0, 1]."""
        ...
