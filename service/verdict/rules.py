"""The verdict's rules over time, one pure function each: plain data in, plain data out.

The runner, the tracker, the Route 53 simulator and (later) the fleet store all call these; none
of them re-implements a rule. The per-evaluation aggregation (critical / global / peer / latency
budget / shared failure) is :func:`service.verdict.policy.decide`, which uses
:func:`shared_failure`.

- :func:`combine_samples`: how a check's samples make its result (more than half failed → FAIL,
  some failed → WARN ``partial``, over its latency budget → WARN ``slow``);
- :func:`feeds_window`: which results feed the gray-failure window (critical, regional, sampled,
  and not this instance's own fault: :data:`OWN_FAULTS`);
- :func:`window_counts`: a check's window as the rule reads it (:class:`WindowCounts`: samples,
  and the time buckets they fall in, :data:`BUCKETS_PER_WINDOW` per window);
- :func:`gray_failing`: the window rule: a failure ratio above the threshold *and* evidence of
  a sustained failure (failing in enough of the window's buckets, more than a burst can touch);
- :func:`advance_latch`: the recovery hysteresis as a state transition over :class:`LatchState`
  (fail fast, recover slowly), with :func:`latch_reason` saying what recovery waits for;
- :func:`shared_failure`: every failing critical check also fails in the peer region.

Times are plain floats in seconds on any clock (monotonic in one process, epoch seconds across a
fleet): nothing here assumes a clock that starts at 0.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from checks.result import FAILING_CHECKS, CheckResult, Observation, Status

__all__ = [
    "BUCKETS_PER_WINDOW",
    "FAILING_CHECKS",
    "OWN_FAULTS",
    "LatchState",
    "SampleOutcome",
    "SamplesVerdict",
    "TrackerSettings",
    "WindowCounts",
    "advance_latch",
    "combine_samples",
    "failing_buckets",
    "feeds_window",
    "gray_failing",
    "gray_reason",
    "latch_reason",
    "own_failure",
    "peer_failing_checks",
    "shared_failure",
    "window_counts",
    "window_samples",
]

BUCKETS_PER_WINDOW = 12
"""Time buckets per window. Evidence is counted per bucket, not per sample: the samples of one
evaluation fail together (one cold client, one stalled connection), so they are not independent.
The shared store keeps one counter per bucket, so this is also its grain (finer costs read size,
coarser blurs the window's edge)."""

OWN_FAULTS = frozenset({"blocked_loop", "threads_exhausted", "start_pending", "start_failed"})
"""Reasons that say something about this instance, not about the check's dependency: a check
that blocks its loop or fills its threads, or whose ``start()`` has not (yet) succeeded. Such a
failure fails the evaluation (the instance cannot serve it) but is no evidence against the
region's dependency, so it never feeds the shared window."""


# --- settings ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TrackerSettings:
    """Tuning of the gray-failure window and the recovery hysteresis.

    Attributes:
        window: Seconds of sample history per check (default 60). Long enough to hold ~110
            samples under fast polling, so an 8 % threshold sits far above 1 % noise (mean 1.1
            failures, 9 needed); short enough that a 15 % failure crosses it within ~40 s.
        threshold: Failure ratio a critical check must *exceed* to gray-fail (default 0.08:
            a 10 % failure, which sits at its own ratio half the time, is still caught within
            minutes; see ``docs/gray-failure-evidence.md``).
        min_samples: Samples needed before the ratio counts (default 20): after a restart or
            under slow polling, 1 failure in 3 samples is not a 33 % failure rate.
        spread: Share of the window's buckets holding samples in which the check must have
            failed (default 0.4; see :data:`BUCKETS_PER_WINDOW` and :func:`failing_buckets`): a
            sustained partial failure shows across the window, a burst in a few buckets only.
        burst: Seconds of failure treated as one burst, not as a sustained failure (default
            6, above the 1-5 s blips a dependency has): failures in no more buckets than a
            burst this long can touch never gray-fail a check, and an unhealthy streak latches
            only once it has lasted this long (a gray failure's need not). A blip of a few
            seconds then fails only the evaluations it touches, which Route 53's
            FailureThreshold absorbs, instead of the region for ``min_hold``.
        max_entries: Evaluations kept per check whatever the window (default 1024), so memory
            stays bounded under a burst of probes.
        fail_after: Consecutive unhealthy evaluations before the failure *latches* (default 3),
            the streak having lasted ``burst`` seconds.
            A single bad evaluation is still reported at once (fail fast); Route 53's own
            FailureThreshold absorbs it. Latching on one blip would hold the region down for
            ``min_hold`` seconds and fail it over for nothing.
        recover_after: Consecutive clean evaluations needed to report healthy again (default 10).
        min_hold: Seconds a latched failure lasts at least, counted from the moment it latched
            (default 180). Route 53 then needs FailureThreshold healthy results on top.
        quiet: Seconds without a single unhealthy evaluation needed to recover (default 150).
            Unlike ``min_hold`` this restarts on every relapse, so a dependency that flaps with
            up-times shorter than ``quiet`` plus the window's drain keeps the region failed over
            instead of dragging the DNS answer along with every cycle. 0 disables it. 150 s:
            after an incident longer than ``min_hold`` this is what holds the region, and with
            Route 53's 10 s polls (3 healthy polls back: 20-30 s) it returns DNS 186-207 s
            after a 15 % gray failure or an outage ends - between ``min_hold`` and ``min_hold``
            + 60 s - where 120 s returned it after 157-179 s (simulator, 20 seeds each).
    """

    window: float = 60.0
    threshold: float = 0.08
    min_samples: int = 20
    spread: float = 0.4
    burst: float = 6.0
    max_entries: int = 1024
    fail_after: int = 3
    recover_after: int = 10
    min_hold: float = 180.0
    quiet: float = 150.0

    def __post_init__(self) -> None:
        """Reject settings that would make the tracker meaningless."""
        if self.window <= 0 or self.min_hold < 0 or self.quiet < 0 or self.burst < 0:
            raise ValueError("window must be > 0, min_hold, quiet and burst >= 0")
        if not 0.0 <= self.spread <= 1.0:
            raise ValueError("spread must be in [0, 1]")
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
    failing over, and a non-critical one must not fail the region over time either. A failure
    for a reason in :data:`OWN_FAULTS` is this instance's, not the dependency's: it does not
    feed the window either.
    """
    if result.status is Status.FAIL and result.reason in OWN_FAULTS:
        return False
    return result.critical and result.scope == "regional" and bool(result.samples)


def window_samples(
    results: Iterable[CheckResult], *, discounted: Collection[str] = ()
) -> dict[str, tuple[bool, ...]]:
    """Per check feeding the window (see :func:`feeds_window`), this evaluation's samples.

    A check in a shared failure (:func:`shared_failure`: it fails in the peer region too) does
    not feed it for that evaluation: failing over cannot fix it, and its failures would fill the
    window until the window failed the region the policy only warned about.

    Args:
        results: The evaluation's results.
        discounted: Checks whose result this evaluation says more about the instance than about
            the dependency: their first run since ``start()`` (opening clients), or a run the
            process was too starved or paused to time (the runner names them).
    """
    every = tuple(results)
    shared = set(shared_failure(every))
    return {
        r.name: r.samples
        for r in every
        if feeds_window(r) and r.name not in shared and r.name not in discounted
    }


def own_failure(results: Sequence[CheckResult], discounted: Collection[str] = ()) -> bool:
    """Tell whether an evaluation fails only for this instance's own reasons.

    True when it has failing critical regional checks and every one of them is ``discounted``
    (its first run since ``start()``, a late wake-up) or failed for a reason in
    :data:`OWN_FAULTS`. The instance answers unhealthy for it, but the region's latch does not
    count it: a new instance's start-up must not latch a region, nor keep a latched one from
    recovering.
    """
    failing = [
        r for r in results if r.status is Status.FAIL and r.critical and r.scope == "regional"
    ]
    return bool(failing) and all(r.name in discounted or r.reason in OWN_FAULTS for r in failing)


@dataclass(frozen=True, slots=True)
class WindowCounts:
    """One check's window as the rule reads it: ``(failures, total)`` samples per time bucket.

    Attributes:
        buckets: One ``(failures, total)`` per time bucket holding samples (in any order); the
            buckets are ``window / BUCKETS_PER_WINDOW`` seconds wide.
    """

    buckets: tuple[tuple[int, int], ...] = ()

    @property
    def failures(self) -> int:
        """Failed samples in the window."""
        return sum(failures for failures, _ in self.buckets)

    @property
    def total(self) -> int:
        """Samples in the window."""
        return sum(total for _, total in self.buckets)


def bucket_width(window: float) -> float:
    """Seconds one time bucket of a ``window`` second window covers."""
    return window / BUCKETS_PER_WINDOW


def window_counts(entries: Iterable[tuple[float, int, int]], window: float) -> WindowCounts:
    """Count a check's window from its entries, bucketed by time.

    Args:
        entries: ``(time, failures, total)`` per evaluation, all inside the window.
        window: The window's seconds (the buckets are ``window / BUCKETS_PER_WINDOW`` wide,
            aligned on multiples of that width, as the shared store's are).

    Returns:
        The counts.
    """
    width = bucket_width(window)
    buckets: dict[int, tuple[int, int]] = {}
    for at, failed, count in entries:
        if count > 0:
            index = math.floor(at / width)
            before = buckets.get(index, (0, 0))
            buckets[index] = (before[0] + failed, before[1] + count)
    return WindowCounts(tuple(buckets.values()))


def burst_buckets(settings: TrackerSettings) -> int:
    """The most buckets a burst of ``settings.burst`` seconds can touch."""
    return math.floor(settings.burst / bucket_width(settings.window)) + 1


def failing_buckets(counts: WindowCounts, settings: TrackerSettings) -> int:
    """The buckets in which the check failed at more than half the threshold.

    Half, so a failure at the threshold's rate shows in most buckets; counted against the
    bucket's own samples, so more samples per bucket (a larger fleet) do not turn background
    errors into failing buckets.
    """
    bar = settings.threshold / 2
    return sum(1 for failures, total in counts.buckets if failures > 0 and failures > bar * total)


def gray_failing(counts: WindowCounts, settings: TrackerSettings) -> bool:
    """Tell whether a check fails too often, and for long enough to be a sustained failure.

    All must hold:

    - enough samples: ``total >= min_samples``;
    - a ratio above the threshold: ``failures > threshold * total``;
    - evidence spread over time: failing buckets (:func:`failing_buckets`) more than one burst
      of ``burst`` seconds can touch (:func:`burst_buckets`), and at least ``spread`` of the
      buckets holding samples;
    - not one burst on top of background errors: without the buckets with the most failures
      that a burst can fill, the rest still fails at more than half the threshold.

    Evidence is counted per bucket, not per sample: one evaluation's samples fail together, so
    twenty failed samples from seven evaluations in one second are one event.

    Args:
        counts: The check's window.
        settings: Its ``threshold``, ``min_samples``, ``spread``, ``burst`` and ``window``
            apply.
    """
    total = counts.total
    if total < settings.min_samples or counts.failures <= settings.threshold * total:
        return False
    failing = failing_buckets(counts, settings)
    if failing <= burst_buckets(settings) or failing < settings.spread * len(counts.buckets):
        return False
    # Without the buckets one burst can fill (the worst ones), the rest must still fail at more
    # than half the threshold: a blip on top of background errors is not a partial failure.
    worst = sorted(counts.buckets, key=lambda c: c[0], reverse=True)[: burst_buckets(settings)]
    rest_failures = counts.failures - sum(f for f, _ in worst)
    rest_total = total - sum(n for _, n in worst)
    return rest_failures > settings.threshold / 2 * rest_total


def gray_reason(check: str, counts: WindowCounts, settings: TrackerSettings) -> str:
    """``gray-failure:<check> 12/108 in 8/12 buckets``: the reason a gray failure reports."""
    failing = failing_buckets(counts, settings)
    return (
        f"gray-failure:{check} {counts.failures}/{counts.total} "
        f"in {failing}/{len(counts.buckets)} buckets"
    )


# --- the latch (recovery hysteresis) -------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class LatchState:
    """The hysteresis' memory: plain numbers, so it can be stored and shared across a fleet.

    Attributes:
        latched_at: When the failure latched, or None while not latched.
        last_bad: When the last unhealthy evaluation happened, or None if never.
        failures: Consecutive unhealthy evaluations while not latched.
        clean: Consecutive clean evaluations while latched.
        since: When the current streak of unhealthy evaluations began (None: no streak, or a
            record written before this field existed: the streak then counts from now).
    """

    latched_at: float | None = None
    last_bad: float | None = None
    failures: int = 0
    clean: int = 0
    since: float | None = None

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
    sustained: bool = False,
    settings: TrackerSettings,
) -> LatchState:
    """Feed one evaluation to the hysteresis: fail fast, recover slowly.

    Healthy → unhealthy: an unhealthy evaluation is reported at once; after ``fail_after`` of them
    in a row, the streak having lasted ``burst`` seconds, the failure latches (a blip shorter
    than a burst never holds the region down for ``min_hold``; a gray failure, whose evidence
    is spread over the window already, latches without waiting). Unhealthy → healthy: only after
    ``recover_after`` consecutive clean evaluations *and* ``min_hold`` seconds since the failure
    latched *and* ``quiet`` seconds since the last unhealthy evaluation, and never while
    ``held``.

    Args:
        state: The state before this evaluation.
        instant_healthy: This evaluation's own verdict.
        now: Time in seconds (any clock, the same for every call on one state).
        held: Operator hold: once latched, stay unhealthy while this is True.
        sustained: The evaluation is unhealthy on the window's evidence (:func:`gray_failing`),
            which already spans more than a burst: the streak need not last ``burst`` seconds.
        settings: ``fail_after``, ``burst``, ``recover_after``, ``min_hold`` and ``quiet`` apply.

    Returns:
        The state after it; its :attr:`LatchState.healthy` is the health to report.
    """
    last_bad = state.last_bad if instant_healthy else now
    if state.latched_at is None:
        if instant_healthy:
            return replace(state, last_bad=last_bad, failures=0, since=None)
        failures = state.failures + 1
        since = now if state.failures == 0 or state.since is None else state.since
        if failures >= settings.fail_after and (sustained or now - since >= settings.burst):
            return replace(
                state, latched_at=now, last_bad=last_bad, failures=failures, clean=0, since=None
            )
        return replace(state, last_bad=last_bad, failures=failures, since=since)
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
