"""The efcore9 codec, rule by rule (efcore-shape.md §1, §2, §5)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mystira_data import catalog
from mystira_data.documents.formats import Efcore9Format
from mystira_data.domain.codec import codec_for
from mystira_data.domain.content import Contributor, Scenario, Scene, StoryProtocolMetadata
from mystira_data.domain.play import GameSession
from mystira_data.domain.users import Account
from mystira_data.errors import InvalidDocument
from mystira_data.fields import SYSTEM_FIELDS

FMT = Efcore9Format()
FIXTURES = Path(__file__).parents[2] / "fixtures" / "efcore9"
START = datetime(2025, 12, 20, 17, 42, 25, 658000, tzinfo=UTC)


def native(model: Any) -> dict[str, Any]:
    return codec_for(type(model)).encode(model)


def session(**fields: Any) -> dict[str, Any]:
    return native(GameSession(id="s1", account_id="a1", start_time=START, **fields))


def fixture(container: str) -> list[dict[str, Any]]:
    lines = (FIXTURES / f"{container}.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def all_fixtures() -> list[tuple[str, dict[str, Any]]]:
    return [(p.stem, d) for p in sorted(FIXTURES.glob("*.jsonl")) for d in fixture(p.stem)]


# -- names ----------------------------------------------------------------------------------


def test_names_are_pascal_case_with_the_four_renames() -> None:
    stored = FMT.encode("GameSessions", session())
    assert {"id", "$type", "accountId", "ScenarioId", "TargetAgeGroupName", "StartTime"} <= set(
        stored
    )
    assert "AccountId" not in stored
    assert "Id" not in stored
    media = FMT.encode("MediaAssets", {"id": "m1", "mediaType": "image", "mimeType": "x/y"})
    assert media == {"id": "m1", "$type": "MediaAsset", "mediaType": "image", "MimeType": "x/y"}
    profile = FMT.encode("UserProfiles", {"id": "p1", "ageGroup": "6-9"})
    assert profile["AgeGroupName"] == "6-9"
    tracking = FMT.encode("CompassTrackings", {"id": "Courage", "axis": "Courage"})
    assert tracking == {"id": "Courage", "$type": "CompassTracking"}
    assert FMT.decode("CompassTrackings", tracking) == {"id": "Courage", "axis": "Courage"}


def test_owned_elements_use_pascal_id_and_type_only_at_the_root() -> None:
    scenario = Scenario(id="sc", scenes=[Scene(id="scene-1")])
    stored = FMT.encode("Scenarios", native(scenario))
    assert stored["Scenes"][0]["Id"] == "scene-1"
    assert "$type" not in stored["Scenes"][0]
    assert next(iter(stored)) == "id"
    assert stored["$type"] == "Scenario"


def test_compass_tracking_id_must_be_its_axis() -> None:
    with pytest.raises(InvalidDocument) as caught:
        FMT.encode("CompassTrackings", {"id": "t-1", "axis": "Courage"})
    assert caught.value.path == "axis"


# -- explicit nulls, owned collections ------------------------------------------------------


def test_nulls_are_written_and_owned_collections_are_arrays() -> None:
    stored = FMT.encode("GameSessions", session())
    assert stored["EndTime"] is None
    assert stored["SelectedCharacterId"] is None
    assert stored["ChoiceHistory"] == []
    assert stored["Achievements"] == []
    assert stored["TargetAgeGroup"] == {"MaximumAge": 9, "MinimumAge": 6, "Value": "6-9"}


def test_target_age_group_object_follows_its_name() -> None:
    raw = FMT.encode("GameSessions", session())
    changed = FMT.encode("GameSessions", session(target_age_group="10-12"), raw)
    assert changed["TargetAgeGroup"] == {"MaximumAge": 12, "MinimumAge": 10, "Value": "10-12"}
    assert "targetAgeGroup" not in changed
    assert "TargetAgeGroup" not in FMT.decode("GameSessions", changed)


# -- converters -----------------------------------------------------------------------------


def test_comma_joined_lists() -> None:
    stored = FMT.encode("GameSessions", session(player_names=["Lena", "Pip"]))
    assert stored["PlayerNames"] == "Lena,Pip"
    assert FMT.encode("GameSessions", session())["PlayerNames"] == ""
    assert FMT.decode("GameSessions", {**stored, "PlayerNames": ",Lena,,Pip "})["playerNames"] == [
        "Lena",
        "Pip ",  # split with empty entries removed, nothing trimmed
    ]
    assert FMT.decode("GameSessions", {**stored, "PlayerNames": ["A"]})["playerNames"] == ["A"]
    # Arrays without a converter stay arrays.
    account = FMT.encode("Accounts", native(Account(id="a", completed_scenario_ids=["x", "y"])))
    assert account["CompletedScenarioIds"] == ["x", "y"]
    assert account["UserProfileIds"] == ""


def test_a_comma_inside_a_list_value_cannot_be_stored() -> None:
    with pytest.raises(InvalidDocument) as caught:
        FMT.encode("GameSessions", session(player_names=["Ann, the Bold"]))
    assert caught.value.path == "playerNames"


def test_json_text_has_pascal_names_and_system_text_json_escaping() -> None:
    values = {"Courage & co": {"axis": "Courage & co", "currentValue": 1.0, "lastUpdated": START}}
    stored = FMT.encode("GameSessions", session(compass_values=values))
    text = stored["CompassValues"]
    assert isinstance(text, str)
    assert text.startswith('{"Courage \\u0026 co":{"Axis":"Courage \\u0026 co","CurrentValue":1,')
    assert '"LastUpdated":"2025-12-20T17:42:25.658Z"' in text
    back = FMT.decode("GameSessions", stored)["compassValues"]["Courage & co"]
    assert back["currentValue"] == 1
    assert back["history"] == []


def test_json_text_escapes_non_ascii_and_html_characters_in_upper_case_hex() -> None:
    stored = FMT.encode("PlayerScenarioScores", {"id": "x", "axisScores": {"Élan <'+`>": 0.5}})
    assert stored["AxisScores"] == '{"\\u00C9lan \\u003C\\u0027\\u002B\\u0060\\u003E":0.5}'


def test_json_text_is_read_from_string_object_and_twice_serialized_forms() -> None:
    for form in ('{"A":1.5}', {"A": 1.5}, json.dumps('{"A":1.5}')):
        doc = {"id": "x", "AxisScores": form}
        assert FMT.decode("PlayerScenarioScores", doc)["axisScores"] == {"A": 1.5}


def test_prices_keep_decimal_values_in_json_text() -> None:
    doc = {"id": "b", "prices": [{"value": 4.99, "currency": "USD"}]}
    stored = FMT.encode("ContentBundles", doc)
    assert stored["Prices"] == '[{"Value":4.99,"Currency":"USD"}]'
    assert FMT.decode("ContentBundles", stored)["prices"] == doc["prices"]


def test_key_value_pipe_strings() -> None:
    entry = {"id": "e1", "classificationTags": [{"key": "mood", "value": "calm:ish"}]}
    stored = FMT.encode("MediaMetadataFiles", {"id": "media-metadata", "entries": [entry]})
    assert stored["Entries"][0]["ClassificationTags"] == "mood:calm:ish"
    decoded = FMT.decode("MediaMetadataFiles", stored)["entries"][0]
    assert decoded["classificationTags"] == [{"key": "mood", "value": "calm:ish"}]  # first ':'


def test_dictionaries_stored_as_objects_are_also_read_from_strings() -> None:
    palette_text = {"DefaultProfile": "Cozy", "TracksByProfile": '{"Cozy":["t"]}'}
    doc = {"id": "sc", "MusicPalette": palette_text}
    palette = FMT.decode("Scenarios", doc)["musicPalette"]
    assert palette == {"defaultProfile": "Cozy", "tracksByProfile": {"Cozy": ["t"]}}
    stored = FMT.encode("Scenarios", {"id": "sc", "musicPalette": palette})
    assert stored["MusicPalette"]["TracksByProfile"] == {"Cozy": ["t"]}


# -- enums ----------------------------------------------------------------------------------


def test_enums_are_numbers_and_music_enums_are_names() -> None:
    stored = FMT.encode("GameSessions", session(status="Completed"))
    assert stored["Status"] == 3
    assert FMT.decode("GameSessions", stored)["status"] == "Completed"
    scene = {"id": "s", "type": "Roll", "music": {"profile": "Wonder", "transitionHint": "HardCut"}}
    out = FMT.encode("Scenarios", {"id": "sc", "scenes": [scene], "difficulty": "Hard"})
    assert out["Difficulty"] == 2
    assert out["Scenes"][0]["Type"] == 2
    assert out["Scenes"][0]["Music"] == {"Profile": "Wonder", "TransitionHint": "HardCut"}


def test_contributor_role_other_is_99() -> None:
    protocol = StoryProtocolMetadata(contributors=[Contributor(role="Other", name="c")])
    stored = FMT.encode("ContentBundles", {"id": "b", "storyProtocol": native(protocol)})
    assert stored["StoryProtocol"]["Contributors"][0]["Role"] == 99
    assert FMT.decode("ContentBundles", stored)["storyProtocol"]["contributors"][0]["role"] == (
        "Other"
    )


# -- dates and durations --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        ("2025-12-14T09:18:27.0052846Z", "2025-12-14T09:18:27.005284Z"),
        ("2017-04-12T00:00:00", "2017-04-12T00:00:00.000000Z"),  # offset-less: UTC
        ("2025-06-30T12:00:00+02:00", "2025-06-30T10:00:00.000000Z"),
        ("9999-12-31T23:59:59.9999999", "9999-12-31T23:59:59.999999Z"),
        ("0001-01-01T00:00:00", "0001-01-01T00:00:00.000000Z"),
    ],
)
def test_dotnet_datetimes_read_as_utc(stored: str, expected: str) -> None:
    assert FMT.decode("Accounts", {"id": "a", "CreatedAt": stored})["createdAt"] == expected


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        (START, "2025-12-20T17:42:25.658Z"),
        (START.replace(microsecond=0), "2025-12-20T17:42:25Z"),
        (datetime.max.replace(tzinfo=UTC), "9999-12-31T23:59:59.9999999"),
    ],
)
def test_datetimes_are_written_as_newtonsoft_does(value: datetime, stored: str) -> None:
    account = native(Account(id="a", created_at=value))
    assert FMT.encode("Accounts", account)["CreatedAt"] == stored


def test_subscription_end_defaults_to_max_value_without_suffix() -> None:
    stored = FMT.encode("Accounts", native(Account(id="a")))
    assert stored["Subscription"]["EndDate"] == "9999-12-31T23:59:59.9999999"
    assert stored["Subscription"]["Type"] == 0


def test_timespans_in_dotnet_c_format() -> None:
    long = timedelta(days=1, hours=2, minutes=3, seconds=4, milliseconds=500)
    stored = FMT.encode("GameSessions", session(elapsed_time=long))
    assert stored["ElapsedTime"] == "1.02:03:04.5000000"
    raw = {**stored, "ElapsedTime": "00:21:44.4675247"}
    assert FMT.decode("GameSessions", raw)["elapsedTime"] == "00:21:44.4675240"


# -- malformed documents: a typed error naming the stored field -----------------------------


@pytest.mark.parametrize(
    ("container", "doc", "path"),
    [
        ("GameSessions", {"id": "s", "PlayerNames": 42}, "PlayerNames"),
        ("GameSessions", {"id": "s", "CompassValues": "{not json"}, "CompassValues"),
        ("GameSessions", {"id": "s", "Status": 7}, "Status"),
        ("Scenarios", {"id": "x", "Scenes": [{"Id": "a"}, {"Type": 9}]}, "Scenes[1].Type"),
        ("Accounts", {"id": "a", "CreatedAt": "yesterday"}, "CreatedAt"),
        ("GameSessions", {"id": "s", "ElapsedTime": "PT5M"}, "ElapsedTime"),
        (
            "MediaMetadataFiles",
            {"id": "m", "Entries": [{"Modifiers": "x"}]},
            "Entries[0].Modifiers",
        ),
    ],
)
def test_malformed_fields_raise_invalid_document_with_the_path(
    container: str, doc: dict[str, Any], path: str
) -> None:
    with pytest.raises(InvalidDocument) as caught:
        FMT.decode(container, doc)
    assert caught.value.path == path


def test_lenient_decoding_keeps_the_stored_value_for_the_model_to_refuse() -> None:
    decoded = FMT.decode("GameSessions", {"id": "s", "Status": 7}, lenient=True)
    assert decoded["status"] == 7
    with pytest.raises(InvalidDocument) as caught:
        codec_for(GameSession).decode({**session(), "status": 7})
    assert caught.value.path == "status"


# -- faithful round trip --------------------------------------------------------------------


@pytest.mark.parametrize(("container", "raw"), all_fixtures(), ids=lambda v: str(v)[:24])
def test_a_document_written_back_unchanged_is_the_same_document(
    container: str, raw: dict[str, Any]
) -> None:
    model = catalog.get(container).model
    codec = codec_for(model)
    as_model = codec.encode(codec.decode(FMT.decode(container, raw)))  # what the platform holds
    assert FMT.encode(container, as_model, raw) == {
        k: v for k, v in raw.items() if k not in SYSTEM_FIELDS
    }


@pytest.mark.parametrize(("container", "raw"), all_fixtures(), ids=lambda v: str(v)[:24])
def test_a_new_document_keeps_every_value(container: str, raw: dict[str, Any]) -> None:
    codec = codec_for(catalog.get(container).model)
    values = codec.encode(codec.decode(FMT.decode(container, raw)))
    fresh = FMT.encode(container, values)
    assert codec.encode(codec.decode(FMT.decode(container, fresh))) == values


def test_a_changed_field_is_rewritten_and_everything_else_kept() -> None:
    raw = fixture("GameSessions")[0]
    raw["FromNewerApp"] = {"Kept": True}
    doc = FMT.decode("GameSessions", raw)
    assert "FromNewerApp" not in doc  # C#'s own field: kept, not shown
    doc["currentSceneId"] = "scene-river"
    doc["choiceHistory"][1]["choiceText"] = "Cross second"
    out = FMT.encode("GameSessions", doc, raw)
    assert out["CurrentSceneId"] == "scene-river"
    assert out["ChoiceHistory"][1]["ChoiceText"] == "Cross second"
    assert out["ChoiceHistory"][1]["ChosenAt"] == "2025-12-20T18:04:10.1234567Z"  # 100 ns kept
    assert out["StartTime"] == raw["StartTime"]
    assert out["FromNewerApp"] == {"Kept": True}
    assert out["CompassValues"] == raw["CompassValues"]


def test_older_shapes_read_and_keep_their_id() -> None:
    raw = fixture("GameSessions")[2]
    assert raw["id"].startswith("GameSession|")
    assert raw["Discriminator"] == "GameSession"
    doc = FMT.decode("GameSessions", raw)
    assert doc["id"] == raw["Id"]
    assert "Discriminator" not in doc
    assert FMT.stored_ids("GameSessions", doc["id"]) == (doc["id"], raw["id"])
    assert FMT.encode("GameSessions", doc, raw)["id"] == raw["id"]


def test_a_document_without_type_reads_and_gets_one_when_written() -> None:
    raw = {"id": "b", "Discriminator": "BadgeConfiguration", "Name": "n", "Threshold": 3}
    doc = FMT.decode("BadgeConfigurations", raw)
    assert doc == {"id": "b", "name": "n", "threshold": 3}
    written = FMT.encode("BadgeConfigurations", doc, raw)
    assert written["$type"] == "BadgeConfiguration"
    assert written["Discriminator"] == "BadgeConfiguration"


def test_our_own_names_and_system_fields_pass_through() -> None:
    doc = {"id": "s", "accountId": "a", "tag": "t1", "_version": 3, "_deleted": True}
    stored = FMT.encode("GameSessions", doc)
    assert stored == {"id": "s", "$type": "GameSession", **{k: doc[k] for k in list(doc)[1:]}}
    assert FMT.decode("GameSessions", stored) == doc


def test_containers_outside_the_catalog_are_stored_as_they_are() -> None:
    doc = {"id": "phase", "anything": 1}
    assert FMT.encode("PolyglotControl", doc) == doc == FMT.decode("PolyglotControl", doc)
