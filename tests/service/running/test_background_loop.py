"""The background loop on its own: its watch period, its restarts, its stop, what it logs.

The loop's ``sleep`` is a :class:`~support.observed.Ticker` (it returns only when the test
ticks) and its clock a fake one; a restart the loop schedules is recorded and fired by the test
itself, so no test waits for time to pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from service.running.background import Background
from support.observed import Clock, Ticker

WAIT = 30.0  # seconds: a bound on a wait for an event, never expected to be reached


class Refresh:
    """A refresh that returns 1, 2, 3... and can be told to block, raise or be cancelled."""

    def __init__(self) -> None:
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.raises: BaseException | None = None

    async def __call__(self) -> int:
        self.calls += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.raises is not None:
            error, self.raises = self.raises, None
            raise error
        return self.calls


class Restarts:
    """Records the restarts the loop schedules (``call_later(delay, _restart, dead)``) instead
    of letting real time fire them; every other ``call_later`` goes through unchanged."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.scheduled: list[tuple[float, Callable[..., object], tuple[Any, ...]]] = []
        self._real = loop.call_later

    def __call__(self, delay: float, callback: Callable[..., object], *args: Any) -> Any:
        if getattr(callback, "__name__", "") == "_restart":
            self.scheduled.append((delay, callback, args))
            return None
        return self._real(delay, callback, *args)

    def fire(self) -> None:
        (_, callback, args) = self.scheduled.pop(0)
        callback(*args)


@pytest.fixture
async def restarts(monkeypatch: pytest.MonkeyPatch) -> Restarts:
    loop = asyncio.get_running_loop()
    recorder = Restarts(loop)
    monkeypatch.setattr(loop, "call_later", recorder)
    return recorder


@pytest.fixture
async def made() -> AsyncIterator[list[Background[int]]]:
    loops: list[Background[int]] = []
    yield loops
    for background in loops:
        await asyncio.wait_for(background.stop(), WAIT)


def make(
    loops: list[Background[int]], refresh: Refresh, ticker: Ticker, clock: Clock, **options: Any
) -> Background[int]:
    options.setdefault("interval", 1.0)
    options.setdefault("max_age", 4.0)
    options.setdefault("sleep", ticker.sleep)
    background = Background(refresh, clock=clock, **options)
    loops.append(background)
    return background


async def died(background: Background[int]) -> asyncio.Task[None]:
    task = background.task
    assert task is not None
    await asyncio.wait({task}, timeout=WAIT)
    assert task.done()
    await asyncio.sleep(0)  # its done callback (the restart's scheduling) runs next
    return task


@pytest.mark.parametrize(
    ("max_age", "period"),
    [(1.0, 0.5), (2.0, 0.5), (2.4, 0.6), (8.0, 2.0), (20.0, 5.0), (40.0, 5.0)],
)
def test_the_watch_period_is_a_quarter_of_max_age_within_half_a_second_and_five(
    max_age: float, period: float
) -> None:
    background = Background(Refresh(), interval=1.0, max_age=max_age, clock=Clock())
    assert background.watch_period == pytest.approx(period)


async def test_age_and_uptime_come_from_the_clock(made: list[Background[int]]) -> None:
    clock, ticker = Clock(0.0), Ticker()
    background = make(made, Refresh(), ticker, clock)
    assert background.uptime() is None
    assert background.age() is None
    assert not background.started
    await background.first(WAIT)  # before start: returns at once, nothing to wait for
    clock.now = 10.0
    background.start()
    await ticker.idle(1)
    assert background.latest == 1
    clock.now = 12.5
    assert background.uptime() == 2.5
    assert background.age() == 2.5
    await ticker.tick()
    assert background.latest == 2
    assert background.age() == 0.0


