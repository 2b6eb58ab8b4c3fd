"""The runner's lines that survived an independent set of one-line bugs (issue 23): each test
here kills one of them, and says which.

No wall-clock assertion: each test observes an outcome (a reason code, a status) that the
bug changes, whatever the machine's speed.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable

import pytest

from checks import Check, Status
from service.running.runner import Runner


@pytest.fixture
async def runners() -> AsyncIterator[list[Runner]]:
    made: list[Runner] = []
    yield made
    for runner in made:
        runner.close(timeout=1.0)


def started(made: list[Runner], *checks: Check, deadline: float = 1.0) -> Runner:
    runner = Runner(checks, deadline=deadline, cache_ttl=0.0)
    runner.start()
    made.append(runner)
    return runner


class Sampled(Check):
    """An async check that passes, run ``samples`` times concurrently."""

    name = "sampled"

    async def run(self) -> None:
        await asyncio.sleep(0)


@pytest.mark.parametrize("samples", [4, 5, 10])
async def test_an_async_check_with_as_many_samples_as_threads_is_not_threads_exhausted(
    runners: list[Runner], samples: int
) -> None:
    """Kills ``threads_busy + samples > limit`` → ``>=``: an async check with 4 or more samples
    (its lane has max(4, samples) worker threads, none busy) failed every evaluation as
    ``threads_exhausted``, failing the region for good."""
    check = Sampled()
    check.samples = samples
    runner = started(runners, check)
    for _ in range(2):  # the second evaluation too: nothing was left busy by the first
        (result,) = (await runner.evaluate()).results
        assert (result.status, result.reason) == (Status.PASS, None)
        assert result.samples == (True,) * samples


class StartHangsOnRetry(Check):
    """``start()`` fails at start-up, and the retry during an evaluation never ends."""

    name = "start-hangs"
    timeout = 0.2

    def __init__(self) -> None:
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        if self.starts == 1:
            raise ConnectionError("no route")
        await asyncio.Event().wait()  # a client's connect that never returns

    async def run(self) -> None:
        return None


async def test_a_start_retry_that_hangs_is_waited_for_within_the_check_then_start_pending(
    runners: list[Runner],
) -> None:
    """Kills an evaluation waiting for a start() retry beyond the check's timeout within the
    deadline (up to ``start_timeout``, 30 s): the answer then froze, and came from the caller
    (overdue, ``timeout``) instead of the supervisor. The retry itself is not cut at the
    evaluation's bound: it goes on (``start_pending``) until ``start_timeout``."""
    check = StartHangsOnRetry()
    runner = started(runners, check, deadline=1.0)
    evaluation = await runner.evaluate()
    (result,) = evaluation.results
    assert check.starts == 2
    assert evaluation.number == 1  # the supervisor's own answer, not the caller's overdue one
    assert (result.status, result.reason) == (Status.FAIL, "start_pending")
    assert result.error == "start() has not finished yet"
    (again,) = (await runner.evaluate()).results
    assert again.reason == "start_pending"
    assert check.starts == 2  # not retried beside the retry still running


def after_turns(
    loop: asyncio.AbstractEventLoop, turns: int, callback: Callable[[], object]
) -> None:
    """Call ``callback`` on ``loop`` ``turns`` turns of it from now (a ``call_soon`` made
    during a turn runs in the next one)."""
    if turns == 0:
        callback()
    else:
        loop.call_soon(after_turns, loop, turns - 1, callback)


class ClosesOnCancel(Check):
    """Its first run hangs; cancelled, it closes its connection, which ends only once the next
    evaluation's supervisor has waited for it for 10 turns of its loop (whatever the machine's
    speed): the grace for an abandoned run is what lets that close finish. Without a grace
    (or with one of 0: ``asyncio.wait`` then hands back after two turns) the supervisor looks
    at the lane before the close could begin."""

    name = "closes-on-cancel"

    def __init__(self) -> None:
        self.runs = 0
        self.closing = threading.Event()
        self.closed = threading.Event()
        self._close: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    @property  # type: ignore[override]
    def timeout(self) -> float:
        # Read by the supervisor (on its own loop) as it computes the grace. Once the abandoned
        # run is closing, the close ends 10 turns of the supervisor's loop later: during the
        # grace's wait, or never before the refusal when the supervisor does not wait.
        if self._close is not None:
            lane, done = self._close
            supervisor = asyncio.get_running_loop()
            after_turns(supervisor, 10, lambda: lane.call_soon_threadsafe(done.set))
        return 0.2

    async def run(self) -> None:
        self.runs += 1
        if self.runs > 1:
            return
        try:
            await asyncio.Event().wait()  # hangs: abandoned at the check's timeout
        except asyncio.CancelledError:
            done = asyncio.Event()
            self._close = (asyncio.get_running_loop(), done)
            self.closing.set()
            await done.wait()  # the connection's close
            self.closed.set()
            raise


async def test_a_run_closing_its_connection_gets_a_grace_not_a_hung_verdict(
    runners: list[Runner],
) -> None:
    """Kills dropping the grace for an abandoned run, or a grace of 0: a 20 ms close was
    reported as "previous run has not finished (hung)", an extra failed evaluation (a flap
    under bursts). (A grace of 0, the grace's ``elapsed`` as ``now + started``, survived on
    2026-12-05 when the close began on the supervisor's next turn and won the race.)"""
    check = ClosesOnCancel()
    runner = started(runners, check, deadline=1.0)
    (first,) = (await runner.evaluate()).results
    assert (first.status, first.reason) == (Status.FAIL, "timeout")
    await asyncio.to_thread(check.closing.wait, 5.0)  # the abandoned run is closing now
    (second,) = (await runner.evaluate()).results
    assert check.closed.is_set()
    assert (second.status, second.reason) == (Status.PASS, None)
    assert check.runs == 2


