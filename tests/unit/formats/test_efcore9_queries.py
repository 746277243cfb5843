"""Platform queries (native field paths) translated to the stored efcore9 names and values."""

from __future__ import annotations

import pytest

from mystira_data.documents.formats import Efcore9Format, NativeFormat
from mystira_data.errors import InvalidQuery
from mystira_data.query import Filter, Op, Order, Query

FMT = Efcore9Format()


def stored(container: str, query: Query) -> Query:
    return FMT.stored_query(container, query)


def test_paths_and_enum_values_are_translated() -> None:
    q = Query(partition_key="a1", order_by=(Order("startTime", descending=True),))
    q = q.where("status", Op.IN, ["InProgress", "Paused"]).where("accountId", Op.EQ, "a1")
    out = stored("GameSessions", q)
    assert out.filters == (
        Filter("Status", Op.IN, [1, 2]),
        Filter("accountId", Op.EQ, "a1"),
    )
    assert out.order_by == (Order("StartTime", descending=True),)
    assert out.partition_key == "a1"


def test_nested_paths_and_dates() -> None:
    q = Query(cross_partition=True).where("subscription.validUntil", Op.GE, "2025-01-01T00:00:00Z")
    out = stored("Accounts", q)
    assert out.filters == (Filter("Subscription.ValidUntil", Op.GE, "2025-01-01T00:00:00Z"),)
    scenes = stored("Scenarios", Query(cross_partition=True).where("scenes.type", Op.EQ, "Roll"))
    assert scenes.filters == (Filter("Scenes.Type", Op.EQ, 2),)


def test_compass_tracking_axis_is_the_id() -> None:
    out = stored("CompassTrackings", Query(cross_partition=True).where("axis", Op.EQ, "Courage"))
    assert out.filters == (Filter("id", Op.EQ, "Courage"),)


def test_unknown_paths_stay_as_they_are() -> None:
    out = stored("GameSessions", Query(cross_partition=True).where("tag", Op.EQ, "t"))
    assert out.filters == (Filter("tag", Op.EQ, "t"),)


def test_comma_joined_fields_take_only_equality() -> None:
    q = Query(cross_partition=True).where("playerNames", Op.EQ, ["Lena", "Pip"])
    assert stored("GameSessions", q).filters == (Filter("PlayerNames", Op.EQ, "Lena,Pip"),)
    contains = Query(cross_partition=True).where("playerNames", Op.ARRAY_CONTAINS, "A")
    with pytest.raises(InvalidQuery, match="playerNames"):
        stored("GameSessions", contains)


def test_json_text_fields_cannot_be_queried_inside() -> None:
    q = Query(cross_partition=True).where("compassValues.Courage", Op.GT, 1)
    with pytest.raises(InvalidQuery, match="JSON text"):
        stored("GameSessions", q)


def test_native_format_leaves_queries_alone() -> None:
    q = Query(cross_partition=True).where("status", Op.EQ, "InProgress")
    assert NativeFormat().stored_query("GameSessions", q) is q
