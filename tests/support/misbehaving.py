"""Checks that misbehave in every way the runner must survive."""

from __future__ import annotations

import asyncio
import threading
import time

from checks import Check, CheckFailed, CheckWarning, Observations

FAKE_SECRET = "AKIAFAKESECRET0123456789"
RELEASE = threading.Event()


class Passing(Check):
    name = "passing"

    def __init__(self, *, delay: float = 0.0) -> None:
        self.delay = delay

    async def run(self) -> Observations:
        if self.delay:
            await asyncio.sleep(self.delay)
        return {"answer": 42}


class SyncPassing(Check):
    name = "sync-passing"

    def run(self) -> Observations:
        return None


class Hangs(Check):
    name = "hangs"

    async def run(self) -> Observations:
        await asyncio.Event().wait()
        return None


class BlocksLoop(Check):
    """Blocks its event loop: ``time.sleep`` inside ``async def``."""

    name = "blocks-loop"

    def __init__(self, *, seconds: float = 3.0) -> None:
        self.seconds = seconds

    async def run(self) -> Observations:
        time.sleep(self.seconds)  # the misbehaviour under test
        return None


class BlocksThread(Check):
    """A plain ``def run`` that blocks its worker thread."""

    name = "blocks-thread"

    def __init__(self, *, seconds: float = 3.0) -> None:
        self.seconds = seconds

    def run(self) -> Observations:
        time.sleep(self.seconds)
        return None


class IgnoresCancellation(Check):
    name = "ignores-cancellation"

    async def run(self) -> Observations:
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                continue


class Raises(Check):
    name = "raises"

    async def run(self) -> Observations:
        raise RuntimeError(f"connection failed with key {FAKE_SECRET}")


class CustomBaseError(BaseException):
    pass


class RaisesBase(Check):
    name = "raises-base"

    async def run(self) -> Observations:
        raise CustomBaseError("not an Exception")


class RaisesSystemExit(Check):
    name = "raises-system-exit"

    async def run(self) -> Observations:
        raise SystemExit(3)


class CancelsItself(Check):
    name = "cancels-itself"

    async def run(self) -> Observations:
        raise asyncio.CancelledError


class Warns(Check):
    name = "warns"

    async def run(self) -> Observations:
        raise CheckWarning("slow replica", reason="lagging")


class FailsWithReason(Check):
    name = "fails-with-reason"

    async def run(self) -> Observations:
        raise CheckFailed("drained by operator", reason="drained")


class Counting(Check):
    """Counts starts and runs across instances (class-level), for once-per-process tests."""

    name = "counting"
    starts = 0
    runs = 0

    async def start(self) -> None:
        type(self).starts += 1

    async def run(self) -> Observations:
        type(self).runs += 1
        return {"runs": type(self).runs}


class Gated(Check):
    """Waits until the test sets ``RELEASE`` (in a thread, so the gate is thread-safe)."""

    name = "gated"
    runs = 0
    timeout = 10.0

    def run(self) -> Observations:
        type(self).runs += 1
        RELEASE.wait(timeout=10)
        return None


class Flaky(Check):
    """Passes, warns, fails, raises or hangs at random (seeded), for soak tests."""

    name = "flaky"
    timeout = 0.05

    def __init__(self, *, seed: int = 0) -> None:
        import random

        self.random = random.Random(seed)

    async def run(self) -> Observations:
        roll = self.random.random()
        if roll < 0.2:
            raise RuntimeError(f"flaky failure {FAKE_SECRET}")
        if roll < 0.3:
            raise CheckWarning("flaky warning")
        if roll < 0.35:
            await asyncio.sleep(1)  # exceeds the timeout: cancelled
        return {"roll": round(roll, 3)}


class FailsWithLongHint(Check):
    """Fails with an error whose end (the hint) a truncating table would cut off."""

    name = "long-hint"

    async def run(self) -> Observations:
        raise CheckFailed(
            "the probe's event loop was blocked for 2.0 s by a synchronous call in an async "
            "check; " * 3 + "HINT-AT-THE-END: run blocking calls in a plain def run() or a thread",
            reason="blocked",
        )


class CancelsOwnTask(Check):
    """A home-made timeout: cancels its own task, then awaits."""

    name = "cancels-own-task"

    async def run(self) -> Observations:
        task = asyncio.current_task()
        assert task is not None
        task.cancel()
        await asyncio.sleep(0)
        return None


class _Unprintable(Exception):
    def __str__(self) -> str:
        raise RuntimeError("__str__ raised")


class RaisesUnprintable(Check):
    """Raises an exception whose ``__str__`` raises."""

    name = "raises-unprintable"

    async def run(self) -> Observations:
        raise _Unprintable()


class FailsWithBadObservations(Check):
    """``CheckFailed(observations=[...])``: a list, not a mapping."""

    name = "bad-observations"

    async def run(self) -> Observations:
        raise CheckFailed("broken", observations=[1, 2, 3])  # type: ignore[arg-type]


class OddObservations(Check):
    """Observations JSON cannot hold as they are: NaN, infinity, an arbitrary object."""

    name = "odd-observations"

    async def run(self) -> Observations:
        return {"nan": float("nan"), "inf": float("-inf"), "thing": object()}  # type: ignore[dict-item]


class StartRaises(Check):
    """``start()`` raises the given kind: CancelledError, SystemExit, KeyboardInterrupt, ..."""

    name = "start-raises"

    def __init__(self, *, kind: str = "SystemExit") -> None:
        self.kind = kind

    async def start(self) -> None:
        if self.kind == "CancelledError":
            raise asyncio.CancelledError
        if self.kind == "SystemExit":
            raise SystemExit(3)
        if self.kind == "KeyboardInterrupt":
            raise KeyboardInterrupt
        raise ConnectionError(f"postgres://admin:{FAKE_SECRET}@db:5432/app")

    async def run(self) -> Observations:
        return None


class StopRaises(Check):
    """``stop()`` raises SystemExit; ``run`` passes."""

    name = "stop-raises"

    async def stop(self) -> None:
        raise SystemExit(4)

    async def run(self) -> Observations:
        return None


class HangsInThread(Check):
    """A plain ``def`` whose dependency hangs (until ``HANG`` is set, or a day)."""

    name = "hangs-in-thread"

    def run(self) -> Observations:
        HANG.wait(timeout=86400)
        return None


class HangsInToThread(Check):
    """``async def`` calling a hung blocking function through ``asyncio.to_thread``."""

    name = "hangs-in-to-thread"

    async def run(self) -> Observations:
        await asyncio.to_thread(HANG.wait, 86400)
        return None


class SyncCounting(Check):
    """A healthy plain ``def``."""

    name = "sync-counting"

    def run(self) -> Observations:
        return {"ok": True}


class UsesToThread(Check):
    """A healthy ``async def`` that uses ``asyncio.to_thread``."""

    name = "uses-to-thread"

    async def run(self) -> Observations:
        return {"ok": await asyncio.to_thread(lambda: True)}


HANG = threading.Event()
"""Set to release every ``HangsInThread``/``HangsInToThread`` (tests leave it clear)."""


class SlowStart(Check):
    """``start()`` takes ``start_delay`` seconds (a slow client set-up); ``run`` takes ``delay``."""

    name = "slow-start"

    def __init__(self, *, start_delay: float = 1.0, delay: float = 0.0) -> None:
        self.start_delay = start_delay
        self.delay = delay

    async def start(self) -> None:
        await asyncio.sleep(self.start_delay)

    async def run(self) -> Observations:
        await asyncio.sleep(self.delay)
        return None
