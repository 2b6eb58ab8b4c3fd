"""A check's ``start()`` through the runner: started once, retried while it fails (within the
evaluation's deadline), logged once per kind of failure, reported ``start_pending`` while it
runs; and runs abandoned at their timeout, given a short grace, then reported as hung.

Written against the runner's surviving mutants (issue 23). No wall-clock assertion: where a
wrong line would make the runner wait, the bound a test allows is many times what the right
line takes.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import AsyncIterator

import pytest

from checks import Check, Status
from service.running.runner import Runner


@pytest.fixture
async def runners() -> AsyncIterator[list[Runner]]:
    made: list[Runner] = []
    yield made
    for runner in made:
        await asyncio.to_thread(runner.close, 1.0)


def started(made: list[Runner], *checks: Check, deadline: float = 1.0) -> Runner:
    runner = Runner(checks, deadline=deadline, cache_ttl=0.0)
    runner.start()
    made.append(runner)
    return runner


def start_logs(caplog: pytest.LogCaptureFixture) -> list[tuple[str, dict[str, str]]]:
    return [
        (r.getMessage(), r.fields)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "deep_health.runner" and getattr(r, "fields", {}).get("reason")
    ]


class StartsAsTold(Check):
    """Its ``start()`` raises the next exception of ``failures`` (``None``: it succeeds)."""

    name = "starts-as-told"

    def __init__(self, *failures: BaseException | None) -> None:
        self.failures = list(failures)
        self.starts = 0
        self.runs = 0

    async def start(self) -> None:
        self.starts += 1
        failure = self.failures.pop(0) if self.failures else None
        if failure is not None:
            raise failure

    async def run(self) -> None:
        self.runs += 1


async def test_a_started_check_is_not_started_again(runners: list[Runner]) -> None:
    check = StartsAsTold()
    runner = started(runners, check)
    for _ in range(3):
        (result,) = (await runner.evaluate()).results
        assert result.status is Status.PASS
    assert (check.starts, check.runs) == (1, 3)


def failed(text: str) -> tuple[str, dict[str, str]]:
    kind = text.split(":")[0]
    return (
        f"check starts-as-told did not start: {kind} (reason start_failed; details behind the "
        "token)",
        {"check": "starts-as-told", "reason": "start_failed", "type": kind},
    )


async def test_a_failed_start_is_retried_each_evaluation_and_logged_once_per_kind(
    runners: list[Runner], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="deep_health.runner")
    check = StartsAsTold(
        ConnectionError("no route 1"),
        ConnectionError("no route 2"),
        TimeoutError("slow"),
        None,
        TimeoutError("slow again"),  # after a restart
    )
    runner = started(runners, check)
    assert start_logs(caplog) == [failed("ConnectionError")]

    evaluation = await runner.evaluate()
    (result,) = evaluation.results
    assert (result.status, result.reason) == (Status.FAIL, "start_failed")
    assert result.error == "ConnectionError: no route 2"  # the latest failure's text
    assert (result.duration, result.samples) == (0.0, (False,))
    assert start_logs(caplog) == [failed("ConnectionError")]  # the same kind: not again

    (result,) = (await runner.evaluate()).results
    assert (result.reason, result.error) == ("start_failed", "TimeoutError: slow")
    assert start_logs(caplog) == [failed("ConnectionError"), failed("TimeoutError")]

    evaluation = await runner.evaluate()  # the retry succeeds: the check runs
    (result,) = evaluation.results
    assert (result.status, result.reason, result.error) == (Status.PASS, None, None)
    assert evaluation.discounted == {"starts-as-told"}  # its first run since start()
    (result,) = (await runner.evaluate()).results
    assert result.status is Status.PASS
    assert (check.starts, check.runs) == (4, 2)

    await asyncio.to_thread(runner.close, 1.0)  # a restore: started again, and it fails again
    await asyncio.to_thread(runner.start)
    logs = start_logs(caplog)
    assert logs == [failed("ConnectionError"), failed("TimeoutError"), failed("TimeoutError")]


class StartHangs(Check):
    """Its first ``start()`` fails; the retry hangs until it is cancelled, and says so."""

    name = "start-hangs"
    timeout = 30.0  # longer than any deadline here: the deadline must bound the wait

    def __init__(self) -> None:
        self.starts = 0
        self.cancelled = threading.Event()

    async def start(self) -> None:
        self.starts += 1
        if self.starts == 1:
            raise ConnectionError("no route")
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    async def run(self) -> None:
        return None


async def test_a_start_retry_is_waited_for_until_the_deadline_and_abandoned_at_start_timeout(
    runners: list[Runner], caplog: pytest.LogCaptureFixture
) -> None:
    """The evaluation waits for the retry until its deadline (0.3 s), not the check's 30 s
    timeout, and answers ``start_pending``; the retry goes on until ``start_timeout`` (0.5 s
    here), is then abandoned (its hook cancelled) and logged as a new kind of failure,
    ``timeout``; the next evaluation retries again."""
    caplog.set_level(logging.WARNING, logger="deep_health.runner")
    check = StartHangs()
    runner = Runner([check], deadline=0.3, cache_ttl=0.0, start_timeout=0.5)
    runners.append(runner)
    await asyncio.to_thread(runner.start)
    (result,) = (await asyncio.wait_for(runner.evaluate(), 10)).results
    assert result.status is Status.FAIL
    assert result.reason in {"start_pending", "timeout"}  # "timeout": a starved supervisor
    assert await asyncio.to_thread(check.cancelled.wait, 10)
    assert check.starts == 2
    kinds = [fields["type"] for _, fields in start_logs(caplog)]
    assert kinds == ["ConnectionError", "timeout"]
    (again,) = (await asyncio.wait_for(runner.evaluate(), 10)).results
    assert again.reason in {"start_pending", "timeout"}
    assert check.starts == 3


class SlowRetry(Check):
    """Its first ``start()`` fails; the retry takes longer than any one evaluation's deadline
    (it ends when ``go`` is set), as a cold TLS handshake does on a CPU-starved container."""

    name = "slow-retry"

    def __init__(self) -> None:
        self.starts = 0
        self.cancelled = threading.Event()
        self.go = threading.Event()

    async def start(self) -> None:
        self.starts += 1
        if self.starts == 1:
            raise ConnectionError("no route")
        try:
            await asyncio.to_thread(self.go.wait, 30)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    async def run(self) -> None:
        return None


async def test_a_start_retry_slower_than_the_deadline_finishes_over_several_evaluations(
    runners: list[Runner],
) -> None:
    """Before, each evaluation cut the retry at its own deadline and the next began it again:
    a start() slower than the deadline never finished, and the check failed for ever (seen on
    the twin: a region at 503 throughout). Now the retry outlives the evaluation that began it,
    and the check passes once it ends."""
    check = SlowRetry()
    runner = started(runners, check, deadline=0.2)
    for _ in range(3):
        (result,) = (await runner.evaluate()).results
        assert (result.status, result.reason) == (Status.FAIL, "start_pending")
    assert not check.cancelled.is_set()
    assert check.starts == 2
    check.go.set()
    for _ in range(100):  # the retry's end reaches the supervisor within a few evaluations
        (result,) = (await runner.evaluate()).results
        if result.reason != "start_pending":
            break
    assert (result.status, result.reason) == (Status.PASS, None)
    assert check.starts == 2


class SlowStart(Check):
    """Its ``start()`` runs until ``gate`` is set (at most 10 s)."""

    name = "slow-start"
    samples = 2

    def __init__(self) -> None:
        self.gate = threading.Event()

    async def start(self) -> None:
        await asyncio.to_thread(self.gate.wait, 10)

    async def run(self) -> None:
        return None


async def test_a_start_still_running_is_start_pending_and_not_retried(
    runners: list[Runner], caplog: pytest.LogCaptureFixture
) -> None:
    """``Runner.start()`` gives the hooks 5 s, logs who is still starting, and the check
    reports ``start_pending`` meanwhile (its start is not retried beside itself)."""
    caplog.set_level(logging.WARNING, logger="deep_health.runner")
    check = SlowStart()
    runner = Runner([check], deadline=1.0, cache_ttl=0.0)
    runners.append(runner)
    try:
        await asyncio.to_thread(runner.start)
        assert "checks still starting after 5.0s: slow-start" in [
            r.getMessage() for r in caplog.records
        ]
        evaluation = await runner.evaluate()
    finally:
        check.gate.set()
    (result,) = evaluation.results
    assert (result.status, result.reason) == (Status.FAIL, "start_pending")
    assert result.error == "start() has not finished yet"
    assert result.samples == (False, False)
    assert evaluation.number == 1


class HangsOnFirstStart(Check):
    """Its first ``start()`` never ends on its own (it only notes being cancelled); the next
    succeeds."""

    name = "hangs-on-first-start"

    def __init__(self) -> None:
        self.starts = 0
        self.cancelled = threading.Event()

    async def start(self) -> None:
        self.starts += 1
        if self.starts > 1:
            return
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    async def run(self) -> None:
        return None


async def test_a_start_hung_at_start_up_is_abandoned_at_its_timeout_and_retried(
    runners: list[Runner], caplog: pytest.LogCaptureFixture
) -> None:
    """A ``start()`` begun by ``Runner.start()`` that never ends is abandoned (cancelled) after
    ``start_timeout`` and retried by the next evaluation, which then passes. Without the bound
    the check would answer ``start_pending`` for ever: a region failed by one stuck hook."""
    caplog.set_level(logging.WARNING, logger="deep_health.runner")
    check = HangsOnFirstStart()
    runner = Runner([check], deadline=1.0, cache_ttl=0.0, start_wait=0.05, start_timeout=0.3)
    runners.append(runner)
    await asyncio.to_thread(runner.start)
    assert "checks still starting after 0.05s: hangs-on-first-start" in [
        r.getMessage() for r in caplog.records
    ]
    # The abandoned hook is cancelled; a loaded machine gets 30 s (100 times the bound) for it.
    assert await asyncio.to_thread(check.cancelled.wait, 30)
    (result,) = (await runner.evaluate()).results
    assert (result.status, result.reason) == (Status.PASS, None)
    assert check.starts == 2
    assert [(fields["reason"], fields["type"]) for _, fields in start_logs(caplog)] == [
        ("start_failed", "timeout")
    ]


class IgnoresCancellation(Check):
    """Its first run never ends, cancelled or not, until ``release`` is set."""

    name = "ignores-cancellation"
    timeout = 0.2

    def __init__(self) -> None:
        self.release = threading.Event()
        self.runs = 0

    async def run(self) -> None:
        self.runs += 1
        if self.runs > 1:
            return
        while not self.release.is_set():
            try:
                await asyncio.to_thread(self.release.wait, 10)
            except asyncio.CancelledError:
                continue  # ignores it


async def test_an_abandoned_run_that_stays_hung_gets_a_short_grace_then_is_named(
    runners: list[Runner],
) -> None:
    """The grace for an abandoned run is short (50 ms), and no longer than what the deadline
    leaves: an evaluation with 0.5 s gets the supervisor's own answer (not the caller's overdue
    one), and one with 30 s answers well within 10 s."""
    check = IgnoresCancellation()
    runner = started(runners, check, deadline=1.0)
    try:
        (first,) = (await runner.evaluate()).results
        assert (first.status, first.reason) == (Status.FAIL, "timeout")
        check.timeout = 30.0  # the grace is 50 ms, not the check's timeout
        for deadline in (0.5, 30.0):
            evaluation = await asyncio.wait_for(runner.evaluate(deadline=deadline), 10)
            assert evaluation.number > 0  # the supervisor's answer
            (result,) = evaluation.results
            assert (result.status, result.reason) == (Status.FAIL, "timeout")
            assert result.error == (
                "the previous run has not finished (hung); not run again until it ends"
            )
            assert result.duration == 0.0
        assert check.runs == 1
    finally:
        check.release.set()


class Passes(Check):
    name = "passes"

    async def run(self) -> None:
        return None


async def test_close_is_idempotent_and_a_restart_answers_afresh(runners: list[Runner]) -> None:
    """After close() and start() (a SnapStart restore) nothing from before is served: not the
    cached evaluation, not the one that was in flight."""
    Runner([Passes()]).close()  # never started: nothing to do
    empty = Runner([])  # no lanes to wait for: close() still waits for the supervisor
    await asyncio.to_thread(empty.start)
    empty_loop = empty._loop
    assert empty_loop is not None
    await asyncio.to_thread(empty.close, 1.0)
    assert empty_loop.is_closed()
    runner = Runner([Passes()], deadline=1.0, cache_ttl=60.0)
    runners.append(runner)
    await asyncio.to_thread(runner.start)
    before = await runner.evaluate()
    assert await runner.evaluate() is before  # cached
    supervisor, thread = runner._loop, runner._thread
    assert supervisor is not None
    assert thread is not None
    await asyncio.to_thread(runner.close, 1.0)
    await asyncio.to_thread(runner.close, 1.0)
    assert not thread.is_alive()
    assert supervisor.is_closed()
    assert not runner.started
    await asyncio.to_thread(runner.start)
    after = await runner.evaluate()
    assert after is not before
    assert after.number == 2
    assert after.results[0].status is Status.PASS


class BlocksItsLoop(Check):
    """Its run blocks its own event loop until ``gate`` is set (at most 10 s)."""

    timeout = 0.2

    def __init__(self, name: str) -> None:
        self.name_ = name
        self.gate = threading.Event()
        self.entered = threading.Event()

    @property
    def check_name(self) -> str:  # type: ignore[override]
        return self.name_

    async def run(self) -> None:
        self.entered.set()
        self.gate.wait(10)  # the misbehaviour: blocking code in async def run


async def test_close_leaves_a_blocked_lane_and_says_which(
    runners: list[Runner], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="deep_health.runner")
    blocked = [BlocksItsLoop("blocks-a"), BlocksItsLoop("blocks-b")]
    runner = Runner([blocked[0], Passes(), blocked[1]], deadline=1.0, cache_ttl=0.0)
    await asyncio.to_thread(runner.start)
    try:
        found = {r.name: r for r in (await runner.evaluate()).results}
        assert found["passes"].status is Status.PASS
        assert found["blocks-a"].status is found["blocks-b"].status is Status.FAIL
        assert all(check.entered.is_set() for check in blocked)
        await asyncio.to_thread(runner.close, 1.0)
    finally:
        for check in blocked:
            check.gate.set()
    # The runs end after the runner closed: their results have nobody to go to, say nothing.
    for name in ("blocks-a", "blocks-b"):
        assert await asyncio.to_thread(runner.lane(name).join, 5)
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    messages = [r.getMessage() for r in caplog.records]
    assert (
        "lanes left running (a check blocks its loop or ignores cancellation): blocks-a, "
        "blocks-b" in messages
    )
    assert not any("checks did not stop" in m for m in messages)


async def test_close_with_a_starved_supervisor_returns_and_says_so(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The stop() hooks get half the close's time; a supervisor that cannot even run them (a
    starved machine) delays close() by no more than its timeout, and is logged."""
    caplog.set_level(logging.WARNING, logger="deep_health.runner")
    runner = Runner([Passes()], deadline=1.0, cache_ttl=0.0)
    await asyncio.to_thread(runner.start)
    supervisor, thread = runner._loop, runner._thread
    assert supervisor is not None
    assert thread is not None
    gate = threading.Event()
    supervisor.call_soon_threadsafe(gate.wait, 10)
    try:
        await asyncio.wait_for(asyncio.to_thread(runner.close, 0.4), 8)
        assert thread.is_alive()  # left to its daemon thread, not waited for
        assert not supervisor.is_closed()
    finally:
        gate.set()
    assert "checks did not stop within 0.2s" in [r.getMessage() for r in caplog.records]
    await asyncio.to_thread(thread.join, 10)
    assert not thread.is_alive()  # it stops once it gets the CPU back
    await asyncio.to_thread(finish, supervisor)


