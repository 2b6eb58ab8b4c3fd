"""What the runner says about a run that did not answer, or that it will not start: the reason
and its private text, for an async check, a plain ``def``, a blocked loop and busy worker
threads; the cache's bounds; a per-call deadline; the runner's defaults.

Written against the runner's surviving mutants (issue 23). No wall-clock assertion: a wrong
line that would make the runner wait meets a bound many times what the right line takes.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable

import pytest

from checks import Check, Status
from service.config import Settings
from service.running.runner import Runner


@pytest.fixture
async def runners() -> AsyncIterator[list[Runner]]:
    made: list[Runner] = []
    yield made
    for runner in made:
        await asyncio.to_thread(runner.close, 1.0)


async def started(
    made: list[Runner], *checks: Check, clock: Callable[[], float] | None = None, **kw: float
) -> Runner:
    options: dict[str, object] = {"deadline": 1.0, "cache_ttl": 0.0, **kw}
    if clock is not None:
        options["clock"] = clock
    runner = Runner(checks, **options)  # type: ignore[arg-type]
    await asyncio.to_thread(runner.start)
    made.append(runner)
    return runner


class HangsAsync(Check):
    name = "hangs-async"
    timeout = 0.2

    async def run(self) -> None:
        await asyncio.Event().wait()


class HangsInDef(Check):
    """A plain ``def`` whose call never returns until ``release`` is set (at most 10 s)."""

    name = "hangs-in-def"
    timeout = 0.2

    def __init__(self) -> None:
        self.release = threading.Event()
        self.calls = 0

    def run(self) -> None:
        self.calls += 1
        self.release.wait(10)


async def test_a_late_async_run_is_a_timeout_naming_the_bound(runners: list[Runner]) -> None:
    runner = await started(runners, HangsAsync())
    (result,) = (await runner.evaluate()).results
    assert (result.status, result.reason) == (Status.FAIL, "timeout")
    assert result.error == "no answer within 0.200s"


async def test_a_late_def_run_is_a_timeout_then_refused_until_its_thread_returns(
    runners: list[Runner],
) -> None:
    check = HangsInDef()
    runner = await started(runners, check)
    try:
        (first,) = (await runner.evaluate()).results
        evaluation = await runner.evaluate()
        (second,) = evaluation.results
    finally:
        check.release.set()
    assert second.time == evaluation.time
    assert (first.status, first.reason) == (Status.FAIL, "timeout")
    assert first.error == "no answer within 0.200s (its worker thread is still running)"
    assert (second.status, second.reason, second.duration) == (Status.FAIL, "timeout", 0.0)
    assert second.error == (
        "the previous run's worker thread has not returned (hung); not run again until it does"
    )
    assert check.calls == 1


class BlocksItsLoop(Check):
    """Its run blocks its own event loop until ``gate`` is set (at most 10 s)."""

    name = "blocks-its-loop"
    timeout = 0.6  # well past the point where its lane counts as blocked (0.2 s silent)

    def __init__(self) -> None:
        self.gate = threading.Event()

    async def run(self) -> None:
        self.gate.wait(10)  # the misbehaviour: blocking code in async def run


async def test_a_blocked_loop_is_named_with_how_long_it_has_been_blocked(
    runners: list[Runner],
) -> None:
    """The run is late and its loop shows no sign of life: ``blocked_loop``, in the late run's
    own result and in the refusal of the next evaluation."""
    check = BlocksItsLoop()
    runner = await started(runners, check, deadline=2.0)
    try:
        (late,) = (await runner.evaluate()).results
        (refused,) = (await runner.evaluate()).results
    finally:
        check.gate.set()
    assert (late.status, late.reason) == (Status.FAIL, "blocked_loop")
    assert (late.error or "").startswith("blocked its event loop for ")
    assert (late.error or "").endswith(
        "s (blocking code in async def run, e.g. time.sleep or a synchronous client?)"
    )
    assert (refused.status, refused.reason, refused.duration) == (Status.FAIL, "blocked_loop", 0.0)
    assert (refused.error or "").startswith("blocked its event loop for ")
    assert (refused.error or "").endswith(
        "s so far (blocking code in async def run?); not run again until it ends"
    )


class LeavesThreadsBusy(Check):
    """Its first run leaves ``hung`` of its lane's worker threads busy (until ``release``), and
    hangs itself; later runs pass."""

    name = "leaves-threads-busy"
    timeout = 0.2

    def __init__(self, hung: int) -> None:
        self.hung = hung
        self.release = threading.Event()
        self.runs = 0
        self.waiting = threading.Semaphore(0)

    def _hang(self) -> None:
        self.waiting.release()
        self.release.wait(10)

    async def run(self) -> None:
        self.runs += 1
        if self.runs == 1:
            await asyncio.gather(*(asyncio.to_thread(self._hang) for _ in range(self.hung)))


@pytest.mark.parametrize(
    ("hung", "reason"), [(3, None), (4, "threads_exhausted")], ids=["one-left", "none-left"]
)
async def test_an_async_check_runs_while_its_lane_has_a_thread_per_sample(
    runners: list[Runner], hung: int, reason: str | None
) -> None:
    """Its lane has 4 worker threads: with 3 hung, one sample still has one; with 4, none."""
    check = LeavesThreadsBusy(hung)
    runner = await started(runners, check)
    try:
        (first,) = (await runner.evaluate()).results
        assert first.reason == "timeout"
        for _ in range(hung):
            assert await asyncio.to_thread(check.waiting.acquire, True, 10)
        assert runner.lane(check.check_name).threads_busy == hung
        (second,) = (await runner.evaluate()).results
    finally:
        check.release.set()
    assert second.reason == reason
    if reason is None:
        assert second.status is Status.PASS
        assert check.runs == 2
    else:
        assert second.status is Status.FAIL
        assert second.error == (
            "4 of its 4 worker threads are still busy (hung asyncio.to_thread or "
            "run_in_executor calls?)"
        )
        assert check.runs == 1


class Passes(Check):
    name = "passes"
    samples = 2

    async def run(self) -> None:
        return None


def test_the_defaults_are_the_services() -> None:
    """A runner built without options behaves as the service's defaults say."""
    runner = Runner([Passes()])
    fields = Settings.model_fields
    assert (runner.deadline, runner.cache_ttl) == (
        fields["deadline"].default,
        fields["cache_ttl"].default,
    )


