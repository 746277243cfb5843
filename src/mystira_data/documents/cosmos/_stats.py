"""Per-operation request statistics of a Cosmos store: calls, HTTP requests, RU, SDK retries.

The SDK's client-wide ``raw_response_hook`` sees every HTTP response, retries included. Which
store operation a response belongs to travels in a context variable that the store sets
around each SDK call; asyncio copies it into any task the SDK spawns, so concurrent operations
on one client never mix their numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import Any

REQUEST_CHARGE = "x-ms-request-charge"
# Statuses the SDK answers by retrying (until its retry budget for them is spent):
# timeout, gone (partition moved), throttled, retry-with, service unavailable.
RETRIED_STATUSES = frozenset({408, 410, 429, 449, 503})


@dataclass
class OpStats:
    """Totals for one kind of store operation (``read``, ``query``, ``changes``, …)."""

    calls: int = 0
    requests: int = 0  # HTTP round trips, including metadata reads, pages and retries
    request_charge: float = 0.0  # request units, as the service billed them
    retries: int = 0  # responses the SDK retried (see RETRIED_STATUSES)
    errors: int = 0  # calls that ended in an error


_current: ContextVar[OpStats | None] = ContextVar("mystira_cosmos_op", default=None)


class CosmosStats:
    """Counters per operation name; read with `snapshot`, e.g. for the bench command."""

    def __init__(self) -> None:
        self._ops: dict[str, OpStats] = {}

    def snapshot(self) -> dict[str, OpStats]:
        return {name: replace(op) for name, op in self._ops.items()}

    @property
    def request_charge(self) -> float:
        return sum(op.request_charge for op in self._ops.values())

    def reset(self) -> None:
        self._ops.clear()

    @contextmanager
    def track(self, name: str) -> Iterator[OpStats]:
        """Attribute every HTTP response inside the block to operation ``name``."""
        op = self._ops.setdefault(name, OpStats())
        op.calls += 1
        token = _current.set(op)
        try:
            yield op
        except BaseException:
            op.errors += 1
            raise
        finally:
            _current.reset(token)

    def on_response(self, response: Any) -> None:
        """The client's ``raw_response_hook``; gets an azure-core ``PipelineResponse``."""
        op = _current.get()
        if op is None:  # SDK housekeeping outside any store call (e.g. endpoint refresh)
            op = self._ops.setdefault("other", OpStats())
        http = response.http_response
        op.requests += 1
        op.request_charge += _charge(http.headers.get(REQUEST_CHARGE))
        if http.status_code in RETRIED_STATUSES:
            op.retries += 1


def _charge(header: str | None) -> float:
    try:
        return float(header) if header else 0.0
    except ValueError:
        return 0.0
