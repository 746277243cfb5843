"""Backfill and verify runs shared by many worker processes: leased id-range segments."""
