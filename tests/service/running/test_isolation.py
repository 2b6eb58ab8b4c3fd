"""Bulkheads: whatever one check does, the others keep their real results.

Each test puts a misbehaving check beside healthy ones and evaluates several times: the healthy
checks pass every time, the culprit fails with a reason naming what it did, and nothing raises
to the caller. No timing is asserted: a deadline that is missed shows as a healthy check's
``timeout``, which these tests would catch.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest

from checks import Check, Status
from checks.result import CheckResult
from service.config import parse_config
from service.engine.health import HealthService
from service.running.runner import Runner
from support import misbehaving as m

DEADLINE = 1.0


@pytest.fixture
async def runners() -> AsyncIterator[list[Runner]]:
    made: list[Runner] = []
    yield made
    for runner in made:
        await asyncio.to_thread(runner.close, 1.0)


async def start(made: list[Runner], checks: Sequence[Check], **kwargs: float) -> Runner:
    runner = Runner(checks, deadline=DEADLINE, cache_ttl=0.0, **kwargs)  # type: ignore[arg-type]
    await asyncio.to_thread(runner.start)
    made.append(runner)
    return runner


async def results(runner: Runner) -> dict[str, CheckResult]:
    return {r.name: r for r in (await runner.evaluate()).results}


def healthy() -> list[Check]:
    return [m.Passing(), m.SyncCounting(), m.UsesToThread()]


def assert_healthy_pass(found: dict[str, CheckResult]) -> None:
    for name in ("passing", "sync-counting", "uses-to-thread"):
        assert found[name].status is Status.PASS, (name, found[name])


async def test_a_check_blocking_its_loop_is_named_and_blocks_no_other(
    runners: list[Runner],
) -> None:
    runner = await start(runners, [m.BlocksLoop(seconds=2.5), *healthy()])
    for _ in range(3):  # the first run blocks; later evaluations find it still blocking
        found = await results(runner)
        assert_healthy_pass(found)
        culprit = found["blocks-loop"]
        assert (culprit.status, culprit.reason) == (Status.FAIL, "blocked_loop")
        assert "blocked its event loop for" in (culprit.error or "")


@pytest.mark.parametrize(
    ("culprit", "text"),
    [
        (m.CancelsItself(), "CancelledError"),
        (m.CancelsOwnTask(), "cancelled itself"),
        (m.RaisesUnprintable(), "unprintable _Unprintable"),
        (m.FailsWithBadObservations(), "observations were dropped"),
        (m.RaisesSystemExit(), "SystemExit"),
        (m.RaisesBase(), "CustomBaseError"),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Check) else "",
)
async def test_a_check_raising_anything_fails_alone(
    runners: list[Runner], culprit: Check, text: str
) -> None:
    runner = await start(runners, [culprit, *healthy()])
    for _ in range(3):
        found = await results(runner)
        assert_healthy_pass(found)
        result = found[culprit.check_name]
        assert (result.status, result.reason) == (Status.FAIL, "error")
        assert text in (result.error or "")


@pytest.mark.parametrize("kind", ["CancelledError", "SystemExit", "KeyboardInterrupt", "other"])
async def test_start_raising_anything_fails_that_check_only(
    runners: list[Runner], kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    runner = await start(runners, [m.StartRaises(kind=kind), *healthy()])
    for _ in range(2):
        found = await results(runner)
        assert_healthy_pass(found)
        assert found["start-raises"].reason == "start_failed"
    # The text (here a DSN with a password) is behind the details token, never in the logs.
    assert m.FAKE_SECRET in (found["start-raises"].error or "") or kind != "other"
    assert m.FAKE_SECRET not in caplog.text
    warnings = [r for r in caplog.records if "did not start" in r.getMessage()]
    assert len(warnings) == 1  # once, not on every retry


async def test_stop_raising_system_exit_does_not_escape_close() -> None:
    runner = Runner([m.StopRaises(), m.Passing()], deadline=DEADLINE)
    await asyncio.to_thread(runner.start)
    assert (await results(runner))["stop-raises"].status is Status.PASS
    await asyncio.to_thread(runner.close, 1.0)  # raises nothing


async def test_a_hung_def_check_holds_one_thread_and_starves_no_other(
    runners: list[Runner],
) -> None:
    runner = await start(runners, [m.HangsInThread(), *healthy()])
    for _ in range(12):  # more evaluations than any pool has threads
        found = await results(runner)
        assert_healthy_pass(found)
        culprit = found["hangs-in-thread"]
        assert (culprit.status, culprit.reason) == (Status.FAIL, "timeout")
        assert "thread" in (culprit.error or "")
    assert runner.lane("hangs-in-thread").threads_busy == 1  # never started again


async def test_a_hung_to_thread_call_exhausts_only_its_own_threads(
    runners: list[Runner],
) -> None:
    runner = await start(runners, [m.HangsInToThread(), *healthy()])
    reasons = set()
    for _ in range(12):
        found = await results(runner)
        assert_healthy_pass(found)
        assert found["hangs-in-to-thread"].status is Status.FAIL
        reasons.add(found["hangs-in-to-thread"].reason)
    lane = runner.lane("hangs-in-to-thread")
    assert "threads_exhausted" in reasons
    assert lane.threads_busy <= lane.executor.limit


async def test_ignoring_cancellation_costs_one_task(runners: list[Runner]) -> None:
    runner = await start(runners, [m.IgnoresCancellation(), *healthy()])
    for _ in range(5):
        found = await results(runner)
        assert_healthy_pass(found)
        assert found["ignores-cancellation"].reason == "timeout"
    assert runner.lane("ignores-cancellation").busy == 1


async def test_odd_observations_are_kept_as_json_values(runners: list[Runner]) -> None:
    runner = await start(runners, [m.OddObservations()])
    found = await results(runner)
    observations = found["odd-observations"].observations
    assert observations["nan"].value == "nan"
    assert observations["inf"].value == "-inf"
    assert isinstance(observations["thing"].value, str)


CULPRITS = {
    "blocks-loop": 'type = "support.misbehaving:BlocksLoop"\nseconds = 2.5',
    "cancels-own-task": 'type = "support.misbehaving:CancelsOwnTask"',
    "raises-unprintable": 'type = "support.misbehaving:RaisesUnprintable"',
    "bad-observations": 'type = "support.misbehaving:FailsWithBadObservations"',
    "start-raises": 'type = "support.misbehaving:StartRaises"\nkind = "CancelledError"',
    "hangs-in-thread": 'type = "support.misbehaving:HangsInThread"',
}


@pytest.mark.parametrize("culprit", sorted(CULPRITS))
async def test_a_non_critical_culprit_only_warns(culprit: str) -> None:
    config = parse_config(
        f"[service]\ndeadline = {DEADLINE}\ncache_ttl = 0\n[failover]\nenabled = false\n"
        '[[checks]]\ntype = "support.misbehaving:Passing"\n'
        '[[checks]]\ntype = "support.misbehaving:SyncCounting"\n'
        f"[[checks]]\n{CULPRITS[culprit]}\ncritical = false\n"
    )
    service = HealthService(config)
    await service.astart()
    try:
        for _ in range(3):
            report = await service.report()
            found = {r.name: r for r in report.evaluation.results}
            assert found["passing"].status is Status.PASS
            assert found["sync-counting"].status is Status.PASS
            assert found[culprit].status is Status.FAIL
            assert report.verdict.status is Status.WARN
    finally:
        await service.aclose()


@pytest.mark.parametrize(
    "kind", [SystemExit, KeyboardInterrupt, asyncio.CancelledError, ValueError]
)
async def test_a_listener_raising_anything_never_reaches_the_caller(
    kind: type[BaseException],
) -> None:
    config = parse_config(
        f"[service]\ndeadline = {DEADLINE}\ncache_ttl = 0\n"
        '[[checks]]\ntype = "support.misbehaving:Passing"\n'
    )
    service = HealthService(config, mode="on-request")
    calls = 0

    def listener(*_: object) -> None:
        nonlocal calls
        calls += 1
        raise kind()

    service.add_listener(listener)
    await service.astart()
    try:
        for _ in range(2):
            assert (await service.report()).verdict.status is Status.PASS
    finally:
        await service.aclose()
    assert calls == 2
