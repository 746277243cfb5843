"""The four phases, what each routes where, and which transitions are allowed (pure logic)."""

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
# Child container → its parent (V002 foreign keys): a child may not lead its parent.
PARENTS = {"GameSessions": "Accounts", "PlayerScenarioScores": "GameSessions"}


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
    parent = PARENTS.get(container)
    if parent is not None and index(target) > index(phases[parent]):
        raise PhaseTransitionRefused(
            f"{container} may not move to {target.value} ahead of its parent {parent} "
            f"({phases[parent].value}): foreign keys hold only inside PostgreSQL"
        )
    for child, child_parent in PARENTS.items():
        if child_parent == container and index(phases[child]) > index(target):
            raise PhaseTransitionRefused(
                f"{container} may not move back to {target.value} behind its child {child} "
                f"({phases[child].value}); move {child} back first"
            )


def is_forward(current: Phase, target: Phase) -> bool:
    return index(target) > index(current)
