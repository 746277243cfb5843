"""Every case of issue #14 §2: one stderr line, the right exit code, never a traceback or a secret.

Exit codes: 0 ok, 1 a finding, 2 usage/config/input, 3 a store unavailable.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mystira_data.cli.app import app
from mystira_data.domain.codec import codec_for
from mystira_data.domain.enums import MediaType
from mystira_data.domain.media import MediaAsset
from tests.integration.consistency.data import account, embedded, session
from tests.servers.postgres import server_url, with_database

runner = CliRunner()
SECRET = "s3cret-Pa55"  # in every connection string below: must never be printed
MARKUP = "[/][bold]x[/bold]"  # stored text Rich would choke on if read as markup
PG = "MYSTIRA__CONNECTIONSTRINGS__POSTGRESQL"


def closed_port() -> int:
    """A local TCP port nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_url(*, user: str | None = None, database: str | None = None) -> str:
    """A URL of the session's PostgreSQL server (TCP or socket) carrying SECRET."""
    from sqlalchemy.engine import make_url

    base = make_url(with_database(server_url(), database or "test"))
    changed = base.set(username=user or base.username, password=SECRET)
    return changed.render_as_string(hide_password=False)


def local_url(port: object, *, host: str = "127.0.0.1", query: str = "") -> str:
    """A URL of a server that is not there (or cannot be), carrying SECRET."""
    return f"postgresql://postgres:{SECRET}@{host}:{port}/test{query}"


@dataclass(frozen=True)
class Case:
    args: tuple[str, ...]
    code: int
    says: str
    env: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)  # written under tmp_path first


def cases() -> dict[str, Callable[[], Case]]:
    # Built lazily: the PostgreSQL ones need the session's server URL.
    cfg = "--config"
    return {
        "postgres wrong port": lambda: Case(
            ("phase", "get", "Accounts"), 3, "unreachable",
            {PG: local_url(closed_port())}),
        "postgres unknown host": lambda: Case(
            ("phase", "get", "Accounts"), 3, "unreachable",
            {PG: local_url(5432, host="no-such-host.invalid")}),
        "postgres wrong user/password": lambda: Case(
            ("phase", "get", "Accounts"), 2, "refused the login",
            {PG: pg_url(user="no_such_role_mystira")}),
        "postgres port abc": lambda: Case(
            ("phase", "get", "Accounts"), 2, "ConnectionStrings:PostgreSql",
            {PG: local_url("abc")}),
        "postgres sslmode=require": lambda: Case(
            ("phase", "get", "Accounts"), 3, "StoreUnavailable",
            {PG: local_url(closed_port(), query="?sslmode=require")}),
        "postgres database missing": lambda: Case(
            ("phase", "get", "Accounts"), 2, "db upgrade --create-database",
            {PG: pg_url(database="mystira_no_such_db")}),
        "verify with postgres down": lambda: Case(
            ("verify", "GameSessions"), 3, "StoreUnavailable",
            {PG: local_url(closed_port())}),
        "redis string not a URL": lambda: Case(
            ("phase", "get", "Accounts"), 2, "ConnectionStrings:Redis",
            {"MYSTIRA__CONNECTIONSTRINGS__REDIS": f"localhost:6379,password={SECRET}"}),
        "BreakerOpenSeconds=inf": lambda: Case(
            ("phase", "get", "Accounts"), 2, "BreakerOpenSeconds",
            {"MYSTIRA__POLYGLOTPERSISTENCE__BREAKEROPENSECONDS": "inf"}),
        "config not UTF-8": lambda: Case(
            (cfg, "{tmp}/bad.json", "phase", "get", "Accounts"), 2, "not UTF-8",
            files={"bad.json": b'{"Caching": {"KeyPrefix": "caf\xe9"}}'}),
        "config with a UTF-8 BOM is accepted": lambda: Case(
            (cfg, "{tmp}/bom.json", "phase", "get", "Accounts"), 0, "Accounts: DualWriteCosmosRead",
            files={"bom.json": b"\xef\xbb\xbf" + json.dumps(
                {"PolyglotPersistence": {"Containers": {"Accounts": "DualWriteCosmosRead"}}}
            ).encode()}),
        "verify --report into a missing directory": lambda: Case(
            ("verify", "GameSessions", "--report", "{tmp}/missing/report.json"), 2,
            "does not exist"),
        "repair --from-report malformed": lambda: Case(
            ("repair", "GameSessions", "--from-report", "{tmp}/report.json"), 2,
            "not a `verify --report` file",
            files={"report.json": b'[{"container": "GameSessions"}]'}),
        "repair --from-report not JSON": lambda: Case(
            ("repair", "GameSessions", "--from-report", "{tmp}/report.json"), 2,
            "cannot read report", files={"report.json": b"{oops"}),
        "db downgrade bogus": lambda: Case(("db", "downgrade", "bogus"), 2, "'bogus'"),
        "export --out onto a directory": lambda: Case(
            ("export", "Accounts", "--out", "{tmp}"), 2, "IsADirectoryError"),
        "markup in stored text: report": lambda: Case(
            ("report", "completion"), 0, MARKUP),
        "markup in stored text: media list": lambda: Case(("media", "list"), 0, MARKUP),
    }


@pytest.fixture(scope="module")
def with_markup(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir whose stored text is Rich markup, in both stores."""
    data = tmp_path_factory.mktemp("markup") / "data"

    async def body() -> None:
        async with embedded(data) as poly:
            rel = poly.raw_relational
            await rel.upsert("Accounts", account(0))
            await rel.upsert("GameSessions", {**session(0, 1), "scenarioId": MARKUP})
            asset = MediaAsset(id="m1", media_id=MARKUP, url=f"image/{MARKUP}.png",
                               media_type=MediaType.IMAGE, mime_type="image/png",
                               file_size_bytes=1)
            await poly.stores.documents.upsert("MediaAssets", codec_for(MediaAsset).encode(asset))

    asyncio.run(body())
    return data


@pytest.mark.parametrize("name", list(cases()))
def test_every_error_is_one_line_and_an_exit_code(
    name: str, tmp_path: Path, with_markup: Path
) -> None:
    case = cases()[name]()
    for file, content in case.files.items():
        (tmp_path / file).write_bytes(content)
    args = [a.replace("{tmp}", str(tmp_path)) for a in case.args]
    data = with_markup if "markup" in name else tmp_path / "data"

    result = runner.invoke(app, ["--data-dir", str(data), *args], env=case.env)

    shown = result.stdout + result.stderr
    assert result.exit_code == case.code, shown
    assert "Traceback" not in shown
    assert SECRET not in shown
    assert case.says in shown
    if case.code:
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error: ")


def test_debug_prints_the_traceback(tmp_path: Path) -> None:
    env = {PG: local_url(closed_port())}
    result = runner.invoke(
        app, ["--debug", "--data-dir", str(tmp_path), "phase", "get", "Accounts"], env=env
    )
    assert result.exit_code == 3
    assert "Traceback" in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: StoreUnavailable")
    assert SECRET not in result.stdout + result.stderr
