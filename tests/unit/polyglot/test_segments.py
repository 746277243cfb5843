"""The Python half of verify's segment checksums, and verify's cheap stored-form check.

Agreement with PostgreSQL itself is tested in tests/integration/consistency/
test_verify_segments.py; these pin the rules that agreement rests on.
"""

from __future__ import annotations

import json
from typing import Any

from mystira_data.polyglot.consistency import row_text as rt
from mystira_data.polyglot.consistency.compare import same_stored
from mystira_data.polyglot.consistency.verify import compare_pair
from mystira_data.polyglot.write.repository import validated
from mystira_data.relational.mapping import mapping_for


def session(**fields: Any) -> dict[str, Any]:
    body = {"id": "gs-1", "accountId": "acc-1", "startTime": "2026-01-01T00:00:00.000001Z"}
    return {**validated("GameSessions", {**body, **fields}), "_version": 2}


def test_stored_forms_ignore_store_fields_and_key_order_but_not_json_types() -> None:
    a = {"id": "x", "n": 1, "flag": True, "_etag": '"e1"', "_ts": 1}
    b = {"flag": True, "_ts": 2, "n": 1, "id": "x", "_etag": '"v1"'}
    assert same_stored(a, b)
    assert not same_stored(a, {**b, "flag": 1})  # == on dicts would call these equal
    assert not same_stored(a, {**b, "n": "1"})


def test_pairs_differing_only_in_spelling_still_agree_through_the_codec() -> None:
    doc = session()
    spelled = {**doc, "startTime": "2026-01-01T00:00:00.000001+00:00"}
    assert not same_stored(doc, spelled)
    assert compare_pair("GameSessions", doc, spelled, "accountId") is None
    changed = compare_pair("GameSessions", doc, {**doc, "sceneCount": 5}, "accountId")
    assert changed is not None
    assert changed.paths == ["sceneCount"]


def test_objects_take_jsonb_key_order_length_first() -> None:
    ordered = rt._jsonb_order([{"bb": 1, "a": {"zz": 0, "y": 1}, "ab": [{"cc": 1, "b": 2}]}])
    assert json.dumps(ordered) == '[{"a": {"y": 1, "zz": 0}, "ab": [{"b": 2, "cc": 1}], "bb": 1}]'


def test_numbers_are_printed_as_postgresql_numeric_prints_them() -> None:
    cells = [1e-05, -0.0, 1e20, -6.25e-08, 0.5, 3, "scene-12", "1e-05"]
    assert rt.render_cells(cells) == (
        '[0.00001, 0.0, 100000000000000000000, -0.0000000625, 0.5, 3, "scene-12", "1e-05"]'
    )
    assert not rt._odd_numbers('["scene-12", -0.05, 0.0]')  # no exponent, no -0.0 here
    assert rt._odd_numbers("[2e-05]")
    assert rt._odd_numbers("[-0.0]")


def test_direct_cells_equal_the_codec_path_and_refuse_what_they_cannot_vouch_for() -> None:
    maker = rt.RowMaker(mapping_for("GameSessions"))
    doc = session(compassValues={"honesty": {"axis": "honesty", "currentValue": 1e-07}})
    cells = maker.direct(doc)
    assert cells is not None
    assert rt.render_cells(cells) == rt.render(maker.mapping.to_row(doc), maker.columns)
    assert maker.direct({**doc, "stray": 1}) is None  # a field the model does not have
    assert maker.direct({**doc, "status": None}) is None  # None where the model wants a value
    assert maker.direct({**doc, "startTime": "2026-01-01T00:00:00.000001+00:00"}) is None
    assert maker.direct({**doc, "_version": True}) is None
    # Either way a different document has a different digest.
    assert maker.digest(doc) != maker.digest({**doc, "sceneCount": 1})
    assert maker.digest({**doc, "status": None}) == rt.DIRTY  # the codec refuses it too
