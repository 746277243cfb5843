"""One error hierarchy for the whole package.

    MystiraError
    ├── ConfigError                 bad or unsafe configuration (names the key)
    ├── SchemaOutdated              the database is not at this code's schema revision
    ├── InvalidQuery                a Query the store cannot or will not run
    ├── InvalidDocument             a document that breaks the model or a store limit
    │   ├── PartitionKeyMismatch    partition-key value missing or not matching
    │   └── ForeignKeyViolation     a relational parent row is missing
    ├── NotFound                    no live document/row with that id
    ├── AlreadyExists               create of an id that exists
    ├── ConcurrencyConflict         stale ETag or `_version`
    ├── PhaseTransitionRefused      a phase change the guard will not allow
    └── StoreUnavailable            connection refused, timeout  (transient)
        ├── CircuitOpen             the breaker is open; not worth retrying now
        └── Throttled               429 after the SDK's own retries; not retried again

Adapters translate driver exceptions into these (always ``raise ... from exc``), so no SDK
exception type leaves a port. Whether an error is worth retrying is a property of our type:
``error.transient``.
"""

from __future__ import annotations


class MystiraError(Exception):
    """Base of every error this package raises on purpose."""

    transient: bool = False


class ConfigError(MystiraError):
    """A configuration value is missing, malformed or unsafe."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason

    def __reduce__(self) -> tuple[type[ConfigError], tuple[str, str]]:
        return type(self), (self.key, self.reason)  # picklable across processes


class SchemaOutdated(MystiraError):
    """The relational schema is not at the revision this code needs (only `db upgrade`
    migrates)."""

    def __init__(self, found: str | None, needed: str) -> None:
        super().__init__(
            f"the relational schema is at revision {found or 'none (never migrated)'}, this "
            f"code needs {needed}: run `mystira db upgrade`"
        )
        self.found = found
        self.needed = needed

    def __reduce__(self) -> tuple[type[SchemaOutdated], tuple[str | None, str]]:
        return type(self), (self.found, self.needed)


class InvalidQuery(MystiraError):
    """A query that cannot be run as asked (e.g. cross-partition without opting in)."""


class InvalidDocument(MystiraError):
    """A document breaks the model or a store limit; ``path`` names the offending field."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class PartitionKeyMismatch(InvalidDocument):
    """The partition-key value is missing or does not match the one given."""


class ForeignKeyViolation(InvalidDocument):
    """A row references a parent that does not exist (yet) in the relational store."""


class NotFound(MystiraError):
    """No live document or row with that id (tombstones count as missing)."""

    def __init__(self, container: str, id: str) -> None:
        super().__init__(f"{container}/{id} not found")
        self.container = container
        self.id = id

    def __reduce__(self) -> tuple[type[NotFound], tuple[str, str]]:
        return type(self), (self.container, self.id)


class AlreadyExists(MystiraError):
    """A create hit an id (or unique key) that already exists."""

    def __init__(self, container: str, id: str) -> None:
        super().__init__(f"{container}/{id} already exists")
        self.container = container
        self.id = id

    def __reduce__(self) -> tuple[type[AlreadyExists], tuple[str, str]]:
        return type(self), (self.container, self.id)


class ConcurrencyConflict(MystiraError):
    """The write was based on a stale ETag or `_version`."""


class PhaseTransitionRefused(MystiraError):
    """The phase guard refused a transition; the message says why. ``gates``: each failed
    evidence gate as ``{"path": "gates.<name>", "message": ...}`` (the API's ``errors``)."""

    def __init__(self, message: str, *, gates: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.gates = gates or []


class StoreUnavailable(MystiraError):
    """The backend cannot be reached right now (connection, timeout, breaker open)."""

    transient = True


class CircuitOpen(StoreUnavailable):
    """The backend's circuit breaker is open; calls fail fast until it half-opens."""

    transient = False


class Throttled(StoreUnavailable):
    """Rate limited after the driver's own retries; ``retry_after`` is the server's hint."""

    transient = False

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
