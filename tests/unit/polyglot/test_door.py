"""The write door refuses what the relational side can never store, before either store
acknowledges it: NUL text, ids longer than the id column, ``_version`` beyond BIGINT."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from mystira_data.documents.sqlite import SqliteDocumentStore
from mystira_data.errors import InvalidDocument, NotFound
from mystira_data.polyglot.phase.record import MemoryPhaseStore
from mystira_data.polyglot.write.repository import PolyglotRepository
from mystira_data.relational.mapping import mapping_for
from mystira_data.settings import Phase
from mystira_data.transfer import import_jsonl
from tests.unit.polyglot.test_repository import Pair, session, set_phase

LONG_ID = "a" * 37  # V001's id columns are VARCHAR(36)


def account(id: str = "acc1", **extra: Any) -> dict[str, Any]:
    return {"id": id, "email": "a@example.org", **extra}


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("Accounts", account(displayName="a\u0000b"), "displayName"),
    ("Accounts", account(settings={"preferredLanguage": "e\u0000n"}),
     "settings.preferredLanguage"),
    ("Accounts", account(userProfileIds=["p1", "p\u00002"]), "userProfileIds[1]"),
    ("Accounts", account(id=LONG_ID), "id"),
    ("GameSessions", session(1, accountId="acc1", playerNames=["x\u0000"]), "playerNames[0]"),
]


@pytest.mark.parametrize(("container", "doc", "path"), REFUSED)
@pytest.mark.parametrize("phase", [Phase.COSMOS_ONLY, Phase.DUAL_WRITE_COSMOS_READ])
async def test_repository_refuses_before_any_store_writes(
    repo: PolyglotRepository, pair: Pair, phase: Phase,
    container: str, doc: dict[str, Any], path: str,
) -> None:
    store = repo.control.store
    assert isinstance(store, MemoryPhaseStore)
    store.phases[container] = phase
    with pytest.raises(InvalidDocument) as info:
        await repo.upsert(container, doc)
    assert info.value.path == path
    pk = doc["accountId"] if container == "GameSessions" else doc["id"]
    for side in pair:
        with pytest.raises(NotFound):
            await side.read(container, doc["id"], pk)


async def test_a_document_container_keeps_nul_text(repo: PolyglotRepository) -> None:
    """Containers that never reach PostgreSQL are not held to its limits."""
    await set_phase(repo, Phase.COSMOS_ONLY)
    doc = {"id": "age-x", "name": "x\u0000y", "value": "x", "minimumAge": 1, "maximumAge": 2}
    stored = await repo.upsert("AgeGroupDefinitions", doc)
    assert stored["name"] == "x\u0000y"


async def test_import_refuses_with_the_line_and_field(pair: Pair) -> None:
    docs: SqliteDocumentStore = pair[0]
    lines = [
        account("ok1"),
        account("nul", displayName="a\u0000b"),
        {**account("huge"), "_version": 2**63},
        account(LONG_ID),
        {**account("max"), "_version": 2**63 - 1},
    ]
    report = await import_jsonl(docs, "Accounts", io.StringIO(
        "\n".join(json.dumps(line) for line in lines)))
    assert report.imported == 2
    assert [(n, reason.split(":")[0]) for n, reason in report.rejected] == [
        (2, "displayName"), (3, "_version"), (4, "id")]
    with pytest.raises(NotFound):
        await docs.read("Accounts", "nul", "nul")


def test_the_relational_mapping_refuses_nul_on_every_write_path() -> None:
    m = mapping_for("Accounts")
    bad = {**account(displayName="a\u0000b"), "_version": 1}
    with pytest.raises(InvalidDocument, match="NUL") as single:
        m.prepare(bad)
    with pytest.raises(InvalidDocument, match="NUL") as copy:
        m.copy_row(bad, _now())
    with pytest.raises(InvalidDocument, match="NUL") as text:
        m.copy_row_json(json.dumps(bad), _now(), 0)
    assert single.value.path == copy.value.path == text.value.path == "displayName"
    # A backslash followed by "u0000" is ordinary text, not a NUL character.
    fine = {**account(displayName="a\\u0000b"), "_version": 1}
    assert m.copy_row_json(json.dumps(fine), _now(), 0).id == "acc1"


def _now() -> datetime:
    return datetime.now(UTC)
