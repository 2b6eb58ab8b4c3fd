"""The verdict's rules over time, one pure function each: plain data in, plain data out.

The runner, the tracker, the Route 53 simulator and (later) the fleet store all call these; none
of them re-implements a rule. The per-evaluation aggregation (critical / global / peer / latency
budget / shared failure) is :func:`service.verdict.policy.decide`, which uses
:func:`shared_failure`.

- :func:`combine_samples`: how a check's samples make its result (more than half failed → FAIL,
  some failed → WARN ``partial``, over its latency budget → WARN ``slow``);
- :func:`feeds_window`: which results feed the gray-failure window (critical, regional, sampled);
- :func:`gray_failing`: the window rule, from ``(failures, total)`` and the settings;
- :func:`advance_latch`: the recovery hysteresis as a state transition over :class:`LatchState`
  (fail fast, recover slowly), with :func:`latch_reason` saying what recovery waits for;
- :func:`shared_failure`: every failing critical check also fails in the peer region.

Times are plain floats in seconds on any clock (monotonic in one process, epoch seconds across a
fleet): nothing here assumes a clock that starts at 0.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from checks.result import FAILING_CHECKS, CheckResult, Observation, Status

__all__ = [
    "FAILING_CHECKS",
    "LatchState",
    "SampleOutcome",
    "SamplesVerdict",
    "TrackerSettings",
    "advance_latch",
    "combine_samples",
    "feeds_window",
    "gray_failing",
    "latch_reason",
    "peer_failing_checks",
    "shared_failure",
    "window_samples",
]


# --- settings ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TrackerSettings:
    """Tuning of the gray-failure window and the recovery hysteresis.

    Attributes:
        window: Seconds of sample history per check (default 60). Long enough to hold ~110
            samples under fast polling, so a 10 % threshold sits far above 1 % noise (mean 1.1
            failures, 11 needed); short enough that a 15 % failure crosses it within ~40 s.
        threshold: Failure ratio a critical check must *exceed* to gray-fail (default 0.10).
        min_samples: Samples needed before the ratio counts (default 20): after a restart or
            under slow polling, 1 failure in 3 samples is not a 33 % failure rate.
        max_entries: Evaluations kept per check whatever the window (default 1024), so memory
            stays bounded under a burst of probes.
        fail_after: Consecutive unhealthy evaluations before the failure *latches* (default 3).
            A single bad evaluation is still reported at once (fail fast); Route 53's own
            FailureThreshold absorbs it. Latching on one blip would hold the region down for
            ``min_hold`` seconds and fail it over for nothing.
        recover_after: Consecutive clean evaluations needed to report healthy again (default 10).
        min_hold: Seconds a latched failure lasts at least, counted from the moment it latched
            (default 180). Route 53 then needs FailureThreshold healthy results on top.
        quiet: Seconds without a single unhealthy evaluation needed to recover (default 120).
            Unlike ``min_hold`` this restarts on every relapse, so a dependency that flaps with
            up-times shorter than ``quiet`` plus the window's drain keeps the region failed over
            instead of dragging the DNS answer along with every cycle. 0 disables it.
    """

    window: float = 60.0
    threshold: float = 0.10
    min_samples: int = 20
    max_entries: int = 1024
    fail_after: int = 3
    recover_after: int = 10
    min_hold: float = 180.0
    quiet: float = 120.0

    def __post_init__(self) -> None:
        """Reject settings that would make the tracker meaningless."""
        if self.window <= 0 or self.min_hold < 0 or self.quiet < 0:
            raise ValueError("window must be > 0, min_hold and quiet >= 0")
        if not 0.0 <= self.threshold < 1.0:
            raise ValueError("threshold must be in [0, 1)")
        if self.min_samples < 1 or self.max_entries < 1:
            raise ValueError("min_samples and max_entries must be >= 1")
        if self.fail_after < 1 or self.recover_after < 1:
            raise ValueError("fail_after and recover_after must be >= 1")


# --- samples → a check's result ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SampleOutcome:
    """One sample of a check: its status and, when it did not pass, why."""

    status: Status
    reason: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SamplesVerdict:
    """A check's status from its samples, with the public reason and the private error text.

    Attributes:
        status: The check's status.
        reason: Short public code (``partial``, ``slow``, or the chosen sample's).
        error: Private text (never in the public body).
        samples: Per sample, True when it did not fail (what the window records).
    """

    status: Status
    reason: str | None
    error: str | None
    samples: tuple[bool, ...]


def combine_samples(
    outcomes: Sequence[SampleOutcome], *, duration: float, latency_budget: float | None
) -> SamplesVerdict:
    """Decide a check's result from its samples.

    More than half failed → FAIL (the dependency is down); some failed → WARN ``partial`` (it is
    flaky; the gray-failure window judges it over time); all passed but the check took longer
    than its ``latency_budget`` → WARN ``slow``; otherwise the worst sample's status.

    Args:
        outcomes: One per sample, at least one.
        duration: Seconds the check took (all samples, concurrently).
        latency_budget: The check's own latency budget, or None.

    Returns:
        The verdict on the check.
    """
    failed = [i for i, o in enumerate(outcomes) if o.status is Status.FAIL]
    if len(failed) * 2 > len(outcomes):
        chosen, status = failed[0], Status.FAIL
    elif failed:
        chosen, status = failed[0], Status.WARN
    else:
        chosen = next((i for i, o in enumerate(outcomes) if o.status is Status.WARN), 0)
        status = outcomes[chosen].status
    reason, error = outcomes[chosen].reason, outcomes[chosen].error
    if failed and status is Status.WARN:
        reason = "partial"
        error = f"{len(failed)}/{len(outcomes)} samples failed: {outcomes[chosen].error}"
    if status is Status.PASS and latency_budget is not None and duration > latency_budget:
        status, reason = Status.WARN, "slow"
        error = f"took {duration:.3f}s, over its {latency_budget:.3f}s budget"
    samples = tuple(o.status is not Status.FAIL for o in outcomes)
    return SamplesVerdict(status, reason, error, samples)


# --- the gray-failure window ---------------------------------------------------------------


def feeds_window(result: CheckResult) -> bool:
    """Tell whether ``result`` feeds the gray-failure window.

    Only critical regional checks with samples: a global or peer check cannot be fixed by
    failing over, and a non-critical one must not fail the region over time either.
    """
    return result.critical and result.scope == "regional" and bool(result.samples)


def window_samples(results: Iterable[CheckResult]) -> dict[str, tuple[bool, ...]]:
    """Per check feeding the window (see :func:`feeds_window`), this evaluation's samples.

    A check in a shared failure (:func:`shared_failure`: it fails in the peer region too) does
    not feed it for that evaluation: failing over cannot fix it, and its failures would fill the
    window until the window failed the region the policy only warned about.
    """
    every = tuple(results)
    shared = set(shared_failure(every))
    return {r.name: r.samples for r in every if feeds_window(r) and r.name not in shared}


def gray_failing(failures: int, total: int, settings: TrackerSettings) -> bool:
    """Tell whether a check fails too often: enough samples and a ratio above the threshold.

    Args:
        failures: Failed samples in the window.
        total: Samples in the window.
        settings: Its ``threshold`` and ``min_samples`` apply.
    """
    return total >= settings.min_samples and failures > settings.threshold * total


# --- the latch (recovery hysteresis) -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LatchState:
    """The hysteresis' memory: plain numbers, so it can be stored and shared across a fleet.

    Attributes:
        latched_at: When the failure latched, or None while not latched.
        last_bad: When the last unhealthy evaluation happened, or None if never.
        failures: Consecutive unhealthy evaluations while not latched.
        clean: Consecutive clean evaluations while latched.
    """

    latched_at: float | None = None
    last_bad: float | None = None
    failures: int = 0
    clean: int = 0

    @property
    def latched(self) -> bool:
        """True while a failure is latched (the region reports unhealthy regardless)."""
        return self.latched_at is not None

    @property
    def healthy(self) -> bool:
        """The health this state reports: not latched and no unhealthy evaluation pending."""
        return self.latched_at is None and self.failures == 0


def advance_latch(
    state: LatchState,
    instant_healthy: bool,
    now: float,
    *,
    held: bool = False,
    settings: TrackerSettings,
) -> LatchState:
    """Feed one evaluation to the hysteresis: fail fast, recover slowly.

    Healthy → unhealthy: an unhealthy evaluation is reported at once; after ``fail_after`` of them
    in a row the failure latches. Unhealthy → healthy: only after ``recover_after`` consecutive
    clean evaluations *and* ``min_hold`` seconds since the failure latched *and* ``quiet``
    seconds since the last unhealthy evaluation, and never while ``held``.

    Args:
        state: The state before this evaluation.
        instant_healthy: This evaluation's own verdict.
        now: Time in seconds (any clock, the same for every call on one state).
        held: Operator hold: once latched, stay unhealthy while this is True.
        settings: ``fail_after``, ``recover_after``, ``min_hold`` and ``quiet`` apply.

    Returns:
        The state after it; its :attr:`LatchState.healthy` is the health to report.
    """
    last_bad = state.last_bad if instant_healthy else now
    if state.latched_at is None:
        if instant_healthy:
            return replace(state, last_bad=last_bad, failures=0)
        failures = state.failures + 1
        if failures >= settings.fail_after:
            return replace(state, latched_at=now, last_bad=last_bad, failures=failures, clean=0)
        return replace(state, last_bad=last_bad, failures=failures)
    clean = state.clean + 1 if instant_healthy else 0
    if (
        not held
        and clean >= settings.recover_after
        and now - state.latched_at >= settings.min_hold
        and (last_bad is None or now - last_bad >= settings.quiet)
    ):
        return LatchState(last_bad=last_bad)
    return replace(state, last_bad=last_bad, clean=clean)


def latch_reason(
    before: LatchState,
    after: LatchState,
    *,
    instant_healthy: bool,
    held: bool,
    settings: TrackerSettings,
    now: float | None = None,
) -> str | None:
    """Say what an unhealthy report waits for, so ``/health/details`` explains a 503.

    Returns:
        ``"held"``; ``"recovering N/M clean"`` (N capped at M) followed, given ``now``, by the
        seconds left of ``min_hold`` and ``quiet`` (``recovering 10/10 clean, min_hold 42 s
        left``); or None (healthy, or the evaluation itself failed).
    """
    if after.healthy:
        return None
    if not (instant_healthy and before.latched) or held:
        return "held" if held else None
    target = settings.recover_after
    parts = [f"recovering {min(after.clean, target)}/{target} clean"]
    if now is not None and after.latched_at is not None:
        waits = {"min_hold": settings.min_hold - (now - after.latched_at)}
        if after.last_bad is not None:
            waits["quiet"] = settings.quiet - (now - after.last_bad)
        parts += [f"{name} {math.ceil(left)} s left" for name, left in waits.items() if left > 0]
    return ", ".join(parts)


# --- shared failure ------------------------------------------------------------------------


def shared_failure(results: Sequence[CheckResult]) -> list[str]:
    """The failing critical regional checks, if every one also fails in a peer region.

    A ``peer`` check that fails reports the peer's failing checks in :data:`FAILING_CHECKS`;
    when ours are a subset, failing over would not help.
    """
    failing = sorted(
        r.name for r in results if r.status is Status.FAIL and r.critical and r.scope == "regional"
    )
    if not failing:
        return []
    for peer in results:
        if peer.scope != "peer" or peer.status is not Status.FAIL:
            continue
        if set(failing) <= peer_failing_checks(peer.observations):
            return failing
    return []


def peer_failing_checks(observations: Mapping[str, Observation]) -> set[str]:
    """The names a peer check reported under :data:`FAILING_CHECKS` (empty when absent)."""
    observation = observations.get(FAILING_CHECKS)
    if observation is None:
        return set()
    return set(str(observation.value).split(","))