async def test_the_loop_sleeps_its_interval_between_refreshes(made: list[Background[int]]) -> None:
    slept: list[float] = []
    ticker = Ticker()

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        await ticker.sleep(seconds)

    background = Background(Refresh(), interval=7.5, max_age=30.0, clock=Clock(), sleep=sleep)
    made.append(background)
    background.start()
    await ticker.idle(1)
    await ticker.tick()
    assert slept == [7.5, 7.5]


async def test_first_waits_at_most_its_timeout_for_a_first_result(
    made: list[Background[int]],
) -> None:
    refresh = Refresh()
    refresh.gate = asyncio.Event()  # the first refresh does not end
    background = make(made, refresh, Ticker(), Clock())
    background.start()
    await asyncio.wait_for(background.first(0.01), WAIT)  # gives up, raises nothing
    assert background.latest is None
    refresh.gate.set()
    await asyncio.wait_for(background.first(WAIT), WAIT)
    assert background.latest == 1
    await asyncio.wait_for(background.first(0.0), WAIT)  # a result exists: at once


async def test_the_loop_and_its_watchdog_are_named_tasks(made: list[Background[int]]) -> None:
    background = Background(
        Refresh(), interval=1.0, max_age=4.0, clock=Clock(), sleep=Ticker().sleep, watch=list
    )
    made.append(background)
    background.start()
    task = background.task
    assert task is not None
    assert task.get_name() == "deep-health-loop"
    names = {t.get_name() for t in asyncio.all_tasks()}
    assert "deep-health-watch" in names
    background.start()  # idempotent: the same loop, no second one
    assert background.task is task
    assert [t.get_name() for t in asyncio.all_tasks()].count("deep-health-loop") == 1


async def test_stop_ends_the_loop_and_the_watchdog_and_a_stopped_loop_starts_again(
    made: list[Background[int]],
) -> None:
    ticker = Ticker()
    background = Background(
        Refresh(), interval=1.0, max_age=4.0, clock=Clock(), sleep=ticker.sleep, watch=list
    )
    made.append(background)
    background.start()
    await ticker.idle(1)
    loop = background.task
    assert loop is not None
    [watchdog] = [t for t in asyncio.all_tasks() if t.get_name() == "deep-health-watch"]
    await asyncio.wait_for(background.stop(), WAIT)
    assert loop.cancelled()
    assert watchdog.cancelled()
    assert not background.started
    assert not background.running
    await asyncio.wait_for(background.stop(), WAIT)  # idempotent
    background.start()
    assert background.running
    await ticker.idle(2)
    assert background.latest == 2  # the same refresh, called again by the new loop


async def test_stop_after_the_loop_died_returns_cleanly(
    made: list[Background[int]], restarts: Restarts
) -> None:
    refresh = Refresh()

    async def dies(seconds: float) -> None:
        raise LoopDied

    # The loop dies after its first refresh.
    background = make(made, refresh, Ticker(), Clock(), interval=0.5, sleep=dies)
    background.start()  # no watchdog: stop() must cope with its absence too
    await died(background)
    assert len(restarts.scheduled) == 1
    await asyncio.wait_for(background.stop(), WAIT)  # its death is not raised again here
    restarts.fire()  # the restart comes due after the stop: nothing starts
    assert background.restarts == 0
    assert not background.running


class LoopDied(BaseException):
    pass


async def test_a_dead_loop_is_restarted_after_its_interval_capped_at_five_seconds(
    made: list[Background[int]], restarts: Restarts, caplog: pytest.LogCaptureFixture
) -> None:
    for interval, delay in [(0.0, 0.0), (0.25, 0.25), (5.0, 5.0), (5.5, 5.0), (-1.0, 0.0)]:
        deaths = 0

        async def dies_twice(seconds: float) -> None:
            nonlocal deaths
            if deaths < 2:
                deaths += 1
                raise LoopDied
            await asyncio.Event().wait()

        background = make(made, Refresh(), Ticker(), Clock(), interval=interval, sleep=dies_twice)
        background.start()
        first = await died(background)
        assert [d for d, _, _ in restarts.scheduled] == [delay], interval
        restarts.fire()
        assert background.restarts == 1
        second = await died(background)
        assert second is not first
        restarts.fire()
        assert background.restarts == 2
        assert background.running
        assert background.task not in (first, second)
        await asyncio.wait_for(background.stop(), WAIT)
    died_lines = [r.getMessage() for r in caplog.records if r.name == "deep_health.background"]
    assert set(died_lines) == {"the background evaluation loop died (LoopDied); restarting it"}
    assert all(r.levelno == logging.ERROR for r in caplog.records if r.name.startswith("deep"))


