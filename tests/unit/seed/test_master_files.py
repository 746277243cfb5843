"""Master data: parsing the Data directory format, round trips, and malformed files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from mystira_data import catalog
from mystira_data.domain.badges import AxisAchievement, Badge, BadgeImage
from mystira_data.domain.codec import codec_for
from mystira_data.domain.reference import (
    AgeGroupDefinition,
    CompassAxis,
    EchoTypeDefinition,
)
from mystira_data.errors import InvalidDocument
from mystira_data.seed.export import write_master
from mystira_data.seed.master import (
    MASTER_CONTAINERS,
    MasterDataError,
    default_master_dir,
    load_master,
    slug,
)

FIXTURE = Path(__file__).parent / "fixtures" / "master"


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _file_counts(root: Path) -> dict[str, int]:
    """Records per container, counted straight from the JSON files."""
    badge_files = [_json(p) for p in sorted((root / "Badges").glob("*.json"))]
    badges = [b for f in badge_files for b in f["Badges"]]
    return {
        "AgeGroupDefinitions": len(_json(root / "AgeGroups.json")),
        "CompassAxes": len(_json(root / "CoreAxes.json")),
        "ArchetypeDefinitions": len(_json(root / "Archetypes.json")),
        "EchoTypeDefinitions": len(_json(root / "EchoTypes.json")),
        "FantasyThemeDefinitions": len(_json(root / "FantasyThemes.json")),
        "Badges": len(badges),
        "AxisAchievements": sum(len(f["Axis_Achievements"]) for f in badge_files),
        "BadgeConfigurations": len(badges),
        "BadgeImages": len({b["Image_Id"] for b in badges}),
    }


def _copy_fixture(tmp_path: Path) -> Path:
    target = tmp_path / "master"
    shutil.copytree(FIXTURE, target)
    return target


# --- parsing -----------------------------------------------------------------------------------


def test_fixture_counts_match_the_files() -> None:
    docs = load_master(FIXTURE)
    assert {name: len(items) for name, items in docs.items()} == _file_counts(FIXTURE)


def test_shipped_data_counts_match_the_files() -> None:
    docs = load_master()
    assert {name: len(items) for name, items in docs.items()} == _file_counts(default_master_dir())


def test_every_master_container_is_in_the_catalog_with_the_right_model() -> None:
    docs = load_master(FIXTURE)
    assert set(docs) == set(MASTER_CONTAINERS)
    for name, items in docs.items():
        model = catalog.get(name).model
        assert all(type(item) is model for item in items), name


def test_fields_are_parsed() -> None:
    docs = load_master(FIXTURE)
    first_age = docs["AgeGroupDefinitions"][0]
    assert isinstance(first_age, AgeGroupDefinition)
    assert (first_age.id, first_age.name, first_age.value) == ("3-5", "little-ones", "3-5")
    assert (first_age.minimum_age, first_age.maximum_age) == (3, 5)
    assert first_age.description == "Fixture group with a description."

    axes = docs["CompassAxes"]
    assert [a.id for a in axes] == ["patience", "wonder-drive"]
    wonder = axes[1]
    assert isinstance(wonder, CompassAxis)
    assert wonder.name == "Wonder & Drive"  # upper-case "Value" key accepted

    echo = docs["EchoTypeDefinitions"][0]
    assert isinstance(echo, EchoTypeDefinition)
    assert (echo.name, echo.category, echo.description) == ("candour", "moral", "Fixture echo.")

    second = docs["Badges"][1]
    assert isinstance(second, Badge)
    assert (second.id, second.tier_order, second.required_score) == (
        "3-5-patience-bronze-2",
        2,
        6.5,
    )
    down = docs["AxisAchievements"][1]
    assert isinstance(down, AxisAchievement)
    assert (down.axes_direction, down.age_group_id) == ("negative", "3-5")


def test_badge_images_carry_bytes_when_the_file_exists() -> None:
    images = {
        i.image_id: i for i in load_master(FIXTURE)["BadgeImages"] if isinstance(i, BadgeImage)
    }
    pebble, asset = images["art/pebble.png"], images["badge-asset-0042"]
    assert isinstance(pebble, BadgeImage)
    assert isinstance(asset, BadgeImage)
    assert pebble.image_data == (FIXTURE / "art" / "pebble.png").read_bytes()
    assert pebble.file_size_bytes == len(pebble.image_data)
    assert asset.image_data is None
    assert asset.file_size_bytes == 0


def test_badge_configurations_mirror_badges() -> None:
    docs = load_master(FIXTURE)
    for badge, config in zip(docs["Badges"], docs["BadgeConfigurations"], strict=True):
        assert isinstance(badge, Badge)
        assert config.model_dump(include={"id", "name", "message", "axis", "threshold"}) == {
            "id": badge.id,
            "name": badge.title,
            "message": badge.description,
            "axis": badge.compass_axis_id,
            "threshold": badge.required_score,
        }


def test_loading_twice_gives_identical_documents() -> None:
    first, second = load_master(FIXTURE), load_master(FIXTURE)
    encode = {n: [codec_for(type(d)).encode(d) for d in docs] for n, docs in first.items()}
    assert encode == {n: [codec_for(type(d)).encode(d) for d in docs] for n, docs in second.items()}


def test_the_original_app_layout_without_descriptions_loads(tmp_path: Path) -> None:
    # Value lists as the app writes them: bare {"value": ...} objects, nothing else.
    (tmp_path / "CoreAxes.json").write_text('[{"value": "Alpha"}, {"value": "Beta"}]')
    docs = load_master(tmp_path)
    assert [a.name for a in docs["CompassAxes"] if isinstance(a, CompassAxis)] == ["Alpha", "Beta"]
    assert docs["Badges"] == []
    assert docs["AgeGroupDefinitions"] == []


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (("Curiosity & Initiative",), "curiosity-initiative"),
        (("6-9", "Self-Regulation", "gold", "1"), "6-9-self-regulation-gold-1"),
        (("denial_of_help",), "denial_of_help"),
        (("media/badges/x.png",), "media-badges-x-png"),
        (("Bergström",), "bergstrom"),
    ],
)
def test_slug(parts: tuple[str, ...], expected: str) -> None:
    assert slug(*parts) == expected


def test_slug_of_non_ascii_text_is_a_stable_uuid() -> None:
    assert slug("龍") == slug("龍") != slug("鳳")
    assert len(slug("龍")) == 36


# --- round trip --------------------------------------------------------------------------------


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    loaded = load_master(FIXTURE)
    write_master(tmp_path / "out", loaded)
    reloaded = load_master(tmp_path / "out")
    assert reloaded == loaded
    assert {n: len(d) for n, d in reloaded.items()} == _file_counts(FIXTURE)
    assert (tmp_path / "out" / "art" / "pebble.png").read_bytes() == (
        FIXTURE / "art" / "pebble.png"
    ).read_bytes()


def test_round_trip_from_stored_json(tmp_path: Path) -> None:
    """Export works from documents as a store returns them (dicts with system fields)."""
    loaded = load_master(FIXTURE)
    stored = {
        name: [codec_for(type(d)).encode(d) | {"_version": 3, "_etag": "x"} for d in docs]
        for name, docs in loaded.items()
    }
    write_master(tmp_path, stored)
    assert load_master(tmp_path) == loaded


def test_shipped_data_is_written_back_byte_for_byte(tmp_path: Path) -> None:
    write_master(tmp_path, load_master())
    for original in sorted(default_master_dir().rglob("*.json")):
        rewritten = tmp_path / original.relative_to(default_master_dir())
        assert rewritten.read_bytes() == original.read_bytes(), original.name


def test_write_rejects_a_badge_the_format_cannot_hold(tmp_path: Path) -> None:
    docs = load_master(FIXTURE)
    bad = docs["Badges"][0].model_copy(update={"tier": "mythril"})
    with pytest.raises(MasterDataError) as caught:
        write_master(tmp_path, {"Badges": [bad]})
    assert caught.value.file == "Badges/3-5.json"
    assert caught.value.path == "$.Badges[0].Tier"


# --- malformed files ---------------------------------------------------------------------------


def _break(root: Path, name: str, text: str) -> None:
    (root / name).write_text(text, encoding="utf-8")


def _edit_json(root: Path, name: str, edit: Any) -> None:
    data = _json(root / name)
    edit(data)
    _break(root, name, json.dumps(data))


def test_bad_json_names_file_and_position(tmp_path: Path) -> None:
    root = _copy_fixture(tmp_path)
    _break(root, "EchoTypes.json", '[{"value": "x"},\n {"value": }]')
    with pytest.raises(MasterDataError) as caught:
        load_master(root)
    err = caught.value
    assert err.file == "EchoTypes.json"
    assert err.path == "$"
    assert "line 2" in str(err)
    assert "EchoTypes.json" in str(err)


def test_missing_key_names_file_and_path(tmp_path: Path) -> None:
    root = _copy_fixture(tmp_path)
    _edit_json(root, "Badges/3-5.json", lambda d: d["Badges"][1].pop("Required_Score"))
    with pytest.raises(MasterDataError) as caught:
        load_master(root)
    err = caught.value
    assert (err.file, err.path) == ("Badges/3-5.json", "$.Badges[1].Required_Score")
    assert "required key is missing" in str(err)


def test_wrong_type_names_file_and_path(tmp_path: Path) -> None:
    root = _copy_fixture(tmp_path)
    _edit_json(root, "AgeGroups.json", lambda d: d[1].update(MinimumAge="ten"))
    with pytest.raises(MasterDataError) as caught:
        load_master(root)
    err = caught.value
    assert (err.file, err.path) == ("AgeGroups.json", "$[1].MinimumAge")
    assert "expected an integer" in str(err)


def test_number_as_string_is_a_wrong_type(tmp_path: Path) -> None:
    root = _copy_fixture(tmp_path)
    _edit_json(root, "Badges/10-12.json", lambda d: d["Badges"][0].update(Required_Score="5"))
    with pytest.raises(MasterDataError) as caught:
        load_master(root)
    assert caught.value.path == "$.Badges[0].Required_Score"


@pytest.mark.parametrize(
    ("name", "edit", "path", "words"),
    [
        ("Badges/3-5.json", lambda d: d.update(Badges={}), "$.Badges", "array"),
        (
            "Badges/3-5.json",
            lambda d: d["Badges"][0].update(Tier="mythril"),
            "$.Badges[0].Tier",
            "",
        ),
        ("Badges/3-5.json", lambda d: d.update(Age_Group_Id="6-9"), "$.Age_Group_Id", "file name"),
        (
            "Badges/3-5.json",
            lambda d: d["Badges"][1].update(Tier_Order=1),
            "$.Badges[1]",
            "duplicate",
        ),
        (
            "Badges/3-5.json",
            lambda d: d["Badges"][0].update(Required_Score=float("nan")),
            "$.Badges[0].Required_Score",
            "finite",
        ),
        (
            "Badges/3-5.json",
            lambda d: d["Badges"][0].update(Tier_Order=2**40),
            "$.Badges[0].Tier_Order",
            "",
        ),
        ("CoreAxes.json", lambda d: d.append({"value": 7}), "$[2].value", "string"),
        ("CoreAxes.json", lambda d: d.append({"value": "patience"}), "$[2]", "duplicate"),
        ("AgeGroups.json", lambda d: d[0].update(MaximumAge=1), "$[0]", "MinimumAge"),
        ("FantasyThemes.json", lambda d: d.append(3), "$[2]", "object"),
    ],
)
def test_format_violations(tmp_path: Path, name: str, edit: Any, path: str, words: str) -> None:
    root = _copy_fixture(tmp_path)
    _edit_json(root, name, edit)
    with pytest.raises(MasterDataError) as caught:
        load_master(root)
    assert (caught.value.file, caught.value.path) == (name, path)
    assert words in str(caught.value)


def test_top_level_of_the_wrong_kind(tmp_path: Path) -> None:
    root = _copy_fixture(tmp_path)
    _break(root, "Badges/10-12.json", "[]")
    with pytest.raises(MasterDataError) as caught:
        load_master(root)
    assert (caught.value.file, caught.value.path) == ("Badges/10-12.json", "$")


def test_errors_are_invalid_documents_without_a_traceback_chain(tmp_path: Path) -> None:
    root = _copy_fixture(tmp_path)
    _break(root, "CoreAxes.json", "{")
    with pytest.raises(InvalidDocument) as caught:
        load_master(root)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_not_a_utf8_file(tmp_path: Path) -> None:
    root = _copy_fixture(tmp_path)
    (root / "Archetypes.json").write_bytes(b'[{"value": "\xff"}]')
    with pytest.raises(MasterDataError, match=r"Archetypes\.json"):
        load_master(root)


def test_empty_or_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(MasterDataError, match="no master-data files"):
        load_master(tmp_path)
    with pytest.raises(MasterDataError, match="not a directory"):
        load_master(tmp_path / "nope")
