"""The fleet glue around a shared store: start-up, the trailing latch write and its lost races,
and the tracking step's exchange, re-application and switch logs. Pure: a scripted store in
memory stands for the shared one (its round trips are tested in test_state_dynamodb.py)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Mapping
from typing import Any

import pytest

from checks import Status
from checks.result import CheckResult
from service.state import Counts, LatchRecord, Snapshot, StoreUnavailable, SwitchRecord
from service.state.fleet import ATTEMPTS, FleetState, View
from service.state.records import latch_from
from service.state.switches import Switches
from service.state.tracking import FleetTracker, judge
from service.verdict.policy import Verdict
from service.verdict.rules import LatchState, TrackerSettings, WindowCounts

NOW = 1_000.0


class Scripted:
    """A shared store that answers as the test scripts it, and records what it was asked."""

    kind = "dynamodb"

    def __init__(self) -> None:
        self.snapshot = Snapshot()
        self.exchanged: list[tuple[Mapping[str, Counts], float]] = []
        self.saved: list[tuple[dict[str, Any], int, float]] = []
        self.races = 0  # save_latch calls to lose before one is written
        self.other: LatchRecord = LatchRecord()  # what a re-read after a lost race finds
        self.loads = 0
        self.start_error: BaseException | None = None
        self.exchange_error: BaseException | None = None
        self.save_error: BaseException | None = None
        self.hang_start = self.hang_save = False

    async def start(self) -> None:
        if self.hang_start:
            await asyncio.Event().wait()
        if self.start_error is not None:
            raise self.start_error

    async def close(self) -> None:
        return None

    def forget_client(self) -> None:
        return None

    async def exchange(self, samples: Mapping[str, Counts], now: float) -> Snapshot:
        self.exchanged.append((dict(samples), now))
        if self.exchange_error is not None:
            raise self.exchange_error
        return self.snapshot

    async def load_latch(self) -> LatchRecord:
        self.loads += 1
        return self.other

    async def save_latch(self, state: Mapping[str, Any], expected: int, now: float) -> bool:
        self.saved.append((dict(state), expected, now))
        if self.hang_save:
            await asyncio.Event().wait()
        if self.save_error is not None:
            raise self.save_error
        if self.races > 0:
            self.races -= 1
            return False
        return True

    async def set_switch(self, record: SwitchRecord) -> None:
        return None


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "deep_health.state"]


# -- StoreUnavailable and View -----------------------------------------------------------------


def test_store_unavailable_says_its_reason_and_detail() -> None:
    error = StoreUnavailable("throttled", "ThrottlingException")
    assert (str(error), error.reason, error.detail) == (
        "throttled: ThrottlingException",
        "throttled",
        "ThrottlingException",
    )
    bare = StoreUnavailable("timeout")
    assert (str(bare), bare.detail) == ("timeout", "")


def switch(name: str, on: bool) -> SwitchRecord:
    return SwitchRecord(name, on, "ops", NOW, "drill")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("switches", "drained", "held"),
    [
        ({}, False, False),
        ({"drain": switch("drain", True)}, True, False),
        ({"hold": switch("hold", True)}, False, True),
        ({"drain": switch("drain", False), "hold": switch("hold", False)}, False, False),
    ],
)
def test_a_view_is_drained_or_held_only_by_a_record_that_is_on(
    switches: dict[str, SwitchRecord], drained: bool, held: bool
) -> None:
    view = View({}, LatchRecord(), switches)  # type: ignore[arg-type]
    assert (view.drained_by(), view.held_by()) == (
        switches["drain"] if drained else None,
        switches["hold"] if held else None,
    )


# -- start -------------------------------------------------------------------------------------


async def test_start_reads_the_fleets_state_once_with_no_samples() -> None:
    store = Scripted()
    store.snapshot = Snapshot(latch=LatchRecord({"clean": 1}, 4))
    fleet = FleetState(store, window=10.0)
    await fleet.start(NOW)
    assert store.exchanged == [({}, NOW)]
    assert (await fleet.local.load_latch()) == LatchRecord({"clean": 1}, 4)


@pytest.mark.parametrize(
    ("hang", "error", "said"),
    [
        (True, None, "timeout"),
        (False, StoreUnavailable("access_denied", "AccessDeniedException"), "access_denied: "),
    ],
)
async def test_a_store_not_ready_at_start_is_logged_and_start_returns(
    caplog: pytest.LogCaptureFixture, hang: bool, error: BaseException | None, said: str
) -> None:
    store = Scripted()
    store.hang_start, store.start_error = hang, error
    fleet = FleetState(store, window=10.0, write_timeout=0.05)
    await asyncio.wait_for(fleet.start(NOW), 5.0)  # bounded by write_timeout, not by the store
    assert store.exchanged == []
    (message,) = logged(caplog)
    assert message.startswith(f"state store not ready ({said}")
    assert message.endswith("): using local state until it answers")


# -- the trailing latch write ------------------------------------------------------------------


def view_of(store: Scripted, latch: LatchRecord) -> View:
    return View({}, latch, {}, "dynamodb")


def clean_plus_one(state: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return {"clean": int((state or {}).get("clean", 0)) + 1}


async def test_a_lost_race_rereads_and_reapplies_the_rule() -> None:
    store = Scripted()
    store.races = 2
    store.other = LatchRecord({"clean": 5}, 9)
    fleet = FleetState(store, window=10.0)
    fleet.commit(view_of(store, LatchRecord({"clean": 1}, 3)), {"clean": 2}, clean_plus_one, NOW)
    await fleet.flush()
    assert store.saved == [({"clean": 2}, 3, NOW), ({"clean": 6}, 9, NOW), ({"clean": 6}, 9, NOW)]
    assert (fleet.latch_conflicts, fleet.write_failures) == (2, 0)


async def test_a_race_lost_to_the_same_answer_stops_writing() -> None:
    store = Scripted()
    store.races = 1
    store.other = LatchRecord({"clean": 2}, 4)  # another instance already wrote this one's state
    fleet = FleetState(store, window=10.0)
    fleet.commit(
        view_of(store, LatchRecord({"clean": 1}, 3)), {"clean": 2}, lambda s: {"clean": 2}, NOW
    )
    await fleet.flush()
    assert store.saved == [({"clean": 2}, 3, NOW)]
    assert (fleet.latch_conflicts, fleet.write_failures) == (1, 0)


async def test_a_race_lost_to_an_unwritten_latch_writes_again() -> None:
    store = Scripted()
    store.races = 1
    store.other = LatchRecord(None, 0)  # the other write vanished (a restored table)
    fleet = FleetState(store, window=10.0)
    fleet.commit(view_of(store, LatchRecord(None, 0)), {"clean": 1}, lambda s: {}, NOW)
    await fleet.flush()
    assert store.saved == [({"clean": 1}, 0, NOW), ({}, 0, NOW)]


async def test_losing_every_race_gives_up_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Scripted()
    store.races = 100
    store.other = LatchRecord({"clean": 0}, 1)
    fleet = FleetState(store, window=10.0)
    fleet.commit(view_of(store, LatchRecord(None, 0)), {"clean": 1}, clean_plus_one, NOW)
    await fleet.flush()
    assert len(store.saved) == ATTEMPTS == 5
    assert (fleet.latch_conflicts, fleet.write_failures) == (ATTEMPTS, 1)
    assert logged(caplog) == ["state store: latch write lost 5 races in a row"]
    fleet.commit(view_of(store, LatchRecord(None, 0)), {"clean": 1}, clean_plus_one, NOW)
    await fleet.flush()
    assert (fleet.latch_conflicts, fleet.write_failures) == (2 * ATTEMPTS, 2)


@pytest.mark.parametrize(
    ("error", "said"),
    [(StoreUnavailable("throttled"), "throttled"), (None, "timeout")],
)
async def test_a_failed_latch_write_is_counted_and_logged(
    caplog: pytest.LogCaptureFixture, error: BaseException | None, said: str
) -> None:
    store = Scripted()
    store.save_error, store.hang_save = error, error is None
    fleet = FleetState(store, window=10.0, write_timeout=0.05)
    for _ in range(2):
        fleet.commit(view_of(store, LatchRecord(None, 0)), {"clean": 1}, clean_plus_one, NOW)
        await asyncio.wait_for(fleet.flush(), 5.0)  # a hanging store is cut at write_timeout
    assert fleet.write_failures == 2
    assert logged(caplog) == [f"state store: latch write failed ({said})"] * 2


async def test_flush_waits_for_a_write_bounded_by_its_own_timeouts() -> None:
    """The write gives up after write_timeout; flush waits ATTEMPTS times that, so it sees it."""
    store = Scripted()
    store.hang_save = True
    fleet = FleetState(store, window=10.0, write_timeout=0.5)
    fleet.commit(view_of(store, LatchRecord(None, 0)), {"clean": 1}, clean_plus_one, NOW)
    await fleet.flush()
    assert fleet.write_failures == 1


# -- the tracking step -------------------------------------------------------------------------

SETTINGS = TrackerSettings(
    window=30, min_samples=4, threshold=0.2, fail_after=2, recover_after=2, min_hold=0, burst=0
)


def result(name: str, *samples: bool) -> CheckResult:
    status = Status.PASS if all(samples) else Status.FAIL
    return CheckResult(name, status, 0.01, samples=samples)


def tracker(store: Scripted, settings: TrackerSettings | None = SETTINGS) -> FleetTracker:
    fleet = FleetState(store, window=30.0)  # type: ignore[arg-type]
    return FleetTracker(fleet, settings, Switches(environ={}), clock=lambda: NOW)


async def test_the_tracker_sends_each_checks_samples_and_the_wall_clock() -> None:
    store = Scripted()
    track = tracker(store)
    await track.track(Verdict(Status.PASS), [result("db", True, False, True)], budget=1.0)
    assert store.exchanged == [({"db": (1, 3)}, NOW)]


async def test_with_the_tracker_off_no_samples_are_shared() -> None:
    store = Scripted()
    track = tracker(store, settings=None)
    await track.track(Verdict(Status.PASS), [result("db", False, False)], budget=1.0)
    assert store.exchanged == [({}, NOW)]


async def test_a_healthy_evaluation_of_a_never_written_latch_writes_nothing() -> None:
    store = Scripted()
    track = tracker(store)
    verdict = await track.track(Verdict(Status.PASS), [result("db", True)], budget=1.0)
    await track.state.flush()
    assert verdict == Verdict(Status.PASS)
    assert store.saved == []


async def test_a_lost_race_reapplies_the_same_judgement_to_the_state_read_back() -> None:
    """Another instance latched first: this one's failure counts on top of that latch."""
    store = Scripted()
    store.snapshot = Snapshot(window={"db": WindowCounts(((1, 10),))})
    store.races = 1
    theirs = LatchState(latched_at=NOW - 5, last_bad=NOW - 5, failures=0, clean=1)
    store.other = LatchRecord(dataclasses.asdict(theirs), 7)
    track = tracker(store)
    verdict = await track.track(Verdict(Status.FAIL, ("db",)), [result("db", False)], budget=1.0)
    await track.state.flush()
    assert verdict.status is Status.FAIL
    mine = judge(
        instant=Status.FAIL,
        window={"db": WindowCounts(((1, 10),))},
        latch=LatchState(),
        now=NOW,
        held=False,
        settings=SETTINGS,
    ).latch
    again = judge(
        instant=Status.FAIL,
        window={"db": WindowCounts(((1, 10),))},
        latch=theirs,
        now=NOW,
        held=False,
        settings=SETTINGS,
    ).latch
    assert again != mine  # the re-application is visible in what is written
    assert store.saved == [
        (dataclasses.asdict(mine), 0, NOW),
        (dataclasses.asdict(again), 7, NOW),
    ]
    assert latch_from(store.saved[-1][0]) == again


