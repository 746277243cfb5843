"""Comparing one document as two stores hold it: canonical form, hash and differing paths."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mystira_data import catalog
from mystira_data.domain.base import stored_defaults
from mystira_data.domain.codec import codec_for
from mystira_data.errors import InvalidDocument
from mystira_data.fields import NOT_CONTENT
from mystira_data.types import JsonDoc

# Store-made fields that legitimately differ between stores.


def canonical(container: str, doc: JsonDoc) -> JsonDoc:
    """The document as its model writes it, plus `_version` and `_deleted`.

    Going through the codec removes representation noise (key order, ``1`` vs ``1.0``,
    timestamp spelling) so only real differences remain. A split container compares its
    core only: the document part has one home, the document store.
    """
    spec = catalog.get(container)
    codec = codec_for(spec.model)
    try:
        with stored_defaults():  # a field the stored doc lacks must read the same every time
            body = codec.encode(codec.decode(doc))
    except InvalidDocument:
        body = {k: v for k, v in doc.items() if k not in NOT_CONTENT}
    if spec.split is not None:
        keep = spec.split.relational_fields
        if doc.get("_deleted"):  # a tombstone keeps no child rows
            keep = frozenset(spec.split.core)
        body = {k: v for k, v in body.items() if k in keep}
    body["_version"] = doc.get("_version", 0)
    body["_deleted"] = bool(doc.get("_deleted", False))
    return body


def _unsigned_zero(value: Any) -> Any:
    # PostgreSQL's numeric has no negative zero: -0.0 comes back as 0, and is the same number.
    if isinstance(value, float) and value == 0.0:
        return 0.0
    if isinstance(value, dict):
        return {k: _unsigned_zero(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unsigned_zero(v) for v in value]
    return value


def _sorted_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(doc: JsonDoc) -> str:
    text = _sorted_json(doc)
    if "-0.0" in text:  # rare: only then walk the document (the walk costs more than the dump)
        text = _sorted_json(_unsigned_zero(doc))
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def stored_form(doc: JsonDoc) -> str:
    """The document as stored, minus store-made fields, as sorted compact JSON.

    Equal texts mean equal canonical forms (`canonical` depends on nothing else), so a pair
    that matches here needs no codec pass; JSON text keeps ``true`` and ``1`` apart, which
    ``==`` on dicts would not.
    """
    return _sorted_json({k: v for k, v in doc.items() if k not in NOT_CONTENT})


def same_stored(a: JsonDoc, b: JsonDoc) -> bool:
    return stored_form(a) == stored_form(b)


def differing_paths(a: Any, b: Any, prefix: str = "") -> list[str]:
    """Field paths (``scenes[2].title``) where two JSON values differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        out: list[str] = []
        for key in sorted(set(a) | set(b)):
            path = f"{prefix}.{key}" if prefix else str(key)
            if key not in a or key not in b:
                out.append(path)
            else:
                out.extend(differing_paths(a[key], b[key], path))
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            p
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for p in differing_paths(x, y, f"{prefix}[{i}]")
        ]
    return [] if a == b else [prefix or "$"]
