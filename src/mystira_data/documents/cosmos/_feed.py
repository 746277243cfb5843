"""Change-feed plumbing for the Cosmos store: feed-range ids, checkpoints, one page of changes.

A feed range id is the SDK's feed-range dict as compact JSON; a checkpoint is the SDK's own
change-feed continuation (base64 JSON holding the container, range and LSN etag). Both are
opaque to callers and checked here before the SDK sees them, so a bad one is `InvalidQuery`.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from azure.core.async_paging import AsyncPageIterator
from azure.cosmos.aio import ContainerProxy

from mystira_data.errors import InvalidQuery

_ETAG = "etag"


def feed_range_id(feed_range: Mapping[str, Any]) -> str:
    return json.dumps(feed_range, sort_keys=True, separators=(",", ":"))


def parse_feed_range(feed_range: str) -> dict[str, Any]:
    try:
        parsed = json.loads(feed_range)
    except (TypeError, ValueError) as exc:
        raise InvalidQuery(f"unknown feed range {feed_range!r}") from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("Range"), dict):
        raise InvalidQuery(f"unknown feed range {feed_range!r}")
    return parsed


def check_checkpoint(checkpoint: str | None) -> None:
    """A checkpoint must be a token this store handed out (base64 of a JSON object)."""
    if checkpoint is None:
        return
    try:
        state = json.loads(base64.b64decode(checkpoint.encode(), validate=True))
    except (AttributeError, binascii.Error, ValueError) as exc:
        raise InvalidQuery("malformed change-feed checkpoint") from exc
    if not isinstance(state, dict) or "continuation" not in state:
        raise InvalidQuery("malformed change-feed checkpoint")


async def read_changes(
    container: ContainerProxy,
    feed_range: dict[str, Any],
    checkpoint: str | None,
    max_items: int,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of changes after ``checkpoint`` and the checkpoint to resume from."""
    seen: list[Mapping[str, Any]] = []
    options: dict[str, Any] = {"max_item_count": max_items}
    if checkpoint is None:  # a continuation carries its own range and start
        options.update(feed_range=feed_range, start_time="Beginning")
    feed = container.query_items_change_feed(
        response_hook=lambda headers, _: seen.append(headers), **options
    )
    pages: AsyncPageIterator[dict[str, Any]] = feed.by_page(checkpoint)  # type: ignore[assignment]
    try:
        items = await _first_page(pages)
    except (ValueError, KeyError) as exc:  # how the SDK says a token does not fit
        raise InvalidQuery(f"change-feed checkpoint not usable here: {exc}") from exc
    if items:
        return items, pages.continuation_token
    # An empty page (304) ends the SDK pager before it moves its token; the SDK still wrote
    # the advanced continuation into that response's etag header.
    return [], _last_etag(seen) or checkpoint


async def _first_page(pages: AsyncIterator[AsyncIterator[dict[str, Any]]]) -> list[dict[str, Any]]:
    async for page in pages:
        return [item async for item in page]
    return []


def _last_etag(seen: list[Mapping[str, Any]]) -> str | None:
    etag = seen[-1].get(_ETAG) if seen else None
    return etag if isinstance(etag, str) else None
