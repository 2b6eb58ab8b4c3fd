"""The tracker: gray-failure window, recovery hysteresis and their combination (pure, no I/O)."""

from __future__ import annotations

import enum
from collections.abc import Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.verdict.tracker import (
    FailureWindow,
    Hysteresis,
    TrackedVerdict,
    Tracker,
    TrackerSettings,
    status_value,
)


class Status(enum.Enum):
    """Stands in for ``checks.Status``: only ``.value`` matters."""

    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"


@pytest.mark.parametrize(
    ("given_status", "expected"),
    [("pass", "pass"), ("warn", "warn"), ("fail", "fail"), (Status.WARN, "warn")],
)
def test_status_value_accepts_strings_and_enums(given_status: str | Status, expected: str) -> None:
    assert status_value(given_status) == expected


@pytest.mark.parametrize("bad", ["PASS", "ok", ""])
def test_status_value_rejects_anything_else(bad: str) -> None:
    with pytest.raises(ValueError, match="not a health status"):
        status_value(bad)


# --- FailureWindow -------------------------------------------------------------------------


def test_window_counts_failures_and_samples() -> None:
    window = FailureWindow(window=60.0)
    window.record("db", [True, False, True], now=0.0)
    window.record("db", [False, False, True], now=1.0)
    window.record("queue", [True], now=1.0)
    assert window.ratio("db", now=1.0) == (3, 6)
    assert window.ratio("queue", now=1.0) == (0, 1)
    assert window.ratio("unknown", now=1.0) == (0, 0)
    assert window.checks() == ("db", "queue")


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (59.9, (2, 4)),  # both evaluations inside the window
        (60.0, (1, 2)),  # the first is exactly one window old: gone
        (70.0, (0, 0)),  # everything expired
    ],
)
def test_window_expires_by_time(now: float, expected: tuple[int, int]) -> None:
    window = FailureWindow(window=60.0)
    window.record("db", [False, True], now=0.0)
    window.record("db", [False, True], now=10.0)
    assert window.ratio("db", now=now) == expected


def test_window_memory_is_bounded_by_max_entries() -> None:
    window = FailureWindow(window=1e9, max_entries=10)
    for i in range(1000):
        window.record("db", [i % 2 == 0], now=float(i))
    assert window.ratio("db", now=1000.0) == (5, 10)


def test_window_ignores_an_evaluation_without_samples() -> None:
    window = FailureWindow(window=60.0)
    window.record("db", [], now=0.0)
    assert window.ratio("db", now=0.0) == (0, 0)
    assert window.checks() == ()


@pytest.mark.parametrize(
    ("failures", "total", "expected"),
    [
        (3, 10, False),  # 30 % but fewer than min_samples
        (2, 20, False),  # exactly 10 %: the ratio must exceed the threshold
        (3, 20, True),  # 15 % with enough samples
        (0, 100, False),
        (100, 100, True),
    ],
)
def test_gray_failing_needs_min_samples_and_a_ratio_above_threshold(
    failures: int, total: int, expected: bool
) -> None:
    # Half the samples in each of two 5 s buckets: spread enough for a rule that asks for no
    # more than two failing buckets.
    window = FailureWindow(window=60.0)
    samples = [False] * failures + [True] * (total - failures)
    window.record("db", samples[0::2], now=0.0)
    window.record("db", samples[1::2], now=5.0)
    assert window.gray_failing("db", 5.0, RATIO_ONLY) is expected


@given(
    st.lists(
        st.tuples(st.floats(0.0, 5.0), st.lists(st.booleans(), max_size=5)),
        max_size=60,
    ),
    st.floats(1.0, 30.0),
)
def test_window_totals_match_a_brute_force_count(
    steps: list[tuple[float, list[bool]]], span: float
) -> None:
    window = FailureWindow(window=span, max_entries=10_000)
    now, history = 0.0, []
    for gap, samples in steps:
        now += gap
        window.record("db", samples, now)
        history.append((now, samples))
    kept = [s for t, samples in history if t > now - span for s in samples]
    assert window.ratio("db", now) == (kept.count(False), len(kept))


