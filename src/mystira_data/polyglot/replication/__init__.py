"""Replication: processors tailing the primary's log, leases, durable attempt counts."""
