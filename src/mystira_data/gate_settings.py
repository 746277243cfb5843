"""The `Gates` settings section: the evidence a forward phase move needs, per container.

Defaults are permissive where a gate needs traffic to have any evidence (no shadow
comparisons required, error rates compared only past a minimum of calls), so a fresh install
and the tests can walk phases; operators tighten them per container, e.g.
``"Gates": {"MaxLagChanges": 100, "Containers": {"Accounts": {"ShadowMinComparisons": 5000}}}``.
What each gate means: ``docs/gates.md``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from mystira_data.placement_settings import MAX_WINDOW_MINUTES

_MODEL = ConfigDict(extra="forbid", populate_by_name=True, frozen=True, allow_inf_nan=False)


class GateThresholds(BaseModel):
    """The thresholds of one container's gates."""

    model_config = _MODEL

    max_lag_changes: int = Field(default=10_000, ge=0, alias="MaxLagChanges")
    max_lag_seconds: float = Field(default=5.0, ge=0, alias="MaxLagSeconds")
    verify_max_age_hours: float = Field(default=24.0, gt=0, alias="VerifyMaxAgeHours")
    shadow_min_comparisons: int = Field(default=0, ge=0, alias="ShadowMinComparisons")
    shadow_min_consistency: float = Field(
        default=0.999, ge=0.0, le=1.0, alias="ShadowMinConsistency"
    )
    max_error_rate_ratio: float = Field(default=1.0, ge=0.0, alias="MaxErrorRateRatio")
    error_rate_min_calls: int = Field(default=100, ge=1, alias="ErrorRateMinCalls")
    # At most a week: older store-call evidence is pruned (`state.evidence`).
    error_rate_window_minutes: float = Field(
        default=15.0, gt=0, le=MAX_WINDOW_MINUTES, alias="ErrorRateWindowMinutes"
    )


class Gates(GateThresholds):
    """Defaults for every container, and per-container overrides of any of them."""

    containers: dict[str, dict[str, Any]] = Field(default_factory=dict, alias="Containers")

    @field_validator("containers", mode="before")
    @classmethod
    def _known(cls, value: Any) -> Any:
        from mystira_data import catalog  # the catalog imports the domain: not at import time

        if not isinstance(value, dict):
            return value
        out = catalog.by_catalog_name(value)
        for override in out.values():
            GateThresholds.model_validate(_aliased(override))  # a bad value fails at start
        return out

    def for_container(self, container: str) -> GateThresholds:
        """This container's thresholds: the defaults, overridden where configured."""
        base = GateThresholds.model_fields
        merged = {f.alias or n: getattr(self, n) for n, f in base.items()}
        merged.update(_aliased(self.containers.get(container, {})))
        return GateThresholds.model_validate(merged)


def _aliased(override: dict[str, Any]) -> dict[str, Any]:
    """Override keys by alias, matched ignoring case (env names arrive lower-cased)."""
    aliases = {(f.alias or n).lower(): f.alias or n for n, f in GateThresholds.model_fields.items()}
    out: dict[str, Any] = {}
    for key, value in override.items():
        alias = aliases.get(str(key).lower())
        if alias is None:
            raise ValueError(f"unknown gate setting {key!r}; known: {sorted(aliases.values())}")
        out[alias] = value
    return out
