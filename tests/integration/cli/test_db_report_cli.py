"""`mystira db` and `mystira report` on the embedded defaults, after a backfill."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mystira_data.cli.app import app
from mystira_data.relational import migrate

runner = CliRunner()


def mystira(tmp_path: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(tmp_path / "data"), *args])
    return result.exit_code, result.stdout, result.stderr


def test_db_upgrade_current_and_downgrade(tmp_path: Path) -> None:
    code, out, err = mystira(tmp_path, "db", "upgrade")
    assert code == 0, err
    assert migrate.head() in out
    code, out, _ = mystira(tmp_path, "db", "current")
    assert f"current: {migrate.head()}" in out
    code, out, err = mystira(tmp_path, "db", "downgrade", "base")
    assert code == 0, err
    assert "at None" in out


def test_reports_after_backfill(tmp_path: Path) -> None:
    assert mystira(tmp_path, "seed", "--demo", "--accounts", "10")[0] == 0
    code, out, err = mystira(tmp_path, "backfill", "--all", "--json")
    assert code == 0, err
    reports = json.loads(out)
    assert [r["container"] for r in reports] == [
        "Accounts", "UserProfiles", "GameSessions", "PlayerScenarioScores",
        "AvatarConfigurationFiles"]
    assert all(r["done"] and r["written"] == r["read"] for r in reports)
    code, out, err = mystira(tmp_path, "report", "completion", "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert sum(r["sessions"] for r in rows) == reports[2]["read"]
    code, out, _ = mystira(tmp_path, "report", "accounts", "--json")
    assert len(json.loads(out)) == 10
    code, out, _ = mystira(tmp_path, "verify", "--all")
    assert code == 0, out
