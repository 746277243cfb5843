"""mystira-data: the data platform of Mystira (documents, stores and the polyglot layer)."""

__version__ = "0.1.0"
