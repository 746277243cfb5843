"""The polyglot layer: phases, routing repository, replication, resilience, verify."""

# Public modules and subpackages, imported by name: importing the package loads none of them.
__all__ = [
    "consistency",
    "layer",
    "phase",
    "ports",
    "replication",
    "resilient",
    "runs",
    "state",
    "write",
]
