"""What the runner says is no evidence against a dependency (:attr:`Evaluation.discounted`).

A check's first run since ``start()`` (it opens the clients), and a run whose timeout this
process woke too late to enforce (paused, or starved of CPU), say more about the instance than
about the dependency: the gray-failure window must not count them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator

import pytest

from checks import Check, Observations, Status
from service.running.runner import Runner
from support import misbehaving as m


@pytest.fixture
async def runners() -> AsyncIterator[list[Runner]]:
    made: list[Runner] = []
    yield made
    for runner in made:
        runner.close(timeout=1.0)


def started(made: list[Runner], *checks: Check, clock: object = time.monotonic) -> Runner:
    runner = Runner(checks, deadline=1.0, cache_ttl=0.0, clock=clock)  # type: ignore[arg-type]
    runner.start()
    made.append(runner)
    return runner


async def test_the_first_run_since_start_is_discounted_and_again_after_a_restart(
    runners: list[Runner],
) -> None:
    runner = started(runners, m.Passing(), m.Raises())
    first, second = await runner.evaluate(), await runner.evaluate()
    assert first.discounted == {"passing", "raises"}
    assert second.discounted == frozenset()
    runner.close(timeout=1.0)  # a SnapStart restore closes and starts again: new clients
    runner.start()
    assert (await runner.evaluate()).discounted == {"passing", "raises"}


class _Jump:
    """A monotonic clock that a check can push forward, as a paused process sees time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


class PausedWhileWaiting(Check):
    """Hangs past its timeout; while it waits, the process is 'paused' for a second."""

    name = "paused"
    timeout = 0.1

    def __init__(self, *, clock: _Jump, pause: bool) -> None:
        self.clock = clock
        self.pause = pause

    async def run(self) -> Observations:
        if self.pause:
            self.clock.offset += 1.0
        await asyncio.Event().wait()  # never answers: reported as a timeout
        return None


@pytest.mark.parametrize("pause", [True, False], ids=["paused", "on-time"])
async def test_a_timeout_the_process_woke_too_late_for_is_discounted(
    runners: list[Runner], pause: bool
) -> None:
    clock = _Jump()
    check = PausedWhileWaiting(clock=clock, pause=False)
    runner = started(runners, check, clock=clock)
    await runner.evaluate()  # the first run: discounted anyway
    check.pause = pause
    evaluation = await runner.evaluate()
    assert evaluation.results[0].status is Status.FAIL
    assert evaluation.results[0].reason == "timeout"
    assert (evaluation.discounted == {"paused"}) is pause


async def test_an_overdue_evaluation_is_discounted(runners: list[Runner]) -> None:
    runner = Runner([m.Passing()], deadline=0.2, cache_ttl=0.0)
    runner.start()
    runners.append(runner)
    await runner.evaluate()  # warm
    gate = threading.Event()
    supervisor = runner._loop
    assert supervisor is not None
    # Starve the runner's own supervisor (as a CPU-starved machine would): the caller answers.
    supervisor.call_soon_threadsafe(gate.wait, 10)
    try:
        late = await runner.evaluate()
    finally:
        gate.set()
    assert late.number == -1
    assert late.results[0].reason == "timeout"
    assert late.discounted == {"passing"}
