"""service.state.records' rules, each tested at its bound (not a step away from it)."""

from __future__ import annotations

import pytest

from service.state.records import (
    MAX_CLOCK_SKEW,
    check_latch,
    check_switch,
    check_version,
    clock_skew,
    counts_from,
    future_bucket,
)
from service.verdict.rules import LatchState

NOW = 1_800_000_000.0
EPS = 0.001


def test_the_skew_bound_is_two_seconds() -> None:
    assert MAX_CLOCK_SKEW == 2.0


@pytest.mark.parametrize(
    ("sent", "received", "date", "skewed"),
    [
        # Date truncates to the second: the answer was made in [D, D + 1) store time.
        pytest.param(NOW + 3.0, NOW + 3.0, NOW, False, id="ahead-by-at-most-the-bound"),
        pytest.param(NOW + 3.0 + EPS, NOW + 3.1, NOW, True, id="ahead-just-past-the-bound"),
        pytest.param(NOW - 2.0, NOW - 2.0, NOW, False, id="behind-by-at-most-the-bound"),
        pytest.param(NOW - 2.5, NOW - 2.0 - EPS, NOW, True, id="behind-just-past-the-bound"),
        # A slow round trip never accuses an honest clock.
        pytest.param(NOW, NOW + 30.0, NOW + 15.0, False, id="a-30-s-round-trip"),
        pytest.param(NOW + 600, NOW + 600.1, NOW, True, id="ten-minutes-ahead"),
        pytest.param(NOW - 600, NOW - 599.9, NOW, True, id="ten-minutes-behind"),
    ],
)
def test_a_clock_is_accused_only_when_certainly_past_the_bound(
    sent: float, received: float, date: float, skewed: bool
) -> None:
    assert (clock_skew(sent, received, date) is not None) is skewed


def test_the_offset_says_which_way_and_about_how_far() -> None:
    ahead = clock_skew(NOW + 600.0, NOW + 600.2, NOW)
    behind = clock_skew(NOW - 600.0, NOW - 599.8, NOW)
    assert ahead is not None
    assert behind is not None
    assert 599 < ahead < 601
    assert -601 < behind < -599


def test_a_bucket_may_start_up_to_the_bound_after_now() -> None:
    assert future_bucket("w#1", NOW + MAX_CLOCK_SKEW, NOW) is None
    assert future_bucket("w#1", NOW + MAX_CLOCK_SKEW + EPS, NOW) is not None


@pytest.mark.parametrize(
    ("failures", "total", "counted"),
    [
        pytest.param(3, 3, {"db": (3, 3)}, id="all-failed"),
        pytest.param(0, 0, {}, id="no-samples"),
        pytest.param(4, 3, {}, id="more-failures-than-samples"),
        pytest.param(-1, 3, {}, id="negative-failures"),
        pytest.param(1.0, 3, {}, id="a-float-failure"),
        pytest.param(True, 3, {}, id="a-boolean"),
    ],
)
def test_bucket_counters(failures: object, total: object, counted: dict[str, object]) -> None:
    counts, damage = counts_from("w#1", {"f_db": failures, "n_db": total, "e": 2})
    assert counts == counted
    assert (damage is None) is (counted != {} or (failures, total) == (0, 0))


def test_a_check_with_only_a_total_has_no_failures() -> None:
    assert counts_from("w#1", {"n_db": 4}) == ({"db": (0, 4)}, None)


@pytest.mark.parametrize(
    ("value", "version"),
    [(1, 1), (7, 7), (0, None), (-1, None), (1.0, None), (True, None), ("1", None), (None, None)],
)
def test_a_latch_version_is_a_whole_number_from_1(value: object, version: int | None) -> None:
    assert check_version(value) == version


def test_latch_times_up_to_the_bound_are_kept_past_it_are_now() -> None:
    at_bound = {"latched_at": NOW + MAX_CLOCK_SKEW, "last_bad": NOW + MAX_CLOCK_SKEW}
    assert check_latch(at_bound, NOW) == (
        LatchState(latched_at=NOW + 2.0, last_bad=NOW + 2.0),
        None,
    )
    past = {"latched_at": NOW + MAX_CLOCK_SKEW + EPS, "failures": 2, "clean": 1}
    latch, damage = check_latch(past, NOW)
    assert latch == LatchState(latched_at=NOW, failures=2, clean=1)
    assert damage is not None
    assert damage.kind == "latch"
    assert "latched_at is not a time up to now" in damage.text


def test_a_latch_time_far_in_the_past_is_a_time() -> None:
    assert check_latch({"latched_at": -5.0}, NOW) == (LatchState(latched_at=-5.0), None)


