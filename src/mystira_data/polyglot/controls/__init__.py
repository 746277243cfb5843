"""Operator controls over replication and backfill: the durable record per (container, task),
the pacer every worker consults before each batch, and progress with an ETA."""

# Public modules, imported by name (none is loaded by importing the package).
__all__ = ["progress", "record", "store", "throttle"]