def finish(loop: asyncio.AbstractEventLoop) -> None:
    """Run what a stopped loop still holds (the stop task it had no time for), then close it,
    so no pending task is destroyed during a later test."""
    left = asyncio.all_tasks(loop)
    if left:
        loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
    loop.close()


@pytest.mark.parametrize(
    ("failure", "kind", "text"),
    [
        (asyncio.CancelledError(), "CancelledError", "CancelledError: the hook cancelled itself"),
        (SystemExit(3), "SystemExit", "SystemExit: 3"),
    ],
    ids=["cancels-itself", "system-exit"],
)
async def test_a_start_raising_anything_is_start_failed_with_what_it_raised(
    runners: list[Runner],
    caplog: pytest.LogCaptureFixture,
    failure: BaseException,
    kind: str,
    text: str,
) -> None:
    caplog.set_level(logging.WARNING, logger="deep_health.runner")
    check = StartsAsTold(failure, failure)
    runner = started(runners, check)
    (result,) = (await runner.evaluate()).results
    assert (result.status, result.reason, result.error) == (Status.FAIL, "start_failed", text)
    assert start_logs(caplog) == [failed(f"{kind}: x")]


class ClosesLate(Check):
    """Its first run hangs; cancelled, it closes its connection, and the close ends only
    during the second grace the supervisor gives it (two evaluations later), whatever the
    machine's speed. The supervisor reads ``timeout`` as it computes each grace; no run is
    started meanwhile (it is refused as hung)."""

    name = "closes-late"

    def __init__(self) -> None:
        self.runs = 0
        self.closing = threading.Event()
        self.graces = 0
        self._close: tuple[asyncio.AbstractEventLoop, asyncio.Event] | None = None

    @property
    def timeout(self) -> float:  # type: ignore[override]
        if self._close is not None:
            self.graces += 1  # every read once the run is closing (the graces, then runs)
            if self.graces == 2:
                lane, done = self._close
                asyncio.get_running_loop().call_soon(lane.call_soon_threadsafe, done.set)
        return 0.2

    async def run(self) -> None:
        self.runs += 1
        if self.runs > 1:
            return
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            done = asyncio.Event()
            self._close = (asyncio.get_running_loop(), done)
            self.closing.set()
            await done.wait()
            raise


