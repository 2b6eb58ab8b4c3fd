"""Checks whose outcome a test scripts, and helpers to drive the background loop by hand."""

from __future__ import annotations

import asyncio
from collections import Counter

from checks import Check, CheckFailed, CheckWarning, Observations

SECRET = "AKIAOBSERVEDSECRET0123"
OUTCOMES: dict[str, str] = {}
"""key → ``pass``, ``warn``, or any other string: fail with that reason code."""
RUNS: Counter[str] = Counter()
"""key → how many times a :class:`Scripted` check with that key ran."""


class Scripted(Check):
    """Passes, warns or fails as ``OUTCOMES[key]`` says, counting its runs in ``RUNS[key]``."""

    name = "scripted"

    def __init__(self, *, key: str) -> None:
        self.key = key

    async def run(self) -> Observations:
        RUNS[self.key] += 1
        outcome = OUTCOMES.get(self.key, "pass")
        if outcome == "pass":
            return {"runs": RUNS[self.key]}
        if outcome == "warn":
            raise CheckWarning("scripted warning", reason="lagging")
        raise CheckFailed(f"scripted failure {SECRET}", reason=outcome)


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Ticker:
    """The background loop's ``sleep``, driven by hand: it returns only when the test ticks."""

    def __init__(self) -> None:
        self.sleeps = 0
        self._wake = asyncio.Semaphore(0)
        self._slept = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self._slept.set()
        await self._wake.acquire()

    async def idle(self, sleeps: int) -> None:
        """Return once the loop has gone to sleep ``sleeps`` times in all."""

        async def wait() -> None:
            while self.sleeps < sleeps:
                self._slept.clear()
                await self._slept.wait()

        await asyncio.wait_for(wait(), timeout=10)

    async def tick(self) -> None:
        """Let the loop run one more evaluation; return when it is asleep again."""
        target = self.sleeps + 1
        self._wake.release()
        await self.idle(target)
