"""Every catalog model survives encode -> decode -> encode unchanged, also through a JSON string."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from mystira_data.catalog import CONTAINERS, ContainerSpec
from mystira_data.domain import codec_for
from mystira_data.domain.play import GameSession
from tests.strategies import strategy_for, utc_datetimes

_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("spec", CONTAINERS, ids=lambda s: s.name)
def test_round_trip_is_lossless(spec: ContainerSpec) -> None:
    codec = codec_for(spec.model)

    @_SETTINGS
    @given(strategy_for(spec.model))
    def check(model: Any) -> None:
        encoded = codec.encode(model)
        decoded = codec.decode(encoded)
        assert decoded == model
        assert codec.encode(decoded) == encoded
        # Through text too, as the stores persist it; the dumps compare int/float exactly.
        text = json.dumps(encoded, allow_nan=False)
        assert codec.decode(json.loads(text)) == model
        assert json.dumps(codec.encode(codec.decode(json.loads(text)))) == text

    check()


@pytest.mark.parametrize("spec", CONTAINERS, ids=lambda s: s.name)
def test_encoded_documents_carry_id_and_partition_key(spec: ContainerSpec) -> None:
    codec = codec_for(spec.model)

    @_SETTINGS
    @given(strategy_for(spec.model))
    def check(model: Any) -> None:
        encoded = codec.encode(model)
        assert isinstance(encoded["id"], str)
        assert isinstance(encoded[spec.pk_field], str)

    check()


@given(utc_datetimes())
@settings(max_examples=50, deadline=None)
def test_any_offset_becomes_the_same_utc_instant(moment: datetime) -> None:
    session = GameSession(id="s", account_id="a", start_time=moment)
    encoded = codec_for(GameSession).encode(session)["startTime"]
    expected = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    assert encoded.endswith("Z")
    assert session.start_time == expected
