"""Route 53 over the twin: the project's real-time checker model polling both regions.

The rules are :mod:`service.simulation.route53`'s (checkers, 18 % rule, failure threshold both
ways, the failover record's answer), driven by :func:`service.simulation.realtime.watch`
against each region's stand-in URL; this module only runs it in a thread of its own while a
drill changes the world, and scales its interval. The checker count, interval and threshold
come from the stack's parameters (``HealthCheckInterval``, ``FailureThreshold``), the search
string from ``Marker``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping

from deploy.facts import TEMPLATE_DEFAULTS
from deploy.twin.timescale import Timescale
from service.simulation.realtime import RealtimeConfig, Timeline, watch

__all__ = ["Dns", "polling"]

CHECKERS = 15
"""Route 53's typical checker count per health check (the simulator's default)."""


def polling(values: Mapping[str, str], scale: Timescale, *, seed: int = 0) -> RealtimeConfig:
    """The checkers' configuration for a stack's parameters, its interval scaled."""
    return RealtimeConfig(
        checkers=CHECKERS,
        interval=scale(float(_parameter(values, "HealthCheckInterval"))),
        failure_threshold=int(_parameter(values, "FailureThreshold")),
        timeout=2.0,  # Route 53's answer limit: real work, never scaled
        search_string=_parameter(values, "Marker"),
        max_duration=24 * 3600.0,
        seed=seed,
    )


def _parameter(values: Mapping[str, str], name: str) -> str:
    """A stack parameter's value, or the template's default for it."""
    return values.get(name, TEMPLATE_DEFAULTS[name])


class Dns:
    """The model polling ``primary`` and ``secondary`` from :meth:`start` to :meth:`stop`."""

    def __init__(self, primary: str, secondary: str, config: RealtimeConfig) -> None:
        self._urls = (primary, secondary)
        self._config = config
        self._done = threading.Event()
        self._result: list[Timeline] = []
        self.timeline: Timeline | None = None
        self.started = 0.0
        self._thread = threading.Thread(target=self._run, name="route53", daemon=True)

    def start(self) -> Dns:
        """Start polling; :attr:`started` is the monotonic time the timeline counts from."""
        self.started = time.monotonic()
        self._thread.start()
        return self

    def _run(self) -> None:
        def stop(timeline: Timeline) -> bool:
            self.timeline = timeline
            return self._done.is_set()

        primary, secondary = self._urls
        self._result.append(asyncio.run(watch(primary, secondary, config=self._config, stop=stop)))

    @property
    def answer(self) -> str:
        """The failover record's answer now."""
        return self.timeline.answer if self.timeline is not None else "primary"

    def stop(self) -> Timeline:
        """Stop polling; the whole timeline."""
        self._done.set()
        self._thread.join(timeout=60)
        return self._result[0] if self._result else (self.timeline or Timeline())
