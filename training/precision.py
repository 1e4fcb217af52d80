"""Mixed precision for training (``latent-train --amp``): float16 autocast with a gradient scaler on
CUDA, bfloat16 autocast on CPU (no scaler: bfloat16 has float32's range). The weights, the optimizer
state, the checkpoint and every evaluation stay float32; only the forward pass's matmuls and
convolutions run in the lower precision (torch.autocast chooses which ops).
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from training.errors import TrainError

DTYPES = {"cuda": torch.float16, "cpu": torch.bfloat16}


class Precision:
    """The forward pass's autocast, the scaled backward and the optimizer step, for one device."""

    def __init__(self, amp: bool, device: torch.device):
        self.device_type = device.type
        self.dtype: torch.dtype | None = None
        self.scaler: Any = None
        if not amp:
            return
        if device.type not in DTYPES:
            raise TrainError(f"--amp runs on cuda (float16) or cpu (bfloat16), not on {device.type}; "
                             "train without --amp there")
        self.dtype = DTYPES[device.type]
        if device.type == "cuda":
            self.scaler = torch.amp.GradScaler("cuda")

    def autocast(self) -> contextlib.AbstractContextManager:
        """The forward pass's context (nothing without --amp). Autocast is per thread: every worker enters it."""
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def backward(self, loss: torch.Tensor) -> None:
        (self.scaler.scale(loss) if self.scaler is not None else loss).backward()

    def unscale(self, opt: torch.optim.Optimizer) -> None:
        """The gradients in their true units before they are clipped (a no-op without a scaler)."""
        if self.scaler is not None:
            self.scaler.unscale_(opt)

    def step(self, opt: torch.optim.Optimizer) -> None:
        """The optimizer step (with a scaler: unscaled, skipped on inf gradients, the scale updated)."""
        if self.scaler is None:
            opt.step()
            return
        self.scaler.step(opt)
        self.scaler.update()
