"""Cache lifetimes: the catalog's TTL class of a container, turned into an `Expiry`.

`Caching` configures the default (MEDIUM) sliding and absolute minutes; the other classes
scale them, so one setting moves all three: live game state is cached briefly because it
changes on every move, reference data long because it almost never changes.
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING

from mystira_data.cache.port import Expiry

if TYPE_CHECKING:
    from mystira_data.catalog import TtlClass
    from mystira_data.settings import Caching

SCALE: dict[str, float] = {"short": 0.25, "medium": 1.0, "long": 4.0}


def expiry_for(ttl_class: TtlClass | str, caching: Caching) -> Expiry:
    """Sliding and absolute expiry for ``ttl_class`` under ``caching``."""
    name = ttl_class.value if isinstance(ttl_class, Enum) else ttl_class
    scale = SCALE[name]
    return Expiry(
        absolute=caching.default_absolute_expiration_minutes * 60 * scale,
        sliding=caching.default_sliding_expiration_minutes * 60 * scale,
    )
