"""Settings: appsettings.json sections, env overrides, validation, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mystira_data.errors import ConfigError
from mystira_data.settings import Phase, load_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("MYSTIRA__"):
            monkeypatch.delenv(name)


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "appsettings.json"
    path.write_text(json.dumps(data))
    return path


def test_defaults_match_the_seed_document(tmp_path: Path) -> None:
    s = load_settings(data_dir=tmp_path)
    assert s.polyglot_persistence.phase is Phase.COSMOS_ONLY
    assert s.polyglot_persistence.enable_compensation is True
    assert s.polyglot_persistence.dual_write_timeout_ms == 5000
    assert s.polyglot_persistence.enable_consistency_validation is False
    assert s.caching.key_prefix == "mystira:"
    assert s.caching.default_sliding_expiration_minutes == 30
    assert s.caching.default_absolute_expiration_minutes == 120
    assert s.connection_strings.cosmos_db.get_secret_value() == ""
    assert s.data_dir == tmp_path


def test_reads_dotnet_sections_from_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "ConnectionStrings": {"PostgreSql": "postgresql://u:pw@h/db"},
            "PolyglotPersistence": {
                "Phase": "DualWriteCosmosRead",
                "DualWriteTimeoutMs": 250,
                "Containers": {"GameSessions": "DualWritePostgresRead"},
            },
            "Caching": {"Enabled": False},
        },
    )
    s = load_settings(path)
    pp = s.polyglot_persistence
    assert pp.phase is Phase.DUAL_WRITE_COSMOS_READ
    assert pp.dual_write_timeout_ms == 250
    assert pp.phase_for("GameSessions") is Phase.DUAL_WRITE_POSTGRES_READ
    assert pp.phase_for("Accounts") is Phase.DUAL_WRITE_COSMOS_READ
    assert s.caching.enabled is False


def test_env_beats_file_and_arguments_beat_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(
        tmp_path, {"PolyglotPersistence": {"Phase": "CosmosOnly", "DualWriteTimeoutMs": 100}}
    )
    monkeypatch.setenv("MYSTIRA__POLYGLOTPERSISTENCE__PHASE", "DualWriteCosmosRead")
    monkeypatch.setenv("MYSTIRA__POLYGLOTPERSISTENCE__CONTAINERS__GAMESESSIONS", "PostgresOnly")
    monkeypatch.setenv("MYSTIRA__CACHING__KEYPREFIX", "x:")
    s = load_settings(path)
    assert s.polyglot_persistence.phase is Phase.DUAL_WRITE_COSMOS_READ
    assert s.polyglot_persistence.dual_write_timeout_ms == 100
    assert s.polyglot_persistence.containers == {"GameSessions": Phase.POSTGRES_ONLY}
    assert s.caching.key_prefix == "x:"
    s2 = load_settings(path, PolyglotPersistence={"Phase": "PostgresOnly"})
    assert s2.polyglot_persistence.phase is Phase.POSTGRES_ONLY


def test_the_document_budget_of_runs_is_off_unless_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert (
        load_settings(write(tmp_path, {})).polyglot_persistence.document_budget_per_second is None
    )
    monkeypatch.setenv("MYSTIRA__POLYGLOTPERSISTENCE__DOCUMENTBUDGETPERSECOND", "250")
    budget = load_settings(write(tmp_path, {})).polyglot_persistence.document_budget_per_second
    assert budget == 250.0


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"PolyglotPersistence": {"Phase": "Sideways"}}, "PolyglotPersistence:Phase"),
        ({"PolyglotPersistence": {"DualWriteTimeoutMs": 0}}, "DualWriteTimeoutMs"),
        ({"PolyglotPersistence": {"Containers": {"Nope": "CosmosOnly"}}}, "Containers"),
        ({"PolyglotPersistence": {"DocumentBudgetPerSecond": 0}}, "DocumentBudgetPerSecond"),
        ({"Caching": {"KeyPrefix": ""}}, "KeyPrefix"),
        ({"Bogus": {}}, "Bogus"),
    ],
)
def test_bad_values_raise_config_error_naming_the_key(
    tmp_path: Path, data: dict[str, object], key: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, data))
    assert key in info.value.key
    assert key in str(info.value)


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "appsettings.json"
    path.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(path)
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "missing.json")


def test_secrets_never_show(tmp_path: Path) -> None:
    secret = "AccountEndpoint=https://x/;AccountKey=c2VjcmV0LWtleQ==;"
    s = load_settings(write(tmp_path, {"ConnectionStrings": {"CosmosDb": secret}}))
    assert s.connection_strings.cosmos_db.get_secret_value() == secret
    for text in (repr(s), str(s), s.model_dump_json()):
        assert "c2VjcmV0LWtleQ" not in text
