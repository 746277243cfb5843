"""The operator console in a real headless Chromium (Debian's ``chromium``), against
`mystira serve` on the embedded stores: sign in through the form, see every container, move
a phase with the confirmation (a refusal names its gates; a forced move needs a reason),
see the audit entries, and leave a screenshot in ``tests/artifacts/console.png``.

Chromium is required, not optional: without it this test fails and says how to install it.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, Page, expect, sync_playwright
from typer.testing import CliRunner

from mystira_data import catalog
from mystira_data.api.app import create_app
from mystira_data.bootstrap import open_platform
from mystira_data.cli.app import app
from mystira_data.polyglot.replication.processor import DeadLetter
from mystira_data.polyglot.state.dead_letters import RelationalDeadLetters
from mystira_data.settings import Settings, load_settings
from tests.servers.ports import free_port

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "artifacts"
TIMEOUT_MS = 15_000
# A switch of the primary pauses writes for the drain time (10 s by default): keep it short.
FAST_SWITCH = {
    "MYSTIRA__POLYGLOTPERSISTENCE__PHASESWITCHMARGINMS": "50",
    "MYSTIRA__POLYGLOTPERSISTENCE__PHASESWITCHDRAINMS": "100",
}  # the page refreshes every 2 s; a bound, not a speed claim


def create_key(data: Path, *args: str) -> str:
    result = CliRunner().invoke(app, ["--data-dir", str(data), "auth", "create-key", *args])
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


@dataclass(frozen=True)
class Served:
    base: str
    operator: str  # keys made before the browser starts (its driver runs an event loop)
    player: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """`mystira serve` on a free port, with an operator and a player key."""
    data = tmp_path / "data"
    operator = create_key(data, "--role", "operator")
    player = create_key(data, "--role", "player", "--account", "acc-1")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MYSTIRA")}
    env.update(FAST_SWITCH)
    command = [str(Path(sys.executable).parent / "mystira"), "--data-dir", str(data)]
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [*command, "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=tmp_path,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_for(f"{base}/healthz", server)
            yield Served(base, operator, player)
        finally:
            server.terminate()
            server.wait(timeout=60)


def wait_for(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"serve exited with {server.returncode}")
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("serve did not answer in time")


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install -y chromium (the console test needs it)"
        )
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def sign_in(page: Page, base: str, key: str) -> None:
    page.goto(f"{base}/console")
    expect(page).to_have_url(f"{base}/console/login")
    page.fill("#key", key)
    page.click("button[type=submit]")


def confirm(page: Page, container: str, target: str, reason: str, *, force: bool = False) -> None:
    """Click a row's move button and fill its confirmation."""
    page.locator(f'tr[data-container="{container}"] button[data-target="{target}"]').click()
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#confirm-container")).to_have_text(container)
    ok = dialog.locator("#confirm-ok")
    page.fill("#confirm-name", container[:-1])  # not quite the name: no confirming
    page.fill("#confirm-reason", reason)
    expect(ok).to_be_disabled()
    page.fill("#confirm-name", container)
    if force:
        page.check("#confirm-force")
    expect(ok).to_be_enabled()
    ok.click()


def test_an_operator_moves_a_phase_from_the_console(served: Served, browser: Browser) -> None:
    base, operator, player = served.base, served.operator, served.player
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)

    sign_in(page, base, player)
    expect(page.locator(".refused")).to_contain_text("player key cannot use the console")

    sign_in(page, base, operator)
    expect(page).to_have_url(f"{base}/console")
    for spec in catalog.CONTAINERS:
        expect(page.locator(f'tr[data-container="{spec.name}"]')).to_have_count(1)
    secret = operator.split("_", 2)[2]
    assert secret not in page.content()
    assert secret not in page.url
    assert "mystira_console" not in page.evaluate("document.cookie")  # HttpOnly

    # The page's own origin cannot change anything without the CSRF token.
    status = page.evaluate(
        """async () => (await fetch('/admin/v1/phases/Accounts', {
            method: 'PUT', credentials: 'same-origin',
            headers: {'Content-Type': 'application/json'},
            body: JSON.stringify({phase: 'DualWriteCosmosRead', reason: 'no token'})})).status"""
    )
    assert status == 403

    row = page.locator('tr[data-container="Accounts"]')
    confirm(page, "Accounts", "DualWriteCosmosRead", "start the migration")
    expect(page.locator("#confirm")).to_be_hidden()
    expect(row.locator(".phase")).to_contain_text("DualWriteCosmosRead")
    audit = page.locator("table.audit tbody tr").first
    expect(audit).to_contain_text("CosmosOnly → DualWriteCosmosRead")
    expect(audit).to_contain_text("start the migration")
    expect(row.locator(".gates")).to_contain_text("gate 2 (verify)")

    # The next move needs evidence: the refusal names each failed gate with its number.
    confirm(page, "Accounts", "DualWritePostgresRead", "cut reads over")
    failed = page.locator("#confirm-result .failed-gates")
    expect(failed).to_contain_text(re.compile(r"gate 2 \(verify\): no verify has run"))
    page.check("#confirm-force")
    page.click("#confirm-ok")
    expect(page.locator("#confirm")).to_be_hidden()
    expect(row.locator(".phase")).to_contain_text("DualWritePostgresRead")
    expect(audit).to_contain_text("DualWriteCosmosRead → DualWritePostgresRead")
    expect(audit.locator(".forced")).to_have_count(1)

    # A verify started from the console is a job on the page, then a linked report.
    page.locator('tr[data-container="Accounts"] button[data-action="verify"]').click()
    page.fill("#confirm-name", "Accounts")
    page.click("#confirm-ok")
    expect(page.locator("table.jobs tbody tr").first).to_contain_text("verify")
    expect(row.locator('a[href^="/admin/v1/verify-runs/"]')).to_have_count(1)

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)

    page.click(".logout button")
    expect(page).to_have_url(f"{base}/console/login")
    page.goto(f"{base}/console")
    expect(page).to_have_url(f"{base}/console/login")


