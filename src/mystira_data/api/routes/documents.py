"""The data API, generated from the catalog: ``/api/v1/<kebab-case container>`` for every
document container.

    GET    /{id}[?partitionKey=]   one document; ETag: "<_version>"
    GET    ?<field>=<value>&pageSize=&continuation=   a page of matches (declared fields only)
    POST   (body: the document)    create → 201, Location, ETag
    PUT    /{id}   [If-Match]      replace; a stale ETag → 412
    DELETE /{id}   [If-Match]      delete (cascades as V002 says) → 204

Every call goes through the polyglot repository, so each follows its container's phase. The
ETag is the polyglot ``_version``: it stays valid when a phase moves reads to the other store.
"""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Header, Request, Response
from fastapi import Query as Param
from fastapi.responses import JSONResponse
from pydantic import BaseModel, create_model

from mystira_data import catalog
from mystira_data.api.auth import Caller
from mystira_data.api.auth.roles import Principal
from mystira_data.api.listing import filters_from
from mystira_data.api.problems import ApiProblem, forbidden, invalid
from mystira_data.api.scoping import Access, PlayerScope, access
from mystira_data.api.state import ApiState, Platform
from mystira_data.catalog import ContainerSpec
from mystira_data.domain.codec import codec_for
from mystira_data.errors import AlreadyExists, NotFound
from mystira_data.fields import SYSTEM_FIELDS
from mystira_data.query import MAX_PAGE_SIZE, Filter, Op, Query
from mystira_data.types import JsonDoc

PREFIX = "/api/v1"


def kebab(name: str) -> str:
    """``GameSessions`` → ``game-sessions``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def public(doc: JsonDoc) -> JsonDoc:
    """The document as callers see it: no store or versioning fields (the ETag has those)."""
    return {k: v for k, v in doc.items() if k not in SYSTEM_FIELDS}


def etag(doc: JsonDoc) -> str:
    return f'"{int(doc.get("_version") or 0)}"'


def expected_version(if_match: str | None) -> int | None:
    """The ``_version`` an ``If-Match`` asks for; None for no condition (or ``*``)."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise ApiProblem(412, "Precondition Failed", "If-Match does not name a current ETag")
    return int(tag)


