"""Paging ordered by id is served by the id indexes of both stores, not a sort per page.

A full scan by id (verify, backfill) reads every page; a sort per page makes it quadratic.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa

from mystira_data.documents import sqlite as docsql
from mystira_data.query import Op, Order, Query
from mystira_data.relational import RelationalStore

from .docs import account

ROWS = 3000
BY_ID = Query(cross_partition=True, include_deleted=True, page_size=50, order_by=(Order("id"),))
BY_ID_DESC = Query(cross_partition=True, page_size=50, order_by=(Order("id", descending=True),))


async def _second_page_statement(store: RelationalStore, query: Query) -> tuple[str, Any]:
    """The SQL (and parameters) the store runs for a continuation page of ``query``."""
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    first = await store.query("Accounts", query)
    assert first.continuation is not None
    sa.event.listen(store.engine.sync_engine, "before_cursor_execute", record)
    try:
        await store.query("Accounts", query, continuation=first.continuation)
    finally:
        sa.event.remove(store.engine.sync_engine, "before_cursor_execute", record)
    (select,) = [s for s in seen if s[0].lstrip().upper().startswith("SELECT")]
    return select


async def test_postgres_pages_by_id_with_an_index_scan_and_no_sort(pg_url: str) -> None:
    async with RelationalStore(pg_url) as store:
        async with store.transaction() as conn:
            await conn.execute(sa.text("DELETE FROM accounts"))
        docs = ({**account(f"acc-{i:05d}"), "_version": 1} for i in range(ROWS))
        assert await store.bulk_upsert_if_newer("Accounts", docs) == ROWS
        async with store.transaction() as conn:
            await conn.execute(sa.text("ANALYZE accounts"))
        for query in (BY_ID, BY_ID_DESC):
            statement, params = await _second_page_statement(store, query)
            async with store.reading() as conn:
                rows = await conn.exec_driver_sql(f"EXPLAIN {statement}", params)
                plan = "\n".join(r[0] for r in rows)
            assert "Index Scan" in plan, plan
            assert "ix_accounts_id_c" in plan, plan
            assert "Sort" not in plan, plan
        async with store.transaction() as conn:
            await conn.execute(sa.text("DELETE FROM accounts"))


def _sqlite_plan(query: Query, after: list[Any] | None) -> str:
    conn = sqlite3.connect(":memory:")
    try:
        for statement in docsql.SCHEMA:
            conn.execute(statement)
        rows = [("Accounts", f'"acc-{i}"', f"acc-{i}", "{}", "e", 0, i, 0) for i in range(ROWS)]
        conn.executemany(
            "INSERT INTO documents (container, pk, id, body, etag, ts, lsn, feed_range) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("ANALYZE")
        sql = docsql.page_sql("Accounts", query, after, 50)
        found = conn.execute(f"EXPLAIN QUERY PLAN {sql.text}", sql.params).fetchall()
        return "\n".join(str(r[-1]) for r in found)
    finally:
        conn.close()


def test_sqlite_document_store_pages_by_id_on_documents_by_id_without_a_temp_sort() -> None:
    id_range = BY_ID.where("id", Op.GT, "acc-10").where("id", Op.LE, "acc-20")  # verify's
    for query in (BY_ID, BY_ID_DESC, id_range):
        for after in (None, ["acc-100", '"acc-100"']):
            plan = _sqlite_plan(query, after)
            assert "documents_by_id" in plan, plan
            assert "TEMP B-TREE" not in plan, plan


def test_sqlite_document_store_other_orders_still_sort_by_the_field() -> None:
    # The shortcut is for id alone; another field keeps its (rank, value) keys.
    plan = _sqlite_plan(Query(cross_partition=True, order_by=(Order("email"),)), None)
    assert "USE TEMP B-TREE FOR ORDER BY" in plan, plan
