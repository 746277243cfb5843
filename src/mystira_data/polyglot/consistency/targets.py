"""Which containers a verify can compare: those whose phase keeps two live copies."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mystira_data.polyglot.phase.rules import route_for
from mystira_data.settings import Phase

if TYPE_CHECKING:
    from mystira_data.polyglot.layer import Polyglot


async def one_copy(poly: Polyglot, names: list[str]) -> dict[str, Phase]:
    """The containers of ``names`` whose phase keeps one live copy (nothing to compare)."""
    phases = {name: await poly.control.phase(name) for name in names}
    return {n: p for n, p in phases.items() if route_for(n, p).secondary is None}
