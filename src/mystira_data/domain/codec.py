"""Model <-> stored JSON, one codec per container.

Stores depend on the `DocumentCodec` protocol, not on a concrete format, so another wire
format (e.g. the C# EF Core Cosmos shape: PascalCase, ``$type``, comma-joined lists) can be
added as a second implementation without touching them. `JsonCodec` is our own camelCase
format.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar, cast

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import ErrorDetails

from mystira_data.errors import InvalidDocument
from mystira_data.fields import SYSTEM_FIELDS

M = TypeVar("M", bound=BaseModel)


_MAX_REPORTED_ERRORS = 5


class DocumentCodec(Protocol[M]):
    """Turns stored JSON documents into models and back, for one model class."""

    @property
    def model(self) -> type[M]: ...

    def decode(self, doc: Mapping[str, Any]) -> M: ...

    def encode(self, model: M) -> dict[str, Any]: ...


class JsonCodec(Generic[M]):
    """Our camelCase JSON format: exactly ``model_dump(mode="json", by_alias=True)``.

    Nothing is excluded on encode (no ``exclude_none``/``exclude_defaults``), so
    ``decode(encode(m)) == m`` for every valid model.
    """

    def __init__(self, model: type[M]) -> None:
        self._model = model

    @property
    def model(self) -> type[M]:
        return self._model

    def decode(self, doc: Mapping[str, Any]) -> M:
        """Validate a stored document (store system fields ignored) into a model.

        Raises `InvalidDocument` naming the first offending camelCase path.
        """
        if not isinstance(doc, Mapping):
            raise InvalidDocument(f"expected a JSON object, got {type(doc).__name__}")
        try:
            return self._model.model_validate(_without_system_fields(doc))
        except ValidationError as exc:
            raise invalid_document(exc) from exc

    def encode(self, model: M) -> dict[str, Any]:
        """The JSON-ready dict of ``model`` (camelCase keys, ISO datetimes, TimeSpan strings)."""
        if not isinstance(model, self._model):
            raise TypeError(f"expected {self._model.__name__}, got {type(model).__name__}")
        return model.model_dump(mode="json", by_alias=True)

    def __repr__(self) -> str:
        return f"JsonCodec({self._model.__name__})"


_CODECS: dict[type[BaseModel], JsonCodec[Any]] = {}


def _without_system_fields(doc: Mapping[str, Any]) -> dict[str, Any]:
    # Set operations run in C: cheaper than filtering every key in Python (bulk loads).
    found = SYSTEM_FIELDS.intersection(doc)
    if not found and type(doc) is dict:
        return doc  # validation does not change its input
    body = dict(doc)
    for key in found:
        del body[key]
    return body


@functools.cache
def stored_variant(model_cls: type[M]) -> type[M]:
    """``model_cls`` plus the store's system fields, to validate stored JSON text in one pass.

    Each system field becomes an optional ``sys<name>`` field under its exact stored name
    (``_version`` → ``sys_version``); whether it was present is in ``__pydantic_fields_set__``.
    The variant validates by alias only, so its extra names accept nothing that
    `JsonCodec.decode` would refuse.
    """
    namespace: dict[str, Any] = {
        "__annotations__": {f"sys{name}": Any for name in SYSTEM_FIELDS},
        "__module__": model_cls.__module__,
        "model_config": ConfigDict(validate_by_name=False),
    }
    for name in SYSTEM_FIELDS:
        namespace[f"sys{name}"] = Field(None, alias=name)
    return cast(type[M], type(f"Stored{model_cls.__name__}", (model_cls,), namespace))


def codec_for(model_cls: type[M]) -> JsonCodec[M]:
    """The (shared, stateless) JSON codec of ``model_cls``."""
    codec = _CODECS.get(model_cls)
    if codec is None:
        codec = _CODECS.setdefault(model_cls, JsonCodec(model_cls))
    return cast(JsonCodec[M], codec)


def error_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a path: ``scenes[2].branches[0].nextSceneId``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def invalid_document(exc: ValidationError) -> InvalidDocument:
    """Our error for a pydantic validation failure: the first error's path, up to five messages."""
    errors = exc.errors(include_url=False, include_input=False)
    message = _describe(errors[0])
    others = [f"{error_path(e['loc'])}: {_describe(e)}" for e in errors[1:_MAX_REPORTED_ERRORS]]
    if len(errors) > _MAX_REPORTED_ERRORS:
        others.append(f"{len(errors) - _MAX_REPORTED_ERRORS} more")
    if others:
        message += f" (also {'; '.join(others)})"
    return InvalidDocument(message, path=error_path(errors[0]["loc"]))


def _describe(error: ErrorDetails) -> str:
    # pydantic's messages already name the problem ("Field required", "Extra inputs are not
    # permitted"); the error type lets callers tell kinds apart. Input values are left out on
    # purpose: documents hold children's personal data.
    return f"{error['msg'].removeprefix('Value error, ')} [{error['type']}]"
