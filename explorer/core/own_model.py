"""A user's own torch module as a model the explorer can show ("bring your own model"). No Qt.

Any ``torch.nn.Module`` with ``encode(x) -> mean`` or ``(mean, logvar)`` and ``decode(z) -> images in
[0, 1]`` of the dataset's shape can be explored. :func:`wrap` checks both on a few real images of the
dataset when it opens (one sentence for what does not fit) and gives it this project's model contract
(training.contract.LatentModel). :func:`load_module` imports ``FILE.py:FUNCTION`` and calls it to build the
module: that runs the user's own code, by the user's own choice on the command line or in a script. A
scene file never names code, and nothing here is ever read from a scene or a checkpoint.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from explorer.core.values import MAX_LATENT_DIM
from training.errors import UserError

PROBE = 4  # images the open checks encode and decode with


class OwnModelError(UserError):
    """One sentence: what about the user's module does not fit."""


@dataclass
class OwnConfig:
    """What the explorer needs to know of a user's module (it cannot be rebuilt from this)."""

    latent_dim: int
    image_shape: tuple[int, int, int]
    stochastic: bool  # encode returns (mean, logvar)
    kind: str = "own"
    arch: str = "own"
    source: str = ""  # FILE.py:FUNCTION, or the class name

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["image_shape"] = list(self.image_shape)
        return d


@dataclass(eq=False)
class OwnModel:
    """A user's module under the model contract: ``encode(x, y=None) -> (mean, logvar | None)``, ``decode(z, y=None)``."""

    module: Any
    config: OwnConfig
    metadata: dict[str, Any] = field(default_factory=dict)
    conditional: bool = False

    def encode(self, x: Any, y: Any = None) -> tuple[Any, Any]:
        out = self.module.encode(x)
        if isinstance(out, (tuple, list)):
            return out[0], out[1] if len(out) > 1 else None
        return out, None

    def decode(self, z: Any, y: Any = None) -> Any:
        return self.module.decode(z)

    # what the explorer's torch helpers ask of a model (explorer.core.torch_fns)
    def eval(self) -> OwnModel:
        self.module.eval()
        return self

    def parameters(self):
        return self.module.parameters()


def _name(module: Any) -> str:
    return type(module).__name__


def wrap(module: Any, images: np.ndarray, source: str = "", dataset: str = "") -> OwnModel:
    """Check ``module`` on a few of ``images`` ((N, C, H, W) uint8 or float in [0, 1]) and wrap it.

    One OwnModelError sentence for: no encode or decode, an encode that is not (N, D) finite means
    (optionally with a logvar of the same shape), a decode that does not give (N, C, H, W) finite values
    in [0, 1] for those means."""
    import torch

    name = source or _name(module)
    for attr in ("encode", "decode"):
        if not callable(getattr(module, attr, None)):
            raise OwnModelError(f"{name}: has no {attr}() method; the explorer needs encode(x) and decode(z).")
    x = np.asarray(images[:PROBE])
    x = torch.from_numpy(x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32))
    n, shape = len(x), tuple(x.shape[1:])
    if hasattr(module, "eval"):
        module.eval()
    with torch.inference_mode():
        try:
            out = module.encode(x)
        except Exception as e:  # noqa: BLE001 - the user's code: any failure is one sentence
            raise OwnModelError(f"{name}: encode() failed on the dataset's images {tuple(x.shape)} "
                                f"({type(e).__name__}: {e}).") from None
        mean, logvar = (out[0], out[1] if len(out) > 1 else None) if isinstance(out, (tuple, list)) else (out, None)
        if not isinstance(mean, torch.Tensor) or mean.ndim != 2 or mean.shape[0] != n:
            got = tuple(mean.shape) if isinstance(mean, torch.Tensor) else type(mean).__name__
            raise OwnModelError(f"{name}: encode() must return means of shape (N, D) (or (mean, logvar)), "
                                f"but for {n} images it gave {got}.")
        d = int(mean.shape[1])
        if not 2 <= d <= MAX_LATENT_DIM:
            raise OwnModelError(f"{name}: has a {d}-D latent space; the explorer shows 2 to {MAX_LATENT_DIM} dimensions.")
        if logvar is not None and (not isinstance(logvar, torch.Tensor) or tuple(logvar.shape) != tuple(mean.shape)):
            raise OwnModelError(f"{name}: encode()'s log-variance must have the means' shape {tuple(mean.shape)}.")
        if not torch.isfinite(mean).all() or (logvar is not None and not torch.isfinite(logvar).all()):
            raise OwnModelError(f"{name}: encode() gave non-finite values for real images.")
        try:
            rec = module.decode(mean.float())
        except Exception as e:  # noqa: BLE001
            raise OwnModelError(f"{name}: decode() failed on ({n}, {d}) means ({type(e).__name__}: {e}).") from None
        if not isinstance(rec, torch.Tensor) or tuple(rec.shape) != (n, *shape):
            got = tuple(rec.shape) if isinstance(rec, torch.Tensor) else type(rec).__name__
            raise OwnModelError(f"{name}: decode() must return images of the dataset's shape {(n, *shape)}, "
                                f"but it gave {got}.")
        if not torch.isfinite(rec).all() or rec.min() < -1e-4 or rec.max() > 1 + 1e-4:
            raise OwnModelError(f"{name}: decode() must return finite pixel values in [0, 1] "
                                f"(got {float(rec.min()):.3g} to {float(rec.max()):.3g}); end it with a sigmoid.")
    cfg = OwnConfig(latent_dim=d, image_shape=shape, stochastic=logvar is not None, source=name)  # type: ignore[arg-type]
    return OwnModel(module, cfg, {"dataset": {"name": dataset}, "own": True})


