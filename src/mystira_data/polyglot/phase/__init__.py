"""Phases: the rules, the durable record and its copies, the write gate, the fenced switch."""

# Public modules, imported by name (none is loaded by importing the package).
__all__ = ["control", "copies", "gate", "guards", "record", "rules", "switch"]
