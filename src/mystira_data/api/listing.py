"""List parameters of the data API: declared filters from the query string, typed by model.

``GET /api/v1/game-sessions?status=Completed&profileId=p1&pageSize=50&continuation=…``:
each filter is an equality on a field the catalog declares (`catalog.query_fields`); any
other name is a 422 naming it. Values are read as the model's field type (bool, number,
string), so ``isGuest=true`` matches JSON ``true``, not the string.
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import Path
from pydantic import BaseModel

from mystira_data import catalog
from mystira_data.api.problems import ApiProblem
from mystira_data.query import Filter, Op

# A numbered row (dead letter, verify run): a stored integer, so a path past 64 bits is a 422,
# not a driver overflow.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

RESERVED = frozenset({"continuation", "pageSize", "partitionKey"})


def filters_from(container: str, params: Mapping[str, str]) -> tuple[Filter, ...]:
    """The equality filters named in ``params`` (reserved names skipped)."""
    allowed = catalog.query_fields(container)
    model = catalog.get(container).model
    found: list[Filter] = []
    bad: list[dict[str, str]] = []
    for name, raw in params.items():
        if name in RESERVED:
            continue
        if name not in allowed:
            bad.append(
                {"path": name, "message": f"not filterable; use one of {', '.join(allowed)}"}
            )
            continue
        try:
            found.append(Filter(name, Op.EQ, _typed(model, name, raw)))
        except ValueError as exc:
            bad.append({"path": name, "message": str(exc)})
    if bad:
        detail = "; ".join(f"{b['path']}: {b['message']}" for b in bad)
        raise ApiProblem(422, "Unprocessable Content", detail, errors=bad)
    return tuple(found)


def _typed(model: type[BaseModel], alias: str, raw: str) -> Any:
    kind = _field_type(model, alias)
    if kind is bool:
        if raw not in ("true", "false"):
            raise ValueError("must be true or false")
        return raw == "true"
    if kind is int or kind is float:
        try:
            number = float(raw)
        except ValueError:
            raise ValueError("must be a number") from None
        return int(number) if number.is_integer() else number
    return raw


def _field_type(model: type[BaseModel], alias: str) -> Any:
    for name, info in model.model_fields.items():
        if (info.alias or name) == alias:
            return _unoptional(info.annotation)
    return str


def _unoptional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else annotation
    return annotation
