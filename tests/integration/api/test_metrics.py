"""``/metrics`` on a real service: counters move with traffic, the lag gauge with a backlog,
no personal data in any label, every metric `docs/alerts.yml` names is served, and the
allow-list refuses other addresses."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from mystira_data.polyglot.consistency.backfill import backfill
from mystira_data.polyglot.phase.rules import Side
from mystira_data.settings import Phase
from tests.integration.api.conftest import Service, ServiceFactory, account

ALERTS = Path(__file__).parents[3] / "docs" / "alerts.yml"
METRIC_NAME = re.compile(r"\bmystira_[a-z_]+\b")


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of a scrape: (name, labels) → value."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


async def scrape(service: Service) -> str:
    answer = await service.http.get("/metrics")  # no key: readable by default
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return answer.text


async def test_counters_move_with_traffic_and_no_personal_data_appears(service: Service) -> None:
    headers = await service.key("operator")
    before = await scrape(service)
    body = account("acct-7f3e9b", email="private.person@example.org")
    created = await service.http.post("/api/v1/accounts", json=body, headers=headers)
    assert created.status_code == 201
    for _ in range(3):  # answered by the cache (write-through put it there)
        read = await service.http.get("/api/v1/accounts/acct-7f3e9b", headers=headers)
        assert read.status_code == 200
    missing = await service.http.get("/api/v1/accounts/acct-none", headers=headers)
    assert missing.status_code == 404  # a cache miss: the store is asked
    after = await scrape(service)
    call = {"container": "Accounts", "store": "documents"}
    counts = [
        value(text, "mystira_store_call_seconds_count", **call, operation=op)
        for text in (before, after)
        for op in ("create", "read")
    ]
    created_before, read_before, created_after, read_after = counts
    assert created_after == created_before + 1
    assert read_after >= read_before + 1
    hits = "mystira_cache_hits_total"
    assert value(after, hits) >= value(before, hits) + 3
    assert value(after, "mystira_store_up", store="documents") == 1
    assert value(after, "mystira_phase", container="Accounts") == 0  # CosmosOnly
    assert value(after, "mystira_ready") == 1
    for secret in ("acct-7f3e9b", "private.person", "example.org"):
        assert secret not in after


async def test_every_metric_alerts_yml_names_is_served(service: Service) -> None:
    rules = yaml.safe_load(ALERTS.read_text(encoding="utf-8"))
    named = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in METRIC_NAME.findall(rule["expr"])
    }
    assert len(named) >= 10
    text = await scrape(service)
    served = set()
    for family in text_string_to_metric_families(text):
        suffixes = ("_total", "_created") if family.type == "counter" else ("",)
        served.update(family.name + s for s in suffixes)
        served.update(s.name for s in family.samples)
        if family.type == "histogram":
            served.update(f"{family.name}_{s}" for s in ("bucket", "count", "sum"))
    assert named <= served, sorted(named - served)


async def test_the_lag_gauge_shows_a_backlog_until_replication_catches_up(
    open_service: ServiceFactory,
) -> None:
    phases = {"Containers": {"Accounts": Phase.DUAL_WRITE_COSMOS_READ.value}}
    async with open_service(PolyglotPersistence=phases) as service:
        poly = service.state.poly
        for n in range(3):  # into the document store only: the change feed holds them
            await poly.documents.create("Accounts", account(f"lagging-{n}"))
        lag = {"container": "Accounts", "direction": "relational"}
        behind = await scrape(service)
        assert value(behind, "mystira_replication_lag_changes", **lag) == 3
        assert value(behind, "mystira_replication_lag_seconds", **lag) >= 0
        assert value(behind, "mystira_phase", container="Accounts") == 1
        await poly.replicate_until_caught_up("Accounts")
        caught_up = await scrape(service)
        assert value(caught_up, "mystira_replication_lag_changes", **lag) == 0


async def test_the_allow_list_restricts_metrics(open_service: ServiceFactory) -> None:
    async with open_service(Api={"MetricsAllow": "10.0.0.0/8"}) as service:
        refused = await service.http.get("/metrics")  # the test client is 127.0.0.1
        assert refused.status_code == 403
        assert refused.headers["content-type"] == "application/problem+json"
    async with open_service(Api={"MetricsAllow": "127.0.0.0/8"}) as service:
        assert (await service.http.get("/metrics")).status_code == 200


async def test_shadow_reads_backfill_and_verify_move_their_metrics(
    open_service: ServiceFactory,
) -> None:
    pp = {
        "Containers": {"Accounts": Phase.DUAL_WRITE_COSMOS_READ.value},
        "EnableConsistencyValidation": True,
        "ConsistencySampleRate": 1.0,
    }
    async with open_service(PolyglotPersistence=pp, Caching={"Enabled": False}) as service:
        poly = service.state.poly
        for n in range(4):  # the document store only: PostgreSQL lacks them until backfill
            await poly.documents.create("Accounts", account(f"shadowed-{n}"))
        before = await scrape(service)
        headers = await service.key("operator")
        assert (await service.http.get("/api/v1/accounts/shadowed-0", headers=headers)).is_success
        assert poly.router.shadow is not None
        await poly.router.shadow.drain()
        await backfill(poly, "Accounts", Side.RELATIONAL)
        await poly.verify("Accounts", settle_s=0)
        after = await scrape(service)
    accounts = {"container": "Accounts"}
    for name in ("mystira_shadow_reads_total", "mystira_shadow_read_mismatches_total"):
        assert value(after, name, **accounts) == value(before, name, **accounts) + 1
    copied = "mystira_backfill_documents_total"
    into = {**accounts, "direction": "relational"}
    assert value(after, copied, **into) == value(before, copied, **into) + 4
    assert value(after, "mystira_backfill_done", **into) == 1
    assert value(after, "mystira_verify_documents_compared", **accounts) == 4
    assert value(after, "mystira_verify_differences", **accounts) == 0