async def test_a_lost_race_reapplies_the_drain_and_the_hold() -> None:
    """The re-application judges the same evaluation: drained (so unhealthy) and held."""
    store = Scripted()
    store.snapshot = Snapshot(
        switches={"drain": switch("drain", True), "hold": switch("hold", True)}
    )
    store.races = 1
    theirs = LatchState(latched_at=NOW - 100, last_bad=NOW - 100, clean=1)
    store.other = LatchRecord(dataclasses.asdict(theirs), 2)
    track = tracker(
        store, settings=TrackerSettings(fail_after=1, recover_after=2, min_hold=0, burst=0)
    )
    verdict = await track.track(Verdict(Status.PASS), [result("db", True)], budget=1.0)
    await track.state.flush()
    assert verdict.status is Status.FAIL
    assert verdict.reasons[0].startswith("drained by operator (state store, by ops at ")
    assert verdict.reasons[1].startswith("hold engaged (state store, by ops at ")
    rewritten = latch_from(store.saved[-1][0])
    assert rewritten.latched_at == NOW - 100  # still latched: drained and held
    assert rewritten.clean == 0  # a drained evaluation is not a clean one


async def test_store_switches_are_logged_when_they_change(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Scripted()
    track = tracker(store)
    caplog.set_level(logging.WARNING, logger="deep_health.state")
    steps = [
        {"hold": switch("hold", False)},  # off since before this process: nothing to say
        {"hold": switch("hold", True)},
        {"hold": switch("hold", True)},  # unchanged: said once
        {"hold": switch("hold", False), "drain": switch("drain", True)},
    ]
    for switches in steps:
        store.snapshot = Snapshot(switches=switches)  # type: ignore[arg-type]
        await track.track(Verdict(Status.PASS), [result("db", True)], budget=1.0)
    described = switch("hold", True).describe()
    assert logged(caplog) == [
        f"switch hold on (state store, {described})",
        f"switch hold off (state store, {described})",
        f"switch drain on (state store, {described})",
    ]


def test_a_switch_record_describes_who_when_and_why() -> None:
    record = SwitchRecord("hold", True, "alice@ops-1", 1_800_000_000.5, "failover drill")
    assert record.describe() == "by alice@ops-1 at 2027-01-15T08:00:00Z: failover drill"
    silent = dataclasses.replace(record, reason="")
    assert silent.describe() == "by alice@ops-1 at 2027-01-15T08:00:00Z"


# -- read: the exchange and the fallback's log -------------------------------------------------


@pytest.mark.parametrize(
    ("script", "budget", "detail", "traceback"),
    [
        pytest.param({}, 0.0, "no time left in the deadline", False, id="no-budget"),
        pytest.param({"hang": True}, 0.05, "no answer within 0.050s", False, id="hang"),
        pytest.param(
            {"error": StoreUnavailable("throttled", "ThrottlingException")},
            1.0,
            "ThrottlingException",
            False,
            id="throttled",
        ),
        pytest.param({"error": KeyError("sk")}, 1.0, "KeyError", True, id="a-store-bug"),
    ],
)
async def test_a_fallback_is_logged_once_with_its_detail_and_the_return_too(
    caplog: pytest.LogCaptureFixture,
    script: dict[str, Any],
    budget: float,
    detail: str,
    traceback: bool,
) -> None:
    store = Scripted()
    store.exchange_error = script.get("error")
    if script.get("hang"):
        store.exchange_error = None
        hang = asyncio.Event()

        async def hanging(samples: Mapping[str, Counts], now: float) -> Snapshot:
            await hang.wait()
            return Snapshot()

        store.exchange = hanging  # type: ignore[method-assign]
    fleet = FleetState(store, window=10.0, timeout=5.0)
    for _ in range(3):
        view = await asyncio.wait_for(fleet.read({"a": (0, 1)}, NOW, budget=budget), 5.0)
        assert view.source == "local"
    assert not fleet.available
    reason = "throttled" if "Throttling" in detail else "error" if traceback else "timeout"
    problem = f"state_store: dynamodb {reason}, local state used for this evaluation"
    assert view.problem == problem
    (record,) = [r for r in caplog.records if r.name == "deep_health.state"]
    assert record.getMessage() == f"{problem} ({detail})"
    assert (record.exc_info is not None) is traceback
    store.exchange_error = None
    store.exchange = Scripted.exchange.__get__(store)  # type: ignore[method-assign]
    assert (await fleet.read({}, NOW, budget=1.0)).source == "dynamodb"
    assert fleet.available
    assert (await fleet.read({}, NOW, budget=1.0)).source == "dynamodb"
    assert logged(caplog)[1:] == ["state store answers again: the fleet's state is used"]
    assert fleet.exchanges == 2


async def test_a_fallback_judges_this_processs_window_latch_and_last_switches() -> None:
    store = Scripted()
    store.snapshot = Snapshot(switches={"drain": switch("drain", True)})
    fleet = FleetState(store, window=10.0)
    assert (await fleet.read({"a": (1, 2)}, NOW, budget=1.0)).source == "dynamodb"
    fleet.local.adopt_latch(LatchRecord({"clean": 1}, 6))
    store.exchange_error = StoreUnavailable("connection")
    view = await fleet.read({"a": (1, 3)}, NOW + 1, budget=1.0)
    assert view == View(
        {"a": WindowCounts(((1, 2), (1, 3)))},  # both evaluations, in two 10/12 s buckets
        LatchRecord({"clean": 1}, 6),
        {"drain": switch("drain", True)},
        "local",
        "state_store: dynamodb connection, local state used for this evaluation",
    )
    assert fleet.fallbacks == {"connection": 1}


# -- commit: what is kept locally and what is written ------------------------------------------


async def test_an_unchanged_latch_is_not_written_and_keeps_its_version() -> None:
    store = Scripted()
    fleet = FleetState(store, window=10.0)
    view = View({}, LatchRecord({"clean": 1}, 3), {}, "dynamodb")
    fleet.commit(view, {"clean": 1}, clean_plus_one, NOW, blank={"clean": 0})
    await fleet.flush()
    assert store.saved == []
    assert await fleet.local.load_latch() == LatchRecord({"clean": 1}, 3)


async def test_a_changed_latch_is_kept_locally_a_version_up_and_written() -> None:
    store = Scripted()
    fleet = FleetState(store, window=10.0)
    view = View({}, LatchRecord({"clean": 1}, 3), {}, "dynamodb")
    fleet.commit(view, {"clean": 2}, clean_plus_one, NOW)
    assert await fleet.local.load_latch() == LatchRecord({"clean": 2}, 4)
    await fleet.flush()
    assert store.saved == [({"clean": 2}, 3, NOW)]


async def test_a_latch_judged_on_local_state_is_not_written_to_the_store() -> None:
    """The store failed this evaluation: the fleet's latch was not what the rule judged."""
    store = Scripted()
    fleet = FleetState(store, window=10.0)
    fleet.commit(View({}, LatchRecord(), {}, "local", "problem"), {"clean": 1}, lambda s: {}, NOW)
    await fleet.flush()
    assert store.saved == []
    assert await fleet.local.load_latch() == LatchRecord({"clean": 1}, 1)


async def test_at_most_four_writes_trail_and_more_are_dropped_counted_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = Scripted()
    store.hang_save = True
    fleet = FleetState(store, window=10.0, write_timeout=0.5)
    for clean in range(1, 7):
        view = View({}, LatchRecord({"clean": clean - 1}, clean), {}, "dynamodb")
        fleet.commit(view, {"clean": clean}, clean_plus_one, NOW)
    for _ in range(100):  # yield to the loop until the trailing writes reach the store
        if len(store.saved) == 4:
            break
        await asyncio.sleep(0)
    assert [saved[0] for saved in store.saved] == [{"clean": n} for n in (1, 2, 3, 4)]
    assert fleet.write_failures == 2
    assert logged(caplog) == ["state store: latch write dropped (4 still pending)"] * 2
    await fleet.close()


async def test_a_finished_write_frees_its_place() -> None:
    store = Scripted()
    fleet = FleetState(store, window=10.0)
    for clean in range(1, 7):  # more than the four that may trail at once
        view = View({}, LatchRecord({"clean": clean - 1}, clean), {}, "dynamodb")
        fleet.commit(view, {"clean": clean}, clean_plus_one, NOW)
        await fleet.flush()
    assert len(store.saved) == 6
    assert fleet.write_failures == 0


async def test_close_lets_a_trailing_write_finish() -> None:
    store = Scripted()
    fleet = FleetState(store, window=10.0)
    fleet.commit(View({}, LatchRecord(), {}, "dynamodb"), {"clean": 1}, clean_plus_one, NOW)
    await fleet.close()
    assert store.saved == [({"clean": 1}, 0, NOW)]


async def test_a_reread_that_hangs_fails_the_write_within_write_timeout() -> None:
    store = Scripted()
    store.races = 1
    hang = asyncio.Event()

    async def hanging() -> LatchRecord:
        await hang.wait()
        return LatchRecord()

    store.load_latch = hanging  # type: ignore[method-assign]
    fleet = FleetState(store, window=10.0, write_timeout=0.5)
    fleet.commit(View({}, LatchRecord(), {}, "dynamodb"), {"clean": 1}, clean_plus_one, NOW)
    await fleet.flush()
    assert fleet.write_failures == 1


async def test_a_start_whose_first_read_hangs_returns() -> None:
    store = Scripted()
    hang = asyncio.Event()

    async def hanging(samples: Mapping[str, Counts], now: float) -> Snapshot:
        await hang.wait()
        return Snapshot()

    store.exchange = hanging  # type: ignore[method-assign]
    fleet = FleetState(store, window=10.0, write_timeout=0.05)
    await asyncio.wait_for(fleet.start(NOW), 5.0)
    assert await fleet.local.load_latch() == LatchRecord()


RECOVER_3 = TrackerSettings(fail_after=1, recover_after=3, min_hold=0, quiet=0)


@pytest.mark.parametrize(
    ("settings", "hold"),
    [
        pytest.param(RECOVER_3, False, id="the-trackers-settings"),  # not the hold-only ones
        pytest.param(TrackerSettings(recover_after=1, min_hold=0, quiet=0), True, id="the-hold"),
    ],
)
async def test_a_lost_race_reapplies_the_trackers_settings_and_the_hold(
    settings: TrackerSettings, hold: bool
) -> None:
    """A clean evaluation on top of the latch another instance wrote: still latched, because
    three clean evaluations are needed (not the one of the hold-only tuning), or it is held."""
    store = Scripted()
    mine = LatchState(latched_at=NOW - 100, last_bad=NOW - 100)
    store.snapshot = Snapshot(
        latch=LatchRecord(dataclasses.asdict(mine), 1), switches={"hold": switch("hold", hold)}
    )
    store.races = 1
    theirs = dataclasses.replace(mine, clean=1)
    store.other = LatchRecord(dataclasses.asdict(theirs), 2)
    track = tracker(store, settings=settings)
    await track.track(Verdict(Status.PASS), [result("db", True)], budget=1.0)
    await track.state.flush()
    assert [expected for _, expected, _ in store.saved] == [1, 2]  # lost once, re-applied
    rewritten = latch_from(store.saved[-1][0])
    assert rewritten.latched_at == NOW - 100
