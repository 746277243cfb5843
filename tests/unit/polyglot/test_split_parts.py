"""Split containers in memory: the core projection, joining a core with its document part,
and comparing by the core only."""

from __future__ import annotations

from mystira_data import catalog
from mystira_data.polyglot.consistency.compare import canonical, differing_paths
from mystira_data.polyglot.phase.rules import ROUTES, Side, route_for
from mystira_data.polyglot.write.repository import validated
from mystira_data.polyglot.write.split import core_of, joined, with_part
from mystira_data.settings import Phase
from tests.integration.split.profiles import CORE, profile

P = "UserProfiles"


def test_the_catalog_declares_the_split_as_data() -> None:
    spec = catalog.get(P)
    assert spec.split is not None
    assert spec.split.relational_fields == CORE
    assert (spec.table, spec.parent) == (
        "user_profiles",
        catalog.ParentLink("Accounts", "accountId", catalog.OnDelete.CASCADE),
    )
    assert [c.table for c in spec.child_tables] == ["user_badges"]


def test_postgres_only_keeps_the_document_store_as_secondary_for_split_containers() -> None:
    assert route_for(P, Phase.POSTGRES_ONLY).secondary is Side.DOCUMENT
    assert route_for("Accounts", Phase.POSTGRES_ONLY) == ROUTES[Phase.POSTGRES_ONLY]
    assert route_for(P, Phase.DUAL_WRITE_COSMOS_READ) == ROUTES[Phase.DUAL_WRITE_COSMOS_READ]


def test_core_of_keeps_core_and_system_fields() -> None:
    doc = {**validated(P, profile("p1", "a1", 1)), "_version": 3, "_etag": '"v3"'}
    assert set(core_of(P, doc)) == CORE | {"_version", "_etag"}


def test_joined_takes_the_core_from_the_row_and_the_rest_from_the_document() -> None:
    part = {**profile("p1", "a1", 2, name="old name", bio="kept"), "_version": 4}
    core = {**core_of(P, profile("p1", "a1", 1, name="new name")), "_version": 5, "_etag": "e"}
    doc = joined(P, core, part)
    assert (doc["name"], doc["bio"], len(doc["earnedBadges"])) == ("new name", "kept", 1)
    assert (doc["_version"], doc["_etag"]) == (5, "e")
    alone = joined(P, core, None)  # no document part (yet): the model's defaults
    assert (alone["bio"], alone["preferredFantasyThemes"]) == (None, [])
    assert joined(P, core, {**part, "_deleted": True})["bio"] is None


def test_with_part_keeps_a_whole_document_as_it_is() -> None:
    whole = profile("p1", "a1", 1, bio="mine")
    assert with_part(P, whole, profile("p1", "a1", 0, bio="theirs")) == whole


def test_canonical_compares_the_core_only() -> None:
    a = {**profile("p1", "a1", 2, bio="one"), "_version": 2}
    b = {**profile("p1", "a1", 2, bio="two"), "_version": 2}
    assert canonical(P, a) == canonical(P, b)
    b["earnedBadges"][1]["badgeName"] = "changed"
    assert differing_paths(canonical(P, a), canonical(P, b)) == ["earnedBadges[1].badgeName"]
    tombstone = {**a, "_deleted": True}
    assert canonical(P, tombstone) == canonical(P, {**tombstone, "earnedBadges": []})