async def test_an_abandoned_run_gets_a_grace_in_every_evaluation_until_it_ends(
    runners: list[Runner],
) -> None:
    """A run still closing after one grace is kept in view: the next evaluation gives it a
    grace again (and runs the check once it has ended), not a hung verdict."""
    check = ClosesLate()
    runner = started(runners, check)
    (first,) = (await runner.evaluate()).results
    assert first.reason == "timeout"
    assert await asyncio.to_thread(check.closing.wait, 5)
    (second,) = (await runner.evaluate()).results
    assert (second.reason, second.error) == (
        "timeout",
        "the previous run has not finished (hung); not run again until it ends",
    )
    (third,) = (await runner.evaluate()).results
    assert (third.status, third.reason) == (Status.PASS, None)
    assert (check.runs, check.graces) == (2, 3)  # two graces, then the run's own timeout
    (fourth,) = (await runner.evaluate()).results  # the ended run is out of view: no grace
    assert (fourth.status, check.runs, check.graces) == (Status.PASS, 3, 4)


async def test_evaluating_before_start_is_refused_saying_so() -> None:
    runner = Runner([Passes()])
    with pytest.raises(RuntimeError, match=r"^Runner\.start\(\) was not called$"):
        await runner.evaluate()


class AnswersWhenStopped(Check):
    """Its run waits until its ``stop()`` lets it answer; ``stop()`` then waits until the test
    has the answer: an evaluation that finishes while ``close()`` runs the stop hooks."""

    name = "answers-when-stopped"
    timeout = 5.0

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.answered = threading.Event()
        self._go: asyncio.Event | None = None

    async def run(self) -> None:
        if self._go is not None:  # the second start's runs answer at once
            return
        self._go = asyncio.Event()
        self.entered.set()
        await self._go.wait()

    async def stop(self) -> None:
        if self._go is not None and not self._go.is_set():
            self._go.set()
            await asyncio.to_thread(self.answered.wait, 5)


