"""The service's small parts, without a store: names, ETags, keys, the bucket, the mapping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mystira_data import errors as e
from mystira_data.api.auth.keys import digest, key_id_of, new_token
from mystira_data.api.jobs import HEARTBEAT_S, LOST_AFTER_S, Job, JobState
from mystira_data.api.problems import ApiProblem, from_platform
from mystira_data.api.ratelimit import RateLimiter
from mystira_data.api.routes.documents import expected_version, kebab


def test_route_names_are_kebab_case_container_names() -> None:
    assert kebab("GameSessions") == "game-sessions"
    assert kebab("Accounts") == "accounts"
    assert kebab("CharacterMediaMetadataFiles") == "character-media-metadata-files"


@pytest.mark.parametrize(
    ("header", "version"), [(None, None), ("*", None), ('"3"', 3), ('W/"12"', 12)]
)
def test_if_match_names_a_version(header: str | None, version: int | None) -> None:
    assert expected_version(header) == version


def test_an_if_match_that_is_no_etag_of_ours_fails_the_precondition() -> None:
    with pytest.raises(ApiProblem) as raised:
        expected_version('"abc"')
    assert raised.value.status == 412


def test_keys_are_random_and_carry_their_id() -> None:
    (id1, key1), (id2, key2) = new_token(), new_token()
    assert id1 != id2
    assert key1 != key2
    assert key_id_of(key1) == id1
    assert len(digest(key1)) == 64
    for forged in ("", "myk_", "myk_short_x", "abc_0123456789ab_x", f"myk_{id1}_"):
        assert key_id_of(forged) is None


def test_the_bucket_allows_the_burst_then_the_rate() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=2.0, burst=3, clock=lambda: now[0])
    assert [limiter.take("k") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("k") == pytest.approx(0.5)
    assert limiter.take("other") == 0.0
    now[0] += 0.5
    assert limiter.take("k") == 0.0


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (e.NotFound("Accounts", "a1"), 404),
        (e.AlreadyExists("Accounts", "a1"), 409),
        (e.ConcurrencyConflict("stale"), 412),
        (e.InvalidDocument("bad", path="scenes[0].id"), 422),
        (e.PartitionKeyMismatch("pk", path="accountId"), 422),
        (e.InvalidQuery("bad token"), 422),
        (e.PhaseTransitionRefused("lag"), 409),
        (e.Throttled("429", retry_after=0.2), 429),
        (e.CircuitOpen("open"), 503),
        (e.StoreUnavailable("down"), 503),
        (e.SchemaOutdated("0004", "0005"), 503),
        (e.ConfigError("Api:X", "bad"), 500),
    ],
)
def test_platform_errors_map_to_statuses(error: e.MystiraError, status: int) -> None:
    problem = from_platform(error, breaker_open_s=30)
    assert problem.status == status
    if status in (429, 503):
        assert int(problem.headers["Retry-After"]) >= 1
    if status == 422 and isinstance(error, e.InvalidDocument):
        assert problem.errors == [{"path": error.path, "message": str(error)}]
    if status == 500:
        assert problem.detail is None


def test_a_running_job_whose_heartbeat_stopped_reads_as_lost() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    job = Job("j1", "verify", None, JobState.RUNNING, None, None, None, "k", start, start)
    assert job.current_state(start + timedelta(seconds=LOST_AFTER_S - 1)) is JobState.RUNNING
    assert job.current_state(start + timedelta(seconds=LOST_AFTER_S + 1)) is JobState.LOST
    ended = Job("j2", "verify", None, JobState.SUCCEEDED, None, {}, None, "k", start, start)
    assert ended.current_state(start + timedelta(days=1)) is JobState.SUCCEEDED
    assert HEARTBEAT_S * 3 < LOST_AFTER_S  # a few missed beats are not a lost job