async def test_a_restart_due_after_stop_and_start_does_not_start_a_second_loop(
    made: list[Background[int]], restarts: Restarts
) -> None:
    deaths = 0

    async def dies_once(seconds: float) -> None:
        nonlocal deaths
        if not deaths:
            deaths += 1
            raise LoopDied
        await asyncio.Event().wait()

    background = make(made, Refresh(), Ticker(), Clock(), sleep=dies_once)
    background.start()
    await died(background)
    await asyncio.wait_for(background.stop(), WAIT)
    background.start()  # started again before the restart came due
    fresh = background.task
    restarts.fire()
    assert background.restarts == 0
    assert background.task is fresh
    assert [t.get_name() for t in asyncio.all_tasks()].count("deep-health-loop") == 1


async def test_a_loop_cancelled_from_outside_is_logged_and_restarted(
    made: list[Background[int]], restarts: Restarts, caplog: pytest.LogCaptureFixture
) -> None:
    refresh = Refresh()
    refresh.gate = asyncio.Event()
    background = make(made, refresh, Ticker(), Clock(), interval=0.5)
    background.start()
    await asyncio.sleep(0)
    task = background.task
    assert task is not None
    task.cancel()  # not stop(): someone else cancelled the loop's task
    await died(background)
    assert task.cancelled()
    assert [d for d, _, _ in restarts.scheduled] == [0.5]
    assert [r.getMessage() for r in caplog.records if r.name.startswith("deep")] == [
        "the background evaluation loop was cancelled; restarting it"
    ]
    restarts.fire()
    assert background.restarts == 1
    assert background.running


async def test_what_a_refresh_raises_is_logged_and_the_loop_goes_on(
    made: list[Background[int]], caplog: pytest.LogCaptureFixture
) -> None:
    refresh, ticker = Refresh(), Ticker()
    refresh.raises = RuntimeError("runner bug")
    background = make(made, refresh, ticker, Clock())
    background.start()
    await ticker.idle(1)
    refresh.raises = asyncio.CancelledError()  # a check's home-made timeout leaking out
    await ticker.tick()
    await ticker.tick()
    assert refresh.calls == 3
    assert background.latest == 3
    assert background.restarts == 0
    logged = [r for r in caplog.records if r.name.startswith("deep")]
    assert [(r.levelno, r.getMessage()) for r in logged] == [
        (logging.ERROR, "background evaluation failed"),
        (logging.ERROR, "background evaluation was cancelled from within; continuing"),
    ]
    assert logged[0].exc_info is not None  # with its traceback


async def test_a_watch_that_raises_is_logged_and_called_again(
    made: list[Background[int]], caplog: pytest.LogCaptureFixture
) -> None:
    calls = 0
    twice = asyncio.Event()

    def watch() -> None:
        nonlocal calls
        calls += 1
        if calls == 2:
            twice.set()
        raise ValueError("a listener bug")

    # The watchdog wakes every half second (the shortest period), real time.
    background = Background(
        Refresh(), interval=1.0, max_age=1.0, clock=Clock(), sleep=Ticker().sleep, watch=watch
    )
    made.append(background)
    background.start()
    await asyncio.wait_for(twice.wait(), WAIT)
    assert background.running
    failed = [r for r in caplog.records if r.getMessage() == "the watchdog failed"]
    assert len(failed) >= 1
    assert failed[0].exc_info is not None
