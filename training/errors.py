"""The one base class for errors a user should see as a single sentence (never a traceback).

Every user-facing error in the project (bad checkpoint, bad dataset, bad scene, bad config, a
training failure) derives from :class:`UserError`. The CLI and the app catch ``UserError`` and show
``str(err)``; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class UserError(ValueError):
    """A problem with the user's input or environment, described in one sentence naming the file."""


class TrainError(UserError):
    """Training cannot go on; the message says why and what was kept."""


class PeerLost(UserError):
    """Under torchrun, another process of the run ended (or torchrun ended this one); every rank says so."""
