"""Consistency: backfill, verify (with segment checksums), compare, repair."""

# Public modules, imported by name (none is loaded by importing the package).
__all__ = ["backfill", "compare", "repair", "row_text", "segments", "streams", "verify"]
