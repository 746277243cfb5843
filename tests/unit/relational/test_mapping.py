"""Entity <-> row mapping without a database: structure, limits, and the round trip."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel
from sqlalchemy.dialects import postgresql, sqlite

from mystira_data.domain.codec import codec_for
from mystira_data.domain.play import GameSession, PlayerScenarioScore
from mystira_data.domain.users import Account
from mystira_data.errors import InvalidDocument, InvalidQuery
from mystira_data.query import Op, Order, Query
from mystira_data.relational import mapping
from mystira_data.relational.bulk import copy_shape
from mystira_data.relational.mapping import etag_for, mapping_for, version_of_etag
from mystira_data.relational.sql_query import Translator
from mystira_data.relational.tables import SYSTEM_COLUMNS
from tests.strategies import strategy_for

MODELS: dict[str, type[BaseModel]] = {
    "Accounts": Account,
    "GameSessions": GameSession,
    "PlayerScenarioScores": PlayerScenarioScore,
}


@pytest.mark.parametrize("container", sorted(MODELS))
def test_every_field_has_a_home_and_every_column_a_field(container: str) -> None:
    m = mapping_for(container)
    model = MODELS[container]
    aliases = {info.alias or name for name, info in model.model_fields.items()}
    assert {f.name for f in m.fields} | set(m.extra_fields) == aliases
    v001_columns = {c.name for c in m.table.c} - set(SYSTEM_COLUMNS)
    assert {f.column.name for f in m.fields} == v001_columns


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_from_row_inverts_to_row(data: st.DataObject) -> None:
    container = data.draw(st.sampled_from(sorted(MODELS)))
    doc = codec_for(MODELS[container]).encode(data.draw(strategy_for(MODELS[container])))
    doc["_version"] = data.draw(st.integers(0, 2**63 - 1))
    row = mapping.to_row(container, doc)
    assert mapping.from_row(container, row) == doc | {"_etag": etag_for(doc["_version"])}


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_copy_records_hold_what_prepare_stores(data: st.DataObject) -> None:
    # The bulk path builds its records straight from the model; they must carry the same
    # values as the general path (`prepare` + `CopyShape.records`). JSON columns are compared
    # parsed: both serialisers write valid JSON, and JSONB keeps the value, not the text.
    container = data.draw(st.sampled_from(sorted(MODELS)))
    doc = codec_for(MODELS[container]).encode(data.draw(strategy_for(MODELS[container])))
    doc["_version"] = data.draw(st.integers(0, 2**63 - 1))
    doc["_deleted"] = data.draw(st.booleans())
    m = mapping_for(container)
    now = datetime.now(UTC)
    fast = m.copy_row(doc, now)
    [slow] = copy_shape(m.table).records([m.prepare(doc).row | {"_updated_at": now}])
    json_columns = [isinstance(c.type, sa.JSON) for c in m.table.c]
    assert (fast.id, fast.version) == (doc["id"], doc["_version"])
    assert [_parsed(v, j) for v, j in zip(fast.record, json_columns, strict=True)] == [
        _parsed(v, j) for v, j in zip(slow, json_columns, strict=True)
    ]


def _parsed(value: Any, is_json: bool) -> Any:
    return json.loads(value) if is_json and value is not None else value


def test_copy_rows_check_what_prepare_checks() -> None:
    m = mapping_for("GameSessions")
    doc = {"id": "s1", "accountId": "a1", "startTime": "2024-05-01T12:00:00Z", "_version": 1}
    now = datetime.now(UTC)
    for change, path in [
        ({"id": "i" * 37}, "id"),
        ({"currentSceneId": "c" * 101}, "currentSceneId"),
        ({"_version": None}, "_version"),
        ({"_deleted": "yes"}, "_deleted"),
        ({"sceneCount": "many"}, "sceneCount"),
    ]:
        with pytest.raises(InvalidDocument) as caught:
            m.copy_row(doc | change, now)
        assert caught.value.path == path


def test_documents_are_stored_canonically() -> None:
    raw = {"id": "s1", "accountId": "a1", "startTime": "2024-05-01T14:00:00+02:00"}
    row = mapping.to_row("GameSessions", raw)
    doc = mapping.from_row("GameSessions", row | {"_version": 1})
    assert doc["startTime"] == "2024-05-01T12:00:00.000000Z"
    assert doc["status"] == "NotStarted"


def test_an_empty_session_reference_is_null_in_the_column_and_exact_in_extra() -> None:
    doc = codec_for(PlayerScenarioScore).encode(
        PlayerScenarioScore(id="x", profile_id="p", game_session_id="")
    )
    row = mapping.to_row("PlayerScenarioScores", doc)
    assert row["game_session_id"] is None
    assert row["_extra"] == {"gameSessionId": ""}
    assert mapping.from_row("PlayerScenarioScores", row | {"_version": 0})["gameSessionId"] == ""
    m = mapping_for("PlayerScenarioScores")
    copied = m.copy_row(doc | {"_version": 0}, datetime.now(UTC))
    record = dict(zip(m.table.c.keys(), copied.record, strict=True))
    assert record["game_session_id"] is None
    assert json.loads(record["_extra"]) == {"gameSessionId": ""}


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"id": "i" * 37}, "id"),
        ({"currentSceneId": "c" * 101}, "currentSceneId"),
        ({"_version": "1"}, "_version"),
        ({"_version": True}, "_version"),
        ({"_version": 2**63}, "_version"),
        ({"_deleted": "yes"}, "_deleted"),
        ({"accountId": None}, "accountId"),
    ],
)
def test_limits_are_invalid_documents_naming_the_field(change: dict[str, Any], path: str) -> None:
    doc = {"id": "s1", "accountId": "a1", "startTime": "2024-05-01T12:00:00Z"} | change
    with pytest.raises(InvalidDocument) as caught:
        mapping.to_row("GameSessions", doc)
    assert caught.value.path == path


def test_etags_stand_for_versions() -> None:
    assert etag_for(12) == '"v12"'
    assert version_of_etag('"v12"') == 12
    assert version_of_etag("v12") == 12
    assert version_of_etag('"0b6a-uuid"') is None


def test_unknown_containers_are_refused() -> None:
    with pytest.raises(InvalidQuery, match="no relational table"):
        mapping_for("Scenarios")


@pytest.mark.parametrize("dialect", [postgresql.dialect(), sqlite.dialect()])  # type: ignore[no-untyped-call]
def test_query_values_and_paths_are_bound_never_pasted(dialect: sa.Dialect) -> None:
    hostile = "x'); DROP TABLE accounts; --"
    query = (
        Query(cross_partition=True, order_by=(Order("compassValues.honesty"),))
        .where("status", Op.EQ, hostile)
        .where("compassValues.honesty.axis", Op.STARTS_WITH, hostile)
        .where("playerNames", Op.ARRAY_CONTAINS, hostile)
        .where("someExtra", Op.IN, [hostile, 1])
    )
    tr = Translator(mapping_for("GameSessions"), dialect.name)
    keys, _ = tr.sort_keys(query)
    stmt = sa.select(tr.table).where(tr.where(query)).order_by(*(k.expr for k in keys))
    compiled = stmt.compile(dialect=dialect)
    assert "DROP" not in str(compiled)
    assert any(hostile in str(v) for v in compiled.params.values())
