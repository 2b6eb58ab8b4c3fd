"""A lane: its worker threads, its runs, and how it tells a blocked loop from a busy one.

Every wait here is bounded (30 s) and waits for an event, never for time to pass (the one case
that needs time to pass waits for a timer on the lane's own loop, which asyncio runs after any
timer due before it); the lane's clock is a fake one wherever a figure is asserted.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import pytest

from service.running.bulkhead import _BEAT, Lane, Ticket
from support.observed import Clock

WAIT = 30.0  # seconds: a bound on a wait for an event, never expected to be reached


@pytest.fixture
def lanes() -> Iterator[Callable[..., Lane]]:
    made: list[Lane] = []

    def make(name: str = "lane", **options: object) -> Lane:
        made.append(Lane(name, **options))  # type: ignore[arg-type]
        return made[-1]

    yield make
    for lane in made:
        lane.request_close()
        lane.join(5.0)


def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` until it holds (bounded): for state a lane's own thread changes."""
    give_up = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < give_up, "condition never held"
        time.sleep(0.005)


def threads_named(prefix: str) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(prefix)]


def test_a_call_is_no_longer_counted_busy_when_its_caller_gets_the_result() -> None:
    # The runner refuses a sync check while its previous call has "not returned"
    # (`threads_busy`): counted still busy once its result is out, the next evaluation found a
    # healthy check "hung" and failed it (seen in CI: test_isolation, a healthy plain def).
    lane = Lane("counting", threads=2)
    try:
        seen: list[int] = []
        for fn in (lambda: "ok", _raises):
            future = lane.executor.submit(fn)
            # Runs in the worker, the instant the result is set: what a woken caller can see.
            future.add_done_callback(lambda _: seen.append(lane.threads_busy))
            concurrent.futures.wait([future], timeout=30)
            assert future.done()
        assert seen == [0, 0]
        assert lane.threads_busy == 0
    finally:
        lane.request_close()
        assert lane.join(10.0)


def _raises() -> None:
    raise ValueError("a check's error")


# -- the worker threads ----------------------------------------------------------------------


def test_worker_threads_are_bounded_named_daemons_and_queued_calls_count_as_busy(
    lanes: Callable[..., Lane],
) -> None:
    lane = lanes("bounded", threads=2)
    assert lane.executor.limit == 2
    gate = threading.Event()
    running = threading.Semaphore(0)

    def hang() -> str:
        running.release()
        gate.wait(WAIT)
        return "done"

    futures = [lane.executor.submit(hang) for _ in range(5)]
    for _ in range(2):
        assert running.acquire(timeout=WAIT)
    assert lane.threads_busy == 5  # 2 running, 3 queued: all "not returned"
    workers = threads_named("deep-health-bounded-worker")
    assert sorted(t.name for t in workers) == [
        "deep-health-bounded-worker_1",
        "deep-health-bounded-worker_2",
    ]
    assert all(t.daemon for t in workers)  # a hung call never keeps the process alive
    [loop_thread] = [t for t in threading.enumerate() if t.name == "deep-health-bounded"]
    assert loop_thread.daemon
    assert not running.acquire(timeout=0.05)  # a third call did not get a thread of its own
    gate.set()
    assert [f.result(WAIT) for f in futures] == ["done"] * 5
    assert lane.threads_busy == 0
    assert len(threads_named("deep-health-bounded-worker")) == 2


def test_an_idle_thread_takes_the_next_call_and_a_hung_one_delays_no_other(
    lanes: Callable[..., Lane],
) -> None:
    lane = lanes("idle", threads=2)
    for n in range(3):
        assert lane.executor.submit(lambda n=n: n).result(WAIT) == n  # type: ignore[misc]
        # The worker is back, waiting for work (no public sign of it: the pool's own count).
        until(lambda: lane.executor._idle == 1)
    assert len(threads_named("deep-health-idle-worker")) == 1  # one at a time: one thread
    gate = threading.Event()
    hung = lane.executor.submit(gate.wait, WAIT)  # the idle worker takes it, and hangs
    # A free thread remains (the limit is 2): the next call must not queue behind the hung one.
    assert lane.executor.submit(lambda: 2).result(WAIT) == 2
    assert lane.threads_busy == 1
    assert len(threads_named("deep-health-idle-worker")) == 2
    gate.set()
    assert hung.result(WAIT) is True
    assert lane.threads_busy == 0


