"""The four evidence gates of a forward phase move, with the numbers they judged.

1. **lag**: replication of the active direction has at most ``MaxLagChanges`` changes to
   apply and the oldest is at most ``MaxLagSeconds`` old.
2. **verify**: the newest verify of the container is clean, at most ``VerifyMaxAgeHours``
   old, and was taken at or after the log position of the move that began the current
   phase (`state.verify_log.log_position`): a verify from before that move checked another
   routing and proves nothing about this one.
3. **shadow**: shadow reads of the current phase, since it began, compared at least
   ``ShadowMinComparisons`` times and agreed in at least ``ShadowMinConsistency`` of them.
4. **error rate**: over the last ``ErrorRateWindowMinutes``, the would-be primary's failed
   calls are at most ``MaxErrorRateRatio`` × the current primary's rate (judged only once
   the would-be primary saw ``ErrorRateMinCalls`` calls).

Gates 1 and 2 apply to every step that needs proof (`rules.needs_proof`); 3 and 4 to forward
steps into a PostgreSQL-primary or -read phase (`rules.GUARDED`). Every check is evaluated
on every move, forced or not, so the audit log keeps the evidence of that moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from mystira_data.gate_settings import Gates, GateThresholds
from mystira_data.polyglot.phase import rules
from mystira_data.polyglot.phase.control import PhaseControl
from mystira_data.polyglot.phase.gate_check import GateCheck, n
from mystira_data.polyglot.phase.rules import ROUTES
from mystira_data.polyglot.replication.lag import LagMeter
from mystira_data.polyglot.state import evidence as ev
from mystira_data.polyglot.state.verify_log import last_move, last_verify
from mystira_data.relational.store import RelationalStore
from mystira_data.settings import Phase


@dataclass
class EvidenceGates:
    relational: RelationalStore
    meter: LagMeter
    settings: Gates
    recorder: ev.EvidenceRecorder | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    async def check(self, container: str, current: Phase, target: Phase) -> list[GateCheck]:
        """Every gate's verdict on ``current`` → ``target`` (see the module docstring)."""
        if self.recorder is not None:
            await self.recorder.flush(self.relational)  # this process's own counts too
        limits = self.settings.for_container(container)
        proof = rules.needs_proof(current, target)
        forward = rules.is_forward(current, target) and target in rules.GUARDED
        return [
            await self.lag(container, limits, proof),
            await self.verify(container, limits, proof),
            await self.shadow(container, current, limits, forward),
            await self.error_rate(current, target, limits, forward),
        ]

    async def lag(self, container: str, limits: GateThresholds, applies: bool) -> GateCheck:
        lag = await self.meter.lag(container)
        age = lag.oldest_age_s or 0.0
        numbers = {"pending": lag.pending, "oldestAgeSeconds": round(age, 3)}
        problems = []
        if lag.pending > limits.max_lag_changes:
            problems.append(f"{n(lag.pending)} changes > {n(limits.max_lag_changes)}")
        # Live writes always leave a few changes in flight: the seconds are on their age.
        if age > limits.max_lag_seconds:
            problems.append(f"oldest {age:.1f}s > {limits.max_lag_seconds:g}s")
        if not problems:
            return GateCheck(1, "lag", applies, True, f"lag {n(lag.pending)} changes", numbers)
        detail = f"lag {' and '.join(problems)} ({lag.direction}); run `mystira replicate --once`"
        return GateCheck(1, "lag", applies, False, detail, numbers)

    async def verify(self, container: str, limits: GateThresholds, applies: bool) -> GateCheck:
        last = await last_verify(self.relational, container)
        move = await last_move(self.relational, container)
        required = move[0] if move else 0
        if last is None:
            return GateCheck(2, "verify", applies, False, "no verify has run for this container")
        at = (last["position"] or {}).get("phaseMove", -1)
        numbers = {"verifyId": last["id"], "position": at, "requiredPosition": required}
        verdict = self._verify_verdict(container, last, at, required, limits)
        return GateCheck(2, "verify", applies, verdict is None, verdict or "clean", numbers)

    def _verify_verdict(
        self,
        container: str,
        last: dict[str, Any],
        at: int,
        required: int,
        limits: GateThresholds,
    ) -> str | None:
        run = f"verify #{last['id']}"
        if not last["clean"]:
            found = {k: last[k] for k in ("missing", "extra", "different")}
            return f"the last verify ({run}) found differences {found}; run repair and verify"
        if at < required:
            where = "an unknown position" if at < 0 else f"position {at}"
            return (
                f"{run} was taken at {where}, before the move that began the current phase "
                f"(position {required}); run `mystira verify {container}`"
            )
        age = self.clock() - last["finished_at"]
        if age > timedelta(hours=limits.verify_max_age_hours):
            hours = age.total_seconds() / 3600
            return f"{run} is {hours:.1f}h old > {limits.verify_max_age_hours:g}h"
        return None

    async def shadow(
        self, container: str, current: Phase, limits: GateThresholds, applies: bool
    ) -> GateCheck:
        move = await last_move(self.relational, container)
        since = move[1] if move else None
        tallies = await ev.sums(
            self.relational, ev.SHADOW, container=container, phase=current.value, since=since
        )
        ok = sum(x.ok for x in tallies.values())
        total = sum(x.total for x in tallies.values())
        rate = ok / total if total else 1.0
        numbers = {"comparisons": total, "mismatches": total - ok, "consistency": rate}
        want = limits.shadow_min_consistency
        if total < limits.shadow_min_comparisons:
            detail = (
                f"shadow comparisons {n(total)} < {n(limits.shadow_min_comparisons)} in "
                f"{current.value} (enable EnableConsistencyValidation and let reads run)"
            )
            return GateCheck(3, "shadow", applies, False, detail, numbers)
        detail = f"shadow consistency {rate:.1%} {'<' if rate < want else '>='} {want:.1%}"
        detail += f" over {n(total)} comparisons"
        return GateCheck(3, "shadow", applies, rate >= want, detail, numbers)

    async def error_rate(
        self, current: Phase, target: Phase, limits: GateThresholds, applies: bool
    ) -> GateCheck:
        since = self.clock() - timedelta(minutes=limits.error_rate_window_minutes)
        tallies = await ev.sums(self.relational, ev.CALLS, since=since)
        now_store, new_store = _store(current), _store(target)
        now_t = tallies.get(now_store, ev.Tally(0, 0))
        new_t = tallies.get(new_store, ev.Tally(0, 0))
        now_rate, new_rate = _rate(now_t), _rate(new_t)
        numbers = {
            "windowMinutes": limits.error_rate_window_minutes,
            now_store: {"calls": now_t.total, "failed": now_t.failed, "rate": now_rate},
            new_store: {"calls": new_t.total, "failed": new_t.failed, "rate": new_rate},
        }
        window = f"over the last {limits.error_rate_window_minutes:g} min"
        if new_store == now_store or new_t.total < limits.error_rate_min_calls:
            why = "the primary stays" if new_store == now_store else "too few calls to judge"
            return GateCheck(4, "error-rate", applies, True, f"error rate: {why}", numbers)
        limit = now_rate * limits.max_error_rate_ratio
        passed = new_rate <= limit
        detail = (
            f"error rate {new_store} {new_rate:.2%} {'<=' if passed else '>'} {now_store} "
            f"{now_rate:.2%} × {limits.max_error_rate_ratio:g} {window}"
        )
        return GateCheck(4, "error-rate", applies, passed, detail, numbers)


def _store(phase: Phase) -> str:
    """The resilience layer's name of ``phase``'s primary store."""
    return "documents" if ROUTES[phase].primary is rules.Side.DOCUMENT else "relational"


def _rate(tally: ev.Tally) -> float:
    return tally.failed / tally.total if tally.total else 0.0


def shadow_evidence(
    control: PhaseControl, recorder: ev.EvidenceRecorder
) -> Callable[[str, bool], None]:
    """Count a shadow comparison under the phase that routed the read (this process's view)."""

    def note(container: str, matched: bool) -> None:
        phase = control.cached(container).phase
        recorder.shadow(container, phase.value, ROUTES[phase].reads.value, matched)

    return note
