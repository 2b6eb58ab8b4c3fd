"""Single-flight holds at any cache setting: concurrent callers share the evaluation in flight,
even with ``cache_ttl = 0`` (a cache decides what later callers reuse, not what concurrent
ones share)."""

from __future__ import annotations

import asyncio
import threading

from checks import Check, Observations
from service.running.runner import Runner


class Entered(Check):
    """A plain ``def run`` that says when it has begun and waits for the test's release."""

    name = "entered"
    timeout = 10.0

    def __init__(self) -> None:
        self.runs = 0
        self.began = threading.Event()
        self.release = threading.Event()

    def run(self) -> Observations:
        self.runs += 1
        self.began.set()
        self.release.wait(timeout=10)
        return None


async def test_fifty_concurrent_calls_share_one_evaluation_without_a_cache() -> None:
    check = Entered()
    runner = Runner([check], deadline=5.0, cache_ttl=0.0)
    runner.start()
    try:
        first = asyncio.ensure_future(runner.evaluate())
        # The checks' loop has begun this evaluation: the others arrive while it is in flight.
        assert await asyncio.to_thread(check.began.wait, 10)
        others = [asyncio.ensure_future(runner.evaluate()) for _ in range(49)]
        await asyncio.sleep(0)  # one pass of the loop: every caller has joined or started one
        check.release.set()
        evaluations = await asyncio.gather(first, *others)
    finally:
        check.release.set()
        runner.close()
    assert runner.evaluations == 1
    assert check.runs == 1
    assert {e.number for e in evaluations} == {1}
