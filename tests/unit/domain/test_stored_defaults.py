"""Stored documents lacking defaulted fields decode the same every time."""

from __future__ import annotations

from mystira_data.domain.base import STORED_DEFAULT_ID, STORED_DEFAULT_TIME, stored_defaults
from mystira_data.domain.codec import codec_for
from mystira_data.domain.users import Account

LEGACY = {"id": "acc-1", "email": "kid@example.com", "displayName": "Kid"}


def test_a_new_document_gets_fresh_defaults() -> None:
    codec = codec_for(Account)
    first, second = codec.decode(LEGACY), codec.decode(LEGACY)
    assert first.created_at != STORED_DEFAULT_TIME
    assert first.subscription.id != second.subscription.id  # fresh ids each time


def test_a_stored_document_decodes_deterministically() -> None:
    codec = codec_for(Account)
    with stored_defaults():
        first = codec.encode(codec.decode(LEGACY))
        second = codec.encode(codec.decode(LEGACY))
    assert first == second
    account = Account.model_validate(first)
    assert account.created_at == STORED_DEFAULT_TIME
    assert account.last_login_at == STORED_DEFAULT_TIME
    assert account.subscription.id == STORED_DEFAULT_ID
    # Values present in the document are kept as they are.
    with stored_defaults():
        dated = codec.decode({**LEGACY, "createdAt": "2025-05-01T10:00:00Z"})
    assert dated.created_at.year == 2025


def test_the_block_does_not_leak() -> None:
    with stored_defaults():
        pass
    assert codec_for(Account).decode(LEGACY).created_at != STORED_DEFAULT_TIME
