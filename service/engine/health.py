"""The engine's one entry point: checks → runner → policy → a :class:`Report`.

The FastAPI app, the Lambda handler and the CLI all call :meth:`HealthService.report` and only
map its verdict to their transport.

Two evaluation modes (``Settings.mode``):

- ``on-request``: a request evaluates, sharing one in-flight evaluation and reusing a finished
  one for ``cache_ttl`` (Lambda, where nothing runs between invocations);
- ``background``: a loop (:mod:`service.running.background`) evaluates every ``interval``; a request
  answers the latest result at once, and a result older than ``max_age`` fails with reason
  ``stale``.

Listeners (:meth:`HealthService.add_listener`) are called once per new evaluation's report, and
once when the watchdog declares the latest result stale; each call says whether the region's
status changed (a :class:`Transition`). Metrics, EMF and logs are listeners.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from checks.result import Status
from service.config import DEFAULT_MODE, Config, Mode
from service.engine.report import Listener, Report, Transition
from service.running.background import Background
from service.running.runner import Evaluation, Runner
from service.state import StateStore
from service.state.fleet import FleetState
from service.state.switches import Switches
from service.state.tracking import FleetTracker
from service.verdict.policy import PolicySettings, Verdict, decide

__all__ = [
    "MIN_DEADLINE",
    "STALE",
    "STARTING",
    "HealthService",
    "Listener",
    "Report",
    "Transition",
]

MIN_DEADLINE = 0.1
"""The shortest deadline a cold start may shrink an evaluation to, in seconds."""
STALE = "stale"
"""The reason a watchdog verdict starts with."""
STARTING = "starting"
"""The reason a background-mode verdict starts with before the first evaluation finished."""
# How long past the deadline start-up waits for the background loop's first report (the loop's
# first evaluation also starts the checks' clients). Requests never wait: they answer starting.
_FIRST_REPORT_GRACE = 0.5
_NOTHING = object()

logger = logging.getLogger("deep_health.health")


class HealthService:
    """Owns the runner for one configuration and turns evaluations into reports.

    Args:
        config: a validated configuration.
        store: the region's shared failover state, built by :func:`service.compose.compose`
            from :mod:`service.state.registry`; ``None``: this process's memory only.
        mode: the evaluation mode; ``None``: ``config.settings.mode``, else
            :data:`~service.config.DEFAULT_MODE`.
        clock: monotonic clock for the watchdog (tests inject one).
        wall_clock: epoch clock of the failover state, the same across a fleet (tests inject
            one).
        sleep: how the background loop waits ``interval`` (tests inject one).
    """

    def __init__(
        self,
        config: Config,
        *,
        store: StateStore | None = None,
        mode: Mode | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.settings = config.settings
        self.mode: Mode = mode or self.settings.mode or DEFAULT_MODE
        background = self.mode == "background"
        self.runner = Runner(
            config.checks,
            deadline=self.settings.deadline,
            # Background: requests never reach the runner, so no cache (single-flight always
            # holds, so a blocked checks' loop never queues more than one evaluation).
            cache_ttl=0.0 if background else self.settings.cache_ttl,
        )
        self._policy = PolicySettings(
            max_noncritical_failures=self.settings.max_noncritical_failures,
            latency_budget=self.settings.latency_budget,
        )
        failover = config.failover
        switches = Switches(drain_file=failover.drain_file, hold_file=failover.hold_file)
        self.fleet = FleetState(store, window=failover.window, timeout=config.state.timeout)
        """The failover state: the fleet's store (if configured) and the local fallback."""
        self._tracker = FleetTracker(
            self.fleet,
            failover.tracker_settings() if failover.enabled else None,
            switches,
            clock=wall_clock,
        )
        self._wall_clock = wall_clock
        self._judging: tuple[Evaluation, asyncio.Future[Report]] | None = None
        self._last: Report | None = None
        self._declared_stale: object = _NOTHING
        self._state = "unknown"
        self._listeners: list[Listener] = []
        self._deadline_debt = 0.0
        self._booting: asyncio.Future[None] | None = None
        self.background: Background[Report] | None = (
            Background(
                self._refresh,
                interval=self.settings.interval,
                max_age=self.settings.effective_max_age,
                clock=clock,
                sleep=sleep,
                watch=self.current,
            )
            if background
            else None
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """Start the checks (create their clients). Idempotent.

        In background mode the loop needs an event loop: :meth:`astart` (or the first report)
        starts it.
        """
        self.runner.start()

    def close(self) -> None:
        """Stop the checks."""
        self.runner.close()

    async def astart(self) -> None:
        """Start the checks, and in background mode the loop, waiting for its first result."""
        await asyncio.to_thread(self.start)
        await self.fleet.start(self._wall_clock())
        if self.background is not None:
            self.background.start()
            await self.background.first(self.settings.deadline + _FIRST_REPORT_GRACE)

    async def aclose(self) -> None:
        """Stop the loop and the checks without blocking the caller's event loop."""
        if self.background is not None:
            await self.background.stop()
        await self.fleet.close()
        await asyncio.to_thread(self.close)

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[HealthService]:
        """Start on entry, stop on exit; for a host application's lifespan.

        On Lambda the service outlives the lifespan: an ASGI adapter there (such as Mangum, for
        a host application served on Lambda) runs lifespan shutdown after every invocation, and
        clients must survive warm invocations. deep-health's own handler
        (:mod:`service.faces.lambda_handler`) uses no lifespan.
        """
        await self.astart()
        try:
            yield self
        finally:
            if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
                await self.aclose()

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener`` with every new report (see :data:`Listener`)."""
        self._listeners.append(listener)

    def charge_deadline(self, seconds: float) -> None:
        """Shorten the next evaluation's deadline by ``seconds`` (time a cold start used)."""
        self._deadline_debt = max(0.0, seconds)

    # -- reports ---------------------------------------------------------------------------

    async def report(self) -> Report:
        """The report to answer with now.

        On-request: evaluate (or reuse a fresh evaluation) and decide. Background: the latest
        report at once, a ``starting`` failure (503) at once before the first evaluation has
        finished, or a ``stale`` failure when the latest is older than ``max_age``. Called
        without :meth:`astart`, the first evaluation starts the checks and reads the state
        store first.
        """
        if self.background is None:
            return await self._refresh()
        background = self.background
        if not background.started:
            background.start()
        return self._watchdog(background)

    def current(self) -> Report | None:
        """The latest report without evaluating, after the watchdog's judgement.

        ``None`` only in on-request mode before the first evaluation.
        """
        if self.background is None:
            return self._last
        return self._watchdog(self.background)

    def _watchdog(self, background: Background[Report]) -> Report:
        latest, age = background.latest, background.age()
        if latest is not None and age is not None and age <= background.max_age:
            return latest
        return self._stale(background, latest, age)

    async def _refresh(self) -> Report:
        if not self.runner.started:
            # report() without astart(): start what an evaluation needs (once) instead of
            # failing every interval with "Runner.start() was not called".
            if self._booting is None:
                self._booting = asyncio.ensure_future(self._boot())
            await asyncio.shield(self._booting)
        deadline = None
        if self._deadline_debt:
            deadline = max(MIN_DEADLINE, self.settings.deadline - self._deadline_debt)
            self._deadline_debt = 0.0
        evaluation = await self.runner.evaluate(deadline=deadline)
        last = self._last
        if last is not None and last.evaluation is evaluation:
            return last
        judging = self._judging
        if judging is None or judging[0] is not evaluation:
            # One tracking step per evaluation, however many requests share it: the step
            # awaits the state store, and a second step would count the samples twice.
            budget = (deadline or self.settings.deadline) - evaluation.duration
            judging = (evaluation, asyncio.ensure_future(self._judge(evaluation, budget)))
            self._judging = judging
        return await asyncio.shield(judging[1])

    async def _boot(self) -> None:
        await asyncio.to_thread(self.start)
        await self.fleet.start(self._wall_clock())  # the fleet's switches before an answer

    async def _judge(self, evaluation: Evaluation, budget: float) -> Report:
        instant = decide(evaluation.results, evaluation.duration, self._policy)
        began = time.perf_counter()  # real time, whatever clock the watchdog is given
        verdict = await self._tracker.track(
            instant, evaluation.results, budget, discounted=evaluation.discounted
        )
        report = Report(
            evaluation=evaluation,
            verdict=verdict,
            settings=self.settings,
            state_duration=time.perf_counter() - began,
        )
        self._publish(report)
        return report

    def _stale(
        self, background: Background[Report], latest: Report | None, age: float | None
    ) -> Report:
        max_age = self.settings.effective_max_age
        uptime = background.uptime()
        if latest is None:
            evaluation = Evaluation(number=0, results=(), duration=0.0, time=time.time())
            if background.running and uptime is not None:
                if uptime <= max_age:
                    reason = f"{STARTING}: the first evaluation has not finished yet"
                else:
                    reason = f"{STALE}: no evaluation after {uptime:.1f}s (max age {max_age:g}s)"
            else:
                reason = f"{STALE}: no evaluation yet (the background loop is not running)"
        else:
            evaluation = latest.evaluation
            reason = f"{STALE}: the latest evaluation is {age:.1f}s old (max age {max_age:g}s)"
        verdict = Verdict(Status.FAIL, (reason,))
        report = Report(evaluation=evaluation, verdict=verdict, settings=self.settings, stale=True)
        if self._declared_stale is not latest:  # publish once per stale evaluation
            self._declared_stale = latest
            self._publish(report)
        return report

    def _publish(self, report: Report) -> None:
        if not report.stale:
            self._last = report
            self._declared_stale = _NOTHING
        after = report.verdict.status.value
        transition = None if after == self._state else Transition(self._state, after)
        self._state = after
        for listener in self._listeners:
            try:
                listener(report, transition)
            except BaseException as exc:  # SystemExit, CancelledError...: never the caller's
                logger.error("listener %r failed: %s", listener, type(exc).__name__)
