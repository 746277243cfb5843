"""Verify reports exactly the differences injected behind the repository's back, with the
right kind and field paths (top-level and nested, written into either store); repair then makes
the stores agree again. Runs on every pair, the embedded one included."""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Callable
from typing import Any

from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.consistency.repair import repair
from mystira_data.polyglot.layer import Polyglot
from mystira_data.polyglot.phase.rules import Side
from mystira_data.polyglot.write.repository import validated
from mystira_data.settings import Phase
from mystira_data.types import JsonDoc
from tests.integration.consistency.data import (
    CONTAINERS,
    START,
    account,
    by_id,
    put_all,
    session,
)

ACCOUNTS, SESSIONS = 12, 150
# Ids that sort differently by code point than by a natural-language collation; verify
# merge-joins both stores by id, so their orders must agree.
ODD_IDS = ["GS-Upper", "gs_under", "gs.dot", "gs-a-b", "gs-ab", "gsZ", "gs-é"]
TAMPER: dict[str, Callable[[random.Random], Any]] = {  # field path → a value no session has
    "currentSceneId": lambda rng: f"tampered-{rng.randrange(10**6)}",
    "sceneCount": lambda rng: 100 + rng.randrange(1000),
    "status": lambda rng: "Completed",
    "choiceHistory[1].choiceText": lambda rng: f"tampered-{rng.randrange(10**6)}",
    "choiceHistory[0].compassDelta": lambda rng: -10.5 - rng.randrange(100),
    "compassValues.honesty.currentValue": lambda rng: 20.25 + rng.randrange(100),
}
FIELDS = sorted(TAMPER)


def nested_session(i: int, accounts: int, *, id: str | None = None) -> JsonDoc:
    """A session with nested parts (a choice history, compass values), as the app stores it."""
    body = {k: v for k, v in session(i, accounts, id=id).items() if k != "_version"}
    body["choiceHistory"] = [
        {"sceneId": f"scene-{k}", "choiceText": f"choice {k}", "playerId": "p1",
         "compassAxis": "honesty", "compassDelta": 0.5 * k, "chosenAt": START}
        for k in range(2)
    ]  # fmt: skip
    body["compassValues"] = {
        "honesty": {"axis": "honesty", "currentValue": float(i % 4), "startingValue": 0.0,
                    "history": [], "lastUpdated": START},
    }  # fmt: skip
    return {**validated("GameSessions", body), "_version": 1}


def keys_of(path: str) -> list[Any]:
    """``a[1].b`` (the way verify names field paths) → ``["a", 1, "b"]``."""
    return [int(i) if i else k for k, i in re.findall(r"(\w+)|\[(\d+)\]", path)]


def walk(doc: Any, keys: list[Any]) -> Any:
    for key in keys:
        doc = doc[key]
    return doc


def at(doc: JsonDoc, path: str) -> Any:
    return walk(doc, keys_of(path))


def put(doc: JsonDoc, path: str, value: Any) -> None:
    *parents, last = keys_of(path)
    walk(doc, parents)[last] = value


async def test_verify_finds_exactly_the_injected_differences_and_repair_fixes_them(
    poly: Polyglot,
) -> None:
    for container in CONTAINERS:
        await poly.control.set(container, Phase.DUAL_WRITE_COSMOS_READ)
    docs, rel = poly.stores.documents, poly.raw_relational
    sessions = {s["id"]: s for s in (
        *(nested_session(i, ACCOUNTS) for i in range(SESSIONS)),
        *(nested_session(i, ACCOUNTS, id=odd) for i, odd in enumerate(ODD_IDS)),
    )}
    await put_all(docs, "Accounts", [account(i) for i in range(ACCOUNTS)])
    await put_all(docs, "GameSessions", sessions.values())
    for container in CONTAINERS:
        await backfill(poly, container, Side.RELATIONAL)
        assert (await poly.verify(container, settle_s=0)).clean, container

    rng = random.Random(7)
    victims = rng.sample(sorted(sessions), 30)
    expected: dict[str, str] = {}
    paths: dict[str, list[str]] = {}
    for n, doc_id in enumerate(victims):
        doc: dict[str, Any] = copy.deepcopy(sessions[doc_id])
        pk = doc["accountId"]
        match n % 5:
            case 0 | 1:  # a field changed in one store only (same _version): every field
                field = FIELDS[n // 5]  # once in each store, nested ones included
                put(doc, field, TAMPER[field](rng))
                await (rel if n % 5 == 0 else docs).upsert("GameSessions", doc)
                expected[doc_id], paths[doc_id] = "different", [field]
            case 2:  # row purged from the relational store: missing in the secondary
                await rel.purge("GameSessions", doc_id, pk)
                expected[doc_id] = "missing"
            case 3:  # document purged from the primary: the row is extra
                await docs.purge("GameSessions", doc_id, pk)
                expected[doc_id] = "extra"
            case _:  # a new session in one store only
                new = session(rng.randrange(ACCOUNTS), ACCOUNTS, id=f"new-{n:03d}")
                in_docs = rng.random() < 0.5
                await (docs if in_docs else rel).create("GameSessions", new)
                expected[new["id"]] = "missing" if in_docs else "extra"
    assert set(expected.values()) == {"different", "missing", "extra"}
    assert sorted(f for f in paths.values() for f in f) == sorted(FIELDS * 2)

    report = await poly.verify("GameSessions", settle_s=0)
    found = {d.id: d.kind for d in report.differences}
    assert len(report.differences) == len(found)  # each id once
    assert found == expected  # every injected difference, nothing else
    for d in report.differences:
        if d.kind == "different":
            assert d.paths == paths[d.id], d
            assert d.primary_version == d.secondary_version == 1
        elif d.kind == "missing":
            assert (d.primary_version, d.secondary_version) == (1, None)
        else:
            assert (d.primary_version, d.secondary_version) == (None, 1)
    assert (await poly.verify("Accounts", settle_s=0)).clean

    primary, secondary = await poly.pair("GameSessions")
    assert (primary, secondary) == (poly.documents, poly.relational)
    planned = await repair("GameSessions", primary, secondary, report, dry_run=True)
    assert sorted(planned.planned) == sorted(f"{k} {i}" for i, k in expected.items())
    assert found == {d.id: d.kind for d in (await poly.verify("GameSessions", settle_s=0))
                     .differences}  # a dry run changes nothing

    result = await repair("GameSessions", primary, secondary, report)
    assert (result.repaired, result.skipped) == (len(expected), 0)
    after = await poly.verify("GameSessions", settle_s=0)
    assert after.clean, after.differences[:3]
    for doc_id, kind in expected.items():  # the primary's truth won
        if kind == "different":
            truth = (await primary.query("GameSessions", by_id(doc_id))).items[0]
            row = await secondary.read("GameSessions", doc_id, truth["accountId"])
            assert {f: at(row, f) for f in paths[doc_id]} == {
                f: at(truth, f) for f in paths[doc_id]
            }

