"""Prometheus metrics, in a registry of their own per service (never the global one).

Families (every label value comes from the configuration or a fixed set, never a request):

=============================================  =========  ===================================
``deep_health_check_duration_seconds``          histogram  ``check``
``deep_health_check_status``                    gauge      ``check``, ``status`` (one-hot)
``deep_health_check_failures_total``            counter    ``check``, ``reason`` (bounded)
``deep_health_evaluations_total``               counter    ``status``
``deep_health_evaluation_duration_seconds``     histogram  (the checks')
``deep_health_state_duration_seconds``          histogram  (the state store's round trip after
                                                           them; the answer took both)
``deep_health_state_store_fallbacks_total``     counter    ``reason``
``deep_health_state_records_damaged_total``     counter    ``kind`` (latch, switch, bucket)
``deep_health_last_evaluation_timestamp_seconds`` gauge
``deep_health_region_healthy``                  gauge      (1 healthy, 0 not; stale counts)
``deep_health_transitions_total``               counter    ``from``, ``to``
``deep_health_http_requests_total``             counter    ``route`` (template), ``code``
``deep_health_build_info``                      info       ``version``, ``release_id``,
                                                           ``service_id``
``deep_health_log_lines_dropped_total``         counter    (stdout did not keep up)
=============================================  =========  ===================================

Usage: ``metrics = Metrics(service)`` registers itself as a listener; the app adds
:class:`RequestCounter` and ``GET /metrics``.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, NamedTuple

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily

from checks.result import Status
from service.engine.health import HealthService
from service.engine.report import Report, Transition

__all__ = ["CONTENT_TYPE", "DURATION_BUCKETS", "Metrics", "RequestCounter"]

CONTENT_TYPE = CONTENT_TYPE_LATEST
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 5.0)
"""Seconds: fine below 100 ms, where healthy checks live, up to Route 53's 2 s limit."""
MAX_REASONS_PER_CHECK = 16
"""Distinct ``reason`` label values kept per check; later ones count as ``other``."""
_REASON = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
_STATES = ("unknown", *(s.value for s in Status))
UNMATCHED_ROUTE = "unmatched"
"""The ``route`` label of a request no route matched (the raw path is never a label)."""


class _DroppedLines:
    """``deep_health_log_lines_dropped``: log and EMF lines stdout did not take in time."""

    def describe(self) -> list[CounterMetricFamily]:
        return [self._family(0)]

    def collect(self) -> list[CounterMetricFamily]:
        from service.listeners.stdout import dropped_lines

        return [self._family(dropped_lines())]

    @staticmethod
    def _family(value: int) -> CounterMetricFamily:
        return CounterMetricFamily(
            "deep_health_log_lines_dropped",
            "Log and EMF lines dropped because stdout did not keep up (a stalled log agent).",
            value=value,
        )


class _CheckSeries(NamedTuple):
    duration: Histogram
    status: dict[Status, Gauge]


