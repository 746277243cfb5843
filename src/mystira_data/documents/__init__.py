"""Document-store port and its adapters (sqlite embedded default, cosmos)."""

# Public modules, imported by name (not here: an adapter's libraries load only when it is used).
__all__ = ["cosmos", "port", "sqlite"]
