"""The console's pure parts: latency quantiles from histogram buckets, the traffic numbers
read from a registry, job progress bars and the templates' escaping."""

from __future__ import annotations

import math

import pytest
from prometheus_client import CollectorRegistry, Counter, Histogram

from mystira_data.api.auth.roles import Principal, Role
from mystira_data.api.console.numbers import quantile, traffic
from mystira_data.api.console.render import render
from mystira_data.api.console.sessions import console_role
from mystira_data.api.console.view import Page, job_row

INF = math.inf


def test_quantiles_interpolate_within_the_bucket_like_prometheus() -> None:
    buckets = [(0.01, 50.0), (0.1, 90.0), (1.0, 100.0), (INF, 100.0)]
    assert quantile(0.5, buckets) == pytest.approx(0.01)
    assert quantile(0.7, buckets) == pytest.approx(0.01 + 0.09 * 0.5)
    assert quantile(0.99, buckets) == pytest.approx(0.1 + 0.9 * 0.9)
    assert quantile(0.5, [(0.01, 0.0), (INF, 0.0)]) is None
    assert quantile(0.5, []) is None
    # Past the last finite bound the answer is that bound (no made-up tail).
    assert quantile(0.99, [(0.5, 1.0), (INF, 10.0)]) == 0.5


def test_traffic_sums_operations_per_container_and_store() -> None:
    registry = CollectorRegistry()
    calls = Histogram(
        "mystira_store_call_seconds",
        "",
        ("container", "store", "operation"),
        buckets=(0.01, 0.1, 1.0),
        registry=registry,
    )
    errors = Counter(
        "mystira_store_call_errors", "", ("container", "store", "operation"), registry=registry
    )
    shadow = Counter("mystira_shadow_reads", "", ("container",), registry=registry)
    mismatches = Counter("mystira_shadow_read_mismatches", "", ("container",), registry=registry)
    for seconds in (0.005, 0.005, 0.05):
        calls.labels("Accounts", "documents", "read").observe(seconds)
    calls.labels("Accounts", "documents", "upsert").observe(0.5)
    errors.labels("Accounts", "documents", "upsert").inc()
    shadow.labels("Accounts").inc(10)
    mismatches.labels("Accounts").inc(1)
    found = traffic(registry)
    numbers = found.stores["Accounts"]["documents"]
    assert (numbers.calls, numbers.errors, numbers.error_rate) == (4, 1, 0.25)
    assert numbers.p(0.5) == pytest.approx(0.01)
    p99 = numbers.p(0.99)
    assert p99 is not None
    assert 0.1 < p99 <= 1.0
    assert found.consistency("Accounts") == pytest.approx(0.9)
    assert found.consistency("Scenarios") is None


def test_job_progress_renders_done_total_rate_and_eta() -> None:
    running = job_row(
        {"state": "running", "progress": {"done": 25, "total": 200, "rate": 5.0, "etaSeconds": 35}}
    )
    assert (running.percent, running.rate, running.eta_seconds) == (12.5, 5.0, 35.0)
    backfill = job_row({"state": "running", "progress": {"read": 10, "total": 40}})
    assert (backfill.done, backfill.percent, backfill.eta_seconds) == (10.0, 25.0, None)
    finished = job_row({"state": "succeeded", "progress": None})
    assert finished.percent == 100.0
    verified = job_row({"state": "succeeded", "progress": {"done": 0, "total": 1}})
    assert verified.percent == 100.0
    unknown = job_row({"state": "running", "progress": {"step": "verify and repair"}})
    assert unknown.percent is None


def test_only_operators_and_admins_may_use_the_console() -> None:
    assert [console_role(r) for r in Role] == [False, True, True]


def test_templates_escape_what_they_show() -> None:
    html = render("login.html", message="<script>alert(1)</script>")
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;" in html


def test_a_job_with_progress_renders_a_bar_and_its_eta() -> None:
    health = {
        "ready": False,
        "stores": {"documents": {"reachable": False, "since": "2026-01-01T00:00:00+00:00"}},
        "phaseSource": "mirror",
        "phasesLoaded": True,
        "writer": {"mode": "inline", "process": False, "queued": 0},
        "fallbacks": ["phases: read from the mirror copy"],
    }
    job = {
        "id": "0123456789abcdef",
        "kind": "backfill",
        "container": "Accounts",
        "state": "running",
        "progress": {"done": 25, "total": 200, "rate": 5.0, "etaSeconds": 95},
        "createdAt": "2026-01-01T00:00:00+00:00",
        "startedBy": "abc",
    }
    page = Page(health, [], [], [job_row(job)])
    html = render("live.html", page=page, controls=False, principal=Principal("k", Role.OPERATOR))
    assert '<progress max="100" value="12.5">' in html
    assert "25 / 200 · 5.0/s" in html
    assert "1m 35s" in html
    assert "NOT READY" in html
    assert "UNREACHABLE since 2026-01-01T00:00:00+00:00" in html
    assert "fallback active: phases: read from the mirror copy" in html
