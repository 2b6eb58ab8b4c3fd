"""Background mode: requests read the latest result; a stuck or dead loop turns stale."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from checks import ConfigError
from service.config import parse_config
from service.engine.health import HealthService
from service.faces.app import create_app
from service.listeners.metrics import Metrics
from service.running.runner import Evaluation
from support.observed import OUTCOMES, RUNS, Clock, Ticker
from support.process import serve

TOKEN = "background-token-0123456789"
MARKER = "DEEP-HEALTH-OK"


def config_text(key: str, *, interval: float = 5.0, max_age: float = 20.0) -> str:
    return (
        f"[service]\ndeadline = 0.5\ninterval = {interval}\nmax_age = {max_age}\n"
        f'details_token = "{TOKEN}"\n'
        f'[[checks]]\ntype = "support.observed:Scripted"\nname = "db"\nkey = "{key}"\n'
        "samples = 1\n"  # one run per evaluation: the tests count them
    )


@dataclass
class Harness:
    service: HealthService
    http: httpx.AsyncClient
    clock: Clock
    ticker: Ticker
    key: str

    async def details(self) -> httpx.Response:
        return await self.http.get("/health/details", headers={"Authorization": f"Bearer {TOKEN}"})


MakeHarness = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def harness() -> AsyncIterator[MakeHarness]:
    made: list[Harness] = []

    async def make(
        *, sleep: Callable[[float], Awaitable[None]] | None = None, **options: float
    ) -> Harness:
        key = uuid.uuid4().hex
        clock, ticker = Clock(), Ticker()
        service = HealthService(
            parse_config(config_text(key, **options)),
            mode="background",
            clock=clock,
            sleep=sleep or ticker.sleep,
        )
        await service.astart()
        transport = httpx.ASGITransport(app=create_app(service, manage_lifespan=False))
        http = httpx.AsyncClient(transport=transport, base_url="http://test")
        made.append(Harness(service, http, clock, ticker, key))
        return made[-1]

    yield make
    for h in made:
        await h.http.aclose()
        await h.service.aclose()


async def test_requests_never_call_dependencies(harness: MakeHarness) -> None:
    h = await harness()
    assert RUNS[h.key] == 1  # the first evaluation ran at start-up
    responses = await asyncio.gather(*(h.http.get("/health") for _ in range(200)))
    assert {r.status_code for r in responses} == {200}
    assert RUNS[h.key] == 1
    await h.ticker.tick()
    assert RUNS[h.key] == 2
    responses = await asyncio.gather(*(h.http.get("/health") for _ in range(200)))
    assert {r.status_code for r in responses} == {200}
    assert RUNS[h.key] == 2
    assert (await h.details()).json()["evaluation"]["number"] == 2


async def test_requests_see_the_next_evaluation_only(harness: MakeHarness) -> None:
    h = await harness()
    OUTCOMES[h.key] = "drained"
    assert (await h.http.get("/health")).status_code == 200  # still the latest result
    await h.ticker.tick()
    response = await h.http.get("/health")
    assert response.status_code == 503
    assert MARKER not in response.text


async def test_stuck_loop_turns_stale_within_max_age(harness: MakeHarness) -> None:
    # The ticker never ticks: the loop is stuck after its first evaluation.
    h = await harness(interval=1.0, max_age=4.0)
    h.clock.advance(4.0)
    assert (await h.http.get("/health")).status_code == 200  # exactly max_age: still fresh
    h.clock.advance(0.001)
    response = await h.http.get("/health")
    assert response.status_code == 503
    assert MARKER not in response.text
    assert response.json()["status"] == "fail"
    reasons = (await h.details()).json()["evaluation"]["reasons"]
    assert len(reasons) == 1
    assert reasons[0].startswith("stale: the latest evaluation is 4.0s old (max age 4s)")
    assert RUNS[h.key] == 1  # the watchdog itself calls no dependency
    await h.ticker.tick()  # the loop recovers: fresh again
    assert (await h.http.get("/health")).status_code == 200


async def test_the_watchdog_declares_a_stale_result_when_nobody_asks(
    harness: MakeHarness,
) -> None:
    """Metrics on a port of their own never read /health: the watchdog still turns them."""
    h = await harness(interval=1.0, max_age=4.0)
    metrics = Metrics(h.service)
    published = asyncio.Event()
    h.service.add_listener(lambda report, _: published.set() if report.stale else None)
    await h.ticker.tick()  # an evaluation the metrics see
    assert metrics.registry.get_sample_value("deep_health_region_healthy") == 1
    h.clock.advance(4.5)  # the ticker ticks no more: the loop is stuck; no request is made
    await asyncio.wait_for(published.wait(), timeout=10)
    assert metrics.registry.get_sample_value("deep_health_region_healthy") == 0
    assert RUNS[h.key] == 2


class LoopDied(BaseException):
    pass


async def test_a_dead_loop_is_logged_and_restarted(
    harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    deaths = 0

    async def dies_once(seconds: float) -> None:
        nonlocal deaths
        if not deaths:
            deaths += 1
            raise LoopDied
        await asyncio.Event().wait()  # then a loop that waits for ever

    h = await harness(sleep=dies_once, interval=0.01, max_age=4.0)
    background = h.service.background
    assert background is not None
    dead = background.task
    assert dead is not None
    await asyncio.wait({dead})
    assert "background evaluation loop died (LoopDied); restarting it" in caplog.text
    for _ in range(500):  # restarted after interval (10 ms): bounded wait, no timing asserted
        if background.restarts:
            break
        await asyncio.sleep(0.01)
    assert background.restarts == 1
    assert background.running
    assert background.task is not dead


async def test_a_cancelled_refresh_does_not_end_the_loop(harness: MakeHarness) -> None:
    h = await harness()
    original = h.service.runner.evaluate

    async def cancelled(*, deadline: float | None = None) -> Evaluation:
        raise asyncio.CancelledError  # e.g. a check's home-made timeout leaking out

    h.service.runner.evaluate = cancelled  # type: ignore[method-assign]
    await h.ticker.tick()
    h.service.runner.evaluate = original  # type: ignore[method-assign]
    await h.ticker.tick()
    assert RUNS[h.key] == 2
    background = h.service.background
    assert background is not None
    assert background.running
    assert background.restarts == 0


async def test_a_failing_refresh_does_not_stop_the_loop(harness: MakeHarness) -> None:
    h = await harness()
    original = h.service.runner.evaluate
    calls = 0

    async def broken(*, deadline: float | None = None) -> Evaluation:
        nonlocal calls
        calls += 1
        raise RuntimeError("runner bug")

    h.service.runner.evaluate = broken  # type: ignore[method-assign]
    await h.ticker.tick()
    assert calls == 1
    h.service.runner.evaluate = original  # type: ignore[method-assign]
    await h.ticker.tick()
    assert RUNS[h.key] == 2


async def test_the_first_request_starts_the_loop_and_answers_starting_at_once() -> None:
    key = uuid.uuid4().hex
    ticker = Ticker()
    service = HealthService(parse_config(config_text(key)), mode="background", sleep=ticker.sleep)
    service.start()  # sync start: the checks only; no event loop for the background task
    try:
        transport = httpx.ASGITransport(app=create_app(service, manage_lifespan=False))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            first = await http.get("/health")  # the loop has only just been created
            assert first.status_code == 503
            assert MARKER not in first.text
            details = await http.get(
                "/health/details", headers={"Authorization": f"Bearer {TOKEN}"}
            )
            assert details.json()["output"].startswith("starting: the first evaluation")
            background = service.background
            assert background is not None
            await background.first(timeout=10)
            assert (await http.get("/health")).status_code == 200
    finally:
        await service.aclose()


async def test_report_without_astart_starts_the_checks_and_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Before: ``starting``, then ``stale`` 503 for ever, with "Runner.start() was not called"
    and its traceback logged every interval."""
    key = uuid.uuid4().hex
    ticker = Ticker()
    service = HealthService(parse_config(config_text(key)), mode="background", sleep=ticker.sleep)
    try:
        first = await service.report()  # nothing started: not astart(), not start()
        assert first.verdict.reasons[0].startswith("starting: the first evaluation")
        background = service.background
        assert background is not None
        await background.first(timeout=10)
        report = await service.report()
        assert report.verdict.healthy
        assert not report.stale
        assert RUNS[key] == 1
        assert not [r for r in caplog.records if r.levelname == "ERROR"]
    finally:
        await service.aclose()


def test_max_age_must_exceed_one_cycle() -> None:
    with pytest.raises(ConfigError, match="max_age must exceed"):
        parse_config("[service]\ndeadline = 1.0\ninterval = 5\nmax_age = 6")
    one = '[[checks]]\ntype = "support.misbehaving:Passing"\n'
    default = parse_config("[service]\ndeadline = 1.0\ninterval = 5\n" + one).settings
    assert default.effective_max_age == 16.0


@pytest.mark.e2e
def test_serve_defaults_to_background_with_metrics(tmp_path: Path) -> None:
    key = uuid.uuid4().hex
    config = tmp_path / "health.toml"
    config.write_text(config_text(key, interval=600, max_age=1200))
    with serve(config) as url, httpx.Client(base_url=url, timeout=10) as http:
        answers = [http.get("/health").status_code for _ in range(20)]
        details = http.get("/health/details", headers={"Authorization": f"Bearer {TOKEN}"})
        exposition = http.get("/metrics")
    assert answers == [200] * 20
    assert details.json()["evaluation"]["number"] == 1
    assert exposition.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(exposition.text)}
    [evaluations] = [
        s for s in families["deep_health_evaluations"].samples if s.labels == {"status": "pass"}
    ]
    assert evaluations.value == 1
