"""The writer mark (who wrote a document) and which changes replication must ask the store
about (`store_order._doubtful`)."""

from __future__ import annotations

from mystira_data.polyglot.replication.marker import Writer, marked, writer_of
from mystira_data.polyglot.replication.store_order import _doubtful
from tests.integration.consistency.data import account

ACCOUNT = {k: v for k, v in account(1).items() if k != "_version"}


def test_our_mark_survives_what_a_store_adds_and_a_tombstone() -> None:
    ours = marked({**ACCOUNT, "_version": 3})
    assert writer_of(ours) is Writer.OURS
    stored = {**ours, "_etag": '"e1"', "_ts": 1, "_rid": "r", "_lsn": 7}
    assert writer_of(stored) is Writer.OURS
    assert writer_of({**stored, "_version": 4, "_deleted": True}) is Writer.OURS


def test_foreign_writes_drop_or_break_the_mark() -> None:
    ours = marked({**ACCOUNT, "_version": 3})
    rebuilt = {k: v for k, v in ours.items() if not k.startswith("_")}
    assert writer_of(rebuilt) is Writer.FOREIGN
    patched = {**ours, "email": "changed@example.org"}  # a tracked update keeps the mark
    assert writer_of(patched) is Writer.FOREIGN
    assert writer_of({**ours, "_writer": "someone-else"}) is Writer.FOREIGN
    assert writer_of(marked(ACCOUNT, Writer.ADOPTED)) is Writer.ADOPTED


def test_which_changes_the_version_guard_cannot_judge() -> None:
    row = {**ACCOUNT, "_version": 3}
    ours = marked(row)
    assert not _doubtful("Accounts", {**ours, "_version": 4}, row)  # newer: guarded apply
    assert not _doubtful("Accounts", ours, None)  # no row yet
    assert not _doubtful("Accounts", ours, row)  # our redelivery at the row's version
    assert _doubtful("Accounts", ACCOUNT, row)  # no _version at all
    assert _doubtful("Accounts", ACCOUNT, None)
    assert _doubtful("Accounts", {**ours, "_version": 2}, row)  # below the row
    patched = {**ours, "email": "changed@example.org"}
    assert _doubtful("Accounts", patched, row)  # a foreign write at the row's version
    assert not _doubtful("Accounts", {**ACCOUNT, "_version": 3}, row)  # same content: nothing
