"""The runner answers on time whatever a check does, and shares evaluations."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Sequence

import pytest

from checks import Check, Status
from service.running.runner import Runner
from support import misbehaving as m

DEADLINE = 0.3
# Generous: the misbehaving checks would otherwise take seconds or forever. A bound this loose
# cannot flake on a busy machine, yet fails if the deadline is not enforced.
ANSWERED_WITHIN = 1.5


def make_runner(checks: Sequence[Check], **kwargs: float) -> Runner:
    options = {"deadline": DEADLINE, "cache_ttl": 0.0, **kwargs}
    return Runner(checks, **options)  # type: ignore[arg-type]


@pytest.fixture
async def started() -> AsyncIterator[list[Runner]]:
    runners: list[Runner] = []
    yield runners
    for runner in runners:
        runner.close(timeout=1.0)


async def evaluate(runners: list[Runner], *checks: Check, **kwargs: float) -> tuple[dict, float]:
    runner = make_runner(checks, **kwargs)
    runner.start()
    runners.append(runner)
    began = time.monotonic()
    evaluation = await runner.evaluate()
    elapsed = time.monotonic() - began
    return {r.name: r for r in evaluation.results}, elapsed


MISBEHAVING = [
    (m.Hangs(), "timeout"),
    (m.BlocksThread(seconds=3), "timeout"),
    (m.BlocksLoop(seconds=2), "blocked_loop"),
    (m.IgnoresCancellation(), "timeout"),
    (m.Raises(), "error"),
    (m.RaisesBase(), "error"),
    (m.RaisesSystemExit(), "error"),
    (m.CancelsItself(), "error"),
]


@pytest.mark.parametrize(
    ("check", "reason"), MISBEHAVING, ids=[type(c).__name__ for c, _ in MISBEHAVING]
)
async def test_misbehaving_check_fails_on_time(
    started: list[Runner], check: Check, reason: str
) -> None:
    results, elapsed = await evaluate(started, check)
    result = results[check.check_name]
    assert result.status is Status.FAIL
    assert result.reason == reason
    assert elapsed < ANSWERED_WITHIN


async def test_healthy_checks_still_pass_beside_a_hanging_one(started: list[Runner]) -> None:
    results, _ = await evaluate(started, m.Hangs(), m.Passing(), m.SyncPassing())
    assert results["hangs"].status is Status.FAIL
    assert results["passing"].status is Status.PASS
    assert results["passing"].observations["answer"].value == 42
    assert results["sync-passing"].status is Status.PASS


async def test_warning_and_reasoned_failure(started: list[Runner]) -> None:
    results, _ = await evaluate(started, m.Warns(), m.FailsWithReason())
    assert (results["warns"].status, results["warns"].reason) == (Status.WARN, "lagging")
    failed = results["fails-with-reason"]
    assert (failed.status, failed.reason) == (Status.FAIL, "drained")


async def test_per_check_timeout_tightens_the_deadline(started: list[Runner]) -> None:
    slow = m.Passing(delay=5)
    slow.timeout = 0.05
    results, elapsed = await evaluate(started, slow, deadline=1.0)
    assert results["passing"].reason == "timeout"
    assert "0.050" in (results["passing"].error or "")
    assert elapsed < 1.0


async def test_latency_budget_warns(started: list[Runner]) -> None:
    slow = m.Passing(delay=0.05)
    slow.latency_budget = 0.001
    results, _ = await evaluate(started, slow)
    assert (results["passing"].status, results["passing"].reason) == (Status.WARN, "slow")


async def test_a_hung_check_is_not_started_again_until_it_ends(started: list[Runner]) -> None:
    check = m.IgnoresCancellation()
    runner = make_runner([check])
    runner.start()
    started.append(runner)
    await runner.evaluate()
    second = await runner.evaluate()
    assert second.results[0].reason == "timeout"
    assert "previous run has not finished" in (second.results[0].error or "")
    tasks_on_checks_loop = asyncio.run_coroutine_threadsafe(
        _count_tasks(), runner.lane(check.check_name).loop
    ).result(timeout=5)
    assert tasks_on_checks_loop <= 2  # the one stuck run (+ the counting task itself)


async def _count_tasks() -> int:
    return len(asyncio.all_tasks())


async def test_concurrent_callers_share_one_evaluation(started: list[Runner]) -> None:
    m.Gated.runs = 0
    m.RELEASE.clear()
    runner = make_runner([m.Gated()], cache_ttl=30.0, deadline=5.0)
    runner.start()
    started.append(runner)
    callers = [asyncio.ensure_future(runner.evaluate()) for _ in range(50)]
    # Every caller has joined before the gated check may finish: none is done yet.
    done, _ = await asyncio.wait(callers, timeout=0.2)
    assert not done
    m.RELEASE.set()
    evaluations = await asyncio.gather(*callers)
    assert runner.evaluations == 1
    assert m.Gated.runs == 1
    assert len({id(e) for e in evaluations}) == 1


async def test_ttl_zero_evaluates_every_call(started: list[Runner]) -> None:
    m.Counting.runs = 0
    runner = make_runner([m.Counting()], cache_ttl=0.0)
    runner.start()
    started.append(runner)
    numbers = [(await runner.evaluate()).number for _ in range(10)]
    assert numbers == list(range(1, 11))
    assert m.Counting.runs == 10


async def test_cache_expires_by_the_clock(started: list[Runner]) -> None:
    now = [100.0]
    lock = threading.Lock()

    def clock() -> float:
        with lock:
            return now[0]

    runner = Runner([m.Passing()], deadline=DEADLINE, cache_ttl=1.0, clock=clock)
    runner.start()
    started.append(runner)
    first = await runner.evaluate()
    assert await runner.evaluate() is first
    with lock:
        now[0] += 1.5
    assert await runner.evaluate() is not first
    assert runner.evaluations == 2


class _FailsFirstRuns(Check):
    """Its first ``failing`` runs (samples) fail, the rest pass: a mixed set of samples."""

    name = "mixed"

    def __init__(self, failing: int) -> None:
        self.failing = failing
        self.runs = 0

    async def run(self) -> None:
        self.runs += 1
        if self.runs <= self.failing:
            raise ConnectionError("sample failed")


@pytest.mark.parametrize(
    ("failing", "status", "reason"),
    [
        pytest.param(0, Status.PASS, None, id="none-failed"),
        pytest.param(1, Status.WARN, "partial", id="a-minority-failed-warns"),
        pytest.param(2, Status.FAIL, "error", id="a-majority-failed-fails"),
        pytest.param(3, Status.FAIL, "error", id="all-failed"),
    ],
)
async def test_samples_are_recorded_and_majority_decides(
    started: list[Runner], failing: int, status: Status, reason: str | None
) -> None:
    check = _FailsFirstRuns(failing)
    check.samples = 3
    results, _ = await evaluate(started, check)
    assert check.runs == 3
    assert sorted(results["mixed"].samples) == sorted([False] * failing + [True] * (3 - failing))
    assert (results["mixed"].status, results["mixed"].reason) == (status, reason)


async def test_start_failure_is_a_failed_check_not_a_crash(started: list[Runner]) -> None:
    class BrokenStart(m.Passing):
        name = "broken-start"

        async def start(self) -> None:
            raise ConnectionError("no route")

    results, _ = await evaluate(started, BrokenStart(), m.Passing())
    assert results["broken-start"].reason == "start_failed"
    assert results["passing"].status is Status.PASS


async def test_a_blocked_loop_queues_no_more_runs_even_without_a_cache(
    started: list[Runner],
) -> None:
    gate = threading.Event()

    class BlocksLoopUntilReleased(Check):
        name = "blocks-until-released"

        async def run(self) -> None:
            gate.wait(timeout=10)  # blocks its loop: the misbehaviour under test

    runner = make_runner([BlocksLoopUntilReleased(), m.Passing()])  # cache_ttl 0
    runner.start()
    started.append(runner)
    answers = await asyncio.gather(*(runner.evaluate() for _ in range(20)))
    reasons = {a.results[0].reason for a in answers}
    # An evaluation begun before the block was seen reports the unfinished run as a timeout.
    assert "blocked_loop" in reasons
    assert reasons <= {"blocked_loop", "timeout"}
    assert {a.results[1].status for a in answers} == {Status.PASS}
    assert runner.lane("blocks-until-released").busy == 1  # the one blocked run, nothing queued
    gate.set()


async def test_late_callers_share_one_overdue_evaluation(started: list[Runner]) -> None:
    runner = make_runner([m.Passing()], cache_ttl=1.0)
    runner.start()
    started.append(runner)
    gate = threading.Event()
    supervisor = runner._loop
    assert supervisor is not None
    # Starve the runner's own supervisor (as a CPU-starved machine would): every caller is late.
    supervisor.call_soon_threadsafe(gate.wait, 10)
    try:
        answers = await asyncio.gather(*(runner.evaluate() for _ in range(3)))
    finally:
        gate.set()
    assert len({id(a) for a in answers}) == 1
    assert answers[0].results[0].reason == "timeout"
