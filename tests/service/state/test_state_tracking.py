"""The tracking step on the fleet's state: the pure judgement, then the engine around it."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from checks import Status
from service.config import parse_config
from service.engine.health import HealthService
from service.state import StoreUnavailable, SwitchRecord
from service.state.records import MAX_CLOCK_SKEW, latch_from
from service.state.tracking import HOLD_ONLY, judge
from service.verdict.rules import LatchState, TrackerSettings, WindowCounts
from support.observed import OUTCOMES, Clock

NOW_ = 1_800_000_000.0

SETTINGS = TrackerSettings(
    window=30, min_samples=10, fail_after=2, recover_after=3, min_hold=60, burst=0.0
)
SPREAD = WindowCounts(((1, 5), (1, 5), (1, 5), (0, 5)))  # 3/20 in 3 of 4 buckets


def test_the_window_rule_fails_a_region_whose_probes_pass() -> None:
    j = judge(
        instant=Status.PASS,
        window={"db": SPREAD},
        latch=LatchState(),
        now=100.0,
        held=False,
        settings=SETTINGS,
    )
    assert j.status is Status.FAIL
    assert j.reasons == ("gray-failure:db 3/20 in 3/4 buckets",)
    assert j.latch.failures == 1


@pytest.mark.parametrize(
    ("latch", "held", "expected"),
    [
        (LatchState(latched_at=0.0, clean=2), False, Status.PASS),  # 3rd clean, past the hold
        (LatchState(latched_at=90.0, clean=2), False, Status.FAIL),  # within min_hold
        (LatchState(latched_at=0.0, clean=2), True, Status.FAIL),  # held
    ],
)
def test_recovery_waits_for_the_streak_the_hold_and_the_switch(
    latch: LatchState, held: bool, expected: Status
) -> None:
    j = judge(instant=Status.PASS, window={}, latch=latch, now=100.0, held=held, settings=SETTINGS)
    assert j.status is expected


def test_with_the_tracker_off_the_latch_only_serves_a_hold() -> None:
    failed = judge(
        instant=Status.FAIL,
        window={"db": WindowCounts(((5, 5), (4, 5)))},
        latch=LatchState(),
        now=1.0,
        held=True,
        settings=None,
    )
    assert failed.status is Status.FAIL
    assert not any(r.startswith("gray-failure") for r in failed.reasons)  # no window
    held = judge(
        instant=Status.PASS, window={}, latch=failed.latch, now=2.0, held=True, settings=None
    )
    assert held.status is Status.FAIL
    assert held.reasons == ("held",)
    free = judge(
        instant=Status.PASS, window={}, latch=failed.latch, now=2.0, held=False, settings=None
    )
    assert free.status is Status.PASS
    assert HOLD_ONLY.min_hold == 0


@pytest.mark.parametrize(
    ("stored", "expected"),
    [
        pytest.param(None, LatchState(), id="never-written"),
        pytest.param({}, LatchState(), id="empty"),
        # A damaged field alone takes its safe value (service.state.records): a time that was
        # set but is no time is "now" (a latched failure stays latched, its hold bounded), a
        # count is 0; the rest is kept.
        pytest.param(
            {"latched_at": "x", "clean": 2},
            LatchState(latched_at=NOW_, clean=2),
            id="a-number-is-text",
        ),
        pytest.param(
            {"last_bad": [1], "failures": 1},
            LatchState(last_bad=NOW_, failures=1),
            id="a-number-is-a-list",
        ),
        pytest.param({"clean": None}, LatchState(), id="a-count-is-null"),
        pytest.param({"failures": 1.5}, LatchState(), id="a-count-is-a-fraction"),
        pytest.param({"failures": -1}, LatchState(), id="a-count-is-negative"),
        pytest.param({"latched_at": True}, LatchState(latched_at=NOW_), id="a-time-is-a-boolean"),
        pytest.param({"latched_at": NOW_ + 3600}, LatchState(latched_at=NOW_), id="an-hour-ahead"),
        pytest.param({"latched_at": float("nan")}, LatchState(latched_at=NOW_), id="nan"),
        pytest.param({"last_bad": 1e300}, LatchState(last_bad=NOW_), id="1e300"),
        pytest.param(
            {"since": "x", "failures": 2},
            LatchState(since=NOW_, failures=2),
            id="a-streak-start-is-text",
        ),
        # A record from before ``since`` existed: kept (the rule counts its streak from now).
        pytest.param({"failures": 2}, LatchState(failures=2), id="no-streak-start"),
        # An unknown key (a newer or older version's) is dropped; the rest is kept.
        pytest.param({"bogus": 1, "clean": 2}, LatchState(clean=2), id="unknown-key"),
        pytest.param([1, 2], LatchState(), id="not-a-mapping"),
    ],
)
def test_a_missing_or_damaged_latch_record_takes_safe_values(
    stored: dict[str, object] | None, expected: LatchState
) -> None:
    assert latch_from(stored, NOW_) == expected


def test_a_latch_time_ahead_of_now_within_the_skew_allowance_is_kept() -> None:
    assert latch_from({"latched_at": NOW_ + MAX_CLOCK_SKEW}, NOW_).latched_at == NOW_ + 2.0


def test_a_stored_latch_is_read_back_whole() -> None:
    state = LatchState(latched_at=10.5, last_bad=12, failures=0, clean=2)
    assert latch_from(dataclasses.asdict(state)) == state


# -- the engine --------------------------------------------------------------------------------

FAILOVER = (
    "[failover]\nwindow = 30\nthreshold = 0.1\nmin_samples = 10\nfail_after = 2\n"
    "recover_after = 3\nmin_hold = 60\nquiet = 0\nburst = 0\n"
)
Make = Callable[..., HealthService]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    made: list[HealthService] = []

    def build(extra: str = "", *, clock: Clock, key: str, checks: str = "") -> HealthService:
        text = (
            "[service]\ncache_ttl = 0\n"
            + FAILOVER
            + extra
            + f'[[checks]]\ntype = "support.observed:Scripted"\nname = "db"\nkey = "{key}"\n'
            + checks
        )
        service = HealthService(parse_config(text), clock=clock, wall_clock=clock)
        service.start()
        made.append(service)
        return service

    yield build
    for service in made:
        service.close()


async def statuses(service: HealthService, clock: Clock, count: int) -> list[Status]:
    seen = []
    for _ in range(count):
        clock.advance(1.0)
        seen.append((await service.report()).verdict.status)
    return seen


async def test_a_shared_failure_only_warns_even_once_the_window_is_full(make: Make) -> None:
    """Before: the window filled with the shared failure's samples and failed the region."""
    clock, key = Clock(), uuid.uuid4().hex
    peer = '[[checks]]\ntype = "support.peers:FailingPeer"\nfailing = "db"\n'
    service = make(clock=clock, key=key, checks=peer)
    OUTCOMES[key] = "connection"  # db fails here, and the peer says it fails there too
    seen = await statuses(service, clock, 40)  # four times min_samples
    assert seen == [Status.WARN] * 40


