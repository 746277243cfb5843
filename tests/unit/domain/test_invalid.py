"""Bad documents fail with InvalidDocument naming the camelCase path; edge values normalise."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from mystira_data.domain import codec_for
from mystira_data.domain.badges import BadgeImage
from mystira_data.domain.base import TIMESPAN_MAX, format_timespan, parse_timespan
from mystira_data.domain.content import ContentBundle, Scenario
from mystira_data.domain.enums import MediaType, SessionStatus
from mystira_data.domain.media import MediaAsset
from mystira_data.domain.play import GameSession
from mystira_data.domain.users import Account, UserProfile
from mystira_data.errors import InvalidDocument
from mystira_data.fields import SYSTEM_FIELDS

SESSION = {"id": "s-1", "accountId": "acc-1", "startTime": "2024-05-01T12:00:00Z"}


def decode_session(**changes: Any) -> GameSession:
    return codec_for(GameSession).decode({**SESSION, **changes})


def invalid(model: type[Any], doc: Any) -> InvalidDocument:
    with pytest.raises(InvalidDocument) as caught:
        codec_for(model).decode(doc)
    return caught.value


def test_nested_list_error_names_the_camel_case_path() -> None:
    scenes = [{"id": "a"}, {"id": "b"}, {"id": "c", "branches": [{"nextSceneId": 7}]}]
    error = invalid(Scenario, {"id": "sc", "scenes": scenes})
    assert error.path == "scenes[2].branches[0].nextSceneId"
    assert "valid string" in str(error)


def test_dict_values_are_located_by_key() -> None:
    values = {"honesty": {"axis": "honesty", "currentValue": "high"}}
    error = invalid(GameSession, {**SESSION, "compassValues": values})
    assert error.path == "compassValues.honesty.currentValue"


def test_missing_partition_key_is_reported() -> None:
    doc = {k: v for k, v in SESSION.items() if k != "accountId"}
    error = invalid(GameSession, doc)
    assert error.path == "accountId"
    assert "Field required" in str(error)


@pytest.mark.parametrize("blank", ["", "   "])
def test_blank_partition_key_is_rejected(blank: str) -> None:
    assert invalid(GameSession, {**SESSION, "accountId": blank}).path == "accountId"


@pytest.mark.parametrize("bad_id", ["", "a/b", "a?b", "x" * 256])
def test_ids_follow_the_document_store_rules(bad_id: str) -> None:
    assert invalid(Account, {"id": bad_id}).path == "id"


def test_unknown_fields_are_rejected_at_any_depth() -> None:
    assert invalid(GameSession, {**SESSION, "colour": "red"}).path == "colour"
    choice = {"sceneId": "a", "mood": "happy"}
    error = invalid(GameSession, {**SESSION, "choiceHistory": [choice]})
    assert error.path == "choiceHistory[0].mood"
    assert "Extra inputs" in str(error)


def test_several_errors_are_all_named() -> None:
    error = invalid(GameSession, {"id": "s", "sceneCount": "many", "extra": 1})
    assert error.path == "accountId"
    assert "sceneCount" in str(error)
    assert "extra" in str(error)


def test_not_an_object() -> None:
    assert "JSON object" in str(invalid(Account, ["id"]))


def test_system_fields_are_stripped() -> None:
    stored = {**SESSION, **{name: 1 for name in SYSTEM_FIELDS}, "_etag": '"0x1"'}
    session = codec_for(GameSession).decode(stored)
    assert not SYSTEM_FIELDS & codec_for(GameSession).encode(session).keys()


def test_naive_datetimes_are_utc() -> None:
    session = decode_session(startTime="2024-05-01T12:00:00", endTime="2024-05-01T14:00:00+02:00")
    assert session.start_time == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert session.start_time.tzinfo is UTC
    assert session.end_time is not None
    assert session.end_time.tzinfo is UTC
    encoded = codec_for(GameSession).encode(session)
    assert encoded["startTime"] == encoded["endTime"] == "2024-05-01T12:00:00.000000Z"


def test_dotnet_seven_digit_fractions_and_max_value_are_read() -> None:
    account = codec_for(Account).decode(
        {"id": "a", "subscription": {"endDate": "9999-12-31T23:59:59.9999999"}}
    )
    assert account.subscription.end_date == datetime.max.replace(tzinfo=UTC)


def test_offset_that_overflows_utc_is_rejected() -> None:
    assert invalid(GameSession, {**SESSION, "endTime": "9999-12-31T23:00:00-05:00"}).path == (
        "endTime"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("00:00:00", timedelta(0)),
        ("1.02:03:04.5", timedelta(days=1, hours=2, minutes=3, seconds=4, microseconds=500000)),
        ("-00:00:01.0000010", -timedelta(seconds=1, microseconds=1)),
        ("10675199.02:48:05.4775807", TIMESPAN_MAX),
        ("P1DT2H", timedelta(days=1, hours=2)),
    ],
)
def test_elapsed_time_reads_timespan_and_iso(text: str, expected: timedelta) -> None:
    assert decode_session(elapsedTime=text).elapsed_time == expected


@pytest.mark.parametrize("text", ["24:00:00", "00:60:00", "10675200.00:00:00", "soon"])
def test_bad_timespans_are_rejected(text: str) -> None:
    assert invalid(GameSession, {**SESSION, "elapsedTime": text}).path == "elapsedTime"


def test_timespan_format_matches_dotnet() -> None:
    assert format_timespan(timedelta(days=-1, seconds=86399)) == "-00:00:01"
    assert format_timespan(timedelta(days=3, microseconds=10)) == "3.00:00:00.0000100"
    assert parse_timespan("3.00:00:00.0000100") == timedelta(days=3, microseconds=10)
    assert parse_timespan("not a timespan") is None


def test_enums_read_any_case_and_write_the_csharp_name() -> None:
    session = decode_session(status="inprogress")
    assert session.status is SessionStatus.IN_PROGRESS
    assert codec_for(GameSession).encode(session)["status"] == "InProgress"


def test_media_type_is_case_sensitive_because_it_is_the_partition_key() -> None:
    doc = {"id": "m", "mediaType": "image"}
    assert codec_for(MediaAsset).decode(doc).media_type is MediaType.IMAGE
    assert invalid(MediaAsset, {**doc, "mediaType": "Image"}).path == "mediaType"


def test_non_finite_numbers_are_rejected() -> None:
    error = invalid(GameSession, {**SESSION, "echoHistory": [{"strength": float("nan")}]})
    assert error.path == "echoHistory[0].strength"
    props = {"additionalProperties": {"a": [1, float("inf")]}}
    error = invalid(MediaAsset, {"id": "m", "mediaType": "audio", "metadata": props})
    assert error.path == "metadata.additionalProperties"
    assert "a[1]" in str(error)


def test_decimals_are_json_numbers_at_double_precision() -> None:
    price = {"id": "b", "prices": [{"value": "33.333333333333333333333", "currency": "EUR"}]}
    bundle = codec_for(ContentBundle).decode(price)
    assert bundle.prices[0].value == Decimal(repr(33.333333333333333))
    assert codec_for(ContentBundle).encode(bundle)["prices"][0]["value"] == 33.333333333333336


def test_bytes_are_base64_in_json() -> None:
    image = codec_for(BadgeImage).decode({"id": "i", "imageData": "AP8="})
    assert image.image_data == b"\x00\xff"
    assert codec_for(BadgeImage).encode(image)["imageData"] == "AP8="
    assert invalid(BadgeImage, {"id": "i", "imageData": "not base64!"}).path == "imageData"


def test_open_value_lists_accept_unknown_values_but_not_blank() -> None:
    profile = codec_for(UserProfile).decode({"id": "p", "preferredFantasyThemes": ["Space"]})
    assert profile.preferred_fantasy_themes == ["Space"]
    error = invalid(UserProfile, {"id": "p", "preferredFantasyThemes": ["Space", " "]})
    assert error.path == "preferredFantasyThemes[1]"


def test_encode_refuses_another_model() -> None:
    with pytest.raises(TypeError):
        codec_for(GameSession).encode(Account(id="a"))  # type: ignore[arg-type]


def test_codecs_are_shared() -> None:
    assert codec_for(Account) is codec_for(Account)
