"""The relational database as a whole: create it, and see which tables hold data.

`mystira db upgrade --create-database` creates a missing PostgreSQL database; `mystira db
downgrade` lists the tables that hold rows before it drops anything.
"""

from __future__ import annotations

from sqlalchemy import Connection, func, inspect, select, table, text

from mystira_data.relational.engine import async_url, create_engine

MAINTENANCE_DB = "postgres"  # every PostgreSQL server has it; CREATE DATABASE runs from there
SCHEMA_BOOKKEEPING = "alembic_version"


async def create_database(url: str) -> bool:
    """Create the database ``url`` names if it is missing; True when it was created.

    SQLite files are created on first use, so there is nothing to do for them.
    """
    target = async_url(url)
    name = target.database
    if target.get_backend_name() != "postgresql" or not name:
        return False
    engine = create_engine(target.set(database=MAINTENANCE_DB), pool_size=1)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            found = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if found:
                return False
            # An identifier cannot be a bound parameter: quote it (doubling inner quotes).
            quoted = '"' + name.replace('"', '""') + '"'
            await conn.execute(text(f"CREATE DATABASE {quoted}"))
            return True
    finally:
        await engine.dispose()


async def populated_tables(url: str) -> dict[str, int]:
    """Row counts of every table holding at least one row (schema bookkeeping left out)."""
    engine = create_engine(url, pool_size=1)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_count_rows)
    finally:
        await engine.dispose()


def _count_rows(conn: Connection) -> dict[str, int]:
    names = [n for n in inspect(conn).get_table_names() if n != SCHEMA_BOOKKEEPING]
    counts = {}
    for name in sorted(names):
        rows = conn.execute(select(func.count()).select_from(table(name))).scalar_one()
        if rows:
            counts[name] = int(rows)
    return counts