async def test_a_store_hold_applies_with_the_tracker_off(make: Make) -> None:
    clock, key = Clock(), uuid.uuid4().hex
    service = make("enabled = false\n", clock=clock, key=key)
    record = SwitchRecord("hold", True, "ops", clock(), "failover drill")
    assert service.fleet.store is None  # memory: the switch record lives in this process
    await service.fleet.local.set_switch(record)
    OUTCOMES[key] = "pass"
    # The first run opens the check's clients: its failure would be no evidence (own_failure).
    assert await statuses(service, clock, 1) == [Status.PASS]
    OUTCOMES[key] = "connection"
    assert await statuses(service, clock, 1) == [Status.FAIL]
    OUTCOMES[key] = "pass"
    clock.advance(600)
    report_statuses = await statuses(service, clock, 5)
    assert report_statuses == [Status.FAIL] * 5
    reasons = (await service.report()).verdict.reasons
    assert any("hold engaged (state store, by ops at" in r for r in reasons)


async def test_a_hold_on_a_healthy_region_says_it_is_armed_then_engaged_once_it_fails(
    make: Make,
) -> None:
    """Before: a healthy region answered 200 while its reason said "stays failed over"."""
    clock, key = Clock(), uuid.uuid4().hex
    service = make(clock=clock, key=key)
    OUTCOMES[key] = "pass"
    await service.fleet.local.set_switch(SwitchRecord("hold", True, "ops", clock(), "drill"))
    clock.advance(1.0)
    report = await service.report()
    assert report.verdict.status is Status.PASS  # a hold never fails a healthy region
    (reason,) = report.verdict.reasons
    assert reason.startswith("hold armed (state store, by ops at")
    assert "the region is healthy and keeps serving" in reason
    assert "stays failed over until released" in reason  # what it will do, said as such
    OUTCOMES[key] = "connection"
    await statuses(service, clock, 2)  # fail_after = 2: latched
    OUTCOMES[key] = "pass"
    clock.advance(600)
    report = await service.report()
    assert report.verdict.status is Status.FAIL
    assert any(r.startswith("hold engaged (state store, by ops at") for r in report.verdict.reasons)


