"""The health tracker's "since", error text without credentials, the metrics allow-list and
the container label that keeps ids out of metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mystira_data.errors import ConfigError, StoreUnavailable
from mystira_data.health import HealthTracker, describe
from mystira_data.metrics import container_label
from mystira_data.resilience import CallEvent
from mystira_data.settings import load_settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def event(*, unavailable: bool, error: str | None = None) -> CallEvent:
    return CallEvent("relational", "read", "Accounts", 0.01, error, unavailable)


def test_since_is_the_first_failure_of_the_outage_and_clears_on_an_answer() -> None:
    now = [T0]
    tracker = HealthTracker(clock=lambda: now[0])
    tracker.observe(event(unavailable=True, error="StoreUnavailable"))
    now[0] = T0 + timedelta(seconds=30)
    tracker.observe(event(unavailable=True, error="CircuitOpen"))
    assert tracker.since("relational") == T0
    assert tracker.error("relational") == "CircuitOpen"
    tracker.observe(event(unavailable=False, error="NotFound"))  # an answer: the store is up
    assert tracker.since("relational") is None
    now[0] = T0 + timedelta(seconds=60)
    tracker.failed("relational", "again")
    assert tracker.since("relational") == T0 + timedelta(seconds=60)
    assert tracker.since("never-seen") is None


def test_describe_names_the_error_and_blanks_url_credentials() -> None:
    exc = StoreUnavailable("cannot reach postgresql://app:s3cret@db:5432/x\ntrace line")
    text = describe(exc)
    assert text == "StoreUnavailable: cannot reach postgresql://***@db:5432/x"
    assert "s3cret" not in text
    assert describe(StoreUnavailable("")) == "StoreUnavailable: "


def test_metrics_allow_list() -> None:
    assert load_settings().api.metrics_allowed("203.0.113.9")  # open by default
    api = load_settings(Api={"MetricsAllow": "10.0.0.0/8, 127.0.0.1/32"}).api
    assert api.metrics_allowed("10.1.2.3")
    assert api.metrics_allowed("127.0.0.1")
    assert not api.metrics_allowed("192.168.0.1")
    assert not api.metrics_allowed("testclient")  # not an address: refused
    with pytest.raises(ConfigError, match="MetricsAllow"):
        load_settings(Api={"MetricsAllow": "10.0.0.0/33"})


def test_only_catalog_names_become_container_labels() -> None:
    assert container_label("GameSessions") == "GameSessions"
    assert container_label("someone@example.org") == "-"
    assert container_label("3f2a9c1e-account-id") == "-"
