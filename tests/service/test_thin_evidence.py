"""Thin evidence never fails a region (issue 23): the engine with its shipped defaults.

Both reproductions failed before the gray-failure rule asked for evidence spread over time: the
samples of one evaluation fail together, so one or two bad evaluations at start-up counted as
6 of 21 independent samples and latched the region for ``min_hold`` + ``quiet``.

Time is an injected clock; outcomes are scripted; no I/O but the checks' own loop.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable

import pytest

from checks import Status
from service.config import parse_config
from service.engine.health import HealthService
from service.state.memory import MemoryStore
from support.observed import OUTCOMES, Clock

# The shipped [failover] defaults; only the runner's cache is off, so the injected clock (not
# the wall clock) decides when a probe evaluates.
CONFIG = (
    "[service]\ncache_ttl = 0\n"
    '[[checks]]\ntype = "support.observed:Scripted"\nname = "{name}"\nkey = "{key}"\n'
)

Make = Callable[..., HealthService]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    made: list[HealthService] = []

    def build(clock: Clock, key: str, name: str = "accounts", **kwargs: object) -> HealthService:
        config = parse_config(CONFIG.format(name=name, key=key))
        service = HealthService(config, clock=clock, wall_clock=clock, **kwargs)  # type: ignore[arg-type]
        service.start()
        made.append(service)
        return service

    yield build
    for service in made:
        service.close()


async def test_two_regions_started_while_their_dependency_resets_connections_stay_healthy(
    make: Make,
) -> None:
    """Both regions start together; the dependency resets connections for 0.9 s, then heals.

    Before: both latched ``gray-failure:accounts 6/21`` at the 7th evaluation and stayed failed
    for ``min_hold`` + ``quiet`` (with both unhealthy, Route 53 answers the primary: a real
    outage then would not be failed over).
    """
    clock = Clock()
    start = clock.now
    keys = [uuid.uuid4().hex, uuid.uuid4().hex]
    regions = [make(clock, key) for key in keys]
    seen: list[tuple[float, list[Status], tuple[str, ...]]] = []
    while clock.now - start < 90.0:  # longer than the 60 s window: every sample leaves it
        clock.advance(0.4)
        for key in keys:
            OUTCOMES[key] = "connection" if clock.now - start < 0.9 else "pass"
        reports = [await region.report() for region in regions]
        reasons = tuple(r for report in reports for r in report.verdict.reasons)
        seen.append((clock.now - start, [r.verdict.status for r in reports], reasons))
    after = [(t, statuses, reasons) for t, statuses, reasons in seen if t >= 0.9]
    failed = [entry for entry in after if Status.FAIL in entry[1]]
    assert failed == [], f"failed after the dependency healed: {failed[:3]}"
    assert [entry[1] for entry in seen[:2]] == [[Status.FAIL] * 2] * 2  # reported at once


async def test_a_two_second_blip_right_after_start_is_not_a_gray_failure(make: Make) -> None:
    """A new user's first minutes: the flag file is unreadable for 2 s just after start.

    Before: ``gray-failure:flag-file 3/21`` 6 s after the check had recovered, then latched.
    """
    clock, key = Clock(), uuid.uuid4().hex
    start = clock.now
    service = make(clock, key, name="flag-file")
    statuses = []
    while clock.now - start < 90.0:
        clock.advance(0.5)
        blip = 1.0 <= clock.now - start < 3.0
        OUTCOMES[key] = "not_found" if blip else "pass"
        report = await service.report()
        statuses.append((clock.now - start, report.verdict.status, report.verdict.reasons))
    during = [s for t, s, _ in statuses if 1.0 <= t < 3.0]
    after = [(t, s, reasons) for t, s, reasons in statuses if t >= 3.0]
    assert during == [Status.FAIL] * 4  # fail fast: every bad evaluation is reported
    assert [entry for entry in after if entry[1] is Status.FAIL] == []


async def test_a_sustained_partial_failure_still_fails_the_region(make: Make) -> None:
    """The control: one evaluation in four failing all along is a 25 % failure, spread over
    the whole window: it gray-fails, and the region latches while probes mostly pass."""
    clock, key = Clock(), uuid.uuid4().hex
    service = make(clock, key)
    latched_at = None
    for i in range(200):  # one evaluation every 0.5 s: 100 s
        clock.advance(0.5)
        OUTCOMES[key] = "connection" if i % 4 == 3 else "pass"
        report = await service.report()
        if OUTCOMES[key] == "pass" and report.verdict.status is Status.FAIL:
            assert any(r.startswith("gray-failure:accounts") for r in report.verdict.reasons)
            latched_at = i * 0.5
            break
    assert latched_at is not None, "a 25 % failure spread over the window was never detected"
    assert latched_at <= 60.0


async def test_the_first_evaluation_opens_clients_and_feeds_no_shared_window(make: Make) -> None:
    """The runner discounts a check's first run since start(); the engine passes that on, so
    the fleet's window never holds an instance's start-up."""
    clock, key = Clock(), uuid.uuid4().hex
    store = MemoryStore(window=60.0)
    service = make(clock, key, store=store)
    OUTCOMES[key] = "connection"
    clock.advance(1.0)
    assert (await service.report()).verdict.status is Status.FAIL  # reported at once...
    assert store.counts(clock.now) == {}  # ...but no evidence against the dependency
    clock.advance(1.0)
    await service.report()
    counts = store.counts(clock.now)["accounts"]
    assert (counts.failures, counts.total) == (3, 3)  # the second evaluation counts
