"""The `Gates` section: defaults, per-container overrides (also from env), clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mystira_data.errors import ConfigError
from mystira_data.settings import load_settings


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "appsettings.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_overrides_apply_to_their_container_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gates = {"MaxLagChanges": 100, "Containers": {"Accounts": {"ShadowMinComparisons": 5000}}}
    monkeypatch.setenv("MYSTIRA__GATES__CONTAINERS__GAMESESSIONS__MAXERRORRATERATIO", "1.5")
    s = load_settings(write(tmp_path, {"Gates": gates}))
    accounts, sessions = (s.gates.for_container(c) for c in ("Accounts", "GameSessions"))
    assert (accounts.max_lag_changes, accounts.shadow_min_comparisons) == (100, 5000)
    assert (sessions.shadow_min_comparisons, sessions.max_error_rate_ratio) == (0, 1.5)
    assert s.gates.for_container("PlayerScenarioScores").max_lag_seconds == 5.0


@pytest.mark.parametrize(
    "gates",
    [
        {"ShadowMinConsistency": 1.5},
        {"Containers": {"Nope": {"MaxLagChanges": 1}}},
        {"Containers": {"Accounts": {"MaxLagChange": 1}}},
        {"Containers": {"Accounts": {"MaxLagChanges": -1}}},
    ],
)
def test_bad_gate_settings_are_config_errors(tmp_path: Path, gates: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, {"Gates": gates}))
    assert "Gates" in info.value.key