def test_a_queued_call_cancelled_before_it_runs_is_not_counted_hung(
    lanes: Callable[..., Lane],
) -> None:
    lane = lanes("cancelled", threads=1)
    gate = threading.Event()
    first = lane.executor.submit(gate.wait, WAIT)
    queued = lane.executor.submit(lambda: "never")
    assert queued.cancel()
    assert lane.threads_busy == 2
    gate.set()
    assert first.result(WAIT) is True
    until(lambda: lane.threads_busy == 0)  # the worker dropped the cancelled call, uncounted
    assert lane.executor.submit(lambda: "next").result(WAIT) == "next"


def test_a_worker_call_gets_its_arguments_and_its_caller_gets_its_result_or_error(
    lanes: Callable[..., Lane],
) -> None:
    # The executor's contract is ThreadPoolExecutor's (asyncio hands it positional arguments
    # only, but a caller of `lane.executor.submit` may pass keywords too).
    lane = lanes("calls", threads=1)
    assert lane.executor.submit(divmod, 7, 2).result(WAIT) == (3, 1)
    assert lane.executor.submit(int, "ff", base=16).result(WAIT) == 255
    with pytest.raises(ValueError, match=r"^a check's error$"):
        lane.executor.submit(_raises).result(WAIT)
    assert lane.threads_busy == 0


def test_shutdown_stops_every_idle_worker_and_refuses_new_calls(
    lanes: Callable[..., Lane],
) -> None:
    lane = lanes("shutdown", threads=3)
    gate = threading.Event()
    both = [lane.executor.submit(gate.wait, WAIT) for _ in range(2)]
    gate.set()
    assert [f.result(WAIT) for f in both] == [True, True]
    until(lambda: lane.executor._idle == 2)  # both workers are back, waiting for work
    again = [lane.executor.submit(lambda: "again") for _ in range(2)]
    assert [f.result(WAIT) for f in again] == ["again", "again"]
    workers = threads_named("deep-health-shutdown-worker")
    assert len(workers) == 2  # the idle workers took them: no third thread (the limit is 3)
    lane.executor.shutdown(wait=False)
    lane.executor.shutdown(wait=False)  # idempotent: no second round of stop signals
    for worker in workers:
        worker.join(WAIT)
        assert not worker.is_alive()
    with pytest.raises(RuntimeError, match=r"^cannot schedule new futures after shutdown$"):
        lane.executor.submit(lambda: None)
    assert lane.threads_busy == 0  # a refused call is not counted


# -- runs on the lane's loop -----------------------------------------------------------------


def test_a_run_ends_with_its_result_its_error_or_its_cancellation(
    lanes: Callable[..., Lane],
) -> None:
    lane = lanes()

    async def returns(ticket: Ticket[str]) -> str:
        return "ok"

    async def raises(ticket: Ticket[str]) -> str:
        raise ValueError("boom")

    assert lane.run(returns).future.result(WAIT) == "ok"
    with pytest.raises(ValueError, match="boom"):
        lane.run(raises).future.result(WAIT)
    started = threading.Event()
    seen: list[bool] = []

    async def waits(ticket: Ticket[str]) -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            seen.append(ticket.abandoned)  # the run can tell its lane's cancellation apart
            raise
        return "never"

    ticket = lane.run(waits)
    assert started.wait(WAIT)
    assert lane.busy == 1
    assert not ticket.abandoned
    ticket.abandon()
    assert ticket.abandoned
    with pytest.raises(asyncio.CancelledError):
        ticket.future.result(WAIT)
    assert seen == [True]
    assert lane.busy == 0


