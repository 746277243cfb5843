"""Alembic migrations of the relational store (``env.py`` and ``versions/``).

Alembic loads these files by path (``relational.migrate`` points it here); nothing imports
them as modules, so the package exports nothing.
"""

__all__: list[str] = []
