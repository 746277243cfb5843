"""`mystira auth …` and `mystira serve` as an operator runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from typer.testing import CliRunner

from mystira_data.api.auth.keys import digest
from mystira_data.cli.app import app
from tests.servers.ports import free_port

runner = CliRunner()


def mystira(data: Path, *args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["--data-dir", str(data), *args])
    return result.exit_code, result.stdout, result.stderr


def test_create_key_prints_the_key_last_and_list_never_shows_it(tmp_path: Path) -> None:
    code, out, err = mystira(
        tmp_path, "auth", "create-key", "--role", "player", "--account", "acc-1"
    )
    assert code == 0, err
    key = out.strip().splitlines()[-1]
    assert key.startswith("myk_")
    assert " " not in key
    code, listed, _ = mystira(tmp_path, "auth", "list")
    assert code == 0
    key_id = key.split("_")[1]
    assert key_id in listed
    assert "player" in listed
    assert "acc-1" in listed
    assert key not in listed
    assert key.split("_")[2] not in listed
    assert digest(key) not in listed
    code, out, _ = mystira(tmp_path, "auth", "revoke", key_id)
    assert (code, out.strip()) == (0, f"revoked {key_id}")
    code, _, err = mystira(tmp_path, "auth", "revoke", key_id)
    assert code == 2
    assert "no live key" in err


def test_create_key_refuses_a_player_key_without_an_account(tmp_path: Path) -> None:
    code, _, err = mystira(tmp_path, "auth", "create-key", "--role", "player")
    assert code == 2
    assert "accountId" in err
    code, _, err = mystira(tmp_path, "auth", "create-key", "--role", "root")
    assert code == 2


def test_serve_answers_on_a_free_port_and_never_logs_the_key(tmp_path: Path) -> None:
    data = tmp_path / "data"
    code, out, _ = mystira(data, "auth", "create-key", "--role", "operator")
    assert code == 0
    key = out.strip().splitlines()[-1]
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYSTIRA")}
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "mystira"),
            "--data-dir",
            str(data),
            "serve",
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
        cwd=tmp_path,
    )
    try:
        health = _wait_for(f"http://127.0.0.1:{port}/healthz", server)
        assert health.json() == {"status": "ok"}
        headers = {"Authorization": f"Bearer {key}"}
        read = httpx.get(f"http://127.0.0.1:{port}/api/v1/accounts/nobody", headers=headers)
        assert read.status_code == 404
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0].decode()
    assert "GET /healthz" in output  # the access log is on …
    assert key not in output  # … and shows no header
    assert key.split("_")[2] not in output


def _wait_for(url: str, server: subprocess.Popen[bytes]) -> httpx.Response:
    """The first answer from the starting server (the bound is a limit, not a speed claim)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"serve exited with {server.returncode}")
        try:
            return httpx.get(url, timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("serve did not answer in time")
