"""Verify's segment-checksum shortcut on PostgreSQL (SQLite document store as the primary).

* Python's rendering of a document's row and PostgreSQL's rendering of the stored row agree
  on awkward values (floats with exponents, -0.0, control characters, astral characters,
  microseconds, days in durations, "" foreign keys) — otherwise the shortcut never helps;
* differences written straight into PostgreSQL rows with SQL (``_version`` untouched), in
  plain columns, timestamps, intervals and inside JSONB, are all found, and nothing else.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from mystira_data import catalog
from mystira_data.bootstrap import open_platform
from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.consistency.row_text import RowMaker, render, row_text_sql
from mystira_data.polyglot.consistency.segments import SegmentChecksums
from mystira_data.polyglot.consistency.verify import VerifyReport, verify
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.write.repository import validated
from mystira_data.relational.mapping import mapping_for
from mystira_data.settings import Phase, load_settings
from mystira_data.types import JsonDoc
from tests.integration.consistency.data import account, account_id, put_all
from tests.integration.relational.conftest import empty_all

ACCOUNTS, SESSIONS = 5, 400
ODD_FLOATS = [1e-05, -0.0, 1e20, 0.1, -1.5, 3.0, 2.5e-300, -6.353128725677948e-05, 123456.789]
ODD_TEXT = ['a "quoted" \\ text', "line\nbreak\ttab", "ctrl\u0001\u001f", "Zoë 🙂 ✓", "", "e-05"]


def rich_session(i: int, rng: random.Random) -> JsonDoc:
    """A GameSession with nested parts, awkward floats and strings, as the app stores it."""
    axes = {
        axis: {"axis": axis, "currentValue": rng.choice(ODD_FLOATS), "startingValue": 0.0,
               "history": [], "lastUpdated": f"2026-02-0{1 + i % 9}T10:00:00.{i:06d}Z"}
        for axis in rng.sample(["honesty", "bravery", "kindness"], 2)
    }  # fmt: skip
    choices = [
        {"sceneId": f"scene-{k}", "choiceText": rng.choice(ODD_TEXT), "playerId": "p1",
         "compassAxis": "honesty", "compassDelta": rng.choice(ODD_FLOATS),
         "chosenAt": f"2026-02-01T10:{k:02d}:00.000001Z"}
        for k in range(rng.randrange(0, 5))
    ]  # fmt: skip
    body = {
        "id": f"gs-{i:05d}", "accountId": account_id(i % ACCOUNTS), "scenarioId": f"scen-{i % 7}",
        "profileId": rng.choice(["", f"prof-{i}"]), "playerNames": rng.sample(ODD_TEXT, 2),
        "status": rng.choice(["InProgress", "Completed", "Paused"]),
        "currentSceneId": f"scene-{i % 9}", "choiceHistory": choices, "compassValues": axes,
        "startTime": f"2026-01-01T00:00:00.{i:06d}Z",
        "endTime": None if i % 3 else "2026-01-02T00:00:00.000000Z",
        "elapsedTime": rng.choice(["00:05:00", "1.02:03:04.5000000", "00:00:00.0000010"]),
        "isPaused": i % 4 == 0, "pausedAt": None if i % 4 else "2026-01-01T01:00:00.000000Z",
        "sceneCount": len(choices), "targetAgeGroup": rng.choice(["6-9", "10-12"]),
        "selectedCharacterId": None if i % 2 else "hero-1",
    }  # fmt: skip
    return {**validated("GameSessions", body), "_version": 1 + i % 3}


@pytest.fixture
async def sqlite_pg(polyglot_pg_url: str, tmp_path: Path) -> AsyncIterator[Polyglot]:
    """SQLite document store (primary) + PostgreSQL, GameSessions in DualWriteCosmosRead."""
    settings = load_settings(
        data_dir=tmp_path / "data", ConnectionStrings={"PostgreSql": polyglot_pg_url}
    )
    async with open_platform(settings, refresh_s=0, provision=True) as poly:
        await empty_all(poly.raw_relational)
        for container in ("Accounts", "GameSessions"):
            await poly.control.set(container, Phase.DUAL_WRITE_COSMOS_READ)
        yield poly


async def seed(poly: Polyglot) -> dict[str, JsonDoc]:
    rng = random.Random(11)
    sessions = {d["id"]: d for d in (rich_session(i, rng) for i in range(SESSIONS))}
    await put_all(poly.stores.documents, "Accounts", [account(i) for i in range(ACCOUNTS)])
    await put_all(poly.stores.documents, "GameSessions", sessions.values())
    for container in ("Accounts", "GameSessions"):
        await backfill(poly, container, Side.RELATIONAL)
    return sessions


async def stored_row_text(poly: Polyglot, container: str, doc_id: str) -> str:
    mapping = mapping_for(container)
    maker = RowMaker(mapping)
    stmt = sa.select(row_text_sql(mapping, maker.columns)).where(mapping.table.c.id == doc_id)
    async with poly.raw_relational.reading() as conn:
        return str((await conn.execute(stmt)).scalar_one())


async def test_python_and_postgres_render_stored_rows_alike(sqlite_pg: Polyglot) -> None:
    sessions = await seed(sqlite_pg)
    maker = RowMaker(mapping_for("GameSessions"))
    direct = 0
    for doc_id in sorted(sessions)[:80]:
        doc = await sqlite_pg.stores.documents.read(
            "GameSessions", doc_id, sessions[doc_id]["accountId"]
        )
        in_sql = await stored_row_text(sqlite_pg, "GameSessions", doc_id)
        assert render(maker.mapping.to_row(doc), maker.columns) == in_sql, doc_id
        cells = maker.direct(doc)
        direct += cells is not None
        assert maker.digest(doc) == RowMaker.md5(in_sql), doc_id
    assert direct == 80  # stored documents take the codec-free path

    # An empty foreign key is NULL in its column and "" in _extra (PlayerScenarioScores).
    score = {**validated("PlayerScenarioScores", {"id": "sc-1", "profileId": "prof-1",
             "gameSessionId": "", "axisScores": {"honesty": 1e-07, "bravery": -0.0}}),
             "_version": 2}  # fmt: skip
    await sqlite_pg.raw_relational.upsert("PlayerScenarioScores", score)
    scores = RowMaker(mapping_for("PlayerScenarioScores"))
    in_sql = await stored_row_text(sqlite_pg, "PlayerScenarioScores", "sc-1")
    assert scores.direct(score) is not None
    assert scores.digest(score) == RowMaker.md5(in_sql)


INJECTIONS = [  # (SQL SET clause, what it changes), applied to distinct rows, _version kept
    ("current_scene_id = 'tampered'", "currentSceneId"),
    ("scene_count = scene_count + 1", "sceneCount"),
    ("is_paused = NOT is_paused", "isPaused"),
    ("start_time = start_time + interval '1 microsecond'", "startTime"),
    ("elapsed_time = elapsed_time + interval '1 second'", "elapsedTime"),
    ("end_time = '2030-01-01T00:00:00Z'", "endTime"),
    ("player_names = player_names || '[\"Extra\"]'::jsonb", "playerNames"),
    (
        "compass_values = jsonb_set(compass_values, "
        "ARRAY[(SELECT min(k) FROM jsonb_object_keys(compass_values) k), 'currentValue'], "
        "'0.4375')",
        "compassValues",
    ),
    (
        "compass_values = jsonb_set(compass_values, "
        "ARRAY[(SELECT min(k) FROM jsonb_object_keys(compass_values) k), 'lastUpdated'], "
        "'\"2020-01-01T00:00:00.000000Z\"')",
        "compassValues",
    ),
    (
        "choice_history = jsonb_set(choice_history, '{0,choiceText}', '\"tampered\"')",
        "choiceHistory",
    ),
    ("_deleted = true", "_deleted"),
    ("choice_history = '[]'::jsonb, scene_count = 0", "choiceHistory"),
]


async def inject(poly: Polyglot, sessions: dict[str, JsonDoc]) -> dict[str, str]:
    """One injection per chosen row (spread over the id range), plus one deleted row."""
    rng = random.Random(5)
    with_choices = sorted(i for i, d in sessions.items() if d["choiceHistory"])
    victims = rng.sample(with_choices, len(INJECTIONS))  # some injections need a history
    expected: dict[str, str] = {}
    async with poly.raw_relational.transaction() as conn:
        for (assignment, _), doc_id in zip(INJECTIONS, victims, strict=True):
            result = await conn.execute(
                sa.text(f"UPDATE game_sessions SET {assignment} WHERE id = :id"), {"id": doc_id}
            )
            assert result.rowcount == 1
            expected[doc_id] = "different"
        gone = rng.choice(sorted(set(sessions) - set(victims)))
        await conn.execute(sa.text("DELETE FROM game_sessions WHERE id = :id"), {"id": gone})
        expected[gone] = "missing"
    return expected


async def run(poly: Polyglot, segments: SegmentChecksums | None) -> VerifyReport:
    primary, secondary = await poly.pair("GameSessions")
    pk = catalog.get("GameSessions").pk_field
    return await verify("GameSessions", primary, secondary, pk, settle_s=0, segments=segments)


async def test_shortcut_finds_every_difference_written_into_postgres_rows(
    sqlite_pg: Polyglot,
) -> None:
    sessions = await seed(sqlite_pg)
    clean = await sqlite_pg.verify("GameSessions", settle_s=0)  # the default: shortcut on
    assert clean.clean
    assert clean.shortcut is not None
    assert clean.shortcut["clean_documents"] == SESSIONS  # every segment matched at once
    assert clean.shortcut["compared_ranges"] == 0

    expected = await inject(sqlite_pg, sessions)
    segments = SegmentChecksums(
        sqlite_pg.raw_relational, sqlite_pg.documents, segment=64, leaf=4
    )  # small: many segments, deep bisection
    report = await run(sqlite_pg, segments)
    found = {d.id: d.kind for d in report.differences}
    assert len(found) == len(report.differences)
    assert found == expected  # all of them, and nothing else
    assert report.scanned == SESSIONS
    stats = segments.stats
    assert stats.segments == SESSIONS // 64 + 1
    assert stats.compared_ranges <= len(expected)  # each compared range held a difference
    assert stats.clean_documents >= SESSIONS - 4 * len(expected)  # the rest: by checksum

    paths = {d.id: d.paths for d in report.differences if d.kind == "different"}
    wanted = {doc_id: what for (_, what), doc_id in zip(INJECTIONS, expected, strict=False)}
    for doc_id, what in wanted.items():
        assert any(p.split(".")[0].split("[")[0] == what for p in paths[doc_id]), (what, paths)

    plain = await run(sqlite_pg, None)  # the row-by-row verify agrees
    assert {d.id: (d.kind, d.paths) for d in plain.differences} == {
        d.id: (d.kind, d.paths) for d in report.differences
    }


async def test_shortcut_sees_rows_only_postgres_has_beyond_the_last_document(
    sqlite_pg: Polyglot,
) -> None:
    await seed(sqlite_pg)
    late: Any = {**rich_session(SESSIONS + 1, random.Random(1)), "id": "zz-only-in-postgres"}
    await sqlite_pg.raw_relational.upsert("GameSessions", late)
    report = await run(
        sqlite_pg, SegmentChecksums(sqlite_pg.raw_relational, sqlite_pg.documents, segment=50)
    )
    assert [(d.id, d.kind) for d in report.differences] == [("zz-only-in-postgres", "extra")]


async def test_shortcut_tells_its_progress_as_each_segment_is_settled(
    sqlite_pg: Polyglot,
) -> None:
    await seed(sqlite_pg)
    told: list[int] = []
    primary, secondary = await sqlite_pg.pair("GameSessions")
    segments = SegmentChecksums(sqlite_pg.raw_relational, sqlite_pg.documents, segment=100)
    report = await verify(
        "GameSessions", primary, secondary, catalog.get("GameSessions").pk_field,
        settle_s=0, segments=segments, on_scanned=told.append,
    )  # fmt: skip
    assert report.clean
    # Four clean segments of 100, the empty range after the last id, then the end.
    assert told == [100, 200, 300, 400, 400, 400] == [*told[:-1], report.scanned]
