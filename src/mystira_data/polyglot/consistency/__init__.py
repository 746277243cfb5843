"""Consistency: backfill, verify (with segment checksums), compare, repair."""