RATIO_ONLY = TrackerSettings(threshold=0.10, spread=0.0, burst=0.0)
"""A 10 % threshold with as little spread over time asked for as can be (two failing buckets)."""

# --- Hysteresis ----------------------------------------------------------------------------

Step = tuple[float, bool, bool]  # (now, instant healthy, expected reported healthy)


@pytest.mark.parametrize(
    ("params", "steps"),
    [
        pytest.param(
            {"recover_after": 2, "min_hold": 0.0},
            [(0, True, True), (1, False, False), (2, True, False), (3, True, True)],
            id="fails-at-once-recovers-after-clean-evaluations",
        ),
        pytest.param(
            {"recover_after": 3, "min_hold": 0.0},
            [
                (0, False, False),
                (1, True, False),
                (2, False, False),
                (3, True, False),
                (4, True, False),
                (5, True, True),
            ],
            id="a-relapse-restarts-the-clean-count",
        ),
        pytest.param(
            {"recover_after": 1, "min_hold": 30.0},
            [(0, False, False), (1, True, False), (29, True, False), (30, True, True)],
            id="min-hold-counts-from-the-latch",
        ),
        pytest.param(
            {"recover_after": 1, "min_hold": 0.0, "quiet": 20.0},
            [(0, False, False), (10, False, False), (25, True, False), (30, True, True)],
            id="quiet-counts-from-the-last-unhealthy-evaluation",
        ),
        pytest.param(
            {"recover_after": 5, "min_hold": 100.0, "fail_after": 3},
            [
                (0, False, False),
                (1, True, True),
                (2, False, False),
                (3, False, False),
                (4, True, True),
            ],
            id="a-blip-shorter-than-fail-after-is-reported-but-not-latched",
        ),
        pytest.param(
            {"recover_after": 1, "min_hold": 100.0, "fail_after": 3},
            [
                (0, False, False),
                (1, False, False),
                (2, False, False),
                (3, True, False),
                (102, True, True),
            ],
            id="fail-after-consecutive-evaluations-latch",
        ),
    ],
)
def test_hysteresis_fails_fast_and_recovers_slowly(
    params: dict[str, float], steps: Sequence[Step]
) -> None:
    hysteresis = Hysteresis(**params)  # type: ignore[arg-type]
    reported = [hysteresis.update(ok, float(now)) for now, ok, _ in steps]
    assert reported == [expected for _, _, expected in steps]


def test_hold_keeps_the_failure_until_released() -> None:
    hysteresis = Hysteresis(recover_after=1, min_hold=0.0)
    assert hysteresis.update(False, 0.0, held=True) is False
    assert [hysteresis.update(True, t, held=True) for t in (1.0, 2.0, 3.0)] == [False] * 3
    assert hysteresis.update(True, 4.0, held=False) is True


def test_hold_does_not_fail_a_healthy_region() -> None:
    hysteresis = Hysteresis(recover_after=1, min_hold=0.0)
    assert hysteresis.update(True, 0.0, held=True) is True


# --- Tracker -------------------------------------------------------------------------------

FAST = TrackerSettings(
    window=60.0,
    threshold=0.10,
    min_samples=20,
    spread=0.0,
    burst=0.0,
    fail_after=1,
    recover_after=5,
    min_hold=0.0,
    quiet=0.0,
)


@pytest.mark.parametrize(
    ("instant", "samples", "expected"),
    [
        ("pass", {"accounts-table": [True] * 3}, TrackedVerdict("pass")),
        ("warn", {"accounts-table": [True] * 3}, TrackedVerdict("warn")),
        (Status.PASS, {}, TrackedVerdict("pass")),
        ("fail", {"accounts-table": [False] * 3}, TrackedVerdict("fail")),
        # One evaluation's samples fail together: one event, never a gray failure alone.
        ("pass", {"accounts-table": [False] * 4 + [True] * 16}, TrackedVerdict("pass")),
        ("pass", {"accounts-table": [False] * 2 + [True] * 18}, TrackedVerdict("pass")),
    ],
)
def test_first_observation(
    instant: str | Status, samples: dict[str, list[bool]], expected: TrackedVerdict
) -> None:
    assert Tracker(FAST).observe(instant, samples, now=0.0) == expected