async def test_an_evaluation_finishing_during_close_is_not_served_after_a_restart(
    runners: list[Runner],
) -> None:
    """close() drops the cache; an evaluation still in flight that finishes while the stop
    hooks run must not fill it again, or a restored runner (SnapStart) answers with results
    from before the snapshot. (It did: the test failed before the fix.)"""
    check = AnswersWhenStopped()
    runner = Runner([check], deadline=5.0, cache_ttl=60.0, clock=lambda: 1000.0)
    runners.append(runner)
    await asyncio.to_thread(runner.start)
    in_flight = asyncio.create_task(runner.evaluate())
    assert await asyncio.to_thread(check.entered.wait, 5)
    closing = asyncio.create_task(asyncio.to_thread(runner.close, 5.0))
    before = await asyncio.wait_for(in_flight, 10)
    check.answered.set()
    await closing
    assert (before.number, before.results[0].status) == (1, Status.PASS)
    assert runner.cached() is None
    await asyncio.to_thread(runner.start)
    assert await runner.evaluate() is not before


async def test_the_supervisor_is_a_named_daemon_thread(runners: list[Runner]) -> None:
    """Named, so a thread dump says what it is; a daemon, so a hung check never keeps the
    process from exiting."""
    runner = started(runners, Passes())
    supervisor = runner._thread
    assert supervisor is not None
    assert (supervisor.name, supervisor.daemon) == ("deep-health-runner", True)
    assert supervisor in threading.enumerate()


