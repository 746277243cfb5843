"""One conditional write of a document: read it with its version, apply a change, replace it
only if nobody wrote in between; on a conflict read again and re-apply, a bounded number of
times. Two players' concurrent choices therefore both land, one after the other, instead of
the later write silently dropping the earlier one.

The version is the polyglot ``_version`` (the API's ETag), so the condition holds in every
phase, whichever store takes the write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from pydantic import BaseModel

from mystira_data.domain.codec import codec_for
from mystira_data.errors import ConcurrencyConflict, MystiraError
from mystira_data.polyglot.layer import GameData
from mystira_data.polyglot.write.guarded import version_of
from mystira_data.types import JsonDoc, PartitionKey

M = TypeVar("M", bound=BaseModel)
# Enough for a family at one screen tapping at once; past it the caller is told to retry.
DEFAULT_ATTEMPTS = 8


class WriteContended(MystiraError):
    """Every attempt of a conditional write met a newer version (HTTP 409: retry later)."""

    def __init__(self, container: str, id: str, attempts: int) -> None:
        super().__init__(f"{container}/{id} changed under {attempts} attempts; retry")
        self.container = container
        self.id = id
        self.attempts = attempts

    def __reduce__(self) -> tuple[type[WriteContended], tuple[str, str, int]]:
        return type(self), (self.container, self.id, self.attempts)


@dataclass(frozen=True)
class Target:
    """The document a conditional write changes."""

    container: str
    id: str
    partition_key: PartitionKey


async def update(
    repo: GameData,
    target: Target,
    model: type[M],
    change: Callable[[M], M],
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    expected_version: int | None = None,
    current: JsonDoc | None = None,
) -> JsonDoc:
    """``change`` applied to the stored document in one conditional replace.

    ``expected_version`` (a client's If-Match): one attempt only, a stale version is the
    caller's `ConcurrencyConflict` (412). ``current``: the document as already read, saving
    the first read. A change returning its input itself writes nothing.
    """
    codec = codec_for(model)
    tries = 1 if expected_version is not None else attempts
    for _ in range(tries):
        doc = current or await repo.read(target.container, target.id, target.partition_key)
        current = None
        version = version_of(doc)
        if expected_version is not None and version != expected_version:
            raise ConcurrencyConflict(
                f"{target.container}/{target.id} is at v{version}, expected v{expected_version}"
            )
        before = codec.decode(doc)
        after = change(before)
        if after is before:
            return doc
        try:
            return await repo.replace(
                target.container, codec.encode(after), expected_version=version
            )
        except ConcurrencyConflict:
            if expected_version is not None:
                raise
    raise WriteContended(target.container, target.id, tries)
