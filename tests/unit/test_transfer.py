"""`transfer.import_jsonl` when the store fails mid-way: what was written, where to go on."""

from __future__ import annotations

import json

import pytest

from mystira_data.errors import StoreUnavailable
from mystira_data.transfer import import_jsonl
from mystira_data.types import JsonDoc


class FailsAfter:
    """A writer whose store goes away after ``ok`` writes."""

    def __init__(self, ok: int) -> None:
        self.ok = ok
        self.written: list[str] = []

    async def upsert(self, container: str, doc: JsonDoc) -> JsonDoc:
        if len(self.written) == self.ok:
            raise StoreUnavailable("document store down")
        self.written.append(doc["id"])
        return doc


def line(i: int) -> str:
    return json.dumps({"id": f"acc-{i}", "email": f"p{i}@example.org"}) + "\n"


async def test_a_store_failure_mid_import_names_the_count_and_the_line_to_resume_from() -> None:
    lines = [line(0), "\n", line(1), line(2), line(3)]
    writer = FailsAfter(ok=2)
    with pytest.raises(StoreUnavailable) as caught:
        await import_jsonl(writer, "Accounts", lines)
    assert writer.written == ["acc-0", "acc-1"]
    assert "imported 2 document(s), resume from line 4" in str(caught.value)
