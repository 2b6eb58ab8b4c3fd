"""HealthService: the deadline a cold start leaves, the stale and starting answers, what it tells
its listeners. Real checks (``support.observed``), a fake watchdog clock, a hand-driven loop.

Where a figure the service hands on is asserted (the deadline given to the runner, the budget
left for the state store), the real runner and fleet state are wrapped by a recorder that
passes every call through unchanged.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from service.config import DEFAULT_MODE, parse_config
from service.engine.health import MIN_DEADLINE, HealthService, Report, Transition
from service.running.runner import Evaluation
from service.state.memory import MemoryStore
from support.observed import OUTCOMES, RUNS, Clock, Ticker

WAIT = 30.0  # seconds: a bound on a wait for an event, never expected to be reached


def config_text(key: str, *, extra: str = "", cache_ttl: float = 0.0) -> str:
    return (
        f"[service]\ndeadline = 0.5\ncache_ttl = {cache_ttl}\ninterval = 5\nmax_age = 20\n{extra}"
        f'[[checks]]\ntype = "support.observed:Scripted"\nname = "db"\nkey = "{key}"\n'
        "samples = 1\n"
    )


Make = Callable[..., HealthService]


@pytest.fixture
async def make() -> AsyncIterator[Make]:
    made: list[HealthService] = []

    def build(*, extra: str = "", cache_ttl: float = 0.0, **options: Any) -> HealthService:
        key = uuid.uuid4().hex
        config = parse_config(config_text(key, extra=extra, cache_ttl=cache_ttl))
        service = HealthService(config, **options)
        service.key = key  # type: ignore[attr-defined]
        made.append(service)
        return service

    yield build
    for service in made:
        await asyncio.wait_for(service.aclose(), WAIT)


class Heard:
    """A listener: every report and transition it was called with."""

    def __init__(self) -> None:
        self.calls: list[tuple[Report, Transition | None]] = []

    def __call__(self, report: Report, transition: Transition | None) -> None:
        self.calls.append((report, transition))


def record_deadlines(service: HealthService) -> tuple[list[float | None], list[float]]:
    """Pass-through recorders of the deadline each evaluation gets and the store's budget."""
    deadlines: list[float | None] = []
    budgets: list[float] = []
    evaluate, read = service.runner.evaluate, service.fleet.read

    async def evaluating(*, deadline: float | None = None) -> Evaluation:
        deadlines.append(deadline)
        return await evaluate(deadline=deadline)

    async def reading(samples: Any, now: float, budget: float) -> Any:
        budgets.append(budget)
        return await read(samples, now, budget)

    service.runner.evaluate = evaluating  # type: ignore[method-assign]
    service.fleet.read = reading  # type: ignore[method-assign]
    return deadlines, budgets


async def test_a_cold_start_shortens_the_next_evaluation_only_and_never_below_the_minimum(
    make: Make,
) -> None:
    service = make(mode="on-request")
    await service.astart()
    deadlines, budgets = record_deadlines(service)
    await service.report()
    assert deadlines == [None]  # no cold start charged: the configured deadline
    service.charge_deadline(0.3)
    first = await service.report()
    assert deadlines[1:] == [pytest.approx(0.2)]
    # The state store gets what the checks left of that shortened deadline.
    assert budgets[1] == deadlines[1] - first.evaluation.duration  # type: ignore[operator]
    second = await service.report()  # the debt is paid once
    assert deadlines[2] is None
    assert budgets[2] == 0.5 - second.evaluation.duration
    assert MIN_DEADLINE == 0.1
    service.charge_deadline(0.4)  # 0.5 - 0.4 is just under 0.1 in floating point
    await service.report()
    assert deadlines[3] == MIN_DEADLINE
    service.charge_deadline(10.0)
    await service.report()
    assert deadlines[4] == MIN_DEADLINE
    service.charge_deadline(-1.0)  # no negative debt: the full deadline
    await service.report()
    assert deadlines[5] is None
    assert RUNS[service.key] == 6  # type: ignore[attr-defined]


