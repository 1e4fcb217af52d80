"""The one base class for errors a user should see as a single sentence (never a traceback).

Every user-facing error in the project (bad checkpoint, bad dataset, bad scene, bad config, a
training failure) derives from :class:`UserError`. The CLI and the app catch ``UserError`` and show
``str(err)``; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os


class UserError(ValueError):
    """A problem with the user's input or environment, described in one sentence naming the file."""


class TrainError(UserError):
    """Training cannot go on; the message says why and what was kept."""


class PeerLost(UserError):
    """Under torchrun, another process of the run ended (or torchrun ended this one); every rank says so."""


def rank_message(e: UserError, environ: dict[str, str] | None = None) -> str | None:
    """What this process prints for ``e`` under torchrun: rank 0 (and any process without torchrun) its
    message; another machine's first rank the message prefixed with its rank (it may fail for a reason of
    its own: its files, its GPU); the other ranks nothing, as they fail alike (one line per machine).
    :class:`PeerLost` is every rank's own news, always printed."""
    env = os.environ if environ is None else environ
    rank, local = env.get("RANK", "0"), env.get("LOCAL_RANK", "0")
    if rank == "0" or isinstance(e, PeerLost):
        return str(e)
    return f"rank {rank}: {e}" if local == "0" else None
