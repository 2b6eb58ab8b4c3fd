"""Background evaluation: a loop evaluates every ``interval``; requests read its latest result.

The loop runs as a task on the serving event loop (the checks themselves run in their own
lanes, see :mod:`service.running.bulkhead`). Nothing a refresh raises stops it — any exception,
``CancelledError`` that is not the loop's own stop included — and should the task die anyway,
it is logged and restarted after ``interval`` (``restarts`` counts it). The watchdog is the
reader's side:
:meth:`Background.age` says how old the latest result is, and the health service fails a
result older than ``max_age`` with reason ``stale``, so a loop that died or hangs can never
keep reporting healthy. Readers judge on every request; a second task, independent of the
loop, also calls ``watch`` every few seconds, so metrics and logs learn of a stale result even
when nothing reads ``/health`` (a Prometheus server on a port of its own never does).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

__all__ = ["Background"]

logger = logging.getLogger("deep_health.background")

T = TypeVar("T")
"""What a refresh produces (the health service's report)."""

_MIN_WATCH_PERIOD = 0.5
_MAX_WATCH_PERIOD = 5.0
_MAX_RESTART_DELAY = 5.0  # real seconds before a dead loop is restarted


class Background(Generic[T]):
    """Runs ``refresh`` now and then every ``interval`` seconds, and remembers its last result.

    Args:
        refresh: evaluates and returns a new result (e.g. a report).
        interval: seconds between the end of one refresh and the start of the next.
        max_age: seconds after which the latest result is stale (read by the health service).
        clock: monotonic clock, for the result's age.
        sleep: how the loop waits ``interval`` (tests inject one to drive the loop by hand).
        watch: called every :attr:`watch_period` seconds (real time) while the loop runs; the
            health service's staleness judgement.
    """

    def __init__(
        self,
        refresh: Callable[[], Awaitable[T]],
        *,
        interval: float,
        max_age: float,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        watch: Callable[[], object] | None = None,
    ) -> None:
        self.interval = interval
        self.max_age = max_age
        # Often enough to declare a stale result within a quarter of max_age of its going stale.
        self.watch_period = min(max(max_age / 4, _MIN_WATCH_PERIOD), _MAX_WATCH_PERIOD)
        self._watch = watch
        self._watchdog: asyncio.Task[None] | None = None
        self._refresh = refresh
        self._clock = clock
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None
        self._first: asyncio.Event | None = None
        self._latest: T | None = None
        self._updated: float | None = None
        self._since: float | None = None
        self._stopping = False
        self.restarts = 0
        """Times the loop's task died unexpectedly and was started again."""

    @property
    def started(self) -> bool:
        return self._task is not None

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The loop's task, once started."""
        return self._task

    @property
    def running(self) -> bool:
        """The loop's task exists and has not ended (it may still be stuck)."""
        return self._task is not None and not self._task.done()

    @property
    def latest(self) -> T | None:
        """The latest report the loop produced, however old."""
        return self._latest

    def age(self) -> float | None:
        """Seconds since the latest report arrived; ``None`` before the first."""
        return None if self._updated is None else self._clock() - self._updated

    def uptime(self) -> float | None:
        """Seconds since :meth:`start`; ``None`` before it."""
        return None if self._since is None else self._clock() - self._since

    def start(self) -> None:
        """Start the loop on the running event loop. Idempotent."""
        if self._task is not None:
            return
        self._first = asyncio.Event()
        self._since = self._clock()
        self._stopping = False
        loop = asyncio.get_running_loop()
        self._spawn(loop)
        if self._watch is not None:
            self._watchdog = loop.create_task(self._guard(self._watch), name="deep-health-watch")

    async def first(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for the first report (returns early if there is one)."""
        if self._first is None or self._latest is not None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._first.wait(), timeout)

    def _spawn(self, loop: asyncio.AbstractEventLoop) -> None:
        self._task = loop.create_task(self._run(), name="deep-health-loop")
        self._task.add_done_callback(self._ended)

    async def stop(self) -> None:
        """Cancel the loop and the watchdog and wait for them to end. Idempotent."""
        self._stopping = True
        tasks = [t for t in (self._task, self._watchdog) if t is not None and not t.done()]
        self._task = self._watchdog = None
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        while True:
            try:
                report = await self._refresh()
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if self._stopping or (task is not None and task.cancelling()):
                    raise  # our own stop
                logger.error("background evaluation was cancelled from within; continuing")
            except Exception:
                logger.exception("background evaluation failed")
            else:
                self._latest, self._updated = report, self._clock()
                if self._first is not None:
                    self._first.set()
            await self._sleep(self.interval)

    async def _guard(self, watch: Callable[[], object]) -> None:
        while True:
            await asyncio.sleep(self.watch_period)
            try:
                watch()
            except Exception:
                logger.exception("the watchdog failed")

    def _ended(self, task: asyncio.Task[None]) -> None:
        if self._stopping or task is not self._task:
            return
        if task.cancelled():
            logger.error("the background evaluation loop was cancelled; restarting it")
        else:
            exc = task.exception()  # retrieved here, so it is never "never retrieved"
            logger.error(
                "the background evaluation loop died (%s); restarting it",
                type(exc).__name__ if exc is not None else "returned",
            )
        delay = min(max(self.interval, 0.0), _MAX_RESTART_DELAY)
        task.get_loop().call_later(delay, self._restart, task)

    def _restart(self, dead: asyncio.Task[None]) -> None:
        if self._stopping or self._task is not dead:
            return  # stopped, or restarted already
        self.restarts += 1
        self._spawn(dead.get_loop())
