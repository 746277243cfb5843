"""Our errors cross process boundaries (writer process, spawned benchmark workers) intact."""

from __future__ import annotations

import pickle

import pytest

from mystira_data.errors import (
    AlreadyExists,
    ConfigError,
    InvalidDocument,
    MystiraError,
    NotFound,
    SchemaOutdated,
    StoreUnavailable,
)


@pytest.mark.parametrize(
    "error",
    [
        ConfigError("PolyglotPersistence:Phase", "beyond the record"),
        NotFound("Accounts", "a1"),
        AlreadyExists("Accounts", "a1"),
        SchemaOutdated(None, "0004"),
        InvalidDocument("too long", path="displayName"),
        StoreUnavailable("down"),
    ],
)
def test_errors_survive_pickling(error: MystiraError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