def test_a_factory_that_raises_ends_its_run_with_that_error(lanes: Callable[..., Lane]) -> None:
    lane = lanes()

    def broken(ticket: Ticket[str]) -> asyncio.Future[str]:
        raise KeyError("no coroutine")

    for _ in range(2):  # each failed run is counted ended once: the lane is never "busy"
        ticket = lane.run(broken)  # type: ignore[arg-type]
        with pytest.raises(KeyError, match="no coroutine"):
            ticket.future.result(WAIT)
        assert lane.busy == 0
    assert lane.run(_returns_seven).future.result(WAIT) == 7  # the lane still works


async def _returns_seven(ticket: Ticket[int]) -> int:
    return 7


def test_abandoning_a_run_that_already_ended_or_never_began_is_harmless(
    lanes: Callable[..., Lane], caplog: pytest.LogCaptureFixture
) -> None:
    # The runner abandons a run it gave up on; that run may have ended in the meantime, or its
    # factory may have failed before any task existed. Either way there is nothing to cancel,
    # and nothing may go wrong on the lane's loop (asyncio would log it as an error).
    lane = lanes("late")
    ended = lane.run(_returns_seven)
    assert ended.future.result(WAIT) == 7
    ended.abandon()

    def broken(ticket: Ticket[int]) -> asyncio.Future[int]:
        raise KeyError("no coroutine")

    never = lane.run(broken)  # type: ignore[arg-type]
    with pytest.raises(KeyError):
        never.future.result(WAIT)
    never.abandon()
    flushed = threading.Event()
    lane.call(flushed.set)  # the loop runs callbacks in order: both cancels have run
    assert flushed.wait(WAIT)
    assert ended.abandoned
    assert never.abandoned
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert ended.future.result(0) == 7  # an ended run's result stays what it was
    assert lane.run(_returns_seven).future.result(WAIT) == 7


def test_a_closed_lane_refuses_a_run_at_once(lanes: Callable[..., Lane]) -> None:
    lane = lanes()
    lane.request_close()
    assert lane.join(WAIT)
    assert lane.loop.is_closed()
    for _ in range(2):  # each refused run is counted ended once: the lane is never "busy"
        ticket = lane.run(_returns_seven)
        with pytest.raises(RuntimeError):
            ticket.future.result(0)
        assert lane.busy == 0
    lane.call(lambda: None)  # ignored once closed, never raised to the caller


def test_close_cancels_what_runs_and_reports_a_run_that_ignores_it(
    lanes: Callable[..., Lane],
) -> None:
    lane = lanes("closing")
    started = threading.Event()

    async def waits(ticket: Ticket[None]) -> None:
        started.set()
        await asyncio.Event().wait()

    ticket = lane.run(waits)
    assert started.wait(WAIT)
    lane.request_close()
    with pytest.raises(asyncio.CancelledError):
        ticket.future.result(WAIT)
    assert lane.join(WAIT)
    assert lane.loop.is_closed()

    stubborn = lanes("stubborn")
    started.clear()
    release = threading.Event()

    async def ignores(ticket: Ticket[None]) -> None:
        started.set()
        while not release.is_set():
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.sleep(0.01)

    ticket = stubborn.run(ignores)
    assert started.wait(WAIT)
    stubborn.request_close()
    assert not stubborn.join(WAIT)  # the loop stopped, but a run is still alive on it
    assert stubborn.busy == 1
    assert not stubborn.loop.is_closed()
    # Let the run end on its stopped loop (here, in the test's thread), then close it cleanly.
    release.set()
    ended = asyncio.wrap_future(ticket.future, loop=stubborn.loop)
    stubborn.loop.run_until_complete(asyncio.wait_for(ended, WAIT))
    assert stubborn.join(0.0)
    assert stubborn.loop.is_closed()


