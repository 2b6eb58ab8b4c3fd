"""The engine's one entry point: checks → runner → policy → a :class:`Report`.

The FastAPI app, the Lambda handler and the CLI all call :meth:`HealthService.report` and only
map its verdict to their transport.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from service.config import Config, Settings
from service.policy import PolicySettings, Verdict, decide
from service.runner import Evaluation, Runner

__all__ = ["MIN_DEADLINE", "HealthService", "Report"]

MIN_DEADLINE = 0.1
"""The shortest deadline a cold start may shrink an evaluation to, in seconds."""


@dataclass(frozen=True, slots=True)
class Report:
    """An evaluation and the verdict on it."""

    evaluation: Evaluation
    verdict: Verdict
    settings: Settings


class HealthService:
    """Owns the runner for one configuration and turns evaluations into reports.

    Args:
        config: a validated configuration.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.settings = config.settings
        self.runner = Runner(
            config.checks, deadline=self.settings.deadline, cache_ttl=self.settings.cache_ttl
        )
        self._policy = PolicySettings(
            max_noncritical_failures=self.settings.max_noncritical_failures,
            latency_budget=self.settings.latency_budget,
        )
        self._last: Report | None = None
        self._deadline_debt = 0.0

    def start(self) -> None:
        """Start the checks (create their clients). Idempotent."""
        self.runner.start()

    def close(self) -> None:
        """Stop the checks."""
        self.runner.close()

    async def astart(self) -> None:
        """:meth:`start` without blocking the caller's event loop."""
        await asyncio.to_thread(self.start)

    async def aclose(self) -> None:
        """:meth:`close` without blocking the caller's event loop."""
        await asyncio.to_thread(self.close)

    @asynccontextmanager
    async def lifespan(self) -> AsyncIterator[HealthService]:
        """Start on entry, stop on exit; for a host application's lifespan.

        On Lambda the service outlives the lifespan: Mangum runs lifespan shutdown after every
        invocation, and clients must survive warm invocations.
        """
        await self.astart()
        try:
            yield self
        finally:
            if not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
                await self.aclose()

    def charge_deadline(self, seconds: float) -> None:
        """Shorten the next evaluation's deadline by ``seconds`` (time a cold start used)."""
        self._deadline_debt = max(0.0, seconds)

    async def report(self) -> Report:
        """Evaluate (or reuse a fresh evaluation) and decide."""
        deadline = None
        if self._deadline_debt:
            deadline = max(MIN_DEADLINE, self.settings.deadline - self._deadline_debt)
            self._deadline_debt = 0.0
        evaluation = await self.runner.evaluate(deadline=deadline)
        last = self._last
        if last is not None and last.evaluation is evaluation:
            return last
        verdict = decide(evaluation.results, evaluation.duration, self._policy)
        report = Report(evaluation=evaluation, verdict=verdict, settings=self.settings)
        self._last = report
        return report
