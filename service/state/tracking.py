"""The tracking step of every evaluation, on the fleet's state: switches, window, latch.

:func:`judge` is the pure part, the same for the runtime and the simulator's fleet model: the
instant verdict, the window's counts and the latch's state in, the status, the reasons and the
latch's next state out, by :mod:`service.verdict.rules`
(:func:`~service.verdict.rules.gray_failing`,
:func:`~service.verdict.rules.advance_latch`, :func:`~service.verdict.rules.latch_reason`).

:class:`FleetTracker` is the I/O around it: the local switches (env, files), one exchange with
the state store (:class:`~service.state.fleet.FleetState`, which falls back to local state and
says so), the store's switch records, and the latch's trailing conditional write.

A hold applies whether or not the tracker is enabled: with ``[failover] enabled = false`` the
window is off and the latch keeps only what a hold needs (it latches on the first unhealthy
evaluation and releases on the first healthy one, unless held).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checks.result import CheckResult, Status
from service.state import Counts, SwitchName, SwitchRecord
from service.state.fleet import FleetState
from service.state.records import latch_from
from service.state.switches import Switches, hold_reason
from service.verdict.policy import Verdict
from service.verdict.rules import (
    LatchState,
    TrackerSettings,
    WindowCounts,
    advance_latch,
    gray_failing,
    gray_reason,
    latch_reason,
    own_failure,
    window_samples,
)

__all__ = ["HOLD_ONLY", "FleetTracker", "Judgement", "judge", "sample_counts"]

HOLD_ONLY = TrackerSettings(fail_after=1, recover_after=1, min_hold=0.0, quiet=0.0, burst=0.0)
"""The latch's tuning with the tracker off: it only remembers a failure for a hold."""

logger = logging.getLogger("deep_health.state")


@dataclass(frozen=True, slots=True)
class Judgement:
    """The tracking step's outcome: the status to report, why, and the latch's next state."""

    status: Status
    reasons: tuple[str, ...]
    latch: LatchState


def judge(
    *,
    instant: Status,
    window: Mapping[str, WindowCounts],
    latch: LatchState,
    now: float,
    held: bool,
    settings: TrackerSettings | None,
    own: bool = False,
) -> Judgement:
    """Apply the window rule and the latch to one evaluation (pure).

    Args:
        instant: The evaluation's own status, a drain already applied.
        window: Per check, its counts in the window.
        latch: The latch's state before this evaluation.
        now: Seconds (epoch across a fleet).
        held: Operator hold.
        settings: The tracker's tuning; ``None``: the tracker is off (no window; the latch
            only keeps a hold).
        own: The evaluation fails only for this instance's own reasons
            (:func:`~service.verdict.rules.own_failure`): reported as it is, the latch
            unchanged.

    Returns:
        The judgement.
    """
    rules = settings or HOLD_ONLY
    gray = (
        []
        if settings is None
        else [
            gray_reason(check, counts, settings)
            for check, counts in sorted(window.items())
            if gray_failing(counts, settings)
        ]
    )
    healthy = instant is not Status.FAIL and not gray
    if own and not gray:
        return Judgement(instant, (), latch)
    after = advance_latch(latch, healthy, now, held=held, sustained=bool(gray), settings=rules)
    if after.healthy:
        return Judgement(instant, (), after)
    waits = latch_reason(latch, after, instant_healthy=healthy, held=held, settings=rules, now=now)
    return Judgement(Status.FAIL, (*gray, *([waits] if waits else [])), after)


def sample_counts(
    results: Sequence[CheckResult], discounted: Collection[str] = ()
) -> dict[str, Counts]:
    """Per check feeding the window (:func:`~service.verdict.rules.window_samples`, which says
    what ``discounted`` means), ``(failed, all)``."""
    return {
        name: (sum(1 for ok in samples if not ok), len(samples))
        for name, samples in window_samples(results, discounted=discounted).items()
    }


class FleetTracker:
    """The tracking step with the state store: one exchange per evaluation.

    Args:
        state: The shared store with its local fallback.
        settings: The tracker's tuning; ``None`` when ``[failover] enabled = false``.
        switches: The local (env and file) switches.
        clock: Wall clock, epoch seconds: the same across the fleet (tests inject one).
    """

    def __init__(
        self,
        state: FleetState,
        settings: TrackerSettings | None,
        switches: Switches,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.settings = settings
        self._switches = switches
        self._clock = clock
        self._seen: dict[SwitchName, SwitchRecord] = {}
        if state.store is not None:
            for name in switches.from_environment():
                logger.warning(
                    "%s applies to this process only, not to the region's other instances: "
                    "for the region, use `deep-health switch %s on`",
                    name,
                    "hold" if name.endswith("HOLD") else "drain",
                )

    async def track(
        self,
        instant: Verdict,
        results: Sequence[CheckResult],
        budget: float,
        *,
        discounted: Collection[str] = (),
    ) -> Verdict:
        """Apply the switches, the window and the latch to one evaluation's instant verdict.

        Args:
            instant: The policy's verdict on the evaluation.
            results: The evaluation's results (the window's samples come from them).
            budget: Seconds left in the evaluation's deadline for the store.
            discounted: Checks whose samples are no evidence this time (the runner's
                :attr:`~service.running.runner.Evaluation.discounted`): they do not feed the
                shared window.

        Returns:
            The verdict to report. A drain counts as an unhealthy evaluation, so releasing it
            recovers through the hysteresis like any other failure.
        """
        local = self._switches.read()
        now = self._clock()
        samples = sample_counts(results, discounted) if self.settings is not None else {}
        view = await self.state.read(samples, now, budget)
        self._log_switches(view.switches)
        drain, hold = view.drained_by(), view.held_by()
        drained = local.drained is not None or drain is not None
        held = local.held is not None or hold is not None
        status = Status.FAIL if drained else instant.status
        settings = self.settings
        # Reasons only, not ``discounted``: a starved instance's timeouts (overdue, woke late)
        # are no evidence for the window, but a region whose instances are all starved must
        # still latch.
        own = status is Status.FAIL and not drained and own_failure(results)
        before = latch_from(view.latch.state, now)
        judgement = judge(
            instant=status,
            window=view.window,
            latch=before,
            now=now,
            held=held,
            settings=settings,
            own=own,
        )
        # A hold is engaged once the region fails; before that it is only armed (its words say so).
        failing = judgement.status is Status.FAIL
        reasons = [*instant.reasons, *local.reasons(failing=failing)]
        if drain is not None:
            reasons.append(f"drained by operator (state store, {drain.describe()})")
        if hold is not None:
            reasons.append(hold_reason(f"state store, {hold.describe()}", failing=failing))
        if view.problem is not None:
            reasons.append(view.problem)
        reasons.extend(view.damage)

        def reapply(state: Mapping[str, Any] | None) -> Mapping[str, Any]:
            again = judge(
                instant=status,
                window=view.window,
                latch=latch_from(state, now),
                now=now,
                held=held,
                settings=settings,
                own=own,
            )
            return dataclasses.asdict(again.latch)

        self.state.commit(
            view,
            dataclasses.asdict(judgement.latch),
            reapply,
            now,
            blank=dataclasses.asdict(LatchState()),
        )
        return Verdict(judgement.status, (*reasons, *judgement.reasons))

    def _log_switches(self, records: Mapping[SwitchName, SwitchRecord]) -> None:
        for name, record in records.items():
            if self._seen.get(name) != record:
                if name in self._seen or record.on:
                    logger.warning(
                        "switch %s %s (state store, %s)",
                        name,
                        "on" if record.on else "off",
                        record.describe(),
                    )
                self._seen[name] = record