async def test_an_evaluation_slower_than_the_latency_budget_fails_the_region(make: Make) -> None:
    # Any real evaluation takes more than a microsecond: the budget is always exceeded.
    service = make(mode="on-request", extra="latency_budget = 0.000001\n")
    await service.astart()
    report = await service.report()
    assert not report.verdict.healthy
    assert any(r.startswith("evaluation took ") for r in report.verdict.reasons)


async def test_an_evaluation_without_astart_reads_the_store_at_the_wall_clocks_time(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    service = make(
        mode="on-request", store=MemoryStore(window=60.0), wall_clock=lambda: 1_800_000_000.0
    )
    report = await service.report()  # nothing started: the first evaluation boots
    assert report.verdict.healthy
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def blocked_first_evaluation(service: HealthService) -> asyncio.Event:
    """Make the background loop's evaluations wait for the returned event."""
    release = asyncio.Event()
    evaluate = service.runner.evaluate

    async def waits(*, deadline: float | None = None) -> Evaluation:
        await release.wait()
        return await evaluate(deadline=deadline)

    service.runner.evaluate = waits  # type: ignore[method-assign]
    return release


async def test_before_the_first_evaluation_starting_until_max_age_then_stale(
    make: Make,
) -> None:
    clock = Clock(0.0)
    service = make(mode="background", clock=clock, sleep=Ticker().sleep)
    heard = Heard()
    service.add_listener(heard)
    release = await blocked_first_evaluation(service)
    # Starts the loop; its first evaluation waits (bounded: a wrong mode would wait here).
    first = await asyncio.wait_for(service.report(), WAIT)
    assert first.stale
    assert first.verdict.reasons == ("starting: the first evaluation has not finished yet",)
    assert (first.evaluation.number, first.evaluation.results) == (0, ())
    assert first.evaluation.duration == 0.0
    clock.now = 20.0  # uptime = max_age: still starting
    assert (
        (await asyncio.wait_for(service.report(), WAIT)).verdict.reasons[0].startswith("starting:")
    )
    clock.now = 20.001
    late = await asyncio.wait_for(service.report(), WAIT)
    assert late.verdict.reasons == ("stale: no evaluation after 20.0s (max age 20s)",)
    assert not late.verdict.healthy
    # Published once while there is no evaluation, however often it is read.
    assert [(r.stale, t) for r, t in heard.calls] == [(True, Transition("unknown", "fail"))]
    background = service.background
    assert background is not None
    await asyncio.wait_for(background.stop(), WAIT)
    stopped = service.current()
    assert stopped is not None
    assert stopped.verdict.reasons == (
        "stale: no evaluation yet (the background loop is not running)",
    )
    release.set()


async def test_astart_waits_for_the_first_result_at_most_the_deadline_and_a_grace(
    make: Make,
) -> None:
    service = make(mode="background", clock=Clock(0.0), sleep=Ticker().sleep)
    background = service.background
    assert background is not None
    waited: list[float] = []
    first = background.first

    async def recording(timeout: float) -> None:
        waited.append(timeout)
        await first(timeout)

    background.first = recording  # type: ignore[method-assign]
    release = await blocked_first_evaluation(service)
    await asyncio.wait_for(service.astart(), WAIT)  # gives up waiting: never hangs
    assert waited == [pytest.approx(0.5 + 0.5)]
    assert background.latest is None
    release.set()
    await asyncio.wait_for(first(WAIT), WAIT)
    assert (await service.report()).verdict.healthy


async def test_a_stale_result_is_published_once_and_fresh_results_again(make: Make) -> None:
    clock, ticker = Clock(0.0), Ticker()
    service = make(mode="background", clock=clock, sleep=ticker.sleep)
    heard = Heard()
    service.add_listener(heard)
    await service.astart()
    assert [(r.stale, t) for r, t in heard.calls] == [(False, Transition("unknown", "pass"))]
    clock.now = 20.5
    for _ in range(3):
        stale = await service.report()
        assert stale.stale
        assert stale.verdict.reasons == ("stale: the latest evaluation is 20.5s old (max age 20s)",)
    assert service.current() == stale
    assert [(r.stale, t) for r, t in heard.calls[1:]] == [(True, Transition("pass", "fail"))]
    await ticker.tick()  # a fresh evaluation: published, and the region passes again
    assert [(r.stale, t) for r, t in heard.calls[2:]] == [(False, Transition("fail", "pass"))]
    clock.now = 41.0
    await service.report()
    await service.report()
    assert [(r.stale, t) for r, t in heard.calls[3:]] == [(True, Transition("pass", "fail"))]


async def test_a_listener_that_raises_anything_is_logged_and_the_others_still_hear(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    service = make(mode="on-request")
    await service.astart()

    def exits(report: Report, transition: Transition | None) -> None:
        raise SystemExit(3)

    heard = Heard()
    service.add_listener(exits)
    service.add_listener(heard)
    OUTCOMES[service.key] = "drained"  # type: ignore[attr-defined]
    report = await service.report()
    assert not report.verdict.healthy
    assert [t for _, t in heard.calls] == [Transition("unknown", "fail")]
    [line] = [r for r in caplog.records if r.name == "deep_health.health"]
    assert line.levelno == logging.ERROR
    assert line.getMessage() == f"listener {exits!r} failed: SystemExit"
    OUTCOMES[service.key] = "drained"  # type: ignore[attr-defined]
    await service.report()  # the same status: no transition
    assert [t for _, t in heard.calls] == [Transition("unknown", "fail"), None]


async def test_the_mode_comes_from_the_argument_then_the_configuration_then_the_default(
    make: Make,
) -> None:
    assert make().mode == DEFAULT_MODE
    assert make(extra='mode = "on-request"\n').mode == "on-request"
    assert make(extra='mode = "on-request"\n', mode="background").background is not None
    # Background: requests never reach the runner, so it caches nothing; on-request caches.
    assert make(mode="background", cache_ttl=3.0).runner.cache_ttl == 0.0
    assert make(mode="on-request", cache_ttl=3.0).runner.cache_ttl == 3.0


async def test_the_lifespan_closes_the_service_except_on_lambda(
    make: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = make(mode="on-request")
    async with service.lifespan() as running:
        assert running is service
        assert service.runner.started
    assert not service.runner.started
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "deep-health")
    lambda_service = make(mode="on-request")
    async with lambda_service.lifespan():
        pass
    assert lambda_service.runner.started  # warm invocations keep their clients


async def test_on_request_the_current_report_is_the_last_one_and_times_its_state_step(
    make: Make,
) -> None:
    service = make(mode="on-request")
    await service.astart()
    assert service.current() is None  # before the first evaluation
    began = time.perf_counter()
    report = await service.report()
    took = time.perf_counter() - began
    assert service.current() is report
    assert report.state_duration is not None
    assert 0.0 <= report.state_duration <= took  # a part of this call, measured in it


async def test_the_configured_policy_and_deadline_reach_the_verdict_and_the_runner() -> None:
    key = uuid.uuid4().hex
    text = config_text(key, extra="max_noncritical_failures = 1\n") + "critical = false\n"
    text = text.replace("[[checks]]", "[state]\ntimeout = 0.75\n[[checks]]")
    service = HealthService(parse_config(text), mode="on-request")
    assert service.runner.deadline == 0.5
    assert service.fleet.timeout == 0.75
    try:
        await service.astart()
        OUTCOMES[key] = "broken"
        # One non-critical failure warns by default; at max_noncritical_failures = 1 it fails.
        report = await service.report()
        assert report.verdict.status.value == "fail"
    finally:
        await service.aclose()
