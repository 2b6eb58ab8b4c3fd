"""The HTTP rules, with no web framework: which routes exist, what each answers, the errors.

Every transport serves these and decides nothing itself: the FastAPI app (:mod:`service.faces.app`,
which declares one FastAPI route per :class:`Route` and calls :meth:`Routes.serve`) and the
Lambda adapter (:mod:`service.faces.apigw`, which calls :meth:`Routes.answer` for an API Gateway
event, so no FastAPI, Starlette or Mangum is imported on Lambda's cold start).

Rules held here: the routes and their methods (404, 405 with ``Allow``), no redirect of
``/health/`` (paths match exactly: a 3xx built from the Host header would count as healthy to a
plain HTTP Route 53 check), the details authorisation (``Bearer`` scheme, length cap, constant
time comparison), ``Cache-Control: no-store``, content negotiation
(:func:`service.output.renderers.negotiate`) and the small fixed JSON error bodies.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from service.output.body import MEDIA_TYPE, status_code
from service.output.renderers import negotiate

if TYPE_CHECKING:
    from service.engine.health import HealthService
    from service.listeners.metrics import Metrics

__all__ = [
    "DETAILS",
    "HEALTH",
    "LIVEZ",
    "MAX_AUTHORIZATION",
    "METRICS",
    "Answer",
    "Route",
    "Routes",
    "authorized",
    "error",
]

MAX_AUTHORIZATION = 512
"""Longest ``Authorization`` header compared with the token; a longer one is refused unread."""

NO_STORE: tuple[tuple[str, str], ...] = (("Cache-Control", "no-store"),)
_JSON = "application/json"
_MESSAGES = {
    400: "bad request",
    401: "unauthorized",
    404: "not found",
    405: "method not allowed",
    500: "internal error",
}


@dataclass(frozen=True, slots=True)
class Answer:
    """What a transport sends back.

    Attributes:
        status: The HTTP status code.
        body: The body (a transport drops it for ``HEAD``).
        media_type: The ``Content-Type``, or None for no body type.
        headers: Further headers, in order.
        route: The matched route's path template (a metrics label), or None when none matched.
    """

    status: int
    body: bytes = b""
    media_type: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    route: str | None = None


@dataclass(frozen=True, slots=True)
class Route:
    """One route: its path, the methods it answers and its name (the FastAPI endpoint's)."""

    path: str
    methods: tuple[str, ...]
    name: str


HEALTH = Route("/health", ("GET", "HEAD"), "health")
DETAILS = Route("/health/details", ("GET",), "health_details")
LIVEZ = Route("/livez", ("GET",), "livez")
METRICS = Route("/metrics", ("GET",), "prometheus_metrics")

_LIVEZ_BODY = b'{"status":"pass"}'


def error(status: int, headers: tuple[tuple[str, str], ...] = ()) -> Answer:
    """The small fixed JSON error body for ``status`` (``{"error": "not found"}``), no text."""
    body = json.dumps({"error": _MESSAGES.get(status, "error")}, separators=(",", ":"))
    return Answer(status, body.encode(), _JSON, headers)


def authorized(authorization: str | None, token: str) -> bool:
    """Whether ``authorization`` is ``Bearer <token>``: capped in length, compared in constant
    time (the token's length may leak, not its bytes)."""
    if authorization is None or len(authorization) > MAX_AUTHORIZATION:
        return False
    if not authorization.startswith("Bearer "):
        return False
    # surrogatepass: an API Gateway event is JSON, which can carry a lone surrogate ("\ud800")
    # that UTF-8 refuses; such a header is simply not the token (401), never a 500.
    offered = authorization[7:].encode("utf-8", "surrogatepass")
    return hmac.compare_digest(offered, token.encode())


class Routes:
    """The routes of one health service.

    ``/health/details`` exists only when a details token is configured, ``/metrics`` only when
    ``metrics`` is given and ``metrics_port`` does not move it to a port of its own.

    Args:
        service: The health service answered for.
        metrics: Prometheus metrics to expose, or None.
    """

    def __init__(self, service: HealthService, *, metrics: Metrics | None = None) -> None:
        self.service = service
        self.metrics = metrics if service.settings.metrics_port is None else None
        self._token = service.settings.details_token or None
        table = [HEALTH]
        if self._token:
            table.append(DETAILS)
        table.append(LIVEZ)
        if self.metrics is not None:
            table.append(METRICS)
        self.table: tuple[Route, ...] = tuple(table)
        """The routes served, in declaration order."""

    async def answer(self, method: str, path: str, headers: Mapping[str, str]) -> Answer:
        """Route a request and answer it.

        Args:
            method: The request method, as sent (matched case-sensitively, like HTTP).
            path: The decoded path, without query string; matched exactly.
            headers: The request headers, with lower-case names.
        """
        for route in self.table:
            if route.path == path:
                if method not in route.methods:
                    allow = (("Allow", ", ".join(route.methods)),)
                    return _routed(error(405, allow), route)
                return await self.serve(route, headers)
        return error(404)

    async def serve(self, route: Route, headers: Mapping[str, str]) -> Answer:
        """Answer a request already routed to ``route`` (one of :attr:`table`).

        Args:
            route: The matched route.
            headers: The request headers, with lower-case names.
        """
        if route is LIVEZ:
            return Answer(200, _LIVEZ_BODY, MEDIA_TYPE, NO_STORE, LIVEZ.path)
        if route is METRICS and self.metrics is not None:
            from service.listeners.metrics import CONTENT_TYPE

            return Answer(200, self.metrics.exposition(), CONTENT_TYPE, (), METRICS.path)
        detailed = route is DETAILS
        if detailed:
            if self._token is None or not authorized(headers.get("authorization"), self._token):
                challenge = (*NO_STORE, ("WWW-Authenticate", "Bearer"))
                return _routed(error(401, challenge), route)
        elif route is not HEALTH:
            return error(404)
        report = await self.service.report()
        renderer = negotiate(headers.get("accept"))
        body = renderer.detailed(report) if detailed else renderer.public(report)
        return Answer(status_code(report), body, renderer.media_type, NO_STORE, route.path)


def _routed(answer: Answer, route: Route) -> Answer:
    return Answer(answer.status, answer.body, answer.media_type, answer.headers, route.path)