@pytest.mark.parametrize(("samples", "threads"), [(2, 4), (6, 6)])
async def test_a_lane_has_four_worker_threads_or_one_per_sample(
    runners: list[Runner], samples: int, threads: int
) -> None:
    check = Passes()
    check.samples = samples
    runner = await started(runners, check)
    assert runner.lane("passes").executor.limit == threads
    (result,) = (await runner.evaluate()).results
    assert result.samples == (True,) * samples


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("ttl", [0.5, 1.0])
async def test_a_cached_evaluation_answers_until_exactly_its_ttl(
    runners: list[Runner], ttl: float
) -> None:
    clock = Clock()
    runner = await started(runners, Passes(), clock=clock, cache_ttl=ttl)
    first = await runner.evaluate()
    assert first.finished == clock.now
    clock.now += ttl / 2
    assert runner.cached() is first
    assert await runner.evaluate() is first
    clock.now = first.finished + ttl  # at the ttl: stale
    assert runner.cached() is None
    second = await runner.evaluate()
    assert second is not first
    assert second.number == 2


async def test_a_negative_ttl_caches_nothing(runners: list[Runner]) -> None:
    runner = await started(runners, Passes(), cache_ttl=-1.0)
    first = await runner.evaluate()
    assert runner.cached() is None
    assert await runner.evaluate() is not first


class HangsLong(Check):
    name = "hangs-long"
    timeout = 30.0

    async def run(self) -> None:
        await asyncio.Event().wait()


async def test_a_per_call_deadline_bounds_that_evaluation(runners: list[Runner]) -> None:
    """``evaluate(deadline=...)`` overrides the runner's (here 30 s) for that call."""
    runner = await started(runners, HangsLong(), deadline=30.0)
    evaluation = await asyncio.wait_for(runner.evaluate(deadline=0.3), 10)
    (result,) = evaluation.results
    assert (result.status, result.reason) == (Status.FAIL, "timeout")


class TimeoutUnreadable(Check):
    """A plugin whose ``timeout`` raises once it is armed (after start)."""

    name = "timeout-unreadable"
    armed = False

    @property
    def timeout(self) -> float:  # type: ignore[override]
        if self.armed:
            raise RuntimeError("no timeout")
        return 1.0

    async def run(self) -> None:
        return None


async def test_a_supervisor_failure_is_logged_and_answered_as_timeouts(
    runners: list[Runner], caplog: pytest.LogCaptureFixture
) -> None:
    """Whatever breaks the supervisor's own evaluation (here a check attribute that raises),
    evaluate() does not raise: it logs the failure and answers every check as a timeout."""
    check = TimeoutUnreadable()
    runner = await started(runners, check)
    check.armed = True
    evaluation = await asyncio.wait_for(runner.evaluate(), 10)
    assert evaluation.number == -1
    assert evaluation.results[0].reason == "timeout"
    (record,) = [r for r in caplog.records if r.name == "deep_health.runner"]
    assert (record.getMessage(), record.levelname) == ("evaluation failed", "ERROR")
    assert record.exc_info is not None
