"""The verdict's rules over samples and time: pure functions, table-driven, no I/O."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict

import pytest

from checks.result import FAILING_CHECKS, CheckResult, Observation, Scope, Status
from service.verdict.rules import (
    OWN_FAULTS,
    LatchState,
    SampleOutcome,
    TrackerSettings,
    WindowCounts,
    advance_latch,
    combine_samples,
    feeds_window,
    gray_failing,
    gray_reason,
    latch_reason,
    own_failure,
    shared_failure,
    window_counts,
    window_samples,
)

P, W, F = Status.PASS, Status.WARN, Status.FAIL

# --- combine_samples -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "duration", "budget", "expected_status", "expected_reason"),
    [
        pytest.param([P], 0.1, None, P, None, id="one-pass"),
        pytest.param([F], 0.1, None, F, "down", id="one-fail"),
        pytest.param([P, P, P], 0.1, None, P, None, id="all-pass"),
        pytest.param([F, P, P], 0.1, None, W, "partial", id="one-of-three-fails-warns"),
        pytest.param([F, F, P], 0.1, None, F, "down", id="two-of-three-fail"),
        pytest.param([F, P], 0.1, None, W, "partial", id="half-is-not-more-than-half"),
        pytest.param([F, F, F], 0.1, None, F, "down", id="all-fail"),
        pytest.param([P, W, P], 0.1, None, W, "meh", id="a-warning-sample-warns"),
        pytest.param([P], 0.5, 0.2, W, "slow", id="over-budget-warns"),
        pytest.param([P], 0.2, 0.2, P, None, id="at-budget-passes"),
        pytest.param([F], 0.5, 0.2, F, "down", id="budget-never-softens-a-failure"),
    ],
)
def test_combine_samples(
    statuses: Sequence[Status],
    duration: float,
    budget: float | None,
    expected_status: Status,
    expected_reason: str | None,
) -> None:
    reasons = {P: None, W: "meh", F: "down"}
    outcomes = [SampleOutcome(s, reasons[s], f"{s.value} text") for s in statuses]
    verdict = combine_samples(outcomes, duration=duration, latency_budget=budget)
    assert (verdict.status, verdict.reason) == (expected_status, expected_reason)
    assert verdict.samples == tuple(s is not F for s in statuses)


def test_partial_says_how_many_samples_failed() -> None:
    outcomes = [SampleOutcome(F, "down", "boom"), SampleOutcome(P), SampleOutcome(P)]
    verdict = combine_samples(outcomes, duration=0.0, latency_budget=None)
    assert verdict.error == "1/3 samples failed: boom"


# --- which results feed the window ---------------------------------------------------------


def _result(
    name: str = "db",
    status: Status = P,
    *,
    critical: bool = True,
    scope: Scope = "regional",
    samples: tuple[bool, ...] = (True,),
    failing: str | None = None,
) -> CheckResult:
    observations = {FAILING_CHECKS: Observation(failing)} if failing is not None else {}
    return CheckResult(
        name=name,
        status=status,
        duration=0.0,
        critical=critical,
        scope=scope,
        samples=samples,
        observations=observations,
    )


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        pytest.param(_result(), True, id="critical-regional"),
        pytest.param(_result(critical=False), False, id="non-critical"),
        pytest.param(_result(scope="global"), False, id="global"),
        pytest.param(_result(scope="peer"), False, id="peer"),
        pytest.param(_result(samples=()), False, id="no-samples"),
    ],
)
def test_feeds_window(result: CheckResult, expected: bool) -> None:
    assert feeds_window(result) is expected


def test_window_samples_keeps_only_the_results_that_feed_it() -> None:
    results = [_result("a", samples=(True, False)), _result("b", scope="global")]
    assert window_samples(results) == {"a": (True, False)}


# --- the window rule -----------------------------------------------------------------------


def _spread(failures: int, total: int, buckets: int = 12) -> WindowCounts:
    """``failures`` of ``total`` samples, both spread as evenly as can be over ``buckets``."""
    return WindowCounts(
        tuple(
            (
                failures // buckets + (i < failures % buckets),
                total // buckets + (i < total % buckets),
            )
            for i in range(buckets)
        )
    )


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param(WindowCounts(), False, id="empty"),
        pytest.param(_spread(5, 19), False, id="too-few-samples"),
        pytest.param(_spread(2, 20, 2), False, id="at-threshold"),
        pytest.param(_spread(11, 110), False, id="noise-at-threshold"),
        pytest.param(_spread(12, 110), True, id="gray-failure"),
        pytest.param(_spread(12, 110, 4), True, id="fewer-buckets-holding-samples"),
        # The same 12 failures, from one burst: three buckets of the twelve, or too few buckets
        # with failures for the spread (6 of 12 needed).
        pytest.param(WindowCounts(((4, 9),) * 3 + ((0, 9),) * 9), False, id="one-burst"),
        pytest.param(WindowCounts(((3, 9),) * 4 + ((0, 9),) * 8), False, id="a-third"),
        pytest.param(WindowCounts(((2, 9),) * 6 + ((0, 9),) * 6), True, id="half"),
        # A bucket counts as failing above half the threshold of its own samples: one failure
        # among 30 is background noise there.
        pytest.param(WindowCounts(((1, 30),) * 6 + ((7, 30),) * 2), False, id="thin-buckets"),
        # A blip's two buckets on top of background errors in four others: enough failing
        # buckets and a ratio above 10 %, but without the blip the rest fails at 2 %.
        pytest.param(
            WindowCounts(((9, 18), (9, 18)) + ((1, 18),) * 4 + ((0, 18),) * 6),
            False,
            id="a-blip-on-background-errors",
        ),
    ],
)
def test_gray_failing(counts: WindowCounts, expected: bool) -> None:
    settings = TrackerSettings(threshold=0.10, min_samples=20, spread=0.5, burst=10.0)
    assert gray_failing(counts, settings) is expected


def test_window_counts_buckets_entries_by_time_as_the_shared_store_does() -> None:
    # 60 s window: 5 s buckets aligned on multiples of 5 s (of the epoch in a fleet).
    entries = [(100.0, 1, 3), (104.9, 0, 3), (105.0, 2, 3), (119.0, 0, 3), (130.0, 0, 0)]
    counts = window_counts(entries, 60.0)
    assert sorted(counts.buckets) == [(0, 3), (1, 6), (2, 3)]
    assert (counts.failures, counts.total) == (3, 12)


def test_the_reason_says_how_many_samples_and_buckets_failed() -> None:
    counts = WindowCounts(((2, 9),) * 6 + ((0, 9),) * 6)
    assert gray_reason("db", counts, TrackerSettings()) == "gray-failure:db 12/108 in 6/12 buckets"


@pytest.mark.parametrize(
    ("reason", "feeds"),
    [
        ("blocked_loop", False),
        ("threads_exhausted", False),
        ("start_pending", False),
        ("start_failed", False),
        ("timeout", True),
        ("connection", True),
    ],
)
def test_an_instances_own_faults_do_not_feed_the_window(reason: str, feeds: bool) -> None:
    result = CheckResult("db", F, 0.1, reason=reason, samples=(False, False, False))
    assert feeds_window(result) is feeds
    assert (reason in OWN_FAULTS) is not feeds


def test_discounted_checks_do_not_feed_the_window() -> None:
    results = [_result("a", samples=(False,)), _result("b", samples=(False,))]
    assert window_samples(results, discounted={"a"}) == {"b": (False,)}


# --- the latch -----------------------------------------------------------------------------

Step = tuple[float, bool, bool]  # (now, instant healthy, expected reported healthy)
EPOCH = 1.8e9  # wall-clock epoch seconds, as a fleet would pass them


@pytest.mark.parametrize("origin", [0.0, EPOCH], ids=["monotonic", "epoch"])
@pytest.mark.parametrize(
    ("tuning", "steps"),
    [
        pytest.param(
            {"burst": 0.0, "recover_after": 2, "min_hold": 0.0, "fail_after": 1, "quiet": 0.0},
            [(0, True, True), (1, False, False), (2, True, False), (3, True, True)],
            id="fails-at-once-recovers-after-clean-evaluations",
        ),
        pytest.param(
            {"burst": 0.0, "recover_after": 1, "min_hold": 30.0, "fail_after": 1, "quiet": 0.0},
            [(0, False, False), (1, True, False), (29, True, False), (30, True, True)],
            id="min-hold-counts-from-the-latch",
        ),
        pytest.param(
            {"burst": 0.0, "recover_after": 1, "min_hold": 0.0, "fail_after": 1, "quiet": 20.0},
            [(0, False, False), (10, False, False), (25, True, False), (30, True, True)],
            id="quiet-counts-from-the-last-unhealthy-evaluation",
        ),
        pytest.param(
            {"burst": 0.0, "recover_after": 1, "min_hold": 0.0, "fail_after": 1, "quiet": 120.0},
            [(0, True, True), (1, True, True)],
            id="quiet-never-delays-a-region-that-never-failed",
        ),
        pytest.param(
            {"burst": 0.0, "recover_after": 5, "min_hold": 100.0, "fail_after": 3, "quiet": 0.0},
            [(0, False, False), (1, True, True), (2, False, False), (3, True, True)],
            id="a-blip-shorter-than-fail-after-is-reported-but-not-latched",
        ),
    ],
)
def test_advance_latch(origin: float, tuning: dict[str, float], steps: Sequence[Step]) -> None:
    settings = TrackerSettings(**tuning)  # type: ignore[arg-type]
    state = LatchState()
    reported = []
    for now, ok, _ in steps:
        state = advance_latch(state, ok, origin + now, settings=settings)
        reported.append(state.healthy)
    assert reported == [expected for _, _, expected in steps]


def test_held_keeps_a_latched_failure() -> None:
    settings = TrackerSettings(burst=0.0, recover_after=1, min_hold=0.0, fail_after=1, quiet=0.0)
    state = advance_latch(LatchState(), False, EPOCH, held=True, settings=settings)
    state = advance_latch(state, True, EPOCH + 1, held=True, settings=settings)
    assert not state.healthy
    assert advance_latch(state, True, EPOCH + 2, held=False, settings=settings).healthy


def test_latch_state_is_plain_serialisable_data() -> None:
    settings = TrackerSettings(burst=0.0, fail_after=1)
    state = advance_latch(LatchState(), False, EPOCH, settings=settings)
    assert LatchState(**json.loads(json.dumps(asdict(state)))) == state
    assert state == LatchState(latched_at=EPOCH, last_bad=EPOCH, failures=1, clean=0)


@pytest.mark.parametrize(
    ("before", "after", "instant_healthy", "held", "expected"),
    [
        pytest.param(LatchState(), LatchState(), True, False, None, id="healthy"),
        pytest.param(
            LatchState(latched_at=0.0),
            LatchState(latched_at=0.0, clean=2),
            True,
            False,
            "recovering 2/10 clean",
            id="recovering",
        ),
        pytest.param(
            LatchState(latched_at=0.0), LatchState(latched_at=0.0), True, True, "held", id="held"
        ),
        pytest.param(
            LatchState(), LatchState(failures=1), False, False, None, id="the-evaluation-failed"
        ),
        pytest.param(
            LatchState(), LatchState(failures=1), False, True, "held", id="failed-and-held"
        ),
    ],
)
def test_latch_reason(
    before: LatchState, after: LatchState, instant_healthy: bool, held: bool, expected: str | None
) -> None:
    reason = latch_reason(
        before, after, instant_healthy=instant_healthy, held=held, settings=TrackerSettings()
    )
    assert reason == expected


# --- shared failure ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        pytest.param([_result("a", F)], [], id="no-peer"),
        pytest.param(
            [_result("a", F), _result("peer", F, scope="peer", failing="a,b")],
            ["a"],
            id="shared",
        ),
        pytest.param(
            [_result("a", F), _result("c", F), _result("peer", F, scope="peer", failing="a")],
            [],
            id="one-not-shared",
        ),
        pytest.param(
            [_result("a", F), _result("peer", P, scope="peer", failing="a")],
            [],
            id="peer-passing",
        ),
        pytest.param(
            [_result("a", F, critical=False), _result("peer", F, scope="peer", failing="a")],
            [],
            id="non-critical-is-not-a-shared-failure",
        ),
        pytest.param([_result("peer", F, scope="peer", failing="a")], [], id="nothing-failing"),
    ],
)
def test_shared_failure(results: list[CheckResult], expected: list[str]) -> None:
    assert shared_failure(results) == expected


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


@pytest.mark.parametrize(
    ("statuses", "expected_reason", "expected_error"),
    [
        pytest.param([P, F, F], "r1", "e1", id="fail-names-the-first-failed-sample"),
        pytest.param([P, P, F], "partial", "1/3 samples failed: e2", id="partial-quotes-it"),
        pytest.param([P, W, W], "r1", "e1", id="warn-names-the-first-warning-sample"),
        pytest.param([P, P], None, "e0", id="all-pass-keeps-the-first-sample"),
    ],
)
def test_combine_samples_reports_the_right_sample(
    statuses: Sequence[Status], expected_reason: str | None, expected_error: str
) -> None:
    # Every sample has its own reason and error, so picking the wrong one shows.
    outcomes = [
        SampleOutcome(s, None if s is P else f"r{i}", f"e{i}") for i, s in enumerate(statuses)
    ]
    verdict = combine_samples(outcomes, duration=0.0, latency_budget=None)
    assert (verdict.reason, verdict.error) == (expected_reason, expected_error)


def test_slow_says_how_long_against_which_budget() -> None:
    verdict = combine_samples([SampleOutcome(P)], duration=0.5, latency_budget=0.25)
    assert verdict.error == "took 0.500s, over its 0.250s budget"


def test_majority_decides_on_a_mixed_set_of_samples() -> None:
    # Five samples, three failed: a majority, so FAIL; two failed: a minority, so WARN.
    three = [SampleOutcome(F, "down", "x")] * 3 + [SampleOutcome(P)] * 2
    two = [SampleOutcome(F, "down", "x")] * 2 + [SampleOutcome(P)] * 3
    assert combine_samples(three, duration=0.0, latency_budget=None).status is F
    assert combine_samples(two, duration=0.0, latency_budget=None).status is W


@pytest.mark.parametrize(
    "tuning",
    [
        pytest.param({"window": 0.0}, id="window-zero"),
        pytest.param({"window": -1.0}, id="window-negative"),
        pytest.param({"min_hold": -0.1}, id="min-hold-negative"),
        pytest.param({"quiet": -0.1}, id="quiet-negative"),
        pytest.param({"threshold": -0.01}, id="threshold-negative"),
        pytest.param({"threshold": 1.0}, id="threshold-one"),
        pytest.param({"min_samples": 0}, id="min-samples-zero"),
        pytest.param({"max_entries": 0}, id="max-entries-zero"),
        pytest.param({"fail_after": 0}, id="fail-after-zero"),
        pytest.param({"recover_after": 0}, id="recover-after-zero"),
        pytest.param({"burst": -0.1}, id="burst-negative"),
        pytest.param({"spread": -0.01}, id="spread-negative"),
        pytest.param({"spread": 1.01}, id="spread-above-one"),
    ],
)
def test_tracker_settings_refuse_meaningless_tuning(tuning: dict[str, float]) -> None:
    messages = {
        "window": "window must be > 0, min_hold, quiet and burst >= 0",
        "min_hold": "window must be > 0, min_hold, quiet and burst >= 0",
        "quiet": "window must be > 0, min_hold, quiet and burst >= 0",
        "burst": "window must be > 0, min_hold, quiet and burst >= 0",
        "spread": "spread must be in [0, 1]",
        "threshold": "threshold must be in [0, 1)",
        "min_samples": "min_samples and max_entries must be >= 1",
        "max_entries": "min_samples and max_entries must be >= 1",
        "fail_after": "fail_after and recover_after must be >= 1",
        "recover_after": "fail_after and recover_after must be >= 1",
    }
    with pytest.raises(ValueError, match=f"^{re.escape(messages[next(iter(tuning))])}$"):
        TrackerSettings(**tuning)  # type: ignore[arg-type]


def test_tracker_settings_accept_the_boundaries() -> None:
    settings = TrackerSettings(
        window=0.001,
        threshold=0.0,
        min_samples=1,
        max_entries=1,
        fail_after=1,
        recover_after=1,
        min_hold=0.0,
        quiet=0.0,
        spread=0.0,
        burst=0.0,
    )
    assert settings.threshold == 0.0
    assert TrackerSettings(spread=1.0).spread == 1.0
    assert TrackerSettings(threshold=0.99).threshold == 0.99


def test_tracker_settings_defaults_are_the_documented_ones() -> None:
    assert TrackerSettings() == TrackerSettings(
        window=60.0,
        threshold=0.08,
        min_samples=20,
        spread=0.4,
        burst=6.0,
        max_entries=1024,
        fail_after=3,
        recover_after=10,
        min_hold=180.0,
        quiet=150.0,
    )
    assert (TrackerSettings().window, TrackerSettings().fail_after) == (60.0, 3)


def test_gray_failing_at_exactly_min_samples_counts() -> None:
    settings = TrackerSettings(threshold=0.0, min_samples=3, spread=0.0, burst=0.0)
    assert gray_failing(WindowCounts(((1, 1), (1, 2))), settings)
    assert not gray_failing(WindowCounts(((1, 1), (1, 1))), settings)
    assert not gray_failing(WindowCounts(((0, 3),)), settings)


@pytest.mark.parametrize(
    ("burst", "failing", "expected"),
    [
        pytest.param(0.0, 1, False, id="no-burst-still-needs-two-buckets"),
        pytest.param(0.0, 2, True, id="no-burst"),
        pytest.param(4.9, 2, True, id="under-one-bucket"),
        pytest.param(5.0, 2, False, id="one-bucket-wide-touches-two"),
        pytest.param(5.0, 3, True, id="more-than-it-touches"),
        pytest.param(10.0, 3, False, id="default-touches-three"),
        pytest.param(10.0, 4, True, id="default"),
    ],
)
def test_failures_must_spread_over_more_buckets_than_a_burst_touches(
    burst: float, failing: int, expected: bool
) -> None:
    settings = TrackerSettings(threshold=0.0, min_samples=1, spread=0.0, burst=burst)
    counts = WindowCounts(((1, 3),) * failing + ((0, 3),) * 4)
    assert gray_failing(counts, settings) is expected


def test_a_streak_latches_only_once_it_lasted_a_burst() -> None:
    settings = TrackerSettings(fail_after=3, burst=10.0, min_hold=60.0)
    state = LatchState()
    for now in (0.0, 2.0, 5.0, 9.9):  # four unhealthy evaluations within 10 s: a blip
        state = advance_latch(state, False, EPOCH + now, settings=settings)
    assert (state.latched, state.failures, state.since) == (False, 4, EPOCH)
    assert advance_latch(state, False, EPOCH + 10.0, settings=settings).latched
    healed = advance_latch(state, True, EPOCH + 10.0, settings=settings)
    assert (healed.healthy, healed.since) == (True, None)  # the next streak starts afresh


def test_a_stored_streak_without_its_start_counts_from_now() -> None:
    # A latch record written before ``since`` existed: the streak's span starts now.
    settings = TrackerSettings(fail_after=3, burst=10.0)
    state = advance_latch(LatchState(failures=5), False, EPOCH, settings=settings)
    assert (state.latched, state.since) == (False, EPOCH)


StateStep = tuple[float, bool, LatchState]  # (now, instant healthy, expected state after)


@pytest.mark.parametrize(
    ("tuning", "steps"),
    [
        pytest.param(
            {"burst": 0.0, "fail_after": 2, "recover_after": 2, "min_hold": 0.0, "quiet": 0.0},
            [
                (1, True, LatchState()),
                (2, False, LatchState(last_bad=2, failures=1, since=2)),
                (3, True, LatchState(last_bad=2)),
                (4, False, LatchState(last_bad=4, failures=1, since=4)),
                (5, False, LatchState(latched_at=5, last_bad=5, failures=2)),
                (6, True, LatchState(latched_at=5, last_bad=5, failures=2, clean=1)),
                (7, False, LatchState(latched_at=5, last_bad=7, failures=2)),
                (8, True, LatchState(latched_at=5, last_bad=7, failures=2, clean=1)),
                (9, True, LatchState(last_bad=7)),
            ],
            id="every-field-through-a-blip-a-latch-a-relapse-and-a-recovery",
        ),
    ],
)
def test_advance_latch_states(tuning: dict[str, float], steps: Sequence[StateStep]) -> None:
    # The state is what a fleet stores and shares: every field matters, not only `healthy`.
    settings = TrackerSettings(**tuning)  # type: ignore[arg-type]
    state = LatchState()
    for now, ok, expected in steps:
        state = advance_latch(state, ok, EPOCH + now, settings=settings)
        shifted = {
            k: (EPOCH + v if k in ("latched_at", "last_bad", "since") and v is not None else v)
            for k, v in asdict(expected).items()
        }
        assert state == LatchState(**shifted), f"after t={now}"


def test_latching_starts_the_clean_count_from_zero_whatever_was_stored() -> None:
    # A state read back from a store may carry a stale clean count; latching resets it.
    settings = TrackerSettings(burst=0.0, fail_after=1, recover_after=5, min_hold=0.0, quiet=0.0)
    state = advance_latch(LatchState(clean=4), False, EPOCH, settings=settings)
    assert state.clean == 0
    assert not advance_latch(state, True, EPOCH + 1, settings=settings).healthy


def test_a_relapse_while_latched_restarts_the_clean_count() -> None:
    settings = TrackerSettings(burst=0.0, fail_after=1, recover_after=2, min_hold=0.0, quiet=0.0)
    reported = []
    state = LatchState()
    for now, ok in [(0, False), (1, True), (2, False), (3, True), (4, True)]:
        state = advance_latch(state, ok, EPOCH + now, settings=settings)
        reported.append(state.healthy)
    assert reported == [False, False, False, False, True]


def test_min_hold_counts_from_the_latch_not_from_the_last_failure() -> None:
    # Latched at 0, failing again at 20: min_hold (30 s) ends at 30, not at 50.
    settings = TrackerSettings(burst=0.0, fail_after=1, recover_after=1, min_hold=30.0, quiet=0.0)
    state = LatchState()
    for now, ok in [(0, False), (20, False), (29, True)]:
        state = advance_latch(state, ok, EPOCH + now, settings=settings)
        assert not state.healthy
    assert advance_latch(state, True, EPOCH + 30, settings=settings).healthy


def test_latch_reason_is_none_for_a_failing_evaluation_while_latched() -> None:
    before = LatchState(latched_at=0.0, last_bad=0.0, failures=1)
    after = LatchState(latched_at=0.0, last_bad=1.0, failures=1)
    settings = TrackerSettings()
    assert latch_reason(before, after, instant_healthy=False, held=False, settings=settings) is None
    reason = latch_reason(before, after, instant_healthy=True, held=False, settings=settings)
    assert reason == "recovering 0/10 clean"


@pytest.mark.parametrize(
    ("clean", "now", "expected"),
    [
        pytest.param(4, 60.0, "recovering 4/10 clean, min_hold 120 s left, quiet 60 s left"),
        pytest.param(31, 150.0, "recovering 10/10 clean, min_hold 30 s left", id="count-capped"),
        pytest.param(31, 179.5, "recovering 10/10 clean, min_hold 1 s left", id="rounded-up"),
        pytest.param(2, 500.0, "recovering 2/10 clean", id="only-the-count-left"),
    ],
)
def test_latch_reason_says_what_recovery_still_waits_for(
    clean: int, now: float, expected: str
) -> None:
    # Latched at 0, last bad at 0: min_hold 180 s and quiet 120 s count from there.
    after = LatchState(latched_at=0.0, last_bad=0.0, clean=clean)
    before = LatchState(latched_at=0.0, last_bad=0.0, clean=clean - 1)
    settings = TrackerSettings(min_hold=180.0, quiet=120.0, recover_after=10)
    reason = latch_reason(
        before, after, instant_healthy=True, held=False, settings=settings, now=now
    )
    assert reason == expected


@pytest.mark.parametrize(
    ("results", "expected"),
    [
        pytest.param(
            [_result("a", F), _result("peer", F, scope="peer", failing="a")],
            ["a"],
            id="exactly-the-same-checks",
        ),
        pytest.param(
            [_result("b", F), _result("a", F), _result("peer", F, scope="peer", failing="b,a")],
            ["a", "b"],
            id="sorted-names",
        ),
        pytest.param(
            [
                _result("a", F),
                _result("g", F, scope="global"),
                _result("peer", F, scope="peer", failing="a"),
            ],
            ["a"],
            id="a-global-failure-is-not-ours-to-share",
        ),
        pytest.param(
            [_result("a", F), _result("peer", F, scope="peer")],
            [],
            id="peer-failing-without-a-list",
        ),
        pytest.param(
            [_result("a", F), _result("x", F, scope="global", failing="a")],
            [],
            id="only-a-peer-check-reports-the-peer",
        ),
    ],
)
def test_shared_failure_edges(results: list[CheckResult], expected: list[str]) -> None:
    assert shared_failure(results) == expected


def test_a_gray_failure_latches_without_waiting_for_a_bursts_span() -> None:
    # The window's evidence already spans more than a burst: fail_after alone decides.
    settings = TrackerSettings(fail_after=2, burst=6.0)
    state = advance_latch(LatchState(), False, EPOCH, sustained=True, settings=settings)
    state = advance_latch(state, False, EPOCH + 1.0, sustained=True, settings=settings)
    assert state.latched
    blip = advance_latch(LatchState(), False, EPOCH, settings=settings)
    assert not advance_latch(blip, False, EPOCH + 1.0, settings=settings).latched


def test_own_failure_is_a_failure_of_discounted_checks_or_for_the_instances_own_reasons() -> None:
    cold = CheckResult("db", F, 0.1, reason="connection", samples=(False,))
    blocked = CheckResult("queue", F, 0.1, reason="blocked_loop", samples=(False,))
    down = CheckResult("queue", F, 0.1, reason="connection", samples=(False,))
    assert own_failure([cold, blocked], discounted={"db"})
    assert not own_failure([cold, down], discounted={"db"})  # the queue is down: evidence
    assert not own_failure([cold], discounted=())
    assert not own_failure([_result("db")], discounted={"db"})  # nothing failed
