"""Document-store port and its adapters (sqlite embedded default, cosmos)."""
