"""`mystira control`: changes are stored, shown and audited; bad input is one line, exit 2;
`mystira status` names what holds a task."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from mystira_data.cli.app import app
from mystira_data.polyglot.state.audit_log import cli_actor

runner = CliRunner()


def mystira(data: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data), *args])
    return result.exit_code, result.stdout, result.stderr


def test_pause_set_resume_are_stored_shown_and_audited(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, out, err = mystira(data, "control", "pause", "Accounts", "--task", "replication",
                             "--reason", "incident 42")
    assert (code, out.strip()) == (0, "Accounts replication: PAUSED"), err
    code, out, err = mystira(data, "control", "set", "GameSessions", "--task", "backfill",
                             "--rate", "50", "--max-lag", "5", "--batch-size", "200",
                             "--reason", "daytime")
    assert (code, out.strip()) == (
        0, "GameSessions backfill: running, rate 50/s, max lag 5s, batch 200"), err
    assert mystira(data, "control", "set", "GameSessions", "--task", "backfill", "--rate",
                   "none", "--reason", "night")[0] == 0

    code, out, _ = mystira(data, "control", "show", "GameSessions", "--json")
    backfill = json.loads(out)["backfill"]
    assert code == 0
    assert (backfill["rateLimit"], backfill["maxLagSeconds"], backfill["batchSize"]) == (
        None, 5.0, 200)
    assert (backfill["reason"], backfill["updatedBy"], backfill["state"]) == (
        "night", cli_actor(), None)
    code, out, _ = mystira(data, "control", "show", "--json")
    assert json.loads(out)["controls"]["Accounts"]["replication"]["paused"] is True

    code, out, _ = mystira(data, "status")
    assert "control Accounts replication: paused by operator" in out
    code, out, _ = mystira(data, "status", "--json")
    rows = {r["container"]: r for r in json.loads(out)["containers"]}
    assert rows["Accounts"]["controls"]["replication"]["paused"] is True
    assert rows["Badges"]["controls"] is None  # no relational mapping: nothing to control

    assert mystira(data, "control", "resume", "Accounts", "--task", "replication",
                   "--reason", "fixed")[0] == 0
    code, out, _ = mystira(data, "audit", "--json")
    entries = [json.loads(line) for line in out.splitlines()]
    assert [(e["action"], e["container"], e["reason"], e["actor"]) for e in entries] == [
        ("resume", "Accounts", "fixed", cli_actor()),
        ("throttle", "GameSessions", "night", cli_actor()),
        ("throttle", "GameSessions", "daytime", cli_actor()),
        ("pause", "Accounts", "incident 42", cli_actor()),
    ]
    assert entries[2]["detail"] == {"task": "backfill", "rateLimit": 50.0,
                                    "maxLagSeconds": 5.0, "batchSize": 200}


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    data = tmp_path / "data"
    for args, said in [
        (("pause", "Nope", "--task", "backfill", "--reason", "x"), "unknown container 'Nope'"),
        (("pause", "Badges", "--task", "backfill", "--reason", "x"), "unknown container"),
        (("pause", "Accounts", "--task", "backfill"), "--reason is required"),
        (("pause", "Accounts", "--task", "backfill", "--reason", "  "), "--reason is required"),
        (("resume", "Accounts", "--reason", "x"), "--task is required"),
        (("set", "Accounts", "--task", "backfill", "--reason", "x"), "nothing to set"),
        (("set", "Accounts", "--task", "backfill", "--rate", "fast", "--reason", "x"),
         "--rate 'fast': a number or 'none'"),
        (("set", "Accounts", "--task", "backfill", "--rate", "0", "--reason", "x"),
         "rateLimit: must be above 0"),
        (("set", "Accounts", "--task", "replication", "--max-lag", "5", "--reason", "x"),
         "maxLagSeconds: only backfill waits on replication lag"),
        (("set", "Accounts", "--task", "backfill", "--batch-size", "5000", "--reason", "x"),
         "batchSize: must be within 1..1000"),
        (("show", "Nope"), "unknown container 'Nope'"),
    ]:
        code, out, err = mystira(data, "control", *args)
        assert code == 2, (args, out, err)
        assert said in err, (args, err)
        assert len(err.strip().splitlines()) == 1, err
    code, out, _ = mystira(data, "audit", "--json")
    assert out.strip() == ""  # nothing refused was changed or audited