async def add_dead_letters(settings: Settings, *ids: str) -> None:
    """Dead letters of Accounts whose documents the primary does not hold (a retry closes
    them: nothing is left to deliver)."""
    async with open_platform(settings, provision=True) as poly:
        letters = RelationalDeadLetters(poly.raw_relational, "change-feed")
        now = datetime.now(UTC)
        for id in ids:
            document = {"id": id, "email": f"{id}@example.org"}
            await letters.add(DeadLetter("Accounts", id, 1, "refused", 5, now, document))


@pytest.fixture
def served_in_thread(tmp_path: Path) -> Iterator[Served]:
    """The app in this process (uvicorn in a thread)."""
    data = tmp_path / "data"
    operator = create_key(data, "--role", "operator")
    player = create_key(data, "--role", "player", "--account", "acc-1")
    settings = load_settings(data_dir=data)
    asyncio.run(add_dead_letters(settings, "gone-1", "gone-2"))
    app = create_app(settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="console-uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while not server.started:
            assert thread.is_alive(), "uvicorn stopped while starting"
            assert time.monotonic() < deadline, "uvicorn did not start in time"
            time.sleep(0.05)
        yield Served(f"http://127.0.0.1:{port}", operator, player)
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def test_control_buttons_make_the_controls_api_calls(
    served_in_thread: Served, browser: Browser
) -> None:
    served = served_in_thread
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(TIMEOUT_MS)
    sign_in(page, served.base, served.operator)
    expect(page).to_have_url(f"{served.base}/console")
    cell = page.locator('td.controls[data-container="Accounts"]')
    expect(cell.locator(".control-state")).to_contain_text("replication: running")

    cell.locator('button[data-action="pause"][data-task="replication"]').click()
    page.fill("#confirm-name", "Accounts")
    expect(page.locator("#confirm-ok")).to_be_disabled()  # a control needs a reason
    page.fill("#confirm-reason", "nightly load")
    page.click("#confirm-ok")
    expect(page.locator("#confirm")).to_be_hidden()
    expect(cell.locator(".control-state")).to_contain_text("replication: paused")

    cell.locator('button[data-action="throttle"][data-task="backfill"]').click()
    page.fill("#confirm-name", "Accounts")
    page.fill("#confirm-reason", "429s")
    page.fill("#confirm-rate", "50")
    page.fill("#confirm-batch", "100")
    page.fill("#confirm-max-lag", "none")
    page.click("#confirm-ok")
    expect(page.locator("#confirm")).to_be_hidden()
    # Retry asks for the container's name, then retries each open dead letter.
    row = page.locator('tr[data-container="Accounts"]')
    expect(row.locator(".dead")).to_have_text("2")
    row.locator('button[data-action="retry"]').click()
    expect(page.locator("#confirm-reason-box")).to_be_hidden()
    page.fill("#confirm-name", "Accounts")
    page.click("#confirm-ok")
    expect(page.locator("#confirm")).to_be_hidden()
    expect(row.locator(".dead")).to_have_text("0")
    expect(row.locator('button[data-action="retry"]')).to_have_count(0)

    # The real controls API holds what the buttons asked, by this key, in the audit log.
    bearer = {"Authorization": f"Bearer {served.operator}"}
    held = httpx.get(f"{served.base}/admin/v1/controls/Accounts", headers=bearer).json()
    assert held["replication"]["paused"] is True
    assert held["replication"]["reason"] == "nightly load"
    assert (held["backfill"]["rateLimit"], held["backfill"]["batchSize"]) == (50, 100)
    assert held["backfill"]["maxLagSeconds"] is None
    key_id = served.operator.split("_")[1]
    assert held["backfill"]["updatedBy"] == f"key:{key_id}"
    audit = httpx.get(f"{served.base}/admin/v1/audit?container=Accounts", headers=bearer).json()
    actions = [entry["action"] for entry in audit["items"]]
    assert "pause" in actions
    assert "throttle" in actions
