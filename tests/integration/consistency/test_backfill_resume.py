"""A backfill stopped after page 2 resumes at page 3 and ends exact (deterministic: the run
stops itself through ``max_pages``, no kill, no sleep)."""

from __future__ import annotations

import pytest

from mystira_data.polyglot.consistency.backfill import DONE, backfill, checkpoint_name
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.state.verify_log import read_checkpoint
from tests.integration.consistency.data import live_count, seed

SESSIONS, PAGE = 1_000, 200


@pytest.mark.parametrize("pair", ["embedded", "sqlite-postgres", "cosmos-postgres"], indirect=True)
async def test_backfill_stopped_after_page_two_resumes_exactly(poly: Polyglot) -> None:
    await seed(poly.stores.documents, SESSIONS)
    assert (await backfill(poly, "Accounts", Side.RELATIONAL)).done

    first = await backfill(poly, "GameSessions", Side.RELATIONAL, batch_size=PAGE, max_pages=2)

    assert (first.read, first.written, first.done, first.resumed) == (2 * PAGE, 2 * PAGE,
                                                                      False, False)
    assert await live_count(poly.relational, "GameSessions") == 2 * PAGE
    saved = await read_checkpoint(poly.raw_relational, "GameSessions",
                                  checkpoint_name(Side.RELATIONAL))
    assert saved not in (None, DONE)

    rest = await backfill(poly, "GameSessions", Side.RELATIONAL, batch_size=PAGE)

    assert rest.resumed
    assert rest.done
    assert (rest.read, rest.written, rest.quarantined) == (SESSIONS - 2 * PAGE,
                                                           SESSIONS - 2 * PAGE, [])
    assert await live_count(poly.relational, "GameSessions") == SESSIONS
    report = await poly.verify("GameSessions", settle_s=0)
    assert (report.clean, report.scanned) == (True, SESSIONS)