def test_join_gives_up_on_a_blocked_loop_when_its_time_is_up(lanes: Callable[..., Lane]) -> None:
    # The runner closes every lane within its own budget, which may be spent already (0 or
    # less): a lane a check keeps blocked is left to its daemon thread, not waited for.
    lane = lanes("stuck")
    gate, blocking = threading.Event(), threading.Event()

    def block() -> None:
        blocking.set()
        gate.wait(WAIT)

    lane.call(block)
    try:
        assert blocking.wait(WAIT)
        lane.request_close()
        answers: list[bool] = []
        joiner = threading.Thread(
            target=lambda: answers.extend([lane.join(0.0), lane.join(-1.0)]), daemon=True
        )
        joiner.start()
        joiner.join(WAIT)
        assert answers == [False, False]
        assert not lane.loop.is_closed()  # not closed under the thread still running it
    finally:
        gate.set()
    assert lane.join(WAIT)  # unblocked, the close it was asked for goes through
    assert lane.loop.is_closed()


def test_code_on_the_lanes_thread_finds_the_lanes_loop_as_its_threads_loop(
    lanes: Callable[..., Lane],
) -> None:
    # Older libraries ask the event loop policy for "the current loop" of their thread rather
    # than for the running loop; on a lane's thread that is the lane's loop, not an error.
    lane = lanes("policy")

    async def asks(ticket: Ticket[asyncio.AbstractEventLoop]) -> asyncio.AbstractEventLoop:
        return asyncio.get_event_loop_policy().get_event_loop()

    assert lane.run(asks).future.result(WAIT) is lane.loop


# -- why a run is late: a blocked loop or a busy one -----------------------------------------


def test_a_loop_silent_for_more_than_four_beats_is_blocked_not_at_four() -> None:
    clock = Clock(0.0)
    lane = Lane("blocked", clock=clock)
    gate, started = threading.Event(), threading.Event()

    async def blocks(ticket: Ticket[str]) -> str:
        started.set()
        gate.wait(WAIT)  # blocking code in async def: the loop gives no sign of life
        return "unblocked"

    try:
        assert lane.stalled_for() == 0.0  # idle
        ticket = lane.run(blocks)
        assert started.wait(WAIT)
        assert lane.busy == 1
        assert lane.stalled_for() == 0.0
        clock.now = -1.0  # a clock behind the last sign of life never gives a negative figure
        assert lane.stalled_for() == 0.0
        clock.now = 0.2  # four beats (4 x 50 ms) exactly: not yet blocked
        assert lane.stalled_for() == 0.2
        assert not lane.blocked()
        clock.now = 0.2000001
        assert lane.blocked()
        gate.set()
        assert ticket.future.result(WAIT) == "unblocked"
        assert lane.busy == 0
        clock.now = 100.0
        assert lane.stalled_for() == 0.0  # idle again: never "stalled", however long ago
        assert not lane.blocked()
    finally:
        gate.set()
        lane.request_close()
        lane.join(5.0)


def test_a_busy_loop_keeps_beating_while_a_run_awaits() -> None:
    clock = Clock(0.0)
    lane = Lane("beating", clock=clock)
    started = threading.Event()
    done = asyncio.Event()

    async def awaits(ticket: Ticket[None]) -> None:
        started.set()
        await done.wait()

    try:
        ticket = lane.run(awaits)
        assert started.wait(WAIT)
        for now in (10.0, 20.0):  # every beat is a sign of life: stalled_for returns to 0
            clock.now = now
            until(lambda: lane.stalled_for() == 0.0)
            assert not lane.blocked()
        lane.call(done.set)
        assert ticket.future.result(WAIT) is None
    finally:
        lane.request_close()
        lane.join(5.0)


class _CountingClock(Clock):
    """A fake clock that counts its reads: every heartbeat reads it once."""

    def __init__(self) -> None:
        super().__init__(0.0)
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.now


def _awaiting(
    started: threading.Semaphore, done: asyncio.Event
) -> Callable[[Ticket[None]], Coroutine[Any, Any, None]]:
    async def awaits(ticket: Ticket[None]) -> None:
        started.release()
        await done.wait()

    return awaits


