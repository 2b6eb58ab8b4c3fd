"""The verdict's rules over samples and time: pure functions, table-driven, no I/O."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict

import pytest

from checks.result import FAILING_CHECKS, CheckResult, Observation, Scope, Status
from service.rules import (
    LatchState,
    SampleOutcome,
    TrackerSettings,
    advance_latch,
    combine_samples,
    feeds_window,
    gray_failing,
    latch_reason,
    shared_failure,
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


@pytest.mark.parametrize(
    ("failures", "total", "expected"),
    [
        pytest.param(0, 0, False, id="empty"),
        pytest.param(5, 19, False, id="too-few-samples"),
        pytest.param(2, 20, False, id="at-threshold"),
        pytest.param(3, 20, True, id="above-threshold"),
        pytest.param(11, 110, False, id="noise-at-threshold"),
        pytest.param(12, 110, True, id="gray-failure"),
    ],
)
def test_gray_failing(failures: int, total: int, expected: bool) -> None:
    settings = TrackerSettings(threshold=0.10, min_samples=20)
    assert gray_failing(failures, total, settings) is expected


# --- the latch -----------------------------------------------------------------------------

Step = tuple[float, bool, bool]  # (now, instant healthy, expected reported healthy)
EPOCH = 1.8e9  # wall-clock epoch seconds, as a fleet would pass them


@pytest.mark.parametrize("origin", [0.0, EPOCH], ids=["monotonic", "epoch"])
@pytest.mark.parametrize(
    ("tuning", "steps"),
    [
        pytest.param(
            {"recover_after": 2, "min_hold": 0.0, "fail_after": 1, "quiet": 0.0},
            [(0, True, True), (1, False, False), (2, True, False), (3, True, True)],
            id="fails-at-once-recovers-after-clean-evaluations",
        ),
        pytest.param(
            {"recover_after": 1, "min_hold": 30.0, "fail_after": 1, "quiet": 0.0},
            [(0, False, False), (1, True, False), (29, True, False), (30, True, True)],
            id="min-hold-counts-from-the-latch",
        ),
        pytest.param(
            {"recover_after": 1, "min_hold": 0.0, "fail_after": 1, "quiet": 20.0},
            [(0, False, False), (10, False, False), (25, True, False), (30, True, True)],
            id="quiet-counts-from-the-last-unhealthy-evaluation",
        ),
        pytest.param(
            {"recover_after": 1, "min_hold": 0.0, "fail_after": 1, "quiet": 120.0},
            [(0, True, True), (1, True, True)],
            id="quiet-never-delays-a-region-that-never-failed",
        ),
        pytest.param(
            {"recover_after": 5, "min_hold": 100.0, "fail_after": 3, "quiet": 0.0},
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
    settings = TrackerSettings(recover_after=1, min_hold=0.0, fail_after=1, quiet=0.0)
    state = advance_latch(LatchState(), False, EPOCH, held=True, settings=settings)
    state = advance_latch(state, True, EPOCH + 1, held=True, settings=settings)
    assert not state.healthy
    assert advance_latch(state, True, EPOCH + 2, held=False, settings=settings).healthy


def test_latch_state_is_plain_serialisable_data() -> None:
    settings = TrackerSettings(fail_after=1)
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
