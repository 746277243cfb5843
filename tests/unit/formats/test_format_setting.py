"""`DocumentStore:Format` picks the stored shape; the catalog holds the C# partition keys."""

from __future__ import annotations

import pytest

from mystira_data import catalog
from mystira_data.documents.formats import Efcore9Format, NativeFormat, format_for
from mystira_data.errors import ConfigError
from mystira_data.settings import DocumentFormat, load_settings


def test_native_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MYSTIRA__DOCUMENTSTORE__FORMAT", raising=False)
    assert load_settings().document_store.format is DocumentFormat.NATIVE
    assert isinstance(format_for(load_settings().document_store.format), NativeFormat)


def test_the_environment_selects_efcore9(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MYSTIRA__DOCUMENTSTORE__FORMAT", "efcore9")
    assert isinstance(format_for(load_settings().document_store.format), Efcore9Format)


def test_an_unknown_format_is_a_config_error_naming_the_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MYSTIRA__DOCUMENTSTORE__FORMAT", "efcore8")
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert caught.value.key == "DocumentStore:Format"


def test_partition_keys_per_format() -> None:
    native, csharp = catalog.partition_keys(), catalog.partition_keys(efcore=True)
    assert native["PlayerScenarioScores"] == "/profileId"
    assert csharp["PlayerScenarioScores"] == "/ProfileId"
    assert (native["CompassTrackings"], csharp["CompassTrackings"]) == ("/axis", "/id")
    differing = {name for name in native if native[name] != csharp[name]}
    assert differing == {"PlayerScenarioScores", "CompassTrackings"}
    assert Efcore9Format().partition_keys() == csharp
