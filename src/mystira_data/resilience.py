"""Retry and circuit breaking per backend.

Retries use stamina (exponential backoff with jitter, attempt and time caps) and only fire on
errors our hierarchy marks ``transient``: never on 4xx-like errors, never on `Throttled`
(the Cosmos SDK already retried 429s) and never on `CircuitOpen`. The breaker is ours: a
small asyncio-friendly state machine (closed → open after N consecutive failures → half-open
after the open period lets one probe through). State changes go to hooks as frozen events.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeVar

import stamina

from mystira_data.errors import CircuitOpen, MystiraError, StoreUnavailable

T = TypeVar("T")


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True)
class BreakerEvent:
    """A breaker changed state."""

    backend: str
    state: BreakerState
    failures: int


Hook = Callable[[BreakerEvent], None]


@dataclass(frozen=True)
class CallEvent:
    """One store call finished, retries included: what metrics and the health tracker see.

    ``target`` is the container the call names; observers keep it only when it is a
    catalog name, never an id.
    """

    backend: str
    operation: str
    target: str
    seconds: float
    error: str | None  # our error type's name; None when the call succeeded
    unavailable: bool  # the store could not answer (down, timed out, breaker open, throttled)


CallHook = Callable[[CallEvent], None]


@dataclass
class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures for ``open_seconds``, then half-opens."""

    backend: str
    threshold: int = 5
    open_seconds: float = 30.0
    clock: Callable[[], float] = time.monotonic
    hooks: list[Hook] = field(default_factory=list)
    failures: int = 0  # consecutive
    # Totals since start, for the error-rate gate (`polyglot.state.evidence`).
    succeeded: int = 0
    failed: int = 0
    _opened_at: float | None = None
    _probing: bool = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self.clock() - self._opened_at >= self.open_seconds:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def before_call(self) -> None:
        """Fail fast while open; in half-open let a single probe through."""
        state = self.state
        if state is BreakerState.OPEN or (state is BreakerState.HALF_OPEN and self._probing):
            raise CircuitOpen(f"{self.backend}: circuit open after {self.failures} failures")
        self._probing = state is BreakerState.HALF_OPEN

    def record_success(self) -> None:
        was_open = self._opened_at is not None
        self.succeeded += 1
        self.failures, self._opened_at, self._probing = 0, None, False
        if was_open:
            self._emit(BreakerState.CLOSED)

    def record_failure(self) -> None:
        self.failures += 1
        self.failed += 1
        if self._probing or (self._opened_at is None and self.failures >= self.threshold):
            self._opened_at, self._probing = self.clock(), False
            self._emit(BreakerState.OPEN)

    def _emit(self, state: BreakerState) -> None:
        event = BreakerEvent(self.backend, state, self.failures)
        for hook in self.hooks:
            hook(event)


def _retry_on(exc: Exception) -> bool:
    return isinstance(exc, MystiraError) and exc.transient


@dataclass
class Policy:
    """Retry + breaker for one backend; `call` runs one operation through both."""

    breaker: CircuitBreaker
    attempts: int = 3
    base_delay: float = 0.1
    max_delay: float = 2.0
    timeout: float = 30.0
    observers: list[CallHook] = field(default_factory=list)

    async def call(
        self, operation: Callable[[], Awaitable[T]], name: str = "", target: str = ""
    ) -> T:
        """Run ``operation`` through retry + breaker; ``name`` (the verb) and ``target`` (the
        container) describe it to the observers (metrics, health, traces)."""
        if not self.observers:
            return await self._retried(operation)
        started = time.perf_counter()
        try:
            result = await self._retried(operation)
        except MystiraError as exc:
            self._notify(name, target, started, exc)
            raise
        self._notify(name, target, started, None)
        return result

    def _notify(self, name: str, target: str, started: float, exc: MystiraError | None) -> None:
        event = CallEvent(
            self.breaker.backend,
            name,
            target,
            time.perf_counter() - started,
            None if exc is None else type(exc).__name__,
            isinstance(exc, StoreUnavailable),
        )
        for observer in self.observers:
            observer(event)

    async def _retried(self, operation: Callable[[], Awaitable[T]]) -> T:
        # Fast path: most calls succeed first time, and entering stamina's retry context
        # costs about as much as a cached read. Only a transient failure pays for it.
        try:
            return await self._once(operation)
        except MystiraError as exc:
            if not _retry_on(exc) or self.attempts <= 1:
                raise
            first_failure: MystiraError | None = exc
        for attempt in stamina.retry_context(
            on=_retry_on,
            attempts=self.attempts,
            timeout=self.timeout,
            wait_initial=self.base_delay,
            wait_max=self.max_delay,
            wait_jitter=self.base_delay,
        ):
            with attempt:
                if first_failure is not None:
                    # Replayed as stamina's first attempt: same attempt count and backoff.
                    failure, first_failure = first_failure, None
                    raise failure
                return await self._once(operation)
        raise AssertionError("unreachable: stamina re-raises the last error")

    async def _once(self, operation: Callable[[], Awaitable[T]]) -> T:
        self.breaker.before_call()
        try:
            result = await operation()
        except MystiraError as exc:
            # Only backend trouble counts against the breaker, not a caller's bad request.
            if isinstance(exc, CircuitOpen):
                raise
            if isinstance(exc, StoreUnavailable):
                self.breaker.record_failure()
            else:
                self.breaker.record_success()
            raise
        self.breaker.record_success()
        return result