class Metrics:
    """The service's Prometheus metrics; a listener on ``service``.

    Args:
        service: the health service to observe.
        registry: where to register; ``None``: a new registry of its own.
    """

    def __init__(self, service: HealthService, *, registry: CollectorRegistry | None = None):
        self.registry = registry if registry is not None else CollectorRegistry(auto_describe=True)
        reg = self.registry
        self._checks = tuple(check.check_name for check in service.config.checks)
        self._reasons: dict[str, set[str]] = {name: set() for name in self._checks}
        self.check_duration = Histogram(
            "deep_health_check_duration_seconds",
            "Duration of each check's run, per evaluation.",
            ["check"],
            buckets=DURATION_BUCKETS,
            registry=reg,
        )
        self.check_status = Gauge(
            "deep_health_check_status",
            "1 for each check's latest status, 0 for the others.",
            ["check", "status"],
            registry=reg,
        )
        self.check_failures = Counter(
            "deep_health_check_failures",
            "Failed check runs, by reason code.",
            ["check", "reason"],
            registry=reg,
        )
        self.evaluations = Counter(
            "deep_health_evaluations",
            "Evaluations of every check, by the region's verdict.",
            ["status"],
            registry=reg,
        )
        self.evaluation_duration = Histogram(
            "deep_health_evaluation_duration_seconds",
            "Duration of whole evaluations.",
            buckets=DURATION_BUCKETS,
            registry=reg,
        )
        self.last_evaluation = Gauge(
            "deep_health_last_evaluation_timestamp_seconds",
            "Unix time the latest evaluation started.",
            registry=reg,
        )
        self.region_healthy = Gauge(
            "deep_health_region_healthy",
            "1 when /health answers healthy (pass or warn), 0 when it fails (stale included).",
            registry=reg,
        )
        self.transitions = Counter(
            "deep_health_transitions",
            "Changes of the region's status (from unknown at start-up).",
            ["from", "to"],
            registry=reg,
        )
        self.http_requests = Counter(
            "deep_health_http_requests",
            "HTTP requests by route template and status code.",
            ["route", "code"],
            registry=reg,
        )
        self.state_fallbacks = Counter(
            "deep_health_state_store_fallbacks",
            "Evaluations that used local state because the shared state store failed, by reason.",
            ["reason"],
            registry=reg,
        )
        self.state_available = Gauge(
            "deep_health_state_store_available",
            "1 while the shared state store answers (always 1 with the in-memory store).",
            registry=reg,
        )
        self.state_available.set(1)
        self._fallbacks_seen: dict[str, int] = {}
        self.state_duration = Histogram(
            "deep_health_state_duration_seconds",
            "Duration of the step after the checks (the state store's round trip and the rules).",
            buckets=DURATION_BUCKETS,
            registry=reg,
        )
        self.state_damaged = Counter(
            "deep_health_state_records_damaged",
            "Damaged records the state store returned (each read counts), by kind.",
            ["kind"],
            registry=reg,
        )
        self._damaged_seen: dict[str, int] = {}
        build = Info("deep_health_build", "The running build.", registry=reg)
        settings = service.settings
        build.info(
            {
                "version": settings.version,
                "release_id": settings.release_id,
                "service_id": settings.service_id,
            }
        )
        # Every series exists from the start; children are looked up once, not per evaluation.
        self._series = {
            name: _CheckSeries(
                self.check_duration.labels(name),
                {status: self.check_status.labels(name, status.value) for status in Status},
            )
            for name in self._checks
        }
        for status in Status:
            self.evaluations.labels(status.value)
        reg.register(_DroppedLines())
        self._service = service
        service.add_listener(self.observe)

    def observe(self, report: Report, transition: Transition | None) -> None:
        """Record one report (the :data:`~service.engine.report.Listener` protocol)."""
        self.region_healthy.set(1 if report.verdict.healthy else 0)
        if transition is not None:
            self.transitions.labels(transition.before, transition.after).inc()
        if report.stale:
            return
        self._observe_state()
        evaluation = report.evaluation
        self.evaluations.labels(report.verdict.status.value).inc()
        self.evaluation_duration.observe(evaluation.duration)
        if report.state_duration is not None:
            self.state_duration.observe(report.state_duration)
        self.last_evaluation.set(evaluation.time)
        for result in evaluation.results:
            series = self._series.get(result.name)
            if series is None:
                continue  # only configured names are label values
            series.duration.observe(result.duration)
            for status, gauge in series.status.items():
                gauge.set(1 if status is result.status else 0)
            if result.status is Status.FAIL:
                self.check_failures.labels(
                    result.name, self._reason(result.name, result.reason)
                ).inc()

    def _observe_state(self) -> None:
        fleet = self._service.fleet
        self.state_available.set(1 if fleet.available else 0)
        for reason, count in fleet.fallbacks.items():  # a fixed set of codes: bounded labels
            seen = self._fallbacks_seen.get(reason, 0)
            if count > seen:
                self.state_fallbacks.labels(reason).inc(count - seen)
                self._fallbacks_seen[reason] = count
        for kind, count in fleet.damaged.items():  # latch, switch, bucket: bounded labels
            seen = self._damaged_seen.get(kind, 0)
            if count > seen:
                self.state_damaged.labels(kind).inc(count - seen)
                self._damaged_seen[kind] = count

    def _reason(self, check: str, reason: str | None) -> str:
        code = reason or "error"
        seen = self._reasons[check]
        if not _REASON.match(code):
            return "other"
        if code not in seen:
            if len(seen) >= MAX_REASONS_PER_CHECK:
                return "other"
            seen.add(code)
        return code

    def exposition(self) -> bytes:
        """The text exposition, after letting the watchdog judge the latest result."""
        self._service.current()
        return generate_latest(self.registry)

    def count_request(self, route: str, code: int) -> None:
        """Count one HTTP request; ``route`` must be a route template or ``unmatched``."""
        self.http_requests.labels(route, str(code)).inc()


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestCounter:
    """ASGI middleware counting requests by the matched route's template and status code.

    The label is the route's declared path (``/health``), read from ``scope["route"]`` once the
    router matched; a request no route matched counts as ``unmatched``. Raw paths never become
    label values.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        code = 500

        async def sending(message: Message) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", None)
            label = template if isinstance(template, str) else UNMATCHED_ROUTE
            self.metrics.count_request(label, code)
