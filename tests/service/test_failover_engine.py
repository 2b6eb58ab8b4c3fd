"""The engine's failover layer: switches and the tracker applied once per evaluation.

Time is an injected clock; outcomes are scripted; no I/O but the checks' own loop.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from checks import Status
from service.config import parse_config
from service.engine.health import HealthService
from support.observed import OUTCOMES, Clock

FAILOVER = (
    "[failover]\nwindow = 30\nthreshold = 0.1\nmin_samples = 10\nfail_after = 2\n"
    "recover_after = 3\nmin_hold = 60\nquiet = 0\nburst = 0\n"
)

Make = Callable[..., HealthService]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    made: list[HealthService] = []

    def build(extra: str = "", *, clock: Clock, key: str) -> HealthService:
        text = (
            "[service]\ncache_ttl = 0\n"
            + FAILOVER
            + extra
            + f'[[checks]]\ntype = "support.observed:Scripted"\nname = "db"\nkey = "{key}"\n'
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


async def test_fails_fast_and_recovers_only_after_the_hold(make: Make) -> None:
    clock, key = Clock(), uuid.uuid4().hex
    service = make(clock=clock, key=key)
    OUTCOMES[key] = "pass"
    assert await statuses(service, clock, 2) == [Status.PASS] * 2
    OUTCOMES[key] = "connection"
    assert await statuses(service, clock, 2) == [Status.FAIL] * 2  # at once; latched
    OUTCOMES[key] = "pass"
    recovering = await statuses(service, clock, 5)
    assert recovering == [Status.FAIL] * 5  # clean, but min_hold (60 s) has not passed
    report = await service.report()
    # Why a clean evaluation still fails: recovery pending (the two failures, one second apart,
    # are one event in one bucket: the window never gray-fails, so the clean ones count).
    assert any(r.startswith("recovering") for r in report.verdict.reasons)
    clock.advance(60)  # past min_hold, with recover_after (3) clean evaluations behind it
    assert await statuses(service, clock, 3) == [Status.PASS] * 3


async def test_single_blip_does_not_latch(make: Make) -> None:
    clock, key = Clock(), uuid.uuid4().hex
    service = make(clock=clock, key=key)
    OUTCOMES[key] = "connection"
    assert await statuses(service, clock, 1) == [Status.FAIL]
    OUTCOMES[key] = "pass"
    assert await statuses(service, clock, 1) == [Status.PASS]


async def test_gray_failure_fails_the_region_while_every_probe_answers(make: Make) -> None:
    clock, key = Clock(), uuid.uuid4().hex
    service = make(clock=clock, key=key)
    seen = []
    for i in range(40):  # every 5th evaluation fails: 20 % > 10 % threshold
        OUTCOMES[key] = "connection" if i % 5 == 4 else "pass"
        clock.advance(1.0)
        report = await service.report()
        seen.append(report.verdict.status)
        if report.verdict.status is Status.FAIL and OUTCOMES[key] == "pass":
            assert any(r.startswith("gray-failure:db") for r in report.verdict.reasons)
            break
    else:
        pytest.fail(f"never failed on a 20 % failure rate: {seen}")


async def test_drain_file_forces_fail_and_names_its_source(make: Make, tmp_path: Path) -> None:
    clock, key = Clock(), uuid.uuid4().hex
    drain = tmp_path / "drain"
    service = make(f'drain_file = "{drain}"\n', clock=clock, key=key)
    OUTCOMES[key] = "pass"
    assert await statuses(service, clock, 1) == [Status.PASS]
    drain.touch()
    report = await service.report()
    assert report.verdict.status is Status.FAIL
    assert f"drained by operator (file {drain})" in report.verdict.reasons


async def test_hold_keeps_the_region_failed_over_until_released(make: Make, tmp_path: Path) -> None:
    clock, key = Clock(), uuid.uuid4().hex
    hold = tmp_path / "hold"
    hold.touch()
    service = make(f'hold_file = "{hold}"\n', clock=clock, key=key)
    OUTCOMES[key] = "pass"
    assert await statuses(service, clock, 1) == [Status.PASS]  # hold alone fails nothing
    OUTCOMES[key] = "connection"
    await statuses(service, clock, 2)
    OUTCOMES[key] = "pass"
    clock.advance(600)
    assert await statuses(service, clock, 10) == [Status.FAIL] * 10
    hold.unlink()
    assert (await statuses(service, clock, 3))[-1] is Status.PASS


async def test_tracking_off_reports_each_evaluation_as_is(make: Make) -> None:
    clock, key = Clock(), uuid.uuid4().hex
    service = make("enabled = false\n", clock=clock, key=key)  # in [failover]
    OUTCOMES[key] = "connection"
    await statuses(service, clock, 3)
    OUTCOMES[key] = "pass"
    assert await statuses(service, clock, 1) == [Status.PASS]


async def test_an_overdue_evaluation_is_observed_once_however_many_callers() -> None:
    config = parse_config(
        '[service]\ndeadline = 0.2\n[[checks]]\ntype = "support.misbehaving:Passing"\n'
    )
    service = HealthService(config, mode="on-request")
    service.start()
    published: list[object] = []
    service.add_listener(lambda report, _: published.append(report))
    gate = threading.Event()
    supervisor = service.runner._loop
    assert supervisor is not None
    supervisor.call_soon_threadsafe(gate.wait, 10)  # the supervisor is starved: all are late
    try:
        reports = await asyncio.gather(*(service.report() for _ in range(3)))
    finally:
        gate.set()
        service.close()
    assert len({id(r) for r in reports}) == 1
    assert len(published) == 1
