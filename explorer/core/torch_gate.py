"""torch, imported once and published only when its import has finished. Qt-free.

Why (issue 23, item 1): ``import torch`` takes 2-3 s on the open worker's thread (a light open imports it
after the first image). During that time ``sys.modules["torch"]`` already holds the *partially initialised*
module, so a decode worker that asked ``sys.modules.get("torch")`` and called ``torch.set_num_threads`` on it
died with ``AttributeError: partially initialized module 'torch'``, and with it every later click.

The rule: explorer code imports torch for the first time through :func:`import_torch` (on a worker thread,
never the GUI's), and code that only wants to *use* torch if it is there (set a worker's thread count)
asks :func:`loaded`, which never imports, never waits, and answers None until an import has finished.
"""

from __future__ import annotations

import sys
import threading
from types import ModuleType

_ready = threading.Event()  # set once torch is fully imported (by import_torch, or seen complete by loaded)
_lock = threading.Lock()


def import_torch() -> ModuleType:
    """Import torch on this thread (blocking: seconds the first time) and publish it as ready."""
    with _lock:
        import torch
    _ready.set()
    return torch


def _initialising(module: ModuleType) -> bool:
    """True while the module's own import is still running (CPython marks its spec during exec_module)."""
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def loaded() -> ModuleType | None:
    """torch if an import of it has finished, else None. Never imports and never waits.

    A module in ``sys.modules`` whose import is still running on another thread is *not* loaded. (A torch
    imported outside :func:`import_torch`, e.g. by a script before it opened the app, counts once complete.)
    """
    if _ready.is_set():
        return sys.modules.get("torch")
    module = sys.modules.get("torch")
    if module is None or _initialising(module):
        return None
    _ready.set()
    return module


def is_ready() -> bool:
    return loaded() is not None
