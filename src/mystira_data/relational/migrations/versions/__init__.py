"""The migration scripts, in order (``v0001_baseline`` …); Alembic loads them by path."""

__all__: list[str] = []
