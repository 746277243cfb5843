"""The SQL implementations of the polyglot layer's durable state (phase record, leases,
dead letters and sync log, outbox relay source, verify log)."""
