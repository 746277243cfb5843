"""The game flow (sessions, choices, completion, badges, progress) over the polyglot
repository, for the API and any other caller; the rules themselves are pure (`rules`)."""

from mystira_data.play.conditional import DEFAULT_ATTEMPTS, Target, WriteContended, update
from mystira_data.play.rules import PlayRefused
from mystira_data.play.service import Completion, PlayService

__all__ = [
    "DEFAULT_ATTEMPTS",
    "Completion",
    "PlayRefused",
    "PlayService",
    "Target",
    "WriteContended",
    "update",
]
