"""The shortcuts bulk work takes read exactly what the general paths read.

* canonical UTC text goes through ``datetime.fromisoformat`` instead of pydantic's parser;
* `stored_variant` validates stored JSON text, system fields included, in one pass;
* `relaxed_gc` raises the young-generation threshold only while a bulk pass runs.
"""

from __future__ import annotations

import gc
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from mystira_data.domain.base import UtcDateTime, format_utc
from mystira_data.domain.codec import codec_for, stored_variant
from mystira_data.domain.play import GameSession
from mystira_data.gc_tuning import BULK_THRESHOLD, relaxed_gc

UTC_TIME = TypeAdapter(UtcDateTime)
PYDANTIC_TIME = TypeAdapter(datetime)  # the general parser, before our conversion to UTC

instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(UTC)
)


@given(instants)
def test_canonical_text_reads_as_the_general_parser_reads_it(at: datetime) -> None:
    text = format_utc(at)
    fast = UTC_TIME.validate_python(text)
    assert fast == PYDANTIC_TIME.validate_python(text) == at
    assert fast.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    ["2024-02-30T00:00:00.000000Z", "2024-01-31X23:59:59.000000Z", "2024-13-01T00:00:00.000000Z"],
)
def test_canonical_looking_but_invalid_text_is_refused(text: str) -> None:
    with pytest.raises(ValidationError):
        UTC_TIME.validate_python(text)


def test_other_shapes_still_convert_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    assert UTC_TIME.validate_python("2024-01-31T23:59:59+02:00") == datetime(
        2024, 1, 31, 23, 59, 59, tzinfo=plus_two
    )
    naive = UTC_TIME.validate_python("2024-01-31T23:59:59")
    assert naive.tzinfo is UTC
    assert naive.hour == 23


SESSION = {"id": "gs-1", "accountId": "acc-1", "startTime": "2024-01-31T23:59:59.000000Z"}


def test_stored_variant_reads_system_fields_and_the_same_model() -> None:
    stored = {**SESSION, "_version": 4, "_etag": '"e"', "_ts": 1}
    model = stored_variant(GameSession).model_validate_json(json.dumps(stored))
    assert (model.sys_version, model.sys_etag) == (4, '"e"')  # type: ignore[attr-defined]
    assert {"sys_version", "sys_etag", "sys_ts"} <= model.__pydantic_fields_set__
    assert "sys_deleted" not in model.__pydantic_fields_set__
    plain = codec_for(GameSession).decode(stored)
    assert {k: v for k, v in model.__dict__.items() if not k.startswith("sys_")} == plain.__dict__


@pytest.mark.parametrize("extra", [{"sys_version": 1}, {"account_id": "acc-2"}, {"bogus": 1}])
def test_stored_variant_accepts_no_name_the_codec_would_refuse(extra: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        stored_variant(GameSession).model_validate_json(json.dumps({**SESSION, **extra}))


def test_relaxed_gc_restores_the_thresholds_when_the_last_pass_ends() -> None:
    before = gc.get_threshold()
    with relaxed_gc():
        assert gc.get_threshold()[0] >= BULK_THRESHOLD
        with relaxed_gc():
            assert gc.get_threshold()[0] >= BULK_THRESHOLD
        assert gc.get_threshold()[0] >= BULK_THRESHOLD  # the outer pass still runs
    assert gc.get_threshold() == before


def test_relaxed_gc_restores_after_an_error() -> None:
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), relaxed_gc():
        raise RuntimeError("boom")
    assert gc.get_threshold() == before