class Refused(Check):
    """A non-critical global check with three samples whose ``start()`` always fails."""

    name = "refused"
    critical = False
    scope = "global"
    samples = 3

    async def start(self) -> None:
        raise ConnectionError("no route")

    async def run(self) -> None:
        return None


async def test_a_refused_check_keeps_its_kind_and_fails_every_sample(
    runners: list[Runner],
) -> None:
    """A refusal (here ``start_failed``) is the check's result like any other: its criticality
    and scope decide the verdict, and every sample counts as failed in the window."""
    critical = StartHangsOnRetry()
    runner = started(runners, Refused(), critical)
    evaluation = await runner.evaluate()
    refused, hung = evaluation.results
    assert (refused.reason, refused.critical, refused.scope) == ("start_failed", False, "global")
    assert refused.samples == (False, False, False)
    assert (hung.reason, hung.critical, hung.scope) == ("start_pending", True, "regional")
    assert hung.samples == (False,)
    assert refused.time == hung.time == evaluation.time
    assert refused.duration == 0.0


async def test_the_overdue_answer_says_so(runners: list[Runner]) -> None:
    """When the supervisor itself misses the deadline (a starved machine), the caller's own
    answer: numbered -1, timed from the evaluation's start, every unanswered check a timeout
    naming the supervisor."""
    check = Sampled()
    runner = started(runners, check, deadline=0.2)
    supervisor = runner._loop
    assert supervisor is not None
    gate = threading.Event()
    supervisor.call_soon_threadsafe(gate.wait, 10)  # starve the supervisor
    try:
        evaluation = await runner.evaluate()
    finally:
        gate.set()
    (result,) = evaluation.results
    assert evaluation.number == -1
    assert evaluation.duration >= 0.2
    assert result.time == evaluation.time
    assert (result.status, result.reason, result.critical) == (Status.FAIL, "timeout", True)
    assert result.error is not None
    assert "no answer within 0.200s (the runner's supervisor did not answer in time" in (
        result.error
    )
    assert result.duration == evaluation.duration


class Stopping(Check):
    """Its ``stop()`` is counted, raises, or never ends, as ``how`` says."""

    def __init__(self, name: str, how: str) -> None:
        self.check_name_ = name
        self.how = how
        self.stopped = 0

    @property
    def check_name(self) -> str:  # type: ignore[override]
        return self.check_name_

    async def stop(self) -> None:
        self.stopped += 1
        if self.how == "raises":
            raise OSError("socket already closed")
        if self.how == "cancels":
            raise asyncio.CancelledError
        if self.how == "hangs":
            await asyncio.Event().wait()

    async def run(self) -> None:
        return None


def test_close_stops_every_check_once_and_logs_each_that_does_not_stop_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    checks = [
        Stopping("clean", "returns"),
        Stopping("raises", "raises"),
        Stopping("hangs", "hangs"),
        Stopping("cancels", "cancels"),
    ]
    runner = Runner(checks, deadline=1.0, cache_ttl=0.0)
    runner.start()
    runner.close(timeout=1.0)  # stop() hooks get half of it
    assert [c.stopped for c in checks] == [1, 1, 1, 1]
    troubles = {
        r.fields["check"]: (r.getMessage(), r.fields["reason"], r.fields["type"])  # type: ignore[attr-defined]
        for r in caplog.records
        if hasattr(r, "fields")
    }
    assert troubles == {
        "raises": ("check raises did not stop cleanly: OSError", "stop_failed", "OSError"),
        "hangs": ("check hangs did not stop cleanly: timeout", "stop_failed", "timeout"),
        "cancels": (
            "check cancels did not stop cleanly: CancelledError",
            "stop_failed",
            "CancelledError",
        ),
    }


class StallsTheSupervisorOnceRecorded(Check):
    """Passes; as the supervisor combines its result (reading its latency budget), it queues a
    callback that blocks the supervisor's loop until ``gate`` is set. So its result is
    recorded, and then the supervisor misses the deadline: whatever the machine's speed."""

    name = "answered"

    def __init__(self) -> None:
        self.gate = threading.Event()

    @property  # type: ignore[override]
    def latency_budget(self) -> float | None:
        asyncio.get_running_loop().call_soon(self.gate.wait, 10)
        return None

    async def run(self) -> None:
        return None


class Silent(Check):
    """Never answers; its own timeout is past the evaluation's deadline."""

    name = "silent"
    timeout = 5.0

    async def run(self) -> None:
        await asyncio.Event().wait()


async def test_the_overdue_answer_keeps_what_was_answered(runners: list[Runner]) -> None:
    """When the supervisor misses the deadline after some checks answered, those keep their
    real results (and count as evidence); only the unanswered ones are timeouts, discounted.
    The duration is measured from the evaluation's start (the clock here is far from zero)."""
    answered = StallsTheSupervisorOnceRecorded()
    runner = Runner(
        [answered, Silent()], deadline=0.3, cache_ttl=0.0, clock=lambda: time.monotonic() + 1e6
    )
    runner.start()
    runners.append(runner)
    try:
        first = await runner.evaluate()
        again = await runner.evaluate()  # the same evaluation in flight: the same late answer
    finally:
        answered.gate.set()
    assert again is first
    assert first.number == -1
    assert 0.3 <= first.duration < 60
    ok, silent = first.results
    assert (ok.name, ok.status, ok.reason) == ("answered", Status.PASS, None)
    assert (silent.name, silent.status, silent.reason) == ("silent", Status.FAIL, "timeout")
    assert silent.error == (
        "no answer within 0.300s (the runner's supervisor did not answer in time: is the "
        "machine starved of CPU?)"
    )
    assert silent.duration == first.duration
    assert first.discounted == frozenset({"silent"})
