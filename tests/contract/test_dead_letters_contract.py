"""`DeadLetters`: the SQL store (SQLite, PostgreSQL) and its memory twin record alike.

A change is one open letter however often a run meets it; the listing is newest first per
container, bounded, and records what PostgreSQL can hold (NULs escaped, the reason cut).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mystira_data.polyglot.replication.dead_letters import (
    REASON_LIMIT,
    DeadLetter,
    DeadLetters,
    MemoryDeadLetters,
)
from mystira_data.polyglot.state.dead_letters import RelationalDeadLetters
from mystira_data.relational import RelationalStore

SOURCE = "change-feed"


@pytest.fixture
def letters(state_backend: RelationalStore | None) -> DeadLetters:
    if state_backend is None:
        return MemoryDeadLetters(source=SOURCE)
    return RelationalDeadLetters(state_backend, SOURCE)


def letter(
    id: str, version: int = 1, container: str = "Accounts", error: str = "bad"
) -> DeadLetter:
    doc = {"id": id, "_version": version}
    return DeadLetter(container, id, version, error, 5, datetime.now(UTC), doc)


async def test_nothing_open_at_first(letters: DeadLetters) -> None:
    assert await letters.open_count() == {}
    assert await letters.open_letters() == {}


async def test_a_change_is_one_open_letter_however_often_it_is_added(letters: DeadLetters) -> None:
    await letters.add(letter("a1", 3, error="InvalidDocument: email"))
    await letters.add(letter("a1", 3, error="again"))
    await letters.add(letter("a1", 4))
    await letters.add(letter("s1", 1, container="GameSessions"))
    assert await letters.open_count() == {"Accounts": 2, "GameSessions": 1}
    listed = await letters.open_letters()
    assert listed["Accounts"] == [
        {"id": "a1", "version": 4, "source": SOURCE, "reason": "bad"},
        {"id": "a1", "version": 3, "source": SOURCE, "reason": "InvalidDocument: email"},
    ]
    assert [x["id"] for x in listed["GameSessions"]] == ["s1"]


async def test_the_listing_keeps_the_newest_per_container(letters: DeadLetters) -> None:
    for n in range(5):
        await letters.add(letter(f"a{n}"))
    listed = await letters.open_letters(limit=2)
    assert [x["id"] for x in listed["Accounts"]] == ["a4", "a3"]
    assert await letters.open_count() == {"Accounts": 5}


async def test_nul_characters_and_long_reasons_are_recorded_as_stored(
    letters: DeadLetters,
) -> None:
    await letters.add(letter("a\u0000b", error="x\u0000" + "y" * (REASON_LIMIT + 10)))
    await letters.add(letter("a\u0000b", error="the same change"))
    (only,) = (await letters.open_letters())["Accounts"]
    assert only["id"] == "a\\u0000b"
    assert only["reason"] == ("x\\u0000" + "y" * REASON_LIMIT)[:REASON_LIMIT]
