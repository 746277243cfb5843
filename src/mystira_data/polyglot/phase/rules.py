"""The four phases, what each routes where, and which transitions are allowed (pure logic).

Which steps need a fenced switch (see `needs_fence` and `phase.control`): only those that
change the primary. ``_version`` numbers are handed out by one store, the primary, with
conditional writes, so while every instance writes one primary no two acknowledged writes
of an id can share a version, whatever each instance believes about the secondary. A step
that only adds or removes the secondary keeps that property: an instance still on the old
phase for up to the refresh interval either skips the secondary (the write is still in the
primary's durable log, which replication — or at the latest the catch-up before the next
switch, which always runs — copies over) or still writes a secondary that is no longer read
(version-guarded, and overwritten from the log before that store is read again). When the
primary changes, two instances could hand out the same version from two stores; the
version-guarded applies then skip each other and one acknowledged write is lost. Those
steps pause writes everywhere before they flip.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from mystira_data import catalog
from mystira_data.errors import PhaseTransitionRefused
from mystira_data.settings import Phase

ORDER: tuple[Phase, ...] = (
    Phase.COSMOS_ONLY,
    Phase.DUAL_WRITE_COSMOS_READ,
    Phase.DUAL_WRITE_POSTGRES_READ,
    Phase.POSTGRES_ONLY,
)
# Forward moves into these make the relational store authoritative: they need proof first.
GUARDED = frozenset({Phase.DUAL_WRITE_POSTGRES_READ, Phase.POSTGRES_ONLY})


class Side(StrEnum):
    DOCUMENT = "document"
    RELATIONAL = "relational"


@dataclass(frozen=True)
class Routing:
    primary: Side
    secondary: Side | None
    reads: Side


ROUTES: dict[Phase, Routing] = {
    Phase.COSMOS_ONLY: Routing(Side.DOCUMENT, None, Side.DOCUMENT),
    Phase.DUAL_WRITE_COSMOS_READ: Routing(Side.DOCUMENT, Side.RELATIONAL, Side.DOCUMENT),
    Phase.DUAL_WRITE_POSTGRES_READ: Routing(Side.RELATIONAL, Side.DOCUMENT, Side.RELATIONAL),
    Phase.POSTGRES_ONLY: Routing(Side.RELATIONAL, None, Side.RELATIONAL),
}


# A split container's document part lives in the document store in every phase, so in
# PostgresOnly the document store stays its secondary: writes carry the whole document there
# (from the outbox when it is down), and reads join the two parts (`write.split`).
_SPLIT_POSTGRES_ONLY = ROUTES[Phase.DUAL_WRITE_POSTGRES_READ]


def route_for(container: str, phase: Phase) -> Routing:
    """``container``'s routing in ``phase``: `ROUTES`, but for a split container in
    PostgresOnly the document store is still written (it holds the document part)."""
    if phase is Phase.POSTGRES_ONLY and catalog.get(container).is_split:
        return _SPLIT_POSTGRES_ONLY
    return ROUTES[phase]


def index(phase: Phase) -> int:
    return ORDER.index(phase)


def check_allowed(container: str, phase: Phase) -> None:
    """Containers without a relational mapping only ever run CosmosOnly."""
    spec = catalog.get(container)
    if phase is not Phase.COSMOS_ONLY and not spec.is_relational:
        raise PhaseTransitionRefused(
            f"{container} has no relational mapping ({spec.placement.value}); it stays CosmosOnly"
        )


def check_step(container: str, current: Phase, target: Phase) -> None:
    """One step at a time, in either direction."""
    check_allowed(container, target)
    if abs(index(target) - index(current)) != 1:
        raise PhaseTransitionRefused(
            f"{container}: {current.value} → {target.value} skips a phase; move one step at a time"
        )


def check_parent_order(container: str, target: Phase, phases: dict[str, Phase]) -> None:
    """A child may not be further along than its parent; a parent may not fall behind a child."""
    link = catalog.get(container).parent
    if link is not None and index(target) > index(phases[link.container]):
        raise PhaseTransitionRefused(
            f"{container} may not move to {target.value} ahead of its parent {link.container} "
            f"({phases[link.container].value}): foreign keys hold only inside PostgreSQL"
        )
    for child, _ in catalog.children_of(container):
        if index(phases[child.name]) > index(target):
            raise PhaseTransitionRefused(
                f"{container} may not move back to {target.value} behind its child {child.name} "
                f"({phases[child.name].value}); move {child.name} back first"
            )


def is_forward(current: Phase, target: Phase) -> bool:
    return index(target) > index(current)


def needs_proof(current: Phase, target: Phase) -> bool:
    """Forward into a guarded phase, or any step that moves reads to the other store (the
    store that will answer must be shown complete, whichever the direction)."""
    forward = is_forward(current, target) and target in GUARDED
    return forward or ROUTES[current].reads is not ROUTES[target].reads


def needs_fence(current: Phase, target: Phase) -> bool:
    """True when the step changes the primary (DualWriteCosmosRead ↔ DualWritePostgresRead)."""
    return ROUTES[current].primary is not ROUTES[target].primary
