"""Moving a container one phase: the guards, then an immediate or a fenced switch.

`Switcher.set` validates the step against the record (one step, parent order, the guards of
`rules.needs_proof`), then either switches at once (the primary stays) or runs the scheduled,
fenced switch described in `control` (schedule, fence, drain and catch up, flip; abandon on
failure or expiry). It works on one `PhaseControl`: its record store, clock, gate and view.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from mystira_data import catalog
from mystira_data.errors import MystiraError, PhaseTransitionRefused
from mystira_data.polyglot.phase import rules as phases
from mystira_data.polyglot.phase.gate_check import GateCheck, evidence_json
from mystira_data.polyglot.phase.record import PendingSwitch, PhaseRecord, Transition
from mystira_data.polyglot.state.audit_log import Action, AuditEntry
from mystira_data.settings import Phase

if TYPE_CHECKING:
    from mystira_data.polyglot.phase.control import PhaseControl

log = logging.getLogger(__name__)


class Switcher:
    """One move of one container, on ``ctl``'s record and view."""

    def __init__(self, ctl: PhaseControl) -> None:
        self.ctl = ctl

    async def set(
        self,
        container: str,
        target: Phase,
        *,
        force: bool = False,
        reason: str = "",
        actor: str = "internal",
    ) -> Transition:
        """Move one step; a step that needs proof (`phases.needs_proof`) needs every guard to
        pass, or --force with a reason.

        A step that changes the primary is a scheduled, fenced switch (module docstring):
        this call returns after the flip, some ``refresh_s`` + margin + drain later.
        """
        if force and not reason.strip():
            raise PhaseTransitionRefused("--force needs a --reason to record")
        await self.ctl.reload(strict=True)
        record = await self._settled(container)
        current = record.phase if catalog.get(container).is_relational else Phase.COSMOS_ONLY
        if current is target:
            raise PhaseTransitionRefused(f"{container} is already {target.value}")
        phases.check_step(container, current, target)
        phases.check_parent_order(container, target, await self.ctl.all_phases())
        checks = await self._check_guards(container, current, target, force)
        step = Step(container, record.version, current, target, reason, force)
        if phases.needs_fence(current, target):
            moved = await self._switch_fenced(step)
        else:
            moved = await self._switch_now(step)
        await self._audit(step, actor, checks)
        return moved

    async def _audit(self, step: Step, actor: str, checks: list[GateCheck]) -> None:
        """Record the move with the gate numbers of that moment (after it happened)."""
        if self.ctl.audit is None:
            return
        entry = AuditEntry(
            actor,
            Action.PHASE_MOVE,
            step.container,
            step.reason,
            step.forced,
            {"from": step.current.value, "to": step.target.value},
            evidence_json(checks),
        )
        try:
            await self.ctl.audit(entry)
        except MystiraError as exc:  # the move stands; say loudly that its entry is missing
            log.error("%s: moved, but the audit entry was not written: %s", step.container, exc)

    async def _settled(self, container: str) -> PhaseRecord:
        """The record; refused while another switch is pending (an expired one is abandoned)."""
        record = self.ctl.cached(container)
        pending = record.pending
        if pending is not None and not pending.abandoned and pending.expires_in_s <= 0:
            await self.ctl.store.abandon(container, record.version, expired_only=True)
            await self.ctl.reload(strict=True)
            record = self.ctl.cached(container)
            pending = record.pending
        if pending is None or pending.abandoned:
            return record
        raise PhaseTransitionRefused(
            f"{container}: a switch to {pending.target.value} is already pending "
            f"(writes pause at {pending.fence_at:%H:%M:%S}); wait for it, or for its expiry "
            f"at {pending.expires_at:%H:%M:%S}"
        )

    async def _switch_now(self, step: Step) -> Transition:
        """A step that keeps the primary: waiting out this process's writers is enough."""
        async with self.ctl.gate(step.container).switch():
            if self.ctl.catch_up is not None:
                await self.ctl.catch_up(step.container, step.current, step.target)
            transition = step.transition()
            if not await self.ctl.store.save(transition, step.version):
                raise _changed(step.container)
            self.ctl.remember(step.container, PhaseRecord(step.target, step.version + 1), None)
            return transition

    async def _switch_fenced(self, step: Step) -> Transition:
        fence_in = self.ctl.refresh_s + self.ctl.timing.margin_s
        expires_in = fence_in + self.ctl.timing.max_freeze_s
        sent = self.ctl.clock()
        if not await self.ctl.store.schedule(
            step.container, step.current, step.target, step.version, fence_in, expires_in
        ):
            raise _changed(step.container)
        # The store's T1 on our clock, counted from after the save: no later than this,
        # nobody starts a write under the old phase.
        fence_by = self.ctl.clock() + fence_in
        version = step.version + 1
        wall = datetime.now(UTC)
        pending = PendingSwitch(
            step.target,
            wall + timedelta(seconds=fence_in),
            wall + timedelta(seconds=expires_in),
            fence_in,
            expires_in,
        )
        scheduled = PhaseRecord(step.current, version, pending)
        self.ctl.remember(step.container, scheduled, sent + fence_in)
        log.info(
            "%s: switch %s → %s scheduled; writes pause in %.1fs until the flip",
            step.container,
            step.current.value,
            step.target.value,
            fence_in,
        )
        if self.ctl.on_scheduled is not None:
            self.ctl.on_scheduled(step.container, fence_in)
        try:
            return await self._flip(step, version, fence_by)
        except BaseException:
            await self._abandon_own(step.container, version)
            raise

    async def _flip(self, step: Step, version: int, fence_by: float) -> Transition:
        await self._sleep_until(fence_by)
        async with self.ctl.gate(step.container).switch():  # our writers from before the fence
            await self._sleep_until(fence_by + self.ctl.timing.drain_s)  # everyone else's
            await self._settle(step, fence_by + self.ctl.timing.max_freeze_s)
            transition = step.transition()
            if not await self.ctl.store.flip(transition, version):
                raise PhaseTransitionRefused(
                    f"{step.container}: the switch to {step.target.value} expired "
                    "(PhaseSwitchMaxFreezeMs) or was abandoned before it could flip; writes "
                    f"resumed under {step.current.value}. Set it again"
                )
            self.ctl.remember(step.container, PhaseRecord(step.target, version + 1), None)
            return transition

    async def _settle(self, step: Step, expires_by: float) -> None:
        """Catch up until nothing is pending (nobody writes now); give up at the expiry."""
        if self.ctl.catch_up is None:
            return
        while True:
            await self.ctl.catch_up(step.container, step.current, step.target)
            checked = self.ctl.caught_up
            if checked is None or await checked(step.container, step.current, step.target):
                return
            if self.ctl.clock() >= expires_by:
                raise PhaseTransitionRefused(
                    f"{step.container}: replication did not catch up before the switch to "
                    f"{step.target.value} expired; writes resumed under {step.current.value}"
                )
            await self.ctl.sleep(self.ctl.timing.poll_s)

    async def _abandon_own(self, container: str, version: int) -> None:
        """After a failed switch, let every process write again at once (else it expires)."""
        try:
            if await self.ctl.store.abandon(container, version, expired_only=False):
                log.warning("%s: switch abandoned; writes resume under the old phase", container)
        except Exception as exc:
            log.warning("%s: could not abandon the switch (it will expire): %s", container, exc)
        self.ctl.forget_view()  # whatever happened, read the record again

    async def _sleep_until(self, deadline: float) -> None:
        while (left := deadline - self.ctl.clock()) > 0:
            await self.ctl.sleep(left)

    async def _check_guards(
        self, container: str, current: Phase, target: Phase, force: bool
    ) -> list[GateCheck]:
        """The gates' verdicts (always: they are the move's evidence); refuse unless they
        and the guards pass, when the step needs proof and is not forced."""
        gates = self.ctl.gates
        checks = await gates(container, current, target) if gates is not None else []
        if force or not phases.needs_proof(current, target):
            return checks
        failed = [c for c in checks if c.refuses]
        reasons = [f"gate {c.number} ({c.gate}): {c.detail}" for c in failed]
        reasons += [r for g in self.ctl.guards if (r := await g(container, target))]
        if not self.ctl.guards and gates is None:
            reasons.append("no consistency proof is available (verify has not run)")
        if reasons:
            raise PhaseTransitionRefused(
                f"{container} → {target.value} refused: {'; '.join(reasons)} "
                "(use --force --reason to override)",
                gates=[{"path": f"gates.{c.gate}", "message": c.detail} for c in failed],
            )
        return checks


@dataclass(frozen=True)
class Step:
    """One requested move, as validated against the record at ``version``."""

    container: str
    version: int
    current: Phase
    target: Phase
    reason: str
    forced: bool

    def transition(self) -> Transition:
        return Transition(
            self.container, self.current, self.target, datetime.now(UTC), self.reason, self.forced
        )


def _changed(container: str) -> PhaseTransitionRefused:
    return PhaseTransitionRefused(
        f"{container}: its phase record changed meanwhile (another switch?); read it and retry"
    )
