"""Phases: the rules, the durable record and its copies, the write gate, the fenced switch."""
