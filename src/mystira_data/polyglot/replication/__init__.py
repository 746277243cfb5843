"""Replication: processors tailing the primary's log, leases, durable attempt counts."""

# Public modules, imported by name (none is loaded by importing the package).
__all__ = ["attempts", "dead_letters", "lag", "leases", "processor"]