async def test_the_lanes_keep_the_runners_clock(runners: list[Runner]) -> None:
    """A lane measures how long its loop has been silent by the runner's clock: with a clock
    that stands still, a loop blocked past the check's timeout is no longer "blocked_loop"
    by that clock, only late."""
    check = BlocksItsLoop("blocks-frozen")
    check.timeout = 0.6  # three times what a lane calls blocked (0.2 s silent)
    runner = Runner([check], deadline=2.0, cache_ttl=0.0, clock=lambda: 1000.0)
    runners.append(runner)
    await asyncio.to_thread(runner.start)
    try:
        (result,) = (await runner.evaluate()).results
    finally:
        check.gate.set()
    assert (result.status, result.reason) == (Status.FAIL, "timeout")
    assert result.error == "no answer within 0.600s"


class Jump:
    """A monotonic clock that a check can push forward, as a slow step looks to the runner."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


class SlowRetryThenHangs(Check):
    """``start()`` fails; its retry (once ``go`` is set) takes 0.9 s by the runner's clock and
    succeeds; its run then hangs."""

    name = "slow-retry"
    timeout = 5.0

    def __init__(self, clock: Jump) -> None:
        self.clock = clock
        self.starts = 0
        self.go = threading.Event()

    async def start(self) -> None:
        self.starts += 1
        if self.starts == 1:
            raise ConnectionError("no route")
        await asyncio.to_thread(self.go.wait, 5)
        self.clock.offset += 0.9

    async def run(self) -> None:
        await asyncio.Event().wait()


async def test_the_run_after_a_start_retry_gets_what_is_left_of_the_deadline(
    runners: list[Runner],
) -> None:
    """A retry of start() that took 0.9 s of a 1 s deadline leaves the run 0.1 s: the
    supervisor answers on time (its own answer, not the caller's overdue one)."""
    clock = Jump()
    check = SlowRetryThenHangs(clock)
    runner = Runner([check], deadline=1.0, cache_ttl=0.0, clock=clock)
    runners.append(runner)
    await asyncio.to_thread(runner.start)
    evaluation = asyncio.create_task(runner.evaluate())
    await asyncio.sleep(0)  # one turn: the caller has taken its own deadline and waits
    check.go.set()
    result = await evaluation
    assert result.number == 1
    (late,) = result.results
    assert (late.status, late.reason) == (Status.FAIL, "timeout")
    assert check.starts == 2


class HangsAtStartUp(Check):
    """Its ``start()`` never ends on its own; it notes being cancelled."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cancelled = threading.Event()

    async def start(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise

    async def run(self) -> None:
        return None


class RetryHangs(HangsAtStartUp):
    """Its first ``start()`` fails at once; the retry never ends on its own."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.starts = 0

    async def start(self) -> None:
        self.starts += 1
        if self.starts == 1:
            raise ConnectionError("no route")
        await super().start()


async def test_close_leaves_no_start_waiting_on_the_stopped_supervisor(
    runners: list[Runner], caplog: pytest.LogCaptureFixture
) -> None:
    """close() while start() hooks still run (two begun by ``Runner.start()``, one a retry that
    outlived its evaluation) ends the supervisor's tasks waiting for them. Left pending on the
    stopped loop, each would be destroyed pending when collected (asyncio logs it as an error;
    after a restart that could be mid-start), and the retry's would outlive ``close()``.
    Kills ``close()`` not cancelling start-up's task or the retries (``start`` not keeping its
    future, ``_supervise`` not keeping the retry, ``_stop_all``'s ``is None``). Start-up's log
    names every check still starting, sorted."""
    caplog.set_level(logging.WARNING)
    late, early = HangsAtStartUp("z-hangs"), HangsAtStartUp("a-hangs")
    retried = RetryHangs("m-retry-hangs")
    runner = Runner([late, retried, early], deadline=0.2, cache_ttl=0.0, start_wait=0.05)
    runners.append(runner)
    await asyncio.to_thread(runner.start)
    (message,) = [r.getMessage() for r in caplog.records if "still starting" in r.getMessage()]
    assert message.startswith("checks still starting after 0.05s: ")
    listed = message.removeprefix("checks still starting after 0.05s: ").split(", ")
    # m-retry-hangs only if its first start() had not failed yet on a loaded machine.
    assert {"a-hangs", "z-hangs"} <= set(listed) <= {"a-hangs", "m-retry-hangs", "z-hangs"}
    assert listed == sorted(listed)
    for _ in range(100):  # bounded: each evaluation takes at most its 0.2 s deadline
        if retried.starts == 2:
            break
        await runner.evaluate()
    assert retried.starts == 2  # the retry runs, begun by an evaluation that has answered
    (result,) = [r for r in (await runner.evaluate()).results if r.name == "m-retry-hangs"]
    assert result.reason in {"start_pending", "timeout"}  # "timeout": a starved supervisor
    supervisor = runner._loop
    assert supervisor is not None
    await asyncio.to_thread(runner.close, 1.0)
    assert supervisor.is_closed()
    assert asyncio.all_tasks(supervisor) == set()
    gc.collect()
    destroyed = [r for r in caplog.records if "destroyed but it is pending" in r.getMessage()]
    assert destroyed == []
    for check in (late, early, retried):  # their lanes cancelled the hooks themselves
        assert check.cancelled.is_set()
