"""One evidence gate's verdict on one move (`gates`), as refusals and the audit log show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class GateCheck:
    """One gate's verdict on one move: whether it applies, passed, and on what numbers."""

    number: int
    gate: str
    applies: bool
    passed: bool
    detail: str
    numbers: dict[str, Any] = field(default_factory=dict)

    @property
    def refuses(self) -> bool:
        return self.applies and not self.passed

    def as_json(self) -> dict[str, Any]:
        return {
            "gate": self.gate,
            "applies": self.applies,
            "passed": self.passed,
            "detail": self.detail,
            **self.numbers,
        }


def n(value: float) -> str:
    """1234 → "1 234" (the thousands separator operators read in refusals)."""
    return f"{value:,.0f}".replace(",", " ")


def evidence_json(checks: list[GateCheck]) -> dict[str, Any]:
    """The gates' numbers as the audit log keeps them."""
    return {c.gate: c.as_json() for c in checks}