def load_module(spec: str, weights: str | Path | None = None) -> tuple[Any, str]:
    """``FILE.py:FUNCTION`` -> the module FUNCTION() builds (the user's code runs here), with the tensors
    of ``weights`` (a .safetensors file) loaded into it; and a fingerprint of code + weights (SHA-256)."""
    path_s, sep, func = spec.rpartition(":")
    if not sep or not path_s or not func.isidentifier():
        raise OwnModelError(f"{spec}: give the module as FILE.py:FUNCTION (a function that returns the torch module).")
    path = Path(path_s).expanduser()
    if not path.is_file():
        raise OwnModelError(f"{path}: no such file.")
    digest = hashlib.sha256(path.read_bytes())
    mod_name = f"latent_explorer_own_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
    try:
        spec_ = importlib.util.spec_from_file_location(mod_name, path)
        if spec_ is None or spec_.loader is None:
            raise OwnModelError(f"{path}: is not a Python file.")
        mod = importlib.util.module_from_spec(spec_)
        sys.modules[mod_name] = mod
        spec_.loader.exec_module(mod)
        build = getattr(mod, func, None)
        if not callable(build):
            raise OwnModelError(f"{path}: has no function {func}().")
        module = build()
    except OwnModelError:
        raise
    except Exception as e:  # noqa: BLE001 - the user's code: any failure is one sentence
        raise OwnModelError(f"{path}: running {func}() failed ({type(e).__name__}: {e}).") from None
    if weights is not None:
        digest.update(_load_weights(module, Path(weights)))
    return module, digest.hexdigest()


def _load_weights(module: Any, weights: Path) -> bytes:
    """safetensors only (never a pickle); the file's own SHA-256 (for the means cache's key)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    if not weights.is_file():
        raise OwnModelError(f"{weights}: no such file.")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError, ValueError) as e:
        raise OwnModelError(f"{weights}: is not a readable .safetensors file ({e}).") from None
    try:
        missing, unexpected = module.load_state_dict(tensors, strict=False)
    except RuntimeError as e:  # shape mismatches
        first = str(e).strip().splitlines()[-1].strip()
        raise OwnModelError(f"{weights}: its tensors do not fit the module ({first}).") from None
    if missing or unexpected:
        parts = ([f"missing {', '.join(missing[:4])}"] if missing else []) + \
                ([f"unexpected {', '.join(unexpected[:4])}"] if unexpected else [])
        raise OwnModelError(f"{weights}: its tensors do not fit the module ({'; '.join(parts)}).")
    with open(weights, "rb") as f:
        return hashlib.file_digest(f, "sha256").digest()


def fingerprint(module: Any) -> str:
    """A SHA-256 of a module's class and weights (the means cache's key for a module passed from a script)."""
    import torch

    h = hashlib.sha256(f"{type(module).__module__}.{type(module).__qualname__}".encode())
    for k, t in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(t.detach().to(torch.float32).contiguous().cpu().numpy().tobytes())
    return h.hexdigest()


def open_own(module: Any, dataset: str, split: str | None = None, data_dir: str | None = None, *,
             source: str = "", sha256: str | None = None, path: str | Path | None = None,
             progress: Any = None, cancel: Any = None, threads: int | None = None, cache: Any = None) -> Any:
    """A session (explorer.core.session.Session) for a user's module over ``dataset``: the module checked on
    its images (:func:`wrap`), the means encoded (or taken from the means cache, keyed by ``sha256``: the
    code and weights' fingerprint), the decode / encode functions built. Runs on the open worker's thread."""
    from explorer.core import torch_gate
    from explorer.core.session import Session, SessionError, encode_missing_means, look_up_means
    from training.data import DatasetError, load_dataset

    torch = torch_gate.import_torch()
    if threads is not None:
        torch.set_num_threads(threads)
    say = progress or (lambda stage, done, total: None)
    say("loading data", 0, 1)
    try:
        ds = load_dataset(dataset, split or "test", data_dir=data_dir, uint8=True)
    except DatasetError as e:
        raise SessionError(str(e)) from None
    own = wrap(module, ds.images, source=source, dataset=ds.name)
    sha = sha256 or fingerprint(module)
    where = Path(path) if path is not None else Path(source.partition(":")[0] or _name(module))
    s = Session(where, own, own.metadata, own.config.to_dict(), ds.name, ds.images, ds.labels, list(ds.label_names),
                sha, split=ds.split)
    cache_, key = look_up_means(s, cache)
    encode_missing_means(s, own, cache_, key, say, cancel, 2000)
    return s.prepare()