def test_gray_failure_fails_the_region_although_every_evaluation_passes() -> None:
    tracker = Tracker(FAST)
    verdicts = [
        tracker.observe("pass", {"accounts-table": [t % 2 == 0, True, True]}, now=float(t))
        for t in range(10)
    ]
    # 5 failures in 30 samples (17 %) once min_samples (20) is reached at the 7th evaluation.
    assert [v.status for v in verdicts] == ["pass"] * 6 + ["fail"] * 4
    assert verdicts[-1].reasons == ("gray-failure:accounts-table 5/30 in 2/2 buckets",)


def test_recovery_is_explained_while_it_waits() -> None:
    tracker = Tracker(FAST)
    assert tracker.observe("fail", {}, now=0.0).status == "fail"
    verdicts = [tracker.observe("pass", {}, now=float(t)) for t in range(1, 6)]
    assert [v.reasons for v in verdicts[:2]] == [
        ("recovering 1/5 clean",),
        ("recovering 2/5 clean",),
    ]
    assert verdicts[-1] == TrackedVerdict("pass")


def test_held_is_a_reason() -> None:
    tracker = Tracker(FAST)
    tracker.observe("fail", {}, now=0.0)
    assert tracker.observe("pass", {}, now=100.0, held=True) == TrackedVerdict("fail", ("held",))


def test_one_noisy_sample_does_not_fail_a_fresh_tracker() -> None:
    tracker = Tracker()
    assert tracker.observe("pass", {"db": [False, True, True]}, now=0.0).status == "pass"


@pytest.mark.parametrize(
    "bad",
    [
        {"window": 0.0},
        {"threshold": 1.0},
        {"threshold": -0.1},
        {"min_samples": 0},
        {"recover_after": 0},
        {"fail_after": 0},
        {"min_hold": -1.0},
        {"quiet": -1.0},
    ],
)
def test_settings_reject_meaningless_values(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        TrackerSettings(**bad)  # type: ignore[arg-type]


# --- pinned down by mutation testing (`make mutation`) --------------------------------------


def test_window_keeps_1024_evaluations_by_default() -> None:
    window = FailureWindow(window=1e9)
    for i in range(1100):
        window.record("db", [True], now=float(i))
    assert window.ratio("db", now=1100.0) == (0, 1024)


def test_hysteresis_defaults_fail_at_once_and_recover_at_once() -> None:
    hysteresis = Hysteresis()
    assert hysteresis.update(False, 5.0) is False
    assert hysteresis.latched
    assert hysteresis.update(True, 5.0) is True
    assert (hysteresis.latched, hysteresis.clean) == (False, 0)


def test_tracker_bounds_its_window_by_max_entries() -> None:
    # Two evaluations kept: the failure at t=0 has left the window by t=2 (with 1024 kept it
    # would still count: 1/3 > 0.3).
    settings = TrackerSettings(
        window=12.0,  # 1 s buckets
        threshold=0.3,
        min_samples=1,
        max_entries=2,
        fail_after=10,
        quiet=0.0,
        spread=0.0,
        burst=0.0,
    )
    tracker = Tracker(settings)
    statuses = [
        tracker.observe("pass", {"db": [ok]}, now=float(t)).status
        for t, ok in enumerate([False, False, True])
    ]
    # Two failing buckets at t=1; at t=2 the first has left the two entries kept (with 1024
    # kept it would still count: 2/3 in two buckets).
    assert statuses == ["pass", "fail", "pass"]


def test_held_keeps_the_tracker_failing_where_it_would_recover() -> None:
    settings = TrackerSettings(fail_after=1, recover_after=1, min_hold=0.0, quiet=0.0, burst=0.0)
    tracker = Tracker(settings)
    tracker.observe("fail", {}, now=0.0)
    assert tracker.observe("pass", {}, now=1.0, held=True) == TrackedVerdict("fail", ("held",))
    assert tracker.observe("pass", {}, now=2.0) == TrackedVerdict("pass")