@pytest.mark.parametrize(
    ("at", "kept"),
    [(NOW + MAX_CLOCK_SKEW, True), (NOW + MAX_CLOCK_SKEW + EPS, False), (EPS, True), (0, False)],
)
def test_a_switch_time_lies_in_0_to_now_plus_the_bound(at: float, kept: bool) -> None:
    record, damage = check_switch("hold", {"on": True, "at": at, "by": "al"}, NOW)
    assert record.at == (at if kept else 0.0)
    assert (damage is None) is kept


def test_a_switch_with_text_by_and_why_is_cut_to_256_characters() -> None:
    record, damage = check_switch("hold", {"on": False, "at": 5, "by": "b" * 300, "why": 7}, NOW)
    assert record.by == "b" * 256
    assert record.reason == ""
    assert damage is not None
    assert "by or why is not text" in damage.text


def test_the_offset_is_the_midpoints_difference() -> None:
    # The answer was made within the round trip and within Date's second: midpoints of both.
    assert clock_skew(NOW + 600.0, NOW + 600.0, NOW) == 599.5
    assert clock_skew(NOW - 600.0, NOW - 599.0, NOW) == -600.0


def test_a_failure_counter_without_its_total_is_damage() -> None:
    counts, damage = counts_from("w#9", {"f_db": 1, "f_queue": 2, "n_queue": 2})
    assert counts == {"queue": (2, 2)}
    assert damage is not None
    assert damage.kind == "bucket"
    assert damage.text == (
        "w#9: 1 check(s) with counters that are not whole numbers >= 0: left out"
    )


def test_the_report_counts_every_damaged_check_of_a_bucket() -> None:
    _, damage = counts_from("w#9", {"f_a": 0.5, "n_a": 2, "f_b": 1, "n_b": -2, "n_c": 3})
    assert damage is not None
    assert damage.text.startswith("w#9: 2 check(s) ")


def test_texts_a_person_reads() -> None:
    latch, damage = check_latch([1, 2], NOW)  # type: ignore[arg-type]
    assert latch == LatchState()
    assert damage is not None
    assert (damage.kind, damage.text) == ("latch", "record: state is not a mapping: read as blank")
    _, damage = check_latch({"latched_at": "x", "failures": -1}, NOW)
    assert damage is not None
    assert damage.text == (
        "record: latched_at is not a time up to now, failures is not a whole number >= 0: "
        "replaced by safe values"
    )
    _, damage = check_switch("drain", {"on": "maybe", "at": -1, "by": 7, "why": "x"}, NOW)
    assert damage is not None
    assert (damage.kind, damage.text) == (
        "switch",
        "drain: on is neither true nor false: read as ON (the operator's action); "
        "at is not a time up to now: shown as unknown; by or why is not text",
    )
    bucket = future_bucket("w#9", NOW + 60, NOW)
    assert bucket is not None
    assert (bucket.kind, bucket.text) == (
        "bucket",
        "w#9: starts more than 2s after this clock's now: not counted (an instance's clock is "
        "ahead?)",
    )


@pytest.mark.parametrize(
    ("on", "read_as", "said"),
    [
        ("false", False, "on is not a boolean: read as off"),
        (0, False, "on is not a boolean: read as off"),
        ("on", True, "on is not a boolean: read as on"),
        (1, True, "on is not a boolean: read as on"),
        (2, True, "on is neither true nor false: read as ON (the operator's action)"),
        (0.5, True, "on is neither true nor false: read as ON (the operator's action)"),
        (None, True, "on is neither true nor false: read as ON (the operator's action)"),
    ],
)
def test_the_switch_type_rule(on: object, read_as: bool, said: str) -> None:
    record, damage = check_switch("hold", {"on": on, "at": 5}, NOW)
    assert record.on is read_as
    assert damage is not None
    assert damage.text == f"hold: {said}"


def test_a_bad_by_or_why_alone_is_replaced() -> None:
    record, _ = check_switch("hold", {"on": True, "at": 5, "by": 7, "why": "drill"}, NOW)
    assert (record.by, record.reason) == ("?", "drill")
    record, _ = check_switch("hold", {"on": True, "at": 5, "by": "al", "why": ["x"]}, NOW)
    assert (record.by, record.reason) == ("al", "")


def test_without_now_a_damaged_time_is_the_clocks_origin() -> None:
    # Types only (a store read without the evaluation's time): 0, long past any hold.
    assert check_latch({"latched_at": "x"})[0] == LatchState(latched_at=0.0)


def test_a_failure_counter_of_0_without_its_total_is_no_sample_and_no_damage() -> None:
    assert counts_from("w#1", {"f_db": 0}) == ({}, None)