class Throttled:
    """A shared store that is always throttled."""

    kind = "dynamodb"

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def exchange(self, samples: object, now: float) -> object:
        raise StoreUnavailable("throttled", "ThrottlingException")

    async def load_latch(self) -> object:
        raise StoreUnavailable("throttled")

    async def save_latch(self, state: object, expected: int, now: float) -> bool:
        raise StoreUnavailable("throttled")

    async def set_switch(self, record: object) -> None:
        raise StoreUnavailable("throttled")


async def test_a_failing_store_never_fails_the_region_and_is_counted(make: Make) -> None:
    from service.listeners.metrics import Metrics

    clock, key = Clock(), uuid.uuid4().hex
    service = make(clock=clock, key=key)
    service.fleet.store = Throttled()  # type: ignore[assignment]
    metrics = Metrics(service)
    OUTCOMES[key] = "pass"
    assert await statuses(service, clock, 3) == [Status.PASS] * 3
    reasons = (await service.report()).verdict.reasons
    assert "state_store: dynamodb throttled, local state used for this evaluation" in reasons
    text = metrics.exposition().decode()
    assert 'deep_health_state_store_fallbacks_total{reason="throttled"} 4.0' in text
    assert "deep_health_state_store_available 0.0" in text


def test_a_latched_region_says_how_far_its_recovery_is() -> None:
    latch = LatchState(latched_at=90.0, last_bad=90.0)
    j = judge(instant=Status.PASS, window={}, latch=latch, now=100.0, held=False, settings=SETTINGS)
    # Latched at 90, now 100: what recovery still waits for, in seconds.
    reason = "recovering 1/3 clean, min_hold 50 s left, quiet 140 s left"
    assert (j.status, j.reasons) == (Status.FAIL, (reason,))


def test_an_instances_own_failure_is_reported_but_moves_no_latch() -> None:
    # A new instance's first run fails (cold clients): 503 from it, but the region's latch
    # neither counts it towards latching nor restarts a latched region's quiet time.
    settings = TrackerSettings(fail_after=1, burst=0.0, quiet=120.0)
    latched = LatchState(latched_at=0.0, last_bad=0.0, failures=1)
    for latch in (LatchState(), latched):
        j = judge(
            instant=Status.FAIL,
            window={},
            latch=latch,
            now=100.0,
            held=False,
            settings=settings,
            own=True,
        )
        assert (j.status, j.latch) == (Status.FAIL, latch)
    counted = judge(
        instant=Status.FAIL, window={}, latch=LatchState(), now=100.0, held=False, settings=settings
    )
    assert counted.latch.latched
