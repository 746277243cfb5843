"""Retry a dead letter: bring its document's current version from the primary across.

Not the stored payload: it may be older than what the primary holds now. The primary's
current version (or tombstone) is applied version-guarded to the other store, exactly as
replication would; the letter is closed when that succeeds, or when the primary no longer
has the document at all (nothing is left to deliver).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mystira_data import catalog
from mystira_data.errors import InvalidDocument, NotFound
from mystira_data.polyglot.state.dead_letters import RelationalDeadLetters
from mystira_data.polyglot.write.guarded import current

if TYPE_CHECKING:
    from mystira_data.polyglot.layer import Polyglot


@dataclass(frozen=True)
class Redelivery:
    letter_id: int
    container: str
    entity_id: str
    delivered: bool  # False: the primary holds no such document any more

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.letter_id,
            "container": self.container,
            "entityId": self.entity_id,
            "delivered": self.delivered,
        }


async def retry_letter(poly: Polyglot, letter_id: int) -> Redelivery:
    """Deliver the letter's document again; `NotFound` if no such letter is open."""
    letters = RelationalDeadLetters(poly.raw_relational, "")
    letter = await letters.find(letter_id)
    if letter is None:
        raise NotFound("dead letters", str(letter_id))
    spec = catalog.get(letter.container)
    pk = (letter.document or {}).get(spec.pk_field)
    if pk is None:
        raise InvalidDocument("the dead letter holds no partition key", path=spec.pk_field)
    primary, _ = await poly.pair(letter.container)
    truth = await current(primary, letter.container, letter.entity_id, pk)
    if truth is not None:
        if primary is poly.documents:
            await poly.apply_to_relational(letter.container, truth)
        else:
            await poly.apply_to_documents(letter.container, truth)
    await letters.resolve(letter_id)
    return Redelivery(letter_id, letter.container, letter.entity_id, truth is not None)
