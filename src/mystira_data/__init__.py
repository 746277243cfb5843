"""mystira-data: the data platform of Mystira (documents, stores and the polyglot layer)."""

__version__ = "0.1.0"

__all__ = ["__version__"]
