"""The SQL implementations of the polyglot layer's durable state (phase record, leases,
dead letters and sync log, outbox relay source, verify log)."""

# Public modules, imported by name (none is loaded by importing the package).
__all__ = ["dead_letters", "leases", "outbox", "phases", "verify_log"]
