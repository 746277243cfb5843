"""`mystira phase set` goes through the gates and into the audit log; `mystira audit` reads it."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mystira_data.cli.app import app
from mystira_data.polyglot.state.audit_log import cli_actor

runner = CliRunner()
FAST = {
    "MYSTIRA__POLYGLOTPERSISTENCE__PHASESWITCHMARGINMS": "0",
    "MYSTIRA__POLYGLOTPERSISTENCE__PHASESWITCHDRAINMS": "0",
}


def mystira(data: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data), *args], env=FAST)
    return result.exit_code, result.stdout, result.stderr


def test_moves_refusals_and_forces_are_audited_with_actor_and_evidence(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert mystira(data, "phase", "set", "Accounts", "DualWriteCosmosRead")[0] == 0
    code, _, err = mystira(data, "phase", "set", "Accounts", "DualWritePostgresRead")
    assert code == 2
    assert "gate 2 (verify): no verify has run" in err
    code, _, err = mystira(data, "phase", "set", "Accounts", "DualWritePostgresRead", "--force")
    assert (code, "--force needs a --reason" in err) == (2, True)
    code, _, err = mystira(
        data, "phase", "set", "Accounts", "DualWritePostgresRead", "--force", "--reason", "drill"
    )
    assert code == 0, err

    code, out, err = mystira(data, "audit", "--container", "Accounts", "--json")
    assert code == 0, err
    forced, first = (json.loads(line) for line in out.splitlines())
    assert first["detail"] == {"from": "CosmosOnly", "to": "DualWriteCosmosRead"}
    assert (forced["actor"], forced["forced"], forced["reason"]) == (cli_actor(), True, "drill")
    assert forced["evidence"]["verify"]["detail"] == "no verify has run for this container"
    assert forced["evidence"]["lag"]["pending"] == 0

    code, out, _ = mystira(data, "audit", "--limit", "1")
    assert code == 0
    assert "DualWriteCosmosRead → DualWritePostgresRead; gates failing: verify" in out
    assert mystira(data, "audit", "--container", "Nope")[0] == 2