def test_an_idle_loop_stops_beating(lanes: Callable[..., Lane]) -> None:
    # A heartbeat is a wake-up every 50 ms; an idle lane (most of a check's life) has none.
    clock = _CountingClock()
    lane = lanes("quiet", clock=clock)
    started, done = threading.Semaphore(0), asyncio.Event()
    ticket = lane.run(_awaiting(started, done))
    assert started.acquire(timeout=WAIT)
    until(lambda: clock.reads >= 3)  # the run began, and the loop beat at least twice
    lane.call(done.set)
    assert ticket.future.result(WAIT) is None
    reads = clock.reads  # the end of the run read it last, before its result was set
    # Four beats on the loop's own clock: a beat still scheduled is due before this timer, and
    # the loop runs due timers in order, so it would have read the clock by then.
    later = threading.Event()
    lane.call(lambda: lane.loop.call_later(4 * _BEAT, later.set))
    assert later.wait(WAIT)
    assert clock.reads == reads
    assert lane.stalled_for() == 0.0  # idle (and asking does not count as a beat)


def test_the_loop_keeps_beating_for_a_run_still_awaiting_when_another_ends_and_beats_again_later(
    lanes: Callable[..., Lane],
) -> None:
    clock = Clock(0.0)
    lane = lanes("two", clock=clock)
    started = threading.Semaphore(0)
    first_done, second_done, third_done = asyncio.Event(), asyncio.Event(), asyncio.Event()
    first = lane.run(_awaiting(started, first_done))
    second = lane.run(_awaiting(started, second_done))
    for _ in range(2):
        assert started.acquire(timeout=WAIT)
    lane.call(first_done.set)
    assert first.future.result(WAIT) is None
    assert lane.busy == 1
    for now in (10.0, 20.0):  # the second run still awaits: the loop is alive, not blocked
        clock.now = now
        until(lambda: lane.stalled_for() == 0.0)
        assert not lane.blocked()
    lane.call(second_done.set)
    assert second.future.result(WAIT) is None
    assert lane.busy == 0
    third = lane.run(_awaiting(started, third_done))  # after an idle spell: beating again
    assert started.acquire(timeout=WAIT)
    clock.now = 30.0
    until(lambda: lane.stalled_for() == 0.0)
    lane.call(third_done.set)
    assert third.future.result(WAIT) is None


def test_a_loop_blocked_right_after_a_run_ends_is_stalled_since_that_end(
    lanes: Callable[..., Lane],
) -> None:
    clock = Clock(0.0)
    lane = lanes("after", clock=clock)
    started = threading.Semaphore(0)
    first_done, other_done = asyncio.Event(), asyncio.Event()
    other = lane.run(_awaiting(started, other_done))  # keeps the lane busy throughout
    first = lane.run(_awaiting(started, first_done))
    for _ in range(2):
        assert started.acquire(timeout=WAIT)
    gate, blocking = threading.Event(), threading.Event()

    def block(_: object) -> None:
        blocking.set()
        gate.wait(WAIT)

    # Runs on the lane's thread as the first run's result is set: the loop is blocked from the
    # moment that run ended, before any heartbeat can say otherwise.
    first.future.add_done_callback(block)
    clock.now = 5.0
    lane.call(first_done.set)
    try:
        assert blocking.wait(WAIT)
        clock.now = 5.5
        assert lane.stalled_for() == 0.5
    finally:
        gate.set()
    lane.call(other_done.set)
    assert other.future.result(WAIT) is None


def test_a_run_waiting_for_the_loops_first_turn_is_stalled_since_the_lane_was_made(
    lanes: Callable[..., Lane],
) -> None:
    # Between `run()` and the loop's first look at it the lane is busy and has never shown a
    # sign of life: the figure counts from the lane's creation (the runner may ask then).
    clock = Clock(3.0)
    lane = lanes("first", clock=clock)
    gate, blocking = threading.Event(), threading.Event()

    def block() -> None:
        blocking.set()
        gate.wait(WAIT)

    lane.call(block)
    try:
        assert blocking.wait(WAIT)
        ticket = lane.run(_returns_seven)
        assert lane.busy == 1
        clock.now = 4.0
        assert lane.stalled_for() == 1.0
        assert lane.blocked()
    finally:
        gate.set()
    assert ticket.future.result(WAIT) == 7