def answer(doc: JsonDoc, status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(public(doc), status_code=status, headers={"ETag": etag(doc), **headers})


class DocumentRoutes:
    """The routes of one container; `router` mounts them."""

    def __init__(self, spec: ContainerSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.access = access(spec.name)
        self.codec = codec_for(spec.model)

    # -- checks --------------------------------------------------------------------------
    def scope(self, state: ApiState, caller: Principal) -> PlayerScope | None:
        """The player's scope, or None for operators and admins (who see everything)."""
        if not caller.is_player:
            return None
        if self.access is Access.PRIVATE:
            raise NotFound(self.name, "")  # players cannot see that the container exists
        return PlayerScope(state.poly.repository, caller)

    def may_write(self, caller: Principal) -> None:
        if caller.is_player and self.access is Access.SHARED:
            raise forbidden(f"{self.name} is read-only for players")

    async def check_owned(self, scope: PlayerScope | None, doc: JsonDoc, id: str) -> None:
        if (
            scope is not None
            and self.access is Access.OWNED
            and not await scope.owns(self.name, doc)
        ):
            raise scope.not_found(self.name, id)

    # -- reads ---------------------------------------------------------------------------
    async def fetch(
        self, state: ApiState, caller: Principal, id: str, partition_key: str | None
    ) -> JsonDoc:
        scope = self.scope(state, caller)
        repo = state.poly.repository
        pk = partition_key
        if pk is None and self.spec.pk_field == "id":
            pk = id
        if pk is None and scope is not None:
            pk = scope.partition_of(self.name)
        if pk is None:
            doc = await self._by_id(state, id)
        else:
            doc = await repo.read(self.name, id, pk)
        await self.check_owned(scope, doc, id)
        return doc

    async def _by_id(self, state: ApiState, id: str) -> JsonDoc:
        """Without a partition key: look the id up across partitions."""
        q = Query(filters=(Filter("id", Op.EQ, id),), cross_partition=True, page_size=2)
        found = (await state.poly.repository.query(self.name, q)).items
        if not found:
            raise NotFound(self.name, id)
        return found[0]

    async def page(
        self, state: ApiState, caller: Principal, request: Request, size: int, token: str | None
    ) -> dict[str, Any]:
        scope = self.scope(state, caller)
        filters = filters_from(self.name, request.query_params)
        pk = request.query_params.get("partitionKey")
        if pk is None:  # a filter on the partition-key field scopes the query to it
            pk = next((str(f.value) for f in filters if f.path == self.spec.pk_field), None)
        q: Query | None = Query(
            filters=filters, partition_key=pk, cross_partition=pk is None, page_size=size
        )
        if scope is not None and q is not None and self.access is Access.OWNED:
            q = await scope.narrow(self.name, q)
        if q is None:
            return {"items": [], "continuation": None}
        found = await state.poly.repository.query(self.name, q, continuation=token)
        return {"items": [public(d) for d in found.items], "continuation": found.continuation}

    # -- writes --------------------------------------------------------------------------
    async def create(self, state: ApiState, caller: Principal, body: BaseModel) -> JsonDoc:
        self.may_write(caller)
        scope = self.scope(state, caller)
        doc = self.codec.encode(body)
        await self.check_owned(scope, doc, doc["id"])
        try:
            return await state.poly.repository.create(self.name, doc)
        except AlreadyExists:
            if scope is not None:  # a 409 would tell a player another account's id exists
                await self.fetch(state, caller, doc["id"], str(doc[self.spec.pk_field]))
            raise

    async def replace(
        self, state: ApiState, caller: Principal, id: str, body: BaseModel, if_match: str | None
    ) -> JsonDoc:
        self.may_write(caller)
        doc = self.codec.encode(body)
        if doc["id"] != id:
            raise invalid("id", "must equal the id in the path")
        scope = self.scope(state, caller)
        await self.check_owned(scope, doc, id)
        if scope is not None:  # the stored one must be the account's too
            await self.fetch(state, caller, id, str(doc[self.spec.pk_field]))
        expected = expected_version(if_match)
        return await state.poly.repository.replace(self.name, doc, expected_version=expected)

    async def delete(
        self,
        state: ApiState,
        caller: Principal,
        id: str,
        partition_key: str | None,
        if_match: str | None,
    ) -> None:
        self.may_write(caller)
        current = await self.fetch(state, caller, id, partition_key)
        pk = current[self.spec.pk_field]
        expected = expected_version(if_match)
        await state.poly.repository.delete(self.name, id, pk, expected_version=expected)


PartitionKeyParam = Annotated[str | None, Param(alias="partitionKey")]
IfMatch = Annotated[str | None, Header(alias="If-Match")]


def container_router(spec: ContainerSpec) -> APIRouter:
    """The five routes of ``spec``'s container."""
    routes = DocumentRoutes(spec)
    path = f"{PREFIX}/{kebab(spec.name)}"
    router = APIRouter(prefix=path, tags=[spec.name])

    async def read_one(
        id: str, state: Platform, caller: Caller, partition_key: PartitionKeyParam = None
    ) -> Response:
        return answer(await routes.fetch(state, caller, id, partition_key))

    async def list_page(
        request: Request,
        state: Platform,
        caller: Caller,
        page_size: Annotated[int, Param(alias="pageSize", ge=1, le=MAX_PAGE_SIZE)] = 100,
        continuation: str | None = None,
        partition_key: PartitionKeyParam = None,
    ) -> Response:
        return JSONResponse(await routes.page(state, caller, request, page_size, continuation))

    async def create(body: BaseModel, state: Platform, caller: Caller) -> Response:
        doc = await routes.create(state, caller, body)
        # Ids may be any Unicode; a header is Latin-1, so the path segment is percent-encoded.
        return answer(doc, 201, Location=f"{path}/{quote(doc['id'], safe='')}")

    async def replace(
        id: str, body: BaseModel, state: Platform, caller: Caller, if_match: IfMatch = None
    ) -> Response:
        return answer(await routes.replace(state, caller, id, body, if_match))

    async def delete(
        id: str,
        state: Platform,
        caller: Caller,
        partition_key: PartitionKeyParam = None,
        if_match: IfMatch = None,
    ) -> Response:
        await routes.delete(state, caller, id, partition_key, if_match)
        return Response(status_code=204)

    # The body's type is the container's model (validation + OpenAPI schema); set here because
    # it is only known at run time.
    create.__annotations__["body"] = spec.model
    replace.__annotations__["body"] = spec.model
    one = {"model": spec.model, "headers": {"ETag": {"schema": {"type": "string"}}}}
    page = {"model": page_model(spec)}
    _add(router, "", list_page, "GET", f"List {spec.name}", page, _list_params(spec))
    _add(router, "", create, "POST", f"Create a {spec.name} document", one, status=201)
    _add(router, "/{id}", read_one, "GET", f"Read a {spec.name} document", one)
    _add(router, "/{id}", replace, "PUT", f"Replace a {spec.name} document", one)
    _add(router, "/{id}", delete, "DELETE", f"Delete a {spec.name} document", None, status=204)
    return router


def page_model(spec: ContainerSpec) -> type[BaseModel]:
    """The documented shape of a list answer: ``{"items": [...], "continuation": ...}``."""
    return create_model(
        f"{spec.model.__name__}Page",
        items=(list[spec.model], ...),  # type: ignore[name-defined]
        continuation=(str | None, None),
    )


def _add(
    router: APIRouter,
    path: str,
    endpoint: Any,
    method: str,
    summary: str,
    success: dict[str, Any] | None,
    extra: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> None:
    router.add_api_route(
        path,
        endpoint,
        methods=[method],
        summary=summary,
        status_code=status,
        responses={status: success} if success else None,
        response_class=Response,
        openapi_extra=extra,
        name=f"{endpoint.__name__}_{router.prefix.rsplit('/', 1)[-1]}",
    )


def _list_params(spec: ContainerSpec) -> dict[str, Any]:
    """The declared filters, documented as query parameters (read from the query string)."""
    names = catalog.query_fields(spec.name)
    params = [
        {
            "name": n,
            "in": "query",
            "required": False,
            "schema": {"type": "string"},
            "description": f"equals (field {n})",
        }
        for n in names
    ]
    return {"parameters": params}


def routers() -> list[APIRouter]:
    """One router per document container, in catalog order."""
    return [container_router(spec) for spec in catalog.document_containers()]
